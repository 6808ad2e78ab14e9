-- IPv6 on the loopback: listen on [::1], connect, echo, and the "[v6]:port" address format
-- (docs/addr.md#address-strings). Skipped, with a note, when the machine has no IPv6 loopback.
local T = require "testaux"
local tcp = require "silly.net.tcp"
local errno = require "silly.errno"
local channel = require "silly.sync.channel"

T.limit(10000)

local accepted = channel.new()
local l, err = tcp.listen({
	addr = "[::1]:0",
	accept = function(c)
		accepted:push(c)
	end,
})
if not l and (err == errno.ADDRNOTAVAIL or err == errno.AFNOSUPPORT) then
	print("# skipped: no IPv6 loopback on this machine (" .. tostring(err) .. ")")
	T.done()
end
T.check(l ~= nil, "listen on [::1]:0", tostring(err))
local where = l:localaddr()
T.match(where, "^%[::1%]:%d+$", "localaddr is [::1]:port")

local c, cerr = tcp.connect(where)
T.check(c ~= nil, "connect to " .. where, tostring(cerr))
local s = accepted:pop()
T.eq(c.remoteaddr, where, "the client's remoteaddr is the address as passed")
T.match(s.remoteaddr, "^%[::1%]:%d+$", "the accepted conn's remoteaddr is [::1]:port")
c:write("over v6\n")
T.eq(s:readline(), "over v6\n", "data client -> server")
s:write("back\n")
T.eq(c:readline(), "back\n", "data server -> client")
c:close()
s:close()

-- bind to [::1]:0 for an IPv6 peer; bind to IPv4 for it is a family mismatch
local b, berr = tcp.connect(where, { bind = "[::1]:0" })
T.check(b ~= nil, "connect with bind = [::1]:0", tostring(berr))
if b then
	accepted:pop():close()
	b:close()
end
local x, xerr = tcp.connect(where, { bind = "127.0.0.1:0" })
T.check(x == nil and xerr == errno.AFNOSUPPORT, "bind to IPv4 for an IPv6 peer: AFNOSUPPORT", tostring(xerr))

-- IPv4 clients do not reach a listener bound to [::1]
local port = where:match(":(%d+)$")
local v4, v4err = tcp.connect("127.0.0.1:" .. port)
T.check(v4 == nil and v4err == errno.CONNREFUSED, "127.0.0.1 is refused by a [::1] listener", tostring(v4err))

l:close()
T.done()
