#!/usr/bin/env silly
-- Run (with examples/http_server.lua running):
--   ./target/release/silly examples/http_client.lua [--addr=127.0.0.1:8443]
--
-- Fetches from the HTTPS example server with silly.net.http's client, verifying its
-- certificate against the development CA: a GET, a POST, and a streamed PUT.
local http = require "silly.net.http"
local env = require "silly.env"
local silly = require "silly"

local dir = (arg and arg[0] or ""):match("^(.*)/") or "."
local port = (env.get("addr") or "127.0.0.1:8443"):match(":(%d+)$")
local base = "https://localhost:" .. port

local f = assert(io.open(dir .. "/certs/ca.crt", "rb"))
local client = http.newclient({ ca = f:read("a"), timeout = 5000 })
f:close()

local r, err = client:get(base .. "/hello")
if not r then
	print("GET failed: " .. tostring(err))
	silly.exit(1)
end
io.write("GET /hello -> ", r.status, " ", r.body)

r = assert(client:post(base .. "/echo", { ["content-type"] = "text/plain" }, "a small body"))
io.write("POST /echo -> ", r.status, "\n", r.body)

-- A body sent in pieces (chunked), the response read as it comes.
local s = assert(client:request("PUT", base .. "/upload"))
for i = 1, 3 do
	s:write("piece " .. i .. "\n")
end
s:closewrite()
assert(s:waitresponse())
print("PUT /upload -> " .. s.status)
io.write(assert(s:readall()))
s:close()
client:close()
