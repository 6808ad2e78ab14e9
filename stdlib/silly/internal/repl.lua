-- silly.internal.repl: runs one REPL entry inside its task and prints what it returned.
local traceback = require "silly.internal.traceback"

local xpcall = xpcall
local select = select
local tostring = tostring
local print = print
local concat = table.concat

local function show(ok, ...)
	if not ok then
		print("Error: " .. tostring((...)))
		return
	end
	local n = select("#", ...)
	if n == 0 then
		return
	end
	local out = {}
	for i = 1, n do
		out[i] = tostring((select(i, ...)))
	end
	print(concat(out, "\t"))
end

---@return fun(fn: function) run
return function()
	---@param fn function the compiled entry
	return function(fn)
		show(xpcall(fn, traceback))
	end
end
