-- silly: the core module. Process facts, error helpers and exit (contract: docs/silly.md).
local c = require "silly.c"
local logger = require "silly.logger"
local check = require "silly.internal.check"

local type = type
local xpcall = xpcall
local tostring = tostring
local traceback = debug.traceback
local tointeger = math.tointeger

---Process facts (docs/silly.md) and the error helpers.
---@class silly
---@field pid integer the process id
---@field version string the version of this runtime
---@field gitsha1 string the commit the binary was built from, or ""
---@field allocator string
---@field multiplexer string
---@field timerresolution integer milliseconds
local M = {
	pid = c.pid,
	version = c.version,
	gitsha1 = c.gitsha1,
	allocator = "system",
	multiplexer = "epoll",
	-- Timers have millisecond precision (docs/time.md#order).
	timerresolution = 1,
}

local ID_MASK <const> = 0xFFFFFFFF
local id = 0

---A per-process counter: 1, 2, 3 ... wrapping to 0 after 2^32-1.
---@return integer
function M.genid()
	id = (id + 1) & ID_MASK
	return id
end

local function pcall_handler(e)
	return traceback("error: " .. tostring(e), 2)
end

---Like `xpcall` with a handler that returns "error: <e>" and a traceback.
---@param f function
---@return boolean ok
---@return any ...
function M.pcall(f, ...)
	return xpcall(f, pcall_handler, ...)
end

---Logs `msg` at ERROR, then a stack traceback at ERROR. Never raises.
---@param msg any
function M.error(msg)
	logger.error(msg)
	logger.error(traceback("", 2))
end

---Ends the process at once with `status & 0xFF` (default 0).
---@param status integer?
function M.exit(status)
	if status == nil then
		status = 0
	end
	local n = tointeger(status)
	if type(status) ~= "number" or not n then
		local got = type(status) == "number" and "number has no integer representation"
			or ("number expected, got " .. type(status))
		check.argerror(1, "exit", got)
	end
	c.exit(n)
end

return M
