-- An HTTP server for tests/it/http_peers.rs, driven there by curl and Python.
--
--   silly tests/lua_servers/http_peer.lua [--tls=1] [--hto=MS] [--ito=MS] [--maxbody=N]
--         [--maxhead=N] [--bto=MS] [--h2c=0]
--
-- Prints "LISTEN <addr>". The path picks the behaviour: /hello, /echo (the body back),
-- /info (what the server parsed, one "key=value" per line), /chunked (a chunked response
-- with a trailer), /raise, /forget, /split (a field with CR LF), /partial (fewer bytes than
-- its content-length), /read4 (reads 4 bytes of the body, then answers), /raisemid (raises
-- after part of the body was sent), /goaway (closes the listener, then answers 200 ms later),
-- /stall (answers after 500 ms without reading the body), /big?n=N (N bytes in one write,
-- then prints "BIG <ok> <err>"), /blob?n=N (N bytes of the pattern `blob_byte` gives, in
-- writes of uneven sizes), /page (an HTML page linking to assets).
local http = require "silly.net.http"
local env = require "silly.env"
local silly = require "silly"
local task = require "silly.task"
local time = require "silly.time"

local function slurp(name)
	local f = assert(io.open("tests/fixtures/certs/" .. name, "rb"))
	local s = f:read("a")
	f:close()
	return s
end

local function flat(v)
	if type(v) == "table" then
		return table.concat(v, "|")
	end
	return tostring(v)
end

local routes = {}
local listener

function routes.hello(s)
	s:respond(200, { ["content-type"] = "text/plain", ["content-length"] = 6 })
	s:closewrite("hello\n")
end

function routes.echo(s)
	local body, err = s:readall()
	if not body then
		s:respond(400, { ["content-length"] = #err })
		return s:closewrite(err)
	end
	s:closewrite(body)
end

function routes.info(s)
	local body = s:readall() or "<error>"
	local lines = {
		"method=" .. s.method,
		"path=" .. s.path,
		"version=" .. s.version,
		"scheme=" .. s.scheme,
		"body=" .. body,
	}
	local keys = {}
	for k in pairs(s.query) do
		keys[#keys + 1] = k
	end
	table.sort(keys)
	for _, k in ipairs(keys) do
		lines[#lines + 1] = "query." .. k .. "=" .. flat(s.query[k])
	end
	for _, k in ipairs({ "host", "x-multi", "content-type", "cookie" }) do
		if s.header[k] then
			lines[#lines + 1] = "header." .. k .. "=" .. flat(s.header[k])
		end
	end
	for k, v in pairs(s.trailer or {}) do
		lines[#lines + 1] = "trailer." .. k .. "=" .. flat(v)
	end
	s:closewrite(table.concat(lines, "\n") .. "\n")
end

function routes.chunked(s)
	s:respond(200, { ["content-type"] = "text/plain" })
	s:write("one\n")
	s:write("two\n")
	s:closewrite("three\n", { ["x-checksum"] = "abc" })
end

function routes.raise()
	error("handler failure on purpose")
end

function routes.forget() end

function routes.split(s)
	s:respond(200, { ["x-evil"] = "a\r\nset-cookie: stolen=1" })
	s:closewrite("unreachable")
end

function routes.partial(s)
	s:respond(200, { ["content-length"] = 10 })
	s:closewrite("short")
end

function routes.read4(s)
	local got = s:read(4)
	s:closewrite("got " .. tostring(got) .. "\n")
end

function routes.raisemid(s)
	s:respond(200)
	s:write("partial")
	s:flush()
	error("handler failure after the response began")
end

function routes.goaway(s)
	task.fork(function()
		listener:close()
	end)
	time.sleep(200)
	s:closewrite("answered after close\n")
end

function routes.stall(s)
	time.sleep(500)
	s:closewrite("stalled\n")
end

function routes.big(s)
	local ok, err = s:write(string.rep("b", tonumber(s.query.n) or 102400))
	print("BIG " .. tostring(ok) .. " " .. tostring(err))
	if ok then
		s:closewrite()
	end
end

-- Byte i (from 0) of /blob: the letters and digits, 62 of them, over and over, so that a
-- lost, doubled or moved piece shows.
local ALNUM <const> = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

function routes.blob(s)
	local n = tonumber(s.query.n) or 0
	local period = string.rep(ALNUM, 1000)
	s:respond(200, { ["content-length"] = n })
	local sent, size = 0, 1000
	while sent < n do
		local len = math.min(size, n - sent)
		local from = sent % #ALNUM + 1
		local ok = s:write(period:sub(from, from + len - 1))
		if not ok then
			return
		end
		sent = sent + len
		size = size % 50000 + 7777
	end
	s:closewrite()
end

-- An HTML page whose assets (a style sheet, a script, images) a browser-like client fetches
-- next, with priorities.
function routes.page(s)
	local body = table.concat({
		"<html><head>",
		'<link rel="stylesheet" href="/hello?a=css">',
		'<script src="/hello?a=js"></script>',
		"</head><body>",
		'<img src="/hello?a=img1"><img src="/blob?n=70000">',
		"</body></html>\n",
	})
	s:respond(200, { ["content-type"] = "text/html", ["content-length"] = #body })
	s:closewrite(body)
end

local function handler(s)
	local route = routes[s.path:sub(2)]
	if not route then
		s:respond(404, { ["content-length"] = 0 })
		return s:closewrite()
	end
	return route(s)
end

local conf = {
	addr = "127.0.0.1:0",
	handler = handler,
	headertimeout = tonumber(env.get("hto") or "") or nil,
	idletimeout = tonumber(env.get("ito") or "") or nil,
	maxbodysize = tonumber(env.get("maxbody") or "") or nil,
	maxheadersize = tonumber(env.get("maxhead") or "") or nil,
	bodytimeout = tonumber(env.get("bto") or "") or nil,
	h2c = env.get("h2c") ~= "0",
}
for k, v in pairs(conf) do
	conf[k] = math.tointeger(v) or v
end
if env.get("tls") then
	conf.tls = true
	conf.certs = { { cert = slurp("server-rsa-chain.crt"), key = slurp("server-rsa.key") } }
end
local l, err = http.listen(conf)
if not l then
	print("LISTEN-FAILED " .. tostring(err))
	silly.exit(1)
end
listener = l
print("LISTEN " .. l:localaddr())
