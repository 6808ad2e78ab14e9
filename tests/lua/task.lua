-- Contract of silly.task (docs/task.md, docs/cli.md#uncaught-errors): fork, wait, wakeup, status, readycount,
-- running, inspect, the value handed from wakeup to wait, and the errors of a wrong wakeup.
local T = require "testaux"
local task = require "silly.task"
local time = require "silly.time"

T.limit(5000)

local fork = task.fork
local wait = task.wait
local wakeup = task.wakeup
local status = task.status

-- running / status of the main chunk
local me = task.running()
T.eq(type(me), "thread", "running() is a thread in the main chunk")
T.eq(coroutine.running(), me, "running() is the main chunk's own coroutine")
T.eq(status(me), "RUN", "the main chunk reports RUN")

-- fork: READY, queued, runs later with exactly one argument
local base = task.readycount()
local got_n, got_ud
local t = fork(function(...)
	got_n = select("#", ...)
	got_ud = ...
end, "payload")
T.eq(type(t), "thread", "fork returns a thread")
T.eq(status(t), "READY", "a forked task is READY")
T.eq(task.readycount(), base + 1, "fork adds one to readycount")
T.eq(got_n, nil, "a forked task has not run before its forker yields")
time.sleep(0)
T.eq(got_n, 1, "fn gets exactly one argument")
T.eq(got_ud, "payload", "fn gets ud")
T.eq(status(t), nil, "a finished task has status nil")
T.eq(task.readycount(), base, "readycount back after the task ran")

-- ud omitted and ud == false
local seen = {}
fork(function(...)
	seen.none_n = select("#", ...)
	seen.none = ...
end)
fork(function(ud)
	seen.f = ud
end, false)
time.sleep(0)
T.eq(seen.none_n, 1, "ud omitted: still one argument")
T.eq(seen.none, nil, "ud omitted: nil")
T.eq(seen.f, false, "ud false is passed through")

-- return values of fn are discarded, and running() inside a task is that task
local inner_running
local t2 = fork(function()
	inner_running = task.running()
	return 1, 2, 3
end)
time.sleep(0)
T.eq(inner_running, t2, "running() inside a forked task is its thread")

-- wait / wakeup with values, including false and nil
local function waiter(out, key)
	return fork(function()
		local n = select("#", wait())
		out[key .. "_n"] = n
	end)
end
local results = {}
local function parked(v_out, key)
	return fork(function()
		v_out[key] = { wait() }
	end)
end
local wv = parked(results, "v")
local wf = parked(results, "f")
local wn = parked(results, "n")
local w0 = waiter(results, "zero")
time.sleep(0)
T.eq(status(wv), "WAIT", "a task in wait() reports WAIT")
wakeup(wv, "value")
wakeup(wf, false)
wakeup(wn, nil)
wakeup(w0)
T.eq(status(wv), "READY", "a woken task is READY")
T.eq(results.v, nil, "wakeup never runs the target synchronously")
time.sleep(0)
T.eq(results.v[1], "value", "wait returns the wakeup value")
T.eq(results.f[1], false, "false is delivered")
T.eq(#results.n, 0, "nil value: wait returns nil")
T.eq(results.n[1], nil, "nil value delivered as nil")
T.eq(results.zero_n, 1, "wakeup without value: wait returns one nil")

-- a table value arrives as the same object
local obj = {}
local got_obj
local wo = fork(function()
	got_obj = wait()
end)
time.sleep(0)
wakeup(wo, obj)
time.sleep(0)
T.eq(got_obj, obj, "a table value arrives by identity")

-- errors of wakeup
T.raises("^BUG: wakeup on task stat:RUN$", "waking yourself", wakeup, me)
local dw = fork(function()
	wait()
end)
time.sleep(0)
wakeup(dw)
T.raises("^BUG: wakeup on task stat:READY$", "double wakeup", wakeup, dw)
T.raises("^BUG: wakeup on task stat:READY$", "waking a forked, not yet run task", wakeup, fork(function() end))
local sleeper = fork(function()
	time.sleep(30)
end)
time.sleep(0)
T.eq(status(sleeper), "RUN", "a sleeping task reports RUN")
T.raises("^BUG: wakeup on task stat:RUN$", "waking a sleeping task", wakeup, sleeper)
T.raises("^BUG: wakeup on task stat:nil$", "waking a finished task", wakeup, t)
T.raises("^BUG: wakeup on task stat:nil$", "waking a plain coroutine", wakeup, coroutine.create(function() end))
T.raises("^BUG: wakeup on task stat:nil$", "waking a table", wakeup, {})
T.raises("^BUG: wakeup on task stat:nil$", "waking nil", wakeup, nil)
time.sleep(40)
T.eq(status(sleeper), nil, "the sleeper finished")

-- status of non-tasks
T.eq(status(nil), nil, "status(nil)")
T.eq(status({}), nil, "status(table)")
T.eq(status(coroutine.create(function() end)), nil, "status(plain coroutine)")

-- inspect: every live task with status and traceback
local iw = fork(function()
	wait()
end)
local ir = fork(function() end)
local info = task.inspect()
T.eq(type(info[me]), "table", "inspect lists the running task")
T.eq(info[me].status, "RUN", "inspect: running task RUN")
T.eq(info[iw].status, "READY", "inspect: forked task READY")
T.eq(type(info[ir].traceback), "string", "inspect: traceback is a string")
T.match(info[me].traceback, "^stack traceback:", "inspect: traceback text")
time.sleep(0)
info = task.inspect()
T.eq(info[iw].status, "WAIT", "inspect: parked task WAIT")
T.eq(info[ir], nil, "inspect: finished task gone")
wakeup(iw)
time.sleep(0)
T.eq(task.inspect()[iw], nil, "inspect: woken task gone after it finished")

-- an error in a forked task does not kill the process, and the forker goes on
local after_error = false
local bad = fork(function()
	error("boom in forked task")
end)
fork(function()
	after_error = true
end)
time.sleep(0)
T.eq(status(bad), nil, "the failed task is discarded")
T.check(after_error, "tasks after a failed task still run")
-- a non-function is not checked at fork; it fails when the task starts
local nf = fork(42)
T.eq(type(nf), "thread", "fork of a non-function still returns a thread")
time.sleep(0)
T.eq(status(nf), nil, "the non-function task is discarded")

-- <close> variables of a failing task run
local closed = false
fork(function()
	local _ <close> = setmetatable({}, { __close = function() closed = true end })
	error("die")
end)
time.sleep(0)
T.check(closed, "<close> of a failing task runs")

-- readycount counts forks and wakeups
local rw = fork(function()
	wait()
end)
time.sleep(0)
local rc0 = task.readycount()
fork(function() end)
wakeup(rw)
T.eq(task.readycount(), rc0 + 2, "readycount counts a fork and a wakeup")
time.sleep(0)
T.eq(task.readycount(), rc0, "readycount drained")

T.done()
