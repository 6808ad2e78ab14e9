-- silly.internal.check: argument checks that raise Lua's usual "bad argument" errors.
local type = type
local error = error
local tonumber = tonumber
local tointeger = math.tointeger
local format = string.format

local M = {}

---Raises "bad argument #n to 'fname' (msg)" at the caller of the public function.
---@param n integer
---@param fname string
---@param msg string
function M.argerror(n, fname, msg)
	error(format("bad argument #%d to '%s' (%s)", n, fname, msg), 3)
end

---Checks a milliseconds argument: an integer (or a numeric string), negative taken as 0,
---at most 2^32-1.
---@return integer
function M.ms(v, n, fname)
	local num = v
	if type(v) == "string" then
		num = tonumber(v)
	end
	if type(num) ~= "number" then
		error(format("bad argument #%d to '%s' (number expected, got %s)", n, fname, type(v)), 3)
	end
	local i = tointeger(num)
	if not i then
		error(format("bad argument #%d to '%s' (number has no integer representation)", n, fname), 3)
	end
	if i < 0 then
		return 0
	end
	if i > 0xFFFFFFFF then
		error(format("bad argument #%d to '%s' (expire too large)", n, fname), 3)
	end
	return i
end

---Checks that `v` has Lua type `want`.
function M.type(v, want, n, fname)
	if type(v) ~= want then
		error(format("bad argument #%d to '%s' (%s expected, got %s)", n, fname, want, type(v)), 3)
	end
	return v
end

return M
