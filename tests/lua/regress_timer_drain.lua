-- Regression: timers due at the same moment used to start all their tasks in one batch, so a
-- task woken (or forked) by the first callback ran after the second callback and could not
-- cancel it (docs/task.md#scheduling: each expiry is its own event, the ready queue drains in between).
-- Fixed in src/runtime/timer.rs: the driver fires one due timer, then lets ready tasks run.
local T = require "testaux"
local task = require "silly.task"
local time = require "silly.time"
T.limit(5000)

local function busy(ms)
	local t0 = time.monotonic()
	while time.monotonic() - t0 < ms do
	end
end

local fired, b = {}, nil
local w = task.fork(function()
	task.wait()
	fired[#fired + 1] = "w"
	time.cancel(b)
end)
time.sleep(0)
time.after(1, function()
	fired[#fired + 1] = "a"
	task.wakeup(w)
end)
b = time.after(1, function()
	fired[#fired + 1] = "b"
end)
busy(10) -- both timers are now due
time.sleep(30)
T.eq(table.concat(fired, ","), "a,w", "a task woken by a due timer cancels the next due timer")

fired = {}
time.after(1, function()
	fired[#fired + 1] = "A"
	task.fork(function()
		fired[#fired + 1] = "A.child"
	end)
end)
time.after(1, function()
	fired[#fired + 1] = "B"
end)
busy(10)
time.sleep(30)
T.eq(table.concat(fired, ","), "A,A.child,B", "a task forked by a due timer runs before the next one")
T.done()
