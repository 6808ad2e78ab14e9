-- silly.metrics.prometheus: the default registry, and the Prometheus text exposition format
-- (version 0.0.4) of any registry (docs/metrics.md).
--
--   local prometheus = require "silly.metrics.prometheus"
--   local hits = prometheus.counter("app_hits_total", "Pages served.")
--   hits:inc()
--   local text = prometheus.gather()    -- the body of a /metrics response
--
-- The default registry starts with the runtime and process collectors
-- (silly.metrics.collector.silly, silly.metrics.collector.process). Output follows the
-- registration order, each labelled family's children in the order they were first used.
local counter = require "silly.metrics.counter"
local gauge = require "silly.metrics.gauge"
local histogram = require "silly.metrics.histogram"
local registry = require "silly.metrics.registry"
local family = require "silly.metrics.internal.family"
local check = require "silly.internal.check"

local type = type
local tostring = tostring
local tonumber = tonumber
local mathtype = math.type
local floor = math.floor
local huge = math.huge
local format = string.format
local concat = table.concat
local getmetatable = getmetatable
local validname = family.validname
local escapehelp = family.escapehelp
local raise = check.raise
local argerror = check.argerror

local M = {}

---The `content-type` of a response carrying `gather()`'s text.
M.CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

local default = registry.new()
local registry_mt = getmetatable(default)

---Makes a counter (see silly.metrics.counter) and registers it in the default registry.
---@param name string
---@param help string
---@param labelnames string[]?
---@return silly.metrics.counter
function M.counter(name, help, labelnames)
	local c = counter(name, help, labelnames)
	default:register(c)
	return c
end

---Makes a gauge (see silly.metrics.gauge) and registers it in the default registry.
---@param name string
---@param help string
---@param labelnames string[]?
---@return silly.metrics.gauge
function M.gauge(name, help, labelnames)
	local g = gauge(name, help, labelnames)
	default:register(g)
	return g
end

---Makes a histogram (see silly.metrics.histogram) and registers it in the default registry.
---@param name string
---@param help string
---@param labelnames string[]?
---@param buckets number[]?
---@return silly.metrics.histogram
function M.histogram(name, help, labelnames, buckets)
	local h = histogram(name, help, labelnames, buckets)
	default:register(h)
	return h
end

---The default registry, which `counter`, `gauge` and `histogram` register in.
---@return silly.metrics.registry
function M.registry()
	return default
end

-- A sample value as the format writes it: integers plainly, the shortest decimal that reads
-- back as the same float, and the format's own words for infinities and NaN.
local function number(v)
	if mathtype(v) == "integer" then
		return tostring(v)
	elseif v ~= v then
		return "NaN"
	elseif v == huge then
		return "+Inf"
	elseif v == -huge then
		return "-Inf"
	elseif v == floor(v) and v > -2 ^ 53 and v < 2 ^ 53 then
		return format("%d", v)
	end
	local s = format("%.15g", v)
	if tonumber(s) ~= v then
		s = format("%.17g", v)
	end
	return s
end

local KINDS <const> = {counter = true, gauge = true, histogram = true, untyped = true}

-- A metric a collector appended must have a valid name, a known kind and number values:
-- anything else is a bug in the collector.
local function bad(m, why)
	raise(format("gather: metric %s: %s", tostring(m.name), why))
end

local function checknumber(m, v, what)
	if type(v) ~= "number" then
		bad(m, what .. " is not a number")
	end
	return v
end

-- Appends the lines of one sample (one histogram: its buckets, sum and count) to `out`.
-- `labels` is the child's `name="value",...` text, or nil.
local function sample(out, m, name, labels, v)
	local n = #out
	if m.kind ~= "histogram" then
		local value = number(checknumber(m, v.value, "value"))
		if labels then
			out[n + 1] = format("%s{%s} %s\n", name, labels, value)
		else
			out[n + 1] = format("%s %s\n", name, value)
		end
		return
	end
	local bounds, counts = v.buckets, v.bucketcounts
	if type(bounds) ~= "table" or type(counts) ~= "table" then
		bad(m, "histogram without buckets")
	end
	local pre = labels and (name .. "_bucket{" .. labels .. ',le="') or (name .. '_bucket{le="')
	local cumulative = 0
	for i = 1, #bounds do
		cumulative = cumulative + checknumber(m, counts[i], "bucket count")
		n = n + 1
		out[n] = format('%s%s"} %s\n', pre, number(checknumber(m, bounds[i], "bucket")), number(cumulative))
	end
	local count = number(checknumber(m, v.count, "count"))
	local sum = number(checknumber(m, v.sum, "sum"))
	out[n + 1] = format('%s+Inf"} %s\n', pre, count)
	if labels then
		out[n + 2] = format("%s_sum{%s} %s\n", name, labels, sum)
		out[n + 3] = format("%s_count{%s} %s\n", name, labels, count)
	else
		out[n + 2] = format("%s_sum %s\n", name, sum)
		out[n + 3] = format("%s_count %s\n", name, count)
	end
end

---The text exposition of every metric in `reg` (default: the default registry), ready to be
---a scrape's response body. A family with labels but no child yet is left out.
---@param reg silly.metrics.registry?
---@return string
function M.gather(reg)
	if reg == nil then
		reg = default
	elseif getmetatable(reg) ~= registry_mt then
		argerror(1, "gather", "registry expected, got " .. type(reg))
	end
	local metrics = reg:collect()
	local out = {}
	for i = 1, #metrics do
		local m = metrics[i]
		if type(m) ~= "table" then
			raise("gather: a collector appended a " .. type(m) .. ", not a metric")
		end
		local name, kind, help = m.name, m.kind, m.help
		if not validname(name) then
			bad(m, "invalid name")
		end
		if not KINDS[kind] then
			bad(m, "unknown kind " .. tostring(kind))
		end
		if help ~= nil and type(help) ~= "string" then
			bad(m, "help is not a string")
		end
		local children = m.children
		if not children or #children > 0 then
			if help then
				out[#out + 1] = format("# HELP %s %s\n", name, escapehelp(help))
			end
			out[#out + 1] = format("# TYPE %s %s\n", name, kind)
			if children then
				for j = 1, #children do
					local c = children[j]
					sample(out, m, name, c.labeltext, c)
				end
			else
				sample(out, m, name, nil, m)
			end
		end
	end
	return concat(out)
end

default:register(require("silly.metrics.collector.silly").new())
default:register(require("silly.metrics.collector.process").new())

return M
