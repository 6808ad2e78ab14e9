-- Contract of conn:close and the listener's close (docs/tcp.md#accepting-connections, docs/connections.md):
-- close from another task wakes a blocked reader with CLOSED, later calls fail with CLOSED,
-- isalive() is a boolean in every state, queued output (64 MiB) is still delivered after close,
-- and `<close>` / garbage collection close the socket.
local T = require "testaux"
local tcp = require "silly.net.tcp"
local errno = require "silly.errno"
local time = require "silly.time"
local task = require "silly.task"
local channel = require "silly.sync.channel"

T.limit(30000)

local P = require("testaux_tcp").new()
local l, where, pair = P.listener, P.where, P.pair

-- isalive() on a fresh connection
do
	local c, s = pair()
	T.eq(c:isalive(), true, "isalive() is true on a fresh client")
	T.eq(s:isalive(), true, "isalive() is true on a fresh accepted conn")
	T.eq(math.type(c.fd), "integer", "fd is an integer")
	T.eq(c.remoteaddr, where, "remoteaddr of a client is the address as passed")
	T.match(s.remoteaddr, "^127%.0%.0%.1:%d+$", "remoteaddr of an accepted conn is ip:port")
	c:close()
	s:close()
end

-- close from another task wakes a blocked reader with CLOSED
do
	local c, s = pair(function(s)
		s:write("buffered")
	end)
	time.sleep(50)
	T.eq(c:unreadbytes(), 8, "bytes arrived before the close")
	local closer = task.fork(function()
		time.sleep(50)
		T.eq(c:close(), true, "first close returns true")
	end)
	local t0 = time.monotonic()
	local d, err = c:read(100)
	T.eq(d, nil, "the blocked reader gets no data")
	T.eq(err, errno.CLOSED, "the blocked reader wakes with CLOSED")
	T.check(time.monotonic() - t0 < 1000, "it wakes at once")
	T.eq(task.status(closer), nil, "the closing task finished")
	T.eq(c.fd, nil, "fd is nil after a local close")
	local ok, e2 = c:close()
	T.check(ok == false and e2 == errno.CLOSED, "second close returns false, CLOSED", tostring(e2))
	ok, e2 = c:write("x")
	T.check(ok == false and e2 == errno.CLOSED, "write after close returns false, CLOSED", tostring(e2))
	d, err = c:read(1)
	T.check(d == nil and err == errno.CLOSED, "read after close returns nil, CLOSED even with data buffered")
	d, err = c:read(0)
	T.eq(err, errno.CLOSED, "read(0) after close returns CLOSED")
	local alive = c:isalive()
	T.check(alive == false, "isalive() is false (a boolean) after a local close", tostring(alive))
	T.eq(math.type(c:unreadbytes()), "integer", "unreadbytes() still answers after close")
	T.eq(c:unsentbytes(), 0, "unsentbytes() is 0 after close")
	ok, e2 = c:flush(100)
	T.check(ok == false and e2 == errno.CLOSED, "flush after close returns false, CLOSED", tostring(e2))
	-- the peer sees the close as EOF
	T.eq(s:read(8), nil, "the peer's read after our close")
	T.eq(select(2, s:read(1)), errno.EOF, "the peer gets EOF")
	T.eq(s:isalive(), false, "the peer's isalive() is false after EOF")
	s:close()
end

-- close from another task while the reader waits for a delimiter, with a timeout pending
do
	local c, s = pair()
	task.fork(function()
		time.sleep(20)
		c:close()
	end)
	local d, err = c:read("\n", 5000)
	T.check(d == nil and err == errno.CLOSED, "a reader with a timeout wakes with CLOSED", tostring(err))
	s:close()
end

-- the peer resets or closes: write reports CLOSED only once the socket is dead, close still true
do
	local c, s = pair()
	s:close()
	local d, err = c:read(1)
	T.eq(err, errno.EOF, "EOF after the peer closed")
	T.eq(c:isalive(), false, "isalive() false after the peer closed")
	-- the first write after a full close is accepted; the peer's RST then kills the socket
	T.eq(c:write("ping"), true, "the first write after the peer's full close returns true")
	local dead
	for _ = 1, 50 do
		time.sleep(10)
		local ok, e = c:write("ping")
		if not ok then
			dead = e
			break
		end
	end
	T.eq(dead, errno.CLOSED, "later writes return false, CLOSED once the peer's RST arrived")
	T.eq(c:isalive(), false, "isalive() stays false")
	T.eq(c:close(), true, "close of a dead socket still returns true the first time")
end

-- 64 MiB written, then close() at once: the peer receives every byte (docs/connections.md#close background flush)
do
	local total = 64 * 1024 * 1024
	local got, last = 0, ""
	local done = channel.new()
	local c, s = pair()
	task.fork(function()
		while true do
			local d = s:read(1024 * 1024, 20000)
			if not d then
				-- the tail is shorter than 1 MiB
				local n = s:unreadbytes()
				if n > 0 then
					d = s:read(n)
					got = got + #d
					last = d:sub(-8)
				end
				break
			end
			got = got + #d
			last = d:sub(-8)
		end
		done:push(true)
	end)
	local block = string.rep("x", 1024 * 1024 - 8) .. "%07d\n"
	local written = 0
	for i = 1, 64 do
		local b = block:format(i)
		T.check(c:write(b), "write block " .. i) -- never suspends
		written = written + #b
	end
	local queued = c:unsentbytes()
	T.check(queued > 0, "output is still queued before close", queued)
	T.eq(c:close(), true, "close with 64 MiB queued returns true at once")
	T.eq(c:unsentbytes(), 0, "unsentbytes() is 0 after close although the flush goes on")
	done:pop()
	T.eq(written, total, "64 MiB written")
	T.eq(got, total, "the peer received all 64 MiB")
	T.eq(last, "0000064\n", "the last block arrived last")
	s:close()
end

-- `<close>` closes at the end of the scope
do
	local s
	do
		local c <close> = assert(tcp.connect(where))
		s = P.accept()
		c:write("bye")
	end
	T.eq(s:read(3), "bye", "data written before <close> arrives")
	T.eq(select(2, s:read(1, 2000)), errno.EOF, "<close> closed the connection")
	s:close()
end

-- Dropping the last reference closes the socket eventually (__gc)
do
	assert(tcp.connect(where)) -- not kept
	local s = P.accept()
	collectgarbage()
	collectgarbage()
	T.eq(select(2, s:read(1, 2000)), errno.EOF, "a collected connection is closed")
	s:close()
end

-- The listener: close stops accepting, accepted connections are left alone
do
	local c, s = pair()
	local l2 = assert(tcp.listen({ addr = "127.0.0.1:0", accept = function() end }))
	local addr2 = l2:localaddr()
	T.eq(math.type(l2.fd), "integer", "listener fd is an integer")
	T.eq(l2:close(), true, "listener close returns true")
	T.eq(l2.fd, nil, "listener fd is nil after close")
	local ok, err = l2:close()
	T.check(ok == false and err == errno.CLOSED, "second listener close returns false, CLOSED")
	local c2, e = tcp.connect(addr2)
	T.check(c2 == nil and e == errno.CONNREFUSED, "connect to a closed listener is refused", tostring(e))
	-- the main listener closes while c/s are connected
	T.eq(l:close(), true, "close the main listener")
	T.eq(c:write("still"), true, "an accepted conn outlives its listener (write)")
	T.eq(s:read(5), "still", "an accepted conn outlives its listener (read)")
	c:close()
	s:close()
	T.eq(tcp.close(l), false, "tcp.close(listener) on a closed listener returns false")
end

T.done()
