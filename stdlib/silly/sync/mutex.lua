-- silly.sync.mutex: keyed, reentrant locks with FIFO hand-off (contract: docs/sync.md#mutex).
local task = require "silly.task"

local wait = task.wait
local wakeup = task.wakeup
local running = task.running
local status = task.status
local setmetatable = setmetatable
local remove = table.remove

---A set of keyed locks: `new` makes one, the methods act on it.
---@class silly.sync.mutex
local M = {}
local mt = { __index = M }

local proxy_mt = {}
proxy_mt.__index = proxy_mt

---A new, independent set of locks.
---@return silly.sync.mutex
function M.new()
	return setmetatable({ locks = {} }, mt)
end

---Takes the lock of `key` (reentrant), waiting in FIFO order if another task holds it.
---@param key any
---@return table proxy with `unlock()`, usable as a `<close>` variable
function M:lock(key)
	local locks = self.locks
	local me = running()
	local l = locks[key]
	if not l then
		l = { owner = me, count = 1, waiters = {} }
		locks[key] = l
	elseif l.owner == me then
		l.count = l.count + 1
	else
		local waiters = l.waiters
		waiters[#waiters + 1] = me
		wait()
		-- Ownership was handed to us by unlock.
	end
	return setmetatable({ mutex = self, key = key, held = true }, proxy_mt)
end

---Releases one level of the lock this proxy holds; a second call is a no-op.
function proxy_mt:unlock()
	if not self.held then
		return
	end
	self.held = false
	local locks = self.mutex.locks
	local l = locks[self.key]
	if not l then
		return
	end
	l.count = l.count - 1
	if l.count > 0 then
		return
	end
	local next_owner = remove(l.waiters, 1)
	-- Waiters that no longer exist (a REPL entry cancelled with Ctrl-C) are passed over.
	while next_owner and not status(next_owner) do
		next_owner = remove(l.waiters, 1)
	end
	if next_owner then
		l.owner = next_owner
		l.count = 1
		wakeup(next_owner)
	else
		locks[self.key] = nil
	end
end

proxy_mt.__close = proxy_mt.unlock

return M
