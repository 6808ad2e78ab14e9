-- silly.crypto.hmac: HMAC (RFC 2104) with SHA-1 and SHA-2, one-shot and streaming, and a
-- constant-time comparison for checking signatures (contract: docs/crypto.md#hmac).
local c = require "silly.crypto.hmac.c"
local check = require "silly.internal.check"

local c_sign = c.sign
local c_new = c.new
local c_update = c.update
local c_final = c.final
local c_equal = c.equal
local check_type = check.type
local argerror = check.argerror
local raise = check.raise
local setmetatable = setmetatable
local type = type

local ALGORITHMS <const> = { sha1 = true, sha256 = true, sha384 = true, sha512 = true }

local function check_algorithm(name, n, fname)
	if not ALGORITHMS[name] then
		if type(name) ~= "string" then
			argerror(n, fname, "string expected, got " .. type(name))
		end
		argerror(n, fname, "unknown algorithm '" .. name .. "', want sha1, sha256, sha384 or sha512")
	end
	return name
end

local M = {}

---A streaming HMAC from `hmac.new`.
---@class silly.crypto.hmac.stream
local S = {}
S.__index = S
S.__name = "silly.crypto.hmac.stream"

---Adds `data` to the message; returns the stream, so calls can be chained.
---Raises an error after `final`.
---@param data string
---@return silly.crypto.hmac.stream
function S:update(data)
	check_type(data, "string", 1, "update")
	if not c_update(self[1], data) then
		raise("hmac: update after final")
	end
	return self
end

---Returns the tag (raw bytes) of everything given to `update`. A second `final` raises an
---error.
---@return string
function S:final()
	local d = c_final(self[1])
	if not d then
		raise("hmac: final called twice")
	end
	return d
end

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
