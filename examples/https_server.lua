#!/usr/bin/env silly
-- Run: ./target/release/silly examples/https_server.lua
-- Then: curl --cacert examples/certs/ca.crt https://localhost:8443/
-- (--addr=127.0.0.1:0 lets the OS choose the port; the "listening on" line says which.)
-- Stop it with Ctrl-C.
--
-- The seed's Example 1: an HTTPS server that reads the request line, answers with a fixed
-- body and closes. Differences from the seed, and why:
-- * the seed tests `listenfd`, an undefined global, so it always stopped at once;
--   here the result of tls.listen is checked;
-- * the certificate is the development chain in examples/certs/ (a leaf for localhost and
--   127.0.0.1 issued by a test CA) instead of the seed's embedded self-signed CN-only one,
--   which clients that verify names strictly (rustls, Python) reject: it has no
--   subjectAltName and is a CA certificate;
-- * the request headers are read up to the blank line before answering, so the close never
--   finds unread request bytes (which makes some TCP stacks reset instead of closing cleanly);
-- * the seed then waited on an empty waitgroup and closed the listener, which stops the server
--   before any client arrives; here the open listener keeps the process serving.
local silly = require "silly"
local tls = require "silly.net.tls"
local env = require "silly.env"

local dir = (arg and arg[0] or ""):match("^(.*)/") or "."
local addr = env.get("addr") or "127.0.0.1:8443"

local function slurp(path)
	local f = assert(io.open(path, "rb"))
	local s = f:read("a")
	f:close()
	return s
end

-- Server certificate chain and private key (PEM): the leaf followed by its intermediate CA.
local cert_pem = slurp(dir .. "/certs/localhost.crt")
local key_pem = slurp(dir .. "/certs/localhost.key")

local listener, err = tls.listen {
	addr = addr,
	certs = {
		{
			cert = cert_pem,
			key = key_pem,
		},
	},
	alpnprotos = { "http/1.1" },
	accept = function(conn)
		-- accept runs in its own task, once the handshake has succeeded.
		print("Client connected:", conn.remoteaddr)
		-- Read the HTTP request line, then the headers up to the empty line.
		local request, rerr = conn:read("\n", 5000)
		if not request then
			print("Read error:", rerr)
			conn:close()
			return
		end
		print("Received request:", (request:gsub("\r?\n$", "")))
		if not request:find("\r\n\r\n", 1, true) then
			conn:read("\r\n\r\n", 5000)
		end
		-- Send the HTTP response
		local body = "Hello from HTTPS server!\n"
		local response = string.format(
			"HTTP/1.1 200 OK\r\n" ..
				"Content-Type: text/plain\r\n" ..
				"Content-Length: %d\r\n" ..
				"Connection: close\r\n" ..
				"\r\n%s",
			#body, body
		)
		conn:write(response)
		-- close() sends close_notify and flushes what is queued before closing the socket.
		conn:close()
		print("Connection closed")
	end,
}
if not listener then
	print("Failed to start server:", err)
	silly.exit(1)
end
print("HTTPS server listening on " .. listener:localaddr())
