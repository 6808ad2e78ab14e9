-- The silly side of the HTTP benchmarks: silly.net.http answering every request with the
-- same body as the nginx + Lua peer (scripts/bench/nginx_lua.py).
--   silly scripts/bench/http_silly.lua --port=N [--tls=1 [--alpn=http/1.1]]
local http = require "silly.net.http"
local env = require "silly.env"

local BODY <const> = "hello, world\n"
local HEADER <const> = { ["content-type"] = "text/plain", ["content-length"] = #BODY }

local conf = {
	addr = "127.0.0.1:" .. assert(env.get("port"), "--port"),
	backlog = 1024,
	handler = function(s)
		s:respond(200, HEADER)
		s:closewrite(BODY)
	end,
}
if env.get("tls") then
	local function slurp(name)
		local f = assert(io.open("tests/fixtures/certs/" .. name, "rb"))
		local d = f:read("a")
		f:close()
		return d
	end
	conf.tls = true
	conf.certs = { { cert = slurp("server-rsa-chain.crt"), key = slurp("server-rsa.key") } }
	-- One protocol only (the HTTPS/1.1 side of h2_idle_mem); the default offers h2 first.
	if env.get("alpn") then
		conf.alpnprotos = { env.get("alpn") }
	end
end
assert(http.listen(conf))
print("ready")
