-- The cache against dnsmasq: answers keep being served after the server is gone, until their
-- TTL ends; negative answers too; TTL 0 never. The server is stopped halfway (--dnspid).
local T = require "testaux"
local env = require "silly.env"
local dns = require "silly.net.dns"
local errno = require "silly.errno"
local task = require "silly.task"
local time = require "silly.time"

T.limit(20000)

local port = assert(env.get("dnsport"), "--dnsport missing")
local pid = assert(tonumber(env.get("dnspid")), "--dnspid missing")
dns.conf({ nameservers = { "127.0.0.1:" .. port }, timeout = 1 })
local now = time.monotonic

T.eq(dns.lookup("short.test", dns.A), "127.0.0.4", "short.test (TTL 2 s)")
-- TTLs count from when the answers arrived: at the latest now.
local t_short = now()
T.eq(dns.lookup("a.test", dns.A), "127.0.0.2", "a.test (TTL 60 s)")
T.eq(dns.lookup("www.test", dns.A), "127.0.0.2", "www.test via CNAMEs")
T.eq(dns.lookup("zero.test", dns.A), "127.0.0.9", "zero.test (TTL 0)")
T.eq(#dns.resolve("nx.test", dns.A), 0, "nx.test (NXDOMAIN)")
local t_nx = now()

-- Stop the server and wait until it no longer answers.
os.execute("kill " .. pid)
local gone
for i = 1, 100 do
	local r, e = dns.lookup("probe" .. i .. ".test", dns.A, 200)
	if r == nil and e ~= nil then
		gone = e
		break
	end
	time.sleep(20)
end
T.check(gone ~= nil, "the server is gone", tostring(gone))

local ran = false
task.fork(function()
	ran = true
end)
T.eq(dns.lookup("a.test", dns.A), "127.0.0.2", "a cached answer outlives the server")
T.eq(dns.lookup("www.test", dns.A), "127.0.0.2", "so does a cached CNAME chain")
local nx, ne = dns.resolve("nx.test", dns.A)
T.check(nx and #nx == 0 and ne == nil, "the negative answer is cached too")
T.eq(ran, false, "cache hits did not suspend")
if now() - t_short < 1500 then
	T.eq(dns.lookup("short.test", dns.A), "127.0.0.4", "short.test within its TTL")
end
local z, ze = dns.lookup("zero.test", dns.A)
T.check(z == nil and ze ~= nil, "TTL 0 was not cached", tostring(ze))

-- After the TTL, the server is asked again, and it is gone.
time.sleep(math.max(0, 2300 - (now() - t_short)))
local s, serr = dns.lookup("short.test", dns.A)
T.check(s == nil and serr ~= nil, "short.test expired after 2 s", tostring(serr))
T.check(serr == errno.CONNREFUSED or serr == errno.TIMEDOUT, "the error names the dead server", tostring(serr))
T.eq(dns.lookup("a.test", dns.A), "127.0.0.2", "a.test still cached")
time.sleep(math.max(0, 5300 - (now() - t_nx)))
nx, ne = dns.resolve("nx.test", dns.A)
T.check(nx == nil and ne ~= nil, "NXDOMAIN without SOA is remembered for 5 s", tostring(ne))
T.done()
