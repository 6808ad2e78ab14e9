#!/usr/bin/env silly
-- Run (with examples/websocket_echo.lua running):
--   ./target/release/silly examples/websocket_client.lua [--addr=127.0.0.1:8080]
--
-- Sends a few messages to the echo server and prints what comes back.
local websocket = require "silly.net.websocket"
local env = require "silly.env"
local silly = require "silly"

local addr = env.get("addr") or "127.0.0.1:8080"
local ws, err = websocket.connect("ws://" .. addr .. "/", nil, { compress = true })
if not ws then
	print("cannot connect: " .. tostring(err))
	silly.exit(1)
end
for _, msg in ipairs({ "hello", "from", "silly" }) do
	ws:write(msg, "text")
	print("echo: " .. assert(ws:read()))
end
ws:write(string.rep("a large, compressible message ", 1000))
local data, kind = ws:read()
print(("echo: %d bytes (%s)"):format(#data, kind))
ws:close(1000, "done")
