-- Benchmark: task ping-pong on silly. Two tasks wake each other N times (default 1,000,000
-- round trips, i.e. 2N task.wakeup/task.wait switches) with task.wait/task.wakeup.
-- Peer: pingpong_cqueues.lua. Run: ./target/release/silly scripts/bench/pingpong.lua [N]
-- Prints one line: "BENCH pingpong elapsed_ms=<float> n=<N>" (start-up not included).
local task = require "silly.task"
local time = require "silly.time"

local N = math.tointeger(tonumber(arg[1])) or 1000000
local wait = task.wait
local wakeup = task.wakeup
local monotonic = time.monotonic

local ping_task, pong_task
local pongs = 0
local t0

-- The pong side parks first, so each wakeup finds its target in "WAIT".
pong_task = task.fork(function()
	for _ = 1, N do
		wait()
		pongs = pongs + 1
		wakeup(ping_task)
	end
end)

ping_task = task.fork(function()
	t0 = monotonic()
	for _ = 1, N do
		wakeup(pong_task)
		wait()
	end
	local elapsed = monotonic() - t0
	assert(pongs == N, "lost wake-ups: " .. pongs)
	print(string.format("BENCH pingpong elapsed_ms=%.3f n=%d", elapsed, N))
end)
