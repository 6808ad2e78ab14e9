-- silly.metrics.internal.family: what counters, gauges and histograms share (docs/metrics.md):
-- checked metric and label names, the family table, and the children of a labelled family.
--
-- A family made without label names holds its value itself. A family with label names holds
-- none: `labels(...)` finds or makes the child for one tuple of label values. Children are kept
-- in creation order (`children`), so the exposition lists them in a stable order, and reached
-- through a tree of tables keyed by the values (`index`), so a lookup builds no string.
local check = require "silly.internal.check"

local type = type
local tostring = tostring
local select = select
local find = string.find
local sub = string.sub
local gsub = string.gsub
local format = string.format
local concat = table.concat
local utf8len = utf8.len
local setmetatable = setmetatable
local argerror = check.argerror

-- The Prometheus data model's rules for names.
local METRIC_NAME <const> = "^[a-zA-Z_:][a-zA-Z0-9_:]*$"
local LABEL_NAME <const> = "^[a-zA-Z_][a-zA-Z0-9_]*$"

local M = {}

-- Every family made here (weak keys), so a registry can tell a family from another collector.
local families = setmetatable({}, {__mode = "k"})

---Whether `name` is a valid metric name.
---@param name any
---@return boolean
function M.validname(name)
	return type(name) == "string" and find(name, METRIC_NAME) ~= nil
end

---Whether `obj` is a family made by a counter, gauge or histogram constructor.
---@param obj any
---@return boolean
function M.isfamily(obj)
	return families[obj] == true
end

-- The exposition format's escapes: backslash and newline in HELP text, and double quote too
-- in label values.
local ESCAPES <const> = {["\\"] = "\\\\", ["\n"] = "\\n", ['"'] = '\\"'}

---HELP text escaped for the exposition.
---@param s string
---@return string
function M.escapehelp(s)
	return (gsub(s, "[\\\n]", ESCAPES))
end

---A label value escaped for the exposition.
---@param s string
---@return string
function M.escapelabel(s)
	return (gsub(s, '[\\\n"]', ESCAPES))
end

---Checks the arguments every constructor takes and makes the family table: `kind` is
---"counter", "gauge" or "histogram"; `fname` names the constructor in errors; `reserved` is
---a label name the kind keeps for itself ("le" for histograms).
---@param kind string
---@param fname string
---@param name any
---@param help any
---@param labelnames any
---@param reserved string?
---@return table family
function M.new(kind, fname, name, help, labelnames, reserved)
	if type(name) ~= "string" then
		argerror(1, fname, "string expected, got " .. type(name))
	end
	if not find(name, METRIC_NAME) then
		argerror(1, fname, format("invalid metric name %q", name))
	end
	if type(help) ~= "string" then
		argerror(2, fname, "string expected, got " .. type(help))
	end
	local family = {name = name, help = help, kind = kind}
	if labelnames ~= nil then
		if type(labelnames) ~= "table" then
			argerror(3, fname, "table expected, got " .. type(labelnames))
		end
		local names, seen = {}, {}
		for i = 1, #labelnames do
			local l = labelnames[i]
			if type(l) ~= "string" or not find(l, LABEL_NAME) or sub(l, 1, 2) == "__" then
				argerror(3, fname, format("invalid label name %s", type(l) == "string" and format("%q", l) or type(l)))
			end
			if l == reserved then
				argerror(3, fname, format("label name %q is reserved", l))
			end
			if seen[l] then
				argerror(3, fname, format("duplicate label name %q", l))
			end
			seen[l] = true
			names[i] = l
		end
		if #names > 0 then
			family.labelnames = names
			family.children = {}
			family.index = {}
		end
	end
	families[family] = true
	return family
end

-- A label value as the exposition prints it: strings as they are, numbers as Lua writes them.
local function labelvalue(v, i)
	local t = type(v)
	if t == "string" then
		return v
	elseif t == "number" then
		return tostring(v)
	end
	argerror(i, "labels", "string expected, got " .. t)
end

-- The `name="value",...` text of one child, made once when the child is.
local function labeltext(names, values)
	local parts = {}
	for i = 1, #names do
		local v = values[i]
		if not utf8len(v) then
			argerror(i, "labels", "label value is not valid UTF-8")
		end
		parts[i] = names[i] .. '="' .. M.escapelabel(v) .. '"'
	end
	return concat(parts, ",")
end

---The child of `family` for the label values `...`, made by `newchild()` the first time.
---@param family table
---@param newchild fun(family: table): table
---@param ... string|number
---@return table child
function M.child(family, newchild, ...)
	local names = family.labelnames
	if not names then
		argerror(1, "labels", format("metric %q has no labels", family.name))
	end
	local n = select("#", ...)
	if n ~= #names then
		argerror(1, "labels", format("%d label values expected, got %d", #names, n))
	end
	local node = family.index
	for i = 1, n - 1 do
		local v = labelvalue((select(i, ...)), i)
		local next = node[v]
		if not next then
			next = {}
			node[v] = next
		end
		node = next
	end
	local last = labelvalue((select(n, ...)), n)
	local c = node[last]
	if c then
		return c
	end
	local values = {}
	for i = 1, n do
		values[i] = labelvalue((select(i, ...)), i)
	end
	-- Checked before the child exists, so a refused value leaves nothing behind.
	local text = labeltext(names, values)
	c = newchild(family)
	c.labeltext = text
	node[last] = c
	local children = family.children
	children[#children + 1] = c
	return c
end

---Raises the error of a value method called on a family that has labels.
---@param family table
---@param fname string
function M.needlabels(family, fname)
	argerror(1, fname, format("metric %q has labels: call labels(...) first", family.name))
end

return M
