-- silly.net.http.server: the HTTP/1.1 server behind `http.listen` (docs/http.md).
--
-- Each accepted connection runs `serve` in its own task: read a request head (parsed in Rust,
-- src/native/net/http), run the handler with a stream object for it, finish the response,
-- drain what the handler left unread, and go on with the next request while the connection
-- stays keep-alive. Requests already buffered (pipelining) are parsed without waiting.
local c = require "silly.net.http.c"
local field = require "silly.net.http.field"
local check = require "silly.internal.check"
local task_c = require "silly.task.c"
local logger = require "silly.logger"
local errno = require "silly.errno"
local url = require "silly.net.http.url"
local body = require "silly.net.http.body"

local type = type
local tostring = tostring
local tonumber = tonumber
local pairs = pairs
local concat = table.concat
local format = string.format
local lower = string.lower
local find = string.find
local byte = string.byte
local SLASH <const> = 47 -- "/": an origin-form target, the usual one
local sub = string.sub
local match = string.match
local gmatch = string.gmatch
local xpcall = xpcall
local traceback = debug.traceback
local c_readrequest = c.readrequest
local c_respond = c.respond
local c_fastrespond = c.fastrespond
-- Where a connection object keeps its id for the raw natives (silly.net.internal.stream).
local CONN_ID <const> = 3
local TIMEDOUT <const> = errno.TIMEDOUT
local H2C <const> = c.h2c

-- Unread request body drained after the handler before the connection is given up.
local DRAIN_MAX <const> = 64 * 1024

local wait = field.wait
local MARKER <const> = task_c.marker
local yield = coroutine.yield
local has_token = field.has_token

local M = {}

---A request and its response, as the handler sees it.
---@class silly.net.http.stream
---@field method string
---@field path string the target's path, not percent-decoded
---@field query table<string, string|string[]>
---@field header table<string, string|string[]> lower-case names
---@field trailer table<string, string|string[]>? set once the body was read to its end
---@field version string "HTTP/1.0" or "HTTP/1.1"
---@field scheme string "http" or "https"
---@field remoteaddr string
local stream = {}
local stream_mt = { __index = stream, __name = "silly.net.http.stream" }

-- The private state of a stream, in one table kept out of the handler's sight.
local STATE <const> = {}

-- A field's value when it must be single: several differing values are an error.
local function single(v)
	if type(v) ~= "table" then
		return v
	end
	for i = 2, #v do
		if v[i] ~= v[1] then
			return nil
		end
	end
	return v[1]
end

-- The request body's framing: "chunked" or a byte count; or nil and the HTTP status of a
-- request that must be refused (smuggling defences, docs/http.md "Request bodies").
local function framing(h)
	local te, cl = h["transfer-encoding"], h["content-length"]
	if te ~= nil then
		if cl ~= nil then
			return nil, 400
		end
		if type(te) == "table" then
			te = concat(te, ",")
		end
		local codings = {}
		for t in gmatch(te, "[^,]+") do
			codings[#codings + 1] = lower(match(t, "^%s*(.-)%s*$"))
		end
		if codings[#codings] ~= "chunked" then
			return nil, 400
		end
		if #codings > 1 then
			return nil, 501 -- only "chunked" is decoded
		end
		return "chunked"
	end
	if cl == nil then
		return 0
	end
	if type(cl) == "string" and find(cl, ",", 1, true) then
		local list = {}
		for t in gmatch(cl, "[^,]+") do
			list[#list + 1] = match(t, "^%s*(.-)%s*$")
		end
		cl = list
	end
	cl = single(cl)
	if not cl or not match(cl, "^%d+$") or #cl > 15 then
		return nil, 400
	end
	return tonumber(cl)
end

-- Writes a response with no body and ends the connection: for requests refused before the
-- handler.
local function refuse(conn, status)
	c_respond(conn[1], status, nil, 0, false, false, true)
	conn:close()
end

-- Body reading ----------------------------------------------------------------------------

-- Sends "100 Continue" once, if the client asked and nothing was answered yet (the body
-- state's `before` hook).
local function continue(st)
	if st.expect then
		st.expect = false
		if not st.responded then
			st.conn:write("HTTP/1.1 100 Continue\r\n\r\n")
		end
	end
end

---Reads exactly `n` body bytes; at the end of the body, what is left, then `nil, errno.EOF`.
---@param n integer
---@param timeout integer? milliseconds (default: the listener's `bodytimeout`)
---@return string? data
---@return string? err EOF at the end of the body, TIMEDOUT, or why the body is malformed
function stream:read(n, timeout)
	local st = self[STATE]
	local data, err = body.read(st, n, timeout or st.bodytimeout)
	self.trailer = st.trailer
	if not data then
		return nil, err
	end
	return data
end

---Reads the whole body (at most the listener's `maxbodysize`).
---@param timeout integer? milliseconds for each read (default: `bodytimeout`)
---@return string? body
---@return string? err TIMEDOUT, or why the body is malformed or too large
function stream:readall(timeout)
	local st = self[STATE]
	local data, err = body.readall(st, timeout or st.bodytimeout)
	self.trailer = st.trailer
	if not data then
		return nil, err
	end
	return data
end

-- Responses --------------------------------------------------------------------------------

-- Writes the head: the handler's fields plus the framing the server chooses.
local function send_head(st, status, header, length)
	if st.responded then
		check.raise("respond: the response was already started")
	end
	-- Rust chooses the framing from the handler's fields (docs/http.md, "stream:respond").
	local nobody = st.head or status < 200 or status == 204 or status == 304
	-- A server shutting down ends each connection after the response it is making.
	local conn, http10, ending = st.conn, st.minor == 0, st.close or st.srv.closed
	-- The raw native answers the usual case; it declines (nothing) anything to report, which
	-- the full one then reports.
	local mode, close = c_fastrespond(conn[CONN_ID], status, header, length, nobody, http10, ending)
	if mode == nil then
		mode, close = c_respond(conn[1], status, header, length, nobody, http10, ending)
	end
	if mode == nil then
		-- A field that would split the response: a programmer error, raised at the caller.
		check.raise("respond: " .. close)
	end
	if mode == false then
		return false, close
	end
	st.close = close
	if status >= 200 then
		-- Interim (1xx) responses leave the final one to come.
		st.responded = true
		st.mode = mode
		st.sent = 0
	end
	return true
end

---Sends the status line and the header fields. `header` values are strings, numbers or
---arrays of them; a name or value that could split the response raises.
---@param status integer
---@param header table<string, string|number|(string|number)[]>?
---@return boolean ok
---@return string? err
function stream:respond(status, header)
	field.check_respond(status, header)
	return send_head(self[STATE], status, header)
end

-- Sends body bytes under the response's framing.
local function send_body(st, data)
	local mode = st.mode
	local n = #data
	if n == 0 or mode == "none" then
		return true
	end
	local conn = st.conn
	if mode == "chunked" then
		return conn:write({ format("%x\r\n", n), data, "\r\n" })
	end
	if type(mode) == "number" then
		if st.sent + n > mode then
			st.close = true
			conn:close()
			return false, "write: body longer than its content-length"
		end
		st.sent = st.sent + n
	end
	return conn:write(data)
end

---Sends body bytes; `respond(200)` is implied if the response was not started.
---@param data string
---@return boolean ok
---@return string? err
function stream:write(data)
	check.type(data, "string", 1, "write")
	local st = self[STATE]
	if st.ended then
		return false, "write: the response has ended"
	end
	if not st.responded then
		local ok, err = send_head(st, 200, nil)
		if not ok then
			return ok, err
		end
	end
	return send_body(st, data)
end

---Waits until everything written is with the kernel.
---@param timeout integer?
---@return boolean ok
---@return string? err
function stream:flush(timeout)
	return self[STATE].conn:flush(timeout)
end

---Sends the last body bytes (and, on a chunked response, trailer fields) and ends the
---response. Without an earlier `respond`, the response is `200` with a content-length.
---@param data string?
---@param trailer table<string, string|number>?
---@return boolean ok
---@return string? err
function stream:closewrite(data, trailer)
	local st = self[STATE]
	if st.ended then
		return false, "closewrite: the response has ended"
	end
	data = data or ""
	if not st.responded then
		local ok, err = send_head(st, 200, nil, not trailer and #data or nil)
		if not ok then
			return ok, err
		end
	end
	st.ended = true
	local mode = st.mode
	if mode == "chunked" then
		local tail = trailer and field.trailer(trailer) or ""
		if #data > 0 then
			return st.conn:write({ format("%x\r\n", #data), data, "\r\n0\r\n", tail, "\r\n" })
		end
		return st.conn:write({ "0\r\n", tail, "\r\n" })
	end
	local ok, err = send_body(st, data)
	if not ok then
		return ok, err
	end
	if type(mode) == "number" and st.sent < mode then
		st.close = true
		st.conn:close()
		return false, "closewrite: body shorter than its content-length"
	end
	return true
end

---For silly.net.websocket: answers the request with `101 Switching Protocols` and `header`,
---and hands over its connection, which the HTTP loop closes when the handler returns.
---@param s silly.net.http.stream
---@param header table
---@return table? conn
---@return string? err
function M.takeover(s, header)
	local st = s[STATE]
	if not st then
		-- An HTTP/2 stream: no connection to hand over (RFC 8441 is not supported).
		return nil, "not an HTTP/1.1 request"
	end
	if st.responded then
		return nil, "the response was already started"
	end
	local ok, err = c_respond(st.conn[1], 101, header, nil, true, false, false)
	if ok == nil then
		check.raise("upgrade: " .. err)
	end
	if not ok then
		return nil, err
	end
	st.responded, st.ended, st.close = true, true, true
	return st.conn
end

-- The request loop ---------------------------------------------------------------------------

-- A new stream for a parsed request head; nil and a status for a head that is refused.
local function new_stream(conn, head, conf, scheme, srv)
	local h = head.header
	local minor = head.minor
	if head.n > conf.maxheaders then
		return nil, 431
	end
	local target = head.target
	if minor == 1 and h.host == nil then
		return nil, 400
	end
	local path, query
	if byte(target, 1) ~= SLASH and find(target, "^[Hh][Tt][Tt][Pp][Ss]?://") then
		-- Absolute form (a proxy-style request): the path is what follows the authority.
		local rest = match(target, "^%a+://[^/?#]*(.*)$")
		target = (rest == "" or sub(rest, 1, 1) ~= "/") and ("/" .. rest) or rest
	end
	local q = find(target, "?", 1, true)
	if q then
		path, query = sub(target, 1, q - 1), url.query(sub(target, q + 1))
	else
		path, query = target, {}
	end
	local framed, refused = framing(h)
	if not framed then
		return nil, refused
	end
	if framed ~= "chunked" and framed > conf.maxbodysize then
		return nil, 413
	end
	local keepalive
	if minor == 0 then
		keepalive = has_token(h.connection, "keep-alive")
	else
		keepalive = not has_token(h.connection, "close")
	end
	-- The body of a request without one has ended: its (empty) trailer is known.
	local trailer = framed == 0 and {} or nil
	-- Every field the request's life sets is named here, `mode` and `sent` too: a table built
	-- with all its keys is sized once, one that grows past 16 keys is rehashed.
	local st = {
		conn = conn,
		srv = srv,
		method = head.method,
		head = head.method == "HEAD",
		minor = minor,
		left = framed,
		done = framed == 0,
		trailer = trailer,
		received = 0,
		maxbody = conf.maxbodysize,
		bodytimeout = conf.bodytimeout,
		expect = minor == 1 and has_token(h.expect, "100-continue") and framed ~= 0,
		before = continue,
		responded = false,
		ended = false,
		close = not keepalive,
		broken = false,
		mode = false,
		sent = 0,
	}
	local s = setmetatable({
		method = head.method,
		path = path,
		query = query,
		header = h,
		trailer = trailer,
		version = minor == 0 and "HTTP/1.0" or "HTTP/1.1",
		scheme = scheme,
		remoteaddr = conn.remoteaddr,
		[STATE] = st,
	}, stream_mt)
	return s
end

-- After the handler: end the response, drain the unread body. False when the connection
-- cannot carry another request.
local function finish(s, st, ok, err)
	if not ok then
		logger.error(format("[http] handler failed on %s %s: %s", st.method, s.path, tostring(err)))
		if st.responded then
			return false
		end
		c_respond(st.conn[1], 500, nil, 0, false, false, st.close)
		st.responded, st.ended = true, true
	elseif not st.responded then
		if st.srv.cut then
			logger.info(format("[http] shutdown deadline passed: %s %s cut before its response", st.method, s.path))
		else
			logger.warn(format("[http] handler returned without a response to %s %s", st.method, s.path))
		end
		c_respond(st.conn[1], 500, nil, 0, false, false, st.close)
		st.responded, st.ended = true, true
	elseif not st.ended then
		local fine = s:closewrite()
		if not fine then
			return false
		end
	end
	if st.close or st.broken then
		return false
	end
	-- What the handler did not read goes, within bounds, so the next request can be parsed.
	st.expect = false
	return body.drain(st, DRAIN_MAX, st.bodytimeout)
end

local function handler_error(err)
	return traceback(tostring(err), 2)
end

---Serves one connection until it closes or stops being keep-alive; returns "h2c" when its
---first bytes are the HTTP/2 preface and `conf.h2c` is on (the connection is left open).
---@param conn table a tcp or tls connection
---@param conf table the checked listen options
---@param scheme string
---@param srv {closed: boolean, idle: table} the listener's state: once it is closed, connections
---waiting for a request are closed, and a response being made carries `connection: close`
function M.serve(conn, conf, scheme, srv)
	local ud = conn[1]
	local handler = conf.handler
	local idle = srv.idle
	local headertimeout, maxheadersize = conf.headertimeout, conf.maxheadersize
	-- The first request has the header timeout from the start; between requests the idle
	-- timeout applies until the next one begins (the native picks).
	local idletimeout = nil
	while true do
		if srv.closed then
			return conn:close()
		end
		local head, err = c_readrequest(ud, maxheadersize, headertimeout, idletimeout)
		if head == MARKER then
			-- Waiting for the socket: a connection `listener:close()` may close.
			idle[conn] = true
			head, err = yield(MARKER)
			idle[conn] = nil
		end
		local first = idletimeout == nil
		idletimeout = conf.idletimeout
		if not head then
			if err == TIMEDOUT and conn:unreadbytes() > 0 then
				refuse(conn, 408)
			else
				conn:close()
			end
			return
		end
		if type(head) == "number" then
			if head == H2C and first and conf.h2c then
				-- The HTTP/2 preface as the first bytes: the caller hands the connection over.
				return "h2c"
			end
			refuse(conn, head)
			return
		end
		local s, status = new_stream(conn, head, conf, scheme, srv)
		if not s then
			refuse(conn, status)
			return
		end
		local st = s[STATE]
		local ok, herr = xpcall(handler, handler_error, s)
		if not finish(s, st, ok, herr) then
			conn:close()
			return
		end
	end
end

return M
