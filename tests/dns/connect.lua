-- Host names in tcp.connect and udp.connect resolve through silly.net.dns (docs/addr.md#host-names).
-- Every name here resolves to 127.0.0.1 on the test's own dnsmasq.
local T = require "testaux"
local env = require "silly.env"
local dns = require "silly.net.dns"
local tcp = require "silly.net.tcp"
local udp = require "silly.net.udp"
local errno = require "silly.errno"
local channel = require "silly.sync.channel"

T.limit(20000)

local port = assert(env.get("dnsport"), "--dnsport missing")
dns.conf({ nameservers = { "127.0.0.1:" .. port }, timeout = 2 })

local accepted = channel.new()
local l = assert(tcp.listen({
	addr = "127.0.0.1:0",
	accept = function(c)
		accepted:push(c)
	end,
}))
local lport = l:localaddr():match(":(%d+)$")

local c, err = tcp.connect("web.test:" .. lport, { timeout = 2000 })
T.check(c ~= nil, "tcp.connect to web.test", tostring(err))
if c then
	T.eq(c.remoteaddr, "web.test:" .. lport, "remoteaddr is the address as passed")
	local s = accepted:pop()
	c:write("hi\n")
	T.eq(s:read("\n"), "hi\n", "data over the connection")
	s:close()
	c:close()
end
c, err = tcp.connect("nx.test:" .. lport)
T.check(c == nil and err == errno.RESOLVE, "an unknown name: RESOLVE", tostring(err))
c, err = tcp.connect("v4only.test.:" .. lport, { timeout = 2000 })
T.check(c ~= nil or err == errno.CONNREFUSED, "an absolute name resolves", tostring(err))
if c then
	accepted:pop():close()
	c:close()
end
l:close()

local u = assert(udp.bind("127.0.0.1:0"))
local uport = u:localaddr():match(":(%d+)$")
local uc, uerr = udp.connect("web.test:" .. uport)
T.check(uc ~= nil, "udp.connect to web.test", tostring(uerr))
if uc then
	uc:sendto("over udp")
	T.eq(u:recvfrom(1000), "over udp", "datagram through a resolved name")
	uc:close()
end
uc, uerr = udp.connect("nx.test:" .. uport)
T.check(uc == nil and uerr == errno.RESOLVE, "udp.connect to an unknown name: RESOLVE", tostring(uerr))
u:close()
T.done()
