-- The raw fast paths of read and write (src/native/net/conn_fast.rs): they only ever answer
-- when the normal path would give the same answer, and decline (return nothing) on anything
-- odd, including ids a script forged or kept after the connection was collected.
local T = require "testaux"
local conn_c = require "silly.net.conn.c"

T.limit(30000)

local P = require("testaux_tcp").new()
local pair = P.pair

-- bad arguments are declined, never an error and never a crash
do
	local c, s = pair()
	for _, args in ipairs({
		{}, { nil, "\n" }, { "x", "\n" }, { 1.5, "\n" }, { c[3], {} }, { c[3], 0 }, { c[3], -3 },
		{ c[3], "" }, { c[3], string.rep("d", 17) }, { -1, "\n" }, { math.maxinteger, 4 },
	}) do
		T.eq(select("#", conn_c.fastread(table.unpack(args, 1, 2))), 0, "fastread declines odd arguments")
	end
	for _, args in ipairs({ {}, { c[3] }, { c[3], 42 }, { c[3], {} }, { "x", "y" }, { 0, "y" } }) do
		T.eq(select("#", conn_c.fastwrite(table.unpack(args, 1, 2))), 0, "fastwrite declines odd arguments")
	end
	T.eq(conn_c.fastwrite(c[3], "ok\n"), true, "fastwrite queues on a live connection")
	T.eq(s:readline(), "ok\n", "and the bytes arrive")
	c:close()
	s:close()
end

-- ids of collected connections answer nothing, even after their slot is reused
do
	local c, s = pair()
	local stale = c[3]
	c:close()
	s:close()
	c, s = nil, nil
	collectgarbage()
	collectgarbage()
	T.eq(select("#", conn_c.fastwrite(stale, "x")), 0, "a collected connection's id is not found")
	local c2, s2 = pair()
	T.check(c2[3] ~= stale, "a new connection gets a new id")
	T.eq(select("#", conn_c.fastread(stale, 1)), 0, "the stale id does not reach the new connection")
	-- a script that overwrites the id only loses the fast path
	c2[3] = stale
	T.eq(c2:write("still\n"), true, "write works through the normal path")
	T.eq(s2:readline(), "still\n", "read too")
	c2:close()
	s2:close()
end

-- fast and normal paths agree: buffered reads of every kind, then the blocking ones
do
	local c, s = pair()
	c:write("a\r\nbb\r\nccc|rest")
	T.eq(s:read(3), "a\r\n", "the first read blocks (normal path)")
	T.eq(conn_c.fastread(s[3], 1), "b", "fastread answers from the buffer")
	T.eq(s:readline("\r\n"), "b\r\n", "a buffered multi-byte delimiter (fast path)")
	T.eq(s:read(3), "ccc", "a buffered count (fast path)")
	T.eq(s:readline("|"), "|", "a buffered one-byte delimiter")
	T.eq(s:read(4), "rest", "exactly the rest")
	T.eq(s:unreadbytes(), 0, "nothing left")
	c:close()
	local d, err = s:read(1)
	T.eq(d, nil, "then EOF through the normal path")
	T.check(err ~= nil, "with an error value")
	T.eq(select("#", s:read(0)), 2, "read(0) keeps its (data, nil) shape")
	s:close()
end

P.listener:close()
T.done()
