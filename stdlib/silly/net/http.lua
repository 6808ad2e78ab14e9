-- silly.net.http: HTTP/1.1 servers and clients over TCP and TLS (docs/http.md).
--
-- The protocol work (parsing heads, building response heads) is native
-- (src/native/net/http); the request loop and the stream API are silly.net.http.server.
local tcp = require "silly.net.tcp"
local tls = require "silly.net.tls"
local check = require "silly.internal.check"
local server = require "silly.net.http.server"
local h2 = require "silly.net.http.h2"
local client = require "silly.net.http.client"
local c = require "silly.net.http.c"
local task = require "silly.task"
local time = require "silly.time"
local errno = require "silly.errno"

local type = type
local pairs = pairs
local next = next
local setmetatable = setmetatable
local running = task.running
local wait = task.wait
local wakeup = task.wakeup
local after = time.after
local cancel = time.cancel
local TIMEDOUT <const> = errno.TIMEDOUT
local mathtype = math.type
local argerror = check.argerror
local serve = server.serve

local M = {}

-- Ends a connection's membership of `srv.live` (a to-be-closed value of its `accept` task),
-- and wakes the `shutdown` callers when it was the last one.
local LIVE_MT <const> = {
	__close = function(entry)
		local srv, conn = entry[1], entry[2]
		srv.live[conn] = nil
		if next(srv.live) == nil then
			local waiters = srv.waiters
			srv.waiters = {}
			for i = 1, #waiters do
				waiters[i](true)
			end
		end
	end,
}

-- Waits until no connection of the closed server `srv` is served, at most `timeout` ms
-- (nil: no limit); past it, closes the connections left.
local function drain(srv, timeout)
	if next(srv.live) == nil then
		return true
	end
	local me = running()
	local woken = false
	local timer
	local function wake(drained)
		if not woken then
			woken = true
			if timer then
				cancel(timer)
			end
			wakeup(me, drained)
		end
	end
	local waiters = srv.waiters
	waiters[#waiters + 1] = wake
	if timeout then
		timer = after(timeout, function()
			timer = nil
			wake(false)
		end)
	end
	if wait() then
		return true
	end
	-- The handlers still running find their connection gone: `finish` tells that apart from
	-- a handler that forgot to respond.
	srv.cut = true
	for conn in pairs(srv.live) do
		conn:close()
	end
	return false, TIMEDOUT
end

-- The listen options this module owns, with their defaults (sizes in bytes, timeouts in
-- milliseconds); every other option goes to tcp.listen / tls.listen.
local LIMITS <const> = {
	maxheadersize = 16 * 1024,
	maxheaders = 100,
	maxbodysize = 8 * 1024 * 1024,
	headertimeout = 30000,
	idletimeout = 60000,
	bodytimeout = 60000,
}
local OWN <const> = { handler = true, tls = true, h2c = true }

---Listens for HTTP/1.1 requests, and with `tls = true` HTTP/2 ones too (ALPN "h2");
---`handler(stream)` runs for each request, one request at a time per HTTP/1.1 connection,
---each HTTP/2 stream in its own task. With `tls = true` every `tls.listen` option applies too.
---@param conf {addr: string, handler: fun(s: silly.net.http.stream), tls: boolean?, h2c: boolean?, backlog: integer?, maxheadersize: integer?, maxheaders: integer?, maxbodysize: integer?, headertimeout: integer?, idletimeout: integer?, bodytimeout: integer?}
---@return table? listener the tcp or tls listener (close, shutdown, localaddr; reload with tls)
---@return string? err
function M.listen(conf)
	check.type(conf, "table", 1, "listen")
	if type(conf.handler) ~= "function" then
		argerror(1, "listen", "conf.handler: function expected, got " .. type(conf.handler))
	end
	if conf.h2c ~= nil and type(conf.h2c) ~= "boolean" then
		argerror(1, "listen", "conf.h2c: boolean expected, got " .. type(conf.h2c))
	end
	local opts = { handler = conf.handler, h2c = conf.h2c ~= false }
	for k, default in pairs(LIMITS) do
		local v = conf[k]
		if v == nil then
			v = default
		elseif mathtype(v) ~= "integer" or v < 1 then
			argerror(1, "listen", "conf." .. k .. ": positive integer expected")
		end
		opts[k] = v
	end
	if opts.maxheaders > c.maxfields then
		argerror(1, "listen", "conf.maxheaders: at most " .. c.maxfields)
	end
	local lconf = {}
	for k, v in pairs(conf) do
		if not OWN[k] and LIMITS[k] == nil then
			lconf[k] = v
		end
	end
	local scheme = conf.tls and "https" or "http"
	-- Connections waiting for a request, closed with the listener (nothing is cut: a request
	-- in progress is answered first). A plain table: `serve` removes each entry as soon as
	-- its wait ends (a weak one would cost the collector on every request). `live` holds
	-- every connection being served, for `shutdown`, whose waiting tasks are in `waiters`.
	local srv = { closed = false, cut = false, idle = {}, live = {}, waiters = {} }
	lconf.accept = function(conn)
		-- A TLS peer that chose "h2" gets the HTTP/2 server; it is tracked by its h2 object.
		local h2conn
		if conn.alpnproto and conn:alpnproto() == "h2" then
			h2conn = h2.start(conn, opts, scheme, srv)
			if not h2conn then
				return
			end
			conn = h2conn
		end
		-- Closed however `serve` ends, an error included.
		local live <close> = setmetatable({ srv, conn }, LIVE_MT)
		srv.live[conn] = true
		if h2conn then
			h2.serve(h2conn, srv)
		elseif serve(conn, opts, scheme, srv) == "h2c" then
			-- HTTP/2 by prior knowledge: the h2 connection takes the tcp one's place.
			h2conn = h2.start(conn, opts, scheme, srv, c.h2prefacehead)
			if h2conn then
				srv.live[conn] = nil
				srv.live[h2conn] = true
				live[2] = h2conn
				h2.serve(h2conn, srv)
			end
		end
	end
	local l, err
	if conf.tls then
		if lconf.alpnprotos == nil and lconf.alpn == nil then
			lconf.alpnprotos = { "h2", "http/1.1" }
		end
		l, err = tls.listen(lconf)
	else
		l, err = tcp.listen(lconf)
	end
	if not l then
		return nil, err
	end
	local close = l.close
	l.close = function(self)
		srv.closed = true
		for conn in pairs(srv.idle) do
			conn:close()
		end
		return close(self)
	end
	---Stops accepting and closes the idle connections (as `close`), lets the requests being
	---handled finish, and returns when every connection has ended; past `timeout` ms it closes
	---the connections left and returns `false, errno.TIMEDOUT`. Suspends the calling task.
	---@param timeout integer? milliseconds (nil: no limit)
	---@return boolean drained
	---@return string? err
	l.shutdown = function(self, timeout)
		if timeout ~= nil then
			timeout = check.ms(timeout, 1, "shutdown")
		end
		if not srv.closed then
			l.close(self)
		end
		return drain(srv, timeout)
	end
	return l
end

-- The client of the module-level functions, with the default options.
local default = client.new()

---A client with its own connection pool; `opts` are the defaults of its calls (`timeout`,
---`connecttimeout`, `maxidleperhost`, `idletimeout`, `maxbodysize`, `redirects`, `gzip`,
---`h2`, `alpnprotos`, and every `tls.connect` option).
---@param opts silly.net.http.clientopts?
---@return table client with `get`, `post` and `request`
function M.newclient(opts)
	if opts ~= nil then
		check.type(opts, "table", 1, "newclient")
	end
	return client.new(opts)
end

---`GET url` on the default client: `{status, header, body, version}` | nil, err.
---@param url string
---@param header table?
---@param opts silly.net.http.clientopts?
function M.get(url, header, opts)
	check.type(url, "string", 1, "get")
	return default:get(url, header, opts)
end

---`POST url` with `body` on the default client.
---@param url string
---@param header table?
---@param body string?
---@param opts silly.net.http.clientopts?
function M.post(url, header, body, opts)
	check.type(url, "string", 1, "post")
	return default:post(url, header, body, opts)
end

---Starts a request on the default client; returns its stream (write, closewrite,
---waitresponse, read, readall, close).
---@param method string
---@param url string
---@param header table?
---@param opts silly.net.http.clientopts?
function M.request(method, url, header, opts)
	return default:request(method, url, header, opts)
end

return M
