-- silly.crypto.internal.stream: what silly.crypto.hash and silly.crypto.hmac share: the
-- algorithm names and the streaming object (docs/crypto.md).
local check = require "silly.internal.check"

local check_type = check.type
local argerror = check.argerror
local raise = check.raise
local type = type

local M = {}

local ALGORITHMS <const> = { sha1 = true, sha256 = true, sha384 = true, sha512 = true }

---Returns `name` if it is a known algorithm; raises an argument error (argument `n` of
---function `fname`) otherwise.
---@param name any
---@param n integer
---@param fname string
---@return string
function M.algorithm(name, n, fname)
	if not ALGORITHMS[name] then
		if type(name) ~= "string" then
			argerror(n, fname, "string expected, got " .. type(name))
		end
		argerror(n, fname, "unknown algorithm '" .. name .. "', want sha1, sha256, sha384 or sha512")
	end
	return name
end

---The metatable of a streaming object of `kind` ("hash", "hmac") over its native state
---(slot 1): `update(data)` adds data and returns the object, raising after `final`; `final()`
---returns the result once, raising on a second call.
---@param kind string
---@param c_update fun(state: any, data: string): boolean
---@param c_final fun(state: any): string?
---@return table
function M.class(kind, c_update, c_final)
	local S = { __name = "silly.crypto." .. kind .. ".stream" }
	S.__index = S
	function S:update(data)
		check_type(data, "string", 1, "update")
		if not c_update(self[1], data) then
			raise(kind .. ": update after final")
		end
		return self
	end
	function S:final()
		local d = c_final(self[1])
		if not d then
			raise(kind .. ": final called twice")
		end
		return d
	end
	return S
end

return M
