-- silly.internal.traceback: the message handler used for every task and the main chunk.
local traceback = debug.traceback
local type = type
local tostring = tostring
local getmetatable = getmetatable
local format = string.format

---Turns any error value into "message\nstack traceback:..." (as `lua` does for its scripts).
---@param err any
---@return string
return function(err)
	if type(err) ~= "string" then
		local mt = getmetatable(err)
		if type(err) == "number" or (mt and mt.__tostring) then
			err = tostring(err)
		else
			err = format("(error object is a %s value)", type(err))
		end
	end
	return traceback(err, 2)
end
