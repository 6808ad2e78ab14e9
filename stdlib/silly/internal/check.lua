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

-- The text of Lua's own argument errors (luaL_argerror), so ours read the same.
local BAD <const> = "bad argument #%d to '%s' (%s)"

local M = {}

---Raises "bad argument #n to 'fname' (msg)" at the caller of the public function.
---@param n integer the argument's position
---@param fname string the public function's name
---@param msg string
---@param level integer? default 3
function M.argerror(n, fname, msg, level)
	error(format(BAD, n, fname, msg), level or 3)
end

---Checks a milliseconds argument: an integer-valued number (or a numeric string), negative
---taken as 0, at most 2^32-1. NaN and infinities have no integer representation.
---@param v any
---@param n integer the argument's position
---@param fname string the public function's name
---@param level integer? default 3
---@return integer ms
function M.ms(v, n, fname, level)
	level = level or 3
	local num = v
	if type(v) == "string" then
		num = tonumber(v)
	end
	if type(num) ~= "number" then
		error(format(BAD, n, fname, "number expected, got " .. type(v)), level)
	end
	local i = tointeger(num)
	if not i then
		error(format(BAD, n, fname, "number has no integer representation"), level)
	end
	if i < 0 then
		return 0
	end
	if i > MS_MAX then
		error(format(BAD, n, fname, "expire too large"), level)
	end
	return i
end

---Checks that `v` has Lua type `want`.
---@param v any
---@param want type
---@param n integer the argument's position
---@param fname string the public function's name
---@param level integer? default 3
---@return any v
function M.type(v, want, n, fname, level)
	if type(v) ~= want then
		error(format(BAD, n, fname, want .. " expected, got " .. type(v)), level or 3)
	end
	return v
end

return M
