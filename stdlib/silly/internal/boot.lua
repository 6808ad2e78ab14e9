-- silly.internal.boot: run once before the script. Installs the coroutine wrappers and the task
-- entry, and returns the entry of the main task (called by src/boot.rs).

-- The generational collector: a server makes many short-lived tables and strings per
-- request, which it collects young and cheaply (measured: ~17% less CPU per HTTP request
-- than the incremental mode, docs/benchmarks.md). `collectgarbage("incremental")` switches
-- back (docs/cli.md).
collectgarbage("generational")

require "silly.internal.coroutine"
require "silly.task"
local c = require "silly.c"
local traceback = require "silly.internal.traceback"

local xpcall = xpcall
local stderr = io.stderr

---Runs the `-e` chunks, then the script, with the script's arguments. An error ends the process
---with status 1 after printing the message and traceback on stderr (docs/cli.md#uncaught-errors).
---@param chunks function[]
return function(chunks, ...)
	for i = 1, #chunks do
		local ok, err = xpcall(chunks[i], traceback, ...)
		if not ok then
			stderr:write("silly: ", err, "\n")
			stderr:flush()
			c.exit(1)
		end
	end
end
