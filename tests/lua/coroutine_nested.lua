-- User coroutines inside tasks beyond the basic regression (docs/task.md#user-coroutines): several levels of
-- nesting, pcall around a suspension, timer callbacks, two tasks with their own coroutines, and
-- the ordinary coroutine library answers (status, running, isyieldable, close).
local T = require "testaux"
local task = require "silly.task"
local time = require "silly.time"

T.limit(10000)

local sleep = time.sleep
local fork = task.fork
local wait = task.wait
local wakeup = task.wakeup
local concat = table.concat
local create = coroutine.create
local resume = coroutine.resume
local yield = coroutine.yield
local wrap = coroutine.wrap

-- three levels deep, a sleep and a wait at the bottom, user yields at every level
local trail = {}
local me = task.running()
local outer = wrap(function()
	local middle = wrap(function()
		local inner = wrap(function()
			trail[#trail + 1] = "inner start"
			sleep(5)
			trail[#trail + 1] = "inner slept"
			local v = wait()
			trail[#trail + 1] = "inner got " .. tostring(v)
			yield("from inner")
			return "inner done"
		end)
		yield(inner())
		yield(inner())
		return "middle done"
	end)
	yield(middle())
	yield(middle())
	return middle()
end)
fork(function()
	while task.status(me) ~= "WAIT" do
		sleep(1)
	end
	wakeup(me, "deep")
end)
T.eq(outer(), "from inner", "three levels: first value comes from the bottom")
T.eq(outer(), "inner done", "three levels: second value")
T.eq(outer(), "middle done", "three levels: middle's return")
T.eq(concat(trail, ","), "inner start,inner slept,inner got deep", "three levels: sleep and wait at the bottom")

-- pcall around a suspension inside a nested coroutine
local pc = wrap(function()
	local ok = pcall(sleep, 5)
	local ok2, err = pcall(function()
		sleep(1)
		error("caught")
	end)
	return ok, ok2, err
end)
local a, b, c = pc()
T.eq(a, true, "pcall(sleep) inside a nested coroutine")
T.eq(b, false, "pcall catches an error after a sleep")
T.match(c, "caught$", "pcall error message")

-- coroutine library answers while nested
local outer_co = coroutine.running()
local seen = {}
local co = create(function()
	seen.running, seen.ismain = coroutine.running()
	seen.outer_status = coroutine.status(outer_co)
	seen.yieldable = coroutine.isyieldable()
	sleep(1)
	seen.after_sleep_running = coroutine.running()
	seen.outer_status_after = coroutine.status(outer_co)
end)
resume(co)
T.eq(seen.running, co, "coroutine.running() inside is the user coroutine")
T.eq(seen.ismain, false, "the user coroutine is not main")
T.eq(seen.outer_status, "normal", "the task is 'normal' while the user coroutine runs")
T.eq(seen.yieldable, true, "a user coroutine is yieldable")
T.eq(seen.after_sleep_running, co, "after the sleep the user coroutine runs again")
T.eq(seen.outer_status_after, "normal", "the task is still 'normal' after the sleep")
T.eq(coroutine.isyieldable(), true, "the main task is yieldable")

-- a suspended user coroutine can be closed; its <close> variables run
local closed = false
local cc = create(function()
	local _ <close> = setmetatable({}, {
		__close = function()
			closed = true
		end,
	})
	yield(1)
end)
resume(cc)
T.eq(coroutine.close(cc), true, "coroutine.close of a suspended user coroutine")
T.check(closed, "its <close> variable ran")

-- two tasks, each with its own sleeping generator: no cross-talk
local out = {}
local finished = 0
for _, name in ipairs({ "p", "q" }) do
	fork(function()
		for i in wrap(function()
			for i = 1, 3 do
				sleep(name == "p" and 3 or 5)
				yield(i)
			end
		end) do
			out[#out + 1] = name .. i
		end
		finished = finished + 1
	end)
end
while finished < 2 do
	sleep(2)
end
local ps, qs = {}, {}
for _, v in ipairs(out) do
	if v:sub(1, 1) == "p" then
		ps[#ps + 1] = v
	else
		qs[#qs + 1] = v
	end
end
T.eq(concat(ps, ","), "p1,p2,p3", "first task's generator in order")
T.eq(concat(qs, ","), "q1,q2,q3", "second task's generator in order")

-- a nested coroutine inside a timer callback
local cb_result
time.after(1, function()
	local g = wrap(function()
		sleep(2)
		yield("cb1")
		sleep(2)
		yield("cb2")
	end)
	cb_result = g() .. g()
	wakeup(me)
end)
wait()
T.eq(cb_result, "cb1cb2", "a generator with sleeps inside a timer callback")

-- a coroutine resumed from a different task than the one that created it
local shared = create(function()
	local x = yield("first")
	sleep(2)
	return "second " .. tostring(x)
end)
T.eq(select(2, resume(shared)), "first", "shared coroutine: first resume in the main task")
local shared_res
fork(function()
	shared_res = { resume(shared, "from fork") }
	wakeup(me)
end)
wait()
T.eq(shared_res[1], true, "shared coroutine: resumed by another task")
T.eq(shared_res[2], "second from fork", "shared coroutine: its sleep suspended the other task")

-- a coroutine suspended in a runtime call cannot be resumed by another task (it would end the
-- call early, in the wrong task)
local parked_co = create(function()
	sleep(20)
	return "own result"
end)
local hijack
time.after(2, function()
	hijack = { pcall(resume, parked_co, "hijack") }
end)
local okp, rp = resume(parked_co)
T.eq(okp, true, "parked coroutine: resumed by its own task")
T.eq(rp, "own result", "parked coroutine: the runtime call ended in its own task")
T.eq(hijack and hijack[1], false, "parked coroutine: another task cannot resume it")
T.match(hijack and hijack[2], "cannot resume a coroutine suspended in a runtime call",
	"parked coroutine: the refusal says why")

-- a runtime call across a C boundary raises a clear error and the task goes on
local okc, errc = pcall(table.sort, { 3, 2, 1 }, function(x, y)
	sleep(1)
	return x < y
end)
T.eq(okc, false, "sleep inside a table.sort comparator fails")
T.match(errc, "attempt to yield across a C%-call boundary", "the C boundary error")
local t_c = time.monotonic()
sleep(5)
T.check(time.monotonic() - t_c >= 5, "the task sleeps normally afterwards")

-- wrap of a non-function raises at creation, resume of a non-coroutine raises
T.raises("function expected", "wrap(42) raises", wrap, 42)
T.raises("bad argument", "resume(42) raises", resume, 42)

T.done()
