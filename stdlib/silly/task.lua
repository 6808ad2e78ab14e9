-- silly.task: create tasks, park and wake them, look at them (contract: docs/task.md).
--
-- A task is a coroutine driven by the runtime (src/runtime/task.rs). `wait` suspends by yielding
-- the runtime's private marker right after telling the native side why.
local c = require "silly.task.c"
local traceback = require "silly.internal.traceback"
local logc = require "silly.logger.c"
local check = require "silly.internal.check"

local MARKER = c.marker
local c_fork = c.fork
local c_wait = c.wait
local c_wakeup = c.wakeup
local c_status = c.status
local yield = coroutine.yield
local xpcall = xpcall
local error = error
local pairs = pairs
local dbg_traceback = debug.traceback
local select = select
local type = type
local tostring = tostring
local unpack = table.unpack
local setmetatable = setmetatable

-- silly.logger's ERROR level.
local ERROR <const> = 3

local M = {}

-- Every task's coroutine starts here. An escaping error is logged once, with its traceback,
-- and the process goes on (docs/cli.md#uncaught-errors).
c.setentry(function(fn, ud)
	local ok, err = xpcall(fn, traceback, ud)
	if not ok then
		logc.write(ERROR, "[task] error: " .. err .. "\n")
	end
end)

---Starts `fn(ud)` in a new task; it runs after the caller yields or returns.
---@param fn fun(ud: any)
---@param ud any
---@return thread
function M.fork(fn, ud)
	return c_fork(fn, ud)
end

---Suspends the current task until `task.wakeup` hands it a value.
---@return any value the value given to `wakeup`
function M.wait()
	local err = c_wait()
	if err then
		error(err, 2)
	end
	return yield(MARKER)
end

---Makes a task parked in `wait()` ready; it will receive `v`.
---@param t thread
---@param v any
function M.wakeup(t, v)
	local err = c_wakeup(t, v)
	if err then
		error(err, 2)
	end
end

---The current task's coroutine.
---@return thread
M.running = c.running

---"READY", "RUN", "WAIT", or nil for a coroutine that is not a live task.
---@param t thread
---@return string?
function M.status(t)
	return c_status(t)
end

---How many tasks are queued to run.
---@return integer
M.readycount = c.readycount

---Every live task with its status and traceback.
---@return table<thread, {status: string, traceback: string}>
function M.inspect()
	local out = {}
	for co, status in pairs(c.list()) do
		out[co] = { status = status, traceback = dbg_traceback(co) }
	end
	return out
end

-- Tasks parked by the yield function that `hook` returns: its resume function wakes only them.
local yielded = setmetatable({}, { __mode = "k" })
-- Marks the values the resume function hands to the yield function.
local PACKED = {}

-- The yield function of `hook`: parks the running task until the resume function continues it,
-- and returns the values given there.
local function hook_yield()
	local err = c_wait()
	if err then
		error(err, 2)
	end
	local t = c.running()
	yielded[t] = true
	local v = yield(MARKER)
	yielded[t] = nil
	if type(v) == "table" and v[PACKED] then
		return unpack(v, 1, v.n)
	end
	return v
end

-- The resume function of `hook`: continues a task parked by the yield function with `...`.
-- The task runs after the caller yields or returns, as after `wakeup`.
local function hook_resume(t, ...)
	if not yielded[t] then
		error("BUG: resume on a task that did not yield: " .. tostring(t), 2)
	end
	yielded[t] = nil
	local err = c_wakeup(t, { [PACKED] = true, n = select("#", ...), ... })
	if err then
		error(err, 2)
	end
end

---Sets hooks on the life of tasks (for debuggers and profilers): `create(t)` is called with
---each new task's coroutine as soon as it is created, `term(t)` when a task ends (normally or
---by an error). `hook()` removes them. A hook's error is logged and changes nothing else;
---tasks created or ended inside a hook call no hook.
---Returns the resume and yield functions for tasks: `yield()` parks the running task until
---`resume(t, ...)` continues it; `yield` then returns `...`.
---@param create fun(t: thread)?
---@param term fun(t: thread)?
---@return fun(t: thread, ...) resume
---@return fun(): ... yield
function M.hook(create, term)
	if create ~= nil then
		check.type(create, "function", 1, "hook")
	end
	if term ~= nil then
		check.type(term, "function", 2, "hook")
	end
	c.sethooks(create, term)
	return hook_resume, hook_yield
end

---Same as `silly.error`.
---@param msg any
function M.error(msg)
	return require("silly").error(msg)
end

return M
