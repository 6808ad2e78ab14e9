-- The pure-Lua peer of the HTTP benchmarks: the same handler as http_silly.lua, with the
-- HTTP/1.1 parsing done in Lua (string patterns) over silly.net.tcp, as one would write it
-- without silly.net.http. Keep-alive and pipelining; no bodies, no chunked requests.
--   silly scripts/bench/http_lua_tcp.lua --port=N
local tcp = require "silly.net.tcp"
local env = require "silly.env"

local BODY <const> = "hello, world\n"
local match, lower, os_date = string.match, string.lower, os.date

local function serve(c)
	while true do
		local line = c:readline("\r\n")
		if not line then
			return c:close()
		end
		local method, target, version = match(line, "^(%u+) (%S+) HTTP/1%.(%d)\r\n$")
		if not method then
			return c:close()
		end
		local header = {}
		while true do
			local l = c:readline("\r\n")
			if not l then
				return c:close()
			end
			if l == "\r\n" then
				break
			end
			local k, v = match(l, "^([^:]+):%s*(.-)\r\n$")
			if k then
				header[lower(k)] = v
			end
		end
		c:write("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: " .. #BODY
			.. "\r\ndate: " .. os_date("!%a, %d %b %Y %H:%M:%S GMT") .. "\r\n\r\n" .. BODY)
		if version == "0" or header.connection == "close" then
			return c:close()
		end
	end
end

assert(tcp.listen({ addr = "127.0.0.1:" .. assert(env.get("port"), "--port"), backlog = 1024, accept = serve }))
print("ready")
