#!/usr/bin/env silly
-- Run: ./target/release/silly examples/tls_reload.lua
-- Then: curl -sv --cacert examples/certs/ca.crt https://localhost:8443/ 2>&1 | grep subject:
--       kill -USR1 <pid>      (the pid is printed at start)
--       curl -sv --cacert examples/certs/ca.crt https://localhost:8443/ 2>&1 | grep subject:
-- The first curl shows CN=localhost, the second CN=localhost2. --addr=127.0.0.1:0 picks a
-- free port. Stop it with Ctrl-C.
--
-- The seed's Example 3: certificate hot reload on SIGUSR1. New handshakes use the new
-- certificate; connections that are already open keep theirs and go on working. Differences
-- from the seed: the two identities come from examples/certs/ (both valid for localhost,
-- issued by the test CA, CN=localhost and CN=localhost2) instead of elided PEM blocks, and a
-- connection answers after it has read the request line, so a client can hold a connection
-- open across a reload and then use it.
local silly = require "silly"
local tls = require "silly.net.tls"
local signal = require "silly.signal"
local env = require "silly.env"

local dir = (arg and arg[0] or ""):match("^(.*)/") or "."
local addr = env.get("addr") or "127.0.0.1:8443"

local function slurp(path)
	local f = assert(io.open(path, "rb"))
	local s = f:read("a")
	f:close()
	return s
end

-- Initial certificate (CN=localhost) and the new version (CN=localhost2)
local cert_v1, key_v1 = slurp(dir .. "/certs/localhost.crt"), slurp(dir .. "/certs/localhost.key")
local cert_v2, key_v2 = slurp(dir .. "/certs/localhost2.crt"), slurp(dir .. "/certs/localhost2.key")

-- Start the server
local listener, err = tls.listen {
	addr = addr,
	certs = { { cert = cert_v1, key = key_v1 } },
	accept = function(conn)
		local line = conn:read("\n", 30000)
		if line and not line:find("\r\n\r\n", 1, true) and line:find("HTTP/", 1, true) then
			conn:read("\r\n\r\n", 5000) -- the rest of an HTTP request's header
		end
		conn:write("HTTP/1.1 200 OK\r\nContent-Length: 7\r\nConnection: close\r\n\r\nHello!\n")
		conn:close()
	end,
}
if not listener then
	print("Failed to start server:", err)
	silly.exit(1)
end
print("Server started with certificate v1 (CN=localhost) on " .. listener:localaddr())

-- Register a SIGUSR1 handler to trigger the certificate reload. It runs as a task of its own
-- each time the signal arrives.
signal.register("SIGUSR1", function()
	local ok, rerr = listener:reload {
		certs = { { cert = cert_v2, key = key_v2 } },
	}
	if ok then
		print("Certificate reload successful (CN=localhost2)")
	else
		print("Certificate reload failed:", rerr)
	end
end)

print("Send SIGUSR1 signal to trigger certificate reload")
print("Run: kill -USR1 " .. silly.pid)
