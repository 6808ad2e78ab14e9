-- The peer of tests/it/regress_write_stall.rs: a connection writes 32 MiB, more than the socket
-- buffers hold, then waits in `readline` while the other side sends a partial line before it
-- starts reading. All 32 MiB must still arrive.
--
--   silly tests/lua_servers/write_stall.lua --proto=tls|tcp --role=server
--   silly tests/lua_servers/write_stall.lua --proto=tls|tcp --role=client --addr=127.0.0.1:PORT
--
-- The server prints "LISTEN <addr>"; either role prints "RESULT line=<what readline returned>
-- err=<its error>" and exits.
local env = require "silly.env"
local silly = require "silly"

local proto = env.get("proto") or "tls"
local net = require("silly.net." .. proto)
local SIZE = 32 * 1024 * 1024
local DIR = "tests/fixtures/certs/"

local function slurp(name)
	local f = assert(io.open(DIR .. name, "rb"))
	local s = f:read("a")
	f:close()
	return s
end

-- Writes the bulk, then waits for a line the peer completes only after reading all of it.
local function exchange(c)
	c:write(string.rep("R", SIZE))
	local line, err = c:readline(nil, 20000)
	print(string.format("RESULT line=%s err=%s", tostring(line):gsub("%s", "_"), tostring(err)))
	c:close()
end

if env.get("role") == "client" then
	local opts = nil
	if proto == "tls" then
		opts = { hostname = "localhost", ca = slurp("ca.crt") }
	end
	local c, err = net.connect(assert(env.get("addr"), "--addr"), opts)
	if not c then
		print("RESULT connect=" .. tostring(err))
		silly.exit(1)
	end
	c:write("GET\n")
	exchange(c)
	return
end

local l
local conf = {
	addr = "127.0.0.1:0",
	accept = function(c)
		c:readline()
		exchange(c)
		l:close()
	end,
}
if proto == "tls" then
	conf.certs = { { cert = slurp("server-rsa-chain.crt"), key = slurp("server-rsa.key") } }
end
l = assert(net.listen(conf))
print("LISTEN " .. l:localaddr())
