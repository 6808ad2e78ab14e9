-- silly.internal.check: argument checks that raise Lua's usual "bad argument" errors.
--
-- An error blames the first caller outside the standard library, however deep inside it the
-- check was made (an option checked by a helper of a helper still points at the user's
-- line). `level`, where given, is instead the level of `error()` as seen from the check.
local type = type
local error = error
local getinfo = debug.getinfo
local find = string.find
local tonumber = tonumber
local tointeger = math.tointeger
local format = string.format

local MS_MAX <const> = 0xFFFFFFFF

-- The text of Lua's own argument errors (luaL_argerror), so ours read the same.
local BAD <const> = "bad argument #%d to '%s' (%s)"

local M = {}

-- The `error()` level, as seen from a check that calls this, of the first function outside
-- the standard library (whose chunks are named after their files, ".../stdlib/silly/...").
local function outside()
	local k = 3 -- getinfo level of the check's caller: 1 is this function, 2 the check
	while true do
		local info = getinfo(k + 1, "S")
		if not info or not find(info.source, "stdlib/silly", 1, true) then
			return k
		end
		k = k + 1
	end
end

---Raises "bad argument #n to 'fname' (msg)" at the caller of the public function.
---@param n integer the argument's position
---@param fname string the public function's name
---@param msg string
---@param level integer? default: the first caller outside the standard library
function M.argerror(n, fname, msg, level)
	error(format(BAD, n, fname, msg), level or outside())
end

---Raises `msg` at the first caller outside the standard library (a programmer error found
---deep inside a library call, such as a response field that would split the response).
---@param msg string
function M.raise(msg)
	error(msg, outside())
end

---Checks a milliseconds argument: an integer-valued number (or a numeric string), negative
---taken as 0, at most 2^32-1. NaN and infinities have no integer representation.
---@param v any
---@param n integer the argument's position
---@param fname string the public function's name
---@param level integer? default: the first caller outside the standard library
---@return integer ms
function M.ms(v, n, fname, level)
	-- The common case first, without working out where an error would point.
	local i = tointeger(v)
	if i and i >= 0 and i <= MS_MAX then
		return i
	end
	local num = v
	if type(v) == "string" then
		num = tonumber(v)
	end
	if type(num) ~= "number" then
		error(format(BAD, n, fname, "number expected, got " .. type(v)), level or outside())
	end
	i = tointeger(num)
	if not i then
		error(format(BAD, n, fname, "number has no integer representation"), level or outside())
	end
	if i < 0 then
		return 0
	end
	if i > MS_MAX then
		error(format(BAD, n, fname, "expire too large"), level or outside())
	end
	return i
end

---Checks that `v` has Lua type `want`.
---@param v any
---@param want type
---@param n integer the argument's position
---@param fname string the public function's name
---@param level integer? default: the first caller outside the standard library
---@return any v
function M.type(v, want, n, fname, level)
	if type(v) ~= want then
		error(format(BAD, n, fname, want .. " expected, got " .. type(v)), level or outside())
	end
	return v
end

return M
