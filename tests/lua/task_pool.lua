-- Connection handlers run on pooled coroutines (docs/task.md#running): once a handler has
-- returned, or raised, its coroutine carries the next one; a `task.fork` coroutine never does.
local T = require "testaux"
local task = require "silly.task"
local tcp = require "silly.net.tcp"
local time = require "silly.time"
T.limit(8000)

local seen, ended = {}, 0
local listener = assert(tcp.listen({
	addr = "127.0.0.1:0",
	accept = function(c)
		seen[#seen + 1] = task.running()
		local n = #seen
		local line = c:readline("\n")
		c:write(line or "")
		c:close()
		ended = ended + 1
		if n == 1 then
			error("the first handler raises") -- logged; its coroutine still ends normally
		end
	end,
}))

-- One connection at a time, each handler ended before the next connects.
local function once(text)
	local want = ended + 1
	local c = assert(tcp.connect(listener:localaddr()))
	assert(c:write(text .. "\n"))
	local got = c:readline("\n")
	c:close()
	while ended < want do
		time.sleep(5)
	end
	time.sleep(5) -- the task's end comes after its last line
	return got
end

T.eq(once("one"), "one\n", "first answer")
T.eq(once("two"), "two\n", "second answer, after a handler that raised")
T.check(seen[2] == seen[1], "the second handler ran on the first one's coroutine")

local forked
local done = false
forked = task.fork(function()
	done = true
end)
while not done do
	time.sleep(5)
end
time.sleep(5)
T.eq(once("three"), "three\n", "third answer")
T.check(seen[3] ~= forked, "a forked task's coroutine is not reused")
T.check(seen[3] == seen[1], "the pooled coroutine serves on")
listener:close()
T.done()
