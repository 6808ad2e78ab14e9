-- A WebSocket server for tests/it/websocket_peers.rs, driven there by Python's websockets.
--
--   silly tests/lua_servers/ws_peer.lua
--
-- Prints "LISTEN <addr>". Paths: /echo (echoes every message with its type; offers
-- compression and the "chat" subprotocol), /small (echo with maxmessage = 1000), /bye (sends
-- one text message, then closes with code 4000). Each session prints
-- "RESULT <path> key=value ..." when it ends: how, and the close code it received.
local http = require "silly.net.http"
local websocket = require "silly.net.websocket"

local function report(path, fields)
	local out = { "RESULT", path }
	for _, kv in ipairs(fields) do
		out[#out + 1] = kv[1] .. "=" .. tostring(kv[2]):gsub("%s", "_")
	end
	print(table.concat(out, " "))
end

local l = assert(http.listen({
	addr = "127.0.0.1:0",
	handler = function(s)
		local opts = { compress = true, subprotocols = { "chat" } }
		if s.path == "/small" then
			opts.maxmessage = 1000
		end
		local ws, err = websocket.upgrade(s, opts)
		if not ws then
			return report(s.path, { { "upgrade", err } })
		end
		if s.path == "/bye" then
			ws:write("going away", "text")
			ws:close(4000, "bye")
			return report(s.path, { { "closed", "us" } })
		end
		local n = 0
		while true do
			local data, kind, code = ws:read()
			if not data then
				return report(s.path, { { "end", "error" }, { "err", kind }, { "messages", n } })
			end
			if kind == "close" then
				return report(s.path, { { "end", "close" }, { "code", code }, { "reason", data }, { "messages", n } })
			end
			if kind == "text" or kind == "binary" then
				n = n + 1
				ws:write(data, kind)
			end
		end
	end,
}))
print("LISTEN " .. l:localaddr())
