-- silly.net.tls against bad input (docs/tls.md#listen step 4, §5 errors, §6.1; docs/tls.md, docs/connections.md#limit):
-- garbage, plaintext HTTP, a stalled or reset handshake, odd SNI values, a corrupt record after
-- the handshake, a plaintext or silent server. The server never crashes or stalls and serves
-- the next client every time.
local T = require "testaux"
local task = require "silly.task"
local time = require "silly.time"
local tls = require "silly.net.tls"
local tcp = require "silly.net.tcp"
local errno = require "silly.errno"

T.limit(30000)

local rd = T.fixture
local CA = rd("ca.crt")
local function portof(l)
	return l:localaddr():match(":(%d+)$")
end

-- Reads one TLS record (header and body) from a plain TCP connection.
local function record(c, timeout)
	local h, err = c:read(5, timeout)
	if not h then
		return nil, err
	end
	local body, e2 = c:read((h:byte(4) << 8) | h:byte(5), timeout)
	if not body then
		return nil, e2
	end
	return h .. body
end

-- Reads until EOF/reset; true if the peer closed within `ms`.
local function closed_within(c, ms)
	local deadline = time.monotonic() + ms
	while time.monotonic() < deadline do
		local d, err = c:read(1, deadline - time.monotonic())
		if not d then
			return err ~= errno.TIMEDOUT, err
		end
	end
	return false, errno.TIMEDOUT
end

task.fork(function()
	local accepted = 0
	local server_reads = {}
	local l = assert(tls.listen {
		addr = "127.0.0.1:0",
		certs = { { cert = rd("server-rsa-chain.crt"), key = rd("server-rsa.key") } },
		handshaketimeout = 300,
		accept = function(c)
			accepted = accepted + 1
			local got = {}
			server_reads[#server_reads + 1] = got
			if c:readline() == "limit\n" then
				-- docs/connections.md#limit: a read larger than the limit still completes.
				c:limit(10)
				time.sleep(100) -- let the 300 bytes arrive
				got.limited = c:read(250, 2000)
				c:limit(nil)
			end
			got.data, got.err, got.why = c:read(1000, 5000)
			got.alive = c:isalive()
			got.wok, got.werr, got.wwhy = c:write("after\n")
			c:close()
		end,
	})
	local port = portof(l)
	local function next_client_works(name)
		local c, err, why = tls.connect("localhost:" .. port, { ca = CA, timeout = 5000 })
		T.check(c, name .. ": the next client is served", tostring(err) .. " " .. tostring(why))
		if c then
			c:close()
		end
	end

	-- Garbage and plaintext HTTP before the handshake: closed, accept not called.
	for name, junk in pairs({
		garbage = string.rep("\0\1\2\255", 64),
		http = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
		record = "\22\3\1\0\5hello",
	}) do
		local raw = assert(tcp.connect("127.0.0.1:" .. port))
		raw:write(junk)
		T.check(closed_within(raw, 3000), name .. ": the server closes the connection")
		raw:close()
		next_client_works(name)
	end
	T.eq(accepted, 2, "accept ran only for the real clients")

	-- A client that stops mid-handshake: closed after handshaketimeout, others not held up.
	local stalled = assert(tcp.connect("127.0.0.1:" .. port))
	stalled:write("\22\3\1\2\0\1\0\1\252\3\3") -- the start of a ClientHello, then nothing
	local t0 = time.monotonic()
	next_client_works("during a stalled handshake")
	T.check(time.monotonic() - t0 < 250, "a stalled handshake does not block others")
	local closed = closed_within(stalled, 3000)
	T.check(closed, "the stalled client is closed after the handshake timeout")
	T.check(time.monotonic() - t0 >= 250, "not before the timeout")
	stalled:close()

	-- Capture a real ClientHello from tls.connect with a fake TCP server.
	local hello
	local fake = assert(tcp.listen {
		addr = "127.0.0.1:0",
		accept = function(c)
			hello = record(c, 2000)
			c:close()
		end,
	})
	tls.connect("127.0.0.1:" .. portof(fake), { hostname = "localhost", verify = false, timeout = 2000 })
	fake:close()
	T.check(hello and hello:byte(1) == 22, "captured a ClientHello")

	-- Replayed ClientHellos with edited SNI values (same length, so framing stays valid).
	local function replay(h)
		local raw = assert(tcp.connect("127.0.0.1:" .. port))
		raw:write(h)
		local first = record(raw, 3000)
		raw:close()
		return first and first:byte(1)
	end
	T.eq(replay(hello), 22, "a replayed ClientHello gets a ServerHello")
	local ip_sni = hello:gsub("localhost", "127.0.0.1")
	T.eq(replay(ip_sni), 22, "an IP-literal SNI does not fail the handshake")
	local bad_sni = hello:gsub("localhost", "bad_name!")
	replay(bad_sni)
	next_client_works("after an invalid SNI value")
	local nul_sni = hello:gsub("localhost", "local\0host")
	replay(nul_sni)
	next_client_works("after a NUL in SNI")

	-- A reset mid-handshake: the server's flight is left unread, so close sends RST.
	local raw = assert(tcp.connect("127.0.0.1:" .. port))
	raw:write(hello)
	time.sleep(50)
	raw:close()
	next_client_works("after a reset mid-handshake")

	-- A corrupt record after the handshake kills the connection (docs/tls.md#tls-failures), through a proxy
	-- that can inject bytes toward the server.
	local inject
	local proxy = assert(tcp.listen {
		addr = "127.0.0.1:0",
		accept = function(down)
			local up = assert(tcp.connect("127.0.0.1:" .. port))
			task.fork(function()
				while true do
					local d = up:read(1)
					if not d then
						break
					end
					d = d .. up:read(up:unreadbytes())
					down:write(d)
				end
				down:close()
			end)
			while true do
				local d = down:read(1)
				if not d then
					break
				end
				d = d .. down:read(down:unreadbytes())
				up:write(d)
				if inject then
					up:write(inject)
					inject = nil
				end
			end
			up:close()
		end,
	})
	local c = assert(tls.connect("127.0.0.1:" .. portof(proxy), { hostname = "localhost", ca = CA }))
	c:write("hello\n")
	time.sleep(50)
	inject = "\23\3\3\0\32" .. string.rep("\7", 32) -- application data that cannot decrypt
	c:write("x")
	local d, err, why = c:read(1, 3000)
	T.eq(err, errno.TLS, "the client gets errno.TLS")
	T.match(why, "^peer sent alert: bad_record_mac", "reason: the server's fatal alert")
	T.eq(c:isalive(), false, "the client connection is dead")
	local ok, werr, wwhy = c:write("more")
	T.eq(werr, errno.TLS, "write after a TLS failure gives errno.TLS")
	T.check(wwhy ~= nil, "with a reason")
	c:close()
	local got
	for _ = 1, 300 do
		got = server_reads[#server_reads]
		if got and got.werr then
			break
		end
		time.sleep(10)
	end
	T.eq(got.err, errno.TLS, "the server's read gets errno.TLS")
	T.match(got.why, "^bad record", "reason: a bad record")
	T.eq(got.alive, false, "the server connection is dead")
	T.eq(got.wok, false, "server write fails")
	T.eq(got.werr, errno.TLS, "with errno.TLS")
	proxy:close()
	next_client_works("after a corrupt record")

	-- limit without deadlock (docs/connections.md#limit).
	c = assert(tls.connect("localhost:" .. port, { ca = CA }))
	c:write("limit\n")
	c:write(string.rep("z", 300))
	for _ = 1, 300 do
		got = server_reads[#server_reads]
		if got and got.limited then
			break
		end
		time.sleep(10)
	end
	T.eq(got.limited and #got.limited, 250, "read(250) under limit(10) completes")
	c:close()

	-- Client side: a plaintext server, a silent server, a refused port, bind.
	local plain = assert(tcp.listen {
		addr = "127.0.0.1:0",
		accept = function(pc)
			pc:write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
			time.sleep(100)
			pc:close()
		end,
	})
	d, err, why = tls.connect("127.0.0.1:" .. portof(plain), { verify = false, timeout = 3000 })
	T.eq(err, errno.TLS, "a plaintext server gives errno.TLS")
	T.check(type(why) == "string", "with a reason", tostring(why))
	plain:close()
	local silent_done = false
	local silent = assert(tcp.listen { addr = "127.0.0.1:0", accept = function(sc)
		time.sleep(500) -- never answers the ClientHello
		sc:close()
		silent_done = true
	end })
	t0 = time.monotonic()
	d, err = tls.connect("127.0.0.1:" .. portof(silent), { verify = false, timeout = 200 })
	T.eq(err, errno.TIMEDOUT, "timeout covers the handshake")
	T.check(time.monotonic() - t0 < 1500, "and is honoured")
	silent:close()
	d, err = tls.connect("127.0.0.1:" .. portof(silent), { verify = false, timeout = 2000 })
	T.eq(err, errno.CONNREFUSED, "refused")
	local seen
	local b = assert(tls.listen {
		addr = "127.0.0.1:0",
		certs = { { cert = rd("server-rsa-chain.crt"), key = rd("server-rsa.key") } },
		accept = function(bc)
			seen = bc.remoteaddr
			bc:close()
		end,
	})
	c = assert(tls.connect("127.0.0.1:" .. portof(b), { verify = false, bind = "127.0.0.1:0" }))
	time.sleep(50)
	T.match(seen, "^127%.0%.0%.1:%d+$", "bind: the server sees the bound address")
	c:close()
	d, err = tls.connect("127.0.0.1:" .. portof(b), { verify = false, bind = "127.0.0.1" })
	T.eq(err, errno.INVAL, "bind without a port is INVAL")
	b:close()
	l:close()
	while not silent_done do
		time.sleep(20)
	end
	time.sleep(50)
	T.done()
end)
