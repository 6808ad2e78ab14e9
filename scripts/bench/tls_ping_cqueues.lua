-- The TLS PING server of tls_ping_silly.lua on lua5.4 + cqueues + luaossl (OpenSSL).
-- Run: lua5.4 scripts/bench/tls_ping_cqueues.lua 6393
-- One coroutine per connection, unbuffered writes, TLS started on each accepted socket with
-- a server context holding the RSA-2048 test chain from tests/fixtures/certs.
local cqueues = require "cqueues"
local socket = require "cqueues.socket"
local context = require "openssl.ssl.context"
local x509 = require "openssl.x509"
local chain = require "openssl.x509.chain"
local pkey = require "openssl.pkey"

local port = tonumber(arg[1] or "6393")
local dir = "tests/fixtures/certs/"

local function slurp(name)
	local f = assert(io.open(dir .. name, "rb"))
	local s = f:read("a")
	f:close()
	return s
end

local ctx = context.new("TLS", true)
ctx:setCertificate(x509.new(slurp("server-rsa.crt")))
local ch = chain.new()
ch:add(x509.new(slurp("intermediate.crt")))
ctx:setCertificateChain(ch)
ctx:setPrivateKey(pkey.new(slurp("server-rsa.key")))

local cq = cqueues.new()
local srv = assert(socket.listen { host = "127.0.0.1", port = port, backlog = 1024 })

local function serve(conn)
	conn:setmode("bn", "bn")
	if not conn:starttls(ctx, 30) then
		conn:close()
		return
	end
	while true do
		local line = conn:read("*L")
		if not line then
			break
		end
		local echo
		if line:byte(1) == 42 then
			local n = tonumber(line:sub(2, -3)) or 0
			local args = {}
			for i = 1, n do
				local len = conn:read("*L")
				local a = len and conn:read((tonumber(len:sub(2, -3)) or 0) + 2)
				if not a then
					conn:close()
					return
				end
				args[i] = a
			end
			if n == 2 and (args[1] == "ECHO\r\n" or args[1] == "echo\r\n") then
				echo = args[2]
			end
		end
		if echo then
			conn:write("$" .. (#echo - 2) .. "\r\n", echo)
		else
			conn:write("+PONG\r\n")
		end
	end
	conn:close()
end

cq:wrap(function()
	-- TCP_NODELAY as silly sets it: accepted sockets do not inherit listen's `nodelay`, and
	-- without it Nagle plus delayed ACKs hold pipelined replies back ~40 ms.
	for conn in srv:clients({ nodelay = true }) do
		-- a reset peer makes cqueues raise out of read; that must end one connection only
		cq:wrap(function()
			pcall(serve, conn)
			conn:close()
		end)
	end
end)
print("ready", port)
io.stdout:flush()
assert(cq:loop())
