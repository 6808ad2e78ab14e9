-- silly.net.http.h2: the HTTP/2 server behind `http.listen` (docs/http.md#http2).
--
-- A connection that negotiated "h2" is handed to Rust (src/native/net/http/h2.rs, the h2
-- crate), which runs `run` in a new task for each request stream. The stream object has the
-- methods and fields of the HTTP/1.1 one (silly.net.http.server), over HTTP/2 frames.
local c = require "silly.net.http.h2.c"
local field = require "silly.net.http.field"
local check = require "silly.internal.check"
local logger = require "silly.logger"
local errno = require "silly.errno"
local url = require "silly.net.http.url"

local type = type
local tostring = tostring
local tonumber = tonumber
local format = string.format
local find = string.find
local sub = string.sub
local match = string.match
local xpcall = xpcall
local traceback = debug.traceback
local setmetatable = setmetatable
local c_respond = c.respond
local c_write = c.write
local c_read = c.read
local wait = field.wait
local TIMEDOUT <const> = errno.TIMEDOUT

local M = {}

---@class silly.net.http.h2stream: silly.net.http.stream
local stream = {}
local stream_mt = { __index = stream, __name = "silly.net.http.h2stream" }

-- The private state of a stream, out of the handler's sight.
local STATE <const> = {}

---Reads exactly `n` body bytes; at the end of the body, what is left, then `nil, errno.EOF`.
---@param n integer
---@param timeout integer? milliseconds (default: the listener's `bodytimeout`)
---@return string? data
---@return string? err
function stream:read(n, timeout)
	if type(n) ~= "number" then
		check.argerror(1, "read", "number expected, got " .. type(n))
	end
	local st = self[STATE]
	local data, err = wait(c_read(st.ud, n, st.maxbody, timeout or st.bodytimeout))
	self.trailer = c.trailer(st.ud)
	return data, err
end

---Reads the whole body (at most the listener's `maxbodysize`).
---@param timeout integer? milliseconds (default: `bodytimeout`)
---@return string? body
---@return string? err
function stream:readall(timeout)
	local st = self[STATE]
	local data, err = wait(c_read(st.ud, -1, st.maxbody, timeout or st.bodytimeout))
	self.trailer = c.trailer(st.ud)
	return data, err
end

-- Sends the response head; `length` (when known) becomes its content-length, `last` ends the
-- stream with it.
local function send_head(st, status, header, length, last)
	if st.responded then
		check.raise("respond: the response was already started")
	end
	if status < 200 then
		-- Interim responses are not sent over HTTP/2 yet; the final one is still to come.
		return true
	end
	if length and (header == nil or header["content-length"] == nil) then
		header = header or {}
		header["content-length"] = length
	end
	local nobody = st.head or status == 204 or status == 304
	local ok, err = c_respond(st.ud, status, header, last or nobody)
	if ok == nil then
		check.raise("respond: " .. err)
	end
	if not ok then
		st.ended = true
		return false, err
	end
	st.responded = true
	st.nobody = nobody
	st.ended = last or nobody
	return true
end

---Sends the status and the header fields (HTTP/1.1-only fields such as `connection` are
---left out).
---@param status integer
---@param header table<string, string|number|(string|number)[]>?
---@return boolean ok
---@return string? err
function stream:respond(status, header)
	field.check_respond(status, header)
	return send_head(self[STATE], status, header)
end

-- Sends body bytes; a wait for the client's window past `bodytimeout` has reset the stream
-- (h2.rs): the response is over, and the log says why once, not as an error.
local function send_body(s, st, data, last)
	local ok, err = wait(c_write(st.ud, data, last, st.bodytimeout))
	if not ok and err == TIMEDOUT then
		st.ended = true
		logger.info(format("[http] h2 write to %s on %s %s: no flow-control window for %d ms, stream reset",
			s.remoteaddr, s.method, s.path, st.bodytimeout))
	end
	return ok, err
end

---Sends body bytes (waiting for the peer's flow-control window); `respond(200)` is implied.
---A wait for window longer than the listener's `bodytimeout` resets the stream and returns
---`false, errno.TIMEDOUT`.
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
	if st.nobody or #data == 0 then
		return true
	end
	return send_body(self, st, data, false)
end

---Every `write` already waited until h2 took its bytes: nothing more to wait for.
---@return boolean ok
function stream:flush()
	return true
end

---Sends the last body bytes and trailer fields, and ends the response. Without an earlier
---`respond`, the response is `200` with a content-length. Waits for window as `write` does.
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
		local ok, err = send_head(st, 200, nil, not trailer and #data or nil, #data == 0 and not trailer)
		if not ok or st.ended then
			return ok, err
		end
	end
	st.ended = true
	if st.nobody then
		return true
	end
	if trailer then
		if #data > 0 then
			local ok, err = send_body(self, st, data, false)
			if not ok then
				return ok, err
			end
		end
		local ok, err = c.trailers(st.ud, trailer)
		if ok == nil then
			check.raise("closewrite: " .. err)
		end
		return ok, err
	end
	return send_body(self, st, data, true)
end

local function handler_error(err)
	return traceback(tostring(err), 2)
end

-- After the handler: end the response (a 500 if none began, a reset if it failed midway).
local function finish(s, st, ok, err)
	if not ok then
		logger.error(format("[http] handler failed on %s %s: %s", s.method, s.path, tostring(err)))
		if st.responded then
			if not st.ended then
				c.reset(st.ud)
			end
		else
			c_respond(st.ud, 500, nil, true)
		end
	elseif not st.responded then
		if st.srv.cut then
			logger.info(format("[http] shutdown deadline passed: %s %s cut before its response", s.method, s.path))
		else
			logger.warn(format("[http] handler returned without a response to %s %s", s.method, s.path))
		end
		c_respond(st.ud, 500, nil, true)
	elseif not st.ended then
		s:closewrite()
	end
	c.done(st.ud)
end

-- Runs the handler for one stream: `arg` is {ud, method, target, header, nfields}.
local function run(arg, conf, scheme, remoteaddr, srv)
	local ud, method, target, header = arg[1], arg[2], arg[3], arg[4]
	if arg[5] > conf.maxheaders then
		c_respond(ud, 431, nil, true)
		c.done(ud)
		return
	end
	local cl = header["content-length"]
	if type(cl) == "string" and match(cl, "^%d+$") and tonumber(cl) > conf.maxbodysize then
		c_respond(ud, 413, nil, true)
		c.done(ud)
		return
	end
	local path, query
	local q = find(target, "?", 1, true)
	if q then
		path, query = sub(target, 1, q - 1), url.query(sub(target, q + 1))
	else
		path, query = target, {}
	end
	local st = {
		ud = ud,
		srv = srv,
		head = method == "HEAD",
		maxbody = conf.maxbodysize,
		bodytimeout = conf.bodytimeout,
		responded = false,
		ended = false,
		nobody = false,
	}
	local s = setmetatable({
		method = method,
		path = path,
		query = query,
		header = header,
		version = "HTTP/2",
		scheme = scheme,
		remoteaddr = remoteaddr,
		[STATE] = st,
	}, stream_mt)
	local ok, err = xpcall(conf.handler, handler_error, s)
	finish(s, st, ok, err)
end

-- A served HTTP/2 connection as the listener tracks it: `close` sends GOAWAY the first time
-- and drops the connection the second.
local conn_mt = {
	__index = {
		close = function(self)
			c.close(self[1])
		end,
	},
}

---Takes over `conn` (its peer speaks HTTP/2); nil if the connection already ended.
---@param conn table a tls (or tcp) connection
---@param conf table the checked listen options
---@param scheme string
---@param srv {cut: boolean} the listener's state (`cut` once `shutdown` closed what was left)
---@param consumed string? the part of the preface already read (h2c by prior knowledge)
---@return table? h2conn with `close`, for `serve`
function M.start(conn, conf, scheme, srv, consumed)
	local remoteaddr = conn.remoteaddr
	local ud = c.serve(conn[1], function(arg)
		return run(arg, conf, scheme, remoteaddr, srv)
	end, conf.maxheadersize, conf.headertimeout, conf.idletimeout, consumed)
	if not ud then
		conn:close()
		return nil
	end
	return setmetatable({ ud }, conn_mt)
end

---Waits until the connection `start` returned has ended; while it runs, the listener's
---`close` sends it GOAWAY.
---@param h table
---@param srv {closed: boolean, idle: table}
function M.serve(h, srv)
	srv.idle[h] = true
	if srv.closed then
		h:close()
	end
	wait(c.wait(h[1]))
	srv.idle[h] = nil
end

return M
