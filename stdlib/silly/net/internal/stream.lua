-- silly.net.internal.stream: what silly.net.tcp and silly.net.tls share: the connection methods
-- (read, readline, write, close, flush, limit, unreadbytes, unsentbytes, isalive) over the
-- native streams of silly.net.conn.c (src/native/net/conn.rs), the connection constructor and
-- accept wrapper, and the listener methods and constructor.
--
-- The methods are built once per module as closures over the options, so calling one costs
-- what a hand-written method costs: `read` and `readline` share one tail call (`do_read`),
-- `write` none.
local conn_c = require "silly.net.conn.c"
local errno = require "silly.errno"
local logger = require "silly.logger"
local check = require "silly.internal.check"
local traceback = require "silly.internal.traceback"
local task_c = require "silly.task.c"

local MARKER = task_c.marker
local yield = coroutine.yield
local type = type
local error = error
local tostring = tostring
local xpcall = xpcall
local setmetatable = setmetatable
local concat = table.concat
local mathtype = math.type
local tointeger = math.tointeger
local argerror = check.argerror
local check_ms = check.ms
local c_read = conn_c.read
local c_write = conn_c.write
local c_fastread = conn_c.fastread
local c_fastwrite = conn_c.fastwrite
local c_close = conn_c.close
local c_flush = conn_c.flush
local c_limit = conn_c.limit
local c_unreadbytes = conn_c.unreadbytes
local c_unsentbytes = conn_c.unsentbytes
local c_isalive = conn_c.isalive
local c_id = conn_c.id
local c_fd = conn_c.fd
local c_remoteaddr = conn_c.remoteaddr
local CLOSED = errno.CLOSED
local TLS = errno.TLS

-- The array slots of a connection (see silly.net.internal.stream.conn); a listener's handle
-- is in UD too. The raw fast paths take ID: `fastread` answers a read the buffer already
-- satisfies, `fastwrite` a write; both return nothing when the normal path must decide.
local UD <const> = 1
local READING <const> = 2
local ID <const> = 3
-- `readline`'s default delimiter.
local LINE <const> = "\n"

---A connection object. Its state sits in array slots, the cheapest lookups on the per-read
---path; silly.net.tcp.conn and silly.net.tls.conn are this with their own metatables.
---@class silly.net.internal.stream.conn
---@field [1] userdata UD: the native stream (silly.net.conn.c)
---@field [2] boolean READING: a task is blocked in `read` on it, so a second reader raises
---@field [3] integer ID: the stream's id for the raw fast paths (`fastread`, `fastwrite`)
---@field fd integer? the socket's descriptor; nil once `close` was called
---@field remoteaddr string the address given to `connect`, or the peer's for an accepted one

---A listener object.
---@class silly.net.internal.stream.listener
---@field [1] userdata UD: the native listener (the `c` given to `M.listener`)
---@field fd integer? the listening socket's descriptor; nil once `close` was called

local M = {}

---Fills the connection metatable `mt` (its `__index` table gets the methods; `__gc`,
---`__close` and `__tostring` are set). Returns the constructor of connections and the
---wrapper that turns a listener's `accept(conn)` into the callback its native listener takes.
---@param mt table
---@param o {name: string, busy: string, strict: boolean?, reason: (fun(self: table): string?)?, info: table?}
--- - name: "tcp" or "tls", for `tostring(conn)` and the log of a failed `accept`;
--- - busy: the message raised when a second task reads while one is blocked in `read`;
--- - strict (TLS): a byte count must be a non-negative integer (otherwise it is truncated),
---   `limit` takes a positive integer (otherwise a millisecond-style count), numbers are
---   written as text, and `readline(false)` means the default delimiter;
--- - reason (TLS, docs/tls.md#tls-failures): the reason of the connection's fatal TLS failure, if any. With it, a
---   failed read whose error is TLS returns the reason third, a write on a connection killed
---   by TLS fails with TLS and the reason, and a successful read or write returns one value;
--- - info (TLS): the private key a connection keeps its handshake facts under. Its native
---   listener hands over `{ud, info}`, as a task starts with one argument.
---@return fun(ud: userdata, remoteaddr: string, info: table?): silly.net.internal.stream.conn newconn
---@return fun(accept: fun(conn: silly.net.internal.stream.conn)): fun(accepted: userdata|table) onaccept
function M.conn(mt, o)
	---@type silly.net.internal.stream.conn
	local conn = mt.__index
	local name, busy, strict, reason, info = o.name, o.busy, o.strict, o.reason, o.info

	-- The read itself, arguments checked: from the buffer through the raw fast path when it
	-- holds the answer, else through the native read, suspending while it waits.
	local function do_read(self, req, timeout)
		local data = c_fastread(self[ID], req)
		if data then
			if reason then
				return data
			end
			return data, nil
		end
		local err
		data, err = c_read(self[UD], req, timeout)
		if data == MARKER then
			self[READING] = true
			data, err = yield(MARKER)
			self[READING] = false
		end
		if reason then
			if not data then
				return nil, err, err == TLS and reason(self) or nil
			end
			return data
		end
		return data, err
	end

	-- The checked arguments of `read`/`readline` (`fname`); raises at the user's call.
	local function read_args(self, req, timeout, fname)
		local t = type(req)
		if t == "number" then
			if strict then
				local i = tointeger(req)
				if not i or i < 0 then
					argerror(1, fname, "non-negative integer expected", 4)
				end
				req = i
			elseif mathtype(req) ~= "integer" then
				-- Floored, as the reference does; NaN and infinities have no floor.
				req = tointeger(req) or tointeger(req // 1)
				if not req then
					argerror(1, fname, "number has no integer representation", 4)
				end
			end
		elseif t == "string" then
			if req == "" then
				argerror(1, fname, "delimiter must not be empty", 4)
			end
		else
			argerror(1, fname, "integer or delimiter string expected, got " .. t, 4)
		end
		if timeout ~= nil then
			timeout = check_ms(timeout, 2, fname, 4)
		end
		if self[READING] then
			error(busy, 3)
		end
		return req, timeout
	end

	---Reads exactly `n` bytes, or up to and including the delimiter `delim` (any length).
	---@param req integer|string
	---@param timeout integer? milliseconds
	---@return string? data
	---@return string? err an errno value: EOF, CLOSED, TIMEDOUT, CONNRESET, TLS ...
	---@return string? reason for errno.TLS: what went wrong
	function conn:read(req, timeout)
		req, timeout = read_args(self, req, timeout, "read")
		if not self.fd then
			return nil, CLOSED
		end
		return do_read(self, req, timeout)
	end

	---Reads up to and including `delim` (default "\n"); a number is a byte count, as in `read`.
	---@param delim string|integer?
	---@param timeout integer?
	---@return string? line
	---@return string? err
	---@return string? reason
	function conn:readline(delim, timeout)
		if delim == nil or (strict and delim == false) then
			delim = LINE
		end
		if timeout == nil and type(delim) == "string" and delim ~= "" and not self[READING] and self.fd then
			-- The common case, without the argument checks of `read`.
			return do_read(self, delim)
		end
		delim, timeout = read_args(self, delim, timeout, "readline")
		if not self.fd then
			return nil, CLOSED
		end
		return do_read(self, delim, timeout)
	end

	---Queues data for sending (encrypted first for TLS); never suspends. What a task writes goes
	---out when it next suspends or ends, in one send. A table is an array of strings and numbers.
	---@param data string|table
	---@return boolean ok
	---@return string? err CLOSED once the connection is closed or dead, TLS after a fatal TLS error
	---@return string? reason
	function conn:write(data)
		local t = type(data)
		if t == "string" and c_fastwrite(self[ID], data) then
			if reason then
				return true
			end
			return true, nil
		end
		if t == "table" then
			local parts, i = {}, 1
			while data[i] ~= nil do
				local v = data[i]
				if type(v) ~= "string" and type(v) ~= "number" then
					argerror(1, "write", "array item " .. i .. " is a " .. type(v))
				end
				parts[i] = v
				i = i + 1
			end
			data = concat(parts)
		elseif t == "number" and strict then
			data = tostring(data)
		elseif t ~= "string" then
			argerror(1, "write", "string or table expected, got " .. t)
		end
		if not reason then
			return c_write(self[UD], data)
		end
		if not self.fd then
			return false, CLOSED
		end
		local ok, err = c_write(self[UD], data)
		if ok then
			return true
		end
		-- A connection killed by a TLS failure says so, not just "closed" (docs/connections.md#write).
		local why = reason(self)
		if why then
			return false, TLS, why
		end
		return false, err
	end

	---Closes the connection: a blocked reader gets CLOSED, queued output is still sent (bounded;
	---TLS then sends close_notify, docs/tls.md#end-of-stream).
	---@return boolean ok
	---@return string? err CLOSED on a second call
	function conn:close()
		local ud = self[UD]
		if not ud or not c_close(ud) then
			return false, CLOSED
		end
		self.fd = nil
		return true
	end

	---Waits until every queued byte was handed to the kernel (docs/connections.md#flush).
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

	---Pauses receiving while `n` or more bytes are buffered; nil removes the limit (docs/connections.md#limit: a read
	---that needs more still gets it, no deadlock).
	---@param n integer?
	function conn:limit(n)
		if n ~= nil then
			if not strict then
				n = check.ms(n, 1, "limit")
			elseif mathtype(n) ~= "integer" or n < 1 then
				argerror(1, "limit", "positive integer or nil expected")
			end
		end
		c_limit(self[UD], n)
	end

	---@return integer bytes received (decrypted, for TLS) and not yet read
	function conn:unreadbytes()
		return c_unreadbytes(self[UD])
	end

	---@return integer bytes written and not yet handed to the kernel (the TLS layer, for TLS)
	function conn:unsentbytes()
		if not self.fd then
			return 0
		end
		return c_unsentbytes(self[UD])
	end

	---@return boolean alive open, with no error, no end of stream (and no fatal TLS error) seen
	function conn:isalive()
		return self.fd ~= nil and c_isalive(self[UD])
	end

	mt.__gc = conn.close
	mt.__close = conn.close
	local prefix = name .. ".conn("
	mt.__tostring = function(self)
		return prefix .. tostring(self.remoteaddr) .. ")"
	end

	local newconn
	if info then
		newconn = function(ud, remoteaddr, facts)
			return setmetatable({ ud, false, c_id(ud), [info] = facts, fd = c_fd(ud), remoteaddr = remoteaddr }, mt)
		end
	else
		newconn = function(ud, remoteaddr)
			return setmetatable({ ud, false, c_id(ud), fd = c_fd(ud), remoteaddr = remoteaddr }, mt)
		end
	end

	local failed = "[" .. name .. "] accept handler failed: "
	-- The connection object is made inside the protected call too: under a memory limit
	-- (docs/cli.md#memory-limit) making it can fail, and the socket must not stay open with no
	-- task to serve it.
	local function serve(accept, ud, facts)
		return accept(newconn(ud, c_remoteaddr(ud), facts))
	end
	local function onaccept(accept)
		return function(accepted)
			local ud, facts = accepted, nil
			if info then
				ud, facts = accepted[1], accepted[2]
			end
			-- A failing handler loses its own connection, never the listener.
			local ok, e = xpcall(serve, traceback, accept, ud, facts)
			if not ok then
				c_close(ud)
				logger.error(failed .. tostring(e))
			end
		end
	end

	return newconn, onaccept
end

---Fills the listener metatable `mt` with `close` and `localaddr` over the native module `c`
---(its `lclose`, `laddr` and `lfd`). Returns the constructor of listeners, which keeps an open
---listener referenced until `close`: a listener the script dropped keeps serving (docs/tcp.md#accepting-connections,
---no finalizer), instead of being collected with its accept loop.
---@param mt table
---@param c table
---@return fun(ud: userdata): silly.net.internal.stream.listener newlistener
function M.listener(mt, c)
	---@type silly.net.internal.stream.listener
	local listener = mt.__index
	local listening = {}
	local c_lclose, c_laddr, c_lfd = c.lclose, c.laddr, c.lfd

	---Stops accepting; accepted connections (and TLS handshakes in flight) are left alone.
	---@return boolean ok
	---@return string? err CLOSED on a second call
	function listener:close()
		local ok, err = c_lclose(self[UD])
		self.fd = nil
		listening[self] = nil
		return ok, err
	end

	---The address the listener is bound to, with the port the OS chose for port 0 (beyond the
	---reference, which cannot tell it).
	---@return string
	function listener:localaddr()
		return c_laddr(self[UD])
	end

	return function(ud)
		local l = setmetatable({ ud, fd = c_lfd(ud) }, mt)
		listening[l] = true
		return l
	end
end

return M
