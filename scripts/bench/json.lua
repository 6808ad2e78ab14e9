-- scripts/bench/json.lua: one round of the JSON benchmark, for silly and for lua5.4 + lua-cjson
-- (whichever runs it). Run by scripts/bench_json.sh:
--   lua5.4 scripts/bench/json.lua dump > payload.json     (the payload, written by cjson)
--   silly scripts/bench/json.lua payload.json             (prints "encode <ops/s>" and
--   lua5.4 scripts/bench/json.lua payload.json             "decode <ops/s>")
-- Both sides encode the same table (the decoded payload) and decode the same text.
local ok, json = pcall(require, "silly.encoding.json")
local name = "silly"
if not ok then
	json = require "cjson"
	name = "cjson"
end

-- A realistic API answer: a page of 100 users with nested objects, arrays, escapes, integers,
-- floats, booleans and nulls.
local function payload()
	local users = {}
	for i = 1, 100 do
		users[i] = {
			id = 100000 + i,
			name = "User Number " .. i,
			email = "user" .. i .. "@example.com",
			active = i % 3 ~= 0,
			score = i * 1.25 + 0.5,
			balance = -i * 1000 - 0.75,
			manager = i % 2 == 0 and json.null or (100000 + i // 2),
			bio = "Line one of the bio\nLine two with \"quotes\", a tab\tand a backslash \\ here.",
			tags = { "admin", "beta-tester", "tag" .. i },
			address = {
				street = i .. " Main Street",
				city = "Springfield",
				zip = string.format("%05d", i * 7),
				geo = { lat = 40.7128 + i / 1000, lng = -74.006 - i / 1000 },
			},
			created_at = "2026-11-29T12:00:00Z",
			logins = { 3, 14, 15, 92, 65, 35 },
		}
	end
	return { page = 1, per_page = 100, total = 100, next = json.null, users = users }
end

if arg[1] == "dump" then
	io.write(json.encode(payload()))
	return
end

local f = assert(io.open(arg[1], "rb"))
local text = f:read("a")
f:close()
local value = assert(json.decode(text))
local encode, decode = json.encode, json.decode
local clock = os.clock

-- Calls `fn` in batches until `seconds` of CPU time have passed; returns calls per second.
local function rate(fn, arg1, seconds)
	for _ = 1, 50 do
		fn(arg1)
	end
	local n, t0 = 0, clock()
	local t
	repeat
		for _ = 1, 50 do
			fn(arg1)
		end
		n = n + 50
		t = clock() - t0
	until t >= seconds
	return n / t
end

local seconds = tonumber(arg[2]) or 1
print(string.format("%s encode %.0f", name, rate(encode, value, seconds)))
print(string.format("%s decode %.0f", name, rate(decode, text, seconds)))
print(string.format("%s bytes %d", name, #encode(value)))
