-- Contract of silly.sync.channel (docs/sync.md#channel): an unbounded MPSC queue; nil/false refused,
-- hand-off to a blocked popper, drain after close, one popper only, close reasons, clear.
local T = require "testaux"
local channel = require "silly.sync.channel"
local task = require "silly.task"
local time = require "silly.time"

T.limit(5000)

local sleep = time.sleep
local fork = task.fork
local concat = table.concat

-- push refuses nil and false
local ch = channel.new()
local ok, err = ch:push(nil)
T.check(ok == false and err == "Nil data", "push(nil) -> false, 'Nil data'")
ok, err = ch:push(false)
T.check(ok == false and err == "Nil data", "push(false) -> false, 'Nil data'")

-- FIFO, without blocking
for i = 1, 5 do
	ok, err = ch:push(i)
	T.check(ok == true and err == nil, "push " .. i .. " -> true")
end
local got = {}
for _ = 1, 5 do
	local v, e = ch:pop()
	got[#got + 1] = tostring(v) .. (e == nil and "" or "!")
end
T.eq(concat(got, ","), "1,2,3,4,5", "pop returns items in FIFO order with nil error")

-- drain after close, then the reason
ch:push("a")
ch:push("b")
ch:close("bye")
ok, err = ch:push("c")
T.check(ok == false and err == "bye", "push after close -> false, reason")
local v, e = ch:pop()
T.check(v == "a" and e == nil, "first queued item after close")
v, e = ch:pop()
T.check(v == "b" and e == nil, "second queued item after close")
v, e = ch:pop()
T.check(v == nil and e == "bye", "empty and closed -> nil, reason")
v, e = ch:pop()
T.check(v == nil and e == "bye", "again nil, reason")

-- default reason, replaced reason, table reason by identity
local c2 = channel.new()
c2:close()
v, e = c2:pop()
T.check(v == nil and e == "channel closed", "default reason is 'channel closed'")
c2:close("second")
v, e = c2:pop()
T.eq(e, "second", "closing again replaces the reason")
local reason = {}
c2:close(reason)
ok, err = c2:push(1)
T.eq(err, reason, "a table reason is returned by identity")

-- a blocked popper gets the pushed item directly
local c3 = channel.new()
local popped = {}
fork(function()
	while true do
		local x, why = c3:pop()
		popped[#popped + 1] = tostring(x) .. "/" .. tostring(why)
		if x == nil then
			break
		end
	end
end)
sleep(0)
T.eq(#popped, 0, "the popper is blocked on an empty channel")
ok = c3:push("one")
T.eq(ok, true, "push to a blocked popper returns true")
T.eq(#popped, 0, "push does not run the popper synchronously")
sleep(0)
T.eq(popped[1], "one/nil", "the popper got exactly the pushed item")
c3:push("two")
c3:push("three")
sleep(0)
T.eq(concat(popped, ","), "one/nil,two/nil,three/nil", "items pushed in a row arrive in order")

-- a second popper gets nil, "Channel is mpsc" without yielding
local ran = false
fork(function()
	ran = true
end)
v, e = c3:pop()
T.check(v == nil and e == "Channel is mpsc", "second popper -> nil, 'Channel is mpsc'")
T.check(not ran, "the refused pop did not yield")

-- close wakes the blocked popper with the reason current when it resumes
c3:close("first reason")
c3:close("final reason")
sleep(0)
T.eq(popped[#popped], "nil/final reason", "close wakes the popper with the current reason")

-- clear drops items, does not close, keeps a popper blocked
local c4 = channel.new()
c4:push(1)
c4:push(2)
c4:clear()
local c4_got
fork(function()
	c4_got = { c4:pop() }
end)
sleep(0)
T.eq(c4_got, nil, "after clear the channel is empty and the popper blocks")
c4:clear()
sleep(0)
T.eq(c4_got, nil, "clear keeps the popper blocked")
c4:push(3)
sleep(0)
T.eq(c4_got and c4_got[1], 3, "clear did not close: a later push arrives")

-- many producers, one consumer: every item arrives once
local c5 = channel.new()
local total, count = 0, 0
local consumer_done = false
fork(function()
	while true do
		local x = c5:pop()
		if x == nil then
			break
		end
		total = total + x
		count = count + 1
	end
	consumer_done = true
end)
local producers = 0
for p = 1, 4 do
	fork(function()
		for i = 1, 25 do
			c5:push(p * 1000 + i)
			if i % 5 == 0 then
				sleep(1)
			end
		end
		producers = producers + 1
	end)
end
while producers < 4 do
	sleep(1)
end
c5:close()
while not consumer_done do
	sleep(1)
end
T.eq(count, 100, "every item arrived")
T.eq(total, (1000 + 2000 + 3000 + 4000) * 25 + 4 * (25 * 26 // 2), "every item arrived once")

-- any value but nil/false can travel
local c6 = channel.new()
local tv = {}
c6:push(0)
c6:push("")
c6:push(tv)
T.eq(c6:pop(), 0, "0 travels")
T.eq(c6:pop(), "", "the empty string travels")
T.eq(c6:pop(), tv, "a table travels by identity")

T.done()
