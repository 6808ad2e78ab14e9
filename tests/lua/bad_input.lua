-- Bad arguments across the core modules (docs/README.md#errors): programmer errors raise with a clear
-- "bad argument" message, lookups and cancels of garbage are silent, nothing crashes the runtime.
local T = require "testaux"
local silly = require "silly"
local task = require "silly.task"
local time = require "silly.time"
local logger = require "silly.logger"
local env = require "silly.env"
local errno = require "silly.errno"
local signal = require "silly.signal"
local channel = require "silly.sync.channel"
local mutex = require "silly.sync.mutex"
local waitgroup = require "silly.sync.waitgroup"

T.limit(5000)

-- task
T.raises("^BUG: wakeup on task stat:nil$", "wakeup(number)", task.wakeup, 1)
T.raises("^BUG: wakeup on task stat:nil$", "wakeup(string)", task.wakeup, "x")
T.raises("^BUG: wakeup on task stat:nil$", "wakeup(function)", task.wakeup, print)
T.eq(task.status(1), nil, "status(number)")
T.eq(task.status("RUN"), nil, "status(string)")
T.eq(task.status(print), nil, "status(function)")

-- time
T.raises("^bad argument #1 to 'sleep' %(number expected, got boolean%)$", "sleep(true)", time.sleep, true)
T.raises("^bad argument #1 to 'sleep' %(number expected, got function%)$", "sleep(print)", time.sleep, print)
T.raises("^bad argument #1 to 'after' %(number expected, got nil%)$", "after(nil, fn)", time.after, nil, print)
T.raises("^bad argument #2 to 'after' %(function expected, got string%)$", "after(1, 'f')", time.after, 1, "f")
T.raises("no integer representation", "sleep(0.5)", time.sleep, 0.5)
T.raises("no integer representation", "sleep('1.5')", time.sleep, "1.5")
T.raises("no integer representation", "sleep(NaN)", time.sleep, 0 / 0)
T.raises("no integer representation", "sleep(inf)", time.sleep, math.huge)
T.raises("expire too large", "sleep(math.maxinteger)", time.sleep, math.maxinteger)
T.raises("expire too large", "sleep(2^32 as a string)", time.sleep, "4294967296")
for _, v in ipairs({ true, "x", {}, 1.5, -1, math.maxinteger }) do
	T.check(pcall(time.cancel, v), "cancel(" .. tostring(v) .. ") is silent")
end

-- silly
T.raises("^bad argument #1 to 'exit' %(number expected, got string%)$", "exit('0')", silly.exit, "0")
T.raises("^bad argument #1 to 'exit' %(number expected, got boolean%)$", "exit(true)", silly.exit, true)
local ok = silly.pcall(42)
T.eq(ok, false, "silly.pcall of a non-function returns false")

-- logger
T.raises("invalid option '%%d' to 'format', only support '%%s'", "infof('%d')", logger.infof, "%d", 1)
T.raises("invalid option '%%x' to 'format'", "errorf('%x')", logger.errorf, "%x", 1)
T.raises("invalid option '%%\0' to 'format'", "a lone trailing % reports NUL", logger.infof, "abc%")
T.raises("no value", "infof('%s') without argument", logger.infof, "%s")
T.raises("no value", "infof('%s %s') with one argument", logger.infof, "%s %s", 1)
T.raises("string expected, got nil", "infof(nil)", logger.infof, nil)
T.raises("string expected, got table", "infof({})", logger.infof, {})
-- hidden levels never raise
T.check(pcall(logger.debugf, "%d"), "a hidden level ignores a bad format")
T.check(pcall(logger.debugf, "%s"), "a hidden level ignores a missing value")
T.raises("setlevel", "setlevel('x') raises", logger.setlevel, "x")
T.raises("setlevel", "setlevel(nil) raises", logger.setlevel, nil)
T.raises("setlevel", "setlevel(7) raises", logger.setlevel, 7)
T.raises("setlevel", "setlevel(-1) raises", logger.setlevel, -1)
T.eq(logger.getlevel(), logger.INFO, "failed setlevel calls changed nothing")
T.check(logger.info ~= logger.debug, "failed setlevel calls did not rebind the outputs")
T.check(pcall(logger.setlevel, 2.0), "setlevel accepts a float with an integer value")
T.eq(logger.getlevel(), logger.WARN, "setlevel(2.0) set WARN")
logger.setlevel(logger.INFO)

-- env
T.raises("table index is nil", "env.set(nil, v)", env.set, nil, "v")
T.raises("table index is NaN", "env.set(NaN, v)", env.set, 0 / 0, "v")
T.eq(env.get(0 / 0), nil, "env.get(NaN) is nil")
T.eq(type(env.load(nil)), "string", "env.load(nil) returns an error string")
T.eq(type(env.load({})), "string", "env.load(table) returns an error string")

-- errno
T.eq(errno[true], "Unknown error 'true'", "errno[true]")
T.eq(errno[2.5], "Unknown error '2.5'", "errno[2.5]")

-- signal
T.raises("^bad argument #1 to 'signal' %(string expected, got table%)$", "signal({})", signal, {}, print)
T.raises("^bad argument #2 to 'register' %(function expected, got string%)$", "register(name, 'f')",
	signal.register, "SIGUSR1", "f")
T.raises("^bad argument #1 to 'unregister' %(string expected, got number%)$", "unregister(1)", signal.unregister, 1)

-- sync
local ch = channel.new()
local pok, perr = ch:push(nil)
T.check(pok == false and perr == "Nil data", "push(nil) is a value, not an error")
local m = mutex.new()
T.raises("table index is nil", "mutex lock(nil)", m.lock, m, nil)
local wg = waitgroup.new()
local forked = wg:fork(42)
T.eq(type(forked), "thread", "waitgroup fork of a non-function still forks")
wg:wait()
T.eq(wg.count, 0, "the failed child was counted down")

T.done()
