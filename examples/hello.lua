#!/usr/bin/env silly
-- Run: ./target/release/silly examples/hello.lua        (or: make demo)
--
-- A tour of the runtime in one screen: tasks, timers, a channel between a producer and a
-- consumer, and a wait group. Code reads top to bottom as if it were blocking; each wait
-- suspends only the task that makes it.
local task = require "silly.task"
local time = require "silly.time"
local channel = require "silly.sync.channel"
local waitgroup = require "silly.sync.waitgroup"

local ch = channel.new()
local wg = waitgroup.new()

wg:fork(function()
	for i = 1, 3 do
		time.sleep(100)
		print(string.format("[%4d ms] producer: sending job %d", time.monotonic(), i))
		ch:push("job " .. i)
	end
	ch:close("no more jobs")
end)

wg:fork(function()
	while true do
		local job, err = ch:pop()
		if not job then
			print(string.format("[%4d ms] consumer: channel closed (%s)", time.monotonic(), err))
			break
		end
		print(string.format("[%4d ms] consumer: got %s", time.monotonic(), job))
	end
end)

time.after(150, function()
	print(string.format("[%4d ms] a timer fired in its own task", time.monotonic()))
end)

wg:wait()
print("all tasks done; the process exits by itself when nothing is left to do")
