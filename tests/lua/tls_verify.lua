-- silly.net.tls client verification and mutual TLS (docs/tls.md; §8 mTLS,
-- min/maxversion, client session resumption): chain and name checked by default, `ca` pins a
-- private CA or a self-signed certificate (the seed's CA:TRUE, CN-only kind included),
-- `verify = false` / `insecure = true` opt out.
local T = require "testaux"
local task = require "silly.task"
local tls = require "silly.net.tls"
local errno = require "silly.errno"

T.limit(30000)

local rd = T.fixture
local F = "tests/fixtures/certs/"
local CA = rd("ca.crt")

local function server(entry, extra)
	local conf = {
		addr = "127.0.0.1:0",
		certs = { entry },
		accept = function(c)
			local line = c:readline()
			if line then
				local pc = c:peercert()
				c:write((pc and pc.subject or "none") .. "\n")
			end
			c:close()
		end,
	}
	for k, v in pairs(extra or {}) do
		conf[k] = v
	end
	local l = assert(tls.listen(conf))
	return l, l:localaddr():match(":(%d+)$")
end

local function fails(addr, opts, want, name)
	local c, err, why = tls.connect(addr, opts)
	T.eq(c, nil, name .. ": refused")
	T.eq(err, errno.TLS, name .. ": errno.TLS")
	if want:sub(1, 1) == "^" then
		T.match(why, want, name .. ": reason")
	else
		T.eq(why, want, name .. ": reason")
	end
	if c then
		c:close()
	end
end

local function works(addr, opts, name)
	local c, err, why = tls.connect(addr, opts)
	T.check(c, name, tostring(err) .. " " .. tostring(why))
	if c then
		c:close()
	end
	return c
end

task.fork(function()
	local good, gp = server({ cert = rd("server-rsa-chain.crt"), key = rd("server-rsa.key") })
	fails("localhost:" .. gp, nil, "certificate verify failed: unknown issuer", "default trust store")
	works("localhost:" .. gp, { ca = CA }, "ca pins the private root")
	works("localhost:" .. gp, { cafile = F .. "ca.crt" }, "cafile")
	works("127.0.0.1:" .. gp, { ca = CA }, "an IP address is checked against IP SANs")
	works("127.0.0.1:" .. gp, { ca = { CA }, hostname = "localhost" }, "hostname names the peer")
	works("127.0.0.1:" .. gp, { ca = CA, server = "localhost" }, "server is an alias of hostname")
	fails("127.0.0.1:" .. gp, { ca = CA, hostname = "other.test" }, "certificate verify failed: name mismatch",
		"hostname mismatch")
	works("127.0.0.1:" .. gp, { verify = false }, "verify = false")
	works("127.0.0.1:" .. gp, { verify = "none" }, "verify = \"none\"")
	works("127.0.0.1:" .. gp, { insecure = true }, "insecure = true")
	fails("localhost:" .. gp, { ca = rd("selfsigned.crt") }, "certificate verify failed: unknown issuer",
		"another anchor")
	T.raises("conflicting", "hostname and server disagree", tls.connect, "127.0.0.1:1", { hostname = "a", server = "b" })
	T.raises("conflicting", "verify and insecure disagree", tls.connect, "127.0.0.1:1", { verify = true, insecure = true })
	local c, err = tls.connect("127.0.0.1:" .. gp, { hostname = "bad name!" })
	T.match(err, "^tls: hostname: ", "an invalid hostname is a content error")
	c, err = tls.connect("127.0.0.1:" .. gp, { ca = "not a certificate" })
	T.match(err, "^tls: ca: ", "bad ca PEM")
	c, err = tls.connect("127.0.0.1:" .. gp, { cafile = "/nonexistent/ca.pem" })
	T.match(err, "^tls: cafile: cannot read", "unreadable cafile")

	local wrong, wp = server({ cert = rd("wrongname-chain.crt"), key = rd("wrongname.key") })
	fails("localhost:" .. wp, { ca = CA }, "certificate verify failed: name mismatch", "wrong name")
	local expired, ep = server({ cert = rd("expired-chain.crt"), key = rd("expired.key") })
	fails("localhost:" .. ep, { ca = CA }, "certificate verify failed: expired", "expired")
	works("localhost:" .. ep, { verify = false }, "expired accepted without verification")

	-- The seed's own kind: self-signed, CA:TRUE, CN=localhost, no SAN. webpki refuses it as an
	-- end entity; pinning it by exact match works, with its CN as the name.
	local SELF = rd("selfsigned.crt")
	local seed, sp = server({ cert = SELF, key = rd("selfsigned.key") })
	fails("localhost:" .. sp, nil, "^certificate verify failed: ", "self-signed, default trust")
	works("localhost:" .. sp, { ca = SELF }, "self-signed pinned by ca")
	works("127.0.0.1:" .. sp, { ca = SELF, hostname = "localhost" }, "self-signed pinned, hostname")
	works("127.0.0.1:" .. sp, { ca = { CA, SELF }, hostname = "localhost" }, "pinned among other anchors")
	fails("127.0.0.1:" .. sp, { ca = SELF }, "certificate verify failed: name mismatch",
		"pinned cert still name-checked (CN localhost vs IP)")
	fails("127.0.0.1:" .. sp, { ca = SELF, hostname = "localhost2" }, "certificate verify failed: name mismatch",
		"pinned cert, other name")

	-- Mutual TLS: the server requires (or optionally takes) a client certificate.
	local m, mp = server({ cert = rd("server-ec-chain.crt"), key = rd("server-ec.key") }, { verify = true, ca = CA })
	c = works("localhost:" .. mp, { ca = CA }, "handshake completes before the client auth verdict")
	local cl = assert(tls.connect("localhost:" .. mp, { ca = CA, cert = rd("client-chain.crt"), key = rd("client.key") }))
	cl:write("who\n")
	T.eq(cl:readline(), "CN=silly test client\n", "server sees the client certificate")
	cl:close()
	cl = assert(tls.connect("localhost:" .. mp, { ca = CA, certfile = F .. "client-chain.crt", keyfile = F .. "client.key" }))
	cl:write("who\n")
	T.eq(cl:readline(), "CN=silly test client\n", "client certfile/keyfile")
	cl:close()
	cl = assert(tls.connect("localhost:" .. mp, { ca = CA }))
	cl:write("who\n")
	local d, e, why = cl:readline()
	T.eq(e, errno.TLS, "no client certificate: the server refuses")
	T.match(why, "^peer sent alert: certificate_required", "the reason is the server's alert")
	cl:close()
	c, err = tls.connect("localhost:" .. mp, { ca = CA, cert = rd("client-chain.crt"), key = rd("mismatch.key") })
	T.match(err, "^tls: key: private key does not match", "client key mismatch is a content error")
	local o, op = server({ cert = rd("server-rsa-chain.crt"), key = rd("server-rsa.key") },
		{ verify = "optional", ca = CA })
	cl = assert(tls.connect("localhost:" .. op, { ca = CA }))
	cl:write("who\n")
	T.eq(cl:readline(), "none\n", "optional: no certificate is fine")
	cl:close()
	cl = assert(tls.connect("localhost:" .. op, { ca = CA, cert = rd("client-chain.crt"), key = rd("client.key") }))
	cl:write("who\n")
	T.eq(cl:readline(), "CN=silly test client\n", "optional: a certificate is checked and seen")
	cl:close()
	local l, lerr = tls.listen { addr = "127.0.0.1:0", certs = { { cert = CA, key = rd("ca.key") } }, verify = true,
		accept = function() end }
	T.match(lerr, "^tls: ca: ", "server verify without ca is a content error")

	-- Versions: 1.2 and 1.3 only; min/max narrow them.
	local v12, vp = server({ cert = rd("server-rsa-chain.crt"), key = rd("server-rsa.key") }, { maxversion = "tlsv1_2" })
	cl = assert(tls.connect("localhost:" .. vp, { ca = CA }))
	T.eq(cl:version(), "tlsv1_2", "server maxversion tlsv1_2")
	T.match(cl:cipher(), "^TLS_ECDHE_RSA_WITH_", "a TLS 1.2 ECDHE suite")
	cl:close()
	fails("localhost:" .. vp, { ca = CA, minversion = "tlsv1_3" }, "peer sent alert: protocol_version",
		"client minversion above the server's max")
	cl = assert(tls.connect("localhost:" .. gp, { ca = CA, maxversion = "tlsv1_2", ciphers = "ECDHE-RSA-CHACHA20-POLY1305" }))
	T.eq(cl:cipher(), "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "client ciphers pick the TLS 1.2 suite")
	cl:close()
	cl = assert(tls.connect("localhost:" .. gp, { ca = CA, maxversion = "tlsv1_2",
		ciphers = "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES256-GCM-SHA384" }))
	T.eq(cl:cipher(), "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS 1.2: the server's suite order wins")
	cl:close()
	c, err = tls.connect("localhost:" .. gp, { minversion = "tlsv1_1" })
	T.match(err, "^tls: minversion: .*not supported", "TLS 1.1 is never offered")

	-- Client session resumption: one configuration per option set, reused (TLS 1.2 and 1.3).
	for _, ver in ipairs({ "tlsv1_2", "tlsv1_3" }) do
		local first = assert(tls.connect("localhost:" .. gp, { ca = CA, maxversion = ver, minversion = ver }))
		first:write("x\n")
		first:readline() -- TLS 1.3 tickets arrive after the handshake
		first:close()
		local second = assert(tls.connect("localhost:" .. gp, { ca = CA, maxversion = ver, minversion = ver }))
		T.eq(second:resumed(), true, "client resumes a " .. ver .. " session")
		T.eq(first:resumed(), false, "the first " .. ver .. " handshake was full")
		second:close()
	end

	for _, x in ipairs({ good, wrong, expired, seed, m, o, v12 }) do
		x:close()
	end
	require("silly.time").sleep(20)
	T.done()
end)
