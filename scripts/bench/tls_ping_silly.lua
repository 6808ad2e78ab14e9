-- A Redis-protocol PING server over TLS on silly, for the TLS benchmarks (scripts/bench.py).
-- Run: ./target/release/silly scripts/bench/tls_ping_silly.lua --port=6392
-- The protocol of redis_ping_silly.lua (inline and multi-bulk PING answered with +PONG), plus
-- ECHO <payload>, answered with the payload as a bulk string, for the bulk-transfer benchmark.
-- Certificate: the RSA-2048 test chain in tests/fixtures/certs.
local tls = require "silly.net.tls"
local env = require "silly.env"

local tonumber = tonumber
local byte = string.byte
local sub = string.sub

local port = env.get("port") or "6392"
local dir = "tests/fixtures/certs/"

local function slurp(name)
	local f = assert(io.open(dir .. name, "rb"))
	local s = f:read("a")
	f:close()
	return s
end

local function serve(conn)
	while true do
		local line = conn:readline("\n")
		if not line then
			break
		end
		local echo
		if byte(line, 1) == 42 then -- '*': a multi-bulk command; keep ECHO's argument
			local n = tonumber(sub(line, 2, -3)) or 0
			local args = {}
			for i = 1, n do
				local len = conn:readline("\n")
				local arg = len and conn:read((tonumber(sub(len, 2, -3)) or 0) + 2)
				if not arg then
					conn:close()
					return
				end
				args[i] = arg
			end
			if n == 2 and (args[1] == "ECHO\r\n" or args[1] == "echo\r\n") then
				echo = args[2]
			end
		end
		if echo then
			conn:write({ "$", #echo - 2, "\r\n", echo })
		else
			conn:write("+PONG\r\n")
		end
	end
	conn:close()
end

assert(tls.listen {
	addr = "127.0.0.1:" .. port,
	certs = { { cert = slurp("server-rsa-chain.crt"), key = slurp("server-rsa.key") } },
	accept = serve,
	backlog = 1024,
})
print("ready", port)
