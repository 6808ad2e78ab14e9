#!/usr/bin/env silly
-- Run: ./target/release/silly examples/graceful.lua
-- Then: curl http://127.0.0.1:8080/slow & sleep 0.2; kill -TERM $pid
-- (--addr=127.0.0.1:0 lets the OS choose the port; the "listening on" line says which;
-- --drain=ms sets how long in-flight requests may take after SIGTERM, default 5000.)
--
-- An HTTP server that drains on SIGTERM: it stops accepting (new connections are refused),
-- closes idle keep-alive connections, lets the requests in flight finish (their responses
-- carry `connection: close`), and exits 0 once they are done, or exits 1 when the deadline
-- passed and the connections left had to be cut.
local http = require "silly.net.http"
local signal = require "silly.signal"
local env = require "silly.env"
local silly = require "silly"
local time = require "silly.time"

local addr = env.get("addr") or "127.0.0.1:8080"
local drain = tonumber(env.get("drain")) or 5000

local listener, err = http.listen {
	addr = addr,
	handler = function(s)
		if s.path == "/slow" then
			print("slow request started")
			time.sleep(500) -- a request that takes a while: SIGTERM must not cut it
			s:respond(200, {["content-type"] = "text/plain", ["content-length"] = 10})
			return s:closewrite("slow done\n")
		end
		s:respond(200, {["content-type"] = "text/plain", ["content-length"] = 13})
		s:closewrite("hello, world\n")
	end,
}
if not listener then
	print("cannot listen on " .. addr .. ": " .. tostring(err))
	silly.exit(1)
end

-- With a handler, SIGTERM no longer ends the process at once: the handler decides when.
signal("SIGTERM", function()
	print("SIGTERM: draining")
	local drained = listener:shutdown(drain)
	print(drained and "drained" or "deadline passed, connections cut")
	silly.exit(drained and 0 or 1)
end)

print("listening on " .. listener:localaddr())
