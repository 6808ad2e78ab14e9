#!/usr/bin/env silly
-- Run: ./target/release/silly examples/metrics.lua
-- Then: curl http://127.0.0.1:9100/hello
--       curl http://127.0.0.1:9100/metrics
-- (--addr=127.0.0.1:0 lets the OS choose the port; the "listening on" line says which.)
-- Stop it with Ctrl-C.
--
-- A service Prometheus can scrape: /hello counts its requests in a counter and times them in
-- a histogram, and /metrics serves every metric of the default registry, with the built-in
-- runtime and process metrics, in Prometheus' text format.
local http = require "silly.net.http"
local env = require "silly.env"
local silly = require "silly"
local time = require "silly.time"
local prometheus = require "silly.metrics.prometheus"

local addr = env.get("addr") or "127.0.0.1:9100"

local hellos = prometheus.counter("demo_hello_requests_total", "Requests served by /hello.", {"method"})
local seconds = prometheus.histogram("demo_hello_duration_seconds", "Time spent answering /hello.", nil, {0.001, 0.01, 0.1, 1})

local listener, err = http.listen {
	addr = addr,
	handler = function(s)
		if s.path == "/metrics" then
			local body = prometheus.gather()
			s:respond(200, {["content-type"] = prometheus.CONTENT_TYPE, ["content-length"] = #body})
			return s:closewrite(body)
		elseif s.path == "/hello" then
			local t0 = time.monotonic()
			hellos:labels(s.method):inc()
			s:respond(200, {["content-type"] = "text/plain", ["content-length"] = 13})
			s:closewrite("hello, world\n")
			seconds:observe((time.monotonic() - t0) / 1000)
			return
		end
		s:respond(404, {["content-type"] = "text/plain", ["content-length"] = 10})
		s:closewrite("not found\n")
	end,
}
if not listener then
	print("cannot listen on " .. addr .. ": " .. tostring(err))
	silly.exit(1)
end
print("listening on " .. listener:localaddr())
