#!/usr/bin/env silly
-- Run (with examples/https_server.lua running): ./target/release/silly examples/https_client.lua
-- Other address: --addr=127.0.0.1:PORT. It never contacts a host outside this machine.
--
-- The seed's Example 2: connect, check ALPN, send a GET, print the status line. The seed
-- looked up www.example.com and connected to port 443 on it; here it talks to the local HTTPS
-- example instead, and trusts the test CA in examples/certs/ca.crt so that the default
-- certificate verification succeeds (the seed's own notes say clients verify by default).
-- `server` and `alpn` are the seed's option names; `hostname` and `alpnprotos` are the
-- documented ones, and either spelling works.
local silly = require "silly"
local task = require "silly.task"
local tls = require "silly.net.tls"
local env = require "silly.env"

local dir = (arg and arg[0] or ""):match("^(.*)/") or "."
local addr = env.get("addr") or "127.0.0.1:8443"

local function slurp(path)
	local f = assert(io.open(path, "rb"))
	local s = f:read("a")
	f:close()
	return s
end

task.fork(function()
	-- Connect to the HTTPS server and do the handshake
	local conn, err, reason = tls.connect(addr, {
		bind = nil, -- No local address binding
		server = "localhost", -- SNI host name, also the name the certificate must carry
		alpn = { "http/1.1" }, -- ALPN protocol
		ca = slurp(dir .. "/certs/ca.crt"), -- trust anchor for the development certificate
		timeout = 5000,
	})
	if not conn then
		print("Connection failed:", err, reason or "")
		silly.exit(1)
	end
	print("Connected to server")
	-- Check the negotiated ALPN protocol (nil when the server chose none)
	local alpn = conn:alpnproto()
	if alpn then
		print("ALPN protocol:", alpn)
	end
	-- Send an HTTP request
	local request = "GET / HTTP/1.1\r\n" ..
		"Host: localhost\r\n" ..
		"User-Agent: silly-tls-client\r\n" ..
		"Connection: close\r\n\r\n"
	local ok, write_err = conn:write(request)
	if not ok then
		print("Write failed:", write_err)
		conn:close()
		silly.exit(1)
	end
	-- Read the status line
	local line, read_err = conn:read("\r\n", 5000)
	if not line then
		print("Read failed:", read_err)
		conn:close()
		silly.exit(1)
	end
	print("Response:", (line:gsub("\r\n$", "")))
	conn:close()
	print("Connection closed")
end)
