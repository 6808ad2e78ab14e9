-- Ordering of the ready queue (docs/task.md#scheduling): strict FIFO across fork and wakeup, a forked
-- task never runs before its forker yields, and tasks forked or woken while the queue drains run
-- in the same drain, after those already queued.
local T = require "testaux"
local task = require "silly.task"
local time = require "silly.time"

T.limit(5000)

local fork = task.fork
local wait = task.wait
local wakeup = task.wakeup
local concat = table.concat

-- woken in order 5,4,3,2,1: they resume in that order; a fork after the wakeups runs last
local order = {}
local parked = {}
for i = 1, 5 do
	parked[i] = fork(function()
		local v = wait()
		order[#order + 1] = v
	end)
end
time.sleep(0)
for i = 5, 1, -1 do
	wakeup(parked[i], i)
end
fork(function()
	order[#order + 1] = "fork"
end)
T.eq(#order, 0, "nothing ran before the forker yielded")
time.sleep(0)
T.eq(concat(order, ","), "5,4,3,2,1,fork", "wakeups and a later fork run in FIFO order")

-- forks run in the order they were made
order = {}
for i = 1, 5 do
	fork(function()
		order[#order + 1] = i
	end)
end
time.sleep(0)
T.eq(concat(order, ","), "1,2,3,4,5", "forks run in fork order")

-- interleaved forks and wakeups keep one FIFO
order = {}
local a = fork(function()
	local v = wait()
	order[#order + 1] = "a" .. tostring(v)
end)
local b = fork(function()
	local v = wait()
	order[#order + 1] = "b" .. tostring(v)
end)
time.sleep(0)
fork(function()
	order[#order + 1] = "f1"
end)
wakeup(b, 1)
fork(function()
	order[#order + 1] = "f2"
end)
wakeup(a, 2)
time.sleep(0)
T.eq(concat(order, ","), "f1,b1,f2,a2", "forks and wakeups share one queue")

-- a task forked by a running task runs after what is already queued
order = {}
fork(function()
	order[#order + 1] = "x"
	fork(function()
		order[#order + 1] = "x.child"
	end)
	order[#order + 1] = "x.after_fork"
end)
fork(function()
	order[#order + 1] = "y"
end)
time.sleep(0)
T.eq(concat(order, ","), "x,x.after_fork,y,x.child", "a fork made during the drain goes to the back")

-- the forker keeps running after fork and wakeup until it yields
order = {}
local w = fork(function()
	wait()
	order[#order + 1] = "woken"
end)
time.sleep(0)
fork(function()
	order[#order + 1] = "forked"
end)
wakeup(w)
for i = 1, 3 do
	order[#order + 1] = "main" .. i
end
time.sleep(0)
T.eq(concat(order, ","), "main1,main2,main3,forked,woken", "the forker runs on until it yields")

-- a task woken by another task in the same drain runs in that drain, after the queue
order = {}
local p = fork(function()
	wait()
	order[#order + 1] = "p"
end)
time.sleep(0)
fork(function()
	order[#order + 1] = "waker"
	wakeup(p)
end)
fork(function()
	order[#order + 1] = "other"
end)
time.sleep(0)
T.eq(concat(order, ","), "waker,other,p", "a wakeup made during the drain goes to the back")

T.done()
