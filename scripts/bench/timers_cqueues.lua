-- Benchmark: timers on lua5.4 + cqueues, the peer of timers.lua. N timers (default 100,000)
-- with delays spread over 0..99 ms, every other block of 100 cancelled (half of them), clock
-- stopped when the last live timer has fired.
-- Run: lua5.4 scripts/bench/timers_cqueues.lua [N]
-- Prints one line: "BENCH timers elapsed_ms=<float> arm_ms=<float> fired=<count> n=<N>".
--
-- cqueues has no cancellable timer. The equivalent used here: one coroutine per timer that
-- calls cqueues.sleep(delay) and, on waking, runs the callback unless its cancel flag is set;
-- cancelling is setting the flag. This is the cheapest cancel cqueues allows (a cancelled
-- coroutine still wakes once at its deadline, but pays no condition variable or extra object),
-- so it favours cqueues. Coroutines attached with cq:wrap start on the controller's first
-- step, which is inside the measured time, so arm_ms (attach + cancel) is not comparable with
-- silly's; elapsed_ms is.
local cqueues = require "cqueues"

local N = math.tointeger(tonumber(arg[1])) or 100000
local monotime = cqueues.monotime
local sleep = cqueues.sleep

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
local cancel_flag = {}

local function on_timer(i)
	if cancelled(i) then
		wrong = wrong + 1
	end
	fired = fired + 1
	if fired == expect then
		elapsed = (monotime() - t0) * 1000
	end
end

local function timer(i, delay)
	sleep(delay)
	if not cancel_flag[i] then
		on_timer(i)
	end
end

local cq = cqueues.new()
t0 = monotime()
for i = 1, N do
	cq:wrap(timer, i, (i % 100) / 1000)
end
for i = 1, N do
	if cancelled(i) then
		cancel_flag[i] = true
	end
end
arm_ms = (monotime() - t0) * 1000
assert(cq:loop())

-- Outside the measured time: every coroutine has finished, check the count.
assert(wrong == 0, wrong .. " cancelled timers fired")
assert(fired == expect, "fired " .. fired .. ", expected " .. expect)
print(string.format("BENCH timers elapsed_ms=%.3f arm_ms=%.3f fired=%d n=%d",
	elapsed, arm_ms, fired, N))
