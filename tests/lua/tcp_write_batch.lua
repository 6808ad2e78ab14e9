-- Write batching (stream.rs `Stream::write`): small writes made in one task run are staged
-- and leave together when the task yields, in order, interleaved with large writes; `close`
-- in the same run still delivers them; `unsentbytes` counts staged bytes.
local T = require "testaux"
local task = require "silly.task"
local time = require "silly.time"
local errno = require "silly.errno"

T.limit(30000)

local P = require("testaux_tcp").new()
local pair = P.pair

-- staged until the task yields, then sent
do
	local c, s = pair()
	T.eq(c:write("ab"), true, "write returns true")
	c:write("cd")
	T.eq(c:unsentbytes(), 4, "writes of one run are staged, not yet sent")
	T.eq(s:read(4), "abcd", "both writes arrive, in order, once the writer yielded")
	T.eq(c:unsentbytes(), 0, "nothing is left unsent after the yield")
	c:close()
	s:close()
end

-- small and large writes keep their order
do
	local c, s = pair()
	local big = string.rep("B", 300 * 1024)
	c:write("x")
	c:write(big)
	c:write("y")
	c:write({ "z", big, "w" })
	local want = "x" .. big .. "y" .. "z" .. big .. "w"
	T.eq(s:read(#want), want, "mixed sizes arrive intact and in order")
	-- a large write to an idle connection goes out at once
	c:write(big)
	T.eq(c:unsentbytes() < #big, true, "a large write to an idle socket is sent at once")
	T.eq(s:read(#big), big, "the large write arrives")
	c:close()
	s:close()
end

-- many tasks writing to one connection in the same loop turn
do
	local c, s = pair()
	local n = 50
	for i = 1, n do
		task.fork(function()
			c:write(string.format("%03d\n", i))
		end)
	end
	local seen = {}
	for _ = 1, n do
		local line = s:readline()
		seen[#seen + 1] = line
	end
	T.eq(#seen, n, "every forked writer's line arrived")
	T.eq(seen[1], "001\n", "forked writers run in order")
	T.eq(seen[n], string.format("%03d\n", n), "the last line is the last writer's")
	c:close()
	s:close()
end

-- write then close in the same run: the staged bytes are delivered, then EOF
do
	local c, s = pair()
	c:write("last words")
	c:close()
	T.eq(s:read(10), "last words", "staged output is flushed by close")
	local data, err = s:read(1)
	T.eq(data, nil, "then the stream ends")
	T.eq(err, errno.EOF, "with EOF")
	s:close()
end

-- a writer that computes without yielding keeps its output staged until its run ends
do
	local c, s = pair()
	local staged
	task.fork(function()
		c:write("late")
		local t0 = time.monotonic()
		while time.monotonic() - t0 < 50 do
		end
		staged = c:unsentbytes()
	end)
	T.eq(s:read(4), "late", "the bytes arrive once the busy writer's run ended")
	T.eq(staged, 4, "after 50 ms of work without a yield they were still staged")
	c:close()
	s:close()
end

P.listener:close()
T.done()
