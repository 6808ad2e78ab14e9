-- silly.encoding.json: JSON text to Lua values and back (contract: docs/encoding.md#json).
--
-- `encode` and `decode` are the native functions themselves (they check their own arguments):
-- a Lua layer in between would cost a call on every use.
local c = require "silly.encoding.json.c"
local check = require "silly.internal.check"

local ARRAY_MT = c.array_mt
local getmetatable = getmetatable
local setmetatable = setmetatable
local type = type
local argerror = check.argerror

---@class silly.encoding.json
---@field null lightuserdata stands for JSON `null`: `decode` gives it for `null` and `encode` writes `null` for it; it is true in a test, so compare with `== json.null`
---@field max_depth integer the nesting limit of arrays and objects (1000), for both `encode` and `decode`
local M = {}

M.null = c.null
M.max_depth = c.max_depth

---Returns the JSON text of `value`, or `nil, err` when it cannot be encoded (a function or
---userdata, NaN or an infinity, a string that is not UTF-8, an excessively sparse array,
---nesting deeper than `max_depth`, which also catches a table that contains itself).
---@param value any
---@return string? text
---@return string? err
M.encode = c.encode

---Returns the Lua value of JSON text `text`, or `nil, err` with the position of the offending
---byte: `"json: expected value, got '}' at byte 17"`.
---@param text string
---@return any value
---@return string? err
M.decode = c.decode

---Marks table `t` as an array, so that it encodes as `[...]` even when empty, and returns it.
---Empty arrays that `decode` returns are marked already.
---@param t table? a new empty table when nil
---@return table t
function M.array(t)
	if t == nil then
		return setmetatable({}, ARRAY_MT)
	end
	if type(t) ~= "table" then
		argerror(1, "array", "table expected, got " .. type(t))
	end
	local mt = getmetatable(t)
	if mt ~= nil and mt ~= ARRAY_MT then
		argerror(1, "array", "table already has a metatable")
	end
	return setmetatable(t, ARRAY_MT)
end

---Tells whether `t` is marked by `json.array`.
---@param t any
---@return boolean
function M.isarray(t)
	return type(t) == "table" and getmetatable(t) == ARRAY_MT
end

return M
