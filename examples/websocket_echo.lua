#!/usr/bin/env silly
-- Run: ./target/release/silly examples/websocket_echo.lua [--addr=127.0.0.1:8080]
-- Then: ./target/release/silly examples/websocket_client.lua [--addr=127.0.0.1:8080]
-- Stop it with Ctrl-C.
--
-- A WebSocket echo server on silly.net.http: every text or binary message comes back, with
-- compression when the client offers it.
local http = require "silly.net.http"
local websocket = require "silly.net.websocket"
local env = require "silly.env"
local silly = require "silly"

local addr = env.get("addr") or "127.0.0.1:8080"

local listener, err = http.listen({
	addr = addr,
	handler = function(s)
		local ws, why = websocket.upgrade(s, { compress = true })
		if not ws then
			print("not a websocket request from " .. s.remoteaddr .. ": " .. tostring(why))
			return
		end
		print("session from " .. s.remoteaddr)
		while true do
			local data, kind, code = ws:read()
			if not data then
				print("session ended: " .. tostring(kind))
				return
			end
			if kind == "close" then
				print(("session closed by the peer: %d %s"):format(code, data))
				return
			end
			if kind == "text" or kind == "binary" then
				ws:write(data, kind)
			end
		end
	end,
})
if not listener then
	print("cannot listen on " .. addr .. ": " .. tostring(err))
	silly.exit(1)
end
print("listening on " .. listener:localaddr())
