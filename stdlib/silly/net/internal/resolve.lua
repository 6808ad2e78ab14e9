-- silly.net.internal.resolve: "host:port" texts to the numeric IP and port the natives take
-- (docs/addr.md), shared by silly.net.tcp, silly.net.tls and silly.net.udp.
--
-- Host names go through silly.net.dns when that module is present; `localhost` always works.
local addr = require "silly.net.addr"
local addr_c = require "silly.net.addr.c"
local errno = require "silly.errno"
local time_c = require "silly.time.c"

local pcall = pcall
local require = require
local parse = addr.parse
local iptype = addr_c.iptype
local portnum = addr_c.port
local monotonic = time_c.monotonic
local max = math.max

-- What "localhost" means, without asking DNS.
local LOOPBACK <const> = "127.0.0.1"

local M = {}

---Resolves "host:port" to a numeric IP text and a port number. `listening` allows the
---wildcard (":port", IP "") and needs no DNS; otherwise names are looked up within `timeout`
---ms. A missing host is INVAL before the port is looked at ("::1:80" parses as host nil,
---port ":1:80"), unless `portfirst` (silly.net.udp), where a bad port is RESOLVE first.
---@param s string
---@param listening boolean?
---@param timeout integer?
---@param portfirst boolean?
---@return string? ip ("" for the wildcard when `listening`)
---@return integer|string port or the error value
function M.resolve(s, listening, timeout, portfirst)
	local host, port = parse(s)
	if not port or (not host and not listening and not portfirst) then
		return nil, errno.INVAL
	end
	local p = portnum(port)
	if not p then
		return nil, errno.RESOLVE
	end
	if not host then
		if listening then
			return "", p
		end
		return nil, errno.INVAL
	end
	if iptype(host) ~= 0 then
		return host, p
	end
	if host == "localhost" then
		return LOOPBACK, p
	end
	if listening then
		return nil, errno.RESOLVE
	end
	local ok, dns = pcall(require, "silly.net.dns")
	if not ok then
		return nil, errno.RESOLVE
	end
	-- A, then AAAA, both within the caller's timeout; a dead nameserver is not asked twice.
	local start = monotonic()
	local ip, err = dns.lookup(host, dns.A, timeout)
	if not ip and err ~= errno.TIMEDOUT then
		ip = dns.lookup(host, dns.AAAA, timeout and max(0, timeout - (monotonic() - start)))
	end
	if not ip then
		if timeout and monotonic() - start >= timeout then
			return nil, errno.TIMEDOUT
		end
		return nil, errno.RESOLVE
	end
	return ip, p
end

---Splits a local address to bind to ("ip:port", numeric only: both parts required).
---@param s string
---@return string? ip
---@return integer|string port or errno.INVAL
function M.bindaddr(s)
	local h, p = parse(s)
	if not h or not p or iptype(h) == 0 then
		return nil, errno.INVAL
	end
	local port = portnum(p)
	if not port then
		return nil, errno.INVAL
	end
	return h, port
end

return M
