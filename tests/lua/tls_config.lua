-- silly.net.tls configuration (docs/tls.md): content errors are
-- `nil, "tls: <field>: <reason>"` and leave the port free; shape errors raise; key formats;
-- SNI selection; reload swaps atomically, keeps open connections and session resumption.
local T = require "testaux"
local task = require "silly.task"
local time = require "silly.time"
local tls = require "silly.net.tls"
local tcp = require "silly.net.tcp"
local errno = require "silly.errno"

T.limit(30000)

local rd = T.fixture
local F = "tests/fixtures/certs/"
local CA = rd("ca.crt")
local RSA = { cert = rd("server-rsa-chain.crt"), key = rd("server-rsa.key") }
local function noop() end

-- A port that was free a moment ago.
local function free_port()
	local l = assert(tcp.listen { addr = "127.0.0.1:0", accept = noop })
	local port = l:localaddr():match(":(%d+)$")
	l:close()
	return port
end

local function content_error(conf, pat, name)
	local port = free_port()
	conf.addr = "127.0.0.1:" .. port
	conf.accept = conf.accept or noop
	local l, err = tls.listen(conf)
	T.eq(l, nil, name .. ": no listener")
	T.match(err, pat, name)
	if l then
		l:close()
	end
	-- Nothing was bound (docs/tls.md#errors).
	local again = tcp.listen { addr = "127.0.0.1:" .. port, accept = noop }
	T.check(again, name .. ": port still free")
	if again then
		again:close()
	end
end

local function cert_of(port, opts)
	opts = opts or { verify = false }
	local c, err, why = tls.connect("127.0.0.1:" .. port, opts)
	if not c then
		return nil, tostring(err) .. " " .. tostring(why)
	end
	local pc = c:peercert()
	local alpn = c:alpnproto()
	c:close()
	return pc.subject, alpn
end

task.fork(function()
	content_error({ certs = { { cert = RSA.cert, key = rd("mismatch.key") } } },
		"^tls: certs%[1%]%.key: private key does not match certificate$", "key mismatch")
	content_error({ certs = { RSA, { cert = rd("server-ec.crt"), key = rd("server-rsa.key") } } },
		"^tls: certs%[2%]%.key: private key does not match certificate$", "mismatch in the second entry")
	content_error({ certs = { { cert = "garbage", key = RSA.key } } }, "^tls: certs%[1%]%.cert: ", "garbage cert")
	content_error({ certs = { { cert = RSA.cert, key = "garbage" } } }, "^tls: certs%[1%]%.key: ", "garbage key")
	content_error({ certs = { { cert = RSA.cert, key = rd("server-rsa-encrypted.key") } } },
		"^tls: certs%[1%]%.key: encrypted private keys are not supported$", "encrypted key")
	content_error({ certs = { { certfile = "/nonexistent.crt", key = RSA.key } } },
		"^tls: certs%[1%]%.certfile: cannot read", "missing certfile")
	content_error({ certs = { RSA }, ciphers = "NOPE-NOPE" }, "^tls: ciphers: ", "unknown ciphers")
	content_error({ certs = { RSA }, ciphers = "AES128-SHA" }, "^tls: ciphers: ", "CBC suites are not offered")
	content_error({ certs = { RSA }, ciphersuites = "NOPE" }, "^tls: ciphersuites: ", "unknown TLS 1.3 suites")
	-- Text options that are not UTF-8 are refused as values too (found by fuzzing).
	content_error({ certs = { RSA }, ciphers = "NOPE-\xff" }, "^tls: ciphers: ", "ciphers not UTF-8")
	content_error({ certs = { RSA }, minversion = "\xfe\xff" }, "^tls: minversion: ", "minversion not UTF-8")
	content_error({ certs = { RSA }, alpnprotos = { string.rep("x", 256) } }, "^tls: alpnprotos%[1%]: ",
		"ALPN name over 255 bytes")
	content_error({ certs = { RSA }, alpnprotos = { "h2", "" } }, "^tls: alpnprotos%[2%]: ", "empty ALPN name")
	content_error({ certs = { RSA }, minversion = "tlsv1" }, "^tls: minversion: ", "TLS 1.0 refused")
	content_error({ certs = { RSA }, maxversion = "bogus" }, "^tls: maxversion: ", "unknown version")
	content_error({ certs = { RSA }, minversion = "tlsv1_3", maxversion = "tlsv1_2" }, "^tls: minversion: ",
		"min above max")

	-- Shape errors raise.
	T.raises("certs", "certs missing", tls.listen, { addr = "127.0.0.1:0", accept = noop })
	T.raises("must not be empty", "certs empty", tls.listen, { addr = "127.0.0.1:0", accept = noop, certs = {} })
	T.raises("'cert' or 'certfile'", "entry without cert", tls.listen,
		{ addr = "127.0.0.1:0", accept = noop, certs = { { key = RSA.key } } })
	T.raises("accept", "accept missing", tls.listen, { addr = "127.0.0.1:0", certs = { RSA } })
	T.raises("addr", "addr missing", tls.listen, { accept = noop, certs = { RSA } })
	T.raises("conflicting", "alpn and alpnprotos disagree", tls.listen,
		{ addr = "127.0.0.1:0", accept = noop, certs = { RSA }, alpn = { "a" }, alpnprotos = { "b" } })
	local l, err = tls.listen { addr = "example.invalid:0", accept = noop, certs = { RSA } }
	T.eq(err, errno.RESOLVE, "listen needs an IP literal")

	-- Key formats and SNI selection (docs/tls.md).
	l = assert(tls.listen {
		addr = "127.0.0.1:0",
		accept = noop,
		ciphers = "ECDHE-RSA-AES128-GCM-SHA256:!aNULL:DEFAULT",
		certs = {
			{ certfile = F .. "server-rsa-chain.crt", keyfile = F .. "server-rsa-pkcs1.key" },
			{ cert = rd("example-chain.crt"), key = rd("example.key") },
			{ cert = rd("selfsigned2.crt"), key = rd("selfsigned2.key") },
			{ cert = rd("server-ec-chain.crt"), key = rd("server-ec-sec1.key") },
		},
	})
	local port = l:localaddr():match(":(%d+)$")
	T.eq(cert_of(port), "CN=localhost", "no SNI: certs[1]")
	T.eq(cert_of(port, { verify = false, hostname = "example.test" }), "CN=example.test", "exact SAN")
	T.eq(cert_of(port, { verify = false, hostname = "www.example.test" }), "CN=example.test", "wildcard SAN")
	T.eq(cert_of(port, { verify = false, hostname = "a.b.example.test" }), "CN=localhost", "wildcard is one label")
	T.eq(cert_of(port, { verify = false, hostname = "LOCALHOST2" }), "CN=localhost2", "CN-only cert, any case")
	T.eq(cert_of(port, { verify = false, hostname = "unknown.test" }), "CN=localhost", "unknown name: certs[1]")
	T.eq(cert_of(port, { ca = CA, hostname = "www.example.test" }), "CN=example.test", "wildcard verifies")
	local c = assert(tls.connect("127.0.0.1:" .. port, { verify = false, maxversion = "tlsv1_2" }))
	T.eq(c:cipher(), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ciphers restricts TLS 1.2")
	c:close()
	c = assert(tls.connect("127.0.0.1:" .. port, { verify = false }))
	T.eq(c:version(), "tlsv1_3", "ciphers never restricts TLS 1.3")
	T.eq(c:cipher(), "TLS_AES_128_GCM_SHA256", "TLS 1.3 default: AES-128-GCM first")
	c:close()
	c = assert(tls.connect("127.0.0.1:" .. port,
		{ verify = false, ciphersuites = "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256" }))
	T.eq(c:cipher(), "TLS_AES_128_GCM_SHA256", "TLS 1.3: the server's order wins over the client's")
	c:close()
	l:close()

	-- Reload (docs/tls.md#reload).
	local served = 0
	l = assert(tls.listen {
		addr = "127.0.0.1:0",
		certs = { RSA },
		alpnprotos = { "h2" },
		accept = function(conn)
			served = served + 1
			while true do
				local line = conn:readline()
				if not line then
					break
				end
				conn:write(line)
			end
			conn:close()
		end,
	})
	port = l:localaddr():match(":(%d+)$")
	local old = assert(tls.connect("localhost:" .. port, { ca = CA, alpn = "h2" }))
	local subject, alpn = cert_of(port, { verify = false, alpn = "h2" })
	T.eq(subject, "CN=localhost", "before reload")
	T.eq(alpn, "h2", "ALPN before reload")

	local ok, rerr = l:reload { certs = { { cert = rd("selfsigned2.crt"), key = rd("server-rsa.key") } } }
	T.eq(ok, false, "a broken reload fails")
	T.match(rerr, "^tls: certs%[1%]%.key: ", "with a content error")
	T.eq(cert_of(port), "CN=localhost", "and the old configuration stays")
	ok, rerr = l:reload()
	T.eq(ok, true, "reload() rebuilds from the stored configuration")

	ok, rerr = l:reload { certs = { { cert = rd("selfsigned2.crt"), key = rd("selfsigned2.key") } }, alpnprotos = false }
	T.eq(ok, true, "reload with a new certificate", tostring(rerr))
	subject, alpn = cert_of(port, { verify = false, alpn = "h2" })
	T.eq(subject, "CN=localhost2", "new handshakes get the new certificate")
	T.eq(alpn, nil, "alpnprotos = false cleared ALPN")
	old:write("still here\n")
	T.eq(old:readline(), "still here\n", "a connection from before the reload goes on")
	T.eq(old:alpnproto(), "h2", "with what it negotiated")
	old:close()

	-- Handshakes racing reloads and collections never crash (docs/tls.md#reload scope).
	local done = 0
	for i = 1, 10 do
		task.fork(function()
			local x = tls.connect("127.0.0.1:" .. port, { verify = false })
			if x then
				x:close()
			end
			done = done + 1
		end)
		l:reload { certs = { (i % 2 == 0) and RSA or { cert = rd("selfsigned2.crt"), key = rd("selfsigned2.key") } } }
		collectgarbage()
	end
	for _ = 1, 200 do
		if done == 10 then
			break
		end
		time.sleep(10)
	end
	T.eq(done, 10, "handshakes straddling reloads finished")

	-- Server session resumption keeps working across a reload (shared ticketer and cache).
	l:reload { certs = { RSA } }
	for _, ver in ipairs({ "tlsv1_2", "tlsv1_3" }) do
		local o = { ca = CA, minversion = ver, maxversion = ver }
		local a = assert(tls.connect("localhost:" .. port, o))
		a:write("x\n")
		a:readline()
		a:close()
		T.eq(l:reload(), true, "reload between the connections")
		local b = assert(tls.connect("localhost:" .. port, o))
		T.eq(b:resumed(), true, ver .. " session resumed across a reload")
		b:close()
	end

	T.eq(tls.reload(l, { alpnprotos = { "x" } }), true, "tls.reload compat")
	l:close()
	ok, rerr = l:reload()
	T.eq(ok, false, "reload of a closed listener")
	T.eq(rerr, errno.CLOSED, "gives CLOSED")
	time.sleep(20)
	T.done()
end)
