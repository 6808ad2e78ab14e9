-- listener:shutdown of silly.net.http (docs/http.md#graceful-shutdown): a request in flight
-- gets its whole response with `connection: close`, an idle keep-alive connection is closed,
-- new connections are refused, and past the deadline the connections left are closed and
-- shutdown returns `false, errno.TIMEDOUT`; also over TLS.
local T = require "testaux"
local task = require "silly.task"
local time = require "silly.time"
local tcp = require "silly.net.tcp"
local tls = require "silly.net.tls"
local http = require "silly.net.http"
local errno = require "silly.errno"
local channel = require "silly.sync.channel"

T.limit(20000)

-- Reads one response from a raw connection: status, lower-case header table, body.
local function response(conn)
	local line = conn:readline()
	if not line then
		return nil
	end
	local status = tonumber(line:match("^HTTP/1%.1 (%d+)"))
	local header = {}
	while true do
		local l = assert(conn:readline())
		if l == "\r\n" then
			break
		end
		local k, v = l:match("^([^:]+):%s*(.-)\r\n$")
		header[k:lower()] = v
	end
	local body = conn:read(tonumber(header["content-length"]))
	return status, header, body
end

local function get(conn, path)
	assert(conn:write("GET " .. path .. " HTTP/1.1\r\nhost: test\r\n\r\n"))
end

-- Drain: one slow request in flight, one idle keep-alive connection.
do
	local started = channel.new()
	local l = assert(http.listen {
		addr = "127.0.0.1:0",
		handler = function(s)
			if s.path == "/slow" then
				started:push(true)
				time.sleep(300)
				s:closewrite("slow done")
			else
				s:closewrite("fast")
			end
		end,
	})
	local addr = l:localaddr()
	local idle = assert(tcp.connect(addr))
	get(idle, "/fast")
	local st, h, b = response(idle)
	T.eq(st, 200, "keep-alive request before shutdown")
	T.eq(h.connection, nil, "keep-alive response has no connection: close")
	T.eq(b, "fast", "keep-alive body")

	local busy = assert(tcp.connect(addr))
	get(busy, "/slow")
	started:pop()

	local result = channel.new()
	local t0 = time.monotonic()
	task.fork(function()
		result:push({ l:shutdown(5000) })
	end)
	time.sleep(20)
	local refused, err = tcp.connect(addr)
	T.eq(refused, nil, "a connection after shutdown is refused")
	T.eq(err, errno.CONNREFUSED, "refused with CONNREFUSED")
	local data, ierr = idle:read(1)
	T.eq(data, nil, "the idle keep-alive connection is closed")
	T.eq(ierr, errno.EOF, "the idle connection ends with EOF")

	st, h, b = response(busy)
	T.eq(st, 200, "the request in flight is answered")
	T.eq(b, "slow done", "with its whole body")
	T.eq(h.connection, "close", "and connection: close")
	data, ierr = busy:read(1)
	T.eq(ierr, errno.EOF, "then its connection closes")
	local r = result:pop()
	T.eq(r[1], true, "shutdown reports every connection drained")
	local took = time.monotonic() - t0
	T.check(took >= 250 and took < 3000, "shutdown waited for the request", took .. " ms")
	idle:close()
	busy:close()
	T.eq(select(2, l:close()), errno.CLOSED, "the listener is closed")
	T.eq(l:shutdown(10), true, "a second shutdown with nothing left returns true")
end

-- Deadline: a handler that does not finish in time has its connection closed.
do
	local started, release = channel.new(), channel.new()
	local late = channel.new()
	local l = assert(http.listen {
		addr = "127.0.0.1:0",
		handler = function(s)
			started:push(true)
			release:pop()
			late:push({ s:closewrite("too late") })
		end,
	})
	local conn = assert(tcp.connect(l:localaddr()))
	get(conn, "/stuck")
	started:pop()
	local t0 = time.monotonic()
	local ok, err = l:shutdown(100)
	local took = time.monotonic() - t0
	T.eq(ok, false, "shutdown past its deadline returns false")
	T.eq(err, errno.TIMEDOUT, "with TIMEDOUT")
	T.check(took >= 90 and took < 1000, "after about the deadline", took .. " ms")
	local line, rerr = conn:readline()
	T.eq(line, nil, "the unfinished request's connection was closed")
	T.check(rerr ~= nil, "its read fails", tostring(rerr))
	release:push(true)
	T.eq(late:pop()[1], false, "the handler's late write fails")
	conn:close()
	time.sleep(20) -- the handler's task ends
end

-- HTTPS: the same drain over TLS connections.
do
	local started = channel.new()
	local l = assert(http.listen {
		addr = "127.0.0.1:0",
		tls = true,
		certs = { { cert = T.fixture("server-rsa-chain.crt"), key = T.fixture("server-rsa.key") } },
		handler = function(s)
			started:push(true)
			time.sleep(200)
			s:closewrite("tls done")
		end,
	})
	local port = l:localaddr():match(":(%d+)$")
	local conn = assert(tls.connect("127.0.0.1:" .. port, { verify = false }))
	get(conn, "/slow")
	started:pop()
	local ok = l:shutdown(5000)
	T.eq(ok, true, "an HTTPS server drains")
	local st, h, b = response(conn)
	T.eq(st, 200, "the HTTPS request in flight is answered")
	T.eq(b, "tls done", "with its body")
	T.eq(h.connection, "close", "and connection: close")
	T.eq(tls.connect("127.0.0.1:" .. port, { verify = false, timeout = 2000 }), nil, "then HTTPS connections are refused")
	conn:close()
end

-- No connection at all: returns at once; argument check.
do
	local l = assert(http.listen { addr = "127.0.0.1:0", handler = function() end })
	T.raises("bad argument #1 to 'shutdown' %(number expected, got table%)", "bad timeout", l.shutdown, l, {})
	T.eq(l:shutdown(), true, "an idle server shuts down at once")
end

T.done()
