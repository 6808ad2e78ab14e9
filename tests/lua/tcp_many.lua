-- 1,000 concurrent connections in one process: every client task connects, sends a unique
-- message and must get exactly its own message back from the echo server.
local T = require "testaux"
local tcp = require "silly.net.tcp"
local time = require "silly.time"
local waitgroup = require "silly.sync.waitgroup"

T.limit(45000)

local N = 1000
-- Both ends live in this process: about 2 descriptors per connection.
do
	local f = io.open("/proc/self/limits")
	local soft = f and tonumber(f:read("a"):match("Max open files%s+(%d+)"))
	if f then
		f:close()
	end
	T.check(not soft or soft >= 2 * N + 64, "the descriptor limit allows " .. N .. " connections",
		"ulimit -n is " .. tostring(soft) .. "; raise it to at least " .. (2 * N + 64))
end
local served = 0
local l = assert(tcp.listen({
	addr = "127.0.0.1:0",
	accept = function(c)
		while true do
			local line = c:read("\n")
			if not line then
				break
			end
			c:write(line)
		end
		served = served + 1
		c:close()
	end,
}))
local where = l:localaddr()

local ok, bad, failed = 0, 0, {}
local open = 0
local peak = 0
local wg = waitgroup.new()
local t0 = time.monotonic()
for i = 1, N do
	wg:fork(function()
		local c, err = tcp.connect(where, { timeout = 20000 })
		if not c then
			failed[#failed + 1] = "connect " .. i .. ": " .. tostring(err)
			return
		end
		open = open + 1
		peak = math.max(peak, open)
		-- hold every connection open until all have connected, so they are truly concurrent
		while peak < N and time.monotonic() - t0 < 20000 do
			time.sleep(10)
		end
		local msg = string.format("client %d says %s\n", i, string.rep(string.char(65 + i % 26), i % 50))
		c:write(msg)
		local got, rerr = c:read("\n", 20000)
		if got == msg then
			ok = ok + 1
		else
			bad = bad + 1
			failed[#failed + 1] = "echo " .. i .. ": " .. tostring(got) .. " " .. tostring(rerr)
		end
		c:close()
		open = open - 1
	end)
end
wg:wait()
T.eq(peak, N, "all " .. N .. " connections were open at the same time")
T.eq(ok, N, "every client got its own message back")
T.eq(bad, 0, "no client got a wrong message")
T.check(#failed == 0, "no failures", failed[1])
-- the server side sees every EOF
local t1 = time.monotonic()
while served < N and time.monotonic() - t1 < 5000 do
	time.sleep(10)
end
T.eq(served, N, "the server saw every connection end")
print("# " .. N .. " connections in " .. (time.monotonic() - t0) .. " ms")
l:close()
T.done()
