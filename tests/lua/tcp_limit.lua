-- Contract of conn:limit (docs/connections.md#limit) and conn:flush (docs/connections.md#flush): reading pauses at the
-- threshold while the peer keeps sending, a read larger than the limit still completes,
-- limit(nil) resumes; flush returns true once drained and false, TIMEDOUT while the peer does
-- not read.
local T = require "testaux"
local tcp = require "silly.net.tcp"
local errno = require "silly.errno"
local time = require "silly.time"
local task = require "silly.task"

T.limit(20000)

local P = require("testaux_tcp").new()
local l, where, pair = P.listener, P.where, P.pair

-- The slack a soft limit may overshoot by: one transport read (docs/connections.md#limit allows up to 2 MiB;
-- ours reads 64 KiB at a time).
local SLACK = 64 * 1024

-- The spec's example: 1 KiB, pause, 1 KiB, pause, 1 KiB
do
	local c, s = pair()
	local kib = string.rep("k", 1024)
	c:limit(1024)
	s:write(kib)
	time.sleep(100)
	T.eq(c:unreadbytes(), 1024, "limit(1024): the first KiB is read")
	s:write(kib)
	time.sleep(100)
	T.eq(c:unreadbytes(), 1024, "limit(1024): the second KiB waits in the kernel")
	c:limit(2048)
	time.sleep(100)
	T.eq(c:unreadbytes(), 2048, "limit(2048): the second KiB is read")
	s:write(kib)
	time.sleep(100)
	T.eq(c:unreadbytes(), 2048, "limit(2048): the third KiB waits in the kernel")
	c:limit(nil)
	time.sleep(100)
	T.eq(c:unreadbytes(), 3072, "limit(nil) resumes reading")
	T.eq(#c:read(3072), 3072, "all of it readable")
	-- soft limit: one segment larger than the limit is read whole
	c:limit(1024)
	s:write(string.rep("b", 4096))
	time.sleep(100)
	T.eq(c:unreadbytes(), 4096, "soft limit: a 4 KiB segment is buffered whole under limit(1024)")
	T.eq(#c:read(4096), 4096, "and readable")
	c:close()
	s:close()
end

-- A peer that keeps sending: unreadbytes stays near the limit
do
	local c, s = pair()
	local limit = 100 * 1024
	c:limit(limit)
	local stop = false
	local sent = 0
	local writer = task.fork(function()
		local chunk = string.rep("p", 16 * 1024)
		-- keep the kernel buffers full without queueing unboundedly in user space
		while not stop do
			if s:unsentbytes() < 1024 * 1024 then
				s:write(chunk)
				sent = sent + #chunk
			end
			time.sleep(1)
		end
	end)
	time.sleep(300)
	local u1 = c:unreadbytes()
	T.check(u1 >= limit and u1 <= limit + SLACK, "unreadbytes reaches the limit and stays near it", u1)
	time.sleep(200)
	local u2 = c:unreadbytes()
	T.eq(u2, u1, "while paused, nothing more is read although the peer keeps sending")
	T.check(sent > u2 + 256 * 1024, "the peer did send much more than was read", sent)
	-- a read larger than the limit still completes (resumes reading; no deadlock)
	local big = 1024 * 1024
	local d = c:read(big, 5000)
	T.eq(d and #d, big, "read(1 MiB) with limit 100 KiB completes")
	time.sleep(200)
	local u3 = c:unreadbytes()
	T.check(u3 <= limit + SLACK, "after the big read, the limit pauses reading again", u3)
	-- limit(nil) resumes
	c:limit(nil)
	time.sleep(200)
	local u4 = c:unreadbytes()
	T.check(u4 > limit + SLACK, "limit(nil): reading resumes past the old limit", u4)
	stop = true
	time.sleep(20)
	T.eq(task.status(writer), nil, "writer stopped")
	c:close()
	s:close()
end

-- limit(0) pauses at once; a read still gets its bytes
do
	local c, s = pair()
	c:limit(0)
	s:write("0123456789")
	time.sleep(100)
	T.eq(c:unreadbytes(), 0, "limit(0): nothing is read into the buffer")
	T.eq(c:read(4, 2000), "0123", "read(4) under limit(0) still completes")
	T.eq(c:read("9", 2000), "456789", "a delimiter read under limit(0) still completes")
	T.raises("", "limit(non-number) raises", c.limit, c, {})
	c:limit(nil)
	c:close()
	s:close()
end

-- The peer's FIN while paused is still seen once the buffer is read
do
	local c, s = pair()
	c:limit(4)
	s:write("abcdefgh")
	s:close()
	time.sleep(100)
	T.eq(c:read(8, 2000), "abcdefgh", "all data readable under the limit")
	T.eq(select(2, c:read(1, 2000)), errno.EOF, "then EOF")
	c:close()
end

-- flush: true at once with nothing queued; false, TIMEDOUT while the peer does not read;
-- true once the peer drains it
do
	local c, s = pair()
	T.eq(c:flush(), true, "flush with an empty queue returns true")
	T.eq(c:flush(0), true, "flush(0) with an empty queue returns true")
	s:limit(0) -- the peer stops reading
	local chunk = string.rep("f", 1024 * 1024)
	local total = 0
	for _ = 1, 48 do
		c:write(chunk)
		total = total + #chunk
	end
	local queued = c:unsentbytes()
	T.check(queued > 0, "with the peer not reading, output is queued", queued)
	local t0 = time.monotonic()
	local ok, err = c:flush(200)
	local waited = time.monotonic() - t0
	T.check(ok == false and err == errno.TIMEDOUT, "flush(200) returns false, TIMEDOUT", tostring(err))
	T.check(waited >= 190 and waited < 3000, "flush waited about 200 ms", waited)
	T.eq(c:isalive(), true, "a flush timeout leaves the connection alive")
	-- the peer reads everything
	local got = 0
	local reader = task.fork(function()
		s:limit(nil)
		while got < total do
			local d = s:read(math.min(1024 * 1024, total - got), 10000)
			if not d then
				break
			end
			got = got + #d
		end
	end)
	ok, err = c:flush(10000)
	T.check(ok == true, "flush returns true once the peer drained the queue", tostring(err))
	T.eq(c:unsentbytes(), 0, "unsentbytes() is 0 after a successful flush")
	while task.status(reader) do
		time.sleep(10)
	end
	T.eq(got, total, "the peer got every byte")
	-- a flush blocked when another task closes the conn returns false
	for _ = 1, 48 do
		c:write(chunk)
	end
	s:limit(0)
	task.fork(function()
		time.sleep(50)
		c:close()
	end)
	ok, err = c:flush(5000)
	T.check(ok == false and err == errno.CLOSED, "close wakes a blocked flush with false, CLOSED", tostring(err))
	s:close()
end

l:close()
T.done()
