-- silly.encoding.base64: RFC 4648 base64, standard and URL-safe (contract: docs/encoding.md#base64).
local c = require "silly.encoding.base64.c"
local check = require "silly.internal.check"

local c_encode = c.encode
local c_decode = c.decode
local c_urlsafe_encode = c.urlsafe_encode
local c_urlsafe_decode = c.urlsafe_decode
local check_type = check.type

local M = {}

---Encodes `s` with the standard alphabet (`+`, `/`) and `=` padding.
---@param s string
---@return string
function M.encode(s)
	return c_encode(check_type(s, "string", 1, "encode"))
end

---Decodes standard base64 with its padding. No whitespace is allowed.
---@param s string
---@return string? bytes
---@return string? err
function M.decode(s)
	return c_decode(check_type(s, "string", 1, "decode"))
end

---Encodes `s` with the URL-safe alphabet (`-`, `_`), without padding (as JWT and many URLs
---want).
---@param s string
---@return string
function M.urlsafe_encode(s)
	return c_urlsafe_encode(check_type(s, "string", 1, "urlsafe_encode"))
end

---Decodes URL-safe base64, with or without its padding.
---@param s string
---@return string? bytes
---@return string? err
function M.urlsafe_decode(s)
	return c_urlsafe_decode(check_type(s, "string", 1, "urlsafe_decode"))
end

return M
