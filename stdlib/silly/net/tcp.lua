-- silly.net.tcp: TCP listeners and connections (contract: docs/tcp.md, docs/addr.md#host-names, docs/connections.md).
--
-- The I/O lives in native streams (src/native/net/stream.rs): reads suspend only the calling
-- task, writes never suspend (they queue), close flushes in the background.
local c = require "silly.net.tcp.c"
local check = require "silly.internal.check"
local stream = require "silly.net.internal.stream"
local resolver = require "silly.net.internal.resolve"
local task_c = require "silly.task.c"
local time_c = require "silly.time.c"

local MARKER = task_c.marker
local yield = coroutine.yield
local type = type
local mathtype = math.type
local argerror = check.argerror
local resolve = resolver.resolve
local bindaddr = resolver.bindaddr
local monotonic = time_c.monotonic
local max = math.max

local BACKLOG <const> = 256

local M = {}

-- Kept for tests and tools that resolved through silly.net.tcp (silly.net.internal.resolve).
M._resolve = resolve

---A TCP connection: read, readline, write, close, flush, limit, unreadbytes, unsentbytes,
---isalive (silly.net.internal.stream).
---@class silly.net.tcp.conn: silly.net.internal.stream.conn
local conn = {}
local conn_mt = { __index = conn, __name = "silly.net.tcp.conn" }

local newconn, onaccept = stream.conn(conn_mt, {
	name = "tcp",
	busy = "read: another task is already reading from this connection",
})

---A TCP listener: close, localaddr (silly.net.internal.stream).
---@class silly.net.tcp.listener: silly.net.internal.stream.listener
local listener = {}
local listener_mt = { __index = listener, __name = "silly.net.tcp.listener" }
local newlistener = stream.listener(listener_mt, c)

---Listens for connections; `accept(conn)` runs in a new task for each.
---`reuseport = true` lets several processes listen on one port (SO_REUSEPORT): the kernel
---spreads the connections among them, the way to use every core.
---@param conf {addr: string, accept: fun(conn: silly.net.tcp.conn), backlog: integer?, reuseport: boolean?}
---@return silly.net.tcp.listener? listener
---@return string? err INVAL, RESOLVE, ADDRINUSE, ACCES ...
function M.listen(conf)
	check.type(conf, "table", 1, "listen")
	local a, accept, backlog = conf.addr, conf.accept, conf.backlog
	if type(a) ~= "string" then
		argerror(1, "listen", "conf.addr: string expected, got " .. type(a))
	end
	if type(accept) ~= "function" then
		argerror(1, "listen", "conf.accept: function expected, got " .. type(accept))
	end
	if backlog == nil then
		backlog = BACKLOG
	elseif mathtype(backlog) ~= "integer" or backlog < 1 then
		argerror(1, "listen", "conf.backlog: positive integer expected")
	end
	local ip, port = resolve(a, true)
	if not ip then
		return nil, port
	end
	local reuseport = conf.reuseport
	if reuseport ~= nil and type(reuseport) ~= "boolean" then
		argerror(1, "listen", "conf.reuseport: boolean expected, got " .. type(reuseport))
	end
	local ud, err = c.listen(ip, port, backlog, onaccept(accept), reuseport)
	if not ud then
		return nil, err
	end
	return newlistener(ud)
end

---Connects to "host:port" (IP literal, localhost, or a name resolved through silly.net.dns).
---@param address string
---@param opts {bind: string?, timeout: integer?}?
---@return silly.net.tcp.conn? conn
---@return string? err CONNREFUSED, TIMEDOUT, INVAL, RESOLVE ...
function M.connect(address, opts)
	check.type(address, "string", 1, "connect")
	local bind, timeout
	if opts ~= nil then
		check.type(opts, "table", 2, "connect")
		bind, timeout = opts.bind, opts.timeout
		if timeout ~= nil then
			timeout = check.ms(timeout, 2, "connect")
		end
	end
	local start = monotonic()
	local ip, port = resolve(address, false, timeout)
	if not ip then
		return nil, port
	end
	if timeout then
		-- The name lookup counts against the timeout (docs/addr.md#host-names).
		timeout = max(0, timeout - (monotonic() - start))
	end
	local bip, bport
	if bind ~= nil then
		if type(bind) ~= "string" then
			argerror(2, "connect", "opts.bind: string expected")
		end
		bip, bport = bindaddr(bind)
		if not bip then
			return nil, bport
		end
	end
	local r, err = c.connect(ip, port, bip, bport, timeout)
	if r == MARKER then
		r, err = yield(MARKER)
	end
	if not r then
		return nil, err
	end
	return newconn(r, address)
end

-- Compatibility: module functions taking the connection (or listener) first.

---Same as `x:close()`.
---@param x silly.net.tcp.conn|silly.net.tcp.listener
---@return boolean ok
---@return string? err
function M.close(x)
	return x:close()
end
M.read = conn.read
M.readline = conn.readline
M.write = conn.write
M.limit = conn.limit
M.isalive = conn.isalive
M.recvsize = conn.unreadbytes
M.sendsize = conn.unsentbytes
M.unreadbytes = conn.unreadbytes
M.unsentbytes = conn.unsentbytes
M.flush = conn.flush

return M
