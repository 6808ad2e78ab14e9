-- silly.net.http.url: query strings and URLs for silly.net.http (docs/http.md).
local tonumber = tonumber
local type = type
local char = string.char
local gsub = string.gsub
local gmatch = string.gmatch
local match = string.match
local lower = string.lower
local find = string.find

local M = {}

local function hexchar(h)
	return char(tonumber(h, 16))
end

---Percent-decodes `s`; with `plus`, "+" is a space (form encoding).
---@param s string
---@param plus boolean?
---@return string
function M.decode(s, plus)
	if plus then
		s = gsub(s, "+", " ")
	end
	return (gsub(s, "%%(%x%x)", hexchar))
end

---A query string as a table: keys and values percent- and "+"-decoded; a key without "="
---maps to ""; a repeated key's values become an array in order.
---@param q string
---@return table<string, string|string[]>
function M.query(q)
	local out = {}
	for pair in gmatch(q, "[^&]+") do
		local k, v = match(pair, "^([^=]*)=(.*)$")
		if not k then
			k, v = pair, ""
		end
		k, v = M.decode(k, true), M.decode(v, true)
		local old = out[k]
		if old == nil then
			out[k] = v
		elseif type(old) == "table" then
			old[#old + 1] = v
		else
			out[k] = { old, v }
		end
	end
	return out
end

---Splits an http(s) URL: scheme, host (without brackets), port, the authority as the `host`
---field carries it, the address to dial (`host:port`, an IPv6 host in brackets), and the
---target (path and query). nil and a reason for anything else.
---@param u string
---@return {scheme: string, host: string, port: integer, authority: string, address: string, target: string}?
---@return string? err
function M.parse(u)
	local scheme, rest = match(u, "^(%a[%w+.-]*)://(.*)$")
	if not scheme then
		return nil, "url: scheme://host expected"
	end
	scheme = lower(scheme)
	if scheme ~= "http" and scheme ~= "https" then
		return nil, "url: unsupported scheme '" .. scheme .. "'"
	end
	local authority, target = match(rest, "^([^/?#]*)(.*)$")
	if match(authority, "@") then
		return nil, "url: userinfo is not supported"
	end
	local host, port = match(authority, "^%[([%x:.]+)%]:?(%d*)$")
	local bracketed = host ~= nil
	if not host then
		host, port = match(authority, "^([^:]+):?(%d*)$")
	end
	if not host or host == "" then
		return nil, "url: missing host"
	end
	local default = scheme == "https" and 443 or 80
	local p = port ~= "" and tonumber(port) or default
	if p < 1 or p > 65535 then
		return nil, "url: bad port"
	end
	target = match(target, "^[^#]*")
	if target == "" then
		target = "/"
	elseif target:sub(1, 1) == "?" then
		target = "/" .. target
	end
	local shown = bracketed and ("[" .. host .. "]") or host
	if p ~= default then
		shown = shown .. ":" .. p
	end
	-- Only an IPv6 literal has a colon; the dialer wants it in brackets.
	local address = (find(host, ":", 1, true) and ("[" .. host .. "]") or host) .. ":" .. p
	return { scheme = scheme, host = host, port = p, authority = shown, address = address, target = target }
end

return M
