-- silly.crypto.random: cryptographically secure random bytes (contract: docs/crypto.md#random).
local c = require "silly.crypto.random.c"
local check = require "silly.internal.check"

local c_bytes = c.bytes
local argerror = check.argerror
local tointeger = math.tointeger
local type = type

-- Larger requests are a mistake (a key or token is tens of bytes); loop for bulk data.
local MAX <const> = 1048576

local M = {}

---Returns `n` bytes from the operating system's secure generator (through aws-lc), or
---`nil, err` if the generator fails.
---@param n integer 0 to 1048576
---@return string? bytes
---@return string? err
function M.bytes(n)
	local i = tointeger(n)
	if not i then
		if type(n) ~= "number" then
			argerror(1, "bytes", "number expected, got " .. type(n))
		end
		argerror(1, "bytes", "number has no integer representation")
	end
	if i < 0 or i > MAX then
		argerror(1, "bytes", "out of range 0 to " .. MAX)
	end
	return c_bytes(i)
end

return M
