-- Contract of silly.time (docs/time.md as amended by docs/time.md#order): sleep, after, cancel, the
-- clocks, same-moment ordering, cancelling a timer that is already due, and argument rules.
local T = require "testaux"
local task = require "silly.task"
local time = require "silly.time"

T.limit(10000)

local sleep = time.sleep
local after = time.after
local cancel = time.cancel
local monotonic = time.monotonic
local fork = task.fork
local concat = table.concat

-- Holds the thread without yielding, so every timer armed before is due when the loop next looks.
local function spin(ms)
	local t0 = monotonic()
	while monotonic() - t0 < ms do
	end
end

-- clocks
T.eq(math.type(time.now()), "integer", "now() is an integer")
T.eq(math.type(monotonic()), "integer", "monotonic() is an integer")
local skew = time.now() - os.time() * 1000
T.check(skew > -1000 and skew < 2000, "now() follows the wall clock", "now - os.time()*1000 = " .. skew)
local last, back = monotonic(), false
for _ = 1, 20 do
	for _ = 1, 1000 do
		local m = monotonic()
		if m < last then
			back = true
		end
		last = m
	end
	sleep(1)
end
T.check(not back, "monotonic() never goes back")

-- sleep waits at least its time, and always yields
local t0 = monotonic()
sleep(30)
local slept = monotonic() - t0
T.check(slept >= 30 and slept < 1000, "sleep(30) takes 30 ms or a little more", "took " .. slept)
local ran = false
fork(function()
	ran = true
end)
sleep(0)
T.check(ran, "sleep(0) yields to ready tasks")
ran = false
fork(function()
	ran = true
end)
sleep(-100)
T.check(ran, "a negative sleep yields too")

-- a sleeping process does not burn CPU
local cpu0 = os.clock()
sleep(200)
local cpu = os.clock() - cpu0
T.check(cpu < 0.1, "sleeping does not spin", string.format("%.3f s of CPU for a 200 ms sleep", cpu))

-- sleepers wake in deadline order
local order = {}
for _, ms in ipairs({ 30, 10, 20 }) do
	fork(function()
		sleep(ms)
		order[#order + 1] = ms
	end)
end
sleep(60)
T.eq(concat(order, ","), "10,20,30", "sleepers wake in deadline order")

-- after: callback in a new task, ud or session, never synchronous
local got = {}
local s_ud = after(5, function(v)
	got.ud = v
	got.ud_task = task.running()
	got.ud_status = task.status(task.running())
end, "U")
local s_false
s_false = after(5, function(v)
	got.f = v
end, false)
local s_nil
s_nil = after(5, function(v)
	got.n = v
end)
local obj = {}
after(5, function(v)
	got.obj = v
end, obj)
T.eq(math.type(s_ud), "integer", "after returns an integer session")
T.check(s_ud ~= s_false and s_false ~= s_nil and s_ud ~= s_nil, "sessions are distinct")
T.eq(got.ud, nil, "after never fires synchronously")
after(0, function()
	got.zero = true
end)
T.eq(got.zero, nil, "after(0) does not fire synchronously")
sleep(30)
T.eq(got.ud, "U", "callback gets a truthy ud")
T.eq(got.f, s_false, "ud false: callback gets the session")
T.eq(got.n, s_nil, "ud nil: callback gets the session")
T.eq(got.obj, obj, "a table ud arrives by identity")
T.check(got.zero, "after(0) fires")
T.check(got.ud_task ~= task.running() and type(got.ud_task) == "thread", "the callback runs in its own task")
T.eq(got.ud_status, "RUN", "the callback task is RUN")

-- a callback may use yielding calls
local main = task.running()
local cb_t0
after(1, function()
	cb_t0 = monotonic()
	sleep(5)
	task.wakeup(main, monotonic() - cb_t0)
end)
local cb_slept = task.wait()
T.check(cb_slept >= 5, "a callback can sleep", "slept " .. tostring(cb_slept))

-- an error in a callback does not stop other timers
local survived = false
after(1, function()
	error("callback error")
end)
after(2, function()
	survived = true
end)
sleep(30)
T.check(survived, "an error in a callback does not stop the loop")

-- cancel
local fired = false
local s = after(10, function()
	fired = true
end)
cancel(s)
sleep(30)
T.check(not fired, "a cancelled timer never fires")
cancel(s)
T.check(true, "cancelling twice is a no-op")
local fired_once = 0
local s2 = after(1, function()
	fired_once = fired_once + 1
end)
sleep(20)
cancel(s2)
T.eq(fired_once, 1, "cancelling a fired timer is a no-op")
cancel(nil)
cancel("garbage")
cancel({})
cancel(-1)
cancel(123456789)
T.check(true, "cancel of nil, garbage and unknown sessions is a silent no-op")
local self_cancel = 0
after(1, function(session)
	cancel(session)
	self_cancel = self_cancel + 1
end)
sleep(20)
T.eq(self_cancel, 1, "a callback may cancel its own session")

-- timers due at the same moment fire in creation order
order = {}
for i = 1, 5 do
	after(1, function()
		order[#order + 1] = i
	end)
end
spin(10)
sleep(30)
T.eq(concat(order, ","), "1,2,3,4,5", "timers due at the same moment fire in creation order")

-- same delay, no spin: still creation order
order = {}
for i = 1, 5 do
	after(5, function()
		order[#order + 1] = i
	end)
end
sleep(40)
T.eq(concat(order, ","), "1,2,3,4,5", "timers with the same delay fire in creation order")

-- different deadlines fire in deadline order
order = {}
for _, ms in ipairs({ 30, 10, 20 }) do
	after(ms, function()
		order[#order + 1] = ms
	end)
end
sleep(60)
T.eq(concat(order, ","), "10,20,30", "timers fire in deadline order")

-- a callback cancels a timer whose expiry is already due in the same moment
local log = {}
local victim
after(1, function()
	log[#log + 1] = "first"
	cancel(victim)
end)
victim = after(1, function()
	log[#log + 1] = "victim"
end)
spin(10)
sleep(30)
T.eq(concat(log, ","), "first", "cancel stops a timer already due in the same moment")

-- a sleeping task woken in the same moment cancels a due timer
log = {}
local victim2
fork(function()
	sleep(2)
	log[#log + 1] = "sleeper"
	cancel(victim2)
end)
sleep(0)
victim2 = after(2, function()
	log[#log + 1] = "victim2"
end)
spin(10)
sleep(30)
T.eq(concat(log, ","), "sleeper", "a woken sleeper cancels a timer due in the same moment")

-- argument rules for ms
T.raises("number has no integer representation", "sleep(1.5) raises", sleep, 1.5)
T.raises("number has no integer representation", "after(1.5) raises", after, 1.5, function() end)
T.raises("^bad argument #1 to 'sleep' %(number has no integer representation%)$", "sleep(1.5) message", sleep, 1.5)
T.raises("expire too large", "sleep(2^32) raises", sleep, 4294967296)
T.raises("expire too large", "after(2^32) raises", after, 4294967296, function() end)
T.raises("number expected, got table", "sleep({}) raises", sleep, {})
T.raises("number expected, got nil", "sleep(nil) raises", sleep, nil)
T.raises("number expected, got boolean", "after(true) raises", after, true, function() end)
T.raises("number expected", "sleep('abc') raises", sleep, "abc")
T.raises("^bad argument #2 to 'after' %(function expected, got nil%)$", "after without a function raises", after, 10)
t0 = monotonic()
sleep("20")
slept = monotonic() - t0
T.check(slept >= 20, "sleep('20') is accepted and sleeps 20 ms", "took " .. slept)
t0 = monotonic()
sleep(2.0)
T.check(monotonic() - t0 >= 2, "sleep(2.0) is accepted")
local str_fired = false
after("5", function()
	str_fired = true
end)
local neg_fired = false
after(-50, function()
	neg_fired = true
end)
sleep(30)
T.check(str_fired, "after('5') is accepted")
T.check(neg_fired, "after(-50) is treated as 0")
-- the largest delay is accepted; cancel it so the test ends
local far = after(4294967295, function() end)
T.eq(math.type(far), "integer", "after(2^32-1) is accepted")
cancel(far)

T.done()
