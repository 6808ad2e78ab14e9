-- The loop collects Lua garbage once it has had nothing to do for a moment (ARCHITECTURE.md,
-- "The event loop"): Lua's own collector is paced by allocation, so without this the garbage
-- of connections that closed stays while a server waits for new ones.
local T = require "testaux"
local time = require "silly.time"
T.limit(5000)

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
T.done()
