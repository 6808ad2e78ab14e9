-- Contract of silly.crypto.hash, .hmac and .random (docs/crypto.md): FIPS 180 and RFC 4231 /
-- RFC 2202 known answers, streaming equals one-shot, final twice, constant-time compare,
-- random sizes and argument errors.
local T = require "testaux"
local hash = require "silly.crypto.hash"
local hmac = require "silly.crypto.hmac"
local random = require "silly.crypto.random"
local json = require "silly.encoding.json"
local b64 = require "silly.encoding.base64"

T.limit(10000)

local hex = hash.hex
local rep = string.rep

T.eq(hex("\0\1\xab\xff"), "0001abff", "hex")
T.eq(hex(""), "", "hex of nothing")

-- FIPS 180 examples
local abc = {
	sha1 = "a9993e364706816aba3e25717850c26c9cd0d89d",
	sha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	sha384 = "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
	sha512 = "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
}
for name, want in pairs(abc) do
	T.eq(hex(hash[name]("abc")), want, name .. '("abc")')
	T.eq(hex(hash.digest(name, "abc")), want, "digest(" .. name .. ', "abc")')
	local h = hash.new(name)
	h:update("a"):update(""):update("bc")
	T.eq(hex(h:final()), want, name .. " streaming in pieces")
end
T.eq(#hash.sha256(""), 32, "raw digest length")
T.eq(hex(hash.sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256 of nothing")
local two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
T.eq(hex(hash.sha1(two)), "84983e441c3bd26ebaae4aa1f95129e5e54670f1", "sha1 two-block message")
T.eq(hex(hash.sha256(two)), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", "sha256 two-block message")
local h = hash.new("sha256")
for _ = 1, 1000 do
	h:update(rep("a", 1000))
end
T.eq(hex(h:final()), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", "sha256 of a million a, streamed")
T.raises("hash: final called twice", "final twice raises", h.final, h)
T.raises("hash: update after final", "update after final raises", h.update, h, "x")
T.eq(hex(hash.sha256("\0\xff")), hex(hash.digest("sha256", "\0\xff")), "binary data")

-- RFC 4231 test cases 1, 2 and 6; RFC 2202 for HMAC-SHA1
local k1, d1 = rep("\x0b", 20), "Hi There"
local k2, d2 = "Jefe", "what do ya want for nothing?"
local k6, d6 = rep("\xaa", 131), "Test Using Larger Than Block-Size Key - Hash Key First"
T.eq(hex(hmac.sha256(k1, d1)), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", "RFC 4231 1 sha256")
T.eq(hex(hmac.sha384(k1, d1)), "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6", "RFC 4231 1 sha384")
T.eq(hex(hmac.sha512(k1, d1)), "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854", "RFC 4231 1 sha512")
T.eq(hex(hmac.sha256(k2, d2)), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", "RFC 4231 2 sha256")
T.eq(hex(hmac.sha512(k2, d2)), "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737", "RFC 4231 2 sha512")
T.eq(hex(hmac.sha256(k6, d6)), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", "RFC 4231 6 sha256 (key longer than a block)")
T.eq(hex(hmac.sha1(k1, d1)), "b617318655057264e28bc0b6fb378c8ef146be00", "RFC 2202 1 sha1")
T.eq(hex(hmac.sha1(k2, d2)), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79", "RFC 2202 2 sha1")
T.eq(hmac.sign("sha256", k2, d2), hmac.sha256(k2, d2), "sign by name")
local m = hmac.new("sha256", k2)
m:update("what do ya "):update("want for nothing?")
T.eq(hex(m:final()), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", "streaming HMAC")
T.raises("hmac: final called twice", "HMAC final twice raises", m.final, m)
T.raises("hmac: update after final", "HMAC update after final raises", m.update, m, "x")

-- constant-time compare
T.eq(hmac.equal("abc", "abc"), true, "equal strings")
T.eq(hmac.equal("abc", "abd"), false, "different strings")
T.eq(hmac.equal("abc", "ab"), false, "different lengths")
T.eq(hmac.equal("", ""), true, "empty strings")

-- a webhook check as docs/crypto.md shows it
local secret, body = "whsec", '{"event":"paid"}'
local header = "sha256=" .. hex(hmac.sha256(secret, body))
local function verify(sig, b)
	return hmac.equal(sig, "sha256=" .. hex(hmac.sha256(secret, b)))
end
T.check(verify(header, body), "webhook signature accepted")
T.check(not verify(header, body .. " "), "webhook signature of another body refused")

-- a JWT HS256 as docs/crypto.md builds it, checked against RFC 7515 appendix A.1's key
local key = b64.urlsafe_decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow")
local signing_input = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
T.eq(b64.urlsafe_encode(hmac.sha256(key, signing_input)), "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "RFC 7515 A.1 HS256 signature")
local function jwt(claims)
	local head = b64.urlsafe_encode(json.encode({ alg = "HS256", typ = "JWT" }))
	local body2 = b64.urlsafe_encode(json.encode(claims))
	return head .. "." .. body2 .. "." .. b64.urlsafe_encode(hmac.sha256(key, head .. "." .. body2))
end
local token = jwt({ sub = "42", admin = true })
local h64, c64, s64 = token:match("^([%w_-]+)%.([%w_-]+)%.([%w_-]+)$")
T.check(h64 ~= nil, "JWT has three base64url parts")
T.eq(json.decode(b64.urlsafe_decode(c64)).sub, "42", "JWT claims decode")
T.check(hmac.equal(b64.urlsafe_decode(s64), hmac.sha256(key, h64 .. "." .. c64)), "JWT signature verifies")

-- random
T.eq(random.bytes(0), "", "zero bytes")
T.eq(#random.bytes(32), 32, "32 bytes")
T.eq(#random.bytes(1048576), 1048576, "the largest request")
T.check(random.bytes(16) ~= random.bytes(16), "two draws differ")
local seen = {}
for b in random.bytes(4096):gmatch(".") do
	seen[b] = true
end
local distinct = 0
for _ in pairs(seen) do
	distinct = distinct + 1
end
T.check(distinct > 200, "4096 random bytes use most byte values", distinct .. " distinct")

-- argument errors are raised
T.raises("bad argument #1 to 'new' %(unknown algorithm 'md5', want sha1, sha256, sha384 or sha512%)", "hash.new(md5)", hash.new, "md5")
T.raises("bad argument #1 to 'new' %(string expected, got nil%)", "hash.new()", hash.new)
T.raises("bad argument #1 to 'digest' %(unknown algorithm 'SHA256'", "names are lowercase", hash.digest, "SHA256", "x")
T.raises("bad argument #2 to 'digest' %(string expected, got number%)", "digest(name, 1)", hash.digest, "sha1", 1)
T.raises("bad argument #1 to 'sha256' %(string expected, got nil%)", "hash.sha256()", hash.sha256)
T.raises("bad argument #1 to 'update' %(string expected, got table%)", "update({})", hash.new("sha1").update, hash.new("sha1"), {})
T.raises("bad argument #1 to 'hex' %(string expected, got number%)", "hex(1)", hex, 1)
T.raises("bad argument #1 to 'new' %(unknown algorithm 'md5'", "hmac.new(md5)", hmac.new, "md5", "k")
T.raises("bad argument #2 to 'new' %(string expected, got nil%)", "hmac.new(sha256)", hmac.new, "sha256")
T.raises("bad argument #1 to 'sign' %(unknown algorithm 'x'", "hmac.sign(x)", hmac.sign, "x", "k", "d")
T.raises("bad argument #2 to 'sha256' %(string expected, got nil%)", "hmac.sha256(key)", hmac.sha256, "k")
T.raises("bad argument #2 to 'equal' %(string expected, got nil%)", "hmac.equal(a)", hmac.equal, "a")
T.raises("bad argument #1 to 'bytes' %(out of range 0 to 1048576%)", "bytes(-1)", random.bytes, -1)
T.raises("bad argument #1 to 'bytes' %(out of range 0 to 1048576%)", "bytes(huge)", random.bytes, 1048577)
T.raises("bad argument #1 to 'bytes' %(number has no integer representation%)", "bytes(NaN)", random.bytes, 0 / 0)
T.raises("bad argument #1 to 'bytes' %(number has no integer representation%)", "bytes(1.5)", random.bytes, 1.5)
T.raises("bad argument #1 to 'bytes' %(number has no integer representation%)", "bytes(inf)", random.bytes, math.huge)
T.raises("bad argument #1 to 'bytes' %(number expected, got nil%)", "bytes()", random.bytes)

T.done()
