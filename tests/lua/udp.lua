-- silly.net.udp on the loopback (docs/udp.md, docs/connections.md#isalive): echo round trips with text
-- addresses (IPv4, IPv6, dual-stack), the stash, timeouts, close, ICMP errors on a connected
-- socket, and every malformed address answered with INVAL.
local T = require "testaux"
local udp = require "silly.net.udp"
local errno = require "silly.errno"
local task = require "silly.task"
local time = require "silly.time"
local channel = require "silly.sync.channel"

T.limit(10000)

-- Bound IPv4 socket, a connected client, echo through the recvfrom address.
local srv, err = udp.bind("127.0.0.1:0")
T.check(srv ~= nil, "bind 127.0.0.1:0", tostring(err))
local where = srv:localaddr()
T.match(where, "^127%.0%.0%.1:%d+$", "localaddr is ip:port")
T.eq(type(srv.fd), "number", "fd is a number")
local cli, cerr = udp.connect(where)
T.check(cli ~= nil, "connect to " .. where, tostring(cerr))
T.eq(cli.remoteaddr, where, "remoteaddr is the address as passed")
T.eq(cli:sendto("ping"), true, "sendto on a connected socket needs no address")
local data, from = srv:recvfrom(1000)
T.eq(data, "ping", "server receives the datagram")
T.eq(from, cli:localaddr(), "the sender is the client's ip:port text")
T.eq(srv:sendto("pong:" .. data, from), true, "sendto the recvfrom address")
local back, bfrom = cli:recvfrom(1000)
T.eq(back, "pong:ping", "the echo comes back")
T.eq(bfrom, where, "the connected socket reports the peer as ip:port")
T.eq(cli:sendto({ "a", 1, "b" }), true, "sendto an array of pieces")
T.eq(srv:recvfrom(1000), "a1b", "pieces arrive as one datagram")
T.eq(cli:sendto(""), true, "an empty datagram")
T.eq(srv:recvfrom(1000), "", "an empty datagram arrives as \"\"")
T.raises("bad argument #1 to 'sendto'", "sendto(true) raises", cli.sendto, cli, true)

-- Malformed or missing addresses never crash and never vanish silently (docs/udp.md#addresses).
for _, bad in ipairs({ "nope", "127.0.0.1", "::1:80", "[::1]", "1.2.3.4:99999", "1.2.3.4:", "[x]:1", "a:b:c" }) do
	local ok, e = srv:sendto("x", bad)
	T.check(ok == false and e == errno.INVAL, "sendto '" .. bad .. "' gives INVAL", tostring(ok) .. " " .. tostring(e))
end
local ok, e = srv:sendto("x", 12)
T.check(ok == false and e == errno.INVAL, "sendto a number address gives INVAL", tostring(e))
ok, e = srv:sendto("x")
T.check(ok == false and e == errno.DESTADDRREQ, "sendto without address on a bound socket", tostring(e))
ok, e = srv:sendto(string.rep("x", 70000), from)
T.check(ok == false and e == errno.MSGSIZE, "an oversized datagram gives MSGSIZE", tostring(e))
ok, e = srv:sendto("x", "[::1]:9")
T.check(ok == false and e == errno.AFNOSUPPORT, "an IPv6 peer from an IPv4 socket", tostring(e))
T.eq(srv:sendto("x", "[127.0.0.1]:" .. cli:localaddr():match(":(%d+)$")), true, "brackets around IPv4 are accepted")
T.eq(cli:recvfrom(1000), "x", "and the datagram arrives")

-- Stash: datagrams that arrive with nobody reading wait, in order.
for i = 1, 3 do
	cli:sendto("d" .. i)
end
local deadline = time.monotonic() + 1000
while srv:unreadbytes() < 6 and time.monotonic() < deadline do
	time.sleep(5)
end
T.eq(srv:unreadbytes(), 6, "unreadbytes counts the stashed datagrams")
T.eq(srv:unsentbytes(), 0, "unsentbytes is 0 when the kernel took everything")
T.eq(srv:recvfrom(), "d1", "stash FIFO 1")
T.eq(srv:recvfrom(), "d2", "stash FIFO 2")
T.eq(srv:recvfrom(), "d3", "stash FIFO 3")
T.eq(srv:unreadbytes(), 0, "stash drained")

-- recvfrom timeout, then the socket still works.
local t0 = time.monotonic()
local d, te = srv:recvfrom(50)
local waited = time.monotonic() - t0
T.check(d == nil and te == errno.TIMEDOUT, "recvfrom timeout gives TIMEDOUT", tostring(te))
T.check(waited >= 45 and waited < 1000, "the timeout took about 50 ms", waited .. " ms")
cli:sendto("after timeout")
T.eq(srv:recvfrom(1000), "after timeout", "usable after a timeout")

-- One receiver at a time; close wakes it with CLOSED.
local woken = channel.new()
task.fork(function()
	woken:push({ srv:recvfrom() })
end)
time.sleep(10)
T.raises("another task is already receiving", "a second concurrent recvfrom raises", srv.recvfrom, srv, 10)
T.eq(srv:close(), true, "close returns true")
local r = woken:pop()
T.check(r[1] == nil and r[2] == errno.CLOSED, "the blocked receiver gets CLOSED", tostring(r[2]))
T.eq(srv.fd, nil, "fd is nil after close")
local c2, c2e = srv:close()
T.check(c2 == false and c2e == errno.CLOSED, "second close gives false, CLOSED")
T.eq(srv:isalive(), false, "isalive is false after close")
local s1, s2 = srv:sendto("x", from)
T.check(s1 == false and s2 == errno.CLOSED, "sendto after close gives CLOSED")
local r1, r2 = srv:recvfrom(10)
T.check(r1 == nil and r2 == errno.CLOSED, "recvfrom after close gives CLOSED")
T.eq(srv:unreadbytes(), 0, "unreadbytes after close")

-- ICMP port unreachable kills a connected socket with CONNREFUSED (docs/udp.md#icmp-errors).
T.eq(cli:isalive(), true, "the client is alive")
T.eq(cli:sendto("to a closed port"), true, "the first send to a closed port still succeeds")
local x1, x2 = cli:recvfrom(1000)
T.check(x1 == nil and x2 == errno.CONNREFUSED, "recvfrom reports CONNREFUSED", tostring(x2))
T.eq(cli:isalive(), false, "isalive is false after the error")
local y1, y2 = cli:sendto("again")
T.check(y1 == false and y2 == errno.CLOSED, "sendto on the dead socket gives CLOSED", tostring(y2))
T.eq(cli:close(), true, "closing a dead socket returns true")

-- Address errors of bind and connect.
local function fails(f, a, want, name)
	local s, fe = f(a)
	T.check(s == nil and fe == want, name, tostring(fe))
	if s then
		s:close()
	end
end
fails(udp.bind, "127.0.0.1", errno.INVAL, "bind without port: INVAL")
fails(udp.bind, "example.test:0", errno.RESOLVE, "bind to a name: RESOLVE")
fails(udp.bind, "999.1.1.1:0", errno.RESOLVE, "bind to an invalid IP: RESOLVE")
fails(udp.connect, ":9", errno.INVAL, "connect without host: INVAL")
fails(udp.connect, "127.0.0.1", errno.INVAL, "connect without port: INVAL")
local a = udp.bind("127.0.0.1:0")
fails(udp.bind, a:localaddr(), errno.ADDRINUSE, "a second bind to the same port: ADDRINUSE")
local fam, fe = udp.connect(a:localaddr(), { bindaddr = "[::1]:0" })
T.check(fam == nil and (fe == errno.AFNOSUPPORT), "bindaddr of the other family: AFNOSUPPORT", tostring(fe))
local lc = udp.connect("localhost:" .. a:localaddr():match(":(%d+)$"), { bindaddr = "127.0.0.1:0" })
T.check(lc ~= nil, "connect to localhost:port with bindaddr")
lc:sendto("via localhost")
T.eq(a:recvfrom(1000), "via localhost", "datagram through localhost")
lc:close()
a:close()

-- IPv6 and the dual-stack wildcard.
local v6, v6e = udp.bind("[::1]:0")
if not v6 then
	print("# skipped IPv6: " .. tostring(v6e))
else
	local v6where = v6:localaddr()
	T.match(v6where, "^%[::1%]:%d+$", "IPv6 localaddr is [::1]:port")
	local c6 = udp.bind("[::1]:0")
	T.eq(c6:sendto("six", v6where), true, "sendto [::1]:port")
	local d6, f6 = v6:recvfrom(1000)
	T.eq(d6, "six", "IPv6 datagram")
	T.eq(f6, c6:localaddr(), "the IPv6 sender as [v6]:port")
	v6:sendto("xis", f6)
	T.eq(c6:recvfrom(1000), "xis", "IPv6 echo")
	c6:close()
	v6:close()

	local any = udp.bind(":0")
	T.check(any ~= nil, "bind :0 (dual-stack wildcard)")
	local port = any:localaddr():match(":(%d+)$")
	local c4 = udp.connect("127.0.0.1:" .. port)
	c4:sendto("mapped")
	local dm, fm = any:recvfrom(1000)
	T.eq(dm, "mapped", "IPv4 datagram on the dual-stack socket")
	T.match(fm, "^%[::ffff:127%.0%.0%.1%]:%d+$", "an IPv4 sender appears as a mapped address")
	any:sendto("reply", fm)
	T.eq(c4:recvfrom(1000), "reply", "reply through the mapped address")
	any:sendto("plain", c4:localaddr())
	T.eq(c4:recvfrom(1000), "plain", "an IPv4 text address works on the dual-stack socket")
	c4:close()
	any:close()
end

-- Garbage collection closes an unreferenced socket; with nothing open the process can end.
do
	local _ = udp.bind("127.0.0.1:0")
end
collectgarbage()
collectgarbage()
T.done()
