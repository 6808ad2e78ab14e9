-- Contract of silly.encoding.base64 (docs/encoding.md#base64): the RFC 4648 vectors, both
-- alphabets, padding rules, every decode error as a value, and argument errors.
local T = require "testaux"
local b64 = require "silly.encoding.base64"

T.limit(10000)

-- RFC 4648 section 10
local vectors = {
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
}
for _, v in ipairs(vectors) do
	T.eq(b64.encode(v[1]), v[2], "encode " .. v[1])
	T.eq(b64.decode(v[2]), v[1], "decode " .. v[2])
	local nopad = v[2]:gsub("=", "")
	T.eq(b64.urlsafe_encode(v[1]), nopad, "urlsafe_encode " .. v[1] .. " has no padding")
	T.eq(b64.urlsafe_decode(nopad), v[1], "urlsafe_decode without padding " .. nopad)
	T.eq(b64.urlsafe_decode(v[2]), v[1], "urlsafe_decode with padding " .. v[2])
end

-- the alphabets differ in two characters
local bin = "\xfb\xff\xbf"
T.eq(b64.encode(bin), "+/+/", "standard alphabet uses + and /")
T.eq(b64.urlsafe_encode(bin), "-_-_", "URL-safe alphabet uses - and _")
T.eq(b64.urlsafe_decode("-_-_"), bin, "URL-safe decode")
local all = {}
for i = 0, 255 do
	all[#all + 1] = string.char(i)
end
all = table.concat(all)
T.eq(b64.decode(b64.encode(all)), all, "every byte round trips (standard)")
T.eq(b64.urlsafe_decode(b64.urlsafe_encode(all)), all, "every byte round trips (URL-safe)")
local big = string.rep(all, 4096)
T.eq(b64.decode(b64.encode(big)), big, "1 MiB round trip")

-- decode errors are values with a 1-based position
local function bad(fn, s, want, name)
	local v, err = fn(s)
	T.eq(v, nil, name .. ": no value")
	T.eq(err, want, name)
end
bad(b64.decode, "Zm9v!mE=", "base64: invalid character '!' at byte 5", "invalid character")
bad(b64.decode, "Zm9v YmE=", "base64: invalid byte 0x20 at byte 5", "whitespace is refused")
bad(b64.decode, "Zm9vYmE", "base64: missing padding", "standard decode wants padding")
bad(b64.decode, "Zg=", "base64: invalid padding", "short padding")
bad(b64.decode, "Zm9vYg=x", "base64: misplaced padding at byte 7", "padding inside")
bad(b64.decode, "Z", "base64: invalid length (1 symbols; the input is truncated or has extra bytes)", "one symbol")
bad(b64.decode, "Zh==", "base64: invalid last symbol character 'h' at byte 2 (its unused bits are not zero)", "non-canonical last symbol")
bad(b64.decode, "-_-_", "base64: invalid character '-' at byte 1", "URL-safe text in standard decode")
bad(b64.urlsafe_decode, "+/+/", "base64: invalid character '+' at byte 1", "standard text in URL-safe decode")
bad(b64.urlsafe_decode, "Zm9vYmF", "base64: invalid last symbol character 'F' at byte 7 (its unused bits are not zero)", "URL-safe non-canonical")
bad(b64.decode, "\0", "base64: invalid byte 0x00 at byte 1", "NUL byte")

-- argument errors are raised
T.raises("bad argument #1 to 'encode' %(string expected, got nil%)", "encode(nil)", b64.encode)
T.raises("bad argument #1 to 'decode' %(string expected, got number%)", "decode(1)", b64.decode, 1)
T.raises("bad argument #1 to 'urlsafe_encode' %(string expected, got table%)", "urlsafe_encode({})", b64.urlsafe_encode, {})
T.raises("bad argument #1 to 'urlsafe_decode' %(string expected, got boolean%)", "urlsafe_decode(true)", b64.urlsafe_decode, true)

T.done()
