-- wrk script: 16 GET requests per write (HTTP/1.1 pipelining), for the pipelined HTTP row.
local n = 16
function init()
	local one = wrk.format("GET", "/")
	req = string.rep(one, n)
end
function request()
	return req
end
