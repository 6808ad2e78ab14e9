-- A TLS server for tests/it/tls_peers.rs, which drives it from real peers (curl, openssl
-- s_client, Python's ssl module).
--
--   silly tests/lua_servers/tls_peer.lua --addr=127.0.0.1:0 [--certs=rsa|ec|multi]
--         [--alpn=h2,http/1.1] [--hto=MS] [--mtls=1]
--
-- --certs=multi serves the localhost RSA chain first (the default identity) and the
-- example.test chain second, for SNI selection. --hto sets handshaketimeout, --mtls=1 asks
-- clients for a certificate issued by the test CA. Prints "LISTEN <addr>" once listening.
-- Each connection names its mode on its first line (echo, lines, bye, whoami); modes that
-- observe something print one "RESULT <mode> key=value ..." line.
local tls = require "silly.net.tls"
local env = require "silly.env"
local errno = require "silly.errno"
local silly = require "silly"

local MiB = 1024 * 1024
local DIR = "tests/fixtures/certs/"

local function slurp(name)
	local f = assert(io.open(DIR .. name, "rb"))
	local s = f:read("a")
	f:close()
	return s
end

local errname = {}
for _, name in ipairs({ "EOF", "CLOSED", "CONNRESET", "TIMEDOUT", "TLS" }) do
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

-- Frames of a 4-byte big-endian length and a payload, echoed back; length 0 ends.
function modes.echo(c)
	while true do
		local h = c:read(4)
		if not h then
			return c:close()
		end
		local n = string.unpack(">I4", h)
		if n == 0 or n > 64 * MiB then
			break
		end
		local d = c:read(n)
		if not d then
			return c:close()
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

-- Writes one line and closes: the peer must see close_notify, a clean end of stream.
function modes.bye(c)
	c:write("bye\n")
	c:close()
end

-- Tells the peer what was negotiated, as one line.
function modes.whoami(c)
	local cn = "none"
	if c.peercert then
		local pc = c:peercert()
		cn = pc and pc.subject or "none"
	end
	c:write(string.format("alpn=%s peer=%s\n", tostring(c:alpnproto()), (tostring(cn):gsub("%s", "_"))))
	c:close()
end

local function accept(c)
	local first = c:read("\n", 10000)
	if not first then
		return c:close()
	end
	local mode = modes[first:sub(1, -2)]
	if not mode then
		report("unknown", { { "line", first:sub(1, -2) } })
		return c:close()
	end
	mode(c)
end

local rsa = { cert = slurp("server-rsa-chain.crt"), key = slurp("server-rsa.key") }
local ec = { cert = slurp("server-ec-chain.crt"), key = slurp("server-ec.key") }
local example = { cert = slurp("example-chain.crt"), key = slurp("example.key") }
local sets = { rsa = { rsa }, ec = { ec }, multi = { rsa, example } }

local conf = {
	addr = env.get("addr") or "127.0.0.1:0",
	certs = assert(sets[env.get("certs") or "rsa"], "--certs: rsa, ec or multi"),
	accept = accept,
	backlog = 1024,
}
local alpn = env.get("alpn")
if alpn then
	conf.alpnprotos = {}
	for p in alpn:gmatch("[^,]+") do
		conf.alpnprotos[#conf.alpnprotos + 1] = p
	end
end
if env.get("hto") then
	conf.handshaketimeout = math.tointeger(tonumber(env.get("hto")))
end
if env.get("mtls") then
	conf.verify = true
	conf.ca = slurp("ca.crt")
end

local l, err = tls.listen(conf)
if not l then
	print("LISTEN-FAILED " .. tostring(err))
	silly.exit(1)
end
print("LISTEN " .. l:localaddr())
