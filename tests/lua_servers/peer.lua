-- A TCP server for tests/it/tcp_peers.rs, which talks to it from real peers (Python sockets, Rust).
--
--   silly tests/lua_servers/peer.lua --addr=127.0.0.1:0
--
-- Prints "LISTEN <addr>" once listening. Each connection names its mode on its first line;
-- the modes that observe something print one "RESULT <mode> key=value ..." line on stdout.
local tcp = require "silly.net.tcp"
local env = require "silly.env"
local errno = require "silly.errno"
local time = require "silly.time"

local MiB = 1024 * 1024

-- errno value -> its name, so results read "err=CONNRESET", not the strerror text
local errname = {}
for _, name in ipairs({ "EOF", "CLOSED", "CONNRESET", "PIPE", "TIMEDOUT" }) do
	errname[errno[name]] = name
end

local function report(mode, fields)
	local out = { "RESULT", mode }
	for _, kv in ipairs(fields) do
		local v = kv[2]
		if type(v) == "string" then
			v = errname[v] or v:gsub("%s", "_")
		end
		out[#out + 1] = kv[1] .. "=" .. tostring(v)
	end
	print(table.concat(out, " "))
end

local modes = {}

-- Frames of a 4-byte big-endian length and a payload, echoed back as they came; length 0 ends.
function modes.echo(c)
	while true do
		local h = c:read(4)
		if not h then
			return
		end
		local n = string.unpack(">I4", h)
		if n == 0 or n > 64 * MiB then
			break
		end
		local d = c:read(n)
		if not d then
			return
		end
		c:write({ h, d })
	end
	c:close()
end

-- Lines echoed back until the peer closes.
function modes.lines(c)
	while true do
		local l = c:read("\n")
		if not l then
			break
		end
		c:write(l)
	end
	c:close()
end

-- The peer sends 5 bytes and resets the connection (SO_LINGER 0). Wait until both arrived,
-- then look: the bytes first, then CONNRESET.
function modes.rst(c)
	time.sleep(300)
	local unread = c:unreadbytes()
	local data = c:read(5)
	local d2, err = c:read(1)
	local ok, werr = c:write("late")
	report("rst", {
		{ "unread", unread },
		{ "data", data },
		{ "next", d2 },
		{ "err", err },
		{ "write", ok },
		{ "werr", werr },
		{ "alive", c:isalive() },
		{ "close", c:close() },
	})
end

-- 64 MiB to a peer that stops reading and vanishes: writes never block the process; the
-- outcome is reported once the peer is gone.
function modes.big(c)
	local chunk = string.rep("B", MiB)
	local sent, ok, err = 0, true, nil
	while sent < 64 * MiB do
		ok, err = c:write(chunk)
		if not ok then
			break
		end
		sent = sent + MiB
		ok, err = c:flush(10000)
		if not ok then
			break
		end
	end
	report("big", { { "sent", sent }, { "ok", ok }, { "err", err }, { "alive", c:isalive() } })
	c:close()
end

-- Reads lines until the peer shuts down its write side, then answers and closes.
function modes.halfclose(c)
	local n = 0
	while true do
		local l, err = c:read("\n")
		if not l then
			report("halfclose", { { "lines", n }, { "err", err }, { "alive", c:isalive() } })
			break
		end
		n = n + 1
	end
	local ok = c:write("lines=" .. n .. "\n")
	c:close()
	report("halfclose-write", { { "ok", ok } })
end

local l, err = tcp.listen({
	addr = env.get("addr") or "127.0.0.1:0",
	accept = function(c)
		local line = c:read("\n", 10000)
		local mode = line and modes[line:sub(1, -2)]
		if not mode then
			-- garbage, a timeout or an early close: drop the connection
			c:close()
			return
		end
		mode(c)
	end,
})
if not l then
	print("LISTEN-FAILED " .. tostring(err))
	return
end
print("LISTEN " .. l:localaddr())
