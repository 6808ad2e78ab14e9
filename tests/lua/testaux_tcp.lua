-- testaux_tcp: connected TCP pairs for the tests/lua scripts (not a test itself: build.rs skips
-- every testaux*.lua).
--
--   local P = require("testaux_tcp").new()
--   local client, server = P.pair(function(conn) ... end)   -- serve runs in the accept task
--   ...
--   P.listener:close()
local tcp = require "silly.net.tcp"
local channel = require "silly.sync.channel"

local M = {}

---One listener for the whole script. Each `pair(serve)` connects once; the accepted end is
---returned, and runs `serve(conn)` in its accept task when given. Connections are made one at a
---time, so accept order matches.
---@return {listener: table, where: string, pair: fun(serve: function?): table, table, accept: fun(): table}
function M.new()
	local serves = {}
	local accepted = channel.new()
	local l = assert(tcp.listen({
		addr = "127.0.0.1:0",
		accept = function(c)
			local serve = table.remove(serves, 1)
			accepted:push(c)
			if serve then
				serve(c)
			end
		end,
	}))
	local where = l:localaddr()
	local function pair(serve)
		serves[#serves + 1] = serve or false
		local c = assert(tcp.connect(where))
		return c, accepted:pop()
	end
	-- The server end of a connection the caller made itself (with `tcp.connect(where)`).
	local function accept()
		serves[#serves + 1] = false
		return accepted:pop()
	end
	return { listener = l, where = where, pair = pair, accept = accept }
end

return M
