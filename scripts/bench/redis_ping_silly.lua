-- A Redis-protocol PING server on silly, for the TCP benchmark (scripts/bench.sh).
-- Run: ./target/release/silly scripts/bench/redis_ping_silly.lua --port=6390
-- Answers inline ("PING\r\n") and multi-bulk ("*1\r\n$4\r\nPING\r\n") commands with +PONG.
local tcp = require "silly.net.tcp"
local env = require "silly.env"

local tonumber = tonumber
local byte = string.byte
local sub = string.sub

local port = env.get("port") or "6390"

local function serve(conn)
	while true do
		local line = conn:readline("\n")
		if not line then
			break
		end
		if byte(line, 1) == 42 then -- '*': a multi-bulk command, skip its arguments
			local n = tonumber(sub(line, 2, -3)) or 0
			for _ = 1, n do
				local len = conn:readline("\n")
				if not len or not conn:read((tonumber(sub(len, 2, -3)) or 0) + 2) then
					conn:close()
					return
				end
			end
		end
		conn:write("+PONG\r\n")
	end
	conn:close()
end

assert(tcp.listen { addr = "127.0.0.1:" .. port, accept = serve, backlog = 1024 })
print("ready", port)
