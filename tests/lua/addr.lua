-- Contract of silly.net.addr (docs/addr.md): parse, join, iptype and the is* helpers, row by row
-- from the spec's tables. Pure functions: nothing here touches the network.
local T = require "testaux"
local addr = require "silly.net.addr"

T.limit(5000)

local function show(v)
	return v == nil and "nil" or string.format("%q", v)
end

-- parse: { input, host, port }
local parse_cases = {
	-- address strings (docs/addr.md)
	{ "127.0.0.1:8080", "127.0.0.1", "8080" },
	{ "[::1]:8080", "::1", "8080" },
	{ ":8080", nil, "8080" },
	{ "[]:8080", nil, "8080" },
	{ "127.0.0.1", "127.0.0.1", nil },
	{ "::1:8080", nil, ":1:8080" },
	{ "localhost:80", "localhost", "80" },
	{ "example.com:80", "example.com", "80" },
	{ "127.0.0.1:http", "127.0.0.1", "http" },
	{ "[127.0.0.1]:80", "127.0.0.1", "80" },
	-- parse rules and examples (docs/addr.md)
	{ "", nil, nil },
	{ "[::1", nil, nil },
	{ "[::1]x", nil, nil },
	{ "[::1]80", nil, nil },
	{ "[::1]", "::1", nil },
	{ "[::1]:", "::1", nil },
	{ "[]", nil, nil },
	{ "a:b:c", "a", "b:c" },
	{ "host:", "host", nil },
	{ "]:80", "]", "80" },
	{ ":", nil, nil },
	{ " 1.2.3.4:80", " 1.2.3.4", "80" },
	{ "noport", "noport", nil },
}
for _, c in ipairs(parse_cases) do
	local h, p = addr.parse(c[1])
	T.check(h == c[2] and p == c[3], "parse(" .. show(c[1]) .. ")",
		"got " .. show(h) .. ", " .. show(p) .. "; want " .. show(c[2]) .. ", " .. show(c[3]))
end
do
	local n = select("#", addr.parse(""))
	T.eq(n, 2, "parse returns two values even for nil, nil")
	local h, p = addr.parse(8080)
	T.check(h == "8080" and p == nil, "parse coerces a number to a string")
	T.raises("", "parse(nil) raises", addr.parse, nil)
	T.raises("", "parse(table) raises", addr.parse, {})
end

-- join: { host, port, result }
local join_cases = {
	{ nil, "80", ":80" },
	{ "", "80", ":80" },
	{ "::1", "80", "[::1]:80" },
	{ "[::1]", "80", "[::1]:80" },
	{ "127.0.0.1", "80", "127.0.0.1:80" },
	{ "example.com", "443", "example.com:443" },
	{ "fe80::1%eth0", "80", "[fe80::1%eth0]:80" },
	{ "127.0.0.1", 8080, "127.0.0.1:8080" },
}
for _, c in ipairs(join_cases) do
	T.eq(addr.join(c[1], c[2]), c[3], "join(" .. show(c[1]) .. ", " .. show(c[2]) .. ")")
end
T.raises("", "join without a port raises", addr.join, "127.0.0.1", nil)
-- parse and join round-trip on well-formed addresses
for _, s in ipairs({ "127.0.0.1:1", "[::1]:2", ":3", "[2001:db8::1]:4", "name:5" }) do
	T.eq(addr.join(addr.parse(s)), s, "join(parse(" .. show(s) .. ")) round-trips")
end

-- iptype: { host, type }
local iptype_cases = {
	{ "127.0.0.1", 4 },
	{ "0.0.0.0", 4 },
	{ "255.255.255.255", 4 },
	{ "::1", 6 },
	{ "::", 6 },
	{ "0::0", 6 },
	{ "2001:db8::1", 6 },
	{ "::ffff:1.2.3.4", 6 },
	{ "1:2:3:4:5:6:7:8", 6 },
	-- strict inet_pton, all 0
	{ "1.2.3.04", 0 },
	{ "01.2.3.4", 0 },
	{ "1.2.3", 0 },
	{ "127.1", 0 },
	{ "0x7f.0.0.1", 0 },
	{ "fe80::1%eth0", 0 },
	{ "[::1]", 0 },
	{ "1.2.3.4 ", 0 },
	{ " 1.2.3.4", 0 },
	{ "256.1.1.1", 0 },
	{ "999.1.1.1", 0 },
	{ "1:2:3:4:5:6:7:8:9", 0 },
	{ "localhost", 0 },
	{ "", 0 },
}
for _, c in ipairs(iptype_cases) do
	T.eq(addr.iptype(c[1]), c[2], "iptype(" .. show(c[1]) .. ")")
end

-- isv4 / isv6 / ishost
T.eq(addr.isv4("127.0.0.1"), true, "isv4 of an IPv4 literal")
T.eq(addr.isv4("::1"), false, "isv4 of an IPv6 literal")
T.eq(addr.isv4("127.1"), false, "isv4 of a short form")
T.eq(addr.isv6("::1"), true, "isv6 of an IPv6 literal")
T.eq(addr.isv6("127.0.0.1"), false, "isv6 of an IPv4 literal")
T.eq(addr.isv6("[::1]"), false, "isv6 of a bracketed literal")
T.eq(addr.ishost("example.com"), true, "ishost of a name")
T.eq(addr.ishost("[::1]"), true, "ishost of a bracketed literal (iptype 0)")
T.eq(addr.ishost("127.0.0.1"), false, "ishost of an IPv4 literal")
T.eq(addr.ishost("::1"), false, "ishost of an IPv6 literal")
T.eq(addr.ishost(""), false, "ishost of the empty string")

T.done()
