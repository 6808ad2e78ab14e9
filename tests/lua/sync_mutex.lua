-- Contract of silly.sync.mutex (docs/sync.md#mutex): keyed, reentrant locks with FIFO hand-off (no
-- barging), proxies that unlock once, and `<close>` unlocking, also when the task errors.
local T = require "testaux"
local mutex = require "silly.sync.mutex"
local task = require "silly.task"
local time = require "silly.time"

T.limit(5000)

local sleep = time.sleep
local fork = task.fork
local concat = table.concat

local m = mutex.new()

-- a free lock is taken without yielding
local ran = false
fork(function()
	ran = true
end)
local p1 = m:lock("k")
T.check(not ran, "locking a free key does not yield")
T.eq(type(p1), "table", "lock returns a proxy")
T.eq(type(p1.unlock), "function", "the proxy has unlock")

-- reentrant: the owner locks again without blocking, each lock its own proxy
local p2 = m:lock("k")
T.check(p2 ~= p1, "every lock returns a distinct proxy")
T.check(not ran, "a reentrant lock does not yield")
sleep(0)

-- another task blocks until every level is released
local order = {}
fork(function()
	local l = m:lock("k")
	order[#order + 1] = "other"
	l:unlock()
end)
sleep(5)
T.eq(#order, 0, "another task blocks while the key is held")
p2:unlock()
sleep(5)
T.eq(#order, 0, "still held after releasing one of two levels")
p2:unlock()
sleep(5)
T.eq(#order, 0, "a second unlock of the same proxy is a no-op")
p1:unlock()
T.eq(#order, 0, "hand-off does not run the waiter synchronously")
sleep(0)
T.eq(concat(order, ","), "other", "the waiter gets the lock after the last level is released")

-- keys are independent; the same key in another mutex does not conflict
local m2 = mutex.new()
local a = m:lock("x")
local b = m:lock("y")
local c = m2:lock("x")
T.check(a and b and c, "different keys and different mutexes do not block")
a:unlock()
b:unlock()
c:unlock()

-- FIFO hand-off to waiters, no barging by a later caller
order = {}
local holder = m:lock("f")
for i = 1, 3 do
	fork(function()
		local l = m:lock("f")
		order[#order + 1] = i
		sleep(1)
		l:unlock()
	end)
end
sleep(0)
holder:unlock()
-- the lock is already handed to waiter 1: locking now queues behind all three waiters
local late = m:lock("f")
order[#order + 1] = "late"
late:unlock()
T.eq(concat(order, ","), "1,2,3,late", "waiters get the lock in FIFO order, a later caller waits its turn")

-- <close> unlocks at scope exit
do
	local _ <close> = m:lock("c")
end
local free_after_close = false
fork(function()
	local l <close> = m:lock("c")
	free_after_close = true
end)
sleep(0)
T.check(free_after_close, "<close> unlocked at scope exit")

-- <close> unlocks when the task errors
local m3 = mutex.new()
fork(function()
	local _ <close> = m3:lock("e")
	sleep(1)
	error("task dies holding the lock")
end)
sleep(0)
local got_it = false
fork(function()
	local l <close> = m3:lock("e")
	got_it = true
end)
sleep(20)
T.check(got_it, "a task that errors releases its <close> lock")

-- <close> unlocks when an error is caught by pcall in the same task
local m4 = mutex.new()
local okp = pcall(function()
	local _ <close> = m4:lock("p")
	error("caught")
end)
T.eq(okp, false, "the error was caught")
local other_got = false
fork(function()
	local l <close> = m4:lock("p")
	other_got = true
end)
sleep(0)
T.check(other_got, "a pcall-caught error releases the <close> lock")

-- reentrant with <close>: inner scope exit keeps the outer level
local m5 = mutex.new()
local inner_blocked = true
do
	local _ <close> = m5:lock("r")
	do
		local _ <close> = m5:lock("r")
	end
	fork(function()
		local l <close> = m5:lock("r")
		inner_blocked = false
	end)
	sleep(2)
	T.check(inner_blocked, "the outer level still holds after the inner <close>")
end
sleep(0)
T.check(not inner_blocked, "released after the outer <close>")

-- any task may unlock a proxy it holds
local m6 = mutex.new()
local proxy = m6:lock("any")
fork(function()
	proxy:unlock()
end)
sleep(0)
local after = m6:lock("any")
T.check(after ~= nil, "a proxy unlocked by another task frees the key")
after:unlock()

-- bad keys
T.raises("table index is nil", "lock(nil) raises", m.lock, m, nil)
T.raises("table index is NaN", "lock(NaN) raises", m.lock, m, 0 / 0)
local tk = {}
local pt = m:lock(tk)
T.check(pt ~= nil, "a table can be a key")
pt:unlock()

T.done()
