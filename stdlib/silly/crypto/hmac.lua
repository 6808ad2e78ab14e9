-- silly.crypto.hmac: HMAC (RFC 2104) with SHA-1 and SHA-2, one-shot and streaming, and a
-- constant-time comparison for checking signatures (contract: docs/crypto.md#hmac).
local c = require "silly.crypto.hmac.c"
local check = require "silly.internal.check"
local stream = require "silly.crypto.internal.stream"

local c_sign = c.sign
local c_new = c.new
local c_equal = c.equal
local check_type = check.type
local check_algorithm = stream.algorithm
local setmetatable = setmetatable

local M = {}

---A streaming HMAC from `hmac.new`: `update(data)` adds data and returns the stream (it
---raises after `final`); `final()` returns the tag (raw bytes) once (a second call raises).
---@class silly.crypto.hmac.stream
---@field update fun(self: silly.crypto.hmac.stream, data: string): silly.crypto.hmac.stream
---@field final fun(self: silly.crypto.hmac.stream): string
local S = stream.class("hmac", c.update, c.final)

---Returns the HMAC tag of `data` under `key` by algorithm `name` ("sha1", "sha256", "sha384",
---"sha512") as raw bytes.
---@param name string
---@param key string
---@param data string
---@return string
function M.sign(name, key, data)
	check_algorithm(name, 1, "sign")
	check_type(key, "string", 2, "sign")
	return c_sign(name, key, check_type(data, "string", 3, "sign"))
end

---HMAC-SHA1 of `data` under `key` (20 raw bytes).
---@param key string
---@param data string
---@return string
function M.sha1(key, data)
	check_type(key, "string", 1, "sha1")
	return c_sign("sha1", key, check_type(data, "string", 2, "sha1"))
end

---HMAC-SHA256 of `data` under `key` (32 raw bytes).
---@param key string
---@param data string
---@return string
function M.sha256(key, data)
	check_type(key, "string", 1, "sha256")
	return c_sign("sha256", key, check_type(data, "string", 2, "sha256"))
end

---HMAC-SHA384 of `data` under `key` (48 raw bytes).
---@param key string
---@param data string
---@return string
function M.sha384(key, data)
	check_type(key, "string", 1, "sha384")
	return c_sign("sha384", key, check_type(data, "string", 2, "sha384"))
end

---HMAC-SHA512 of `data` under `key` (64 raw bytes).
---@param key string
---@param data string
---@return string
function M.sha512(key, data)
	check_type(key, "string", 1, "sha512")
	return c_sign("sha512", key, check_type(data, "string", 2, "sha512"))
end

---Starts a streaming HMAC under `key`.
---@param name string "sha1", "sha256", "sha384" or "sha512"
---@param key string
---@return silly.crypto.hmac.stream
function M.new(name, key)
	check_algorithm(name, 1, "new")
	return setmetatable({ c_new(name, check_type(key, "string", 2, "new")) }, S)
end

---Compares two strings in a time that does not depend on where they differ (it does depend on
---their lengths, which are not secret for a tag). Use it to check a received signature.
---@param a string
---@param b string
---@return boolean
function M.equal(a, b)
	check_type(a, "string", 1, "equal")
	return c_equal(a, check_type(b, "string", 2, "equal"))
end

return M
