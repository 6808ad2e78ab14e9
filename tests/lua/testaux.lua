-- testaux: the helper of the tests/lua scripts. Reports each check, and at `done()` fails on
-- leftovers Rust cannot see: other live tasks and pending timers.
--
--   local T = require "testaux"
--   T.eq(1 + 1, 2, "addition")
--   T.done()
local task = require "silly.task"
local time = require "silly.time"
local timec = require "silly.time.c"
local silly = require "silly"

local M = {}
local passed, failed = 0, 0
local guard

local function report(ok, name, detail)
	if ok then
		passed = passed + 1
		print("ok - " .. name)
	else
		failed = failed + 1
		print("not ok - " .. name .. (detail and (": " .. detail) or ""))
	end
	return ok
end

---The bytes of a test certificate or key in tests/fixtures/certs (see its README).
---@param name string
---@return string
function M.fixture(name)
	local f = assert(io.open("tests/fixtures/certs/" .. name, "rb"))
	local d = f:read("a")
	f:close()
	return d
end

---Checks that `cond` is truthy.
function M.check(cond, name, detail)
	return report(cond and true or false, name, detail)
end

---Checks `got == want`.
function M.eq(got, want, name)
	return report(got == want, name, "got " .. tostring(got) .. ", want " .. tostring(want))
end

---Checks that string `s` matches Lua pattern `pat`.
function M.match(s, pat, name)
	return report(type(s) == "string" and s:match(pat) ~= nil, name, "got " .. tostring(s) .. ", want /" .. pat .. "/")
end

---Checks that `fn(...)` raises an error whose text matches `pat`.
function M.raises(pat, name, fn, ...)
	local ok, err = pcall(fn, ...)
	if ok then
		return report(false, name, "did not raise")
	end
	return M.match(tostring(err), pat, name)
end

---Fails the script (exit 1) if it is still running after `ms` milliseconds.
function M.limit(ms)
	guard = time.after(ms, function()
		report(false, "time limit of " .. ms .. " ms")
		print("testaux: " .. passed .. " passed, " .. failed .. " failed")
		silly.exit(1)
	end)
end

---Reports the totals and exits: 0 when every check passed and nothing is left over.
function M.done()
	if guard then
		time.cancel(guard)
		guard = nil
	end
	local others = 0
	local me = task.running()
	for co in pairs(task.inspect()) do
		if co ~= me then
			others = others + 1
		end
	end
	report(others == 0, "no other task left", others .. " still alive")
	report(timec.pending() == 0, "no timer left", timec.pending() .. " pending")
	print("testaux: " .. passed .. " passed, " .. failed .. " failed")
	silly.exit(failed == 0 and 0 or 1)
end

return M
