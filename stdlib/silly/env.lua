-- silly.env: one process-wide key/value table, seeded from --key=value words of the command
-- line, and config files (contract: docs/env.md).
local c = require "silly.c"

local type = type
local pairs = pairs
local tostring = tostring
local loadfile = loadfile
local pcall = pcall
local getenv = os.getenv
local gmatch = string.gmatch
local sub = string.sub

local M = {}
local store = {}

-- Every word that starts with "--" and is longer than two characters: key = first run of
-- non-'=' characters, value = the next such run (C strtok semantics, as the reference splits).
for _, word in pairs(c.argv()) do
	if #word > 2 and sub(word, 1, 2) == "--" then
		local parts = {}
		for run in gmatch(sub(word, 3), "[^=]+") do
			parts[#parts + 1] = run
			if #parts == 2 then
				break
			end
		end
		if parts[1] and parts[2] then
			store[parts[1]] = parts[2]
		end
	end
end

---The value stored under `key`, or nil.
---@param key any
---@return any
function M.get(key)
	if key == nil then
		return nil
	end
	return store[key]
end

---Stores `value` under `key` (nil deletes).
---@param key any
---@param value any
function M.set(key, value)
	store[key] = value
end

local function flatten(prefix, t, out)
	for k, v in pairs(t) do
		local key = prefix and (prefix .. "." .. tostring(k)) or k
		if type(v) == "table" then
			flatten(key, v, out)
		else
			out[key] = v
		end
	end
end

---Loads a config file: Lua source run in an empty environment with `include(file)` and
---`ENV(name)`; nested tables become dotted keys. A key already set (truthy) is not replaced.
---@param path string
---@return string? err nil on success
function M.load(path)
	local env = {}
	local function run(file)
		-- loadfile(nil) would read stdin, blocking the whole process.
		if type(file) ~= "string" then
			error(" open config error of file:" .. tostring(file) .. " (string expected, got " .. type(file) .. ")", 0)
		end
		local f, err = loadfile(file, "t", env)
		if not f then
			error(" open config error of file:" .. tostring(file) .. " (" .. tostring(err) .. ")", 0)
		end
		f()
	end
	env.include = function(file)
		run(file)
	end
	env.ENV = getenv
	local ok, err = pcall(run, path)
	if not ok then
		return tostring(err)
	end
	env.include = nil
	env.ENV = nil
	local flat = {}
	flatten(nil, env, flat)
	for k, v in pairs(flat) do
		if not store[k] then
			store[k] = v
		end
	end
	return nil
end

return M
