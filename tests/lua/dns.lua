-- silly.net.dns against hand-made servers on 127.0.0.1 (docs/dns.md, docs/addr.md#host-names):
-- argument checks, names, IP literals, the hosts table, timeouts and retries against a server
-- that never answers, a refused port, garbage and mismatched answers, merged queries, the
-- cache, server failure, failover across calls, reconfiguration, and tcp.connect's timeout
-- counting the lookup. Real-server tests (dnsmasq) are in tests/it/dns.rs.
local T = require "testaux"
local dns = require "silly.net.dns"
local udp = require "silly.net.udp"
local tcp = require "silly.net.tcp"
local errno = require "silly.errno"
local task = require "silly.task"
local time = require "silly.time"
local channel = require "silly.sync.channel"

T.limit(20000)

local now = time.monotonic
local pack, unpack = string.pack, string.unpack

-- Nothing here may reach the system's nameservers.
dns.conf({ nameservers = {} })

-- Arguments and names --------------------------------------------------------------------
T.raises("bad argument #1 to 'lookup'", "lookup(nil) raises", dns.lookup, nil, dns.A)
T.raises("bad argument #2 to 'resolve'", "resolve without type raises", dns.resolve, "a.test")
T.raises("bad argument #2 to 'lookup'", "type 0 raises", dns.lookup, "a.test", 0)
T.raises("bad argument #3 to 'lookup'", "a bad timeout raises", dns.lookup, "a.test", dns.A, {})
T.raises("bad argument #1 to 'conf'", "conf(nil) raises", dns.conf)
T.raises("bad nameserver", "conf with a malformed nameserver raises", dns.conf, { nameservers = { "dns.example" } })
T.eq(dns.A, 1, "dns.A")
T.eq(dns.AAAA, 28, "dns.AAAA")
T.eq(dns.SRV, 33, "dns.SRV")
T.eq(dns.isname("example.com"), true, "isname(name)")
T.eq(dns.isname("127.0.0.1"), false, "isname(IPv4)")
T.eq(dns.isname("::1"), false, "isname(IPv6)")
T.eq(dns.isname("[::1]"), true, "isname('[::1]') as in the reference")
T.eq(dns.isname(""), true, "isname('') as in the reference")

local label63, label64 = string.rep("a", 63), string.rep("b", 64)
local long = label63 .. "." .. label63 .. "." .. label63 .. "." .. string.rep("c", 62) -- 254
for _, bad in ipairs({ "", ".", "a..b", ".a", "a b", label64 .. ".test", long, "x\0y", "é.test", "a.b.." }) do
	local r, e = dns.resolve(bad, dns.A)
	T.check(r == nil and e == "Invalid name", "invalid name " .. string.format("%q", bad):sub(1, 30), tostring(e))
end
local r0, e0 = dns.lookup(label63 .. ".test", dns.A)
T.check(r0 == nil and e0 == "No nameserver", "a 63-byte label is valid (then: no nameserver)", tostring(e0))

-- IP literals come back as they are, whatever the type.
T.eq(dns.lookup("127.0.0.1", dns.AAAA), "127.0.0.1", "IPv4 literal, AAAA asked")
T.eq(dns.lookup("::1", dns.A), "::1", "IPv6 literal")
local lit = dns.resolve("2001:db8::1", dns.SRV)
T.check(#lit == 1 and lit[1] == "2001:db8::1", "resolve of a literal is {literal}")

-- Hosts table -----------------------------------------------------------------------------
dns.sethosts("10.9.8.7 Host.Example alias.example # comment\n::9 host.example\n10.9.8.8 host.example\nbad line\n")
local hr = dns.resolve("host.example", dns.A)
T.check(hr and #hr == 2 and hr[1] == "10.9.8.7" and hr[2] == "10.9.8.8", "hosts entries in file order")
T.eq(dns.lookup("HOST.example.", dns.A), "10.9.8.7", "hosts lookup ignores case and a trailing dot")
T.eq(dns.lookup("host.example", dns.AAAA), "::9", "hosts AAAA")
T.eq(dns.lookup("alias.example", dns.A), "10.9.8.7", "second name of a hosts line")
dns.sethosts("10.9.8.6 host.example\n")
T.eq(#dns.resolve("host.example", dns.A), 1, "sethosts replaces the (name, family) it mentions")
T.eq(dns.lookup("host.example", dns.A), "10.9.8.6", "the new address")
T.eq(dns.lookup("host.example", dns.AAAA), "::9", "the other family is kept")
T.eq(dns.lookup("alias.example", dns.A), "10.9.8.7", "other names are kept")
local nr, ne = dns.lookup("host.example", dns.SRV)
T.check(nr == nil and ne == "No nameserver", "SRV never consults the hosts table", tostring(ne))
-- /etc/hosts is read at start: its first IPv4 localhost line answers.
local f = io.open("/etc/hosts")
if f then
	local want
	for line in f:lines() do
		local ip, names = line:gsub("#.*", ""):match("^%s*(%d+%.%d+%.%d+%.%d+)%s+(.*)$")
		if ip and (" " .. names .. " "):find("%slocalhost%s") and not want then
			want = ip
		end
	end
	f:close()
	if want then
		T.eq(dns.lookup("LocalHost", dns.A), want, "/etc/hosts answers localhost")
	end
end

-- Hand-made servers -----------------------------------------------------------------------

---The id, name, type and raw question of a query.
local function parse_query(pkt)
	local id = unpack(">I2", pkt)
	local pos, labels = 13, {}
	while true do
		local len = pkt:byte(pos)
		if not len or len == 0 then
			pos = pos + 1
			break
		end
		labels[#labels + 1] = pkt:sub(pos + 1, pos + len)
		pos = pos + len + 1
	end
	local qtype = unpack(">I2", pkt, pos)
	return id, table.concat(labels, "."), qtype, pkt:sub(13, pos + 3)
end

---An answer to `pkt` with A records `ips` (opts: id, ttl, rcode, flags).
local function answer(pkt, ips, opts)
	opts = opts or {}
	local id, _, _, question = parse_query(pkt)
	local rrs = {}
	for i, ip in ipairs(ips) do
		local a, b, c, d = ip:match("(%d+)%.(%d+)%.(%d+)%.(%d+)")
		rrs[i] = pack(">I2I2I2I4I2BBBB", 0xC00C, 1, 1, opts.ttl or 60, 4, a, b, c, d)
	end
	local flags = (opts.flags or 0x8180) | (opts.rcode or 0)
	return pack(">I2I2I2I2I2I2", opts.id or id, flags, 1, #ips, 0, 0) .. question .. table.concat(rrs)
end

-- A server whose behaviour each test sets through `handler(pkt, from)`.
local fake = udp.bind("127.0.0.1:0")
local fake_addr = fake:localaddr()
local handler
local queries = 0
local fake_done = channel.new()
task.fork(function()
	while true do
		local pkt, from = fake:recvfrom()
		if not pkt then
			break
		end
		queries = queries + 1
		if handler then
			handler(pkt, from)
		end
	end
	fake_done:push(true)
end)

-- A server that never answers: a bound socket nobody reads.
local silent = udp.bind("127.0.0.1:0")
local function drain(s)
	local n = 0
	while s:recvfrom(0) do
		n = n + 1
	end
	return n
end

-- Per-attempt timeout and attempts: 2 sends, then TIMEDOUT.
dns.conf({ nameservers = { silent:localaddr() }, timeout = 0.15, attempts = 2 })
local t0 = now()
local r, e = dns.lookup("slow.test", dns.A, 3000)
local took = now() - t0
T.check(r == nil and e == errno.TIMEDOUT, "silent server: TIMEDOUT", tostring(e))
T.check(took >= 280 and took < 1500, "attempts x timeout bounds the wait (300 ms)", took .. " ms")
T.eq(drain(silent), 2, "the question was sent once per attempt")
-- The caller's timeout, default: one attempt's timeout.
t0 = now()
r, e = dns.lookup("slow2.test", dns.A)
took = now() - t0
T.check(e == errno.TIMEDOUT and took >= 140 and took < 1000, "default call timeout is the per-attempt timeout", took .. " ms")
dns.conf({ nameservers = { silent:localaddr() }, timeout = 5 })
t0 = now()
r, e = dns.lookup("slow3.test", dns.AAAA, 200)
took = now() - t0
T.check(e == errno.TIMEDOUT and took >= 190 and took < 1000, "an explicit call timeout of 200 ms", took .. " ms")
drain(silent)

-- docs/addr.md#host-names: tcp.connect by name counts the lookup against its timeout.
t0 = now()
local c, ce = tcp.connect("web.test:80", { timeout = 300 })
took = now() - t0
T.check(c == nil and ce == errno.TIMEDOUT, "tcp.connect with a silent nameserver: TIMEDOUT", tostring(ce))
T.check(took >= 290 and took < 1200, "the lookup used the connect timeout", took .. " ms")
drain(silent)

-- Reconfiguring ends queries in flight.
local reconf = channel.new()
task.fork(function()
	reconf:push({ dns.lookup("pending.test", dns.A, 5000) })
end)
time.sleep(20)
dns.conf({ nameservers = { fake_addr }, timeout = 1 })
local rr = reconf:pop()
T.check(rr[1] == nil and rr[2] == "Dns reconfigured", "conf during a query: Dns reconfigured", tostring(rr[2]))
drain(silent)

-- A refused port answers fast (docs/dns.md#compared-with-the-reference-framework: no waiting for the timeout).
local dead = udp.bind("127.0.0.1:0")
local dead_addr = dead:localaddr()
dead:close()
dns.conf({ nameservers = { dead_addr }, timeout = 2 })
t0 = now()
r, e = dns.lookup("refused.test", dns.A)
took = now() - t0
T.check(r == nil and e == errno.CONNREFUSED, "a closed nameserver port: CONNREFUSED", tostring(e))
T.check(took < 500, "and fast", took .. " ms")
print("# refused nameserver answered in " .. took .. " ms")

-- Garbage, a wrong ID, a wrong name, a query echoed back: all ignored; the real answer wins.
dns.conf({ nameservers = { fake_addr }, timeout = 1 })
handler = function(pkt, from)
	local id = parse_query(pkt)
	fake:sendto("garbage", from)
	fake:sendto(string.rep("\255", 40), from)
	fake:sendto(answer(pkt, { "6.6.6.6" }, { id = (id + 1) & 0xffff }), from)
	fake:sendto(pkt, from)
	fake:sendto(answer(pkt, { "6.6.6.7" }):gsub("noise", "x"):sub(1, 20), from)
	fake:sendto(answer(pkt, { "10.0.0.1" }), from)
end
queries = 0
t0 = now()
r, e = dns.lookup("noise.test", dns.A)
took = now() - t0
T.eq(r, "10.0.0.1", "the matching answer is taken, the rest ignored")
T.check(took < 900, "without waiting for a retry", took .. " ms")
handler = function(pkt, from)
	fake:sendto("\0\0\0\0garbage only", from)
	fake:sendto(answer(pkt, { "6.6.6.6" }, { id = (parse_query(pkt) + 7) & 0xffff }), from)
end
t0 = now()
r, e = dns.lookup("garbage.test", dns.A, 300)
took = now() - t0
T.check(r == nil and e == errno.TIMEDOUT and took < 1500, "a server answering only garbage: TIMEDOUT at the call timeout", tostring(e) .. " " .. took .. " ms")

-- Server failure.
handler = function(pkt, from)
	fake:sendto(answer(pkt, {}, { rcode = 2 }), from)
end
r, e = dns.lookup("servfail.test", dns.A)
T.check(r == nil and e == "Server failure", "SERVFAIL: Server failure", tostring(e))

-- NXDOMAIN: an empty result, negative-cached.
handler = function(pkt, from)
	fake:sendto(answer(pkt, {}, { rcode = 3 }), from)
end
queries = 0
local nx = dns.resolve("nx.test", dns.A)
T.check(type(nx) == "table" and #nx == 0, "NXDOMAIN: resolve gives {}")
local l1, l2 = dns.lookup("nx.test", dns.A)
T.check(l1 == nil and l2 == nil, "NXDOMAIN: lookup gives nil, nil (cached)")
T.eq(queries, 1, "the negative answer was cached")

-- Merged queries: five tasks, one packet; then the cache answers without suspending.
local release = channel.new()
handler = function(pkt, from)
	release:pop()
	fake:sendto(answer(pkt, { "10.1.1.1", "10.1.1.2" }, { ttl = 30 }), from)
end
queries = 0
local results = channel.new()
for _ = 1, 5 do
	task.fork(function()
		results:push(dns.lookup("merged.test", dns.A))
	end)
end
time.sleep(50)
release:push(true)
local same = 0
for _ = 1, 5 do
	if results:pop() == "10.1.1.1" then
		same = same + 1
	end
end
T.eq(same, 5, "five concurrent lookups all answered")
T.eq(queries, 1, "the server saw a single query")
local ran = false
task.fork(function()
	ran = true
end)
local cached = dns.resolve("merged.test", dns.A)
T.check(#cached == 2 and cached[2] == "10.1.1.2", "a cache hit returns every record")
T.eq(ran, false, "a cache hit does not suspend")
cached[1] = "changed"
T.eq(dns.lookup("merged.test", dns.A), "10.1.1.1", "resolve returns a copy, not the cache")
T.eq(queries, 1, "no query for a cached name")

-- TTL 0 is used once, never cached.
handler = function(pkt, from)
	fake:sendto(answer(pkt, { "10.2.2.2" }, { ttl = 0 }), from)
end
queries = 0
T.eq(dns.lookup("zero.test", dns.A), "10.2.2.2", "TTL 0 answer")
T.eq(dns.lookup("zero.test", dns.A), "10.2.2.2", "TTL 0 answer again")
T.eq(queries, 2, "TTL 0 is not cached")

-- Truncated answer and nobody on TCP: a quick error, not a hang.
handler = function(pkt, from)
	fake:sendto(answer(pkt, { "10.3.3.3" }, { flags = 0x8380 }), from)
end
t0 = now()
r, e = dns.lookup("tc.test", dns.A, 2000)
took = now() - t0
T.check(r == nil and e ~= nil and took < 1500, "TC with no TCP server: an error", tostring(e) .. " " .. took .. " ms")

-- Failover across calls: the silent first server fails once, the next call uses the second.
handler = function(pkt, from)
	fake:sendto(answer(pkt, { "10.4.4.4" }), from)
end
dns.conf({ nameservers = { silent:localaddr(), fake_addr }, timeout = 0.1, attempts = 1 })
r, e = dns.lookup("failover.test", dns.A)
T.check(r == nil and e == errno.TIMEDOUT, "first call: the first server times out", tostring(e))
T.eq(dns.lookup("failover.test", dns.A), "10.4.4.4", "second call: the second server answers")
T.eq(dns.lookup("failover2.test", dns.A), "10.4.4.4", "and keeps answering")

silent:close()
fake:close()
fake_done:pop()
T.done()
