-- A minimal Redis PING server for redis-benchmark (tests/it/tcp_peers.rs):
--
--   silly tests/lua_servers/ping.lua --addr=127.0.0.1:0
--   redis-benchmark -p PORT -t ping -n 2000 -c 20 -q
--
-- Answers "+PONG" to PING in both the inline form ("PING\r\n") and the RESP array form
-- ("*1\r\n$4\r\nPING\r\n"); "CONFIG GET key" gets {key, ""} (redis-benchmark asks for two
-- settings at start); anything else gets an empty array. Prints "LISTEN <addr>".
local tcp = require "silly.net.tcp"
local env = require "silly.env"

local function serve(c)
	while true do
		local line = c:read("\r\n")
		if not line then
			break
		end
		local cmd, key
		local n = line:match("^%*(%d+)\r\n$")
		if n then
			for i = 1, tonumber(n) do
				local len = c:read("\r\n")
				len = len and tonumber(len:match("^%$(%d+)\r\n$"))
				local arg = len and c:read(len + 2)
				if not arg then
					c:close()
					return
				end
				if i == 1 then
					cmd = arg:sub(1, -3)
				elseif i == 3 then
					key = arg:sub(1, -3)
				end
			end
		else
			cmd = line:match("^(%S+)")
		end
		if cmd and cmd:upper() == "PING" then
			c:write("+PONG\r\n")
		elseif cmd and cmd:upper() == "CONFIG" and key then
			c:write({ "*2\r\n$", #key, "\r\n", key, "\r\n$0\r\n\r\n" })
		else
			c:write("*0\r\n")
		end
	end
	c:close()
end

local l, err = tcp.listen({ addr = env.get("addr") or "127.0.0.1:0", accept = serve })
if not l then
	print("LISTEN-FAILED " .. tostring(err))
	return
end
print("LISTEN " .. l:localaddr())
