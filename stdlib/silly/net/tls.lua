-- silly.net.tls: TLS listeners and connections over rustls (contract: docs/tls.md, decisions
-- docs/tls.md, docs/addr.md#host-names, docs/connections.md, docs/errno.md#error-strings).
--
-- Connections are the same native streams as TCP (src/native/net/stream.rs) with a TLS
-- session as transport; this file shapes options, folds aliases (docs/tls.md#option-aliases), reads certificate files,
-- keeps the stored listener configuration for `reload` (docs/tls.md#reload), and adds the TLS-only methods.
-- Configuration content errors come back as `nil, "tls: <field>: <reason>"` before anything is
-- bound (docs/tls.md#errors); TLS runtime failures as `nil, errno.TLS, reason` (docs/tls.md#tls-failures).
local c = require "silly.net.tls.c"
local addr = require "silly.net.addr"
local addr_c = require "silly.net.addr.c"
local errno = require "silly.errno"
local check = require "silly.internal.check"
local stream = require "silly.net.internal.stream"
local resolver = require "silly.net.internal.resolve"
local task_c = require "silly.task.c"
local time_c = require "silly.time.c"

local MARKER = task_c.marker
local yield = coroutine.yield
local type = type
local error = error
local pairs = pairs
local ipairs = ipairs
local setmetatable = setmetatable
local getmetatable = getmetatable
local tostring = tostring
local concat = table.concat
local mathtype = math.type
local format = string.format
local io_open = io.open
local max = math.max
local parse = addr.parse
local iptype = addr_c.iptype
local resolve = resolver.resolve
local bindaddr = resolver.bindaddr
local monotonic = time_c.monotonic
local c_reason = c.reason
local argerror = check.argerror

local M = {}

-- The native handle of a connection or listener (silly.net.internal.stream's slot layout).
local UD <const> = 1
-- Private keys of the Lua objects, so no user field can collide with them: the handshake
-- facts, the listener's options and sessions.
local INFO = setmetatable({}, { __name = "silly.net.tls.info" })
local STORED = setmetatable({}, { __name = "silly.net.tls.stored" })
local SESSIONS = setmetatable({}, { __name = "silly.net.tls.sessions" })

local HANDSHAKE_TIMEOUT <const> = 30000 -- docs/tls.md#handshaketimeout
local BACKLOG <const> = 256

local function readfile(path, field)
	local f, e = io_open(path, "rb")
	if not f then
		return nil, format("tls: %s: cannot read %s", field, tostring(e))
	end
	local d = f:read("a")
	f:close()
	if not d then
		return nil, format("tls: %s: cannot read %s", field, path)
	end
	return d
end

-- Option shaping -------------------------------------------------------------------------

-- `alpnprotos` / `alpn` (docs/tls.md#option-aliases): an array of strings, or (alpn, LuaSec style) one string.
local function shape_alpn(v, n, fname, field)
	if v == nil or v == false then
		return nil
	end
	if type(v) == "string" then
		return { v }
	end
	if type(v) ~= "table" then
		argerror(n, fname, field .. ": array of strings expected, got " .. type(v))
	end
	local out = {}
	for i = 1, #v do
		if type(v[i]) ~= "string" then
			argerror(n, fname, format("%s[%d]: string expected, got %s", field, i, type(v[i])))
		end
		out[i] = v[i]
	end
	return out
end

local function same(a, b)
	if type(a) == "table" and type(b) == "table" then
		if #a ~= #b then
			return false
		end
		for i = 1, #a do
			if a[i] ~= b[i] then
				return false
			end
		end
		return true
	end
	return a == b
end

-- The value of an option given under its name or an alias; both with different values raise.
local function alias(t, name, other, n, fname)
	local a, b = t[name], t[other]
	if a ~= nil and b ~= nil and not same(a, b) then
		argerror(n, fname, format("conflicting options '%s' and '%s'", name, other))
	end
	if a == nil then
		return b
	end
	return a
end

local function opt_string(v, n, fname, field)
	if v ~= nil and v ~= false and type(v) ~= "string" then
		argerror(n, fname, field .. ": string expected, got " .. type(v))
	end
	return v or nil
end

-- `ca`: a PEM string or an array of them.
local function shape_ca(v, n, fname)
	if v == nil or v == false then
		return nil
	end
	if type(v) == "string" then
		return v
	end
	if type(v) ~= "table" then
		argerror(n, fname, "ca: string or array of strings expected, got " .. type(v))
	end
	for i = 1, #v do
		if type(v[i]) ~= "string" then
			argerror(n, fname, format("ca[%d]: string expected, got %s", i, type(v[i])))
		end
	end
	return concat(v, "\n")
end

-- Reads `ca`/`cafile` into the native table's `ca`/`caname`.
local function load_ca(o, t)
	if o.ca then
		t.ca, t.caname = o.ca, "ca"
	elseif o.cafile then
		local d, err = readfile(o.cafile, "cafile")
		if not d then
			return nil, err
		end
		t.ca, t.caname = d, "cafile"
	end
	return true
end

local function shape_certs(certs, n, fname)
	if type(certs) ~= "table" then
		argerror(n, fname, "conf.certs: array of {cert, key} expected, got " .. type(certs))
	end
	if #certs == 0 then
		argerror(n, fname, "conf.certs: must not be empty")
	end
	local out = {}
	for i = 1, #certs do
		local e = certs[i]
		if type(e) ~= "table" then
			argerror(n, fname, format("conf.certs[%d]: table expected, got %s", i, type(e)))
		end
		local cert, certfile = e.cert, e.certfile
		local key, keyfile = e.key, e.keyfile
		for _, f in ipairs({ "cert", "certfile", "key", "keyfile" }) do
			if e[f] ~= nil and type(e[f]) ~= "string" then
				argerror(n, fname, format("conf.certs[%d].%s: string expected, got %s", i, f, type(e[f])))
			end
		end
		if cert == nil and certfile == nil then
			argerror(n, fname, format("conf.certs[%d]: 'cert' or 'certfile' required", i))
		end
		if key == nil and keyfile == nil then
			argerror(n, fname, format("conf.certs[%d]: 'key' or 'keyfile' required", i))
		end
		out[i] = { cert = cert, certfile = certfile, key = key, keyfile = keyfile }
	end
	return out
end

local function server_verify(v, n, fname)
	if v == nil or v == false or v == "none" then
		return "none"
	elseif v == true or v == "required" or v == "peer" then
		return "required"
	elseif v == "optional" then
		return "optional"
	end
	argerror(n, fname, "verify: false, true, \"optional\" or \"none\" expected")
end

local function shape_timeout(v, n, fname)
	if v == nil then
		return nil
	end
	if mathtype(v) ~= "integer" or v < 0 then
		argerror(n, fname, "handshaketimeout: non-negative integer expected")
	end
	return v
end

-- The TLS keys of `listen`/`reload`, shaped into `into` (docs/tls.md#reload: present keys replace, `false`
-- clears an optional key, absent keys stay).
local function merge_server(conf, into, n, fname)
	if conf.certs ~= nil then
		into.certs = shape_certs(conf.certs, n, fname)
	end
	local alpn = alias(conf, "alpnprotos", "alpn", n, fname)
	if alpn ~= nil then
		into.alpnprotos = shape_alpn(alpn, n, fname, "alpnprotos")
	end
	for _, k in ipairs({ "ciphers", "ciphersuites", "minversion", "maxversion", "cafile" }) do
		if conf[k] ~= nil then
			into[k] = opt_string(conf[k], n, fname, k)
		end
	end
	if conf.ca ~= nil then
		into.ca = shape_ca(conf.ca, n, fname)
	end
	if conf.verify ~= nil then
		into.verify = server_verify(conf.verify, n, fname)
	end
	if conf.handshaketimeout ~= nil then
		into.handshaketimeout = shape_timeout(conf.handshaketimeout, n, fname)
	end
	return into
end

-- Builds the native server configuration from stored options; files are (re-)read here.
local function build_server(o, sessions)
	local t = {
		certs = {},
		ciphers = o.ciphers,
		ciphersuites = o.ciphersuites,
		minversion = o.minversion,
		maxversion = o.maxversion,
		alpnprotos = o.alpnprotos,
		verify = o.verify or "none",
	}
	for i, e in ipairs(o.certs) do
		local ent = {}
		if e.cert then
			ent.cert, ent.certname = e.cert, format("certs[%d].cert", i)
		else
			local name = format("certs[%d].certfile", i)
			local d, err = readfile(e.certfile, name)
			if not d then
				return nil, err
			end
			ent.cert, ent.certname = d, name
		end
		if e.key then
			ent.key, ent.keyname = e.key, format("certs[%d].key", i)
		else
			local name = format("certs[%d].keyfile", i)
			local d, err = readfile(e.keyfile, name)
			if not d then
				return nil, err
			end
			ent.key, ent.keyname = d, name
		end
		t.certs[i] = ent
	end
	local ok, err = load_ca(o, t)
	if not ok then
		return nil, err
	end
	return c.serverconf(t, sessions)
end

-- Connections ----------------------------------------------------------------------------

---The handshake facts the native side hands over with a connection, kept under INFO.
---@class silly.net.tls.info
---@field state userdata the session's fatal-failure slot, read by `c.reason`
---@field alpn string?
---@field version string?
---@field cipher string?
---@field servername string?
---@field resumed boolean
---@field peercerts string[]? DER, end-entity first
---@field cert table|false|nil `peercert`'s parsed answer, cached (false: none)

---A TLS connection: the methods of silly.net.internal.stream (read, readline, write, close,
---flush, limit, unreadbytes, unsentbytes, isalive; a TLS failure comes back as
---`nil|false, errno.TLS, reason`, docs/tls.md#tls-failures) and the handshake facts below, its INFO.
---@class silly.net.tls.conn: silly.net.internal.stream.conn
local conn = {}
local conn_mt = { __index = conn, __name = "silly.net.tls.conn" }

local newconn, onaccept = stream.conn(conn_mt, {
	name = "tls",
	busy = "tls: concurrent read",
	strict = true,
	reason = function(self)
		return c_reason(self[INFO].state)
	end,
	info = INFO,
})

---@return string? proto the negotiated ALPN protocol, nil when none (docs/tls.md#alpn)
function conn:alpnproto()
	return self[INFO].alpn
end

---@return string? version "tlsv1_2" or "tlsv1_3"
function conn:version()
	return self[INFO].version
end

---@return string? cipher the negotiated suite, IANA name ("TLS_AES_128_GCM_SHA256")
function conn:cipher()
	return self[INFO].cipher
end

---@return string? name the SNI host name the client sent (server side), or nil
function conn:servername()
	return self[INFO].servername
end

---Whether the handshake resumed an earlier session (beyond the contract; for tests and
---monitoring of session reuse).
---@return boolean
function conn:resumed()
	return self[INFO].resumed == true
end

---The peer's end-entity certificate, or nil when it sent none.
---@return {subject: string, issuer: string, san: string[], notbefore: integer, notafter: integer, pem: string}?
function conn:peercert()
	local info = self[INFO]
	if info.cert == nil then
		local certs = info.peercerts
		info.cert = certs and certs[1] and c.parsecert(certs[1]) or false
	end
	return info.cert or nil
end

-- Listeners ------------------------------------------------------------------------------

---A TLS listener: close, localaddr (silly.net.internal.stream) and `reload`. It keeps its
---shaped options under STORED, for `reload` to merge into, and the session store its
---configurations share under SESSIONS, so a reload does not end resumption.
---@class silly.net.tls.listener: silly.net.internal.stream.listener
local listener = {}
local listener_mt = { __index = listener, __name = "silly.net.tls.listener" }
local newlistener = stream.listener(listener_mt, c)

---Swaps in a new TLS configuration for future handshakes (docs/tls.md#reload). Keys present replace the
---stored ones, `false` clears an optional one, absent ones stay; `reload()` re-reads files.
---Atomic: on any error nothing changes.
---@param conf table?
---@return boolean ok
---@return string? err "tls: ..." or CLOSED
function listener:reload(conf)
	if conf ~= nil then
		check.type(conf, "table", 1, "reload")
	end
	if not self.fd then
		return false, errno.CLOSED
	end
	local stored = self[STORED]
	local next = {}
	for k, v in pairs(stored) do
		next[k] = v
	end
	if conf then
		merge_server(conf, next, 1, "reload")
	end
	local cfg, err = build_server(next, self[SESSIONS])
	if not cfg then
		return false, err
	end
	local ok, e = c.reload(self[UD], cfg, next.handshaketimeout or HANDSHAKE_TIMEOUT)
	if not ok then
		return false, e
	end
	self[STORED] = next
	return true
end

---Listens for TLS connections; `accept(conn)` runs in a new task after each successful
---handshake (docs/tls.md#accepting-connections).
---@param conf {addr: string, certs: {cert: string?, key: string?, certfile: string?, keyfile: string?}[], accept: fun(conn: silly.net.tls.conn), backlog: integer?, reuseport: boolean?, ciphers: string?, ciphersuites: string?, alpnprotos: string[]?, handshaketimeout: integer?, minversion: string?, maxversion: string?, verify: boolean|string?, ca: string|string[]?, cafile: string?}
---@return silly.net.tls.listener? listener
---@return string? err an errno value, or "tls: <field>: <reason>"
function M.listen(conf)
	check.type(conf, "table", 1, "listen")
	local a, accept, backlog = conf.addr, conf.accept, conf.backlog
	if type(a) ~= "string" then
		argerror(1, "listen", "conf.addr: string expected, got " .. type(a))
	end
	if type(accept) ~= "function" then
		argerror(1, "listen", "conf.accept: function expected, got " .. type(accept))
	end
	if conf.certs == nil then
		argerror(1, "listen", "conf.certs: array of {cert, key} expected, got nil")
	end
	if backlog == nil then
		backlog = BACKLOG
	elseif mathtype(backlog) ~= "integer" or backlog < 1 then
		argerror(1, "listen", "conf.backlog: positive integer expected")
	end
	local stored = merge_server(conf, {}, 1, "listen")
	-- Configuration first: a content error must not leave a bound port behind (docs/tls.md#errors).
	local sessions, err = c.sessions()
	if not sessions then
		return nil, err
	end
	local cfg
	cfg, err = build_server(stored, sessions)
	if not cfg then
		return nil, err
	end
	local ip, port = resolve(a, true)
	if not ip then
		return nil, port
	end
	local ud
	local reuseport = conf.reuseport
	if reuseport ~= nil and type(reuseport) ~= "boolean" then
		argerror(1, "listen", "conf.reuseport: boolean expected, got " .. type(reuseport))
	end
	ud, err = c.listen(ip, port, backlog, cfg, stored.handshaketimeout or HANDSHAKE_TIMEOUT, onaccept(accept),
		reuseport)
	if not ud then
		return nil, err
	end
	local l = newlistener(ud)
	l[STORED], l[SESSIONS] = stored, sessions
	return l
end

-- Client configurations, one per distinct option set, reused so sessions resume.
local clientconfs = {}
local nclientconfs = 0
local CLIENTCONF_MAX <const> = 64

local function client_verify(opts)
	local v, insecure = opts.verify, opts.insecure
	local verify
	if v == nil then
		verify = nil
	elseif v == true or v == "peer" then
		verify = true
	elseif v == false or v == "none" then
		verify = false
	else
		argerror(2, "connect", "opts.verify: boolean, \"peer\" or \"none\" expected")
	end
	if insecure ~= nil then
		if type(insecure) ~= "boolean" then
			argerror(2, "connect", "opts.insecure: boolean expected")
		end
		if verify ~= nil and verify == insecure then
			argerror(2, "connect", "conflicting options 'verify' and 'insecure'")
		end
		verify = not insecure
	end
	if verify == nil then
		verify = true
	end
	return verify
end

local function clientconf(opts)
	local t = { verify = true }
	if opts then
		t.verify = client_verify(opts)
		t.alpnprotos = shape_alpn(alias(opts, "alpnprotos", "alpn", 2, "connect"), 2, "connect", "alpnprotos")
		for _, k in ipairs({ "ciphers", "ciphersuites", "minversion", "maxversion" }) do
			t[k] = opt_string(opts[k], 2, "connect", k)
		end
		local o = { ca = shape_ca(opts.ca, 2, "connect"), cafile = opt_string(opts.cafile, 2, "connect", "cafile") }
		local ok, err = load_ca(o, t)
		if not ok then
			return nil, err
		end
		for _, k in ipairs({ "cert", "key" }) do
			local v, f = opt_string(opts[k], 2, "connect", k), opt_string(opts[k .. "file"], 2, "connect", k .. "file")
			if v then
				t[k], t[k .. "name"] = v, k
			elseif f then
				local d, e = readfile(f, k .. "file")
				if not d then
					return nil, e
				end
				t[k], t[k .. "name"] = d, k .. "file"
			end
		end
	end
	local key = concat({
		tostring(t.verify),
		t.alpnprotos and concat(t.alpnprotos, "\1") or "",
		t.ciphers or "",
		t.ciphersuites or "",
		t.minversion or "",
		t.maxversion or "",
		t.ca or "",
		t.cert or "",
		t.key or "",
	}, "\0")
	local cfg = clientconfs[key]
	if cfg then
		return cfg
	end
	local err
	cfg, err = c.clientconf(t)
	if not cfg then
		return nil, err
	end
	if nclientconfs >= CLIENTCONF_MAX then
		clientconfs, nclientconfs = {}, 0
	end
	clientconfs[key] = cfg
	nclientconfs = nclientconfs + 1
	return cfg
end

---Connects to "host:port" and runs the TLS handshake. The server certificate is verified
---against the system trust store, or `ca`/`cafile`, unless `verify = false` (docs/tls.md#certificate-verification).
---@param address string "ip:port", "[v6]:port" or "name:port" (resolved, docs/addr.md#host-names)
---@param opts {hostname: string?, server: string?, alpnprotos: string[]|string?, alpn: string[]|string?, timeout: integer?, bind: string?, verify: boolean|string?, insecure: boolean?, ca: string|string[]?, cafile: string?, cert: string?, key: string?, certfile: string?, keyfile: string?, ciphers: string?, ciphersuites: string?, minversion: string?, maxversion: string?}?
---@return silly.net.tls.conn? conn
---@return string? err an errno value (TLS, TIMEDOUT, CONNREFUSED ...) or "tls: ..."
---@return string? reason for errno.TLS: e.g. "certificate verify failed: unknown issuer"
function M.connect(address, opts)
	check.type(address, "string", 1, "connect")
	local hostname, bind, timeout
	if opts ~= nil then
		check.type(opts, "table", 2, "connect")
		hostname = alias(opts, "hostname", "server", 2, "connect")
		if hostname ~= nil and type(hostname) ~= "string" then
			argerror(2, "connect", "opts.hostname: string expected, got " .. type(hostname))
		end
		bind, timeout = opts.bind, opts.timeout
		if timeout ~= nil then
			timeout = check.ms(timeout, 2, "connect")
		end
		if bind ~= nil and type(bind) ~= "string" then
			argerror(2, "connect", "opts.bind: string expected")
		end
	end
	if hostname == nil then
		-- A DNS name in `addr` is the name checked and sent as SNI (docs/tls.md#connect).
		local host = parse(address)
		if host and iptype(host) == 0 then
			hostname = host
		end
	end
	if hostname ~= nil then
		local ok, err = c.checkname(hostname)
		if not ok then
			return nil, err
		end
	end
	local cfg, err = clientconf(opts)
	if not cfg then
		return nil, err
	end
	local start = monotonic()
	local ip, port = resolve(address, false, timeout)
	if not ip then
		return nil, port
	end
	if timeout then
		timeout = max(0, timeout - (monotonic() - start))
	end
	local bip, bport
	if bind ~= nil then
		bip, bport = bindaddr(bind)
		if not bip then
			return nil, bport
		end
	end
	local ud, info, why = c.connect(ip, port, bip, bport, timeout, cfg, hostname)
	if ud == MARKER then
		ud, info, why = yield(MARKER)
	end
	if not ud then
		return nil, info, why
	end
	return newconn(ud, address, info)
end

-- Compatibility functions (§7, docs/tls.md#compatibility-functions): deprecated, they take the object, never an fd.
local function object(x, name)
	local mt = getmetatable(x)
	if type(x) ~= "table" or (mt ~= conn_mt and mt ~= listener_mt) then
		error("tls." .. name .. " expects a tls conn or listener object", 3)
	end
	return x
end

local function conn_only(name, method)
	return function(x, ...)
		if getmetatable(x) ~= conn_mt then
			error("tls." .. name .. " expects a tls conn or listener object", 2)
		end
		return method(x, ...)
	end
end

---Same as `x:close()`.
---@param x silly.net.tls.conn|silly.net.tls.listener
---@return boolean ok
---@return string? err
function M.close(x)
	return object(x, "close"):close()
end

---Same as `l:reload(conf)`.
---@param l silly.net.tls.listener
---@param conf table?
---@return boolean ok
---@return string? err
function M.reload(l, conf)
	if getmetatable(l) ~= listener_mt then
		error("tls.reload expects a tls conn or listener object", 2)
	end
	return l:reload(conf)
end

M.read = conn_only("read", conn.read)
M.readline = conn_only("readline", conn.readline)
M.write = conn_only("write", conn.write)
M.limit = conn_only("limit", conn.limit)
M.isalive = conn_only("isalive", conn.isalive)
M.alpnproto = conn_only("alpnproto", conn.alpnproto)
M.recvsize = conn_only("recvsize", conn.unreadbytes)
M.sendsize = conn_only("sendsize", conn.unsentbytes)

return M
