-- silly.errno: the error values of every module, "<description> (<code>)" (docs/errno.md).
-- Compare with `==`: the same condition always gives an equal string.
local c = require "silly.errno.c"

---The error values by name (`errno.EOF`, `errno.TIMEDOUT` ...), each a string.
---@type table<string, string>
local M = {}
for name, code in pairs(c.codes) do
	M[name] = c.text(code)
end

return setmetatable(M, {
	-- An unknown name never raises; it gets a value of its own, stored for next time.
	__index = function(t, name)
		local v = "Unknown error '" .. tostring(name) .. "'"
		rawset(t, tostring(name), v)
		return v
	end,
})
