-- Every argument error of the library, with its exact text and the line it blames: the
-- caller's, so `error` levels stay right wherever a check lives (silly.internal.check).
-- Checks made deep inside the library (a TLS option shaped by a helper of a helper) blame the
-- user's line too: the first caller outside the standard library.
local T = require "testaux"
local silly = require "silly"
local task = require "silly.task"
local time = require "silly.time"
local tcp = require "silly.net.tcp"
local tls = require "silly.net.tls"
local udp = require "silly.net.udp"
local addr = require "silly.net.addr"
local dns = require "silly.net.dns"
local logger = require "silly.logger"
local signal = require "silly.signal"

T.limit(20000)

local rd = T.fixture
local RSA = { cert = rd("server-rsa-chain.crt"), key = rd("server-rsa.key") }
local function noop() end

-- `f` raises `msg` at its own (single) line.
local function E(msg, f)
	local ok, err = pcall(f)
	local info = debug.getinfo(f, "S")
	T.eq(not ok and err, info.short_src .. ":" .. info.linedefined .. ": " .. msg, msg)
end

E("bad argument #1 to 'resume' (thread expected, got number)", function() coroutine.resume(42) end)
E("bad argument #1 to 'exit' (number expected, got string)", function() silly.exit("x") end)
E("bad argument #1 to 'exit' (number has no integer representation)", function() silly.exit(1.5) end)
E("bad argument #1 to 'exit' (number expected, got table)", function() silly.exit({}) end)
E("bad argument #1 to 'sleep' (number expected, got boolean)", function() time.sleep(true) end)
E("bad argument #2 to 'after' (function expected, got string)", function() time.after(1, "f") end)
E("bad argument #1 to 'signal' (string expected, got number)", function() signal(10, noop) end)
E("bad argument #2 to 'register' (function expected, got number)", function() signal.register("SIGUSR1", 5) end)
E("bad argument #1 to 'hook' (function expected, got number)", function() task.hook(1) end)

-- addr
E("bad argument #1 to 'parse' (string expected, got table)", function() addr.parse({}) end)
E("bad argument #2 to 'join' (string expected, got table)", function() addr.join("h", {}) end)
E("bad argument #1 to 'join' (string expected, got table)", function() addr.join({}, 1) end)

-- dns
E("bad argument #1 to 'lookup' (string expected, got nil)", function() dns.lookup(nil, dns.A) end)
E("bad argument #2 to 'resolve' (record type expected, got nil)", function() dns.resolve("a.test") end)
E("bad argument #2 to 'lookup' (record type expected, got 0)", function() dns.lookup("a.test", 0) end)
E("bad argument #3 to 'lookup' (number expected, got table)", function() dns.lookup("a.test", dns.A, {}) end)
E("bad argument #3 to 'resolve' (number has no integer representation)", function() dns.resolve("a.test", dns.A, 1.5) end)
E("bad argument #1 to 'conf' (table expected, got nil)", function() dns.conf() end)
E("bad argument #1 to 'conf' (nameservers: table expected)", function() dns.conf({ nameservers = 1 }) end)
E("bad argument #1 to 'conf' (nameservers: strings expected)", function() dns.conf({ nameservers = { 1 } }) end)
E("bad argument #1 to 'conf' (search: table expected)", function() dns.conf({ search = 1 }) end)
E("bad argument #1 to 'conf' (search: strings expected)", function() dns.conf({ search = { true } }) end)
E("bad argument #1 to 'conf' (timeout: seconds expected)", function() dns.conf({ timeout = 0 / 0 }) end)
E("bad argument #1 to 'conf' (attempts: positive integer expected)", function() dns.conf({ attempts = 0 }) end)
E("bad argument #1 to 'conf' (ndots: integer expected)", function() dns.conf({ ndots = -1 }) end)
E("bad argument #1 to 'sethosts' (string expected, got number)", function() dns.sethosts(1) end)
E("bad argument #1 to 'isname' (string expected, got number)", function() dns.isname(1) end)

-- logger
E("bad argument #1 to 'format' (string expected, got table)", function() logger.errorf({}) end)
E("bad argument #3 to 'format' (no value)", function() logger.errorf("a %s %s", 1) end)
E("invalid option '%d' to 'format', only support '%s'", function() logger.errorf("%d", 1) end)
E("bad argument #1 to 'setlevel' (level 0..3 expected, got 9)", function() logger.setlevel(9) end)
E("bad argument #1 to 'setlevel' (level 0..3 expected, got x)", function() logger.setlevel("x") end)

-- coroutine
E("bad argument #1 to 'resume' (cannot resume a task; use task.wakeup)", function() coroutine.resume(task.running()) end)

-- udp
local u = assert(udp.bind("127.0.0.1:0"))
E("bad argument #1 to 'sendto' (array item 2 is a table)", function() u:sendto({ "a", {} }, "127.0.0.1:9") end)
E("bad argument #1 to 'sendto' (string or table expected, got boolean)", function() u:sendto(true) end)
E("bad argument #1 to 'sendto' (string or table expected, got boolean)", function() udp.sendto(u, true) end)
E("bad argument #1 to 'recvfrom' (number expected, got table)", function() u:recvfrom({}) end)
E("bad argument #2 to 'connect' (opts.bindaddr: string expected)", function() udp.connect("127.0.0.1:9", { bindaddr = 1 }) end)
E("bad argument #2 to 'connect' (table expected, got number)", function() udp.connect("127.0.0.1:9", 1) end)
E("bad argument #1 to 'bind' (string expected, got number)", function() udp.bind(1) end)
u:close()

-- tcp
E("bad argument #1 to 'listen' (table expected, got nil)", function() tcp.listen() end)
E("bad argument #1 to 'listen' (conf.addr: string expected, got nil)", function() tcp.listen({ accept = noop }) end)
E("bad argument #1 to 'listen' (conf.accept: function expected, got nil)", function() tcp.listen({ addr = "127.0.0.1:0" }) end)
E("bad argument #1 to 'listen' (conf.backlog: positive integer expected)", function() tcp.listen({ addr = "127.0.0.1:0", accept = noop, backlog = 0 }) end)
E("bad argument #1 to 'connect' (string expected, got nil)", function() tcp.connect(nil) end)
E("bad argument #2 to 'connect' (table expected, got number)", function() tcp.connect("127.0.0.1:1", 5) end)
E("bad argument #2 to 'connect' (number expected, got table)", function() tcp.connect("127.0.0.1:1", { timeout = {} }) end)
E("bad argument #2 to 'connect' (opts.bind: string expected)", function() tcp.connect("127.0.0.1:1", { bind = 1 }) end)

local tl = assert(tcp.listen({
	addr = "127.0.0.1:0",
	accept = function(c)
		c:read(1) -- until the client closes
		c:close()
	end,
}))
local c = assert(tcp.connect(tl:localaddr()))
E("bad argument #1 to 'write' (array item 2 is a table)", function() c:write({ "a", {} }) end)
E("bad argument #1 to 'write' (string or table expected, got boolean)", function() c:write(true) end)
E("bad argument #1 to 'write' (string or table expected, got boolean)", function() tcp.write(c, true) end)
E("bad argument #1 to 'read' (integer or delimiter string expected, got boolean)", function() c:read(true) end)
E("bad argument #1 to 'read' (delimiter must not be empty)", function() c:read("") end)
E("bad argument #1 to 'read' (number has no integer representation)", function() c:read(0 / 0) end)
E("bad argument #2 to 'read' (number expected, got table)", function() c:read(1, {}) end)
E("bad argument #1 to 'readline' (delimiter must not be empty)", function() c:readline("") end)
E("bad argument #2 to 'readline' (number expected, got string)", function() c:readline("\n", "x") end)
E("bad argument #1 to 'flush' (number expected, got table)", function() c:flush({}) end)
E("bad argument #1 to 'limit' (number expected, got table)", function() c:limit({}) end)
E("bad argument #1 to 'limit' (number has no integer representation)", function() tcp.limit(c, 1.5) end)
task.fork(function() c:read(1) end)
time.sleep(10)
E("read: another task is already reading from this connection", function() c:read(1) end)
E("read: another task is already reading from this connection", function() c:readline() end)
c:close()
tl:close()

-- tls
local function L(extra)
	local conf = { addr = "127.0.0.1:0", accept = noop, certs = { RSA } }
	for k, v in pairs(extra) do
		conf[k] = v
	end
	return conf
end
E("bad argument #1 to 'listen' (table expected, got nil)", function() tls.listen() end)
E("bad argument #1 to 'listen' (conf.addr: string expected, got nil)", function() tls.listen({ accept = noop, certs = { RSA } }) end)
E("bad argument #1 to 'listen' (conf.accept: function expected, got nil)", function() tls.listen({ addr = "127.0.0.1:0", certs = { RSA } }) end)
E("bad argument #1 to 'listen' (conf.certs: array of {cert, key} expected, got nil)", function() tls.listen({ addr = "127.0.0.1:0", accept = noop }) end)
E("bad argument #1 to 'listen' (conf.backlog: positive integer expected)", function() tls.listen(L({ backlog = 1.5 })) end)
E("bad argument #1 to 'listen' (conf.certs: array of {cert, key} expected, got number)", function() tls.listen(L({ certs = 1 })) end)
E("bad argument #1 to 'listen' (conf.certs: must not be empty)", function() tls.listen(L({ certs = {} })) end)
E("bad argument #1 to 'listen' (conf.certs[1]: table expected, got number)", function() tls.listen(L({ certs = { 1 } })) end)
E("bad argument #1 to 'listen' (conf.certs[1].key: string expected, got number)", function() tls.listen(L({ certs = { { cert = "x", key = 1 } } })) end)
E("bad argument #1 to 'listen' (conf.certs[1]: 'cert' or 'certfile' required)", function() tls.listen(L({ certs = { { key = "x" } } })) end)
E("bad argument #1 to 'listen' (conf.certs[1]: 'key' or 'keyfile' required)", function() tls.listen(L({ certs = { { cert = "x" } } })) end)
E("bad argument #1 to 'listen' (conflicting options 'alpnprotos' and 'alpn')", function() tls.listen(L({ alpn = "a", alpnprotos = { "b" } })) end)
E("bad argument #1 to 'listen' (alpnprotos: array of strings expected, got number)", function() tls.listen(L({ alpnprotos = 1 })) end)
E("bad argument #1 to 'listen' (alpnprotos[1]: string expected, got number)", function() tls.listen(L({ alpnprotos = { 1 } })) end)
E("bad argument #1 to 'listen' (ciphers: string expected, got number)", function() tls.listen(L({ ciphers = 1 })) end)
E("bad argument #1 to 'listen' (ca: string or array of strings expected, got number)", function() tls.listen(L({ ca = 1 })) end)
E("bad argument #1 to 'listen' (ca[1]: string expected, got number)", function() tls.listen(L({ ca = { 1 } })) end)
E("bad argument #1 to 'listen' (verify: false, true, \"optional\" or \"none\" expected)", function() tls.listen(L({ verify = "x" })) end)
E("bad argument #1 to 'listen' (handshaketimeout: non-negative integer expected)", function() tls.listen(L({ handshaketimeout = -1 })) end)

local sl = assert(tls.listen(L({})))
E("bad argument #1 to 'reload' (table expected, got number)", function() sl:reload(5) end)
E("bad argument #1 to 'reload' (table expected, got number)", function() tls.reload(sl, 5) end)
E("bad argument #1 to 'reload' (conf.certs: must not be empty)", function() sl:reload({ certs = {} }) end)
E("bad argument #1 to 'reload' (alpnprotos[1]: string expected, got number)", function() sl:reload({ alpnprotos = { 1 } }) end)
E("bad argument #1 to 'reload' (verify: false, true, \"optional\" or \"none\" expected)", function() sl:reload({ verify = 7 }) end)
E("bad argument #1 to 'reload' (handshaketimeout: non-negative integer expected)", function() sl:reload({ handshaketimeout = 1.5 }) end)
E("bad argument #1 to 'reload' (conflicting options 'alpnprotos' and 'alpn')", function() sl:reload({ alpn = "a", alpnprotos = "b" }) end)
E("tls.reload expects a tls conn or listener object", function() tls.reload(5) end)
E("tls.close expects a tls conn or listener object", function() tls.close(5) end)
E("tls.read expects a tls conn or listener object", function() tls.read(5, 1) end)

local A = sl:localaddr()
E("bad argument #1 to 'connect' (string expected, got nil)", function() tls.connect(nil) end)
E("bad argument #2 to 'connect' (table expected, got number)", function() tls.connect(A, 1) end)
E("bad argument #2 to 'connect' (conflicting options 'hostname' and 'server')", function() tls.connect(A, { hostname = "a", server = "b" }) end)
E("bad argument #2 to 'connect' (opts.hostname: string expected, got number)", function() tls.connect(A, { hostname = 1 }) end)
E("bad argument #2 to 'connect' (number expected, got table)", function() tls.connect(A, { timeout = {} }) end)
E("bad argument #2 to 'connect' (opts.bind: string expected)", function() tls.connect(A, { bind = 1 }) end)
E("bad argument #2 to 'connect' (opts.verify: boolean, \"peer\" or \"none\" expected)", function() tls.connect(A, { verify = 1 }) end)
E("bad argument #2 to 'connect' (opts.insecure: boolean expected)", function() tls.connect(A, { insecure = 1 }) end)
E("bad argument #2 to 'connect' (conflicting options 'verify' and 'insecure')", function() tls.connect(A, { verify = true, insecure = true }) end)
E("bad argument #2 to 'connect' (conflicting options 'alpnprotos' and 'alpn')", function() tls.connect(A, { insecure = true, alpn = "a", alpnprotos = "b" }) end)
E("bad argument #2 to 'connect' (alpnprotos: array of strings expected, got number)", function() tls.connect(A, { insecure = true, alpn = 1 }) end)
E("bad argument #2 to 'connect' (alpnprotos[2]: string expected, got boolean)", function() tls.connect(A, { insecure = true, alpnprotos = { "a", false } }) end)
E("bad argument #2 to 'connect' (ciphers: string expected, got number)", function() tls.connect(A, { insecure = true, ciphers = 1 }) end)
E("bad argument #2 to 'connect' (ca: string or array of strings expected, got number)", function() tls.connect(A, { ca = 1 }) end)
E("bad argument #2 to 'connect' (ca[2]: string expected, got number)", function() tls.connect(A, { ca = { "x", 1 } }) end)
E("bad argument #2 to 'connect' (cafile: string expected, got number)", function() tls.connect(A, { cafile = 1 }) end)
E("bad argument #2 to 'connect' (cert: string expected, got number)", function() tls.connect(A, { insecure = true, cert = 1 }) end)
E("bad argument #2 to 'connect' (keyfile: string expected, got table)", function() tls.connect(A, { insecure = true, keyfile = {} }) end)

local tc = assert(tls.connect(A, { insecure = true }))
E("bad argument #1 to 'write' (array item 2 is a table)", function() tc:write({ "a", {} }) end)
E("bad argument #1 to 'write' (string or table expected, got nil)", function() tc:write(nil) end)
E("bad argument #1 to 'write' (string or table expected, got nil)", function() tls.write(tc, nil) end)
E("bad argument #1 to 'read' (non-negative integer expected)", function() tc:read(-1) end)
E("bad argument #1 to 'read' (non-negative integer expected)", function() tc:read(1.5) end)
E("bad argument #1 to 'read' (delimiter must not be empty)", function() tc:read("") end)
E("bad argument #1 to 'read' (integer or delimiter string expected, got boolean)", function() tc:read(true) end)
E("bad argument #2 to 'read' (number has no integer representation)", function() tc:read(1, -0.5) end)
E("bad argument #1 to 'readline' (delimiter must not be empty)", function() tc:readline("") end)
E("bad argument #1 to 'readline' (integer or delimiter string expected, got boolean)", function() tc:readline(true) end)
E("bad argument #1 to 'flush' (number expected, got string)", function() tc:flush("x") end)
E("bad argument #1 to 'limit' (positive integer or nil expected)", function() tc:limit(0) end)
E("bad argument #1 to 'limit' (positive integer or nil expected)", function() tc:limit(1.5) end)
E("bad argument #1 to 'limit' (positive integer or nil expected)", function() tls.limit(tc, 0) end)
task.fork(function() tc:read(1) end)
time.sleep(10)
E("tls: concurrent read", function() tc:read(1) end)
E("tls: concurrent read", function() tc:readline() end)
tc:close()
sl:close()

-- resume of a coroutine parked in a runtime call
local co = coroutine.create(function() time.sleep(50) end)
task.fork(function() coroutine.resume(co) end)
time.sleep(5)
E("bad argument #1 to 'resume' (cannot resume a coroutine suspended in a runtime call)", function() coroutine.resume(co) end)
time.sleep(100)
T.done()
