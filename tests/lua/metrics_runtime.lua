-- The built-in collectors of silly.metrics (docs/metrics.md#runtime-collector,
-- docs/metrics.md#process-collector): task and timer counts, open TCP and TLS connections
-- going up and back down, TLS handshakes that succeed and fail, and the process facts.
local T = require "testaux"
local task = require "silly.task"
local time = require "silly.time"
local tcp = require "silly.net.tcp"
local tls = require "silly.net.tls"
local prometheus = require "silly.metrics.prometheus"

T.limit(20000)

-- The value of an unlabelled sample in a fresh scrape.
local function value(name)
	local text = prometheus.gather()
	local v = text:match("\n" .. name .. " (%S+)\n") or text:match("^" .. name .. " (%S+)\n")
	return tonumber(v)
end

-- Waits (bounded) until `name` has the value `want`: a closed connection's socket is let go
-- by its driver after the close, not inside `close()`.
local function settles(name, want)
	for _ = 1, 200 do
		if value(name) == want then
			return true
		end
		time.sleep(5)
	end
	return false
end

-- Waits (bounded) until the server side has accepted.
local served
local function accepted()
	for _ = 1, 200 do
		if served then
			return true
		end
		time.sleep(5)
	end
	return false
end

-- Tasks and timers.
T.eq(value("silly_tasks_alive"), 1, "one task: main")
T.eq(value("silly_tasks_waiting"), 0, "none waiting")
local parked = task.fork(function()
	task.wait()
end)
T.eq(value("silly_tasks_runnable"), 1, "a forked task is runnable")
time.sleep(0)
T.eq(value("silly_tasks_waiting"), 1, "the forked task waits")
T.eq(value("silly_tasks_alive"), 2, "two live tasks")
-- testaux's time limit is one timer already.
local timers = value("silly_timer_pending")
local timer = time.after(60000, function() end)
T.eq(value("silly_timer_pending"), timers + 1, "a pending timer")
time.cancel(timer)
T.eq(value("silly_timer_pending"), timers, "cancelled")
task.wakeup(parked)
time.sleep(0)
T.eq(value("silly_tasks_alive"), 1, "the woken task ended")

-- TCP: a connection counts on both ends while open.
local tcp0 = value("silly_tcp_connections")
T.eq(tcp0, 0, "no TCP connection yet")
local l = assert(tcp.listen {addr = "127.0.0.1:0", accept = function(c)
	served = c
end})
local c = assert(tcp.connect(l:localaddr()))
T.check(accepted(), "accepted")
T.eq(value("silly_tcp_connections"), 2, "client and server end open")
c:close()
served:close()
T.check(settles("silly_tcp_connections", 0), "both closed: back to 0", tostring(value("silly_tcp_connections")))
l:close()

-- TLS: handshakes, open connections, failures.
local rd = T.fixture
local tl = assert(tls.listen {
	addr = "127.0.0.1:0",
	certs = {{cert = rd("server-rsa-chain.crt"), key = rd("server-rsa.key")}},
	accept = function(sc)
		served = sc
	end,
})
local port = tl:localaddr():match(":(%d+)$")
served = nil
local tc = assert(tls.connect("localhost:" .. port, {ca = rd("ca.crt")}))
T.check(accepted(), "TLS accepted")
T.eq(value("silly_tls_connections"), 2, "TLS: client and server end open")
T.eq(value("silly_tcp_connections"), 0, "TLS connections are not counted as plain TCP")
T.eq(value("silly_tls_handshakes_total"), 2, "two handshakes: client and server side")
T.eq(value("silly_tls_handshake_failures_total"), 0, "no failure yet")
tc:close()
served:close()
T.check(settles("silly_tls_connections", 0), "TLS closed: back to 0")
-- A client that does not trust the server's certificate: both sides fail.
local bad = tls.connect("localhost:" .. port)
T.eq(bad, nil, "untrusted certificate refused")
T.check(settles("silly_tls_handshake_failures_total", 2), "both sides count the failure", tostring(value("silly_tls_handshake_failures_total")))
T.eq(value("silly_tls_handshakes_total"), 4, "four handshakes in all")
tl:close()

-- The process facts.
T.check(value("process_cpu_seconds_total") > 0, "cpu seconds")
T.check(value("process_resident_memory_bytes") > 1e6, "resident memory")
T.check(value("process_virtual_memory_bytes") >= value("process_resident_memory_bytes"), "virtual >= resident")
local fds = value("process_open_fds")
local f = assert(io.open("tests/lua/testaux.lua"))
T.eq(value("process_open_fds"), fds + 1, "an opened file is one more descriptor")
f:close()
T.check(value("process_max_fds") >= fds, "max fds")
local start = value("process_start_time_seconds")
T.check(start <= os.time() + 1 and start > os.time() - 60, "start time is this process's", tostring(start))
T.check(value("silly_lua_memory_bytes") > 10000, "Lua memory")

T.done()
