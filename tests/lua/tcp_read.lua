-- Contract of conn:read / readline (docs/connections.md#read): exact counts, delimiters of
-- any length (included in the result) also when split across TCP segments, read(0), timeouts
-- that keep partial data, the peer's FIN after buffered bytes, and a single reader at a time.
local T = require "testaux"
local tcp = require "silly.net.tcp"
local errno = require "silly.errno"
local time = require "silly.time"
local task = require "silly.task"

T.limit(10000)

local P = require("testaux_tcp").new()
local l, where, pair = P.listener, P.where, P.pair

-- read(n): exactly n bytes, across several reads
do
	local c, s = pair(function(s)
		s:write("hello world")
	end)
	T.eq(c:read(5), "hello", "read(5)")
	T.eq(c:read(1), " ", "read(1)")
	T.eq(c:read(5), "world", "read(5) again")
	T.eq(c:read(0), "", "read(0) returns an empty string")
	T.eq(c:read(-3), "", "read(negative) returns an empty string")
	s:write("xyz")
	T.eq(c:read(2.9), "xy", "a float count is truncated to an integer")
	T.eq(c:read(1), "z", "the rest after a float count")
	c:close()
	s:close()
end

-- read(delim): delimiters of 1, 2 and 5 bytes; the result includes the delimiter
do
	local c, s = pair(function(s)
		s:write("line1\nline2\r\nx<EN<END>y<END><END>tail\n")
	end)
	T.eq(c:read("\n"), "line1\n", "1-byte delimiter")
	T.eq(c:read("\r\n"), "line2\r\n", "2-byte delimiter")
	T.eq(c:read("<END>"), "x<EN<END>", "5-byte delimiter after a partial match")
	T.eq(c:read("<END>"), "y<END>", "5-byte delimiter again")
	T.eq(c:read("<END>"), "<END>", "a delimiter at the very start")
	T.eq(c:readline(), "tail\n", "readline() defaults to \\n")
	s:write("a;b\r\n")
	T.eq(c:readline(";"), "a;", "readline(delim)")
	T.eq(c:readline("\r\n"), "b\r\n", "readline with a 2-byte delimiter")
	T.raises("delimiter", "an empty delimiter raises", c.read, c, "")
	T.raises("expected", "a boolean request raises", c.read, c, true)
	T.raises("expected", "a nil request raises", c.read, c, nil)
	c:close()
	s:close()
end

-- A delimiter split across TCP segments (each write after a pause is its own segment)
do
	local c, s = pair(function(s)
		s:write("ab\r")
		time.sleep(50)
		s:write("\nrest")
		time.sleep(50)
		s:write("--<E")
		time.sleep(30)
		s:write("N")
		time.sleep(30)
		s:write("D>!")
	end)
	T.eq(c:read("\r\n"), "ab\r\n", "\\r\\n split between two segments")
	T.eq(c:read(4), "rest", "the bytes after the split delimiter")
	T.eq(c:read("<END>"), "--<END>", "5-byte delimiter split across three segments")
	T.eq(c:read(1), "!", "the byte after it")
	-- many small segments before a delimiter: the search stays correct as data accumulates
	local n = 200
	task.fork(function()
		for i = 1, n do
			s:write("x")
			if i % 20 == 0 then
				time.sleep(1)
			end
		end
		s:write("\r")
		time.sleep(10)
		s:write("\n")
	end)
	local line = c:read("\r\n")
	T.eq(line, string.rep("x", n) .. "\r\n", "delimiter after many small segments")
	c:close()
	s:close()
end

-- A timeout keeps the partial data; a later read returns everything
do
	local c, s = pair(function(s)
		s:write("abc")
	end)
	local t0 = time.monotonic()
	local d, err = c:read(6, 100)
	local waited = time.monotonic() - t0
	T.eq(d, nil, "read(6, 100) with 3 bytes buffered: no data")
	T.eq(err, errno.TIMEDOUT, "read(6, 100): TIMEDOUT")
	T.check(waited >= 90 and waited < 2000, "the timeout took about 100 ms", waited .. " ms")
	T.eq(c:unreadbytes(), 3, "the partial data stays buffered")
	T.eq(c:isalive(), true, "a timeout leaves the connection alive")
	d, err = c:read("\n", 0)
	T.eq(err, errno.TIMEDOUT, "read(delim, 0) times out when the delimiter is not buffered")
	s:write("def\n")
	T.eq(c:read(6, 1000), "abcdef", "a later read returns the bytes from before and after the timeout")
	T.eq(c:read("\n", 0), "\n", "read(delim, 0) succeeds at once when buffered")
	-- timeout then data arriving exactly for the next read
	task.fork(function()
		time.sleep(150)
		s:write("late")
	end)
	d, err = c:read(4, 50)
	T.eq(err, errno.TIMEDOUT, "read times out before the late data")
	T.eq(c:read(4, 2000), "late", "the late data is read by the next read")
	c:close()
	s:close()
end

-- The peer closes: buffered bytes stay readable, then EOF
do
	local c, s = pair(function(s)
		s:write("tail\n")
		s:close()
	end)
	local d, err = c:read(100)
	T.eq(d, nil, "read(100) after the peer sent 5 bytes and closed: no data")
	T.eq(err, errno.EOF, "read(100): EOF")
	T.eq(c:unreadbytes(), 5, "EOF does not consume the buffer")
	T.eq(c:isalive(), false, "isalive() is false after the peer's FIN")
	T.eq(c:read(2), "ta", "a smaller read still succeeds after EOF")
	T.eq(c:read("\n"), "il\n", "a delimiter read still succeeds after EOF")
	d, err = c:read(1)
	T.eq(err, errno.EOF, "then EOF")
	d, err = c:read("\n")
	T.eq(err, errno.EOF, "and EOF for a delimiter read")
	T.eq(c:read(0), "", "read(0) still returns an empty string")
	T.eq(c:write("after fin"), true, "write after the peer's FIN returns true (half-close)")
	T.eq(c.fd ~= nil, true, "the peer's close does not clear fd")
	T.eq(c:close(), true, "close after EOF returns true")
end

-- A reader blocked when the FIN arrives is woken with EOF
do
	local c, s = pair()
	task.fork(function()
		time.sleep(50)
		s:write("par")
		s:close()
	end)
	local d, err = c:read("\n")
	T.check(d == nil and err == errno.EOF, "a blocked reader wakes with EOF", tostring(err))
	T.eq(c:read(3), "par", "the partial line is still readable")
	c:close()
end

-- One reader at a time: a second concurrent read raises, the first is unaffected
do
	local c, s = pair()
	local got
	local reader = task.fork(function()
		got = { c:read(4) }
	end)
	time.sleep(10)
	-- a task blocked in a socket read reports RUN (docs/task.md), and has no result yet
	T.check(task.status(reader) ~= nil and got == nil, "the first reader is blocked")
	T.raises("already reading", "a second concurrent read raises", c.read, c, 1)
	T.raises("already reading", "a second concurrent readline raises", c.readline, c)
	s:write("data")
	time.sleep(50)
	T.eq(got and got[1], "data", "the first reader gets its data")
	-- after the first reader finished, reading works again
	s:write("more")
	T.eq(c:read(4), "more", "a new read works once the first one returned")
	c:close()
	s:close()
end

-- A large read(n) spanning many segments
do
	local size = 3 * 1024 * 1024 + 7
	local c, s = pair(function(s)
		local chunk = string.rep("0123456789abcdef", 4096)
		local left = size
		while left > 0 do
			local n = math.min(left, #chunk)
			s:write(chunk:sub(1, n))
			left = left - n
		end
	end)
	local d = c:read(size)
	T.eq(d and #d, size, "read(n) of 3 MiB returns exactly n bytes")
	T.eq(d and d:sub(1, 20), "0123456789abcdef0123", "and the bytes are in order")
	c:close()
	s:close()
end

-- Table writes: items concatenated, numbers converted, iteration stops at the first nil
do
	local c, s = pair()
	T.eq(s:write({ "a", 1, "b", 2.5 }), true, "write(array) returns true")
	T.eq(c:read(6), "a1b2.5", "array items are concatenated, numbers converted")
	T.eq(s:write({ "x", nil, "dropped" }), true, "write(array with a hole) returns true")
	T.eq(s:write("|"), true, "write a marker")
	T.eq(c:read("|"), "x|", "items after a hole are dropped")
	T.eq(s:write(""), true, "write('') returns true")
	T.raises("expected", "write(boolean) raises", s.write, s, true)
	T.raises("", "write(array with a table item) raises", s.write, s, { "a", {} })
	c:close()
	s:close()
end

l:close()
T.done()
