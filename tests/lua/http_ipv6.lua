-- HTTP and WebSocket clients to an IPv6 literal URL (`http://[::1]:port/`, `ws://[::1]:port/`):
-- the dialled address and the `host` field keep the brackets. Skipped, with a note, when the
-- machine has no IPv6 loopback.
local T = require "testaux"
local task = require "silly.task"
local http = require "silly.net.http"
local websocket = require "silly.net.websocket"
local errno = require "silly.errno"

T.limit(10000)

local l, err = http.listen({
	addr = "[::1]:0",
	handler = function(s)
		if s.path == "/ws" then
			local ws = websocket.upgrade(s)
			if ws then
				local data, typ = ws:read()
				ws:write("echo " .. tostring(data), typ)
				ws:read() -- the client's close
			end
			return
		end
		s:respond(200, { ["x-host"] = s.header.host })
		s:closewrite(s.remoteaddr)
	end,
})
if not l and (err == errno.ADDRNOTAVAIL or err == errno.AFNOSUPPORT) then
	print("# skipped: no IPv6 loopback on this machine (" .. tostring(err) .. ")")
	T.done()
end
T.check(l ~= nil, "http.listen on [::1]:0", tostring(err))
local where = l:localaddr()
T.match(where, "^%[::1%]:%d+$", "localaddr is [::1]:port")

task.fork(function()
	local r, gerr = http.get("http://" .. where .. "/who", { connection = "close" })
	T.check(r ~= nil, "GET http://" .. where .. "/who", tostring(gerr))
	T.eq(r.status, 200, "status")
	T.match(r.body, "^%[::1%]:%d+$", "the server saw a [::1] peer")
	T.eq(r.header["x-host"], where, "the host field is the bracketed authority")

	local ws, werr = websocket.connect("ws://" .. where .. "/ws")
	T.check(ws ~= nil, "websocket.connect ws://" .. where .. "/ws", tostring(werr))
	T.eq(ws:write("over v6", "text"), true, "ws:write as text")
	local data, typ = ws:read()
	T.eq(data, "echo over v6", "the echo came back")
	T.eq(typ, "text", "as text")
	ws:close()
	l:close()
	T.done()
end)
