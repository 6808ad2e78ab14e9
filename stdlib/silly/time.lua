-- silly.time: clocks and timers with millisecond precision (contract: docs/time.md).
local c = require "silly.time.c"
local tc = require "silly.task.c"
local check = require "silly.internal.check"

local MARKER = tc.marker
local c_sleep = c.sleep
local c_after = c.after
local c_cancel = c.cancel
local check_ms = check.ms
local check_type = check.type
local yield = coroutine.yield
local mathtype = math.type

local M = {}

---Wall-clock time in milliseconds since the Unix epoch.
---@return integer
M.now = c.now

---Milliseconds since the process started; never goes back.
---@return integer
M.monotonic = c.monotonic

---Suspends the current task for `ms` milliseconds. `sleep(0)` lets pending I/O run first.
---@param ms integer
function M.sleep(ms)
	c_sleep(check_ms(ms, 1, "sleep"))
	yield(MARKER)
end

---Runs `fn(ud)` in a new task after `ms` milliseconds (`fn(session)` when `ud` is falsy).
---@param ms integer
---@param fn fun(ud: any)
---@param ud any
---@return integer session for `cancel`
function M.after(ms, fn, ud)
	ms = check_ms(ms, 1, "after")
	check_type(fn, "function", 2, "after")
	return c_after(ms, fn, ud)
end

---Cancels a pending `after`. Unknown, fired or cancelled sessions are ignored.
---@param session integer
function M.cancel(session)
	if mathtype(session) == "integer" then
		c_cancel(session)
	end
end

return M
