-- silly.net.http.body: reading an HTTP/1.1 message body (content-length or chunked, with
-- trailer fields) from a connection, for the server's request bodies and the client's
-- response bodies (docs/http.md).
--
-- A body state is a table: `conn` (the tcp/tls connection), `left` (bytes still to come, or
-- "chunked", or "close" for a body that ends with the connection), `pending` and `pos` (the
-- chunk in hand and where its unread part starts), `done`, `received`, `maxbody`, and, once the
-- body ended, `trailer`. `before` (optional) runs before each read from the connection (the
-- server's "100 Continue").
local c = require "silly.net.http.c"
local field = require "silly.net.http.field"
local errno = require "silly.errno"

local type = type
local concat = table.concat
local lower = string.lower
local sub = string.sub
local match = string.match
local c_readline = c.readline
local c_readchunk = c.readchunk
local EOF <const> = errno.EOF

-- Longest chunk-size or trailer line accepted.
local LINE_MAX <const> = 8 * 1024
-- Body bytes read from the connection per step of `readall`.
local STEP <const> = 64 * 1024

local wait = field.wait

local M = {}

-- Reads the trailer fields after the last chunk into `st.trailer`.
local function read_trailer(st, timeout)
	local trailer = {}
	local ud = st.conn[1]
	while true do
		local line, err = wait(c_readline(ud, LINE_MAX, timeout))
		if not line then
			return nil, err
		end
		if sub(line, -2) ~= "\r\n" then
			return nil, "bad chunked body: trailer line too long"
		end
		if line == "\r\n" then
			break
		end
		local name, value = match(line, "^([^:%s]+):%s*(.-)%s*\r\n$")
		if not name then
			return nil, "bad chunked body: malformed trailer field"
		end
		name = lower(name)
		local old = trailer[name]
		if old == nil then
			trailer[name] = value
		elseif type(old) == "table" then
			old[#old + 1] = value
		else
			trailer[name] = { old, value }
		end
	end
	st.trailer = trailer
	return true
end

-- The next chunk's data into `st.pending` (read whole, in one native call), or, after the
-- last chunk, the trailer fields and the end of the body.
local function next_chunk(st, timeout)
	local allow = st.maxbody - st.received
	if allow < 0 then
		allow = 0
	end
	local chunk, err = wait(c_readchunk(st.conn[1], allow, timeout))
	if chunk == nil then
		return nil, err
	end
	if chunk == false then
		st.left = 0
		st.done = true
		return read_trailer(st, timeout)
	end
	if chunk == -2 then
		return nil, "body over maxbodysize"
	end
	if type(chunk) ~= "string" then
		return nil, "bad chunked body: malformed chunk"
	end
	st.received = st.received + #chunk
	if st.received > st.maxbody then
		return nil, "body over maxbodysize"
	end
	st.pending, st.pos = chunk, 1
	return true
end

---Up to `n` body bytes (fewer only at the end of the body); "" at the end.
---@return string? data
---@return string? err
function M.read_some(st, n, timeout)
	if st.done then
		return ""
	end
	if st.before then
		st.before(st)
	end
	if st.left == "chunked" then
		if not st.pending then
			local ok, err = next_chunk(st, timeout)
			if not ok then
				return nil, err
			end
			if st.done then
				return ""
			end
		end
		-- From the chunk in hand: all of what is left of it, or `n` bytes.
		local p, pos = st.pending, st.pos
		if n >= #p - pos + 1 then
			st.pending = nil
			return pos == 1 and p or sub(p, pos)
		end
		st.pos = pos + n
		return sub(p, pos, pos + n - 1)
	elseif st.left == "close" then
		-- Ends with the connection: whatever arrives, up to `n`.
		local data, err = st.conn:read(n, timeout)
		if not data then
			if err == EOF then
				local rest = st.conn:read(st.conn:unreadbytes())
				st.done = true
				st.trailer = st.trailer or {}
				return rest or ""
			end
			return nil, err
		end
		st.received = st.received + #data
		if st.received > st.maxbody then
			return nil, "body over maxbodysize"
		end
		return data
	elseif n > st.left then
		n = st.left
	end
	local data, err = st.conn:read(n, timeout)
	if not data then
		return nil, err
	end
	st.received = st.received + n
	if st.received > st.maxbody then
		return nil, "body over maxbodysize"
	end
	st.left = st.left - n
	if st.left == 0 then
		st.done = true
		st.trailer = st.trailer or {}
	end
	return data
end

-- A body read failed: the connection cannot carry another message.
local function fail(st, err)
	st.broken = true
	return nil, err
end

---Exactly `n` body bytes; at the end of the body what is left, then `nil, errno.EOF`.
---@return string? data
---@return string? err
function M.read(st, n, timeout)
	local parts = {}
	local got = 0
	while got < n do
		if st.done then
			break
		end
		local data, err = M.read_some(st, n - got, timeout)
		if not data then
			return fail(st, err)
		end
		if data == "" and st.left == "close" and st.done then
			break
		end
		parts[#parts + 1] = data
		got = got + #data
	end
	if got == 0 and n > 0 then
		return nil, EOF
	end
	return concat(parts)
end

---The rest of the body (bounded by `st.maxbody`).
---@return string? body
---@return string? err
function M.readall(st, timeout)
	local parts = {}
	while not st.done do
		local data, err = M.read_some(st, STEP, timeout)
		if not data then
			return fail(st, err)
		end
		parts[#parts + 1] = data
	end
	return concat(parts)
end

---Reads and drops the rest of the body, at most `max` bytes; false if it was longer or broken.
---@return boolean
function M.drain(st, max, timeout)
	local drained = 0
	while not st.done do
		local data = M.read_some(st, STEP, timeout)
		if not data then
			return false
		end
		drained = drained + #data
		if drained > max then
			return false
		end
	end
	return true
end

return M

