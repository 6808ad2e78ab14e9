-- silly.metrics.collector.process: the standard `process_*` metrics of Prometheus' client
-- libraries, read from the system at each scrape (docs/metrics.md#process-collector).
--
-- The facts come from silly.metrics.c (src/native/metrics.rs: getrusage, getrlimit and
-- Linux's /proc); a fact the system does not give is left out of the scrape.
local c = require "silly.metrics.c"

local process = c.process
local ipairs = ipairs

local M = {}

-- The metrics, by the field of `process()` that feeds them.
local METRICS <const> = {
	{"cpu", "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds."},
	{"resident", "process_resident_memory_bytes", "gauge", "Resident memory size in bytes."},
	{"virtual", "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes."},
	{"fds", "process_open_fds", "gauge", "Number of open file descriptors."},
	{"maxfds", "process_max_fds", "gauge", "Maximum number of open file descriptors."},
	{"start", "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds."},
}

---A collector of the process metrics.
---@return table collector with `name` and `collect(self, buf)`
function M.new()
	-- One metric table each, refreshed in place at every scrape.
	local metrics = {}
	for i, d in ipairs(METRICS) do
		metrics[i] = {name = d[2], kind = d[3], help = d[4], value = 0}
	end
	return {
		name = "process",
		collect = function(_, buf)
			local p = process()
			for i = 1, #METRICS do
				local v = p[METRICS[i][1]]
				if v then
					local m = metrics[i]
					m.value = v
					buf[#buf + 1] = m
				end
			end
		end,
	}
end

return M
