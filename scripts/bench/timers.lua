-- Benchmark: timers on silly. Arms N time.after timers (default 100,000) with delays spread
-- over 0..99 ms, cancels every other block of 100 (half of them, every delay value in both
-- halves), and stops the clock when the last live timer has fired.
-- Peer: timers_cqueues.lua. Run: ./target/release/silly scripts/bench/timers.lua [N]
-- Prints one line: "BENCH timers elapsed_ms=<float> arm_ms=<float> fired=<count> n=<N>", where
-- elapsed_ms runs from the first arm to the last callback and arm_ms covers arming plus
-- cancelling. A check after the clock stops makes sure no cancelled timer fired late.
local time = require "silly.time"

local N = math.tointeger(tonumber(arg[1])) or 100000
local after = time.after
local cancel = time.cancel
local monotonic = time.monotonic

local function cancelled(i)
	return (i // 100) % 2 == 1
end

local expect = 0
for i = 1, N do
	if not cancelled(i) then
		expect = expect + 1
	end
end

local fired, wrong = 0, 0
local t0, arm_ms, elapsed

local function on_timer(i)
	if cancelled(i) then
		wrong = wrong + 1
	end
	fired = fired + 1
	if fired == expect then
		elapsed = monotonic() - t0
	end
end

t0 = monotonic()
local sessions = {}
for i = 1, N do
	sessions[i] = after(i % 100, on_timer, i)
end
for i = 1, N do
	if cancelled(i) then
		cancel(sessions[i])
	end
end
arm_ms = monotonic() - t0

-- Outside the measured time: well after the last deadline, check the count.
after(300, function()
	assert(wrong == 0, wrong .. " cancelled timers fired")
	assert(fired == expect, "fired " .. fired .. ", expected " .. expect)
	print(string.format("BENCH timers elapsed_ms=%.3f arm_ms=%.3f fired=%d n=%d",
		elapsed, arm_ms, fired, N))
end)
