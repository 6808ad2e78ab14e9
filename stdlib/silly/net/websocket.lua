-- silly.net.websocket: WebSocket (RFC 6455) sessions, as a server inside an HTTP handler
-- (`upgrade`) and as a client (`connect`), with permessage-deflate (RFC 7692)
-- (docs/websocket.md). Frames are parsed, masked and unmasked in Rust
-- (src/native/net/websocket); the session rules live here.
local c = require "silly.net.websocket.c"
local field = require "silly.net.http.field"
local http_c = require "silly.net.http.c"
local tcp = require "silly.net.tcp"
local tls = require "silly.net.tls"
local check = require "silly.internal.check"
local server = require "silly.net.http.server"
local url = require "silly.net.http.url"

local type = type
local pairs = pairs
local tostring = tostring
local setmetatable = setmetatable
local concat = table.concat
local lower = string.lower
local match = string.match
local gmatch = string.gmatch
local pack = string.pack
local unpack = string.unpack
local argerror = check.argerror
local c_readframe = c.readframe
local c_frame = c.frame
local c_accept = c.accept
local c_isutf8 = c.isutf8
local c_deflate = c.deflate
local c_inflate = c.inflate

local OP_CONT <const> = 0
local OP_TEXT <const> = 1
local OP_BINARY <const> = 2
local OP_CLOSE <const> = 8
local OP_PING <const> = 9
local OP_PONG <const> = 10
local TYPES <const> = { [OP_TEXT] = "text", [OP_BINARY] = "binary", [OP_CLOSE] = "close", [OP_PING] = "ping", [OP_PONG] = "pong" }
local MAXMESSAGE <const> = 16 * 1024 * 1024
local MAXFRAME <const> = 16 * 1024 * 1024
-- How long `close` waits for the peer's close frame.
local CLOSE_WAIT <const> = 5000
-- Messages shorter than this are sent uncompressed even when compression was negotiated.
local COMPRESS_MIN <const> = 64
local EXTENSION <const> = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

local wait = field.wait
local has_token = field.has_token

local M = {}

---A WebSocket session.
---@class silly.net.websocket
local ws = {}
local ws_mt = { __index = ws, __name = "silly.net.websocket" }
local STATE <const> = {}

-- Sends one frame; `mask` for the client side.
local function send(st, opcode, data, rsv1)
	return st.conn:write(c_frame(true, opcode, data, st.client, rsv1 or false))
end

-- Ends the session with a close frame (`code`, `reason`) and closes the connection.
local function fail(st, code, why)
	if not st.closesent then
		st.closesent = true
		send(st, OP_CLOSE, pack(">I2", code) .. why)
	end
	st.conn:close()
	st.dead = true
	return nil, why
end

---Reads the next message: `data, type` with type "text", "binary", "ping", "pong" or
---"close" (then `data` is the reason, and the close code comes third). Pings are answered
---automatically and still returned; a close is answered and ends the session.
---@param timeout integer? milliseconds
---@return string? data
---@return string? type or the error
---@return integer? code with "close"
function ws:read(timeout)
	local st = self[STATE]
	if st.dead then
		return nil, "websocket: closed"
	end
	local parts, size, first = nil, 0, nil
	while true do
		local f, err = wait(c_readframe(st.conn[1], st.maxframe, timeout))
		if not f then
			st.dead = true
			st.conn:close()
			return nil, err
		end
		if type(f) == "string" then
			return fail(st, f == "frame over maxframe" and 1009 or 1002, f)
		end
		if f.masked ~= not st.client then
			return fail(st, 1002, st.client and "masked frame from the server" or "unmasked frame from the client")
		end
		local op = f.opcode
		if op >= OP_CLOSE then
			if f.rsv1 then
				return fail(st, 1002, "compressed control frame")
			end
			if op == OP_PING then
				send(st, OP_PONG, f.data)
				return f.data, "ping"
			elseif op == OP_PONG then
				return f.data, "pong"
			end
			-- Close: echo the code, then end.
			local data = f.data
			local code, reason = 1005, ""
			if #data == 1 then
				return fail(st, 1002, "close frame of one byte")
			elseif #data >= 2 then
				code = unpack(">I2", data)
				reason = data:sub(3)
				if not c_isutf8(reason) then
					return fail(st, 1007, "close reason is not UTF-8")
				end
			end
			if not st.closesent then
				st.closesent = true
				send(st, OP_CLOSE, #data >= 2 and pack(">I2", code) or "")
			end
			st.dead = true
			st.conn:close()
			return reason, "close", code
		end
		-- Data: a first frame (text or binary), then continuations until `fin`.
		if op == OP_CONT then
			if not first then
				return fail(st, 1002, "continuation without a message")
			end
			if f.rsv1 then
				return fail(st, 1002, "RSV1 on a continuation frame")
			end
		else
			if first then
				return fail(st, 1002, "new message inside a fragmented one")
			end
			if f.rsv1 and not st.compress then
				return fail(st, 1002, "RSV1 without a negotiated extension")
			end
			first = f
			parts = {}
		end
		size = size + #f.data
		if size > st.maxmessage then
			return fail(st, 1009, "message over maxmessage")
		end
		parts[#parts + 1] = f.data
		if f.fin then
			local data = concat(parts)
			if first.rsv1 then
				local inflated, ierr = c_inflate(data, st.maxmessage)
				if not inflated then
					return fail(st, ierr:find("maxmessage", 1, true) and 1009 or 1007, ierr)
				end
				data = inflated
			end
			if first.opcode == OP_TEXT and not c_isutf8(data) then
				return fail(st, 1007, "text message is not UTF-8")
			end
			return data, TYPES[first.opcode]
		end
	end
end

---Sends a message.
---@param data string
---@param kind string? "binary" (default) or "text"
---@return boolean ok
---@return string? err
function ws:write(data, kind)
	check.type(data, "string", 1, "write")
	local op = OP_BINARY
	if kind == "text" then
		op = OP_TEXT
	elseif kind ~= nil and kind ~= "binary" then
		argerror(2, "write", "\"text\" or \"binary\" expected, got " .. tostring(kind))
	end
	local st = self[STATE]
	if st.dead or st.closesent then
		return false, "websocket: closed"
	end
	if st.compress and #data >= COMPRESS_MIN then
		return send(st, op, c_deflate(data), true)
	end
	return send(st, op, data)
end

---Sends a ping (at most 125 bytes of data).
---@param data string?
---@return boolean ok
---@return string? err
function ws:ping(data)
	data = data or ""
	if #data > 125 then
		argerror(1, "ping", "at most 125 bytes")
	end
	local st = self[STATE]
	if st.dead or st.closesent then
		return false, "websocket: closed"
	end
	return send(st, OP_PING, data)
end

---Starts the close handshake: sends a close frame, waits (a few seconds at most) for the
---peer's, then closes the connection.
---@param code integer? default 1000
---@param reason string?
---@return boolean ok
---@return string? err
function ws:close(code, reason)
	local st = self[STATE]
	if st.dead then
		return true
	end
	code = code or 1000
	reason = reason or ""
	if #reason > 123 then
		argerror(2, "close", "reason of at most 123 bytes expected")
	end
	if not st.closesent then
		st.closesent = true
		send(st, OP_CLOSE, pack(">I2", code) .. reason)
	end
	-- Read until the peer's close arrives (other frames are dropped), within the wait.
	while not st.dead do
		local f = wait(c_readframe(st.conn[1], st.maxframe, CLOSE_WAIT))
		if type(f) ~= "table" or f.opcode == OP_CLOSE then
			break
		end
	end
	st.dead = true
	st.conn:close()
	return true
end

local function new(conn, client, opts, protocol, compress)
	return setmetatable({
		protocol = protocol,
		[STATE] = {
			conn = conn,
			client = client,
			compress = compress,
			maxmessage = opts.maxmessage or MAXMESSAGE,
			maxframe = opts.maxframe or MAXFRAME,
			closesent = false,
			dead = false,
		},
	}, ws_mt)
end

-- Whether the client offered permessage-deflate in a form we accept (no window bits asked
-- beyond the default).
local function offers_deflate(v)
	if type(v) == "table" then
		v = concat(v, ",")
	end
	for offer in gmatch(v or "", "[^,]+") do
		local name = match(offer, "^%s*([%w%-]+)")
		if name and lower(name) == "permessage-deflate" then
			return true
		end
	end
	return false
end

local function check_opts(opts, n, fname)
	if opts == nil then
		return {}
	end
	check.type(opts, "table", n, fname)
	for _, k in pairs({ "maxmessage", "maxframe" }) do
		local v = opts[k]
		if v ~= nil and (math.type(v) ~= "integer" or v < 1) then
			argerror(n, fname, "opts." .. k .. ": positive integer expected")
		end
	end
	return opts
end

---Turns an HTTP/1.1 request (a handler's stream) into a WebSocket session. On a request
---that is not a WebSocket handshake, answers `400` (or `426`) and returns `nil, err`.
---@param s silly.net.http.stream
---@param opts {subprotocols: string[]?, compress: boolean?, maxmessage: integer?, maxframe: integer?}?
---@return silly.net.websocket? ws
---@return string? err
function M.upgrade(s, opts)
	opts = check_opts(opts, 2, "upgrade")
	local h = s.header
	local key = h["sec-websocket-key"]
	local why
	if s.method ~= "GET" then
		why = "not a GET"
	elseif not has_token(h.upgrade, "websocket") then
		why = "no upgrade: websocket"
	elseif not has_token(h.connection, "upgrade") then
		why = "no connection: upgrade"
	elseif type(key) ~= "string" or not match(key, "^[%w+/]+=*$") or #key ~= 24 then
		why = "bad sec-websocket-key"
	elseif h["sec-websocket-version"] ~= "13" then
		s:respond(426, { ["sec-websocket-version"] = "13", ["content-length"] = 0 })
		s:closewrite()
		return nil, "websocket: unsupported version"
	end
	if why then
		s:respond(400, { ["content-length"] = #why + 1 })
		s:closewrite(why .. "\n")
		return nil, "websocket: " .. why
	end
	local header = {
		upgrade = "websocket",
		connection = "Upgrade",
		["sec-websocket-accept"] = c_accept(key),
	}
	local protocol
	if opts.subprotocols then
		local offered = {}
		local list = h["sec-websocket-protocol"]
		if type(list) == "table" then
			list = concat(list, ",")
		end
		for p in gmatch(list or "", "[^,%s]+") do
			offered[p] = true
		end
		for _, p in ipairs(opts.subprotocols) do
			if offered[p] then
				protocol = p
				header["sec-websocket-protocol"] = p
				break
			end
		end
	end
	local compress = opts.compress and offers_deflate(h["sec-websocket-extensions"]) or false
	if compress then
		header["sec-websocket-extensions"] = EXTENSION
	end
	local conn, err = server.takeover(s, header)
	if not conn then
		return nil, err
	end
	return new(conn, false, opts, protocol, compress)
end

---Connects to a `ws://` or `wss://` URL and makes the handshake.
---@param target string
---@param header table? extra request fields
---@param opts {subprotocols: string[]?, compress: boolean?, timeout: integer?, maxmessage: integer?, maxframe: integer?}?
---@return silly.net.websocket? ws
---@return string? err
function M.connect(target, header, opts)
	check.type(target, "string", 1, "connect")
	if header ~= nil then
		check.type(header, "table", 2, "connect")
	end
	opts = check_opts(opts, 3, "connect")
	local scheme, rest = match(target, "^([Ww][Ss][Ss]?)://(.*)$")
	if not scheme then
		return nil, "url: ws:// or wss:// expected"
	end
	scheme = lower(scheme)
	local u, uerr = url.parse((scheme == "wss" and "https://" or "http://") .. rest)
	if not u then
		return nil, uerr
	end
	local timeout = opts.timeout or 10000
	local conn, err
	if scheme == "wss" then
		local t = { timeout = timeout, hostname = u.host, alpnprotos = { "http/1.1" } }
		for _, k in pairs(field.TLS_KEYS) do
			if opts[k] ~= nil then
				t[k] = opts[k]
			end
		end
		conn, err = tls.connect(u.address, t)
	else
		conn, err = tcp.connect(u.address, { timeout = timeout })
	end
	if not conn then
		return nil, err
	end
	local key = c.key()
	local h = {}
	for k, v in pairs(header or {}) do
		h[k] = v
	end
	h.upgrade = "websocket"
	h.connection = "Upgrade"
	h["sec-websocket-key"] = key
	h["sec-websocket-version"] = "13"
	if opts.subprotocols then
		h["sec-websocket-protocol"] = concat(opts.subprotocols, ", ")
	end
	if opts.compress then
		h["sec-websocket-extensions"] = "permessage-deflate; client_no_context_takeover; server_no_context_takeover"
	end
	local ok, werr = http_c.writerequest(conn[1], "GET", u.target, h, u.authority, nil, false)
	if ok == nil then
		conn:close()
		argerror(2, "connect", werr)
	end
	local head
	if ok then
		head, werr = wait(http_c.readresponse(conn[1], 64 * 1024, timeout))
	end
	local function refuse(why)
		conn:close()
		return nil, "websocket: " .. why
	end
	if not ok or not head then
		return refuse(tostring(werr))
	end
	if type(head) == "number" then
		return refuse("malformed handshake response")
	end
	local rh = head.header
	if head.status ~= 101 then
		return refuse("handshake refused with status " .. head.status)
	end
	if not has_token(rh.upgrade, "websocket") or not has_token(rh.connection, "upgrade") then
		return refuse("handshake response without upgrade")
	end
	if rh["sec-websocket-accept"] ~= c_accept(key) then
		return refuse("bad sec-websocket-accept")
	end
	local protocol = rh["sec-websocket-protocol"]
	if protocol ~= nil then
		local offered = false
		for _, p in ipairs(opts.subprotocols or {}) do
			offered = offered or p == protocol
		end
		if not offered then
			return refuse("the server chose a subprotocol that was not offered")
		end
	end
	local ext = rh["sec-websocket-extensions"]
	local compress = false
	if ext ~= nil then
		if not opts.compress or not offers_deflate(ext) then
			return refuse("the server chose an extension that was not offered")
		end
		compress = true
	end
	return new(conn, true, opts, protocol, compress)
end

return M
