-- silly.net.http.field: what the HTTP and WebSocket modules share: reading token lists in
-- field values (`connection: keep-alive, Upgrade`), trailer fields, the TLS options a client
-- passes on, and waiting on a native that may suspend.
local task_c = require "silly.task.c"
local check = require "silly.internal.check"

local MARKER <const> = task_c.marker
local yield = coroutine.yield
local type = type
local concat = table.concat
local gmatch = string.gmatch
local match = string.match
local lower = string.lower
local find = string.find
local format = string.format
local pairs = pairs
local tostring = tostring

local monotonic = require "silly.time".monotonic

local M = {}

---Milliseconds left until `deadline` (a `time.monotonic()` value), at least 0: the time a
---client call has left for its next step.
---@param deadline number
---@return number
function M.left(deadline)
	local l = deadline - monotonic()
	return l > 0 and l or 0
end

---Raises the argument errors of a server stream's `respond(status, header)`, the same for
---HTTP/1.1 and HTTP/2.
---@param status any
---@param header any
function M.check_respond(status, header)
	if type(status) ~= "number" or status < 100 or status > 999 or status % 1 ~= 0 then
		check.argerror(1, "respond", "status code 100..999 expected")
	end
	if header ~= nil and type(header) ~= "table" then
		check.argerror(2, "respond", "table expected, got " .. type(header))
	end
end

-- The client options that go to tls.connect as they are (docs/http.md, docs/websocket.md).
M.TLS_KEYS = { "ca", "cafile", "verify", "insecure", "hostname", "cert", "certfile", "key", "keyfile",
	"ciphers", "ciphersuites", "minversion", "maxversion" }

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

---Trailer fields after the last chunk, as "name: value\r\n" lines. Values are strings,
---numbers or arrays of them; a name that is not a token or a value with CR, LF or NUL
---raises at the caller of `closewrite`.
---@param fields table<string, string|number|(string|number)[]>
---@return string
function M.trailer(fields)
	local out = {}
	for k, v in pairs(fields) do
		local list = type(v) == "table" and v or { v }
		for i = 1, #list do
			local value = tostring(list[i])
			if type(k) ~= "string" or not match(k, "^[%w!#$%%&'*+%-.^_`|~]+$") or find(value, "[\r\n%z]") then
				check.raise("closewrite: trailer field " .. format("%q", tostring(k)) .. " is not allowed")
			end
			out[#out + 1] = k .. ": " .. value .. "\r\n"
		end
	end
	return concat(out)
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
