#!/usr/bin/env silly
-- Run: ./target/release/silly examples/echo_server.lua --port=8000
-- Then, in another terminal: ./target/release/silly examples/line_client.lua --port=8000
-- (or `nc 127.0.0.1 8000`, and type lines). Stop the server with Ctrl-C.
--
-- A line echo server. Every accepted connection runs `serve` in its own task, so the code
-- reads as if it were blocking: `conn:read("\n")` suspends only this connection's task while
-- the others go on. `--port=0` lets the OS choose a free port; the line printed at start
-- says which.
local tcp = require "silly.net.tcp"
local env = require "silly.env"
local errno = require "silly.errno"
local silly = require "silly"

local port = env.get("port") or "8000"
local IDLE_MS = 60 * 1000 -- drop clients that stay silent this long

local function serve(conn)
	print("connected: " .. conn.remoteaddr)
	while true do
		-- The line comes back with its "\n"; a delimiter may be longer ("\r\n" works too).
		local line, err = conn:read("\n", IDLE_MS)
		if not line then
			-- EOF: the client closed; TIMEDOUT: idle too long; CONNRESET ...
			print("disconnected: " .. conn.remoteaddr .. " (" .. err .. ")")
			break
		end
		if line == "quit\n" or line == "quit\r\n" then
			conn:write("bye\n")
			print("disconnected: " .. conn.remoteaddr .. " (quit)")
			break
		end
		-- write never suspends: the data is queued and sent in the background.
		conn:write(line)
	end
	-- close() returns at once; queued output is still flushed before the socket closes.
	conn:close()
end

local listener, err = tcp.listen({ addr = "127.0.0.1:" .. port, accept = serve })
if not listener then
	if err == errno.ADDRINUSE then
		print("port " .. port .. " is in use; try another one with --port=N")
	else
		print("cannot listen on port " .. port .. ": " .. err)
	end
	silly.exit(1)
end
print("echo server listening on " .. listener:localaddr())
-- The script ends here, but the process keeps running: an open listener keeps it alive.
