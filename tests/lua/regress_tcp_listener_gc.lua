-- Regression: a listener the script did not keep a reference to was garbage collected, which
-- cancelled its accept loop. The server stopped listening (connections refused) while the
-- process kept running. Fixed by holding open listeners in silly.net.tcp until `close`
-- (docs/tcp.md#accepting-connections: no finalizer, a listener lives until closed).
local T = require "testaux"
local tcp = require "silly.net.tcp"

T.limit(5000)

local where
local function start()
	-- the listener object is dropped when this function returns
	local l = assert(tcp.listen({
		addr = "127.0.0.1:0",
		accept = function(c)
			c:write(c:read("\n"))
			c:close()
		end,
	}))
	where = l:localaddr()
end
start()
for _ = 1, 3 do
	collectgarbage()
end
local c, err = tcp.connect(where)
T.check(c ~= nil, "an unreferenced listener still accepts after a full GC", tostring(err))
if c then
	c:write("still here\n")
	T.eq(c:read("\n", 2000), "still here\n", "and serves")
	c:close()
end
T.done()
