-- The same Redis-protocol PING server on lua5.4 + cqueues, for the TCP benchmark.
-- Run: lua5.4 scripts/bench/redis_ping_cqueues.lua 6391
-- One coroutine per connection, unbuffered writes ("bn" mode) and TCP_NODELAY on accepted
-- sockets (they do not inherit it from the listener), like the silly version.
local cqueues = require "cqueues"
local socket = require "cqueues.socket"

local port = tonumber(arg[1] or "6391")
local cq = cqueues.new()
local srv = assert(socket.listen { host = "127.0.0.1", port = port, backlog = 1024 })

local function serve(conn)
	conn:setmode("bn", "bn")
	while true do
		local line = conn:read("*L")
		if not line then
			break
		end
		if line:byte(1) == 42 then
			local n = tonumber(line:sub(2, -3)) or 0
			for _ = 1, n do
				local len = conn:read("*L")
				if not len or not conn:read((tonumber(len:sub(2, -3)) or 0) + 2) then
					conn:close()
					return
				end
			end
		end
		conn:write("+PONG\r\n")
	end
	conn:close()
end

cq:wrap(function()
	for conn in srv:clients({ nodelay = true }) do
		-- cqueues raises on a reset socket (redis-benchmark resets some connections when it
		-- ends a test); an error escaping a wrapped coroutine would stop cq:loop() and with it
		-- the whole server, so each connection is served under pcall.
		cq:wrap(function()
			pcall(serve, conn)
			pcall(conn.close, conn)
		end)
	end
end)
print("ready", port)
io.stdout:flush()
assert(cq:loop())
