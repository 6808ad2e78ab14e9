-- silly.logger: leveled log records (contract: docs/logger.md).
--
-- Records go to stderr, or to the --log-path file; the header (time, trace id, level letter) is
-- written by the native side. Output functions below the current level are no-ops, rebound by
-- `setlevel`, so a hidden call costs one empty function call.
local c = require "silly.logger.c"
local check = require "silly.internal.check"

local write = c.write
local type = type
local tostring = tostring
local pairs = pairs
local select = select
local error = error
local getinfo = debug.getinfo
local format = string.format
local concat = table.concat
local mathtype = math.type
local tointeger = math.tointeger
local find = string.find
local sub = string.sub
local argerror = check.argerror

-- Nesting rendered before "{...}": bounds the record for deep or self-referencing tables.
local MAXDEPTH <const> = 5
-- The stack level of a record's caller as seen from `location`: location, plain|formatted,
-- the public output function, its caller.
local CALLER <const> = 4

---The output functions are rebound by `setlevel`; `debug(...)` logs its arguments rendered
---and space-separated, `debugf(fmt, ...)` formats with "%s" only.
---@class silly.logger
---@field debug fun(...: any)
---@field info fun(...: any)
---@field warn fun(...: any)
---@field error fun(...: any)
---@field debugf fun(fmt: string|number, ...: any)
---@field infof fun(fmt: string|number, ...: any)
---@field warnf fun(fmt: string|number, ...: any)
---@field errorf fun(fmt: string|number, ...: any)
local M = {
	DEBUG = 0,
	INFO = 1,
	WARN = 2,
	ERROR = 3,
}

local render

local function render_table(t, depth, out)
	if depth >= MAXDEPTH then
		out[#out + 1] = "{...}"
		return
	end
	out[#out + 1] = "{"
	local first = true
	for k, v in pairs(t) do
		if not first then
			out[#out + 1] = ","
		end
		first = false
		if type(k) == "string" then
			out[#out + 1] = k
		else
			out[#out + 1] = "["
			render(k, depth + 1, out, false)
			out[#out + 1] = "]"
		end
		out[#out + 1] = "="
		render(v, depth + 1, out, true)
	end
	out[#out + 1] = "}"
end

-- Appends the text of `v` to `out`; strings nested in tables are quoted.
render = function(v, depth, out, quote)
	local t = type(v)
	if t == "string" then
		out[#out + 1] = quote and ('"' .. v .. '"') or v
	elseif t == "number" then
		out[#out + 1] = mathtype(v) == "integer" and tostring(v) or format("%.14g", v)
	elseif t == "boolean" or t == "nil" then
		out[#out + 1] = tostring(v)
	elseif t == "table" then
		render_table(v, depth, out)
	else
		out[#out + 1] = '"' .. tostring(v) .. '"'
	end
end

-- "file:line " of the caller of the public function, if that caller is Lua code.
local function location()
	local info = getinfo(CALLER, "Sl")
	if info and info.what ~= "C" and info.currentline and info.currentline >= 0 then
		return info.short_src .. ":" .. info.currentline .. " "
	end
	return ""
end

local function plain(level, ...)
	local out = { location() }
	for i = 1, select("#", ...) do
		render((select(i, ...)), 0, out, false)
		out[#out + 1] = " "
	end
	out[#out + 1] = "\n"
	write(level, concat(out))
end

local function formatted(level, fmt, ...)
	if type(fmt) == "number" then
		fmt = tostring(fmt)
	elseif type(fmt) ~= "string" then
		argerror(1, "format", "string expected, got " .. type(fmt), 4)
	end
	local out = { location() }
	local argi, nargs = 1, select("#", ...)
	local pos = 1
	while true do
		local at = find(fmt, "%", pos, true)
		if not at then
			out[#out + 1] = sub(fmt, pos)
			break
		end
		out[#out + 1] = sub(fmt, pos, at - 1)
		local opt = sub(fmt, at + 1, at + 1)
		if opt == "%" then
			out[#out + 1] = "%"
		elseif opt == "s" then
			if argi > nargs then
				argerror(argi + 1, "format", "no value", 4)
			end
			render((select(argi, ...)), 0, out, false)
			out[#out + 1] = " "
			argi = argi + 1
		else
			error(format("invalid option '%%%s' to 'format', only support '%%s'", opt == "" and "\0" or opt), 3)
		end
		pos = at + 2
	end
	out[#out + 1] = "\n"
	write(level, concat(out))
end

local function nop() end

local outputs = {
	{ "debug", "debugf", M.DEBUG },
	{ "info", "infof", M.INFO },
	{ "warn", "warnf", M.WARN },
	{ "error", "errorf", M.ERROR },
}

-- Real output functions, one pair per level; they still filter at call time so a saved
-- reference obeys a later `setlevel`.
local real = {}
for _, o in pairs(outputs) do
	local name, fname, level = o[1], o[2], o[3]
	real[name] = function(...)
		if level >= c.getlevel() then
			plain(level, ...)
		end
	end
	real[fname] = function(fmt, ...)
		if level >= c.getlevel() then
			formatted(level, fmt, ...)
		end
	end
end

local function bind(level)
	for _, o in pairs(outputs) do
		local visible = o[3] >= level
		M[o[1]] = visible and real[o[1]] or nop
		M[o[2]] = visible and real[o[2]] or nop
	end
end

---The current level (0 DEBUG .. 3 ERROR).
---@return integer
function M.getlevel()
	return c.getlevel()
end

---Sets the process-wide level; records below it are dropped.
---@param level integer 0..3
function M.setlevel(level)
	-- As Lua's integer arguments do, a float with an exact integer value (2.0) is accepted.
	local n = type(level) == "number" and tointeger(level)
	if not n or n < 0 or n > 3 then
		argerror(1, "setlevel", "level 0..3 expected, got " .. tostring(level))
	end
	level = n
	c.setlevel(level)
	bind(level)
end

bind(c.getlevel())

return M
