-- silly.internal.repl: the Lua half of the REPL (src/repl.rs, docs/cli.md#repl): runs one entry
-- inside its task and prints what it returned, keeps the entries' top-level locals, and lists
-- completions for the Tab key.
local traceback = require "silly.internal.traceback"

local xpcall = xpcall
local select = select
local tostring = tostring
local print = print
local type = type
local next = next
local rawget = rawget
local rawset = rawset
local getmetatable = getmetatable
local setmetatable = setmetatable
local pcall = pcall
local getlocal = debug.getlocal
local concat = table.concat
local sort = table.sort
local find = string.find
local sub = string.sub
local match = string.match
local gmatch = string.gmatch

-- Cuts a traceback where the REPL's own frames start: the entry is called by the bottom-most
-- xpcall, and everything below it belongs to the REPL.
local function trim(msg)
	local cut
	local from = 1
	while true do
		local s, e = find(msg, "\n\t%[C%]: in [^\n]*'xpcall'", from)
		if not s then
			break
		end
		cut, from = s, e + 1
	end
	if cut then
		return sub(msg, 1, cut - 1)
	end
	return msg
end

local function show(ok, ...)
	if not ok then
		print("Error: " .. trim(tostring((...))))
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

-- Adds to `out` the identifier keys of `v` starting with `word` (only functions when
-- `methods`), then those of its metatable's `__index` table, as indexing `v` would find them.
local function collect(v, word, methods, out, depth)
	if type(v) == "table" then
		for k, x in next, v do
			if
				type(k) == "string"
				and sub(k, 1, #word) == word
				and find(k, "^[%a_][%w_]*$")
				and (not methods or type(x) == "function")
			then
				out[k] = true
			end
		end
	end
	-- A `__metatable` field hides the real metatable; a non-table answer has nothing to list.
	local mt = getmetatable(v)
	if type(mt) == "table" and depth < 8 then
		local index = rawget(mt, "__index")
		if type(index) == "table" then
			collect(index, word, methods, out, depth + 1)
		end
	end
end

---@return {run: fun(fn: function), env: table, complete: fun(text: string): integer, string[]}
return function()
	-- The entries' environment: their kept top-level locals, then the globals. `declared` holds
	-- the names of those locals, so that one whose value is nil still hides the global of its
	-- name. Assigning any other name sets the global, as in a script.
	local declared = {}
	local env = setmetatable({}, {
		__index = function(_, name)
			if not declared[name] then
				return _G[name]
			end
		end,
		__newindex = function(t, name, value)
			if declared[name] then
				rawset(t, name, value)
			else
				_G[name] = value
			end
		end,
	})

	local function keep(name, value)
		declared[name] = true
		rawset(env, name, value)
	end

	-- Called at the end of an entry compiled with a capture (src/repl.rs): the locals active at
	-- that point are the entry's top-level ones, in declaration order, so a name declared twice
	-- keeps the later value. `consts` holds the compile-time constants, which have no slot
	-- `getlocal` could see. Internal names ("(temporary)") and `_ENV`, which is never looked up
	-- in an environment, are skipped.
	local function capture(consts)
		local i = 1
		while true do
			local name, value = getlocal(2, i)
			if name == nil then
				break
			end
			if sub(name, 1, 1) ~= "(" and name ~= "_ENV" then
				keep(name, value)
			end
			i = i + 1
		end
		if consts then
			for name, value in next, consts do
				keep(name, value)
			end
		end
	end

	---Runs one compiled entry and prints its values or its error.
	---@param fn function the compiled entry
	local function run(fn)
		show(xpcall(fn, traceback, capture))
	end

	---The completions of the name or field path that ends `text`: `name`, `a.b.name` or
	---`a.b:method`, resolved from the REPL's locals and the globals.
	---@param text string the line up to the cursor
	---@return integer len the length of the partial word the candidates replace
	---@return string[] candidates sorted
	local function complete(text)
		local path = match(text, "[%a_][%w_%.:]*$") or ""
		local head, sep, word = match(path, "^(.-)([%.:]?)([%w_]*)$")
		local v = env
		if sep ~= "" then
			if find(head, ":", 1, true) or sub(head, -1) == "." then
				return #word, {}
			end
			for name in gmatch(head, "[^%.]+") do
				local ok, field = pcall(function()
					return v[name]
				end)
				if not ok or field == nil then
					return #word, {}
				end
				v = field
			end
		end
		local found = {}
		collect(v, word, sep == ":", found, 0)
		if v == env then
			collect(_G, word, false, found, 0)
		end
		local out = {}
		for k in next, found do
			out[#out + 1] = k
		end
		sort(out)
		return #word, out
	end

	return { run = run, env = env, complete = complete }
end
