-- silly.metrics.gauge: a value that goes up and down, such as connections open now
-- (docs/metrics.md).
--
--   local gauge = require "silly.metrics.gauge"
--   local g = gauge("app_sessions", "Sessions open now.")
--   g:inc(); g:dec(); g:set(12)
--
-- The constructor does not register the gauge anywhere: `silly.metrics.prometheus.gauge`
-- makes one and registers it in the default registry.
local family = require "silly.metrics.internal.family"
local check = require "silly.internal.check"

local type = type
local ipairs = ipairs
local setmetatable = setmetatable
local argerror = check.argerror
local newfamily = family.new
local child = family.child
local needlabels = family.needlabels

---@class silly.metrics.gauge
---@field name string
---@field help string
---@field kind "gauge"
---@field value number the value (nil on a gauge with labels)
local G = {}
local value_mt = {__index = G}

local F = {}
local family_mt = {__index = F}

local function number(n, fname)
	if type(n) ~= "number" then
		argerror(1, fname, "number expected, got " .. type(n))
	end
	return n
end

---Sets the value.
---@param v number
function G:set(v)
	self.value = number(v, "set")
end

---Adds `n` (default 1).
---@param n number?
function G:inc(n)
	self.value = self.value + (n == nil and 1 or number(n, "inc"))
end

---Subtracts `n` (default 1).
---@param n number?
function G:dec(n)
	self.value = self.value - (n == nil and 1 or number(n, "dec"))
end

---Adds `n`.
---@param n number
function G:add(n)
	self.value = self.value + number(n, "add")
end

---Subtracts `n`.
---@param n number
function G:sub(n)
	self.value = self.value - number(n, "sub")
end

---Raises: a gauge without labels has no children.
function G:labels()
	return child(self)
end

---Appends the gauge to `buf` (the collector interface).
---@param buf table
function G:collect(buf)
	buf[#buf + 1] = self
end

local function newchild()
	return setmetatable({value = 0}, value_mt)
end

---The child gauge for these label values (one per label name), made at the first call.
---@param ... string|number
---@return silly.metrics.gauge
function F:labels(...)
	return child(self, newchild, ...)
end

for _, m in ipairs {"set", "inc", "dec", "add", "sub"} do
	F[m] = function(self)
		needlabels(self, m)
	end
end

F.collect = G.collect

---Makes a gauge starting at 0. With `labelnames`, the gauge is a family: set values
---through `labels(...)`. Bad names raise.
---@param name string a metric name: [a-zA-Z_:][a-zA-Z0-9_:]*
---@param help string
---@param labelnames string[]?
---@return silly.metrics.gauge
return function(name, help, labelnames)
	local g = newfamily("gauge", "gauge", name, help, labelnames)
	if g.labelnames then
		return setmetatable(g, family_mt)
	end
	g.value = 0
	return setmetatable(g, value_mt)
end
