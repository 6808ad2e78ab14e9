-- silly.sync.waitgroup: wait for a group of tasks to finish (contract: docs/sync.md#waitgroup).
local task = require "silly.task"
local silly = require "silly"
local logger = require "silly.logger"

local fork = task.fork
local wait = task.wait
local wakeup = task.wakeup
local running = task.running
local status = task.status
local spcall = silly.pcall
local setmetatable = setmetatable

---A wait group: `new` makes one, the methods act on it.
---@class silly.sync.waitgroup
local M = {}
local mt = { __index = M }

---A new group with `count == 0`.
---@return silly.sync.waitgroup
function M.new()
	return setmetatable({ count = 0, waiter = nil }, mt)
end

---Runs `fn()` in a new task counted by the group; an error in it is logged.
---@param fn function
---@return thread
function M:fork(fn)
	self.count = self.count + 1
	return fork(function()
		local ok, err = spcall(fn)
		if not ok then
			logger.error("[waitgroup] fork err: " .. err)
		end
		self.count = self.count - 1
		local w = self.waiter
		if self.count <= 0 and w then
			self.waiter = nil
			-- A waiter that no longer exists (a REPL entry cancelled with Ctrl-C) is dropped.
			if status(w) then
				wakeup(w)
			end
		end
	end)
end

---Suspends until every task forked by the group has finished.
function M:wait()
	if self.count <= 0 then
		return
	end
	self.waiter = running()
	wait()
end

return M
