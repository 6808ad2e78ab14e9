-- silly.metrics.histogram: observations counted into buckets, such as request durations
-- (docs/metrics.md).
--
--   local histogram = require "silly.metrics.histogram"
--   local h = histogram("app_request_seconds", "Request time.", nil, {0.01, 0.1, 1})
--   h:observe(0.042)
--
-- Each bucket is counted on its own here; the exposition adds them up into Prometheus'
-- cumulative `le` buckets and the `+Inf` bucket. The constructor does not register the
-- histogram anywhere: `silly.metrics.prometheus.histogram` makes one and registers it.
local family = require "silly.metrics.internal.family"
local check = require "silly.internal.check"

local type = type
local setmetatable = setmetatable
local sort = table.sort
local huge = math.huge
local format = string.format
local argerror = check.argerror
local newfamily = family.new
local child = family.child
local needlabels = family.needlabels

-- The Prometheus client libraries' default buckets (seconds).
local DEFAULT_BUCKETS <const> = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0}

---@class silly.metrics.histogram
---@field name string
---@field help string
---@field kind "histogram"
---@field buckets number[] the upper bounds, ascending, without +Inf
---@field bucketcounts integer[] observations per bucket (not cumulative)
---@field sum number
---@field count integer
local H = {}
local value_mt = {__index = H}

local F = {}
local family_mt = {__index = F}

---Counts `v` into the first bucket whose bound is at least `v`, and into the sum and count.
---@param v number
function H:observe(v)
	if type(v) ~= "number" then
		argerror(1, "observe", "number expected, got " .. type(v))
	end
	self.sum = self.sum + v
	self.count = self.count + 1
	local bounds = self.buckets
	for i = 1, #bounds do
		if v <= bounds[i] then
			local counts = self.bucketcounts
			counts[i] = counts[i] + 1
			return
		end
	end
end

---Raises: a histogram without labels has no children.
function H:labels()
	return child(self)
end

---Appends the histogram to `buf` (the collector interface).
---@param buf table
function H:collect(buf)
	buf[#buf + 1] = self
end

local function zeros(n)
	local t = {}
	for i = 1, n do
		t[i] = 0
	end
	return t
end

-- A child shares its family's bounds.
local function newchild(f)
	local b = f.buckets
	return setmetatable({buckets = b, bucketcounts = zeros(#b), sum = 0, count = 0}, value_mt)
end

---The child histogram for these label values (one per label name), made at the first call.
---@param ... string|number
---@return silly.metrics.histogram
function F:labels(...)
	return child(self, newchild, ...)
end

function F:observe()
	needlabels(self, "observe")
end

F.collect = H.collect

-- The bounds, sorted; +Inf is implied and dropped; NaN and repeated bounds raise.
local function bounds(buckets)
	if buckets == nil then
		buckets = DEFAULT_BUCKETS
	elseif type(buckets) ~= "table" then
		argerror(4, "histogram", "table expected, got " .. type(buckets))
	end
	local b = {}
	for i = 1, #buckets do
		local v = buckets[i]
		if type(v) ~= "number" or v ~= v then
			argerror(4, "histogram", format("bucket %d is not a number", i))
		end
		if v ~= huge then
			b[#b + 1] = v
		end
	end
	sort(b)
	for i = 2, #b do
		if b[i] == b[i - 1] then
			argerror(4, "histogram", "buckets repeat " .. b[i])
		end
	end
	return b
end

---Makes a histogram with the given bucket bounds (default: the Prometheus client
---libraries' defaults, 0.005 to 10). With `labelnames`, the histogram is a family: observe
---through `labels(...)`. Bad names or buckets raise; "le" is not a valid label name here.
---@param name string a metric name: [a-zA-Z_:][a-zA-Z0-9_:]*
---@param help string
---@param labelnames string[]?
---@param buckets number[]?
---@return silly.metrics.histogram
return function(name, help, labelnames, buckets)
	local h = newfamily("histogram", "histogram", name, help, labelnames, "le")
	h.buckets = bounds(buckets)
	if h.labelnames then
		return setmetatable(h, family_mt)
	end
	h.bucketcounts = zeros(#h.buckets)
	h.sum = 0
	h.count = 0
	return setmetatable(h, value_mt)
end
