-- The server of the soak suite's "handler raises" case (scripts/soak.py): an HTTP/1.1 server
-- whose handler raises on every 10th request; the others get 200 "ok". A raising handler is the
-- script's bug: the runtime logs it, answers 500 and serves on.
-- Run: silly scripts/soak/http_raise.lua --port=0   (prints "ready <port>" once listening)
local http = require "silly.net.http"
local env = require "silly.env"

local n = 0
local l = assert(http.listen {
	addr = "127.0.0.1:" .. (env.get("port") or "0"),
	handler = function(s)
		n = n + 1
		if n % 10 == 0 then
			error("request " .. n .. " fails on purpose")
		end
		s:respond(200, { ["content-length"] = 2 })
		s:closewrite("ok")
	end,
})
print("ready", (l:localaddr():match(":(%d+)$")))
