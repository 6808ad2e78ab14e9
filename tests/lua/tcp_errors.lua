-- Errors of tcp.connect and tcp.listen (docs/addr.md, docs/tcp.md#accepting-connections): refused, INVAL
-- without a port, RESOLVE for bad or unknown hosts, the `bind` option, ADDRINUSE, argument
-- misuse; and an accept handler that raises (the connection is closed, the listener serves on).
--
-- Not here: the connect timeout needs a listener that never accepts, which tcp.listen cannot
-- make (it always accepts); tests/it/tcp_peers.rs covers it with a raw socket with backlog 1.
local T = require "testaux"
local tcp = require "silly.net.tcp"
local errno = require "silly.errno"
local time = require "silly.time"
local channel = require "silly.sync.channel"

T.limit(15000)

local function port_of(a)
	return tonumber(a:match(":(%d+)$"))
end

local accepted = channel.new()
local l = assert(tcp.listen({
	addr = "127.0.0.1:0",
	accept = function(c)
		accepted:push(c)
	end,
}))
local where = l:localaddr()
local port = port_of(where)
T.check(port and port > 0, "localaddr reports the chosen port", where)

-- connect: refused
do
	local l2 = assert(tcp.listen({ addr = "127.0.0.1:0", accept = function() end }))
	local a2 = l2:localaddr()
	l2:close()
	local c, err = tcp.connect(a2)
	T.check(c == nil and err == errno.CONNREFUSED, "connect to a closed port: CONNREFUSED", tostring(err))
end

-- connect: INVAL and RESOLVE without any I/O
local bad = {
	{ "127.0.0.1", errno.INVAL, "no port" },
	{ "127.0.0.1:", errno.INVAL, "empty port" },
	{ ":" .. port, errno.INVAL, "no host" },
	{ "[]:" .. port, errno.INVAL, "empty brackets" },
	{ "::1:" .. port, errno.INVAL, "IPv6 without brackets" },
	{ "", errno.INVAL, "empty address" },
	{ "999.1.1.1:80", errno.RESOLVE, "invalid IPv4" },
	{ "127.0.0.1:abc", errno.RESOLVE, "unknown service name" },
	{ "127.0.0.1:70000", errno.RESOLVE, "port out of range" },
	{ "bad..name:80", errno.RESOLVE, "name with an empty label" },
	{ string.rep("x", 64) .. ".test:80", errno.RESOLVE, "label longer than 63 bytes" },
}
for _, b in ipairs(bad) do
	local c, err = tcp.connect(b[1])
	T.check(c == nil and err == b[2], "connect(" .. string.format("%q", b[1]) .. "): " .. b[3],
		"got " .. tostring(err))
end
T.raises("string expected", "connect(nil) raises", tcp.connect, nil)
T.raises("table expected", "connect with non-table opts raises", tcp.connect, where, 5)

-- connect: a host name that cannot be resolved gives RESOLVE (docs/addr.md#host-names). If silly.net.dns exists,
-- point it at a local port where nothing answers (1 s, one attempt), so the test never queries
-- the system's nameservers. No connect timeout: with one, the lookup's time counts against it
-- and the answer would be TIMEDOUT.
do
	local ok, dns = pcall(require, "silly.net.dns")
	if ok then
		dns.conf({ nameservers = { "127.0.0.1:9" }, timeout = 1, attempts = 1 })
	end
	local c, err = tcp.connect("no-such-host.invalid:80")
	T.check(c == nil and err == errno.RESOLVE, "connect to an unknown host name: RESOLVE", tostring(err))
end

-- connect by the name "localhost" (docs/addr.md#host-names)
do
	local c, err = tcp.connect("localhost:" .. port)
	T.check(c ~= nil, "connect to localhost:port works", tostring(err))
	if c then
		local s = accepted:pop()
		T.eq(c.remoteaddr, "localhost:" .. port, "remoteaddr is the address as passed")
		c:close()
		s:close()
	end
end

-- connect: the bind option
do
	local c, err = tcp.connect(where, { bind = "127.0.0.1:0" })
	T.check(c ~= nil, "bind = 127.0.0.1:0 works", tostring(err))
	local s = accepted:pop()
	local bport = port_of(s.remoteaddr)
	T.match(s.remoteaddr, "^127%.0%.0%.1:%d+$", "the peer sees the bound address")
	-- the same local port again while the first connection holds it
	local c2, err2 = tcp.connect(where, { bind = "127.0.0.1:" .. bport })
	T.check(c2 == nil and err2 == errno.ADDRINUSE, "bind to a port in use: ADDRINUSE", tostring(err2))
	c:close()
	s:close()
	local cases = {
		{ "127.0.0.1", errno.INVAL, "bind without a port" },
		{ ":0", errno.INVAL, "bind without a host" },
		{ "[::1]:0", errno.AFNOSUPPORT, "bind to IPv6 for an IPv4 peer" },
	}
	for _, b in ipairs(cases) do
		local x, e = tcp.connect(where, { bind = b[1] })
		T.check(x == nil and e == b[2], b[3], tostring(e))
	end
	T.raises("bind", "a non-string bind raises", tcp.connect, where, { bind = 1 })
end

-- connect: timeout option on a reachable peer does not get in the way
do
	local c, err = tcp.connect(where, { timeout = 5000 })
	T.check(c ~= nil, "connect with a timeout succeeds on loopback", tostring(err))
	local s = accepted:pop()
	T.eq(c:write("t"), true, "write")
	T.eq(s:read(1), "t", "and read")
	c:close()
	s:close()
end

-- listen: errors
do
	local x, err = tcp.listen({ addr = where, accept = function() end })
	T.check(x == nil and err == errno.ADDRINUSE, "listen on a port in use: ADDRINUSE", tostring(err))
	x, err = tcp.listen({ addr = "127.0.0.1", accept = function() end })
	T.check(x == nil and err == errno.INVAL, "listen without a port: INVAL", tostring(err))
	x, err = tcp.listen({ addr = "example.com:0", accept = function() end })
	T.check(x == nil and err == errno.RESOLVE, "listen on a host name: RESOLVE", tostring(err))
	x, err = tcp.listen({ addr = "999.1.1.1:0", accept = function() end })
	T.check(x == nil and err == errno.RESOLVE, "listen on an invalid IP: RESOLVE", tostring(err))
	T.raises("addr", "listen without addr raises", tcp.listen, { accept = function() end })
	T.raises("accept", "listen without accept raises", tcp.listen, { addr = "127.0.0.1:0" })
	T.raises("accept", "listen with a non-function accept raises", tcp.listen,
		{ addr = "127.0.0.1:0", accept = "nope" })
	T.raises("table expected", "listen(nil) raises", tcp.listen, nil)
	-- localhost is accepted for listening (docs/addr.md#host-names)
	local lh, e = tcp.listen({ addr = "localhost:0", accept = function() end })
	T.check(lh ~= nil, "listen on localhost:0 works", tostring(e))
	if lh then
		T.match(lh:localaddr(), "^127%.0%.0%.1:%d+$", "localhost listens on 127.0.0.1")
		lh:close()
	end
	-- ":port" listens on the dual-stack wildcard; an IPv4 client shows as a mapped address
	local w, we = tcp.listen({ addr = ":0", accept = function(c)
		accepted:push(c)
	end })
	T.check(w ~= nil, "listen on :0 works", tostring(we))
	if w then
		local c = tcp.connect("127.0.0.1:" .. port_of(w:localaddr()))
		T.check(c ~= nil, "an IPv4 client reaches the wildcard listener")
		if c then
			local s = accepted:pop()
			T.match(s.remoteaddr, "^%[::ffff:127%.0%.0%.1%]:%d+$", "the peer shows as a v4-mapped IPv6 address")
			c:close()
			s:close()
		end
		w:close()
	end
end

-- An accept handler that raises: the connection is closed, the listener keeps serving.
-- (tests/it/tcp_peers.rs checks that the error is logged on stderr.)
do
	local n = 0
	local lr = assert(tcp.listen({
		addr = "127.0.0.1:0",
		accept = function(c)
			n = n + 1
			if n == 1 then
				error("accept handler failed on purpose")
			end
			c:write("served\n")
			c:close()
		end,
	}))
	local a = lr:localaddr()
	local c1 = assert(tcp.connect(a))
	local d, err = c1:read(1, 2000)
	T.check(d == nil and err == errno.EOF, "a raising handler's connection is closed", tostring(err))
	c1:close()
	local c2 = assert(tcp.connect(a))
	T.eq(c2:read("\n", 2000), "served\n", "the listener still serves the next connection")
	c2:close()
	lr:close()
end

-- A second close of a listener, and deprecated module functions
do
	local c = assert(tcp.connect(where))
	local s = accepted:pop()
	T.eq(tcp.write(c, "m"), true, "tcp.write(conn, data)")
	T.eq(tcp.read(s, 1), "m", "tcp.read(conn, n)")
	tcp.write(c, "line\n")
	T.eq(tcp.readline(s), "line\n", "tcp.readline(conn)")
	T.eq(tcp.isalive(c), true, "tcp.isalive(conn)")
	T.eq(tcp.recvsize(s), 0, "tcp.recvsize(conn)")
	T.eq(tcp.sendsize(c), 0, "tcp.sendsize(conn)")
	tcp.limit(s, nil)
	T.eq(tcp.close(c), true, "tcp.close(conn)")
	T.eq(tcp.close(s), true, "tcp.close(accepted conn)")
	time.sleep(0)
end

T.eq(l:close(), true, "close the listener")
T.done()
