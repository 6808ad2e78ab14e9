-- silly.crypto.hash: SHA-1 and SHA-2 digests, one-shot and streaming (contract:
-- docs/crypto.md#hash).
local c = require "silly.crypto.hash.c"
local check = require "silly.internal.check"

local c_digest = c.digest
local c_new = c.new
local c_update = c.update
local c_final = c.final
local c_hex = c.hex
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

---A streaming digest from `hash.new`.
---@class silly.crypto.hash.stream
local S = {}
S.__index = S
S.__name = "silly.crypto.hash.stream"

---Adds `data` to the digest; returns the stream, so calls can be chained.
---Raises an error after `final`.
---@param data string
---@return silly.crypto.hash.stream
function S:update(data)
	check_type(data, "string", 1, "update")
	if not c_update(self[1], data) then
		raise("hash: update after final")
	end
	return self
end

---Returns the digest (raw bytes) of everything given to `update`. A stream gives its digest
---once: a second `final` raises an error.
---@return string
function S:final()
	local d = c_final(self[1])
	if not d then
		raise("hash: final called twice")
	end
	return d
end

---Returns the digest of `data` by algorithm `name` ("sha1", "sha256", "sha384", "sha512")
---as raw bytes.
---@param name string
---@param data string
---@return string
function M.digest(name, data)
	check_algorithm(name, 1, "digest")
	return c_digest(name, check_type(data, "string", 2, "digest"))
end

---SHA-1 of `data` (20 raw bytes). For old protocols only: SHA-1 is broken for signatures.
---@param data string
---@return string
function M.sha1(data)
	return c_digest("sha1", check_type(data, "string", 1, "sha1"))
end

---SHA-256 of `data` (32 raw bytes).
---@param data string
---@return string
function M.sha256(data)
	return c_digest("sha256", check_type(data, "string", 1, "sha256"))
end

---SHA-384 of `data` (48 raw bytes).
---@param data string
---@return string
function M.sha384(data)
	return c_digest("sha384", check_type(data, "string", 1, "sha384"))
end

---SHA-512 of `data` (64 raw bytes).
---@param data string
---@return string
function M.sha512(data)
	return c_digest("sha512", check_type(data, "string", 1, "sha512"))
end

---Starts a streaming digest.
---@param name string "sha1", "sha256", "sha384" or "sha512"
---@return silly.crypto.hash.stream
function M.new(name)
	return setmetatable({ c_new(check_algorithm(name, 1, "new")) }, S)
end

---Returns `data` in lowercase hexadecimal (two characters per byte).
---@param data string
---@return string
function M.hex(data)
	return c_hex(check_type(data, "string", 1, "hex"))
end

return M
