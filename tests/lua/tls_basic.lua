-- silly.net.tls: a listener and a client on loopback (docs/tls.md, docs/connections.md,
-- docs/connections.md#write, docs/tls.md#compatibility-functions): echo, the handshake facts, reads by count and delimiter, close_notify as EOF.
local T = require "testaux"
local task = require "silly.task"
local tls = require "silly.net.tls"
local errno = require "silly.errno"

T.limit(20000)

local rd = T.fixture
local CA = rd("ca.crt")

task.fork(function()
	local served = {}
	local l, err = tls.listen {
		addr = "127.0.0.1:0",
		certs = { { cert = rd("server-rsa-chain.crt"), key = rd("server-rsa.key") } },
		alpnprotos = { "h2", "http/1.1" },
		accept = function(c)
			served.alpn = c:alpnproto()
			served.version = c:version()
			served.servername = c:servername()
			served.peercert = c:peercert()
			served.alive = c:isalive()
			while true do
				local line, e = c:readline()
				if not line then
					served.err = e
					served.alive_after = c:isalive()
					break
				end
				if line == "close\n" then
					c:close()
					break
				end
				c:write(line)
			end
		end,
	}
	T.check(l, "listen", tostring(err))
	T.check(type(l.fd) == "number", "listener.fd is a number")
	local port = l:localaddr():match(":(%d+)$")

	local c, e, why = tls.connect("localhost:" .. port, { ca = CA, alpn = { "http/1.1", "h2" } })
	T.check(c, "connect with ca", tostring(e) .. " " .. tostring(why))
	T.eq(c.remoteaddr, "localhost:" .. port, "remoteaddr is the addr argument")
	T.eq(c:alpnproto(), "h2", "ALPN: the server's preference wins")
	T.match(c:version(), "^tlsv1_[23]$", "version")
	T.match(c:cipher(), "^TLS_", "cipher is an IANA name")
	T.eq(c:servername(), nil, "servername is nil on a client")
	local pc = c:peercert()
	T.eq(pc and pc.subject, "CN=localhost", "peercert subject")
	T.match(pc and pc.issuer, "intermediate", "peercert issuer")
	T.eq(pc and pc.san[1], "localhost", "peercert san")
	T.match(pc and pc.pem, "^%-%-%-%-%-BEGIN CERTIFICATE", "peercert pem")
	T.check(pc and pc.notafter > os.time(), "peercert notafter")

	-- Reads: count, one- and multi-byte delimiters, read(0), readline default.
	T.eq(c:read(0), "", "read(0) returns an empty string at once")
	T.eq(c:write(""), true, "write empty string")
	T.eq(c:write({}), true, "write empty table")
	c:write({ "ab", "c\r\n", 12, "\n" })
	T.eq(c:read("\r\n"), "abc\r\n", "multi-byte delimiter")
	T.eq(c:readline(), "12\n", "readline defaults to \\n")
	c:write("hello world\n")
	T.eq(c:read(5), "hello", "read by count")
	T.eq(c:readline(nil, 1000), " world\n", "rest of the line")
	local d, te = c:read(1, 50)
	T.eq(d, nil, "read times out")
	T.eq(te, errno.TIMEDOUT, "TIMEDOUT")
	T.eq(c:isalive(), true, "still alive after a timeout")
	T.eq(served.alpn, "h2", "server sees the ALPN choice")
	T.eq(served.servername, "localhost", "server sees the SNI name")
	T.eq(served.peercert, nil, "no client certificate")
	T.eq(served.alive, true, "server conn alive")

	-- A received close_notify is EOF at once, while TCP may still be open (docs/tls.md#end-of-stream).
	c:write("close\n")
	d, te = c:read(1, 5000)
	T.eq(te, errno.EOF, "close_notify reads as EOF")
	T.eq(c:isalive(), false, "isalive false after EOF (boolean)")
	T.eq(c:close(), true, "close")
	local ok, ce = c:close()
	T.eq(ok, false, "second close")
	T.eq(ce, errno.CLOSED, "second close gives CLOSED")
	T.eq(c:isalive(), false, "isalive false after close")
	d, te = c:read(1)
	T.eq(te, errno.CLOSED, "read after close")
	ok, te = c:write("x")
	T.eq(te, errno.CLOSED, "write after close")

	-- Our close sends close_notify: the server's reader sees EOF.
	local c2 = assert(tls.connect("127.0.0.1:" .. port, { verify = false }))
	T.eq(c2:alpnproto(), nil, "no ALPN offered: alpnproto() is nil")
	c2:write("x\n")
	T.eq(c2:readline(), "x\n", "echo over an unverified connection")
	c2:close()
	for _ = 1, 100 do
		if served.err then
			break
		end
		require("silly.time").sleep(10)
	end
	T.eq(served.err, errno.EOF, "server reads EOF after the client's close")
	T.eq(served.alive_after, false, "server conn not alive after EOF")

	-- ALPN with no overlap fails with the server's alert (docs/tls.md#alpn).
	local c4, e4, w4 = tls.connect("127.0.0.1:" .. port, { verify = false, alpn = "spdy/1" })
	T.eq(c4, nil, "no ALPN overlap: no connection")
	T.eq(e4, errno.TLS, "no ALPN overlap: errno.TLS")
	T.eq(w4, "peer sent alert: no_application_protocol", "no ALPN overlap: the server's alert")

	-- Usage errors raise.
	local c3 = assert(tls.connect("127.0.0.1:" .. port, { insecure = true }))
	T.raises("integer", "read(-1) raises", function()
		c3:read(-1)
	end)
	T.raises("delimiter", "read('') raises", function()
		c3:read("")
	end)
	T.raises("write", "write(nil) raises", function()
		c3:write(nil)
	end)
	T.raises("limit", "limit(0) raises", function()
		c3:limit(0)
	end)
	task.fork(function()
		c3:read(1)
	end)
	require("silly.time").sleep(10)
	T.raises("concurrent read", "a second reader raises", function()
		c3:read(1)
	end)
	-- Compatibility functions take objects (§7, docs/tls.md#compatibility-functions).
	T.raises("tls.close expects a tls conn or listener object", "tls.close(number) raises", function()
		tls.close(3)
	end)
	T.raises("tls.read expects", "tls.read(nil) raises", function()
		tls.read(nil, 1)
	end)
	T.eq(tls.isalive(c3), true, "tls.isalive")
	T.eq(tls.recvsize(c3), 0, "tls.recvsize")
	T.eq(tls.sendsize(c3), 0, "tls.sendsize")
	T.eq(tls.alpnproto(c3), nil, "tls.alpnproto")
	T.eq(tls.close(c3), true, "tls.close(conn)")
	require("silly.time").sleep(10)
	T.eq(tls.close(l), true, "tls.close(listener)")
	ok, ce = l:close()
	T.eq(ce, errno.CLOSED, "listener second close")
	local r, re = tls.connect("127.0.0.1:" .. port, { verify = false, timeout = 2000 })
	T.eq(re, errno.CONNREFUSED, "closed listener refuses")
	T.done()
end)
