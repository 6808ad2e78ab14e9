-- silly.sync.channel: an unbounded multi-producer, single-consumer queue (docs/sync.md#channel).
local task = require "silly.task"

local wait = task.wait
local wakeup = task.wakeup
local running = task.running
local status = task.status
local setmetatable = setmetatable

local CLOSED <const> = "channel closed"

---A channel: `new` makes one, the methods act on it.
---@class silly.sync.channel
local M = {}
local mt = { __index = M }

---A new, empty, open channel.
---@return silly.sync.channel
function M.new()
	return setmetatable({ head = 1, tail = 0, items = {}, closed = false, reason = nil, popper = nil }, mt)
end

---Queues `v` (neither nil nor false). Never blocks.
---@param v any
---@return boolean ok
---@return string? err
function M:push(v)
	if v == nil or v == false then
		return false, "Nil data"
	end
	if self.closed then
		return false, self.reason
	end
	local p = self.popper
	if p then
		self.popper = nil
		-- A popper that no longer exists (a REPL entry cancelled with Ctrl-C) is forgotten.
		if status(p) then
			wakeup(p, v)
			return true
		end
	end
	local tail = self.tail + 1
	self.tail = tail
	self.items[tail] = v
	return true
end

---Takes the oldest item, waiting for one if the channel is empty and open.
---@return any value
---@return any err the close reason once drained
function M:pop()
	local head = self.head
	if head <= self.tail then
		local v = self.items[head]
		self.items[head] = nil
		self.head = head + 1
		if self.head > self.tail then
			self.head, self.tail = 1, 0
		end
		return v, nil
	end
	if self.closed then
		return nil, self.reason
	end
	if self.popper and status(self.popper) then
		return nil, "Channel is mpsc"
	end
	self.popper = running()
	local v = wait()
	if v == nil then
		return nil, self.reason
	end
	return v, nil
end

---Closes the channel; queued items can still be popped. Wakes a blocked popper.
---@param reason any defaults to "channel closed"
function M:close(reason)
	if reason == nil then
		reason = CLOSED
	end
	self.closed = true
	self.reason = reason
	local p = self.popper
	if p then
		self.popper = nil
		if status(p) then
			wakeup(p, nil)
		end
	end
end

---Drops every queued item; does not close.
function M:clear()
	self.items = {}
	self.head, self.tail = 1, 0
end

return M
