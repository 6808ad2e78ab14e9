-- A TLS client for tests/it/tls_peers.rs, talking to a Python ssl server.
--
--   silly tests/lua_servers/tls_client.lua --addr=127.0.0.1:PORT --mode=eof|mtls
--
-- eof: reads lines until the stream ends and reports how it ended (a close_notify from the
-- peer must read as EOF while its TCP side is still open). mtls: the same, presenting the
-- test client certificate. Prints "RESULT <mode> key=value ...".
local tls = require "silly.net.tls"
local env = require "silly.env"
local errno = require "silly.errno"
local time = require "silly.time"
local silly = require "silly"

local DIR = "tests/fixtures/certs/"
local function slurp(name)
	local f = assert(io.open(DIR .. name, "rb"))
	local s = f:read("a")
	f:close()
	return s
end

local errname = {}
for _, name in ipairs({ "EOF", "CLOSED", "CONNRESET", "TIMEDOUT", "TLS" }) do
	errname[errno[name]] = name
end

local mode = env.get("mode") or "eof"
local opts = { hostname = "localhost", ca = slurp("ca.crt"), timeout = 10000 }
if mode == "mtls" then
	opts.cert = slurp("client-chain.crt")
	opts.key = slurp("client.key")
end
local conn, err, reason = tls.connect(assert(env.get("addr"), "--addr"), opts)
if not conn then
	print(string.format("RESULT %s connect=false err=%s reason=%s", mode, errname[err] or err,
		(tostring(reason):gsub("%s", "_"))))
	silly.exit(0)
end
conn:write("hello from silly\n")
local lines = {}
local t0 = time.monotonic()
local last
while true do
	local l, rerr = conn:read("\n", 10000)
	if not l then
		last = rerr
		break
	end
	lines[#lines + 1] = l:sub(1, -2)
end
print(string.format("RESULT %s connect=true lines=%s err=%s ms=%d alive=%s", mode,
	table.concat(lines, ","), errname[last] or last, time.monotonic() - t0, tostring(conn:isalive())))
conn:close()
