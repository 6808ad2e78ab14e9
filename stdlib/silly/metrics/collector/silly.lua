-- silly.metrics.collector.silly: the runtime's own metrics, read at each scrape
-- (docs/metrics.md#runtime-collector): tasks, timers, open connections, TLS handshakes and
-- the memory of the Lua state.
--
-- The counts come from silly.metrics.c (src/native/metrics.rs), which reads what the runtime
-- keeps anyway and the counters of src/native/net/stats.rs.
local c = require "silly.metrics.c"

local runtime = c.runtime
local ipairs = ipairs
local collectgarbage = collectgarbage
local floor = math.floor

local M = {}

-- The metrics, by the field of `runtime()` that feeds them.
local METRICS <const> = {
	{"tasks", "silly_tasks_alive", "gauge", "Number of live tasks."},
	{"ready", "silly_tasks_runnable", "gauge", "Number of tasks queued to run."},
	{"waiting", "silly_tasks_waiting", "gauge", "Number of tasks parked in task.wait()."},
	{"timers", "silly_timer_pending", "gauge", "Number of pending timers and sleeps."},
	{"tcp", "silly_tcp_connections", "gauge", "Number of open plain TCP connections."},
	{"tls", "silly_tls_connections", "gauge", "Number of open TLS connections."},
	{"handshakes", "silly_tls_handshakes_total", "counter", "Total number of TLS handshakes started."},
	{"handshakefailures", "silly_tls_handshake_failures_total", "counter", "Total number of TLS handshakes that failed or timed out."},
}

---A collector of the runtime metrics.
---@return table collector with `name` and `collect(self, buf)`
function M.new()
	-- One metric table each, refreshed in place at every scrape.
	local metrics = {}
	for i, d in ipairs(METRICS) do
		metrics[i] = {name = d[2], kind = d[3], help = d[4], value = 0}
	end
	local memory = {name = "silly_lua_memory_bytes", kind = "gauge", help = "Memory in use by the Lua state in bytes.", value = 0}
	return {
		name = "silly",
		collect = function(_, buf)
			local r = runtime()
			local n = #buf
			for i = 1, #METRICS do
				local m = metrics[i]
				m.value = r[METRICS[i][1]]
				buf[n + i] = m
			end
			memory.value = floor(collectgarbage("count") * 1024)
			buf[n + #METRICS + 1] = memory
		end,
	}
end

return M
