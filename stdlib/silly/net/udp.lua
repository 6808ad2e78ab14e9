-- silly.net.udp: UDP sockets (contract: docs/udp.md, docs/addr.md#host-names, docs/connections.md#isalive).
--
-- Datagrams are received by a native driver into a per-socket stash (src/native/net/udp.rs);
-- `recvfrom` pops it or suspends the calling task; `sendto` never suspends. Peer addresses are
-- text both ways: "1.2.3.4:80", "[::1]:80".
local c = require "silly.net.udp.c"
local errno = require "silly.errno"
local check = require "silly.internal.check"
local resolver = require "silly.net.internal.resolve"
local task_c = require "silly.task.c"

local MARKER = task_c.marker
local yield = coroutine.yield
local type = type
local error = error
local setmetatable = setmetatable
local tostring = tostring
local concat = table.concat
local argerror = check.argerror
local parse_bind = resolver.bindaddr
local c_recvfrom = c.recvfrom
local c_sendto = c.sendto
local c_close = c.close

local M = {}

-- The native handle, under a key no user code can name.
local UD = setmetatable({}, { __name = "silly.net.udp.handle" })
-- Set while a task is blocked in recvfrom on that socket, so a second receiver raises.
local RECEIVING = setmetatable({}, { __name = "silly.net.udp.receiving" })

-- "host:port" to an IP text and a port number; a bad port is RESOLVE even with no host.
local function resolve(s, listening, timeout)
	return resolver.resolve(s, listening, timeout, true)
end

---A UDP socket, bound or connected. Its handle and receiving flag are under private keys.
---@class silly.net.udp.conn
---@field fd integer? the socket's descriptor; nil once `close` was called
---@field remoteaddr string? the address given to `connect`; nil for a bound socket
local conn = {}
local conn_mt = { __index = conn, __name = "silly.net.udp.conn" }

local function newconn(ud, remoteaddr)
	return setmetatable({ [UD] = ud, fd = c.fd(ud), remoteaddr = remoteaddr }, conn_mt)
end

---Waits for the next datagram.
---@param timeout integer? milliseconds
---@return string? data
---@return string? addr_or_err the sender ("ip:port" / "[v6]:port"), or an errno value:
---CLOSED, TIMEDOUT, CONNREFUSED ...
function conn:recvfrom(timeout)
	if timeout ~= nil then
		timeout = check.ms(timeout, 1, "recvfrom")
	end
	if self[RECEIVING] then
		error("recvfrom: another task is already receiving on this socket", 2)
	end
	if not self.fd then
		return nil, errno.CLOSED
	end
	local data, from = c_recvfrom(self[UD], timeout)
	if data == MARKER then
		self[RECEIVING] = true
		data, from = yield(MARKER)
		self[RECEIVING] = nil
	end
	return data, from
end

---Sends one datagram; never suspends. `to` is ignored on a connected socket.
---@param data string|table a string, or an array of strings and numbers sent as one datagram
---@param to string? "ip:port" or "[v6]:port", as `recvfrom` gives it
---@return boolean ok
---@return string? err CLOSED, INVAL (malformed address), DESTADDRREQ (no address on a bound
---socket), MSGSIZE, AFNOSUPPORT
function conn:sendto(data, to)
	local t = type(data)
	if t == "table" then
		local parts, i = {}, 1
		while data[i] ~= nil do
			local v = data[i]
			if type(v) ~= "string" and type(v) ~= "number" then
				argerror(1, "sendto", "array item " .. i .. " is a " .. type(v))
			end
			parts[i] = v
			i = i + 1
		end
		data = concat(parts)
	elseif t ~= "string" then
		argerror(1, "sendto", "string or table expected, got " .. t)
	end
	if to ~= nil and type(to) ~= "string" then
		return false, errno.INVAL
	end
	if not self.fd then
		return false, errno.CLOSED
	end
	return c_sendto(self[UD], data, to)
end

---Closes the socket; a task blocked in `recvfrom` gets CLOSED. Never suspends.
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

---@return boolean alive open and not killed by an error
function conn:isalive()
	return self.fd ~= nil and c.isalive(self[UD])
end

---@return integer bytes received and not yet read (0 after close)
function conn:unreadbytes()
	if not self.fd then
		return 0
	end
	return c.unreadbytes(self[UD])
end

---@return integer bytes accepted by `sendto` and not yet handed to the kernel
function conn:unsentbytes()
	if not self.fd then
		return 0
	end
	return c.unsentbytes(self[UD])
end

---The local address, with the port the OS chose for port 0 (beyond the reference).
---@return string
function conn:localaddr()
	return c.localaddr(self[UD])
end

conn_mt.__gc = conn.close
conn_mt.__close = conn.close
conn_mt.__tostring = function(self)
	return "udp.conn(" .. tostring(self.remoteaddr or self.localaddr(self)) .. ")"
end

---Opens a socket bound to `address` ("ip:port", "[v6]:port", ":port" for every interface,
---IPv4 and IPv6, "localhost:port").
---@param address string
---@return silly.net.udp.conn? conn
---@return string? err INVAL, RESOLVE, ADDRINUSE, ACCES ...
function M.bind(address)
	check.type(address, "string", 1, "bind")
	local ip, port = resolve(address, true)
	if not ip then
		return nil, port
	end
	local ud, err = c.bind(ip, port)
	if not ud then
		return nil, err
	end
	return newconn(ud)
end

---Opens a socket connected to `address` ("ip:port", "[v6]:port", or "name:port" resolved
---through silly.net.dns). Suspends only to resolve a name.
---@param address string
---@param opts {bindaddr: string?, timeout: integer?}? `timeout` bounds the name lookup (ms)
---@return silly.net.udp.conn? conn
---@return string? err INVAL, RESOLVE, TIMEDOUT, AFNOSUPPORT ...
function M.connect(address, opts)
	check.type(address, "string", 1, "connect")
	local bindaddr, timeout
	if opts ~= nil then
		check.type(opts, "table", 2, "connect")
		bindaddr, timeout = opts.bindaddr, opts.timeout
		if timeout ~= nil then
			timeout = check.ms(timeout, 2, "connect")
		end
	end
	local bip, bport
	if bindaddr ~= nil then
		if type(bindaddr) ~= "string" then
			argerror(2, "connect", "opts.bindaddr: string expected")
		end
		bip, bport = parse_bind(bindaddr)
		if not bip then
			return nil, bport
		end
	end
	local ip, port = resolve(address, false, timeout)
	if not ip then
		return nil, port
	end
	local ud, err = c.connect(ip, port, bip, bport)
	if not ud then
		return nil, err
	end
	return newconn(ud, address)
end

-- Compatibility: module functions taking the socket first.

---Same as `s:close()`.
---@param s silly.net.udp.conn
---@return boolean ok
---@return string? err
function M.close(s)
	return s:close()
end
M.recvfrom = conn.recvfrom
M.sendto = conn.sendto
M.isalive = conn.isalive
M.unreadbytes = conn.unreadbytes
M.unsentbytes = conn.unsentbytes

return M
