-- silly.net.tcp: TCP listeners and connections (contract: net.md §3, DECISIONS.md N1–N3, N6, N7).
--
-- The I/O lives in native streams (src/native/net/stream.rs): reads suspend only the calling
-- task, writes never suspend (they queue), close flushes in the background.
local c = require "silly.net.tcp.c"
local conn_c = require "silly.net.conn.c"
local addr = require "silly.net.addr"
local addr_c = require "silly.net.addr.c"
local errno = require "silly.errno"
local logger = require "silly.logger"
local check = require "silly.internal.check"
local traceback = require "silly.internal.traceback"
local task_c = require "silly.task.c"
local time_c = require "silly.time.c"

local MARKER = task_c.marker
local yield = coroutine.yield
local type = type
local error = error
local xpcall = xpcall
local setmetatable = setmetatable
local tostring = tostring
local concat = table.concat
local mathtype = math.type
local tointeger = math.tointeger
local parse = addr.parse
local iptype = addr_c.iptype
local portnum = addr_c.port
local c_read = conn_c.read
local c_write = conn_c.write
local c_close = conn_c.close
local c_flush = conn_c.flush
local monotonic = time_c.monotonic
local max = math.max

local M = {}

-- The native handle of a connection or listener, under a key no user code can name.
-- Kept in the array part (slot 1 the handle, slot 2 the reading flag): the cheapest lookups
-- on the per-read path.
local UD = 1
-- Set while a task is blocked in read on that connection.
local READING = 2

---Resolves "host:port" to a numeric IP text and a port number. Host names go through
---silly.net.dns when that module is present (N1); `localhost` always works.
---@return string? ip ("" for the wildcard when `listening`)
---@return integer|string port or the error value
local function resolve(s, listening, timeout)
	local host, port = parse(s)
	-- A missing host is INVAL for connect before the port is looked at: "::1:80" parses as
	-- host nil, port ":1:80" (net.md §1).
	if not port or (not host and not listening) then
		return nil, errno.INVAL
	end
	local p = portnum(port)
	if not p then
		return nil, errno.RESOLVE
	end
	if not host then
		return "", p
	end
	if iptype(host) ~= 0 then
		return host, p
	end
	if host == "localhost" then
		return "127.0.0.1", p
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
M._resolve = resolve

local conn = {}
local conn_mt = { __index = conn, __name = "silly.net.tcp.conn" }

local function newconn(ud, remoteaddr)
	return setmetatable({ ud, false, fd = conn_c.fd(ud), remoteaddr = remoteaddr }, conn_mt)
end

---Reads exactly `n` bytes, or up to and including the delimiter `delim` (any length).
---@param req integer|string
---@param timeout integer? milliseconds
---@return string? data
---@return string? err an errno value: EOF, CLOSED, TIMEDOUT, CONNRESET ...
function conn:read(req, timeout)
	local t = type(req)
	if t == "number" then
		if mathtype(req) ~= "integer" then
			req = tointeger(req) or (req // 1)
		end
	elseif t == "string" then
		if req == "" then
			error("bad argument #1 to 'read' (delimiter must not be empty)", 2)
		end
	else
		error("bad argument #1 to 'read' (integer or delimiter string expected, got " .. t .. ")", 2)
	end
	if timeout ~= nil then
		timeout = check.ms(timeout, 2, "read")
	end
	if self[READING] then
		error("read: another task is already reading from this connection", 2)
	end
	local ud = self[UD]
	if not self.fd then
		return nil, errno.CLOSED
	end
	local data, err = c_read(ud, req, timeout)
	if data == MARKER then
		self[READING] = true
		data, err = yield(MARKER)
		self[READING] = false
	end
	return data, err
end

---Reads up to and including `delim` (default "\n").
---@param delim string?
---@param timeout integer?
---@return string? line
---@return string? err
function conn:readline(delim, timeout)
	if delim == nil then
		delim = "\n"
	end
	if timeout == nil and type(delim) == "string" and delim ~= "" and not self[READING] and self.fd then
		-- The common case, without the argument checks of `read`.
		local data, err = c_read(self[UD], delim)
		if data == MARKER then
			self[READING] = true
			data, err = yield(MARKER)
			self[READING] = false
		end
		return data, err
	end
	return conn.read(self, delim, timeout)
end

---Queues data for sending; never suspends. A table is an array of strings and numbers.
---@param data string|table
---@return boolean ok
---@return string? err CLOSED once the connection is closed or dead
function conn:write(data)
	local t = type(data)
	if t == "table" then
		local parts, i = {}, 1
		while data[i] ~= nil do
			local v = data[i]
			if type(v) ~= "string" and type(v) ~= "number" then
				error("bad argument #1 to 'write' (array item " .. i .. " is a " .. type(v) .. ")", 2)
			end
			parts[i] = v
			i = i + 1
		end
		data = concat(parts)
	elseif t ~= "string" then
		error("bad argument #1 to 'write' (string or table expected, got " .. t .. ")", 2)
	end
	return c_write(self[UD], data)
end

---Closes the connection: a blocked reader gets CLOSED, queued output is still sent (bounded).
---@return boolean ok
---@return string? err CLOSED on a second call
function conn:close()
	local ud = self[UD]
	if not ud or not c_close(ud) then
		return false, errno.CLOSED
	end
	self.fd = nil
	return true
end

---Waits until every queued byte was handed to the kernel (N7).
---@param timeout integer? milliseconds
---@return boolean ok
---@return string? err TIMEDOUT, CLOSED ...
function conn:flush(timeout)
	if timeout ~= nil then
		timeout = check.ms(timeout, 1, "flush")
	end
	local ok, err = c_flush(self[UD], timeout)
	if ok == MARKER then
		ok, err = yield(MARKER)
	end
	return ok, err
end

---Pauses receiving while `n` or more bytes are buffered; nil removes the limit.
---@param n integer?
function conn:limit(n)
	if n ~= nil then
		n = check.ms(n, 1, "limit")
	end
	conn_c.limit(self[UD], n)
end

---@return integer bytes received and not yet read
function conn:unreadbytes()
	return conn_c.unreadbytes(self[UD])
end

---@return integer bytes written and not yet handed to the kernel
function conn:unsentbytes()
	if not self.fd then
		return 0
	end
	return conn_c.unsentbytes(self[UD])
end

---@return boolean alive open, with no error and no end of stream seen
function conn:isalive()
	return self.fd ~= nil and conn_c.isalive(self[UD])
end

conn_mt.__gc = conn.close
conn_mt.__close = conn.close
conn_mt.__tostring = function(self)
	return "tcp.conn(" .. tostring(self.remoteaddr) .. ")"
end

local listener = {}
local listener_mt = { __index = listener, __name = "silly.net.tcp.listener" }
-- Open listeners, held until `close`: a listener the script dropped keeps serving (net.md §3.1,
-- no finalizer), instead of being collected with its accept loop.
local listening = {}

---Stops accepting; accepted connections are left alone.
---@return boolean ok
---@return string? err CLOSED on a second call
function listener:close()
	local ok, err = c.lclose(self[UD])
	self.fd = nil
	listening[self] = nil
	return ok, err
end

---The address the listener is bound to, with the port the OS chose for port 0 (beyond the
---reference, which cannot tell it).
---@return string
function listener:localaddr()
	return c.laddr(self[UD])
end

---Listens for connections; `accept(conn)` runs in a new task for each.
---@param conf {addr: string, accept: fun(conn: table), backlog: integer?}
---@return table? listener
---@return string? err INVAL, RESOLVE, ADDRINUSE, ACCES ...
function M.listen(conf)
	check.type(conf, "table", 1, "listen")
	local a, accept, backlog = conf.addr, conf.accept, conf.backlog
	if type(a) ~= "string" then
		error("bad argument #1 to 'listen' (conf.addr: string expected, got " .. type(a) .. ")", 2)
	end
	if type(accept) ~= "function" then
		error("bad argument #1 to 'listen' (conf.accept: function expected, got " .. type(accept) .. ")", 2)
	end
	if backlog == nil then
		backlog = 256
	elseif mathtype(backlog) ~= "integer" or backlog < 1 then
		error("bad argument #1 to 'listen' (conf.backlog: positive integer expected)", 2)
	end
	local ip, port = resolve(a, true)
	if not ip then
		return nil, port
	end
	local ud, err = c.listen(ip, port, backlog, function(cud)
		local cn = newconn(cud, conn_c.remoteaddr(cud))
		local ok, e = xpcall(accept, traceback, cn)
		if not ok then
			logger.error("[tcp] accept handler failed: " .. e)
			cn:close()
		end
	end)
	if not ud then
		return nil, err
	end
	local l = setmetatable({ ud, fd = c.lfd(ud) }, listener_mt)
	listening[l] = true
	return l
end

---Connects to "host:port" (IP literal, localhost, or a name resolved through silly.net.dns).
---@param address string
---@param opts {bind: string?, timeout: integer?}?
---@return table? conn
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
		-- The name lookup counts against the timeout (N1).
		timeout = max(0, timeout - (monotonic() - start))
	end
	local bip, bport
	if bind ~= nil then
		if type(bind) ~= "string" then
			error("bad argument #2 to 'connect' (opts.bind: string expected)", 2)
		end
		local h, p = parse(bind)
		if not h or not p or iptype(h) == 0 then
			return nil, errno.INVAL
		end
		bip, bport = h, portnum(p)
		if not bport then
			return nil, errno.INVAL
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
