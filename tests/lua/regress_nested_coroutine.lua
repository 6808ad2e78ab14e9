-- Regression: user coroutines inside tasks (docs/task.md#user-coroutines, STYLE.md "Mlua yield pitfall").
--
-- What could break: a task suspends for the runtime by yielding a private marker. Inside a user
-- coroutine that marker lands in the user's `coroutine.resume` instead of the runtime, so
-- `time.sleep`/`task.wait` there would return at once, hand the marker to user code as a value,
-- or resume the outer task at the wrong moment (the reference does exactly that, docs/task.md#user-coroutines).
-- A bare `coroutine.yield()` at task level could likewise end the task, hang it, or spin the CPU.
-- The fix: `stdlib/silly/internal/coroutine.lua` wraps resume/wrap so a marker yield is passed up
-- to the task and the runtime's answer passed back down; the task driver treats a bare yield as
-- "give others a turn" (src/runtime/task.rs); resuming a task's coroutine by hand is refused.
local T = require "testaux"
local task = require "silly.task"
local time = require "silly.time"

T.limit(10000)

local sleep = time.sleep
local monotonic = time.monotonic
local fork = task.fork
local wait = task.wait
local wakeup = task.wakeup
local concat = table.concat

-- 1. a coroutine.wrap generator inside a task
local gen = coroutine.wrap(function(a)
	for i = a, a + 2 do
		coroutine.yield(i)
	end
	return "end"
end)
T.eq(gen(10), 10, "generator: first value")
T.eq(gen(), 11, "generator: second value")
T.eq(gen(), 12, "generator: third value")
T.eq(gen(), "end", "generator: return value")
T.raises("cannot resume dead coroutine", "generator: resuming a finished wrap raises", gen)

-- the classic iterator form
local words = {}
for w in coroutine.wrap(function()
	for _, x in ipairs({ "a", "b", "c" }) do
		coroutine.yield(x)
	end
end) do
	words[#words + 1] = w
end
T.eq(concat(words), "abc", "generator as a for iterator")

-- 2. time.sleep inside a nested coroutine suspends the whole task, values flow both ways
local co = coroutine.create(function(a)
	local b = coroutine.yield(a + 1)
	local t0 = monotonic()
	sleep(20)
	local c = coroutine.yield(b + 1, monotonic() - t0)
	return c + 1
end)
local ok, v = coroutine.resume(co, 1)
T.check(ok and v == 2, "nested: first user yield", tostring(v))
local other_ran = false
fork(function()
	other_ran = true
end)
local ok2, v2, took = coroutine.resume(co, 10)
T.check(ok2 and v2 == 11, "nested: user yield after a sleep returns the right value", tostring(v2))
T.check(type(took) == "number" and took >= 20, "nested: the sleep really slept", tostring(took))
T.check(other_ran, "nested: other tasks ran while the task slept")
local ok3, v3 = coroutine.resume(co, 100)
T.check(ok3 and v3 == 101, "nested: return value after the sleep", tostring(v3))
T.eq(coroutine.status(co), "dead", "nested: the coroutine finished")

-- a sleep inside a generator: the values come out in order and the sleeps add up
local t0 = monotonic()
local ticks = {}
for i in coroutine.wrap(function()
	for i = 1, 3 do
		sleep(5)
		coroutine.yield(i)
	end
end) do
	ticks[#ticks + 1] = i
end
T.eq(concat(ticks, ","), "1,2,3", "sleeping generator yields its values")
T.check(monotonic() - t0 >= 15, "sleeping generator: the sleeps took their time")

-- 3. task.wait inside a nested coroutine: the task is WAIT and wakeup reaches the inner wait
local inner_running
local got = {}
local waiter = fork(function()
	local inner = coroutine.wrap(function()
		inner_running = task.running()
		local x = wait()
		coroutine.yield("got " .. tostring(x))
		local y = wait()
		return "then " .. tostring(y)
	end)
	got[#got + 1] = inner()
	got[#got + 1] = inner()
end)
sleep(0)
T.eq(inner_running, waiter, "running() inside a nested coroutine is the task")
T.eq(task.status(waiter), "WAIT", "nested wait: the task reports WAIT")
wakeup(waiter, "X")
sleep(0)
T.eq(got[1], "got X", "nested wait: wakeup value reaches the inner wait")
T.eq(task.status(waiter), "WAIT", "nested wait: parked again")
wakeup(waiter, false)
sleep(0)
T.eq(got[2], "then false", "nested wait: second value, false included")
T.eq(task.status(waiter), nil, "nested wait: the task finished")

-- 4. a bare coroutine.yield() at task level returns and the task continues
local order = {}
fork(function()
	order[#order + 1] = "other"
end)
local n = select("#", coroutine.yield("ignored", "values"))
order[#order + 1] = "main"
T.eq(n, 0, "bare yield at task level returns nothing")
T.eq(concat(order, ","), "other,main", "bare yield lets other ready tasks run first")

-- a bare yield in a forked task, interleaved with another one
order = {}
local done = 0
for _, name in ipairs({ "a", "b" }) do
	fork(function()
		for i = 1, 3 do
			order[#order + 1] = name .. i
			coroutine.yield()
		end
		done = done + 1
	end)
end
while done < 2 do
	sleep(1)
end
T.eq(concat(order, ","), "a1,b1,a2,b2,a3,b3", "tasks yielding bare alternate")

-- a task yielding bare in a loop does not starve timers
local flag = false
time.after(5, function()
	flag = true
end)
local spins = 0
t0 = monotonic()
while not flag and monotonic() - t0 < 3000 do
	spins = spins + 1
	coroutine.yield()
end
T.check(flag, "a timer fires while a task yields bare in a loop", spins .. " yields")

-- 5. resuming a task's coroutine by hand raises a clear error
local parked = fork(function()
	wait()
end)
sleep(0)
T.raises("cannot resume a task", "coroutine.resume of a parked task raises", coroutine.resume, parked)
T.raises("cannot resume a task", "coroutine.resume of the running task raises", coroutine.resume, task.running())
T.eq(task.status(parked), "WAIT", "the refused resume left the task parked")
wakeup(parked)
sleep(0)
T.eq(task.status(parked), nil, "the parked task finished normally")

-- 6. errors inside wrapped coroutines propagate
local w = coroutine.wrap(function()
	sleep(1)
	error("inner failure")
end)
local okw, errw = pcall(w)
T.eq(okw, false, "error after a sleep in a wrap propagates")
T.match(errw, "inner failure$", "the wrap error keeps its message")
local eobj = { code = 7 }
local c2 = coroutine.create(function()
	sleep(1)
	error(eobj)
end)
local okc, errc = coroutine.resume(c2)
T.eq(okc, false, "resume reports an error after a sleep")
T.eq(errc, eobj, "the error value arrives by identity")
T.eq(coroutine.status(c2), "dead", "the failed coroutine is dead")
local closed = false
local wc = coroutine.wrap(function()
	local _ <close> = setmetatable({}, {
		__close = function()
			closed = true
		end,
	})
	sleep(1)
	error("with close")
end)
T.raises("with close", "wrap error with a <close> variable", wc)
T.check(closed, "the wrap's <close> variable ran")

-- 7. the process exits promptly after a bare yield at task level (no spinning, no hang)
local exe = arg[-1]
local path = os.tmpname()
local f = assert(io.open(path, "w"))
f:write([[
local task = require "silly.task"
local n = 0
task.fork(function() n = n + 1 end)
coroutine.yield()
io.write("n=", n, "\n")
]])
f:close()
t0 = monotonic()
local p = assert(io.popen("'" .. exe .. "' " .. path .. " 2>&1"))
local out = p:read("a")
local _, _, code = p:close()
local took_ms = monotonic() - t0
os.remove(path)
T.eq(out, "n=1\n", "child: the forked task ran during the bare yield")
T.eq(code, 0, "child: exit status 0")
T.check(took_ms < 3000, "child: exits promptly", took_ms .. " ms")

T.done()
