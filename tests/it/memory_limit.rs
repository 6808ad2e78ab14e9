//! `--max-memory` (docs/cli.md#memory-limit): past the limit an allocation fails as a Lua
//! "not enough memory" error in the task that asked, the process keeps serving, and the
//! runtime's own allocations (a task for a new connection, the string of a read) fail softly
//! while the memory is full.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::common::{Running, run, silly};

const LIMIT: Duration = Duration::from_secs(30);

/// A line server: `ping` answers `pong`; `huge` grows a table until the allocation fails (the
/// error escapes the accept handler); `bigstr` asks for a 1 GiB string under `pcall`; `fill`
/// keeps the heap full, to the last small table, for 500 ms, then lets it go and answers.
const SERVER: &str = r#"
local tcp = require "silly.net.tcp"
local time = require "silly.time"
local hold
local l = assert(tcp.listen{addr = "127.0.0.1:0", accept = function(conn)
	local line = conn:readline()
	if line == "huge\n" then
		local t = {}
		for i = 1, 1e9 do t[i] = i end
	elseif line == "bigstr\n" then
		local ok, err = pcall(string.rep, "x", 1 << 30)
		conn:write(tostring(ok) .. " " .. tostring(err) .. "\n")
	elseif line == "fill\n" then
		hold = {}
		local ok, err = pcall(function()
			for i = 1, 1e9 do hold[i] = string.rep("y", 65000) .. i end
		end)
		-- Then crumbs, until even a small table cannot be made.
		local crumbs = {}
		hold.crumbs = crumbs
		pcall(function()
			while true do
				crumbs[1] = {}
				crumbs = crumbs[1]
			end
		end)
		time.sleep(500)
		hold, crumbs = nil, nil
		collectgarbage()
		conn:write("full " .. tostring(err) .. "\n")
	elseif line == "ping\n" then
		conn:write("pong\n")
	end
	conn:close()
end})
print("LISTEN " .. l:localaddr())
"#;

/// Sends `line` on a new connection and returns what came back before the server closed it.
fn ask(addr: &str, line: &str) -> String {
    let mut c = TcpStream::connect(addr).expect("connect");
    c.set_read_timeout(Some(LIMIT)).expect("read timeout");
    c.write_all(line.as_bytes()).expect("write");
    let mut buf = Vec::new();
    // A connection the server could not take while its memory was full is reset: that is
    // an answer too (the empty one).
    let _ = c.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

#[test]
fn allocation_past_the_limit_fails_in_its_task_and_the_process_serves_on() {
    let mut cmd = silly();
    cmd.args(["--max-memory=32M", "-e", SERVER]);
    let (mut srv, addr) = Running::listening(cmd, LIMIT);

    assert_eq!(ask(&addr, "ping\n"), "pong\n");
    assert_eq!(
        ask(&addr, "huge\n"),
        "",
        "the failing task's connection is closed"
    );
    assert_eq!(
        ask(&addr, "ping\n"),
        "pong\n",
        "another connection is served"
    );
    assert_eq!(ask(&addr, "bigstr\n"), "false not enough memory\n");

    // While one task holds the heap full, the others get what is left: each is answered or
    // closed, none hangs, and nothing panics.
    let filler = {
        let addr = addr.clone();
        std::thread::spawn(move || ask(&addr, "fill\n"))
    };
    std::thread::sleep(Duration::from_millis(150));
    for _ in 0..20 {
        let got = ask(&addr, "ping\n");
        assert!(got == "pong\n" || got.is_empty(), "{got:?}");
    }
    assert_eq!(
        filler.join().expect("filler"),
        "full not enough memory\n",
        "the filling task gets the error"
    );
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(ask(&addr, "ping\n"), "pong\n", "served again once freed");

    srv.assert_running();
    let err = srv.stderr();
    assert!(
        err.contains("accept handler failed: not enough memory"),
        "the escaping error is logged: {err}"
    );
    assert!(
        err.contains("[tcp] cannot start accept handler: memory error: not enough memory"),
        "connections that came while the memory was full were logged and closed: {err}"
    );
}

#[test]
fn max_memory_values() {
    for ok in ["65536", "512K", "64M", "1g"] {
        let out = run(
            &[&format!("--max-memory={ok}"), "-e", "print('up')"],
            "",
            LIMIT,
        );
        assert_eq!(
            (out.code, out.stdout.as_str()),
            (Some(0), "up\n"),
            "{ok}: {out:?}"
        );
    }
    // The option is a `--key=value` word, so silly.env has it too.
    let out = run(
        &[
            "--max-memory=64M",
            "-e",
            "print(require('silly.env').get('max-memory'))",
        ],
        "",
        LIMIT,
    );
    assert_eq!(out.stdout, "64M\n", "{out:?}");
    for bad in ["abc", "0", "5T", "1.5M", "-1"] {
        let out = run(
            &[&format!("--max-memory={bad}"), "-e", "print('up')"],
            "",
            LIMIT,
        );
        assert_eq!(out.code, Some(2), "{bad}: {out:?}");
        assert!(out.stderr.contains("--max-memory"), "{bad}: {out:?}");
    }
    // Too little for the runtime itself: one line and status 1, no abort.
    let out = run(&["--max-memory=1K", "-e", "print('up')"], "", LIMIT);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr
            .contains("silly: memory error: not enough memory"),
        "{out:?}"
    );
    assert!(!out.stderr.contains("panicked"), "{out:?}");
}

/// JSON's raw natives work with the limit lifted (src/native/encoding/json.rs): a result that
/// takes the state over it is dropped and the call raises the memory error, which `pcall`
/// catches; the encoder and decoder work again afterwards.
#[test]
fn json_past_the_limit_raises_the_memory_error() {
    let script = r#"
        local json = require "silly.encoding.json"
        local big = "[" .. string.rep('{"k":1},', 150000) .. '{}]'
        local ok, err = pcall(json.decode, big)
        print("decode", ok, err)
        big = nil
        collectgarbage()
        local items = {}
        for i = 1, 20000 do items[i] = string.rep("x", 100) .. i end
        ok, err = pcall(json.encode, { items, items, items, items, items, items, items, items })
        print("encode", ok, err)
        items = nil
        collectgarbage()
        print("again", json.encode(json.decode('[1,{"a":2}]')))
    "#;
    let out = run(&["--max-memory=12M", "-e", script], "", LIMIT);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout.contains("decode\tfalse\tnot enough memory"),
        "{out:?}"
    );
    assert!(
        out.stdout.contains("encode\tfalse\tnot enough memory"),
        "{out:?}"
    );
    assert!(out.stdout.contains("again\t[1,{\"a\":2}]"), "{out:?}");
    assert!(!out.stderr.contains("panicked"), "{out:?}");
}

/// Lua hands a warning over in pieces (its own "error in __gc (...)" under memory pressure,
/// `warn` with several arguments): one record each.
#[test]
fn a_warning_in_pieces_is_one_record() {
    let out = run(&["-e", "warn('a ', 'b', 'c')"], "", LIMIT);
    assert_eq!(out.stderr.matches("[warn]").count(), 1, "{out:?}");
    assert!(out.stderr.contains("[warn] a bc\n"), "{out:?}");
}
