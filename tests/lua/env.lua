-- Contract of silly.env (docs/env.md): get/set, and env.load of config files (private environment,
-- dotted keys, first writer wins, include, ENV, errors). Command-line seeding is checked by
-- tests/it/env_logger.rs, which can pass --key=value words.
local T = require "testaux"
local env = require "silly.env"

T.limit(5000)

local get = env.get
local set = env.set
local load = env.load

-- get / set
T.eq(get("env_test.absent"), nil, "an absent key is nil")
set("k", "v")
T.eq(get("k"), "v", "set then get")
set("k", 2)
T.eq(get("k"), 2, "set overwrites, values keep their type")
set("k", nil)
T.eq(get("k"), nil, "set nil deletes")
T.eq(get(nil), nil, "get(nil) is nil")
local tk = {}
set(tk, "table key")
T.eq(get(tk), "table key", "any value can be a key")
set(1, "one")
T.eq(get(1), "one", "integer keys")
T.eq(get("1"), nil, "no key conversion")
set("a.b", "dotted")
T.eq(get("a.b"), "dotted", "a dotted key is a plain key")
T.eq(get("a"), nil, "no dot-path navigation")
T.raises("table index is nil", "set(nil) raises", set, nil, 1)

-- config files in a temporary place
local made = {}
local function file(src)
	local path = os.tmpname()
	local f = assert(io.open(path, "w"))
	f:write(src)
	f:close()
	made[#made + 1] = path
	return path
end

local inc = file([[
included = "yes"
server.name = "from include"
]])
local home = os.getenv("HOME")
local main = file(string.format([[
server = { port = 8080, host = "h", tls = { on = true } }
list = { "x", "y" }
empty = {}
name = "first"
name = "last"
ratio = 1.5
flag = false
home = ENV("HOME")
nothing = ENV("SILLY_TEST_SURELY_UNSET_VARIABLE")
include(%q)
]], inc))
set("server.port", "from command line")
set("preset_false", false)
T.eq(load(main), nil, "load returns nil on success")
T.eq(get("server.port"), "from command line", "first writer wins: an existing value is kept")
T.eq(get("server.host"), "h", "nested table becomes a dotted key")
T.eq(get("server.tls.on"), true, "two levels deep, booleans keep their type")
T.eq(get("list.1"), "x", "array item 1")
T.eq(get("list.2"), "y", "array item 2")
T.eq(get("list"), nil, "a table-valued key is not stored")
T.eq(get("server"), nil, "a nested table is not stored itself")
T.eq(get("empty"), nil, "an empty table vanishes")
T.eq(get("name"), "last", "within one load the last assignment wins")
T.eq(get("ratio"), 1.5, "numbers keep their type")
T.eq(math.type(get("list.1")), nil, "strings stay strings")
T.eq(get("flag"), false, "false values are stored")
T.eq(get("home"), home, "ENV reads the process environment")
T.eq(get("nothing"), nil, "ENV of an unset variable is nil")
T.eq(get("included"), "yes", "include runs another file")
T.eq(get("server.name"), "from include", "include shares the environment")
T.eq(get("include"), nil, "the include helper is not stored")
T.eq(get("ENV"), nil, "the ENV helper is not stored")

-- a later load does not replace earlier values, but does replace a false one
local second = file([[
name = "second load"
newkey = 1
flag = "now truthy"
]])
T.eq(load(second), nil, "a second load succeeds")
T.eq(get("name"), "last", "an earlier load beats a later one")
T.eq(get("newkey"), 1, "a later load adds new keys")
T.eq(get("flag"), "now truthy", "a key holding false is overwritten")

-- no standard library inside config files
local nostd = file([[
x = tostring(1)
]])
local err = load(nostd)
T.eq(type(err), "string", "a runtime error returns a string")
T.match(err, "attempt to call a nil value %(global 'tostring'%)", "the string carries the cause")
T.eq(get("x"), nil, "nothing from a failing load is merged")
local partial = file([[
partial_a = 1
string.format("x")
]])
err = load(partial)
T.match(err, "attempt to index a nil value", "string library absent")
T.eq(get("partial_a"), nil, "assignments before the failure are not merged")

-- syntax error and missing file
local bad = file("x = \n")
err = load(bad)
T.eq(type(err), "string", "a syntax error returns a string")
T.match(err, "near <eof>", "the syntax error text")
err = load("/nonexistent/dir/nofile.lua")
T.eq(type(err), "string", "a missing file returns a string")
T.match(err, "nofile%.lua", "the missing file is named")
local inc_missing = file([[
y = 1
include("/nonexistent/dir/other.lua")
]])
err = load(inc_missing)
T.match(err, "other%.lua", "a failing include fails the load")
T.eq(get("y"), nil, "nothing merged from a load whose include failed")

-- a path that is not a string is an error, never a read of stdin (loadfile(nil) would block)
err = load(nil)
T.eq(type(err), "string", "env.load(nil) returns an error string")
local inc_nil = file([[
z = 1
include(nil)
]])
err = load(inc_nil)
T.eq(type(err), "string", "include(nil) fails the load")
T.eq(get("z"), nil, "nothing merged from a load with include(nil)")

for _, path in ipairs(made) do
	os.remove(path)
end

T.done()
