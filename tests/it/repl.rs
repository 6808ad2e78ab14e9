//! The REPL (docs/cli.md#repl) through a real pseudo-terminal: results, `>> ` continuation,
//! errors, Ctrl-C and Ctrl-D, history, and tasks that keep running while the prompt waits.
//!
//! rexpect strips the terminal's escape sequences; what is left is rustyline's text with
//! `\r\n` line ends. Each expectation is bounded by the session's timeout.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rexpect::process::WaitStatus;
use rexpect::session::{Options, PtySession, spawn_with_options};

use crate::common;

/// Bound of every single expectation.
const EXPECT_MS: u64 = 10_000;

/// A fresh HOME for one test, so the history file is the test's own.
fn temp_home(name: &str) -> PathBuf {
    common::temp_dir(&format!("repl-{name}"))
}

/// Starts `silly args` on a pseudo-terminal.
fn spawn(home: &Path, args: &[&str]) -> PtySession {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_silly"));
    cmd.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("HOME", home)
        .env("TERM", "xterm");
    cmd.env_remove("SILLY_STDLIB_DIR");
    let opts = Options::new()
        .timeout_ms(Some(EXPECT_MS))
        .strip_ansi_escape_codes(true);
    spawn_with_options(cmd, opts).expect("spawn silly in a pty")
}

/// Starts the REPL (no script) and waits for its banner.
fn spawn_repl(home: &Path) -> PtySession {
    let mut p = spawn(home, &[]);
    p.exp_string("Ctrl-D exits").expect("banner");
    p
}

/// Waits for `text` at the start of a line: after `\r` or `\n`, or right after what the
/// previous expectation consumed (which always ends a line or a prompt).
fn expect_at_line_start(p: &mut PtySession, text: &str) -> Result<(), rexpect::error::Error> {
    loop {
        let before = p.exp_string(text)?;
        if before.is_empty() || before.ends_with('\r') || before.ends_with('\n') {
            return Ok(());
        }
    }
}

/// Waits for the prompt `prompt` ("> " or ">> ") at the start of a line, then types `line`.
fn enter(p: &mut PtySession, prompt: &str, line: &str) {
    expect_at_line_start(p, prompt)
        .unwrap_or_else(|e| panic!("no prompt {prompt:?} before {line:?}: {e}"));
    p.send_line(line).expect("type a line");
}

/// Expects `want` as a whole output line.
fn expect_line(p: &mut PtySession, want: &str) {
    expect_at_line_start(p, &format!("{want}\r\n"))
        .unwrap_or_else(|e| panic!("no output line {want:?}: {e}"));
}

/// Sends Ctrl-D at a fresh prompt and returns how the process ended (bounded).
fn quit(p: &mut PtySession) -> WaitStatus {
    expect_at_line_start(p, "> ").expect("prompt before Ctrl-D");
    p.send_control('d').expect("Ctrl-D");
    let deadline = Instant::now() + Duration::from_millis(EXPECT_MS);
    loop {
        match p.process().status() {
            Some(WaitStatus::StillAlive) | None => {}
            Some(status) => return status,
        }
        assert!(Instant::now() < deadline, "the REPL did not exit on Ctrl-D");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn exited_with(status: WaitStatus, code: i32) -> bool {
    matches!(status, WaitStatus::Exited(_, c) if c == code)
}

#[test]
fn expressions_statements_and_history() {
    let home = temp_home("basics");
    let mut p = spawn_repl(&home);
    enter(&mut p, "> ", "1+1");
    expect_line(&mut p, "2");
    enter(&mut p, "> ", "x = 20");
    enter(&mut p, "> ", "x * 2 + 2");
    expect_line(&mut p, "42");
    enter(&mut p, "> ", "1, 'two', nil");
    expect_line(&mut p, "1\ttwo\tnil");
    enter(&mut p, "> ", "print('printed', x)");
    expect_line(&mut p, "printed\t20");
    let status = quit(&mut p);
    assert!(exited_with(status, 0), "Ctrl-D: {status:?}");
    let history = std::fs::read_to_string(home.join(".silly_history")).expect("history file");
    for entry in ["1+1", "x = 20", "print('printed', x)"] {
        assert!(
            history.lines().any(|l| l == entry),
            "{entry:?} in history: {history:?}"
        );
    }
}

#[test]
fn history_is_loaded_at_start() {
    let home = temp_home("history-load");
    let mut p = spawn_repl(&home);
    enter(&mut p, "> ", "'remembered' .. 1");
    expect_line(&mut p, "remembered1");
    assert!(exited_with(quit(&mut p), 0));

    let mut p = spawn_repl(&home);
    expect_at_line_start(&mut p, "> ").expect("prompt");
    // Up arrow brings back the previous session's entry.
    p.send("\x1b[A").expect("up");
    p.send("\r").expect("enter");
    p.flush().expect("flush");
    expect_line(&mut p, "remembered1");
    assert!(exited_with(quit(&mut p), 0));
}

#[test]
fn incomplete_entry_continues_with_the_secondary_prompt() {
    let home = temp_home("continuation");
    let mut p = spawn_repl(&home);
    enter(&mut p, "> ", "for i=1,2 do");
    enter(&mut p, ">> ", "print('i=' .. i)");
    enter(&mut p, ">> ", "end");
    expect_line(&mut p, "i=1");
    expect_line(&mut p, "i=2");
    enter(&mut p, "> ", "function twice(n)");
    enter(&mut p, ">> ", "return n * 2 end");
    enter(&mut p, "> ", "twice(21)");
    expect_line(&mut p, "42");
    assert!(exited_with(quit(&mut p), 0));
}

#[test]
fn errors_are_reported_and_the_repl_goes_on() {
    let home = temp_home("errors");
    let mut p = spawn_repl(&home);
    enter(&mut p, "> ", "x = = 1");
    p.exp_string("Syntax error:").expect("syntax error report");
    enter(&mut p, "> ", "error('it broke')");
    p.exp_string("Error: ").expect("runtime error report");
    p.exp_string("it broke").expect("the error message");
    enter(&mut p, "> ", "nil + 1");
    p.exp_string("Error: ").expect("runtime error report");
    p.exp_string("arithmetic").expect("the error message");
    enter(&mut p, "> ", "1+1");
    expect_line(&mut p, "2");
    assert!(exited_with(quit(&mut p), 0));
}

#[test]
fn timer_output_appears_while_the_prompt_waits() {
    let home = temp_home("timer");
    let mut p = spawn_repl(&home);
    enter(
        &mut p,
        "> ",
        "require('silly.time').after(200, function() print('TICK') end)",
    );
    // The timer prints above the waiting prompt, which is drawn again below it.
    p.exp_string("TICK\r\n> ")
        .expect("TICK, then the prompt again");
    p.send_line("1+1").expect("type at the redrawn prompt");
    expect_line(&mut p, "2");
    assert!(exited_with(quit(&mut p), 0));
}

#[test]
fn output_while_typing_keeps_the_typed_text() {
    let home = temp_home("typing");
    let mut p = spawn_repl(&home);
    // A signal, sent once the half-typed text is on screen, makes the output come exactly then.
    enter(
        &mut p,
        "> ",
        "require('silly.signal')('SIGUSR1', function() print('TICK') end)",
    );
    expect_at_line_start(&mut p, "> ").expect("prompt");
    p.send("20 +").expect("type");
    p.flush().expect("flush");
    p.exp_string("20 +").expect("echo of the typed text");
    p.process_mut()
        .signal(rexpect::process::Signal::SIGUSR1)
        .expect("SIGUSR1");
    p.exp_string("TICK\r\n> 20 +")
        .expect("TICK above a redrawn prompt with the typed text");
    p.send_line(" 22").expect("finish the line");
    expect_line(&mut p, "42");
    assert!(exited_with(quit(&mut p), 0));
}

#[test]
fn entries_may_yield_and_tasks_run_between_entries() {
    let home = temp_home("yield");
    let mut p = spawn_repl(&home);
    enter(
        &mut p,
        "> ",
        "time = require('silly.time') task = require('silly.task')",
    );
    enter(&mut p, "> ", "time.sleep(100) print('slept')");
    expect_line(&mut p, "slept");
    // A task forked at the prompt goes on after the entry ended.
    enter(
        &mut p,
        "> ",
        "task.fork(function() for i = 1, 2 do time.sleep(50) print('bg ' .. i) end end)",
    );
    p.exp_string("bg 1").expect("first background line");
    p.exp_string("bg 2").expect("second background line");
    enter(&mut p, "> ", "'after'");
    expect_line(&mut p, "after");
    assert!(exited_with(quit(&mut p), 0));
}

#[test]
fn ctrl_c_clears_the_line() {
    let home = temp_home("ctrl-c");
    let mut p = spawn_repl(&home);
    expect_at_line_start(&mut p, "> ").expect("prompt");
    p.send("garbage(").expect("type");
    p.flush().expect("flush");
    p.send_control('c').expect("Ctrl-C");
    enter(&mut p, "> ", "1+2");
    expect_line(&mut p, "3");
    // In a continuation, Ctrl-C drops the whole entry, not just the current line.
    enter(&mut p, "> ", "for i=1,2 do");
    expect_at_line_start(&mut p, ">> ").expect("continuation prompt");
    p.send_control('c').expect("Ctrl-C");
    enter(&mut p, "> ", "6*7");
    expect_line(&mut p, "42");
    assert!(exited_with(quit(&mut p), 0), "Ctrl-C did not end the REPL");
}

#[test]
fn ctrl_d_exits_0_with_a_pending_timer() {
    let home = temp_home("ctrl-d-timer");
    let mut p = spawn_repl(&home);
    enter(
        &mut p,
        "> ",
        "require('silly.time').after(60000, function() end)",
    );
    let started = Instant::now();
    assert!(exited_with(quit(&mut p), 0));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "Ctrl-D waited for the timer"
    );
}

#[test]
fn exit_at_the_prompt_ends_with_its_status() {
    let home = temp_home("exit");
    let mut p = spawn_repl(&home);
    enter(&mut p, "> ", "require('silly').exit(3)");
    let deadline = Instant::now() + Duration::from_millis(EXPECT_MS);
    let status = loop {
        match p.process().status() {
            Some(WaitStatus::StillAlive) | None => {}
            Some(s) => break s,
        }
        assert!(Instant::now() < deadline, "silly.exit did not end the REPL");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(exited_with(status, 3), "{status:?}");
}

#[test]
fn dash_i_runs_the_repl_after_the_script() {
    let home = temp_home("dash-i");
    let script = home.join("setup.lua");
    std::fs::write(
        &script,
        "greeting = 'hi from script'\nprint('script ran', ...)\n",
    )
    .unwrap();
    let mut p = spawn(&home, &["-i", script.to_str().unwrap(), "arg1"]);
    p.exp_string("script ran\targ1\r\n")
        .expect("the script runs first");
    p.exp_string("Ctrl-D exits").expect("banner");
    enter(&mut p, "> ", "greeting");
    expect_line(&mut p, "hi from script");
    assert!(exited_with(quit(&mut p), 0));
}

#[test]
fn dash_i_with_piped_stdin_reads_entries_from_it() {
    let home = temp_home("dash-i-pipe");
    let mut cmd = common::silly();
    cmd.env("HOME", &home)
        .args(["-i", "-e", "x = 21"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(b"x * 2\nprint('printed')\n")
            .expect("write entries");
    }
    let out = common::wait_limited(child, Duration::from_secs(20));
    assert!(!out.timed_out, "{out:?}");
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("42\n"), "{out:?}");
    assert!(out.stdout.contains("printed\n"), "{out:?}");
}

#[test]
fn exit_while_the_prompt_waits_gives_the_terminal_back() {
    let home = temp_home("exit-raw");
    // A shell runs silly, then shows the terminal's mode as silly left it.
    let script = format!("'{}'; echo status=$?; stty -a", env!("CARGO_BIN_EXE_silly"));
    let mut cmd = Command::new("sh");
    cmd.args(["-c", &script])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("HOME", &home)
        .env("TERM", "xterm");
    let opts = Options::new()
        .timeout_ms(Some(EXPECT_MS))
        .strip_ansi_escape_codes(true);
    let mut p = spawn_with_options(cmd, opts).expect("spawn sh in a pty");
    p.exp_string("Ctrl-D exits").expect("banner");
    enter(
        &mut p,
        "> ",
        "require('silly.time').after(200, function() require('silly').exit(4) end)",
    );
    p.exp_string("status=4").expect("silly.exit from the timer");
    let modes = p.exp_eof().expect("stty output");
    let words: Vec<&str> = modes
        .split_whitespace()
        .map(|w| w.trim_end_matches(';'))
        .collect();
    for flag in ["icanon", "isig", "icrnl"] {
        assert!(words.contains(&flag), "{flag} restored: {modes}");
    }
}

#[test]
fn dash_i_without_a_script_takes_piped_lines_as_entries() {
    // Without -i, piped stdin is the script; with it, each line is a REPL entry (as `lua -i`).
    let out = common::run(&["-i"], "1+1\nprint('x')\n", Duration::from_secs(20));
    assert!(!out.timed_out, "{out:?}");
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("\n2\nx\n"), "{out:?}");
    let out = common::run(&[], "print(1+1)\n", Duration::from_secs(20));
    assert_eq!((out.code, out.stdout.as_str()), (Some(0), "2\n"), "{out:?}");
}

/// Waits (bounded) for the process to end and returns how.
fn wait_exit(p: &mut PtySession, what: &str) -> WaitStatus {
    let deadline = Instant::now() + Duration::from_millis(EXPECT_MS);
    loop {
        match p.process().status() {
            Some(WaitStatus::StillAlive) | None => {}
            Some(status) => return status,
        }
        assert!(Instant::now() < deadline, "{what}: the REPL did not exit");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Types `line`, an entry that does not end by itself, then Ctrl-C once it runs; expects the
/// REPL's "Interrupted" soon after and returns how long that took.
fn interrupt(p: &mut PtySession, line: &str) -> Duration {
    enter(p, "> ", line);
    p.exp_string(line).expect("echo of the entry");
    // The entry has started once its line is echoed and the terminal is out of raw mode; a
    // moment later it is surely waiting (or looping).
    std::thread::sleep(Duration::from_millis(300));
    let sent = Instant::now();
    p.send_control('c').expect("Ctrl-C");
    expect_line(p, "Interrupted");
    sent.elapsed()
}

#[test]
fn ctrl_c_cancels_the_running_entry() {
    let home = temp_home("ctrl-c-entry");
    let mut p = spawn_repl(&home);
    enter(
        &mut p,
        "> ",
        "time = require('silly.time') closer = setmetatable({}, {__close = function() print('closed') end})",
    );
    let took = interrupt(&mut p, "time.sleep(5000) print('not cancelled')");
    assert!(took < Duration::from_secs(2), "Ctrl-C took {took:?}");
    enter(&mut p, "> ", "1+1");
    expect_line(&mut p, "2");
    // A to-be-closed variable of the cancelled entry is closed.
    enter(
        &mut p,
        "> ",
        "do local c <close> = closer time.sleep(5000) end",
    );
    std::thread::sleep(Duration::from_millis(300));
    p.send_control('c').expect("Ctrl-C");
    expect_line(&mut p, "closed");
    expect_line(&mut p, "Interrupted");
    // An entry that holds the loop in Lua code, even under pcall, is interrupted too.
    interrupt(&mut p, "while true do end");
    interrupt(&mut p, "while true do pcall(function() end) end");
    // The cancelled tasks are gone: the entry that asks is the only live task.
    enter(
        &mut p,
        "> ",
        "n = 0 for _ in pairs(require('silly.task').inspect()) do n = n + 1 end print('tasks', n)",
    );
    expect_line(&mut p, "tasks\t1");
    assert!(exited_with(quit(&mut p), 0), "after Ctrl-C");
}

#[test]
fn sync_primitives_forget_an_entry_cancelled_while_waiting_on_them() {
    let home = temp_home("ctrl-c-sync");
    let mut p = spawn_repl(&home);
    enter(
        &mut p,
        "> ",
        "ch = require('silly.sync.channel').new() mu = require('silly.sync.mutex').new() wg = require('silly.sync.waitgroup').new() task = require('silly.task') time = require('silly.time')",
    );
    interrupt(&mut p, "print('popped', ch:pop())");
    // The cancelled popper is forgotten: the item is queued for the next pop.
    enter(
        &mut p,
        "> ",
        "print('push', ch:push(1)) print('got', ch:pop())",
    );
    expect_line(&mut p, "push\ttrue");
    expect_line(&mut p, "got\t1\tnil");
    // A cancelled mutex waiter is passed over when the owner unlocks.
    enter(
        &mut p,
        "> ",
        "task.fork(function() local l = mu:lock('k') time.sleep(600) l:unlock() end)",
    );
    interrupt(&mut p, "mu:lock('k') print('locked by the entry')");
    enter(
        &mut p,
        "> ",
        "time.sleep(700) local l = mu:lock('k') print('relocked') l:unlock()",
    );
    expect_line(&mut p, "relocked");
    // A cancelled waitgroup waiter is dropped when the group finishes.
    enter(&mut p, "> ", "wg:fork(function() time.sleep(600) end)");
    interrupt(&mut p, "wg:wait() print('waited')");
    enter(&mut p, "> ", "time.sleep(700) print('group done')");
    expect_line(&mut p, "group done");
    assert!(exited_with(quit(&mut p), 0), "after the cancelled waits");
}

#[test]
fn a_listener_started_at_the_prompt_serves_after_ctrl_c() {
    use std::io::Read;
    let home = temp_home("ctrl-c-listener");
    let mut p = spawn_repl(&home);
    enter(
        &mut p,
        "> ",
        "l = require('silly.net.tcp').listen{addr = '127.0.0.1:0', accept = function(c) c:write('pong\\n') c:close() end}",
    );
    enter(&mut p, "> ", "'ad' .. 'dr=' .. l:localaddr()");
    p.exp_string("addr=").expect("address");
    let addr = p.exp_string("\r\n").expect("address line");
    interrupt(&mut p, "require('silly.time').sleep(5000)");
    let mut conn = std::net::TcpStream::connect(addr.trim()).expect("connect after Ctrl-C");
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut got = String::new();
    conn.read_to_string(&mut got).expect("read the answer");
    assert_eq!(got, "pong\n");
    enter(&mut p, "> ", "'still here'");
    expect_line(&mut p, "still here");
    assert!(exited_with(quit(&mut p), 0));
}

#[test]
fn ctrl_c_twice_at_an_empty_prompt_exits_0() {
    let home = temp_home("ctrl-c-twice");
    let mut p = spawn_repl(&home);
    expect_at_line_start(&mut p, "> ").expect("prompt");
    p.send_control('c').expect("Ctrl-C");
    expect_line(&mut p, "(To exit, press Ctrl+C again or Ctrl+D)");
    // Something else in between disarms it.
    enter(&mut p, "> ", "1+1");
    expect_line(&mut p, "2");
    expect_at_line_start(&mut p, "> ").expect("prompt");
    p.send_control('c').expect("Ctrl-C");
    expect_line(&mut p, "(To exit, press Ctrl+C again or Ctrl+D)");
    expect_at_line_start(&mut p, "> ").expect("prompt");
    p.send_control('c').expect("second Ctrl-C");
    let status = wait_exit(&mut p, "two Ctrl-C");
    assert!(exited_with(status, 0), "{status:?}");
}

#[test]
fn top_level_locals_stay_visible() {
    let home = temp_home("locals");
    let mut p = spawn_repl(&home);
    enter(&mut p, "> ", "local t = require 'silly.time'");
    enter(&mut p, "> ", "t.sleep(1) print(type(t.sleep))");
    expect_line(&mut p, "function");
    enter(
        &mut p,
        "> ",
        "local a, b = 1, 2 do local inner = 3 end local function f() return a + b end",
    );
    enter(&mut p, "> ", "f(), a, b, inner, rawget(_G, 'a')");
    expect_line(&mut p, "3\t1\t2\tnil\tnil");
    // A compile-time constant has no stack slot; it is kept all the same.
    enter(&mut p, "> ", "local k <const> = 42 local a = 'later'");
    enter(&mut p, "> ", "k, a");
    expect_line(&mut p, "42\tlater");
    // Assigning a kept local changes it; other names are globals.
    enter(&mut p, "> ", "a = 'changed' g = 'global'");
    enter(&mut p, "> ", "a, rawget(_G, 'a'), rawget(_G, 'g')");
    expect_line(&mut p, "changed\tnil\tglobal");
    // A local declared without a value is a local too.
    enter(&mut p, "> ", "local n");
    enter(&mut p, "> ", "n = 1");
    enter(&mut p, "> ", "n, rawget(_G, 'n')");
    expect_line(&mut p, "1\tnil");
    assert!(exited_with(quit(&mut p), 0));
}

#[test]
fn a_traceback_ends_at_the_entry() {
    let home = temp_home("traceback");
    let mut p = spawn_repl(&home);
    enter(
        &mut p,
        "> ",
        "local function boom() error('deep') end boom()",
    );
    p.exp_string("Error: stdin:1: deep").expect("the error");
    let trace = p
        .exp_string("\r\n\r> ")
        .expect("the traceback, then the prompt");
    assert!(trace.contains("stack traceback:"), "{trace}");
    assert!(trace.contains("in local 'boom'"), "{trace}");
    assert!(trace.trim_end().ends_with("in main chunk"), "{trace}");
    assert!(
        !trace.contains("xpcall") && !trace.contains("repl"),
        "{trace}"
    );
    // The prompt that ended the traceback is waiting.
    p.send_line("1+1").expect("type at the prompt");
    expect_line(&mut p, "2");
    assert!(exited_with(quit(&mut p), 0));
}

#[test]
fn tab_completes_names_fields_and_methods() {
    let home = temp_home("complete");
    let mut p = spawn_repl(&home);
    enter(&mut p, "> ", "local s = 'ab' tcp = require 'silly.net.tcp'");
    // Each Tab must be answered before the rest of the line is typed.
    let cases = [
        ("pri", "print", "('x' .. 1)", "x1"),
        ("string.up", "string.upper", "(s)", "AB"),
        ("s:up", "s:upper", "()", "AB"),
        ("tcp.lis", "tcp.listen", " ~= nil", "true"),
    ];
    for (typed, completed, rest, want) in cases {
        expect_at_line_start(&mut p, "> ").expect("prompt");
        p.send(&format!("{typed}\t")).expect("type and Tab");
        p.flush().expect("flush");
        p.exp_string(completed)
            .unwrap_or_else(|e| panic!("{typed:?} completed to {completed:?}: {e}"));
        p.send_line(rest).expect("finish the line");
        expect_line(&mut p, want);
    }
    assert!(exited_with(quit(&mut p), 0));
}
