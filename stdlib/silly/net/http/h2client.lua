-- silly.net.http.h2client: the HTTP/2 side of silly.net.http.client (docs/http.md#http2).
--
-- A TLS connection that negotiated "h2" is handed to Rust (src/native/net/http/h2_client.rs,
-- the h2 crate's client); each request is one stream of it, so one pooled connection carries
-- every concurrent request to its server, up to the server's `max_concurrent_streams` (h2
-- queues the streams past it until a slot frees). The stream object has the methods and
-- fields of the HTTP/1.1 client stream.
local c = require "silly.net.http.h2client.c"
local httpc = require "silly.net.http.c"
local field = require "silly.net.http.field"
local check = require "silly.internal.check"
local time = require "silly.time"

local type = type
local tonumber = tonumber
local setmetatable = setmetatable
local monotonic = time.monotonic
local c_read = c.read
local c_gunzip = httpc.gunzip
local wait = field.wait
local field_left = field.left

local M = {}

---A request over HTTP/2 and its response (the methods of `silly.net.http.clientstream`).
---@class silly.net.http.h2clientstream: silly.net.http.clientstream
local cstream = {}
local cstream_mt = { __index = cstream, __name = "silly.net.http.h2clientstream" }
local STATE <const> = {}

-- Milliseconds left of the whole call (at least 0).
local function left(st)
	return field_left(st.deadline)
end

---Sends request body bytes (waiting for the server's flow-control window, within the call's
---`timeout`: past it the stream is reset and the write returns `false, errno.TIMEDOUT`).
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
	return wait(c.write(st.ud, data, false, left(st)))
end

---Sends the last request body bytes (and trailer fields) and ends the request.
---@param data string?
---@param trailer table<string, string>?
---@return boolean ok
---@return string? err
function cstream:closewrite(data, trailer)
	local st = self[STATE]
	if st.ended then
		return true
	end
	st.ended = true
	data = data or ""
	if trailer then
		if #data > 0 then
			local ok, err = wait(c.write(st.ud, data, false, left(st)))
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
	return wait(c.write(st.ud, data, true, left(st)))
end

---Waits for the response head; then `status`, `header` and `version` (`"HTTP/2"`) are set.
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
	local status, header = wait(c.response(st.ud, timeout or left(st)))
	if not status then
		return false, header
	end
	local cl = header["content-length"]
	if type(cl) == "string" and (tonumber(cl) or 0) > st.maxbody then
		return false, "body over maxbodysize"
	end
	self.status, self.header, self.version = status, header, "HTTP/2"
	return true
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
	local data, err = wait(c_read(st.ud, n, st.maxbody, timeout or left(st)))
	self.trailer = c.trailer(st.ud)
	return data, err
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
	local data, err = wait(c_read(st.ud, -1, st.maxbody, timeout or left(st)))
	self.trailer = c.trailer(st.ud)
	if not data then
		return nil, err
	end
	if st.gzip and self.header["content-encoding"] == "gzip" then
		return c_gunzip(data, st.maxbody)
	end
	return data
end

---Ends the exchange: the stream is let go (reset if its response was not read to its end);
---the connection stays in the pool.
function cstream:close()
	local st = self[STATE]
	if st.closed then
		return
	end
	st.closed = true
	c.done(st.ud)
	st.pool.at = monotonic()
end

---Starts the HTTP/2 handshake on `conn` (a TLS connection that negotiated "h2").
---@param conn table
---@param maxheadersize integer
---@param timeout integer milliseconds
---@return table? pool entry `{ud, at}`
---@return string? err
function M.connect(conn, maxheadersize, timeout)
	local ud, err = wait(c.handshake(conn[1], maxheadersize, timeout))
	if not ud then
		conn:close()
		return nil, err
	end
	return { ud = ud, at = monotonic() }
end

---Whether the pooled connection `e` can take a request: alive, and not idle past
---`idletimeout`.
---@param e table
---@param idletimeout integer
---@return boolean
function M.usable(e, idletimeout)
	if not c.alive(e.ud) then
		return false
	end
	if c.active(e.ud) == 0 and monotonic() - e.at >= idletimeout then
		c.close(e.ud)
		return false
	end
	return true
end

---Closes the pooled connection `e` (streams in progress finish first).
---@param e table
function M.close(e)
	c.close(e.ud)
end

---Starts a request on the pooled connection `e`; `o` holds what client.lua worked out:
---`method`, `url`, `header`, `nobody`, `deadline`, `maxbody`, `gzip`.
---@param e table
---@param o table
---@return silly.net.http.h2clientstream? stream
---@return string? err
function M.request(e, o)
	local ud, err, bad = wait(c.request(e.ud, o.method, o.url, o.header, o.nobody, o.deadline - monotonic()))
	if not ud then
		if bad then
			check.argerror(3, "request", err)
		end
		return nil, err
	end
	e.at = monotonic()
	local st = {
		ud = ud,
		pool = e,
		ended = o.nobody,
		closed = false,
		deadline = o.deadline,
		maxbody = o.maxbody,
		gzip = o.gzip,
	}
	return setmetatable({ [STATE] = st }, cstream_mt)
end

return M
