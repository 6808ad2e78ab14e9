-- silly.net.http.field: what the HTTP and WebSocket modules share: reading token lists in
-- field values (`connection: keep-alive, Upgrade`), and waiting on a native that may suspend.
local task_c = require "silly.task.c"

local MARKER <const> = task_c.marker
local yield = coroutine.yield
local type = type
local concat = table.concat
local gmatch = string.gmatch
local match = string.match
local lower = string.lower
local find = string.find

local M = {}

---True if the comma-separated token list `v` (a field value, or an array of them for a
---repeated field) holds `token` (lower case), compared without regard to case.
---@param v string|string[]|nil
---@param token string
---@return boolean
function M.has_token(v, token)
	if v == nil then
		return false
	end
	if type(v) == "table" then
		v = concat(v, ",")
	end
	v = lower(v)
	-- Most values do not hold the token at all: one plain search says so.
	if not find(v, token, 1, true) then
		return false
	end
	for t in gmatch(v, "[^,]+") do
		if match(t, "^%s*(.-)%s*$") == token then
			return true
		end
	end
	return false
end

---The answer of a native that may suspend: it returns the task marker when the task must
---wait, and the yield then returns the answer.
function M.wait(v, ...)
	if v == MARKER then
		return yield(MARKER)
	end
	return v, ...
end

return M
