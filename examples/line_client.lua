#!/usr/bin/env silly
-- Run: ./target/release/silly examples/line_client.lua --port=8000
-- (with examples/echo_server.lua running on that port).
--
-- Connects, sends a few lines, reads each echo back and prints the round trip, then closes.
-- The process exits by itself once nothing is left open.
local tcp = require "silly.net.tcp"
local env = require "silly.env"
local time = require "silly.time"
local silly = require "silly"

local port = env.get("port") or "8000"
local addr = "127.0.0.1:" .. port

local conn, err = tcp.connect(addr, { timeout = 3000 })
if not conn then
	print("cannot connect to " .. addr .. ": " .. err)
	silly.exit(1)
end
print("connected to " .. conn.remoteaddr)

for _, text in ipairs({ "hello", "silly", "a line with\ttabs and  spaces" }) do
	local t0 = time.monotonic()
	conn:write(text .. "\n")
	-- Wait at most 2 s for the echo; read returns nil and an error value on failure.
	local line, rerr = conn:read("\n", 2000)
	if not line then
		print("no answer: " .. rerr)
		break
	end
	-- the echo includes the delimiter: strip it for printing
	print(string.format("echo: %s (%d ms)", line:sub(1, -2), time.monotonic() - t0))
end

-- Ask the server to hang up, then read until it does.
conn:write("quit\n")
local bye = conn:read("\n", 2000)
print("server says: " .. (bye and bye:sub(1, -2) or "nothing"))
local _, eof = conn:read(1, 2000)
print("then: " .. tostring(eof)) -- End of file (10004): the server closed
conn:close()
