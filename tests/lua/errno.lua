-- Contract of silly.errno (docs/errno.md): the exact "<text> (<code>)" strings,
-- and the lookup of unknown names.
local T = require "testaux"
local errno = require "silly.errno"

T.limit(5000)

-- Linux values, word for word from docs/errno.md#names.
local want = {
	INTR = "Interrupted system call (4)",
	ACCES = "Permission denied (13)",
	BADF = "Bad file descriptor (9)",
	FAULT = "Bad address (14)",
	INVAL = "Invalid argument (22)",
	MFILE = "Too many open files (24)",
	NFILE = "Too many open files in system (23)",
	NOMEM = "Cannot allocate memory (12)",
	NOBUFS = "No buffer space available (105)",
	NOTSOCK = "Socket operation on non-socket (88)",
	OPNOTSUPP = "Operation not supported (95)",
	AFNOSUPPORT = "Address family not supported by protocol (97)",
	PROTONOSUPPORT = "Protocol not supported (93)",
	ADDRINUSE = "Address already in use (98)",
	ADDRNOTAVAIL = "Cannot assign requested address (99)",
	NETDOWN = "Network is down (100)",
	NETUNREACH = "Network is unreachable (101)",
	NETRESET = "Network dropped connection on reset (102)",
	HOSTUNREACH = "No route to host (113)",
	CONNABORTED = "Software caused connection abort (103)",
	CONNRESET = "Connection reset by peer (104)",
	CONNREFUSED = "Connection refused (111)",
	TIMEDOUT = "Operation timed out (110)",
	ISCONN = "Transport endpoint is already connected (106)",
	NOTCONN = "Transport endpoint is not connected (107)",
	INPROGRESS = "Operation now in progress (115)",
	ALREADY = "Operation already in progress (114)",
	AGAIN = "Resource temporarily unavailable (11)",
	PIPE = "Broken pipe (32)",
	DESTADDRREQ = "Destination address required (89)",
	MSGSIZE = "Message too long (90)",
	PROTOTYPE = "Protocol wrong type for socket (91)",
	NOPROTOOPT = "Protocol not available (92)",
	RESOLVE = "Address resolution failed (10000)",
	NOSOCKET = "No free socket available (10001)",
	CLOSING = "Socket is closing (10002)",
	CLOSED = "Socket is closed (10003)",
	EOF = "End of file (10004)",
	TLS = "TLS error (10005)",
}
local names = {}
for name in pairs(want) do
	names[#names + 1] = name
end
table.sort(names)
for _, name in ipairs(names) do
	T.eq(rawget(errno, name), want[name], "errno." .. name)
end
T.eq(errno.WOULDBLOCK, errno.AGAIN, "WOULDBLOCK is the same string as AGAIN")
T.eq(rawget(errno, "WOULDBLOCK"), "Resource temporarily unavailable (11)", "WOULDBLOCK is exported")

-- the same condition always gives an equal string
T.check(errno.TIMEDOUT == "Operation timed out (110)", "compare with ==")

-- unknown names never raise and are stored
T.eq(rawget(errno, "NOSUCHTHING"), nil, "an unknown name is not there before the lookup")
T.eq(errno.NOSUCHTHING, "Unknown error 'NOSUCHTHING'", "unknown name")
T.eq(rawget(errno, "NOSUCHTHING"), "Unknown error 'NOSUCHTHING'", "unknown name stored after the lookup")
T.eq(errno.X, "Unknown error 'X'", "unknown name X")
T.eq(errno[1], "Unknown error '1'", "a numeric key is turned into its string")
T.eq(rawget(errno, "1"), "Unknown error '1'", "a numeric key is stored under its string")
T.eq(errno.eof, "Unknown error 'eof'", "names are case sensitive")

T.done()
