-- One of several processes on one port (tests/it/tcp_peers.rs, `reuseport`): listens with
-- `reuseport = true` and answers each connection with its own name.
--
--   silly tests/lua_servers/reuseport.lua --addr=127.0.0.1:PORT --name=a [--tls=1]
--
-- Prints "LISTEN <addr>".
local env = require "silly.env"
local silly = require "silly"

local name = assert(env.get("name"), "--name")
local conf = {
	addr = assert(env.get("addr"), "--addr"),
	reuseport = true,
	accept = function(c)
		c:write(name .. "\n")
		c:close()
	end,
}
local net = require "silly.net.tcp"
if env.get("tls") then
	net = require "silly.net.tls"
	local function slurp(f)
		local h = assert(io.open("tests/fixtures/certs/" .. f, "rb"))
		local d = h:read("a")
		h:close()
		return d
	end
	conf.certs = { { cert = slurp("server-rsa-chain.crt"), key = slurp("server-rsa.key") } }
end
local l, err = net.listen(conf)
if not l then
	print("LISTEN-FAILED " .. tostring(err))
	silly.exit(1)
end
print("LISTEN " .. l:localaddr())
