-- silly.internal.coroutine: lets user coroutines live inside tasks (docs/task.md#user-coroutines).
--
-- A task suspends for the runtime by yielding a private marker (see src/runtime/task.rs).
-- When a runtime call (sleep, read, wait ...) is made inside a user coroutine nested in a task,
-- that marker yield lands in the user's `coroutine.resume`. The wrapped `resume` below passes it
-- up: it yields the marker itself, so the whole task suspends, and resumes the inner coroutine
-- with whatever the runtime answered. Plain user yields are returned as usual.
local c = require "silly.task.c"
local check = require "silly.internal.check"

local MARKER = c.marker
local istask = c.istask
local co_resume = coroutine.resume
local co_yield = coroutine.yield
local co_create = coroutine.create
local co_status = coroutine.status
local co_close = coroutine.close
local error = error
local type = type
local setmetatable = setmetatable
local argerror = check.argerror

-- User coroutines suspended in a runtime call right now. To Lua they look like any suspended
-- coroutine, but resuming one from another task would end that call early, in the wrong task.
local parked = setmetatable({}, { __mode = "k" })

local pass

local function back(co, ...)
	parked[co] = nil
	return pass(co, co_resume(co, ...))
end

pass = function(co, ok, first, ...)
	if ok and first == MARKER and co_status(co) == "suspended" then
		parked[co] = true
		return back(co, co_yield(MARKER))
	end
	return ok, first, ...
end

---Resumes a user coroutine; runtime suspensions inside it suspend the enclosing task.
---@param co thread
---@return boolean ok
---@return any ...
local function resume(co, ...)
	if type(co) ~= "thread" then
		-- The built-in would name its upvalue ('co_resume') and blame this file.
		argerror(1, "resume", "thread expected, got " .. type(co))
	end
	if istask(co) then
		argerror(1, "resume", "cannot resume a task; use task.wakeup")
	end
	if parked[co] then
		argerror(1, "resume", "cannot resume a coroutine suspended in a runtime call")
	end
	return pass(co, co_resume(co, ...))
end

local function unwrap(co, ok, ...)
	if ok then
		return ...
	end
	local err = ...
	-- As the built-in wrap does: close the dead coroutine (running its pending <close>
	-- variables) and raise its error unchanged.
	co_close(co)
	error(err, 0)
end

---Like `coroutine.wrap`, on the wrapped `resume`.
---@param f function
---@return function
local function wrap(f)
	local co = co_create(f)
	return function(...)
		return unwrap(co, resume(co, ...))
	end
end

coroutine.resume = resume
coroutine.wrap = wrap

return {
	resume = resume,
	wrap = wrap,
}
