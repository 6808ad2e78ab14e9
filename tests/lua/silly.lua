-- Contract of the core module `silly` (docs/silly.md, docs/cli.md#process-lifetime): fields, genid, pcall,
-- error, and exit (argument check in process; status codes in child processes).
local T = require "testaux"
local silly = require "silly"
local time = require "silly.time"

T.limit(20000)

-- fields
T.eq(math.type(silly.pid), "integer", "pid is an integer")
T.check(silly.pid > 0, "pid is positive")
T.eq(type(silly.version), "string", "version is a string")
T.check(#silly.version > 0, "version is not empty")
T.eq(type(silly.gitsha1), "string", "gitsha1 is a string")
T.eq(type(silly.allocator), "string", "allocator is a string")
T.eq(type(silly.multiplexer), "string", "multiplexer is a string")
T.eq(math.type(silly.timerresolution), "integer", "timerresolution is an integer")

-- genid: 1, 2, 3 ... per process
T.eq(silly.genid(), 1, "genid starts at 1")
T.eq(silly.genid(), 2, "genid counts up")
T.eq(silly.genid(), 3, "genid counts up again")
local last = 3
local steady = true
for _ = 1, 1000 do
	local id = silly.genid()
	if id ~= last + 1 then
		steady = false
	end
	last = id
end
T.check(steady, "genid goes up by one every call")

-- pcall: true and every result, or false and "error: ..." with a traceback
local r = table.pack(silly.pcall(function(a, b)
	return a + b, nil, "x"
end, 1, 2))
T.eq(r.n, 4, "pcall success: all results, nil included")
T.eq(r[1], true, "pcall success: true")
T.eq(r[2], 3, "pcall success: first result")
T.eq(r[4], "x", "pcall success: last result")
local ok, err = silly.pcall(function()
	error("oops")
end)
T.eq(ok, false, "pcall failure: false")
T.match(err, "^error: [^\n]*: oops\nstack traceback:\n", "pcall failure: error: message, then a traceback")
ok, err = silly.pcall(function()
	error("plain", 0)
end)
T.match(err, "^error: plain\nstack traceback:", "pcall: message without position")
ok, err = silly.pcall(function()
	error({})
end)
T.match(err, "^error: table: 0x%x+\nstack traceback:", "pcall: a table error becomes a string")
ok, err = silly.pcall(function()
	error(nil)
end)
T.match(err, "^error: nil\nstack traceback:", "pcall: a nil error becomes 'error: nil'")
ok, err = silly.pcall(function()
	error(42)
end)
T.match(err, "^error: 42\n", "pcall: a number error")
ok, err = silly.pcall(function()
	local t = nil
	return t.x
end)
T.match(err, "^error: .*attempt to index a nil value", "pcall: a runtime error")
T.match(err, "silly%.lua:%d+: in ", "pcall: the traceback names this script")
-- pcall across a suspension
ok, err = silly.pcall(function()
	time.sleep(1)
	return "slept"
end)
T.check(ok and err == "slept", "pcall across a sleep")

-- error: logs, never raises
T.check(pcall(silly.error, "logged by the test"), "silly.error never raises")
T.check(pcall(silly.error, { a = 1 }), "silly.error takes any value")

-- exit: argument check
T.raises("^bad argument #1 to 'exit' %(number expected, got string%)$", "exit('x') raises", silly.exit, "x")
T.raises("^bad argument #1 to 'exit' %(number expected, got table%)$", "exit({}) raises", silly.exit, {})
T.raises("^bad argument #1 to 'exit'", "exit(1.5) raises", silly.exit, 1.5)

-- exit: status codes and effects, in child processes
local exe = arg[-1]

local function child(src)
	local path = os.tmpname()
	local f = assert(io.open(path, "w"))
	f:write(src)
	f:close()
	local p = assert(io.popen("'" .. exe .. "' " .. path .. " 2>/dev/null"))
	local out = p:read("a")
	local _, how, code = p:close()
	os.remove(path)
	return how == "exit" and code or -1, out
end

local code, out = child('require "silly".exit(3)')
T.eq(code, 3, "exit(3) ends with status 3")
code = child('require "silly".exit()')
T.eq(code, 0, "exit() ends with status 0")
code = child('require "silly".exit(257)')
T.eq(code, 1, "exit(257) ends with status 1")
code = child('require "silly".exit(-1)')
T.eq(code, 255, "exit(-1) ends with status 255")
code = child('require "silly".exit(2.0)')
T.eq(code, 2, "exit(2.0) is accepted")
code, out = child([[
local silly = require "silly"
local time = require "silly.time"
local task = require "silly.task"
time.after(1, function() io.write("timer\n") end)
task.fork(function() io.write("forked\n") end)
io.write("before\n")
silly.exit(5)
io.write("after\n")
]])
T.eq(code, 5, "exit from the main chunk with work pending")
T.eq(out, "before\n", "exit: nothing after it runs, no queued task or timer runs")
code, out = child([[
local silly = require "silly"
local task = require "silly.task"
local time = require "silly.time"
task.fork(function() time.sleep(5); io.write("forked exits\n"); silly.exit(7) end)
time.sleep(1000)
io.write("main woke\n")
]])
T.eq(code, 7, "exit from a forked task")
T.eq(out, "forked exits\n", "exit from a forked task ends at once")
code, out = child([[
local silly = require "silly"
local g = coroutine.wrap(function() silly.exit(9) end)
g()
io.write("after\n")
]])
T.eq(code, 9, "exit from inside a nested coroutine")
T.eq(out, "", "exit from inside a nested coroutine ends at once")
code = child([[
warn("a warning")
require "silly".exit(0)
]])
T.eq(code, 1, "exit(0) after a warn() reports 1")
code, out = child([[io.write("done\n")]])
T.eq(code, 0, "a script that just ends exits 0")
T.eq(out, "done\n", "its output is complete")

T.done()
