-- Contract of silly.sync.waitgroup (docs/sync.md#waitgroup): count, fork, wait, errors in children.
local T = require "testaux"
local waitgroup = require "silly.sync.waitgroup"
local task = require "silly.task"
local time = require "silly.time"

T.limit(5000)

local sleep = time.sleep
local concat = table.concat

local wg = waitgroup.new()
T.eq(wg.count, 0, "a new group has count 0")

-- wait on an empty group returns at once, without yielding
local ran = false
task.fork(function()
	ran = true
end)
wg:wait()
T.check(not ran, "wait on count 0 does not yield")
sleep(0)

-- fork: count, no arguments, a thread
local nargs = {}
local done = {}
for i = 1, 3 do
	local t = wg:fork(function(...)
		nargs[i] = select("#", ...)
		sleep(i * 3)
		done[#done + 1] = i
	end)
	T.eq(type(t), "thread", "fork returns a thread (" .. i .. ")")
end
T.eq(wg.count, 3, "count is the number of running children")
wg:wait()
T.eq(wg.count, 0, "count back to 0 after wait")
T.eq(concat(done, ","), "1,2,3", "wait returns after every child finished")
T.eq(nargs[1], 0, "the child function gets no arguments")
T.eq(nargs[3], 0, "no arguments for the last child either")

-- a failing child is counted down, and logged, and the others still finish
local wg2 = waitgroup.new()
local finished = 0
wg2:fork(function()
	sleep(1)
	error("child failure")
end)
wg2:fork(function()
	sleep(3)
	finished = finished + 1
end)
wg2:fork(function()
	error("immediate failure")
end)
wg2:wait()
T.eq(wg2.count, 0, "failing children are counted down")
T.eq(finished, 1, "the other child finished")

-- children that fork more children before they end
local wg3 = waitgroup.new()
local leaves = 0
for _ = 1, 2 do
	wg3:fork(function()
		for _ = 1, 2 do
			wg3:fork(function()
				sleep(2)
				leaves = leaves + 1
			end)
		end
	end)
end
wg3:wait()
T.eq(leaves, 4, "grandchildren forked on the same group are waited for")
T.eq(wg3.count, 0, "count 0 after nested forks")

-- the waiter resumes through the ready queue: after tasks already queued
local wg4 = waitgroup.new()
local order = {}
wg4:fork(function()
	sleep(1)
	task.fork(function()
		order[#order + 1] = "queued by child"
	end)
end)
wg4:wait()
order[#order + 1] = "waiter"
T.eq(concat(order, ","), "queued by child,waiter", "the waiter resumes through the ready queue")

-- a group can be reused
wg:fork(function()
	sleep(1)
end)
T.eq(wg.count, 1, "reuse: count 1")
wg:wait()
T.eq(wg.count, 0, "reuse: count 0")

-- wait inside a forked task, the main task waits for that one
local wg5 = waitgroup.new()
local inner_done = false
local outer_done = false
wg5:fork(function()
	sleep(2)
	inner_done = true
end)
task.fork(function()
	wg5:wait()
	outer_done = inner_done
end)
while not outer_done do
	sleep(1)
end
T.check(outer_done, "a forked task can wait on a group")

T.done()
