-- Regression guard: the runtime keeps Rust-side state per live task and per pending timer
-- (src/runtime/task.rs `Tasks::live`, src/runtime/timer.rs heap and maps). Finished tasks and
-- cancelled timers must leave nothing behind, or a long-running server grows without bound.
-- This runs many short-lived tasks and armed-then-cancelled timers and checks that resident
-- memory stops growing after a warm-up.
local T = require "testaux"
local task = require "silly.task"
local time = require "silly.time"
T.limit(60000)

local function rss_kib()
	for line in io.lines("/proc/self/status") do
		local kb = line:match("^VmRSS:%s+(%d+)")
		if kb then
			return tonumber(kb)
		end
	end
end

local function round(n)
	local wg_left = n
	local me = task.running()
	for _ = 1, n do
		task.fork(function()
			wg_left = wg_left - 1
			if wg_left == 0 then
				task.wakeup(me)
			end
		end)
		-- a long timer, cancelled at once: only its heap key may stay behind for a while
		time.cancel(time.after(3600 * 1000, function() end))
	end
	task.wait()
	collectgarbage()
end

-- Resident memory moves up and down by about 12 MiB between rounds (the allocator keeps and
-- returns pages as it likes), so a leak shows as steady growth: 8 rounds of 30k tasks and
-- 30k timers leaking even 64 bytes each would add over 30 MiB.
round(30000) -- warm-up: allocator pools, Lua tables reach their working size
round(30000)
local before = rss_kib()
local peak = before
for _ = 1, 8 do
	round(30000)
	peak = math.max(peak, rss_kib())
end
T.check(peak - before < 24 * 1024, "240k tasks and timers later, RSS grew by less than 24 MiB",
	("before %d KiB, peak %d KiB"):format(before, peak))
T.eq(task.readycount(), 0, "nothing left in the ready queue")
T.done()
