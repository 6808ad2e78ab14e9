-- silly.net.addr: split, join and classify "host:port" address strings (contract: docs/addr.md).
-- Pure functions; nothing here touches the network.
local c = require "silly.net.addr.c"
local check = require "silly.internal.check"

local type = type
local tostring = tostring
local find = string.find
local sub = string.sub
local byte = string.byte
local c_iptype = c.iptype

local LBRACKET <const> = 91 -- "["
local COLON <const> = 58 -- ":"
local argerror = check.argerror

local M = {}

local function str(v, n, fname)
	local t = type(v)
	if t == "number" then
		return tostring(v)
	elseif t ~= "string" then
		argerror(n, fname, "string expected, got " .. t, 4)
	end
	return v
end

---Splits an address into host and port ("[::1]:80" -> "::1", "80"). Nothing is validated.
---@param s string
---@return string? host
---@return string? port
function M.parse(s)
	s = str(s, 1, "parse")
	if s == "" then
		return nil, nil
	end
	local host, port
	if byte(s, 1) == LBRACKET then
		local close = find(s, "]", 2, true)
		if not close then
			return nil, nil
		end
		local rest = sub(s, close + 1)
		if rest ~= "" and byte(rest, 1) ~= COLON then
			return nil, nil
		end
		host = sub(s, 2, close - 1)
		port = sub(rest, 2)
	else
		local colon = find(s, ":", 1, true)
		if not colon then
			return s, nil
		end
		host = sub(s, 1, colon - 1)
		port = sub(s, colon + 1)
	end
	if host == "" then
		host = nil
	end
	if port == "" then
		port = nil
	end
	return host, port
end

---Joins host and port, bracketing IPv6 hosts ("::1", 80 -> "[::1]:80").
---@param host string?
---@param port string|integer
---@return string
function M.join(host, port)
	port = str(port, 2, "join")
	if host == nil or host == "" then
		return ":" .. port
	end
	host = str(host, 1, "join")
	if find(host, ":", 1, true) and byte(host, 1) ~= LBRACKET then
		return "[" .. host .. "]:" .. port
	end
	return host .. ":" .. port
end

---4 for an IPv4 literal, 6 for an IPv6 literal, 0 for anything else (strict, like inet_pton).
---@param host string
---@return integer
function M.iptype(host)
	if type(host) ~= "string" then
		return 0
	end
	return c_iptype(host)
end

---@param host string
---@return boolean
function M.isv4(host)
	return M.iptype(host) == 4
end

---@param host string
---@return boolean
function M.isv6(host)
	return M.iptype(host) == 6
end

---True for a non-empty name that is not an IP literal.
---@param host string
---@return boolean
function M.ishost(host)
	return type(host) == "string" and host ~= "" and M.iptype(host) == 0
end

return M
