#!/usr/bin/env silly
-- Run: ./target/release/silly examples/http_server.lua
-- Then: curl --cacert examples/certs/ca.crt https://localhost:8443/hello
--       curl --cacert examples/certs/ca.crt https://localhost:8443/static/index.html
-- (--addr=127.0.0.1:0 lets the OS choose the port; the "listening on" line says which.)
-- Stop it with Ctrl-C.
--
-- An HTTPS server with silly.net.http: a hello route, a JSON-ish echo of the request, and
-- static files from examples/static/ (no path may leave that directory).
local http = require "silly.net.http"
local env = require "silly.env"
local silly = require "silly"

local dir = (arg and arg[0] or ""):match("^(.*)/") or "."
local addr = env.get("addr") or "127.0.0.1:8443"

local function slurp(path)
	local f = io.open(path, "rb")
	if not f then
		return nil
	end
	local s = f:read("a")
	f:close()
	return s
end

local TYPES <const> = { html = "text/html", txt = "text/plain", css = "text/css", js = "text/javascript" }

local function static(s)
	local name = s.path:match("^/static/([%w%-_%.]+)$")
	local body = name and not name:find("..", 1, true) and slurp(dir .. "/static/" .. name)
	if not body then
		s:respond(404, { ["content-type"] = "text/plain", ["content-length"] = 10 })
		return s:closewrite("not found\n")
	end
	local ext = name:match("%.(%w+)$")
	s:respond(200, { ["content-type"] = TYPES[ext] or "application/octet-stream", ["content-length"] = #body })
	s:closewrite(body)
end

local listener, err = http.listen({
	addr = addr,
	tls = true,
	certs = { { cert = assert(slurp(dir .. "/certs/localhost.crt")), key = assert(slurp(dir .. "/certs/localhost.key")) } },
	handler = function(s)
		if s.path == "/hello" then
			s:respond(200, { ["content-type"] = "text/plain", ["content-length"] = 13 })
			return s:closewrite("hello, world\n")
		elseif s.path:find("^/static/") then
			return static(s)
		end
		-- Anything else: what the server saw, as text.
		local body = s:readall() or ""
		s:respond(200, { ["content-type"] = "text/plain" })
		s:write(("%s %s %s\n"):format(s.method, s.path, s.version))
		for k, v in pairs(s.header) do
			s:write(("%s: %s\n"):format(k, type(v) == "table" and table.concat(v, ", ") or v))
		end
		s:closewrite(#body > 0 and ("\n" .. body .. "\n") or nil)
	end,
})
if not listener then
	print("cannot listen on " .. addr .. ": " .. tostring(err))
	silly.exit(1)
end
print("listening on " .. listener:localaddr())
