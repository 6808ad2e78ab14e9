-- silly.task: create tasks, park and wake them, look at them (contract: core.md §3).
--
-- A task is a coroutine driven by the runtime (src/runtime/task.rs). `wait` suspends by yielding
-- the runtime's private marker right after telling the native side why.
local c = require "silly.task.c"
local traceback = require "silly.internal.traceback"
local logc = require "silly.logger.c"

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

local M = {}

-- Every task's coroutine starts here. An escaping error is logged once, with its traceback,
-- and the process goes on (DECISIONS.md C3).
c.setentry(function(fn, ud)
	local ok, err = xpcall(fn, traceback, ud)
	if not ok then
		logc.write(3, "[task] error: " .. err .. "\n")
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

---Same as `silly.error`.
---@param msg any
function M.error(msg)
	return require("silly").error(msg)
end

return M
