-- Every numeric argument and option of every module, fed NaN, +inf, -inf, 2^63 and -0.0:
-- each gives a clean "bad argument" error or the documented clamp, never a Rust panic
-- (tests/it/lua_scripts.rs fails any script whose stderr says "panicked").
--
-- Expectations per value, in the order of VALUES: "raise" (a bad argument error naming the
-- function) or "ok" (accepted, as the module's docs say: a negative or zero timeout means
-- "now", DNS timeouts clamp to [0.001, 30] seconds, a count of 0 reads "").
local T = require "testaux"
local task = require "silly.task"
local time = require "silly.time"
local logger = require "silly.logger"
local tcp = require "silly.net.tcp"
local tls = require "silly.net.tls"
local udp = require "silly.net.udp"
local dns = require "silly.net.dns"
local silly = require "silly"

T.limit(20000)

local VALUES = { 0 / 0, math.huge, -math.huge, 2 ^ 63, -0.0 }
local NAMES = { "NaN", "inf", "-inf", "2^63", "-0.0" }
local RAISE_ALL = { "raise", "raise", "raise", "raise", "raise" }
-- Milliseconds: an integer-valued number; -0.0 is 0 ("now").
local MS = { "raise", "raise", "raise", "raise", "ok" }

local rd = T.fixture
local CERTS = { { cert = rd("server-rsa-chain.crt"), key = rd("server-rsa.key") } }

---Runs `call(v)` for each value and checks the outcome against `want`.
local function each(what, fname, want, call)
	for i, v in ipairs(VALUES) do
		local name = what .. "(" .. NAMES[i] .. ")"
		local ok, err = pcall(call, v)
		if want[i] == "raise" then
			T.check(not ok and tostring(err):match("bad argument #%d+ to '" .. fname .. "'"), name .. " raises",
				tostring(err))
		else
			T.check(ok, name .. " is accepted", tostring(err))
		end
	end
end

task.fork(function()
	-- silly, silly.time, silly.logger
	each("exit", "exit", { "raise", "raise", "raise", "raise" }, function(v)
		if v == 0 then
			return -- -0.0 would really exit (with status 0, as documented)
		end
		silly.exit(v)
	end)
	each("sleep", "sleep", MS, time.sleep)
	each("after", "after", MS, function(v)
		time.cancel(time.after(v, function() end))
	end)
	each("cancel", "cancel", { "ok", "ok", "ok", "ok", "ok" }, time.cancel)
	-- -0.0 is the integer 0, level DEBUG.
	each("setlevel", "setlevel", MS, logger.setlevel)

	-- silly.net.tcp: listener options, connect options, connection methods
	local noop = function() end
	each("tcp.listen backlog", "listen", RAISE_ALL, function(v)
		local l = tcp.listen({ addr = "127.0.0.1:0", accept = noop, backlog = v })
		if l then
			l:close()
		end
	end)
	local peer = assert(tcp.listen({
		addr = "127.0.0.1:0",
		accept = function(c)
			c:write("x")
		end,
	}))
	local where = peer:localaddr()
	each("tcp.connect timeout", "connect", MS, function(v)
		local c = tcp.connect(where, { timeout = v })
		if c then
			c:close()
		end
	end)
	local c = assert(tcp.connect(where))
	assert(c:read(1) == "x")
	-- Byte counts are floored for TCP (the reference's behaviour): -0.0 reads "".
	each("tcp read count", "read", MS, function(v)
		assert(c:read(v, 0) == "" or v ~= 0)
	end)
	each("tcp read timeout", "read", MS, function(v)
		c:read(1, v)
	end)
	each("tcp readline timeout", "readline", MS, function(v)
		c:readline("\n", v)
	end)
	each("tcp flush timeout", "flush", MS, function(v)
		c:flush(v)
	end)
	each("tcp limit", "limit", MS, function(v)
		c:limit(v)
	end)
	c:close()
	peer:close()

	-- silly.net.tls: listener options, connect options, the strict connection methods
	each("tls.listen backlog", "listen", RAISE_ALL, function(v)
		local l = tls.listen({ addr = "127.0.0.1:0", accept = noop, certs = CERTS, backlog = v })
		if l then
			l:close()
		end
	end)
	each("tls.listen handshaketimeout", "listen", RAISE_ALL, function(v)
		local l = tls.listen({ addr = "127.0.0.1:0", accept = noop, certs = CERTS, handshaketimeout = v })
		if l then
			l:close()
		end
	end)
	local tpeer = assert(tls.listen({
		addr = "127.0.0.1:0",
		certs = CERTS,
		accept = function(s)
			s:write("x")
			s:close()
		end,
	}))
	local twhere = "localhost:" .. tpeer:localaddr():match(":(%d+)$")
	each("tls.listener reload handshaketimeout", "reload", RAISE_ALL, function(v)
		tpeer:reload({ handshaketimeout = v })
	end)
	local CA = rd("ca.crt")
	each("tls.connect timeout", "connect", MS, function(v)
		local s = tls.connect(twhere, { ca = CA, timeout = v })
		if s then
			s:close()
		end
	end)
	local s = assert(tls.connect(twhere, { ca = CA }))
	assert(s:read(1) == "x")
	each("tls read count", "read", MS, function(v)
		s:read(v, 0)
	end)
	each("tls read timeout", "read", MS, function(v)
		s:read(1, v)
	end)
	each("tls limit", "limit", RAISE_ALL, function(v)
		s:limit(v)
	end)
	s:close()
	tpeer:close()

	-- silly.net.udp
	local u = assert(udp.bind("127.0.0.1:0"))
	each("udp recvfrom timeout", "recvfrom", MS, function(v)
		u:recvfrom(v)
	end)
	each("udp.connect timeout", "connect", MS, function(v)
		local x = udp.connect(u:localaddr(), { timeout = v })
		if x then
			x:close()
		end
	end)
	u:close()

	-- silly.net.dns (no query leaves the machine: the names are IP literals or refused early)
	each("dns.lookup timeout", "lookup", MS, function(v)
		dns.lookup("127.0.0.1", dns.A, v)
	end)
	each("dns.lookup qtype", "lookup", RAISE_ALL, function(v)
		dns.lookup("127.0.0.1", v)
	end)
	local ns = { "127.0.0.1:5353" }
	-- Seconds per attempt: clamped to [0.001, 30]; NaN and -inf are not seconds.
	each("dns.conf timeout", "conf", { "raise", "ok", "raise", "ok", "ok" }, function(v)
		dns.conf({ nameservers = ns, timeout = v })
	end)
	each("dns.conf attempts", "conf", RAISE_ALL, function(v)
		dns.conf({ nameservers = ns, attempts = v })
	end)
	each("dns.conf ndots", "conf", RAISE_ALL, function(v)
		dns.conf({ nameservers = ns, ndots = v })
	end)
	T.done()
end)
