-- The registration API of silly.signal (docs/signal.md): both forms share one
-- registry and return the previous handler; unknown names log and return nil; signals the OS
-- will not let us catch raise. Delivery is tested elsewhere, on child processes.
local T = require "testaux"
local signal = require "silly.signal"

T.limit(10000)

local register = signal.register
local unregister = signal.unregister

T.eq(type(register), "function", "signal.register exists")
T.eq(type(unregister), "function", "signal.unregister exists")

local h1 = function() end
local h2 = function() end
local h3 = function() end

-- SIGUSR1 has no Lua handler at start (its default, log reopen, is native: docs/logger.md#output)
T.eq(signal("SIGUSR1", h1), nil, "first registration returns nil")
T.eq(signal("SIGUSR1", h2), h1, "callable form returns the previous handler")
T.eq(register("SIGUSR1", h3), h2, "register sees the callable form's handler")
T.eq(signal("SIGUSR1", h1), h3, "the callable form sees register's handler")
T.eq(unregister("SIGUSR1"), h1, "unregister returns the previous handler")
T.eq(register("SIGUSR1", h2), nil, "after unregister there is no handler")
T.eq(signal("SIGUSR1", nil), h2, "signal(name, nil) unregisters and returns the previous one")
T.eq(signal("SIGUSR1"), nil, "signal(name) without handler: nothing registered")

-- other catchable signals
for _, name in ipairs({ "SIGUSR2", "SIGHUP", "SIGALRM", "SIGTERM", "SIGINT", "SIGQUIT" }) do
	T.eq(register(name, h1), nil, "register " .. name)
	T.eq(unregister(name), h1, "unregister " .. name)
end

-- the OS refuses these
T.raises("Invalid argument %(22%)$", "SIGKILL raises EINVAL", signal, "SIGKILL", h1)
T.raises("Invalid argument %(22%)$", "SIGSTOP raises EINVAL", signal, "SIGSTOP", h1)
T.raises("Invalid argument %(22%)$", "register SIGKILL raises EINVAL", register, "SIGKILL", h1)

-- bad arguments
T.raises("^bad argument #1 to 'signal' %(string expected, got number%)$", "a number name raises", signal, 10, h1)
T.raises("^bad argument #1 to 'register' %(string expected, got nil%)$", "a nil name raises", register, nil, h1)
T.raises("^bad argument #2 to 'signal' %(function expected, got number%)$", "a non-function handler raises",
	signal, "SIGUSR1", 1)
T.eq(signal("SIGUSR1", nil), nil, "the failed calls registered nothing")

-- unknown name: returns nil, logs an error, does not raise
local ok, r = pcall(signal, "SIGNOSUCH", h1)
T.check(ok, "an unknown name does not raise")
T.eq(r, nil, "an unknown name returns nil")
ok, r = pcall(register, "SIGNOSUCH", h1)
T.check(ok and r == nil, "register with an unknown name returns nil")

-- in a child: the ERROR record of an unknown name, and a handler does not keep the process alive
local exe = arg[-1]
local path = os.tmpname()
local f = assert(io.open(path, "w"))
f:write([[
local signal = require "silly.signal"
local r = signal("SIGNOSUCH", function() end)
signal("SIGUSR2", function() end)
signal.register("SIGHUP", function() end)
io.write("returned ", tostring(r), "\n")
]])
f:close()
local p = assert(io.popen("'" .. exe .. "' " .. path .. " 2>&1"))
local out = p:read("a")
local _, how, code = p:close()
os.remove(path)
T.match(out, "%d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d %x+ E [^\n]*%[signal%] sig: SIGNOSUCH not support",
	"an unknown name logs an ERROR record")
T.match(out, "returned nil\n", "child: the unknown name returned nil")
T.eq(how, "exit", "child exited")
T.eq(code, 0, "registered handlers do not keep the process alive")

T.done()
