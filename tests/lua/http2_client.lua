-- silly.net.http's client over HTTP/2 against silly.net.http's server in the same process
-- (TLS, ALPN "h2"): GET, POST with bodies larger than the flow-control windows, trailers,
-- 404 and 500, 20 concurrent requests from 20 tasks on ONE connection, maxbodysize,
-- timeouts (a request body write included), a connection ended by the server (the next request opens a new one), a server
-- that picks HTTP/1.1, `h2 = false` keeping HTTP/1.1, and `alpnprotos` choosing the offer.
local T = require "testaux"
local task = require "silly.task"
local time = require "silly.time"
local http = require "silly.net.http"
local errno = require "silly.errno"

T.limit(20000)

local rd = T.fixture
local CA = rd("ca.crt")
local peers = {}
local routes = {
	["/who"] = function(s)
		peers[#peers + 1] = s.remoteaddr
		s:closewrite(s.version .. " " .. s.remoteaddr)
	end,
	["/echo"] = function(s)
		local b = assert(s:readall())
		s:respond(200, { ["x-method"] = s.method, ["x-len"] = #b })
		s:closewrite(b)
	end,
	["/trailer"] = function(s)
		s:respond(200)
		s:write("one\n")
		s:closewrite("two\n", { ["x-sum"] = "2" })
	end,
	["/raise"] = function()
		error("handler failed on purpose")
	end,
	["/slow"] = function(s)
		time.sleep(300)
		s:closewrite("late")
	end,
	-- Reads nothing for 400 ms: a client's body stops at the stream's window (256 KiB).
	["/noread"] = function(s)
		time.sleep(400)
		s:closewrite("unread")
	end,
	["/big"] = function(s)
		s:closewrite(string.rep("b", 100000))
	end,
}
local l = assert(http.listen({
	addr = "127.0.0.1:0",
	tls = true,
	certs = { { cert = rd("server-rsa-chain.crt"), key = rd("server-rsa.key") } },
	idletimeout = 1000,
	handler = function(s)
		local f = routes[s.path]
		if f then
			return f(s)
		end
		s:respond(404, { ["content-length"] = 0 })
		s:closewrite()
	end,
}))
local port = l:localaddr():match(":(%d+)$")
local base = "https://localhost:" .. port

task.fork(function()
	local c = http.newclient({ timeout = 5000, ca = CA })
	local r = assert(c:get(base .. "/who"))
	T.eq(r.status, 200, "GET over HTTP/2")
	T.eq(r.version, "HTTP/2", "the response says HTTP/2")
	T.match(r.body, "^HTTP/2 ", "the server saw HTTP/2")

	-- A POST whose body is larger than the server's windows (256 KiB per stream).
	local big = string.rep("0123456789abcdef", 40000)
	r = assert(c:post(base .. "/echo", { ["content-type"] = "text/plain" }, big))
	T.eq(r.status, 200, "POST status")
	T.eq(r.header["x-method"], "POST", "POST method")
	T.eq(r.header["x-len"], tostring(#big), "POST body length seen by the server")
	T.check(r.body == big, "POST body echoed")

	-- The stream API: a body written in pieces, then trailers on the response.
	local s = assert(c:request("PUT", base .. "/echo"))
	T.check(s:write("abc"), "stream write")
	T.check(s:closewrite("def"), "stream closewrite")
	T.check(s:waitresponse(), "stream waitresponse")
	T.eq(s.version, "HTTP/2", "stream version")
	T.eq(s:readall(), "abcdef", "stream body")
	s:close()
	s = assert(c:request("GET", base .. "/trailer"))
	T.eq(s:read(4), "one\n", "read n")
	T.eq(s:readall(), "two\n", "read the rest")
	T.eq(s.trailer and s.trailer["x-sum"], "2", "response trailer")
	s:close()

	r = assert(c:get(base .. "/nope"))
	T.eq(r.status, 404, "404 over HTTP/2")
	r = assert(c:get(base .. "/raise"))
	T.eq(r.status, 500, "a handler that raises: 500")

	-- 20 tasks at once: every request on the one pooled connection.
	peers = {}
	local wg = 0
	local versions = {}
	for i = 1, 20 do
		wg = wg + 1
		task.fork(function()
			local rr = assert(c:get(base .. "/who"))
			versions[i] = rr.version
			wg = wg - 1
		end)
	end
	while wg > 0 do
		time.sleep(10)
	end
	T.eq(#peers, 20, "20 concurrent requests")
	local one = true
	for i = 2, #peers do
		one = one and peers[i] == peers[1]
	end
	T.check(one, "the 20 requests shared one connection", table.concat(peers, " "))
	T.eq(versions[20], "HTTP/2", "concurrent version")

	-- Limits: maxbodysize and the whole-call timeout.
	local none, err = c:get(base .. "/big", nil, { maxbodysize = 1000 })
	T.eq(none, nil, "maxbodysize")
	T.match(err, "maxbodysize", "maxbodysize error")
	none, err = c:get(base .. "/slow", nil, { timeout = 100 })
	T.eq(err, errno.TIMEDOUT, "timeout")
	-- The connection is still fine after a cancelled stream.
	r = assert(c:get(base .. "/who"))
	T.eq(r.body, "HTTP/2 " .. peers[1], "same connection after a timeout")
	-- A request body that meets a window that does not open: the write waits no longer than
	-- the call's timeout, and only that stream is given up.
	local t0 = time.monotonic()
	s = assert(c:request("POST", base .. "/noread", nil, { timeout = 200 }))
	local ok, werr = s:write(string.rep("w", 1024 * 1024))
	local took = time.monotonic() - t0
	T.eq(ok, false, "write against a shut window fails")
	T.eq(werr, errno.TIMEDOUT, "write against a shut window: TIMEDOUT")
	T.check(took >= 190 and took < 390, "the write waited the call's timeout", took)
	s:close()
	r = assert(c:get(base .. "/who"))
	T.eq(r.body, "HTTP/2 " .. peers[1], "same connection after a write timed out")

	-- The server ends an idle connection (idletimeout, GOAWAY): the next request opens a new one.
	time.sleep(1500)
	r = assert(c:get(base .. "/who"))
	T.eq(r.status, 200, "request after GOAWAY")
	T.check(r.body ~= "HTTP/2 " .. peers[1], "a new connection after GOAWAY", r.body)

	-- h2 = false: HTTP/1.1 over TLS.
	r = assert(c:get(base .. "/who", nil, { h2 = false }))
	T.eq(r.version, "HTTP/1.1", "h2 = false keeps HTTP/1.1")
	T.match(r.body, "^HTTP/1.1 ", "the server saw HTTP/1.1")
	local c1 = http.newclient({ ca = CA, h2 = false })
	r = assert(c1:get(base .. "/who"))
	T.eq(r.version, "HTTP/1.1", "newclient{h2 = false}")
	c1:close()

	-- alpnprotos: the offer itself decides; each offer has its own pooled connections (c
	-- holds an HTTP/2 one, which an HTTP/1.1 offer must not get, and the reverse below).
	r = assert(c:get(base .. "/who", nil, { alpnprotos = { "http/1.1" } }))
	T.eq(r.version, "HTTP/1.1", "alpnprotos = {http/1.1}")
	T.match(r.body, "^HTTP/1.1 ", "alpnprotos = {http/1.1}: the server saw HTTP/1.1")
	r = assert(c:get(base .. "/who", nil, { alpnprotos = { "h2" } }))
	T.eq(r.version, "HTTP/2", "alpnprotos = {h2}")
	r = assert(c:get(base .. "/who", nil, { h2 = false, alpnprotos = { "h2", "http/1.1" } }))
	T.eq(r.version, "HTTP/2", "alpnprotos wins over h2 at the same level")
	local c2 = http.newclient({ ca = CA, alpnprotos = { "http/1.1" } })
	r = assert(c2:get(base .. "/who"))
	T.eq(r.version, "HTTP/1.1", "newclient{alpnprotos = {http/1.1}}")
	r = assert(c2:post(base .. "/echo", nil, "up", { alpnprotos = { "h2" } }))
	T.eq(r.version .. " " .. r.body, "HTTP/2 up", "the call's alpnprotos over the client's")
	s = assert(c2:request("GET", base .. "/who", nil, { h2 = true }))
	T.check(s:waitresponse(), "request with the call's h2")
	T.eq(s.version, "HTTP/2", "the call's h2 over the client's alpnprotos")
	s:readall()
	s:close()
	r = assert(c2:get(base .. "/who"))
	T.eq(r.version, "HTTP/1.1", "the client's offer again")
	c2:close()
	T.raises("^bad argument #1 to 'newclient' %(alpnprotos: non%-empty array of strings expected, got string%)",
		"newclient alpnprotos string", http.newclient, { alpnprotos = "h2" })
	T.raises("bad argument #3 to 'get' %(alpnprotos%[1%]: a name of 1..255 bytes expected, got number%)",
		"get alpnprotos {1}", function() c:get(base .. "/who", nil, { alpnprotos = { 1 } }) end)
	T.raises("^bad argument #4 to 'post' %(alpnprotos: non%-empty array of strings expected, got an empty table%)",
		"post alpnprotos {}", http.post, base .. "/echo", nil, "", { alpnprotos = {} })
	T.raises("^bad argument #4 to 'request' %(alpnprotos%[2%]: a name of 1..255 bytes expected, got 0 bytes%)",
		"request alpnprotos {h2, ''}", http.request, "GET", base .. "/who", nil, { alpnprotos = { "h2", "" } })
	T.raises("^bad argument #3 to 'get' %(alpnprotos: non%-empty array of strings expected, got boolean%)",
		"get alpnprotos false", http.get, base .. "/who", nil, { alpnprotos = false })

	-- A TLS server that picks HTTP/1.1: concurrent requests each get a connection of their own.
	local l1 = assert(http.listen({
		addr = "127.0.0.1:0",
		tls = true,
		alpnprotos = { "http/1.1" },
		certs = { { cert = rd("server-rsa-chain.crt"), key = rd("server-rsa.key") } },
		handler = function(s)
			time.sleep(50)
			s:closewrite(s.version)
		end,
	}))
	local base1 = "https://localhost:" .. l1:localaddr():match(":(%d+)$")
	local got, n1 = {}, 0
	for i = 1, 5 do
		task.fork(function()
			local rr = assert(c:get(base1 .. "/"))
			got[i] = rr.version .. " " .. rr.body
			n1 = n1 + 1
		end)
	end
	while n1 < 5 do
		time.sleep(10)
	end
	T.eq(table.concat(got, ","), string.rep("HTTP/1.1 HTTP/1.1", 5, ","), "a server that picks HTTP/1.1")
	l1:close()

	T.raises("bad argument #3 to 'request'", "header with CR LF", function()
		c:request("GET", base .. "/who", { ["x"] = "a\r\nb" })
	end)
	c:close()
	l:close()
	time.sleep(400) -- the /slow handler finishes
	T.done()
end)
