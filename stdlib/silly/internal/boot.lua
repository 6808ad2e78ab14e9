-- silly.internal.boot: run once before the script. Installs the coroutine wrappers and the task
-- entry, and returns the entry of the main task (called by src/boot.rs).

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
