-- silly.net.http.client: the client behind `http.request`, `get`, `post` and `newclient`
-- (docs/http.md): a connection pool per scheme, host, port (and TLS options), whole-call
-- timeouts, bounded bodies, opt-in redirects and gzip. HTTPS offers HTTP/2 by ALPN; a server
-- that picks it gets one shared connection (silly.net.http.h2client).
local tcp = require "silly.net.tcp"
local field = require "silly.net.http.field"
local tls = require "silly.net.tls"
local time = require "silly.time"
local c = require "silly.net.http.c"
local url = require "silly.net.http.url"
local body = require "silly.net.http.body"
local errno = require "silly.errno"
local conn_c = require "silly.net.conn.c"
local check = require "silly.internal.check"
local h2client = require "silly.net.http.h2client"
local task = require "silly.task"

local type = type
local pairs = pairs
local tostring = tostring
local tonumber = tonumber
local setmetatable = setmetatable
local concat = table.concat
local sort = table.sort
local remove = table.remove
local format = string.format
local lower = string.lower
local match = string.match
local monotonic = time.monotonic
local c_readresponse = c.readresponse
local c_writerequest = c.writerequest
local c_gunzip = c.gunzip
local c_hold = conn_c.hold
local running = task.running
local task_wait = task.wait
local wakeup = task.wakeup
local after = time.after
local cancel = time.cancel

---The options of `http.newclient` and of each call (docs/http.md#options-newclient-and-per-call);
---every `tls.connect` option applies to `https://` too.
---@class silly.net.http.clientopts
---@field timeout integer? the whole exchange, ms (30000)
---@field connecttimeout integer? connecting and the TLS handshake, ms (10000)
---@field maxidleperhost integer? idle pooled connections kept per server (10)
---@field idletimeout integer? an idle pooled connection older than this is not reused, ms (30000)
---@field maxbodysize integer? response body bytes (64 MiB)
---@field maxheadersize integer? response head bytes (64 KiB)
---@field redirects integer? redirects followed by `get`/`post` (0)
---@field gzip boolean? ask for and decode gzip bodies (false)
---@field h2 boolean? offer HTTP/2 by ALPN on `https://` (true)
---@field alpnprotos string[]? the ALPN names offered on `https://`, overriding `h2` ({"h2", "http/1.1"})
---@field [string] any every `tls.connect` option (`ca`, `verify`, `hostname` ...)

-- Defaults of the client options (sizes in bytes, times in milliseconds).
local DEFAULTS <const> = {
	timeout = 30000,
	connecttimeout = 10000,
	maxidleperhost = 10,
	idletimeout = 30000,
	maxbodysize = 64 * 1024 * 1024,
	maxheadersize = 64 * 1024,
	redirects = 0,
	gzip = false,
}
-- What `https://` offers by ALPN: HTTP/2 first unless `h2 = false`.
local OFFER_H2 <const> = { "h2", "http/1.1" }
local OFFER_H1 <const> = { "http/1.1" }
local TLS_KEYS <const> = field.TLS_KEYS
-- Methods that send no body unless the caller says how long it is.
local NO_BODY <const> = { GET = true, HEAD = true, DELETE = true, OPTIONS = true, TRACE = true }
local REDIRECT <const> = { [301] = true, [302] = true, [303] = true, [307] = true, [308] = true }
-- Requests retried once on a fresh connection when a pooled one turns out closed: safe to
-- repeat, and sent without a body.
local RETRY <const> = { GET = true, HEAD = true }
-- What a pooled connection that the server already closed answers.
local STALE <const> = { [errno.EOF] = true, [errno.CONNRESET] = true, [errno.CLOSED] = true, [errno.PIPE] = true }

local wait = field.wait
local field_left = field.left

local M = {}

-- An option from the call, else from the client, else the default.
local function option(client, opts, k)
	local v = opts and opts[k]
	if v == nil then
		v = client.opts[k]
	end
	if v == nil then
		v = DEFAULTS[k]
	end
	return v
end

-- The ALPN offer one level of options (a call's, a client's) asks for: its `alpnprotos`, else
-- what its `h2` means, else nil (the next level decides).
local function level_offer(o)
	if o == nil then
		return nil
	end
	local a = o.alpnprotos
	if a ~= nil then
		return a
	end
	if o.h2 ~= nil then
		return o.h2 and OFFER_H2 or OFFER_H1
	end
	return nil
end

-- Raises unless `opts.alpnprotos` (opts being argument `n` of `fname`) is nil or a non-empty
-- array of ALPN names, as TLS allows them (1..255 bytes).
local function check_alpn(opts, n, fname)
	if type(opts) ~= "table" or opts.alpnprotos == nil then
		return
	end
	local v = opts.alpnprotos
	if type(v) ~= "table" or #v == 0 then
		local got = type(v) == "table" and "an empty table" or type(v)
		check.argerror(n, fname, "alpnprotos: non-empty array of strings expected, got " .. got)
	end
	for i = 1, #v do
		local name = v[i]
		if type(name) ~= "string" or #name == 0 or #name > 255 then
			local got = type(name) == "string" and #name .. " bytes" or type(name)
			check.argerror(n, fname, format("alpnprotos[%d]: a name of 1..255 bytes expected, got %s", i, got))
		end
	end
end

-- What tells pooled connections apart besides the address: the TLS options used.
local function tls_identity(client, opts)
	local parts = {}
	for _, k in pairs(TLS_KEYS) do
		local v = option(client, opts, k)
		if v ~= nil then
			if type(v) == "table" then
				v = concat(v, "\0")
			end
			parts[#parts + 1] = k .. "=" .. tostring(v)
		end
	end
	sort(parts)
	return concat(parts, ";")
end

-- A pooled idle connection to `key`, if one is still alive and fresh.
local function take_idle(client, key)
	local list = client.idle[key]
	if not list then
		return nil
	end
	local now = monotonic()
	while #list > 0 do
		local e = remove(list)
		if e.conn:isalive() and e.conn:unreadbytes() == 0 and now - e.at < e.idletimeout then
			c_hold(e.conn[1], true)
			return e.conn
		end
		e.conn:close()
	end
	return nil
end

local function put_idle(client, key, conn, max, idletimeout)
	local list = client.idle[key]
	if not list then
		list = {}
		client.idle[key] = list
	end
	if #list >= max then
		conn:close()
		return
	end
	-- An idle pooled connection does not keep the process alive: nobody waits on it.
	c_hold(conn[1], false)
	list[#list + 1] = { conn = conn, at = monotonic(), idletimeout = idletimeout }
end

local function connect(client, u, opts, left, offer)
	local ctimeout = option(client, opts, "connecttimeout")
	if left < ctimeout then
		ctimeout = left
	end
	if u.scheme == "https" then
		local t = { timeout = ctimeout, alpnprotos = offer, hostname = u.host }
		for _, k in pairs(TLS_KEYS) do
			local v = option(client, opts, k)
			if v ~= nil then
				t[k] = v
			end
		end
		return tls.connect(u.address, t)
	end
	return tcp.connect(u.address, { timeout = ctimeout })
end

-- Waits until the HTTP/2 connect in progress for `key` ends, at most `ms` milliseconds.
local function wait_connecting(client, key, ms)
	local me = running()
	local woken = false
	local timer
	local function wake()
		if not woken then
			woken = true
			if timer then
				cancel(timer)
			end
			wakeup(me)
		end
	end
	local list = client.connecting[key]
	list[#list + 1] = wake
	timer = after(ms, function()
		timer = nil
		wake()
	end)
	task_wait()
end

-- Ends the connect in progress for `key` and wakes the requests that waited for it.
local function connected(client, key)
	local list = client.connecting[key]
	client.connecting[key] = nil
	for i = 1, #list do
		list[i]()
	end
end

---A request in progress and its response.
---@class silly.net.http.clientstream
---@field status integer? set by `waitresponse`
---@field header table<string, string|string[]>? set by `waitresponse`
---@field version string? set by `waitresponse`
---@field trailer table? set once the body was read to its end
local cstream = {}
local cstream_mt = { __index = cstream, __name = "silly.net.http.clientstream" }
local STATE <const> = {}

-- Milliseconds left of the whole call (at least 0).
local function left(st)
	return field_left(st.deadline)
end

---Sends request body bytes.
---@param data string
---@return boolean ok
---@return string? err
function cstream:write(data)
	local st = self[STATE]
	if st.ended then
		return false, "write: the request has ended"
	end
	if #data == 0 then
		return true
	end
	if st.mode == "chunked" then
		return st.conn:write({ format("%x\r\n", #data), data, "\r\n" })
	end
	if st.mode == "none" or st.sent + #data > st.mode then
		return false, "write: body longer than the request's content-length"
	end
	st.sent = st.sent + #data
	return st.conn:write(data)
end

---Sends the last request body bytes (and trailer fields on a chunked request).
---@param data string?
---@param trailer table<string, string>?
---@return boolean ok
---@return string? err
function cstream:closewrite(data, trailer)
	local st = self[STATE]
	if st.ended then
		return true
	end
	if data and #data > 0 then
		local ok, err = self:write(data)
		if not ok then
			return ok, err
		end
	end
	st.ended = true
	if st.mode == "chunked" then
		return st.conn:write({ "0\r\n", trailer and field.trailer(trailer) or "", "\r\n" })
	end
	if type(st.mode) == "number" and st.sent < st.mode then
		st.broken = true
		return false, "closewrite: body shorter than the request's content-length"
	end
	return true
end

---Waits for the response head; then `status`, `header` and `version` are set.
---@param timeout integer? milliseconds (default: what is left of the call's timeout)
---@return boolean ok
---@return string? err
function cstream:waitresponse(timeout)
	local st = self[STATE]
	if self.status then
		return true
	end
	if not st.ended then
		local ok, err = self:closewrite()
		if not ok then
			return ok, err
		end
	end
	while true do
		local head, err = wait(c_readresponse(st.conn[1], st.maxheadersize, timeout or left(st)))
		if not head then
			st.broken = true
			return false, err
		end
		if type(head) == "number" then
			st.broken = true
			return false, "malformed response head"
		end
		if head.status >= 200 or head.status == 101 then
			local h = head.header
			self.status, self.header = head.status, h
			self.version = head.minor == 0 and "HTTP/1.0" or "HTTP/1.1"
			st.keepalive = head.minor == 1 and not field.has_token(h.connection, "close")
			local b = st.body
			if st.method == "HEAD" or head.status == 204 or head.status == 304 or head.status < 200 then
				b.left, b.done, b.trailer = 0, true, {}
			elseif h["transfer-encoding"] then
				b.left = "chunked"
			elseif h["content-length"] then
				local n = tonumber(type(h["content-length"]) == "table" and h["content-length"][1]
					or h["content-length"])
				if not n or n < 0 or n % 1 ~= 0 then
					st.broken = true
					return false, "malformed content-length"
				end
				if n > b.maxbody then
					st.broken = true
					return false, "body over maxbodysize"
				end
				b.left, b.done = n, n == 0
				if n == 0 then
					b.trailer = {}
				end
			else
				b.left = "close"
				st.keepalive = false
			end
			return true
		end
		-- An interim response (100 Continue ...): the final one follows.
	end
end

---Reads exactly `n` bytes of the response body (the rest at its end, then `nil, errno.EOF`).
---@param n integer
---@param timeout integer?
---@return string? data
---@return string? err
function cstream:read(n, timeout)
	local st = self[STATE]
	if not self.status then
		local ok, err = self:waitresponse()
		if not ok then
			return nil, err
		end
	end
	local data, err = body.read(st.body, n, timeout or left(st))
	self.trailer = st.body.trailer
	if not data then
		return nil, err
	end
	return data
end

---Reads the whole response body (at most `maxbodysize`).
---@param timeout integer?
---@return string? body
---@return string? err
function cstream:readall(timeout)
	local st = self[STATE]
	if not self.status then
		local ok, err = self:waitresponse()
		if not ok then
			return nil, err
		end
	end
	local data, err = body.readall(st.body, timeout or left(st))
	self.trailer = st.body.trailer
	if not data then
		return nil, err
	end
	if st.gzip and self.header["content-encoding"] == "gzip" then
		return c_gunzip(data, st.body.maxbody)
	end
	return data
end

---Ends the exchange: a keep-alive connection whose response was read to its end goes back
---to the pool; any other is closed.
function cstream:close()
	local st = self[STATE]
	if st.closed then
		return
	end
	st.closed = true
	local b = st.body
	if st.keepalive and st.ended and b.done and not st.broken and not b.broken then
		put_idle(st.client, st.key, st.conn, st.maxidle, st.idletimeout)
	else
		st.conn:close()
	end
end

---Starts a request: connects (or takes a pooled connection) and sends the head. Send the
---body with `write`/`closewrite`, then `waitresponse`, `read`/`readall`, and `close`.
---@param client table
---@param method string
---@param target string the URL
---@param header table<string, string|number|(string|number)[]>?
---@param opts silly.net.http.clientopts?
---@return silly.net.http.clientstream? stream
---@return string? err
local function request(client, method, target, header, opts, fresh)
	check.type(method, "string", 1, "request")
	check.type(target, "string", 2, "request")
	if header ~= nil then
		check.type(header, "table", 3, "request")
	end
	local u, uerr = url.parse(target)
	if not u then
		return nil, uerr
	end
	local deadline = monotonic() + option(client, opts, "timeout")
	local key = u.scheme .. "://" .. u.authority .. "#" .. tls_identity(client, opts)
	-- The call's `alpnprotos` or `h2`, else the client's, else HTTP/2 and HTTP/1.1. The
	-- offer is part of the key: a connection made with one is not reused for another.
	local offer, h2 = nil, false
	if u.scheme == "https" then
		offer = level_offer(opts) or client.offer or OFFER_H2
		for i = 1, #offer do
			h2 = h2 or offer[i] == "h2"
		end
		key = key .. "#alpn=" .. concat(offer, "\0")
	end
	local gzip = option(client, opts, "gzip")
	local given_length, given_te, given_ae = nil, nil, false
	for k, v in pairs(header or {}) do
		if type(k) == "string" then
			local name = lower(k)
			if name == "content-length" then
				given_length = tonumber(v)
			elseif name == "transfer-encoding" then
				given_te = v
			elseif name == "accept-encoding" then
				given_ae = true
			end
		end
	end
	if gzip and not given_ae then
		local copy = {}
		for k, v in pairs(header or {}) do
			copy[k] = v
		end
		copy["accept-encoding"] = "gzip"
		header = copy
	end
	local mode, chunked
	if given_length then
		mode = given_length
	elseif given_te then
		mode = "chunked"
	elseif NO_BODY[method] then
		mode = "none"
	else
		mode, chunked = "chunked", true
	end
	local maxbody = option(client, opts, "maxbodysize")
	local idletimeout = option(client, opts, "idletimeout")
	local conn, reused
	while true do
		local e = h2 and client.h2[key]
		if e and not h2client.usable(e, idletimeout) then
			client.h2[key], e = nil, nil
		end
		if e then
			-- One HTTP/2 connection carries every request to this server.
			local s, err = h2client.request(e, {
				method = method,
				url = u.scheme .. "://" .. u.authority .. u.target,
				header = header,
				nobody = mode == "none",
				deadline = deadline,
				maxbody = maxbody,
				gzip = gzip,
			})
			if s or fresh or err == errno.TIMEDOUT then
				return s, err
			end
			-- The pooled connection ended before the stream opened (GOAWAY, a failure):
			-- once more, on a new connection.
			if client.h2[key] == e then
				client.h2[key] = nil
			end
			fresh = true
		elseif h2 and client.connecting[key] and not client.h1[key] then
			-- Another request is connecting to this server: it may bring an HTTP/2
			-- connection to share.
			local l = deadline - monotonic()
			if l <= 0 then
				return nil, errno.TIMEDOUT
			end
			wait_connecting(client, key, l)
		else
			conn = not fresh and take_idle(client, key)
			reused = conn and true or false
			if conn then
				break
			end
			-- The first connect to a server not known to pick HTTP/1.1: the requests that come
			-- meanwhile wait for it, as it may bring a connection they can share.
			local first = h2 and not client.h1[key] and not client.connecting[key]
			if first then
				client.connecting[key] = {}
			end
			local err
			conn, err = connect(client, u, opts, deadline - monotonic(), offer)
			if conn and h2 then
				client.h1[key] = conn:alpnproto() ~= "h2" or nil
			end
			if conn and h2 and conn:alpnproto() == "h2" then
				e, err = h2client.connect(conn, option(client, opts, "maxheadersize"), field_left(deadline))
				client.h2[key] = e
				conn = nil
			end
			if first then
				connected(client, key)
			end
			if not conn and not e then
				return nil, err
			end
			if conn then
				break
			end
			fresh = true
		end
	end
	local ok, err = c_writerequest(conn[1], method, u.target, header, u.authority, nil, chunked or false)
	if ok == nil then
		conn:close()
		check.argerror(3, "request", err)
	end
	if not ok then
		conn:close()
		return nil, err
	end
	local st = {
		client = client,
		key = key,
		conn = conn,
		method = method,
		mode = mode,
		sent = 0,
		ended = mode == "none",
		deadline = deadline,
		gzip = gzip,
		maxheadersize = option(client, opts, "maxheadersize"),
		maxidle = option(client, opts, "maxidleperhost"),
		idletimeout = idletimeout,
		keepalive = false,
		broken = false,
		closed = false,
		reused = reused,
		body = { conn = conn, left = 0, done = false, received = 0, maxbody = maxbody },
	}
	return setmetatable({ [STATE] = st }, cstream_mt)
end

-- The next URL of a redirect, relative to the current one.
local function resolve(base, location)
	if match(location, "^%a[%w+.-]*://") then
		return location
	end
	local u = url.parse(base)
	local origin = u.scheme .. "://" .. u.authority
	if location:sub(1, 2) == "//" then
		return u.scheme .. ":" .. location
	end
	if location:sub(1, 1) == "/" then
		return origin .. location
	end
	local dir = match(u.target, "^([^?]*/)") or "/"
	return origin .. dir .. location
end

-- One whole exchange: request, body, response, following redirects when asked.
local function exchange(client, method, target, header, data, opts)
	local hops = option(client, opts, "redirects")
	while true do
		local h = header
		if data then
			h = {}
			for k, v in pairs(header or {}) do
				h[k] = v
			end
			h["content-length"] = #data
		end
		local s, err = request(client, method, target, h, opts)
		if not s then
			return nil, err
		end
		local ok, werr = s:closewrite(data)
		if ok then
			ok, werr = s:waitresponse()
		end
		if not ok and s[STATE] and s[STATE].reused and RETRY[method] and not data and STALE[werr] then
			-- The pooled connection was closed by the server before this request reached it
			-- (the close not yet seen here): once more, on a fresh connection.
			s:close()
			s, err = request(client, method, target, h, opts, true)
			if not s then
				return nil, err
			end
			ok, werr = s:closewrite()
			if ok then
				ok, werr = s:waitresponse()
			end
		end
		if not ok then
			s:close()
			return nil, werr
		end
		local location = s.header.location
		if hops > 0 and REDIRECT[s.status] and type(location) == "string" then
			s:readall()
			s:close()
			hops = hops - 1
			target = resolve(target, location)
			if s.status == 303 or ((s.status == 301 or s.status == 302) and method == "POST") then
				method, data = method == "HEAD" and "HEAD" or "GET", nil
			end
		else
			local b, rerr = s:readall()
			s:close()
			if not b then
				return nil, rerr
			end
			return { status = s.status, header = s.header, body = b, version = s.version }
		end
	end
end

local client = {}
local client_mt = { __index = client, __name = "silly.net.http.client" }

---`GET url`: the whole response `{status, header, body, version}`.
---@param target string
---@param header table?
---@param opts silly.net.http.clientopts?
---@return {status: integer, header: table, body: string, version: string}? response
---@return string? err
function client:get(target, header, opts)
	check_alpn(opts, 3, "get")
	return exchange(self, "GET", target, header, nil, opts)
end

---`POST url` with `body` (content-length set from it).
---@param target string
---@param header table?
---@param data string?
---@param opts silly.net.http.clientopts?
---@return {status: integer, header: table, body: string, version: string}? response
---@return string? err
function client:post(target, header, data, opts)
	check_alpn(opts, 4, "post")
	return exchange(self, "POST", target, header, data or "", opts)
end

---Starts a request and returns its stream (see `silly.net.http.clientstream`).
---@return silly.net.http.clientstream? stream
---@return string? err
function client:request(method, target, header, opts)
	check_alpn(opts, 4, "request")
	return request(self, method, target, header, opts)
end

---Closes the client's idle pooled connections, and its HTTP/2 connections once their
---requests in progress are done.
function client:close()
	for key, e in pairs(self.h2) do
		h2client.close(e)
		self.h2[key] = nil
	end
	for key, list in pairs(self.idle) do
		for i = 1, #list do
			list[i].conn:close()
		end
		self.idle[key] = nil
	end
end

---A client with its own pool and default options.
---@param opts silly.net.http.clientopts?
---@return table client
function M.new(opts)
	check_alpn(opts, 1, "newclient")
	opts = opts or {}
	local offer = level_offer(opts)
	if offer then
		-- Taken now: a later change to the caller's table does not reach the pool keys.
		offer = { table.unpack(offer) }
	end
	return setmetatable({ opts = opts, offer = offer, idle = {}, h2 = {}, connecting = {}, h1 = {} }, client_mt)
end

return M
