-- The loop collects Lua garbage once it has had nothing to do for a moment (ARCHITECTURE.md,
-- "The event loop"): Lua's own collector is paced by allocation, so without this the garbage
-- of connections that closed stays while a server waits for new ones.
local T = require "testaux"
local time = require "silly.time"
local task = require "silly.task"
T.limit(8000)

local garbage = {}
for i = 1, 100000 do
	garbage[i] = { i }
end
garbage = nil
local before = collectgarbage("count")
-- Nothing allocates while the task sleeps: only the loop's idle collection can free it.
time.sleep(800)
local after = collectgarbage("count")
T.check(after < before / 2, string.format("idle collection: %.0f KiB -> %.0f KiB", before, after))

-- A loop that keeps busy is not interrupted by it: the heap stays as it was between ticks of
-- a timer that fires every 50 ms.
garbage = {}
for i = 1, 100000 do
	garbage[i] = { i }
end
garbage = nil
before = collectgarbage("count")
for _ = 1, 8 do
	time.sleep(50)
end
after = collectgarbage("count")
T.check(after > before * 0.9, string.format("no collection while busy: %.0f KiB -> %.0f KiB", before, after))

-- Garbage made without allocating: held connections whose memory an idle collection saw live,
-- then closed. Here 2,000 tasks each hold tables through an idle collection and then end;
-- the heap does not grow after that collection, only the ended tasks can ask for another.
-- Their tables hang off an object with a finalizer, as a connection's memory hangs off its
-- userdata: one cycle runs the finalizer and keeps what it references, the next frees it.
collectgarbage("collect")
local base = collectgarbage("count")
local left = 2000
for _ = 1, left do
	task.fork(function()
		local held = setmetatable({}, { __gc = function() end })
		for i = 1, 16 do
			held[i] = { i }
		end
		time.sleep(700)
		left = left - #held // 16
	end)
end
time.sleep(500) -- the idle collection happens while the tasks still hold their tables
while left > 0 do
	time.sleep(50)
end
before = collectgarbage("count")
time.sleep(600)
after = collectgarbage("count")
T.check(
	before - base > 1024 and after - base < (before - base) / 4,
	string.format("ended tasks collected: %.0f KiB at start, %.0f KiB when they ended, %.0f KiB after", base, before, after)
)
-- The idle collection also gives back the room a peak of sockets and timers left (the socket
-- table loses its empty end): sockets opened afterwards are still watched, timers still fire.
local tcp = require "silly.net.tcp"
local echo = assert(tcp.listen({
	addr = "127.0.0.1:0",
	accept = function(c)
		local line = c:readline("\n")
		if line then
			c:write(line)
		end
		c:close()
	end,
}))
local conns, timers = {}, {}
for i = 1, 300 do
	conns[i] = assert(tcp.connect(echo:localaddr()))
	timers[i] = time.after(60000, function() end)
end
for i = 1, 300 do
	conns[i]:close()
	time.cancel(timers[i])
end
conns, timers = nil, nil
time.sleep(700) -- 300 ended tasks: an idle collection is owed, and it runs
local c = assert(tcp.connect(echo:localaddr()))
assert(c:write("after the shrink\n"))
T.eq(c:readline("\n"), "after the shrink\n", "a socket opened after the idle collection is served")
c:close()
local fired = false
time.after(10, function()
	fired = true
end)
time.sleep(100)
T.check(fired, "a timer armed after the idle collection fires")
echo:close()
T.done()
