-- A TCP client for tests/it/tcp_peers.rs, run against a peer the test provides:
--
--   silly tests/lua_servers/client.lua --target=127.0.0.1:PORT [--mode=echo|timeout]
--
-- echo (default): echo 4-byte-length frames back until a zero length, then open a second
-- connection, wait for the peer's data and reset, and print what was seen.
-- timeout: connect with a 300 ms timeout until one fails (a listener that never accepts fills
-- its backlog), then print the failure.
-- The script exits by itself once its connections are closed (docs/cli.md#process-lifetime).
local tcp = require "silly.net.tcp"
local env = require "silly.env"
local errno = require "silly.errno"
local time = require "silly.time"

local target = assert(env.get("target"), "--target=ADDR is required")
local mode = env.get("mode") or "echo"

local errname = {}
for _, name in ipairs({ "EOF", "CLOSED", "CONNRESET", "TIMEDOUT", "CONNREFUSED" }) do
	errname[errno[name]] = name
end
local function name(e)
	return errname[e] or tostring(e)
end

if mode == "echo" then
	local c = assert(tcp.connect(target, { timeout = 5000 }))
	local frames = 0
	while true do
		local h = c:read(4, 10000)
		if not h then
			break
		end
		local n = string.unpack(">I4", h)
		if n == 0 then
			break
		end
		local d = assert(c:read(n, 10000))
		c:write(h .. d)
		frames = frames + 1
	end
	c:close()
	print("echo frames=" .. frames .. " end=" .. (frames == 4 and "EOF" or "?"))

	local r = assert(tcp.connect(target, { timeout = 5000 }))
	time.sleep(300) -- the data and the reset both arrive
	local data = r:read(5)
	local _, err = r:read(1)
	local ok, werr = r:write("x")
	print(string.format("reset data=%s err=%s write=%s werr=%s alive=%s", tostring(data), name(err),
		tostring(ok), name(werr), tostring(r:isalive())))
	r:close()
elseif mode == "timeout" then
	local conns = {}
	for i = 1, 16 do
		local t0 = time.monotonic()
		local c, err = tcp.connect(target, { timeout = 300 })
		local ms = time.monotonic() - t0
		if not c then
			print(string.format("timeout attempt=%d connected=%d err=%s ms=%d", i, #conns, name(err), ms))
			break
		end
		conns[#conns + 1] = c
	end
	for _, c in ipairs(conns) do
		c:close()
	end
else
	error("unknown --mode " .. mode)
end
