-- silly.internal.check: argument checks that raise Lua's usual "bad argument" errors.
--
-- `level` is the level of `error()` as seen from the check: the default 3 blames the caller
-- of the public function that called the check; a check made one helper deeper passes 4.
local type = type
local error = error
local tonumber = tonumber
local tointeger = math.tointeger
local format = string.format

local MS_MAX <const> = 0xFFFFFFFF

local M = {}

---Raises "bad argument #n to 'fname' (msg)" at the caller of the public function.
---@param n integer
---@param fname string
---@param msg string
---@param level integer?
function M.argerror(n, fname, msg, level)
	error(format("bad argument #%d to '%s' (%s)", n, fname, msg), level or 3)
end

---Checks a milliseconds argument: an integer-valued number (or a numeric string), negative
---taken as 0, at most 2^32-1. NaN and infinities have no integer representation.
---@param level integer?
---@return integer
function M.ms(v, n, fname, level)
	level = level or 3
	local num = v
	if type(v) == "string" then
		num = tonumber(v)
	end
	if type(num) ~= "number" then
		error(format("bad argument #%d to '%s' (number expected, got %s)", n, fname, type(v)), level)
	end
	local i = tointeger(num)
	if not i then
		error(format("bad argument #%d to '%s' (number has no integer representation)", n, fname), level)
	end
	if i < 0 then
		return 0
	end
	if i > MS_MAX then
		error(format("bad argument #%d to '%s' (expire too large)", n, fname), level)
	end
	return i
end

---Checks that `v` has Lua type `want`.
---@param level integer?
function M.type(v, want, n, fname, level)
	if type(v) ~= want then
		error(format("bad argument #%d to '%s' (%s expected, got %s)", n, fname, want, type(v)), level or 3)
	end
	return v
end

return M
