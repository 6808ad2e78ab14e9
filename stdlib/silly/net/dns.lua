-- silly.net.dns: asynchronous name resolution (contract: docs/dns.md).
--
-- The resolver itself is native (src/native/net/dns.rs): hosts table, cache with TTLs and
-- negative entries, one query on the wire per question however many tasks ask, retries, TCP
-- fallback. Answers from IP literals, the hosts table and the cache come back without
-- suspending; everything else suspends only the calling task.
local c = require "silly.net.dns.c"
local addr_c = require "silly.net.addr.c"
local check = require "silly.internal.check"
local task_c = require "silly.task.c"

local MARKER = task_c.marker
local yield = coroutine.yield
local type = type
local ipairs = ipairs
local tostring = tostring
local mathtype = math.type
local argerror = check.argerror
local iptype = addr_c.iptype
local c_resolve = c.resolve

-- DNS TYPE values are 16-bit and 0 is reserved.
local QTYPE_MAX <const> = 65535

local M = {
	A = 1,
	CNAME = 5,
	AAAA = 28,
	SRV = 33,
}

local function args(name, qtype, timeout, fname)
	if type(name) ~= "string" then
		argerror(1, fname, "string expected, got " .. type(name), 4)
	end
	if mathtype(qtype) ~= "integer" or qtype < 1 or qtype > QTYPE_MAX then
		argerror(2, fname, "record type expected, got " .. tostring(qtype), 4)
	end
	if timeout ~= nil then
		timeout = check.ms(timeout, 3, fname, 4)
	end
	return timeout
end

local function resolve(name, qtype, timeout)
	if iptype(name) ~= 0 then
		return { name }
	end
	local r, err = c_resolve(name, qtype, timeout)
	if r == MARKER then
		r, err = yield(MARKER)
	end
	return r, err
end

---All records of type `qtype` for `name`, in the order the server sent them. A and AAAA
---records are IP texts, SRV records are `{priority, weight, port, target}`. An IP literal is
---returned as it is, whatever `qtype`. A name that does not exist gives an empty table.
---@param name string
---@param qtype integer dns.A, dns.AAAA, dns.SRV, dns.CNAME
---@param timeout integer? milliseconds (default: the per-attempt timeout, 5000)
---@return (string|table)[]? records
---@return string? err "Invalid name", "No nameserver", "Not found", "Server failure",
---"Send failed", "Too deep", "Dns reconfigured", errno.TIMEDOUT, errno.CONNREFUSED
function M.resolve(name, qtype, timeout)
	timeout = args(name, qtype, timeout, "resolve")
	return resolve(name, qtype, timeout)
end

---The first record of type `qtype` for `name` (see `resolve`). A name that does not exist
---gives nil with no error, as in the reference.
---@param name string
---@param qtype integer
---@param timeout integer? milliseconds
---@return (string|table)? record
---@return string? err
function M.lookup(name, qtype, timeout)
	timeout = args(name, qtype, timeout, "lookup")
	local r, err = resolve(name, qtype, timeout)
	if not r then
		return nil, err
	end
	return r[1]
end

---Replaces the resolver configuration: every setting goes back to its default, then `opts`
---applies. Queries in flight end with "Dns reconfigured"; the cache is emptied; the hosts
---table stays. Without `nameservers` the servers of /etc/resolv.conf are used; an empty list
---means none ("No nameserver").
---@param opts {nameservers: string[]?, search: string[]?, timeout: number?, attempts: integer?, ndots: integer?}
---`nameservers` as "ip", "ip:port", "::1", "[::1]:port"; `timeout` per attempt in seconds
---(at most 30); `attempts` at most 5; `ndots` at most 15
function M.conf(opts)
	check.type(opts, "table", 1, "conf")
	local servers, search = opts.nameservers, opts.search
	for i, v in ipairs({ servers or {}, search or {} }) do
		if type(v) ~= "table" then
			argerror(1, "conf", (i == 1 and "nameservers" or "search") .. ": table expected")
		end
		for _, s in ipairs(v) do
			if type(s) ~= "string" then
				argerror(1, "conf", (i == 1 and "nameservers" or "search") .. ": strings expected")
			end
		end
	end
	local timeout, attempts, ndots = opts.timeout, opts.attempts, opts.ndots
	-- `not (x >= 0)` also refuses NaN, which every comparison calls false.
	if timeout ~= nil and (type(timeout) ~= "number" or not (timeout >= 0)) then
		argerror(1, "conf", "timeout: seconds expected")
	end
	if attempts ~= nil and (mathtype(attempts) ~= "integer" or attempts < 1) then
		argerror(1, "conf", "attempts: positive integer expected")
	end
	if ndots ~= nil and (mathtype(ndots) ~= "integer" or ndots < 0) then
		argerror(1, "conf", "ndots: integer expected")
	end
	c.conf(servers, search, timeout, attempts, ndots)
end

---Merges hosts-file text ("ip name [name...]" lines) into the hosts table: each (name,
---family) it mentions gets exactly the addresses it lists; other entries stay.
---@param content string
function M.sethosts(content)
	check.type(content, "string", 1, "sethosts")
	c.sethosts(content)
end

---True unless `name` is an IP literal (so "" and "[::1]" count as names, as in the reference).
---@param name string
---@return boolean
function M.isname(name)
	check.type(name, "string", 1, "isname")
	return iptype(name) == 0
end

return M
