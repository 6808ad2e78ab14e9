-- task.hook (docs/README.md's silly.task): create/term hooks on every task, removal with hook(),
-- logged hook errors, and the resume/yield pair it returns.
local T = require "testaux"
local task = require "silly.task"
local time = require "silly.time"
local tcp = require "silly.net.tcp"

T.limit(10000)

task.fork(function()
	local created, ended = {}, {}
	local resume, yield = task.hook(function(t)
		created[#created + 1] = t
	end, function(t)
		ended[#ended + 1] = t
	end)
	T.eq(type(resume), "function", "hook returns a resume function")
	T.eq(type(yield), "function", "hook returns a yield function")

	-- fork: create is called before fork returns, term when the task ends.
	local t = task.fork(function() end)
	T.eq(created[#created], t, "create(t) runs as fork creates t")
	T.eq(#ended, 0, "term not yet called")
	time.sleep(0)
	T.eq(ended[#ended], t, "term(t) after t ended")

	-- A task that raises still ends through term.
	local bad = task.fork(function()
		error("expected failure (task_hook.lua)")
	end)
	time.sleep(0)
	T.eq(ended[#ended], bad, "term(t) after a task failed")

	-- Tasks the runtime creates (a timer, an accepted connection) call the hooks too.
	local n = #created
	local fired
	time.after(0, function()
		fired = task.running()
	end)
	time.sleep(10)
	T.eq(created[n + 1], fired, "create for a time.after task")
	local accepted = false
	local l = assert(tcp.listen({
		addr = "127.0.0.1:0",
		accept = function(c)
			accepted = task.running()
			c:close()
		end,
	}))
	local c = assert(tcp.connect(l:localaddr()))
	while not accepted do
		time.sleep(1)
	end
	local seen = false
	for _, x in ipairs(created) do
		seen = seen or x == accepted
	end
	T.check(seen, "create for an accept task")
	c:close()
	l:close()

	-- yield parks the task; resume continues it with values.
	local got
	local y = task.fork(function()
		got = table.pack(yield())
	end)
	time.sleep(0)
	T.eq(task.status(y), "WAIT", "yield parks the task")
	resume(y, 1, nil, "three")
	time.sleep(0)
	T.eq(got and got.n, 3, "yield returns every value given to resume")
	T.eq(got and got[3], "three", "yield's third value")
	T.raises("resume on a task that did not yield", "resume of a task that did not yield", resume,
		task.running())

	-- hook() removes the hooks.
	task.hook()
	local before_c, before_e = #created, #ended
	task.fork(function() end)
	time.sleep(0)
	T.eq(#created, before_c, "no create after hook()")
	T.eq(#ended, before_e, "no term after hook()")

	-- A hook that raises is logged; the task is created and runs anyway.
	task.hook(function()
		error("expected hook failure (task_hook.lua)")
	end)
	local ran = false
	task.fork(function()
		ran = true
	end)
	time.sleep(0)
	T.check(ran, "a failing create hook does not stop the task")

	-- A hook that forks does not recurse.
	local inner = 0
	task.hook(function()
		inner = inner + 1
		task.fork(function() end)
	end)
	task.fork(function() end)
	time.sleep(0)
	T.eq(inner, 1, "tasks forked inside a hook call no hook")
	task.hook()

	T.raises("bad argument #1 to 'hook' %(function expected, got number%)", "hook(1)", task.hook, 1)
	T.raises("bad argument #2 to 'hook' %(function expected, got string%)", "hook(nil, 's')", task.hook, nil, "s")
	T.done()
end)
