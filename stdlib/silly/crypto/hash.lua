-- silly.crypto.hash: SHA-1 and SHA-2 digests, one-shot and streaming (contract:
-- docs/crypto.md#hash).
local c = require "silly.crypto.hash.c"
local check = require "silly.internal.check"
local stream = require "silly.crypto.internal.stream"

local c_digest = c.digest
local c_new = c.new
local c_hex = c.hex
local check_type = check.type
local check_algorithm = stream.algorithm
local setmetatable = setmetatable

local M = {}

---A streaming digest from `hash.new`: `update(data)` adds data and returns the stream (it
---raises after `final`); `final()` returns the digest (raw bytes) once (a second call raises).
---@class silly.crypto.hash.stream
---@field update fun(self: silly.crypto.hash.stream, data: string): silly.crypto.hash.stream
---@field final fun(self: silly.crypto.hash.stream): string
local S = stream.class("hash", c.update, c.final)

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
