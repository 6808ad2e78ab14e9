-- silly.metrics.registry: an ordered set of collectors, gathered together for one scrape
-- (docs/metrics.md).
--
-- A collector is any table with a `collect(self, buf)` method that appends metrics to `buf`:
-- counters, gauges and histograms are collectors of themselves; the built-in collectors
-- (silly.metrics.collector.*) append several.
local family = require "silly.metrics.internal.family"
local check = require "silly.internal.check"

local type = type
local format = string.format
local remove = table.remove
local setmetatable = setmetatable
local argerror = check.argerror
local isfamily = family.isfamily

---@class silly.metrics.registry
local R = {}
local mt = {__index = R}

local M = {}

---A new, empty registry.
---@return silly.metrics.registry
function M.new()
	return setmetatable({}, mt)
end

---Adds a collector; adding the same one again does nothing. A counter, gauge or histogram
---whose name another one in the registry already has raises: one name, one metric.
---@param collector table
function R:register(collector)
	if type(collector) ~= "table" or type(collector.collect) ~= "function" then
		argerror(1, "register", "collector expected (a table with a collect method)")
	end
	for i = 1, #self do
		local c = self[i]
		if c == collector then
			return
		end
		if isfamily(collector) and isfamily(c) and c.name == collector.name then
			argerror(1, "register", format("metric %q is already registered", c.name))
		end
	end
	self[#self + 1] = collector
end

---Removes a collector; one that is not registered is ignored.
---@param collector table
function R:unregister(collector)
	for i = 1, #self do
		if self[i] == collector then
			remove(self, i)
			return
		end
	end
end

---The metrics of every collector, in registration order.
---@return table[]
function R:collect()
	local buf = {}
	for i = 1, #self do
		self[i]:collect(buf)
	end
	return buf
end

return M
