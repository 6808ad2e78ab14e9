//! OS signals sent to a child `silly` (docs/logger.md#output, docs/signal.md#default-actions): default exits, Lua handlers,
//! unregistering, the forced exit of a stuck process, log reopening on SIGUSR1.
//!
//! Each child prints "ready" once its handlers are in place; signals are sent only after that
//! line arrived, so no test depends on how fast the child starts.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::{Output, run, silly, temp_dir, wait_limited};

const LIMIT: Duration = Duration::from_secs(20);

/// A running child whose stdout lines arrive on a channel.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Every line read so far, for failure messages.
    seen: Vec<String>,
}

impl Running {
    fn start(args: &[&str]) -> Running {
        let mut child = silly()
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn silly");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Running {
            child,
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// Waits for the next stdout line equal to `want`, skipping others.
    fn expect_line(&mut self, want: &str) {
        let deadline = Instant::now() + LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let done = line == want;
                    self.seen.push(line);
                    if done {
                        return;
                    }
                }
                Err(e) => {
                    let _ = self.child.kill();
                    let err = self.child.stderr.take().map(|mut s| {
                        let mut text = String::new();
                        let _ = std::io::Read::read_to_string(&mut s, &mut text);
                        text
                    });
                    panic!(
                        "no line {want:?} ({e}); stdout so far: {:?}; stderr: {err:?}",
                        self.seen
                    );
                }
            }
        }
    }

    fn signal(&self, sig: libc::c_int) {
        // SAFETY: kill only sends a signal to our own child, identified by its pid.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, sig) };
        assert_eq!(
            rc,
            0,
            "kill({sig}) failed: {}",
            std::io::Error::last_os_error()
        );
    }

    /// Whether the child is still running.
    fn alive(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// Waits for the end (bounded); the output's stdout holds every line, consumed or not.
    fn finish(self) -> Output {
        let Running {
            child,
            lines,
            mut seen,
        } = self;
        let mut out = wait_limited(child, LIMIT);
        // The reader thread ends at EOF, which follows the exit; until then lines may be in flight.
        while let Ok(line) = lines.recv_timeout(LIMIT) {
            seen.push(line);
        }
        out.stdout = seen.iter().map(|l| format!("{l}\n")).collect();
        out
    }
}

/// A script that prints "ready" and then stays alive (a long sleep) until a signal decides.
const WAIT: &str = "print('ready') require('silly.time').sleep(60000) print('sleep ended')";

#[test]
fn sigterm_without_handler_exits_143() {
    let mut p = Running::start(&["-e", WAIT]);
    p.expect_line("ready");
    p.signal(libc::SIGTERM);
    let out = p.finish();
    assert!(!out.timed_out, "{out:?}");
    assert_eq!(out.code, Some(143), "{out:?}");
}

#[test]
fn sigint_without_handler_exits_130() {
    let mut p = Running::start(&["-e", WAIT]);
    p.expect_line("ready");
    p.signal(libc::SIGINT);
    let out = p.finish();
    assert!(!out.timed_out, "{out:?}");
    assert_eq!(out.code, Some(130), "{out:?}");
}

#[test]
fn default_exit_flushes_buffered_output() {
    // io.write without a newline sits in C stdio's buffer when stdout is a pipe.
    let mut p = Running::start(&[
        "-e",
        "print('ready') io.write('unflushed') require('silly.time').sleep(60000)",
    ]);
    p.expect_line("ready");
    p.signal(libc::SIGTERM);
    let out = p.finish();
    assert_eq!(out.code, Some(143), "{out:?}");
    assert!(out.stdout.ends_with("unflushed\n"), "{out:?}");
}

#[test]
fn handler_runs_once_per_delivery() {
    let code = "local silly = require 'silly'\n\
                local signal = require 'silly.signal'\n\
                local task = require 'silly.task'\n\
                local n = 0\n\
                signal('SIGUSR1', function(name)\n\
                    n = n + 1\n\
                    print('handled ' .. name .. ' ' .. n .. ' main=' .. tostring(task.running() == main))\n\
                    if n == 3 then silly.exit(0) end\n\
                end)\n\
                main = task.running()\n\
                print('ready')\n\
                require('silly.time').sleep(60000)\n";
    let mut p = Running::start(&["-e", code]);
    p.expect_line("ready");
    for i in 1..=3 {
        p.signal(libc::SIGUSR1);
        p.expect_line(&format!("handled SIGUSR1 {i} main=false"));
    }
    let out = p.finish();
    assert!(!out.timed_out, "{out:?}");
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stderr, "", "{out:?}");
}

#[test]
fn signals_arriving_while_the_loop_is_busy_are_counted_not_dropped() {
    // The main chunk keeps the loop busy for a while after "ready": all three deliveries
    // arrive before any handler can run, and each must still run it once.
    let code = "local silly = require 'silly'\n\
                local signal = require 'silly.signal'\n\
                local time = require 'silly.time'\n\
                local n = 0\n\
                signal.register('SIGUSR2', function() n = n + 1 print('n=' .. n) end)\n\
                print('ready') io.stdout:flush()\n\
                local t0 = time.monotonic()\n\
                while time.monotonic() - t0 < 1000 do end\n\
                print('busy done')\n\
                time.sleep(300)\n\
                print('total=' .. n)\n";
    let mut p = Running::start(&["-e", code]);
    p.expect_line("ready");
    for _ in 0..3 {
        p.signal(libc::SIGUSR2);
        // Separate deliveries: the kernel itself merges a signal sent while one is pending.
        std::thread::sleep(Duration::from_millis(50));
    }
    p.expect_line("busy done");
    p.expect_line("total=3");
    let out = p.finish();
    assert_eq!(out.code, Some(0), "{out:?}");
}

#[test]
fn handler_on_sigterm_keeps_the_process_running() {
    let code = "local signal = require 'silly.signal'\n\
                signal('SIGTERM', function() print('caught') require('silly').exit(5) end)\n\
                print('ready')\n\
                require('silly.time').sleep(60000)\n";
    let mut p = Running::start(&["-e", code]);
    p.expect_line("ready");
    p.signal(libc::SIGTERM);
    p.expect_line("caught");
    let out = p.finish();
    assert_eq!(
        out.code,
        Some(5),
        "the handler, not the default, decided: {out:?}"
    );
}

#[test]
fn unregister_restores_the_default() {
    let code = "local signal = require 'silly.signal'\n\
                signal.register('SIGTERM', function() print('handler must not run') end)\n\
                local prev = signal.unregister('SIGTERM')\n\
                print('had handler', type(prev))\n\
                print('ready')\n\
                require('silly.time').sleep(60000)\n";
    let mut p = Running::start(&["-e", code]);
    p.expect_line("had handler\tfunction");
    p.expect_line("ready");
    p.signal(libc::SIGTERM);
    let out = p.finish();
    assert_eq!(out.code, Some(143), "{out:?}");
    assert!(!out.stdout.contains("handler must not run"), "{out:?}");
}

#[test]
fn callable_form_with_nil_restores_the_default() {
    let code = "local signal = require 'silly.signal'\n\
                local function h() print('handler must not run') end\n\
                signal('SIGINT', h)\n\
                print('prev is h', signal('SIGINT', nil) == h)\n\
                print('ready')\n\
                require('silly.time').sleep(60000)\n";
    let mut p = Running::start(&["-e", code]);
    p.expect_line("prev is h\ttrue");
    p.expect_line("ready");
    p.signal(libc::SIGINT);
    let out = p.finish();
    assert_eq!(out.code, Some(130), "{out:?}");
}

#[test]
fn registered_handler_does_not_keep_the_process_alive() {
    let code = "require('silly.signal')('SIGUSR1', function() end) print('done')";
    let out = wait_limited(
        silly()
            .args(["-e", code])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn"),
        Duration::from_secs(5),
    );
    assert!(!out.timed_out, "{out:?}");
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stdout, "done\n");
}

#[test]
fn second_sigint_ends_a_stuck_process() {
    let mut p = Running::start(&["-e", "print('ready') io.stdout:flush() while true do end"]);
    p.expect_line("ready");
    p.signal(libc::SIGINT);
    // The first one waits for the loop, which never gets a turn.
    std::thread::sleep(Duration::from_millis(300));
    assert!(p.alive(), "a busy loop cannot act on the first SIGINT");
    p.signal(libc::SIGINT);
    let out = p.finish();
    assert!(!out.timed_out, "{out:?}");
    assert_eq!(out.code, Some(130), "{out:?}");
}

#[test]
fn second_sigterm_ends_a_stuck_process() {
    let mut p = Running::start(&["-e", "print('ready') io.stdout:flush() while true do end"]);
    p.expect_line("ready");
    p.signal(libc::SIGTERM);
    std::thread::sleep(Duration::from_millis(300));
    assert!(p.alive(), "a busy loop cannot act on the first SIGTERM");
    p.signal(libc::SIGTERM);
    let out = p.finish();
    assert!(!out.timed_out, "{out:?}");
    assert_eq!(out.code, Some(143), "{out:?}");
}

#[test]
fn sigusr1_without_handler_or_log_file_is_harmless() {
    let code = "print('ready')\n\
                require('silly.time').sleep(500)\n\
                print('survived')\n";
    let mut p = Running::start(&["-e", code]);
    p.expect_line("ready");
    p.signal(libc::SIGUSR1);
    std::thread::sleep(Duration::from_millis(50));
    p.signal(libc::SIGUSR1);
    p.expect_line("survived");
    let out = p.finish();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stderr, "", "{out:?}");
}

#[test]
fn sigpipe_is_ignored() {
    let code = "print('ready') require('silly.time').sleep(300) print('survived')";
    let mut p = Running::start(&["-e", code]);
    p.expect_line("ready");
    p.signal(libc::SIGPIPE);
    p.expect_line("survived");
    let out = p.finish();
    assert_eq!(out.code, Some(0), "{out:?}");
}

#[test]
fn sigusr1_reopens_the_log_file_after_rotation() {
    let dir = temp_dir("signals-rotate");
    let log = dir.join("app.log");
    let rotated = dir.join("app.log.1");
    // SIGUSR2 asks for the second record; the script has no SIGUSR1 handler.
    let code = "local logger = require 'silly.logger'\n\
                logger.info('record-before')\n\
                require('silly.signal')('SIGUSR2', function()\n\
                    logger.info('record-after')\n\
                    print('logged')\n\
                    require('silly').exit(0)\n\
                end)\n\
                print('ready')\n\
                require('silly.time').sleep(60000)\n";
    let mut p = Running::start(&["--log-path", log.to_str().unwrap(), "-e", code]);
    p.expect_line("ready");
    std::fs::rename(&log, &rotated).expect("rotate the log");
    p.signal(libc::SIGUSR1);
    // Nothing observable says the reopen is done; the new file appearing does.
    let deadline = Instant::now() + LIMIT;
    while !log.exists() {
        assert!(
            Instant::now() < deadline,
            "SIGUSR1 did not reopen {}",
            log.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    p.signal(libc::SIGUSR2);
    p.expect_line("logged");
    let out = p.finish();
    assert_eq!(out.code, Some(0), "{out:?}");
    let old = std::fs::read_to_string(&rotated).expect("rotated log");
    let new = std::fs::read_to_string(&log).expect("new log");
    assert!(
        old.contains("record-before") && !old.contains("record-after"),
        "old: {old:?}"
    );
    assert!(
        new.contains("record-after") && !new.contains("record-before"),
        "new: {new:?}"
    );
}

#[test]
fn sigusr1_handler_replaces_the_log_reopen() {
    let dir = temp_dir("signals-rotate-handled");
    let log = dir.join("app.log");
    let rotated = dir.join("app.log.1");
    let code = "local logger = require 'silly.logger'\n\
                require('silly.signal')('SIGUSR1', function()\n\
                    logger.info('record-after')\n\
                    print('handled')\n\
                    require('silly').exit(0)\n\
                end)\n\
                print('ready')\n\
                require('silly.time').sleep(60000)\n";
    let mut p = Running::start(&["--log-path", log.to_str().unwrap(), "-e", code]);
    p.expect_line("ready");
    std::fs::rename(&log, &rotated).expect("rotate the log");
    p.signal(libc::SIGUSR1);
    p.expect_line("handled");
    let out = p.finish();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(!log.exists(), "the Lua handler took SIGUSR1: no reopen");
    let old = std::fs::read_to_string(&rotated).expect("rotated log");
    assert!(old.contains("record-after"), "{old:?}");
}

#[test]
fn handler_error_is_logged_and_later_deliveries_still_run() {
    let code = "local n = 0\n\
                require('silly.signal')('SIGUSR1', function()\n\
                    n = n + 1\n\
                    if n == 1 then error('handler boom') end\n\
                    print('second ran')\n\
                    require('silly').exit(0)\n\
                end)\n\
                print('ready')\n\
                require('silly.time').sleep(60000)\n";
    let mut p = Running::start(&["-e", code]);
    p.expect_line("ready");
    p.signal(libc::SIGUSR1);
    std::thread::sleep(Duration::from_millis(100));
    p.signal(libc::SIGUSR1);
    p.expect_line("second ran");
    let out = p.finish();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stderr.matches("handler boom").count(), 1, "{out:?}");
    assert!(out.stderr.contains("stack traceback:"), "{out:?}");
}

/// A task parked in `task.wait()` (here through a channel) while a signal handler is
/// registered is not a deadlock: the process waits for the signal, whose handler wakes it
/// (the `kill -USR1 $pid` pattern of a script with no socket open). Also when the signal
/// arrives before the task parks.
#[test]
fn a_parked_task_waits_for_a_signal_handler() {
    let code = "local ch = require('silly.sync.channel').new()\n\
                require('silly.signal')('SIGUSR1', function() ch:push('got it') end)\n\
                print('ready') io.stdout:flush()\n\
                print((ch:pop()))\n";
    let mut p = Running::start(&["-e", code]);
    p.expect_line("ready");
    std::thread::sleep(Duration::from_millis(200));
    assert!(p.alive(), "exited (as a deadlock?) before the signal came");
    p.signal(libc::SIGUSR1);
    p.expect_line("got it");
    let out = p.finish();
    assert_eq!(out.code, Some(0), "{out:?}");
    let early = "local silly = require('silly')\n\
                 local task = require('silly.task')\n\
                 local main = task.running()\n\
                 require('silly.signal')('SIGUSR1', function() task.wakeup(main) end)\n\
                 os.execute('kill -USR1 ' .. silly.pid)\n\
                 task.wait()\n\
                 print('woken')\n";
    for _ in 0..20 {
        let out = run(&["-e", early], "", Duration::from_secs(10));
        assert_eq!(out.code, Some(0), "{out:?}");
        assert_eq!(out.stdout, "woken\n");
    }
}

/// The counter-cases: a handler that was removed again does not turn a parked task into a
/// waiter for signals (it is a deadlock, exit 1), and a handler with no task parked does not
/// keep the process alive (exit 0 at once).
#[test]
fn only_a_registered_handler_lets_a_parked_task_wait() {
    let code = "local signal = require('silly.signal')\n\
                local ch = require('silly.sync.channel').new()\n\
                signal('SIGUSR1', function() ch:push(1) end)\n\
                signal.unregister('SIGUSR1')\n\
                print((ch:pop()))\n";
    let out = run(&["-e", code], "", Duration::from_secs(10));
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr
            .contains("deadlock: 1 task is waiting in task.wait()"),
        "{out:?}"
    );
    let code = "local ch = require('silly.sync.channel').new()\n\
                require('silly.signal')('SIGUSR1', function() ch:push(1) end)\n\
                print('no one waits')\n";
    let out = run(&["-e", code], "", Duration::from_secs(10));
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stdout, "no one waits\n");
}
