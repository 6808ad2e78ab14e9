-- The smallest test: the helper itself, a fork and a sleep.
local T = require "testaux"
local task = require "silly.task"
local time = require "silly.time"
T.limit(5000)
local ran = false
task.fork(function() ran = true end)
time.sleep(1)
T.check(ran, "forked task ran")
T.done()
