-- silly.net.http's client against silly.net.http's server in the same process: pooling,
-- chunked responses, redirects, timeouts, body limits, a server that stops mid-body, and
-- argument checks.
local T = require "testaux"
local task = require "silly.task"
local time = require "silly.time"
local http = require "silly.net.http"
local errno = require "silly.errno"

T.limit(20000)

local peers = {}
local routes = {
	["/who"] = function(s)
		peers[#peers + 1] = s.remoteaddr
		s:closewrite(s.remoteaddr)
	end,
	["/chunked"] = function(s)
		s:respond(200)
		for i = 1, 50 do
			s:write(("chunk %d\n"):format(i))
		end
		s:closewrite(nil, { ["x-sum"] = "50" })
	end,
	["/r1"] = function(s)
		s:respond(302, { location = "/r2", ["content-length"] = 0 })
		s:closewrite()
	end,
	["/r2"] = function(s)
		s:respond(303, { location = "http://" .. s.header.host .. "/end", ["content-length"] = 0 })
		s:closewrite()
	end,
	["/end"] = function(s)
		s:closewrite(s.method .. " " .. (s:readall() or ""))
	end,
	["/loop"] = function(s)
		s:respond(307, { location = "/loop", ["content-length"] = 0 })
		s:closewrite()
	end,
	["/slow"] = function(s)
		time.sleep(500)
		s:closewrite("late")
	end,
	["/big"] = function(s)
		s:closewrite(string.rep("b", 100000))
	end,
	["/partial"] = function(s)
		s:respond(200, { ["content-length"] = 100 })
		s:closewrite("only this")
	end,
	["/badargs"] = function(s)
		local out = {}
		for _, f in ipairs({
			function() s:respond("200") end,
			function() s:respond(99) end,
			function() s:respond(200, "x") end,
			function() s:write(5) end,
			function() s:respond(200, { ["bad name"] = "v" }) end,
			function() s:respond(200, { [1] = "v" }) end,
			function() s:respond(200, { ["x-a"] = true }) end,
			function() s:respond(200, { ["x-a"] = { "ok", {} } }) end,
			function() s:respond(200, { ["x-a"] = { "a", "b\r\nx: y" } }) end,
		}) do
			local ok, err = pcall(f)
			out[#out + 1] = ok and "no error" or tostring(err)
		end
		s:closewrite(table.concat(out, "\n"))
	end,
	["/fields"] = function(s)
		s:respond(200, { ["x-int"] = 42, ["x-float"] = 1.5, ["x-list"] = { "a", 7 }, ["content-length"] = 0 })
		s:closewrite()
	end,
	["/echo"] = function(s)
		local b = s:readall()
		s:respond(200, { ["x-method"] = s.method, ["x-host"] = s.header.host })
		s:closewrite(b)
	end,
}
local l = assert(http.listen({
	addr = "127.0.0.1:0",
	handler = function(s)
		local f = routes[s.path]
		if f then
			return f(s)
		end
		s:respond(404, { ["content-length"] = 0 })
		s:closewrite()
	end,
}))
local base = "http://" .. l:localaddr()

task.fork(function()
	-- The module-level functions use a default client; asking for "connection: close" leaves
	-- nothing in its pool.
	local r = assert(http.get(base .. "/echo", { connection = "close" }))
	T.eq(r.status, 200, "http.get")
	local c = http.newclient({ timeout = 2000 })
	-- A client pools: sequential requests share one connection.
	for _ = 1, 3 do
		r = assert(c:get(base .. "/who"))
		T.eq(r.status, 200, "get /who")
	end
	T.eq(#peers, 3, "three requests")
	T.check(peers[1] == peers[2] and peers[2] == peers[3], "one pooled connection", table.concat(peers, " "))

	-- Chunked response with a trailer, read by the stream API.
	local s = assert(c:request("GET", base .. "/chunked"))
	T.check(s:waitresponse(), "waitresponse")
	T.eq(s.status, 200, "chunked status")
	local body = assert(s:readall())
	T.eq(#body, #table.concat((function()
		local t = {}
		for i = 1, 50 do
			t[i] = ("chunk %d\n"):format(i)
		end
		return t
	end)()), "chunked body length")
	T.eq(s.trailer and s.trailer["x-sum"], "50", "trailer")
	s:close()

	-- POST with a body; the caller's header table is not modified; host carries the port.
	local h = { ["x-a"] = "1" }
	r = assert(c:post(base .. "/echo", h, "payload"))
	T.eq(r.body, "payload", "post body echoed")
	T.eq(r.header["x-method"], "POST", "post method")
	T.eq(r.header["x-host"], l:localaddr(), "host has the port")
	T.eq(h["content-length"], nil, "caller's header untouched")

	-- A streamed upload: chunked request body.
	s = assert(c:request("PUT", base .. "/echo"))
	for i = 1, 10 do
		assert(s:write("part" .. i .. ";"))
	end
	assert(s:closewrite())
	assert(s:waitresponse())
	T.eq(s:readall(), "part1;part2;part3;part4;part5;part6;part7;part8;part9;part10;", "chunked upload")
	s:close()

	-- Redirects are opt-in; 303 turns the POST into a GET.
	r = assert(c:get(base .. "/r1"))
	T.eq(r.status, 302, "no redirects by default")
	r = assert(c:post(base .. "/r1", nil, "x", { redirects = 3 }))
	T.eq(r.status, 200, "redirects followed")
	T.eq(r.body, "GET ", "the POST became a GET")
	r = assert(c:get(base .. "/loop", nil, { redirects = 4 }))
	T.eq(r.status, 307, "a redirect loop stops after the limit")

	-- Limits and timeouts.
	local none, err = c:get(base .. "/slow", nil, { timeout = 100 })
	T.eq(none, nil, "timeout: no response")
	T.eq(err, errno.TIMEDOUT, "timeout: TIMEDOUT")
	none, err = c:get(base .. "/big", nil, { maxbodysize = 1000 })
	T.eq(none, nil, "maxbodysize: no response")
	T.match(err, "maxbodysize", "maxbodysize: the reason")
	none, err = c:get(base .. "/partial")
	T.eq(none, nil, "a body cut short fails")
	T.check(err ~= nil, "with an error", tostring(err))

	-- HEAD, 404.
	r = assert(c:get(base .. "/nope"))
	T.eq(r.status, 404, "404")
	s = assert(c:request("HEAD", base .. "/big"))
	assert(s:waitresponse())
	T.eq(s.header["content-length"], "100000", "HEAD keeps the length")
	T.eq(s:readall(), "", "HEAD has no body")
	s:close()

	-- Programmer errors in a handler raise with the handler's line.
	r = assert(c:get(base .. "/badargs"))
	local lines = {}
	for l in r.body:gmatch("[^\n]+") do
		lines[#lines + 1] = l
	end
	T.match(lines[1], "http_client%.lua:%d+: bad argument #1 to 'respond' %(status code", "respond('200')")
	T.match(lines[2], "bad argument #1 to 'respond'", "respond(99)")
	T.match(lines[3], "bad argument #2 to 'respond' %(table expected, got string%)", "respond(200, 'x')")
	T.match(lines[4], "http_client%.lua:%d+: bad argument #1 to 'write' %(string expected, got number%)", "write(5)")
	T.match(lines[5], "http_client%.lua:%d+: respond: header name \"bad name\" is not a token", "a bad field name")
	T.match(lines[6], "respond: header name must be a string, got number", "a number as field name")
	T.match(lines[7], "respond: header 'x%-a': string, number or array of them expected, got boolean", "a boolean value")
	T.match(lines[8], "respond: header 'x%-a': string, number or array of them expected, got table", "a table in an array")
	T.match(lines[9], "respond: header 'x%-a': value contains CR, LF or NUL", "CR LF in an array item")
	-- Numbers and arrays are written as they are.
	r = assert(c:get(base .. "/fields"))
	T.eq(r.header["x-int"], "42", "an integer value")
	T.eq(r.header["x-float"], "1.5", "a float value")
	T.eq(type(r.header["x-list"]) == "table" and table.concat(r.header["x-list"], "|"), "a|7", "an array value")

	-- Bad URLs and arguments.
	none, err = http.get("ftp://x/")
	T.match(err, "unsupported scheme", "ftp refused")
	none, err = http.get("http://user@host/")
	T.match(err, "userinfo", "userinfo refused")
	T.raises("bad argument #1 to 'get'", "get(nil)", http.get, nil)
	T.raises("bad argument #3 to 'request'", "header with CR LF", function()
		http.request("GET", base .. "/who", { ["x"] = "a\r\nb" })
	end)
	c:close()
	l:close()
	time.sleep(600) -- the /slow handler finishes
	T.done()
end)
