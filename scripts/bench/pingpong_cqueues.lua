-- Benchmark: task ping-pong on lua5.4 + cqueues, the peer of pingpong.lua. Two coroutines in
-- one controller wake each other N times (default 1,000,000 round trips) with two
-- cqueues.condition variables (cond:signal() / cond:wait()).
-- Run: lua5.4 scripts/bench/pingpong_cqueues.lua [N]
-- Prints one line: "BENCH pingpong elapsed_ms=<float> n=<N>" (start-up not included).
local cqueues = require "cqueues"
local condition = require "cqueues.condition"

local N = math.tointeger(tonumber(arg[1])) or 1000000
local monotime = cqueues.monotime

local cq = cqueues.new()
local ping, pong = condition.new(), condition.new()
local pongs = 0
local turn = "ping"
local t0

-- A condition has no memory (a signal with no waiter is lost) and cqueues starts wrapped
-- coroutines in no promised order, so each side re-checks `turn` around its wait: the usual
-- condition-variable loop. In steady state every wait is exactly one switch, as in silly.
cq:wrap(function()
	for _ = 1, N do
		while turn ~= "pong" do
			ping:wait()
		end
		pongs = pongs + 1
		turn = "ping"
		pong:signal()
	end
end)

cq:wrap(function()
	t0 = monotime()
	for _ = 1, N do
		turn = "pong"
		ping:signal()
		while turn ~= "ping" do
			pong:wait()
		end
	end
	local elapsed = (monotime() - t0) * 1000
	assert(pongs == N, "lost wake-ups: " .. pongs)
	print(string.format("BENCH pingpong elapsed_ms=%.3f n=%d", elapsed, N))
end)

assert(cq:loop())
