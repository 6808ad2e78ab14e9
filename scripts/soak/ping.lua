-- The server of the soak suite (scripts/soak.py): a Redis-protocol PING server over TCP or TLS,
-- as scripts/bench/redis_ping_silly.lua and tls_ping_silly.lua, plus a few commands the fault
-- cases need. Every command is one inline line or one multi-bulk array:
--   PING            -> +PONG (counted)
--   COUNT           -> :<PINGs answered so far>
--   MEM             -> :<KiB the Lua heap holds, garbage not yet collected included>
--   BIG <n>         -> <n> bytes, paced by flush: at most 1 MiB waits unsent; a peer that takes
--                      nothing for `flushtimeout` ms is dropped (the never-reading peer case)
--   anything else   -> +PONG (redis-benchmark's CONFIG GET at start-up)
-- Run: silly scripts/soak/ping.lua --proto=tls --port=0 [--reload=100] [--handshaketimeout=ms]
-- Prints "ready <port>" once listening. With --reload=<ms> (TLS), the certificate is swapped
-- between the RSA and the ECDSA test chain every <ms> ms; a failed reload is fatal (exit 1).
local tcp = require "silly.net.tcp"
local tls = require "silly.net.tls"
local env = require "silly.env"
local time = require "silly.time"
local task = require "silly.task"
local silly = require "silly"

local tonumber = tonumber
local byte = string.byte
local sub = string.sub
local rep = string.rep

local proto = env.get("proto") or "tcp"
local port = env.get("port") or "0"
local reload_ms = tonumber(env.get("reload") or "0")
local flush_ms = tonumber(env.get("flushtimeout") or "2000")
local dir = "tests/fixtures/certs/"

local pings = 0
local chunk = rep("x", 65536)
local QUEUED_MAX = 1 << 20

local function slurp(name)
	local f = assert(io.open(dir .. name, "rb"))
	local s = f:read("a")
	f:close()
	return s
end

-- Sends n bytes without ever holding more than QUEUED_MAX unsent; false when the peer stalls
-- past flush_ms or the connection fails.
local function big(conn, n)
	while n > 0 do
		local k = n < #chunk and n or #chunk
		if not conn:write(k == #chunk and chunk or sub(chunk, 1, k)) then
			return false
		end
		n = n - k
		if conn:unsentbytes() >= QUEUED_MAX and not conn:flush(flush_ms) then
			return false
		end
	end
	return true
end

-- One command: its words without the line ends, or nil when the connection ended.
local function command(conn)
	local line = conn:readline("\n")
	if not line then
		return nil
	end
	if byte(line, 1) ~= 42 then -- inline
		local words = {}
		for w in line:gmatch("%S+") do
			words[#words + 1] = w
		end
		return words
	end
	local n = tonumber(sub(line, 2, -3)) or 0
	local words = {}
	for i = 1, n do
		local len = conn:readline("\n")
		local arg = len and conn:read((tonumber(sub(len, 2, -3)) or 0) + 2)
		if not arg then
			return nil
		end
		words[i] = sub(arg, 1, -3)
	end
	return words
end

local function serve(conn)
	while true do
		local words = command(conn)
		if not words then
			break
		end
		local name = words[1] and words[1]:upper()
		if name == "PING" then
			pings = pings + 1
			conn:write("+PONG\r\n")
		elseif name == "MEM" then
			conn:write(":" .. math.floor(collectgarbage("count")) .. "\r\n")
		elseif name == "COUNT" then
			conn:write(":" .. pings .. "\r\n")
		elseif name == "BIG" then
			if not big(conn, tonumber(words[2]) or 0) then
				break
			end
		else
			conn:write("+PONG\r\n")
		end
	end
	conn:close()
end

local listener
if proto == "tls" then
	local rsa = { { cert = slurp("server-rsa-chain.crt"), key = slurp("server-rsa.key") } }
	local ec = { { cert = slurp("server-ec-chain.crt"), key = slurp("server-ec.key") } }
	listener = assert(tls.listen {
		addr = "127.0.0.1:" .. port,
		certs = rsa,
		accept = serve,
		backlog = 1024,
		handshaketimeout = tonumber(env.get("handshaketimeout") or "30000"),
	})
	if reload_ms > 0 then
		task.fork(function()
			local n = 0
			while true do
				time.sleep(reload_ms)
				n = n + 1
				local ok, err = listener:reload { certs = n % 2 == 1 and ec or rsa }
				if not ok then
					io.stderr:write("reload failed: ", tostring(err), "\n")
					silly.exit(1)
				end
			end
		end)
	end
else
	listener = assert(tcp.listen { addr = "127.0.0.1:" .. port, accept = serve, backlog = 1024 })
end
print("ready", (listener:localaddr():match(":(%d+)$")))
