-- Contract of silly.encoding.json (docs/encoding.md#json): values both ways, integers and
-- floats, null, arrays and objects, escapes and surrogates, and every error path with its
-- message and byte position, including depth bombs that must not crash the process.
local T = require "testaux"
local json = require "silly.encoding.json"

T.limit(20000)

local encode, decode = json.encode, json.decode
local null = json.null
local rep = string.rep

-- Decodes `text` and checks the error message.
local function bad(text, want, name)
	local v, err = decode(text)
	T.eq(v, nil, name .. ": no value")
	T.eq(err, want, name)
end

-- scalars
T.eq(encode(nil), "null", "nil encodes as null")
T.eq(encode(null), "null", "json.null encodes as null")
T.eq(encode(true), "true", "true")
T.eq(encode(false), "false", "false")
T.eq(encode(1), "1", "integer 1")
T.eq(encode(-42), "-42", "negative integer")
T.eq(encode(1.5), "1.5", "float 1.5")
T.eq(encode(1.0), "1.0", "float 1.0 keeps its point")
T.eq(encode(0.1), "0.1", "shortest text of 0.1")
T.eq(encode(math.maxinteger), "9223372036854775807", "maxinteger exact")
T.eq(encode(math.mininteger), "-9223372036854775808", "mininteger exact")
T.eq(encode(9007199254740993), "9007199254740993", "integer above 2^53 exact")
T.eq(decode("9007199254740993"), 9007199254740993, "integer above 2^53 decodes exact")
T.eq(math.type(decode("1")), "integer", "1 decodes as an integer")
T.eq(math.type(decode("1.0")), "float", "1.0 decodes as a float")
T.eq(math.type(decode("1e2")), "float", "1e2 decodes as a float")
T.eq(math.type(decode("-0")), "float", "-0 is a float (the sign is kept)")
T.eq(1 / decode("-0"), -math.huge, "-0 is negative zero")
T.eq(decode("9223372036854775807"), math.maxinteger, "maxinteger decodes")
T.eq(decode("-9223372036854775808"), math.mininteger, "mininteger decodes")
T.eq(math.type(decode("18446744073709551616")), "float", "beyond 64 bits: a float")
T.eq(math.type(decode("9223372036854775808")), "float", "2^63 (above maxinteger): a float")
for _, f in ipairs({ 0.1, 1 / 3, 1e300, -2.5e-300, 123456.789, 2 ^ 60 + 0.0, 5e-324 }) do
	local s = encode(f)
	T.eq(decode(s), f, "float round trip " .. s)
	T.eq(math.type(decode(s)), "float", "float stays float " .. s)
end
T.eq(decode("null"), null, "null decodes as json.null")
T.eq(decode(" true "), true, "whitespace around a value")
T.eq(decode('"a"'), "a", "string at top level")

-- strings and escapes
T.eq(encode('a"b\\c/d'), '"a\\"b\\\\c/d"', "quote and backslash escaped")
T.eq(encode("\n\r\t\b\f\0\x1f\x7f"), '"\\n\\r\\t\\b\\f\\u0000\\u001f\x7f"', "control characters escaped")
T.eq(encode("héllo €𝄞"), '"héllo €𝄞"', "UTF-8 written as is")
T.eq(decode('"\\u00e9\\u20ac"'), "é€", "\\u escapes")
T.eq(decode('"\\ud834\\udd1e"'), "𝄞", "surrogate pair")
T.eq(decode('"\\/\\b\\f\\n\\r\\t\\"\\\\"'), '/\b\f\n\r\t"\\', "simple escapes")
T.eq(decode('"\\u0000"'), "\0", "NUL escape")
local all = {}
for i = 0, 255 do
	all[#all + 1] = i < 128 and string.char(i) or utf8.char(i)
end
all = table.concat(all)
T.eq(decode(encode(all)), all, "every code point below 256 round trips")

-- arrays and objects
T.eq(encode({ 1, 2, 3 }), "[1,2,3]", "array")
T.eq(encode({}), "{}", "empty table is an object")
T.eq(encode(json.array()), "[]", "json.array() is an empty array")
T.eq(encode(json.array({})), "[]", "json.array({}) is an empty array")
T.eq(encode(json.array({ 1, 2 })), "[1,2]", "marked array with items")
T.eq(encode({ a = 1 }), '{"a":1}', "object")
T.eq(encode({ [1] = "x", [3] = "y" }), '["x",null,"y"]', "holes are null")
T.eq(encode({ [10] = 1 }), "[null,null,null,null,null,null,null,null,null,1]", "up to the safe count a sparse array is accepted")
local big = encode({ [5] = true, [1] = 1, [2] = 2 })
T.eq(big, "[1,2,null,null,true]", "ratio 2 allows 5 with 3 items")
T.eq(encode({ [0] = "z" }), '{"0":"z"}', "key 0 makes an object with a string key")
T.eq(encode({ [-1] = 1 }), '{"-1":1}', "negative integer key")
local mixed = decode(encode({ 1, 2, x = 3 }))
T.eq(mixed["1"], 1, "mixed table: integer keys become strings")
T.eq(mixed.x, 3, "mixed table: string key kept")
local v = decode('{"a":[1,{"b":null}],"c":{}, "d":[]}')
T.eq(v.a[1], 1, "nested array item")
T.eq(v.a[2].b, null, "nested null")
T.eq(next(v.c), nil, "empty object is an empty table")
T.eq(encode(v.c), "{}", "empty object encodes back as {}")
T.check(json.isarray(v.d), "decoded empty array is marked")
T.eq(encode(v.d), "[]", "empty array encodes back as []")
T.check(not json.isarray(v.a), "non-empty decoded arrays are plain tables")
T.eq(decode('{"k":1,"k":2}').k, 2, "repeated key: the last wins")
local doc = { users = { { id = 1, name = "a\nb", tags = { "x" }, m = null }, { id = 2, score = 2.5 } } }
local back = decode(encode(doc))
T.eq(back.users[1].name, "a\nb", "round trip: nested string")
T.eq(back.users[1].m, null, "round trip: null")
T.eq(back.users[2].score, 2.5, "round trip: float")
T.eq(#encode(back), #encode(doc), "round trip: same length of text")
-- metamethods are not called
local proxy = setmetatable({}, { __index = function() return 1 end, __pairs = error })
T.eq(encode(proxy), "{}", "metamethods ignored")

-- encode errors are values
local function enc_err(value, pat, name)
	local s, err = encode(value)
	T.eq(s, nil, name .. ": no text")
	T.match(err, pat, name)
end
enc_err(print, "^json: cannot encode a value of type function$", "function")
enc_err({ 1, print }, "^json: cannot encode a value of type function$", "function inside a table")
enc_err({ co = coroutine.create(print) }, "type thread", "thread inside a table")
enc_err(io.stdout, "type userdata", "full userdata")
enc_err(0 / 0, "^json: cannot encode the number [-]?NaN$", "NaN")
enc_err(math.huge, "^json: cannot encode the number inf$", "infinity")
enc_err({ x = -math.huge }, "^json: cannot encode the number %-inf$", "-infinity inside")
enc_err("\xff", "^json: cannot encode a string that is not valid UTF%-8$", "invalid UTF-8")
enc_err({ ["\xc3"] = 1 }, "not valid UTF%-8", "invalid UTF-8 key")
enc_err("\xed\xa0\x80", "not valid UTF%-8", "encoded surrogate is not UTF-8")
enc_err({ [true] = 1 }, "^json: table key must be a string or an integer, got boolean$", "boolean key")
enc_err({ [1.5] = 1 }, "got number", "float key")
enc_err({ [100] = 1, [1] = 1 }, "^json: excessively sparse array %(highest index 100, 2 items%)$", "sparse array")
enc_err(setmetatable({ x = 1 }, getmetatable(json.array())), "marked by json.array", "marked table with a string key")
local cyc = {}
cyc.self = cyc
enc_err(cyc, "^json: nesting deeper than 1000 %(a cycle%?%)$", "cycle")
local deep = {}
local cur = deep
for _ = 1, 999 do
	cur[1] = {}
	cur = cur[1]
end
T.eq(#encode(deep), 2000, "1000 levels encode")
cur[1] = {}
enc_err(deep, "nesting deeper than 1000", "1001 levels refused")

-- decode errors: values with the offending byte (1-based)
bad("", "json: unexpected end of input (EOF while parsing a value) at byte 1", "empty input")
bad("   ", "json: unexpected end of input (EOF while parsing a value) at byte 4", "only spaces")
bad('{"a":1,"b":[1,2,}', "json: expected value, got '}' at byte 17", "value expected")
bad("[1,2", "json: unexpected end of input (EOF while parsing a list) at byte 5", "unclosed array")
bad('{"a":1', "json: unexpected end of input (EOF while parsing an object) at byte 7", "unclosed object")
bad("[1] x", "json: trailing characters, got 'x' at byte 5", "trailing garbage")
bad("[1,]", "json: trailing comma at byte 4", "trailing comma")
bad("{1:2}", "json: key must be a string, got '1' at byte 2", "non-string key")
bad('{"a" 1}', "json: expected `:`, got '1' at byte 6", "missing colon")
bad("[1 2]", "json: expected `,` or `]`, got '2' at byte 4", "missing comma")
bad("\n\n  }", "json: expected value, got '}' at byte 5", "offset counts newlines")
bad("nul", "json: unexpected end of input (EOF while parsing a value) at byte 4", "truncated literal")
bad("nulx", "json: expected ident, got 'x' at byte 4", "bad literal")
bad("01", "json: invalid number at byte 2", "leading zero")
bad("1e400", "json: number out of range at byte 5", "huge number")
bad("-", "json: unexpected end of input (EOF while parsing a value) at byte 2", "lone minus")
bad('"a\nb"', "json: control character (\\u0000-\\u001F) found while parsing a string at byte 3", "raw newline in a string")
bad('"\\x"', "json: invalid escape at byte 3", "bad escape")
bad('"\\ud800"', "json: unexpected end of hex escape at byte 8", "lone leading surrogate at the end")
bad('"\\ud800x"', "json: unexpected end of hex escape at byte 8", "lone leading surrogate then a character")
bad('"\\udc00"', "json: lone leading surrogate in hex escape at byte 7", "lone trailing surrogate")
bad('"\\ud800\\u0041"', "json: lone leading surrogate in hex escape at byte 13", "surrogate then a non-surrogate")
bad('"\xff"', "json: invalid unicode code point at byte 2", "invalid UTF-8 in a string")
bad('"abc', "json: unexpected end of input (EOF while parsing a string) at byte 5", "unclosed string")
bad("\xef\xbb\xbf1", "json: expected value, got byte 0xef at byte 1", "a byte order mark is refused")

-- depth: 1000 levels are fine, more are refused, and a bomb cannot overflow the stack
local ok1 = decode(rep("[", 1000) .. rep("]", 1000))
T.eq(type(ok1), "table", "1000 nested arrays decode")
bad('["[",' .. rep("[", 1000) .. rep("]", 1001), "json: nesting deeper than 1000 at byte 1005", "1001 nested arrays refused (a bracket in a string does not count)")
bad(rep('{"a":', 1001) .. "1" .. rep("}", 1001), "json: nesting deeper than 1000 at byte 5001", "1001 nested objects refused")
bad(rep("[", 100000), "json: nesting deeper than 1000 at byte 1001", "100000 [ refused")
bad(rep("[", 10000000), "json: nesting deeper than 1000 at byte 1001", "10^7 [ refused")
bad(rep('{"a":[', 200000), "json: nesting deeper than 1000 at byte 3001", "object and array bomb refused")
-- the same from inside a coroutine and deep in Lua calls
local function nest(n)
	if n == 0 then
		return decode(rep("[", 1000) .. rep("]", 1000))
	end
	return (nest(n - 1))
end
T.eq(type(coroutine.wrap(function() return nest(150) end)()), "table", "1000 levels decode from a deep coroutine")

-- many values: a big array and a long string
local arr = {}
for i = 1, 100000 do
	arr[i] = i
end
local back2 = decode(encode(arr))
T.eq(#back2, 100000, "100000 items round trip")
T.eq(back2[100000], 100000, "last item")
local long = rep("x\"", 500000)
T.eq(decode(encode(long)), long, "1 MB string round trip")

-- argument errors are raised
T.raises("bad argument #1 to 'decode' %(string expected, got number%)", "decode(number)", decode, 1)
T.raises("bad argument #1 to 'decode' %(string expected, got no value%)", "decode()", decode)
T.raises("bad argument #1 to 'encode' %(value expected%)", "encode()", encode)
T.raises("bad argument #1 to 'array' %(table expected, got string%)", "array(string)", json.array, "x")
T.raises("bad argument #1 to 'array' %(table already has a metatable%)", "array(table with a metatable)", json.array, setmetatable({}, {}))
T.check(select("#", encode({})) == 1, "encode returns one value on success")
T.check(select("#", decode("1")) == 1, "decode returns one value on success")

T.done()
