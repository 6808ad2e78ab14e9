-- silly.net.dns against dnsmasq (started by tests/it/dns.rs with the records of its command line):
-- A, AAAA, CNAME chains, SRV, NXDOMAIN, NODATA, REFUSED, TCP fallback, the search list,
-- absolute names, merged lookups, and an IPv6 nameserver (docs/dns.md#compared-with-the-reference-framework).
local T = require "testaux"
local env = require "silly.env"
local dns = require "silly.net.dns"
local task = require "silly.task"
local time = require "silly.time"
local channel = require "silly.sync.channel"

T.limit(30000)

local port = assert(env.get("dnsport"), "--dnsport missing")
local server = "127.0.0.1:" .. port
dns.conf({ nameservers = { server }, timeout = 2 })
local now = time.monotonic

T.eq(dns.lookup("a.test", dns.A), "127.0.0.2", "A")
T.eq(dns.lookup("a.test", dns.AAAA), "::2", "AAAA in canonical form")
T.eq(dns.lookup("A.Test.", dns.A), "127.0.0.2", "case and a trailing dot")
T.eq(dns.lookup("v4only.test.", dns.A), "127.0.0.3", "an absolute name, not cached before")

-- CNAME chain www -> alias -> a.
T.eq(dns.lookup("www.test", dns.A), "127.0.0.2", "A through a CNAME chain")
T.eq(dns.lookup("www.test", dns.AAAA), "::2", "AAAA through a CNAME chain")
T.eq(dns.lookup("alias.test", dns.A), "127.0.0.2", "the middle of the chain")
T.eq(dns.lookup("www.test", dns.CNAME), "alias.test", "the CNAME itself")

-- SRV records as tables.
local srv, se = dns.resolve("_sip._tcp.test", dns.SRV)
T.check(srv and #srv == 2, "two SRV records", tostring(se))
local by_port = {}
for _, s in ipairs(srv or {}) do
	by_port[s.port] = s
end
local s1 = by_port[5060] or {}
T.check(s1.priority == 10 and s1.weight == 20 and s1.target == "a.test", "SRV fields", tostring(s1.target))
local s2 = by_port[5061] or {}
T.check(s2.priority == 20 and s2.weight == 30 and s2.target == "v4only.test", "second SRV record")

-- NXDOMAIN: fast, an empty result, no error (reference).
local t0 = now()
local nx, ne = dns.resolve("nx.test", dns.A)
local took = now() - t0
T.check(type(nx) == "table" and #nx == 0 and ne == nil, "NXDOMAIN: resolve gives {}", tostring(ne))
T.check(took < 500, "NXDOMAIN answered fast", took .. " ms")
print("# NXDOMAIN from dnsmasq in " .. took .. " ms")
local l1, l2 = dns.lookup("nx.test", dns.AAAA)
T.check(l1 == nil and l2 == nil, "NXDOMAIN: lookup gives nil, nil")

-- NODATA without SOA, REFUSED, a type whose records are not parsed.
local r, e = dns.lookup("v4only.test", dns.AAAA)
T.check(r == nil and e == "Not found", "NODATA: Not found", tostring(e))
r, e = dns.lookup("outside.example", dns.A)
T.check(r == nil and e == "Server failure", "REFUSED: Server failure", tostring(e))
r, e = dns.lookup("txt.test", 16)
T.check(r == nil and e == "Not found", "TXT is asked but not parsed: Not found", tostring(e))

-- A large answer: truncated over UDP, fetched again over TCP.
t0 = now()
local big, be = dns.resolve("big.test", dns.A)
took = now() - t0
T.check(big and #big == 300, "300 records through the TCP fallback", tostring(big and #big or be))
local seen = {}
for _, ip in ipairs(big or {}) do
	seen[ip] = true
end
T.check(seen["10.0.0.1"] and seen["10.0.1.44"], "first and last records present")
print("# 300-record answer (UDP truncated, then TCP) in " .. took .. " ms")

-- Merged lookups through a real server.
local results = channel.new()
for _ = 1, 5 do
	task.fork(function()
		results:push(dns.lookup("web.test", dns.A))
	end)
end
local got = 0
for _ = 1, 5 do
	if results:pop() == "127.0.0.1" then
		got = got + 1
	end
end
T.eq(got, 5, "five concurrent lookups of one name")

-- Search list: a bare name is tried first, then under each search domain (ndots 1).
dns.conf({ nameservers = { server }, search = { "nowhere.test", "search.test" }, ndots = 1, timeout = 2 })
T.eq(dns.lookup("a", dns.A), "127.0.0.5", "a short name found under a search domain")
r, e = dns.lookup("a.", dns.A)
T.check(r == nil, "an absolute name skips the search list", tostring(e))
dns.conf({ nameservers = { server }, search = { "search.test" }, ndots = 0, timeout = 2 })
r = dns.lookup("a", dns.A)
T.eq(r, nil, "ndots 0: no search")

-- IPv6 nameserver, with brackets and port (docs/dns.md#compared-with-the-reference-framework).
if env.get("dnsv6") == "1" then
	dns.conf({ nameservers = { "[::1]:" .. port }, timeout = 2 })
	T.eq(dns.lookup("a.test", dns.AAAA), "::2", "through an IPv6 nameserver")
	local b6 = dns.resolve("big.test", dns.A)
	T.eq(b6 and #b6, 300, "TCP fallback to an IPv6 nameserver")
else
	print("# skipped: no IPv6 loopback")
end
T.done()
