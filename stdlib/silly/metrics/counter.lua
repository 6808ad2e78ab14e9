-- silly.metrics.counter: a value that only goes up, such as requests served (docs/metrics.md).
--
--   local counter = require "silly.metrics.counter"
--   local c = counter("app_requests_total", "Requests served.", {"method"})
--   c:labels("GET"):inc()
--
-- The constructor does not register the counter anywhere: `silly.metrics.prometheus.counter`
-- makes one and registers it in the default registry.
local family = require "silly.metrics.internal.family"
local check = require "silly.internal.check"

local type = type
local setmetatable = setmetatable
local argerror = check.argerror
local newfamily = family.new
local child = family.child
local needlabels = family.needlabels

---@class silly.metrics.counter
---@field name string
---@field help string
---@field kind "counter"
---@field value number the count (nil on a counter with labels)
local C = {}
local value_mt = {__index = C}

-- The methods of a counter with labels: only `labels` works on it.
local F = {}
local family_mt = {__index = F}

-- A step must be a number and not negative (NaN is neither).
local function step(n, fname)
	if type(n) ~= "number" then
		argerror(1, fname, "number expected, got " .. type(n))
	end
	if not (n >= 0) then
		argerror(1, fname, "counter cannot decrease")
	end
	return n
end

---Adds `n` (default 1); a negative `n` raises.
---@param n number?
function C:inc(n)
	if n == nil then
		self.value = self.value + 1
	else
		self.value = self.value + step(n, "inc")
	end
end

---Adds `n`; a negative `n` raises.
---@param n number
function C:add(n)
	self.value = self.value + step(n, "add")
end

---Raises: a counter without labels has no children.
function C:labels()
	return child(self)
end

---Appends the counter to `buf` (the collector interface).
---@param buf table
function C:collect(buf)
	buf[#buf + 1] = self
end

local function newchild()
	return setmetatable({value = 0}, value_mt)
end

---The child counter for these label values (one per label name), made at the first call.
---@param ... string|number
---@return silly.metrics.counter
function F:labels(...)
	return child(self, newchild, ...)
end

function F:inc()
	needlabels(self, "inc")
end

function F:add()
	needlabels(self, "add")
end

F.collect = C.collect

---Makes a counter starting at 0. With `labelnames`, the counter is a family: count through
---`labels(...)`. Bad names raise.
---@param name string a metric name: [a-zA-Z_:][a-zA-Z0-9_:]*
---@param help string
---@param labelnames string[]?
---@return silly.metrics.counter
return function(name, help, labelnames)
	local c = newfamily("counter", "counter", name, help, labelnames)
	if c.labelnames then
		return setmetatable(c, family_mt)
	end
	c.value = 0
	return setmetatable(c, value_mt)
end
