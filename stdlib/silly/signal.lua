-- silly.signal: Lua handlers for OS signals (contract: docs/signal.md).
--
-- Callable as the reference has it, `signal(name, handler)` returning the previous handler, and
-- a table with `register`/`unregister`. Each delivery runs the handler in a new task.
local c = require "silly.signal.c"
local logger = require "silly.logger"
local check = require "silly.internal.check"

local check_type = check.type
local type = type

-- handler by signal name; the one registry behind every form of the API.
local handlers = {}

c.setdispatch(function(name)
	local h = handlers[name]
	if h then
		h(name)
	end
end)

local function set(name, handler, fname)
	check_type(name, "string", 1, fname)
	if handler ~= nil and type(handler) ~= "function" then
		check_type(handler, "function", 2, fname)
	end
	local signo, err = c.watch(name)
	if err then
		-- SIGKILL, SIGSTOP and the crash signals cannot be caught.
		error(err, 3)
	end
	if not signo then
		logger.error("[signal] sig: " .. name .. " not support")
		return nil
	end
	local prev = handlers[name]
	handlers[name] = handler
	c.sethandled(signo, handler ~= nil)
	return prev
end

local M = {}

---Registers `handler(name)` for signal `name` ("SIGUSR1" ...); nil restores the default.
---@param name string
---@param handler fun(name: string)?
---@return function? previous the handler registered before
function M.register(name, handler)
	return set(name, handler, "register")
end

---Removes the handler of `name`: the signal does its default again.
---@param name string
---@return function? previous
function M.unregister(name)
	return set(name, nil, "unregister")
end

return setmetatable(M, {
	__call = function(_, name, handler)
		return set(name, handler, "signal")
	end,
})
