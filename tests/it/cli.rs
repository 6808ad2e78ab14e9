//! The command line of the built binary (docs/cli.md, docs/logger.md#output): what each way of starting
//! `silly` prints on stdout and stderr and which status it ends with.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::common::{self, Output, run, temp_dir, wait_limited};

const LIMIT: Duration = Duration::from_secs(20);

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write script");
    path.to_str().expect("utf-8 path").to_string()
}

/// Runs `silly args`, with nothing on stdin, and fails the test if it hung.
fn silly_run(args: &[&str]) -> Output {
    let out = run(args, "", LIMIT);
    assert!(!out.timed_out, "silly {args:?} timed out\n{out:?}");
    out
}

#[test]
fn exec_chunks_run_in_order() {
    let out = silly_run(&[
        "-e",
        "print('one')",
        "-e",
        "print('two')",
        "-e",
        "io.write('three\\n')",
    ]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stdout, "one\ntwo\nthree\n");
    assert_eq!(out.stderr, "", "quiet by default");
}

#[test]
fn exec_chunks_run_before_the_script_and_see_its_arguments() {
    let dir = temp_dir("cli-exec-script");
    let script = write(&dir, "s.lua", "print('script', x, ...)\n");
    let out = silly_run(&[
        "-e",
        "x = 'set by -e'",
        "-e",
        "print('e', ...)",
        &script,
        "a",
        "b",
    ]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stdout, "e\ta\tb\nscript\tset by -e\ta\tb\n");
}

#[test]
fn script_arguments_in_arg_and_varargs() {
    let dir = temp_dir("cli-args");
    let script = write(
        &dir,
        "args.lua",
        "print(select('#', ...), ...)\n\
         print(arg[0], arg[1], arg[2], arg[3], #arg)\n\
         print(arg[-1] ~= nil)\n",
    );
    let out = silly_run(&[&script, "one", "two words", ""]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "3\tone\ttwo words\t");
    assert_eq!(lines[1], format!("{script}\tone\ttwo words\t\t3"));
    assert_eq!(lines[2], "true", "arg[-1] names the interpreter");
}

#[test]
fn key_value_after_the_script_reaches_env_and_arg() {
    let dir = temp_dir("cli-env");
    let script = write(
        &dir,
        "env.lua",
        "local env = require 'silly.env'\n\
         print(env.get('port'), env.get('name'))\n\
         print(arg[1], arg[2], arg[3])\n\
         print(...)\n",
    );
    let out = silly_run(&[&script, "--port=8080", "plain", "--name=svc"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(
        out.stdout,
        "8080\tsvc\n--port=8080\tplain\t--name=svc\n--port=8080\tplain\t--name=svc\n"
    );
}

#[test]
fn dash_reads_the_script_from_stdin() {
    let out = run(
        &["-", "x", "y"],
        "print('from stdin', arg[0], ...)\n",
        LIMIT,
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stdout, "from stdin\t-\tx\ty\n");
}

#[test]
fn piped_stdin_without_a_script_is_the_script() {
    let out = run(
        &[],
        "local t = {}\nfor i = 1, 3 do t[i] = i * i end\nprint(table.concat(t, ','))\n",
        LIMIT,
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stdout, "1,4,9\n");
    assert_eq!(out.stderr, "");
}

#[test]
fn shebang_script_runs_through_path() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir("cli-shebang");
    let script = write(
        &dir,
        "hello-silly",
        "#!/usr/bin/env silly\nprint('hello from', arg[0], ...)\n",
    );
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_silly"))
        .parent()
        .expect("binary directory");
    let path = std::env::join_paths([bin_dir.to_path_buf(), dir.clone()].into_iter().chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .expect("PATH");
    let child = std::process::Command::new("hello-silly")
        .arg("world")
        .env("PATH", path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the script by name");
    let out = wait_limited(child, LIMIT);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stdout, format!("hello from\t{script}\tworld\n"));
}

#[test]
fn shebang_line_keeps_line_numbers() {
    let dir = temp_dir("cli-shebang-lines");
    let script = write(
        &dir,
        "s.lua",
        "#!/usr/bin/env silly\nerror('on line two')\n",
    );
    let out = silly_run(&[&script]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("s.lua:2: on line two"), "{out:?}");
}

#[test]
fn byte_order_mark_is_skipped() {
    let dir = temp_dir("cli-bom");
    let plain = write(&dir, "bom.lua", "\u{feff}print('bom ok')\n");
    let shebang = write(
        &dir,
        "bom-shebang.lua",
        "\u{feff}#!/usr/bin/env silly\nprint('bom shebang ok')\n",
    );
    for (script, want) in [(plain, "bom ok\n"), (shebang, "bom shebang ok\n")] {
        let out = silly_run(&[&script]);
        assert_eq!(out.code, Some(0), "{out:?}");
        assert_eq!(out.stdout, want);
    }
}

#[test]
fn missing_script_is_one_clear_line() {
    let dir = temp_dir("cli-missing");
    let missing = dir.join("nope.lua");
    let missing = missing.to_str().unwrap();
    let out = silly_run(&[missing]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(
        out.stderr.contains(missing) && out.stderr.contains("No such file"),
        "{out:?}"
    );
}

#[test]
fn syntax_error_is_one_line_and_nothing_runs() {
    let dir = temp_dir("cli-syntax");
    let script = write(&dir, "bad.lua", "print('must not run')\nlocal x = = 1\n");
    let out = silly_run(&[&script]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(out.stderr.contains("bad.lua:2:"), "{out:?}");

    let out = silly_run(&["-e", "print('must not run')", "-e", "x = = 1"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("(command line #2):1:"), "{out:?}");
}

#[test]
fn uncaught_main_chunk_error_prints_traceback_and_exits_1() {
    let dir = temp_dir("cli-main-error");
    let script = write(
        &dir,
        "boom.lua",
        "print('before')\nlocal function inner() error('main boom') end\ninner()\nprint('after')\n",
    );
    let out = silly_run(&[&script]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(out.stdout, "before\n");
    assert!(out.stderr.contains("boom.lua:2: main boom"), "{out:?}");
    assert!(out.stderr.contains("stack traceback:"), "{out:?}");
    assert!(out.stderr.contains("in local 'inner'"), "{out:?}");
}

#[test]
fn uncaught_error_with_pending_timer_still_exits_1() {
    let out = silly_run(&[
        "-e",
        "require('silly.time').after(10000, function() end) error('early')",
    ]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("early"), "{out:?}");
}

#[test]
fn error_in_a_forked_task_is_logged_and_the_process_goes_on() {
    let code = "local task = require 'silly.task'\n\
                local time = require 'silly.time'\n\
                task.fork(function() error('fork boom') end)\n\
                time.sleep(50)\n\
                print('still running')\n";
    let out = silly_run(&["-e", code]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stdout, "still running\n");
    assert_eq!(
        out.stderr.matches("fork boom").count(),
        1,
        "logged once: {out:?}"
    );
    assert!(out.stderr.contains(" E "), "logged at ERROR: {out:?}");
    assert!(out.stderr.contains("stack traceback:"), "{out:?}");
}

#[test]
fn error_in_a_timer_callback_is_logged_and_the_process_goes_on() {
    let code = "local time = require 'silly.time'\n\
                time.after(10, function() error('timer boom') end)\n\
                time.after(60, function() print('later timer ran') end)\n";
    let out = silly_run(&["-e", code]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stdout, "later timer ran\n");
    assert!(out.stderr.contains("timer boom"), "{out:?}");
}

#[test]
fn deadlock_exits_1_naming_the_stuck_tasks() {
    let code = "local task = require 'silly.task'\n\
                for i = 1, 3 do task.fork(function() task.wait() end) end\n";
    let out = silly_run(&["-e", code]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("deadlock"), "{out:?}");
    assert!(out.stderr.contains("3 tasks"), "{out:?}");

    let out = silly_run(&["-e", "require('silly.task').wait()"]);
    assert_eq!(out.code, Some(1), "the main task itself stuck: {out:?}");
    assert!(out.stderr.contains("1 task "), "{out:?}");
}

#[test]
fn idle_exit_after_timers_finish() {
    let code = "local time = require 'silly.time'\n\
                time.after(150, function() print('second') end)\n\
                time.after(50, function() print('first') end)\n\
                print('main done')\n";
    let started = std::time::Instant::now();
    let out = silly_run(&["-e", code]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stdout, "main done\nfirst\nsecond\n");
    assert_eq!(out.stderr, "");
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[test]
fn cancelled_timer_does_not_keep_the_process_alive() {
    let code = "local time = require 'silly.time'\n\
                local t = time.after(60000, function() print('must not run') end)\n\
                time.cancel(t)\n";
    let out = run(&["-e", code], "", Duration::from_secs(5));
    assert!(
        !out.timed_out,
        "a cancelled timer kept the process alive: {out:?}"
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stdout, "");
}

#[test]
fn exit_status_is_masked_to_a_byte() {
    let out = silly_run(&["-e", "require('silly').exit(257)"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    let out = silly_run(&["-e", "require('silly').exit(42)"]);
    assert_eq!(out.code, Some(42), "{out:?}");
}

#[test]
fn exit_flushes_buffered_output_and_stops_at_once() {
    let code = "io.write('partial') local silly = require 'silly'\n\
                require('silly.time').after(10, function() io.write(' line') silly.exit(7) end)\n\
                require('silly.time').after(5000, function() print('must not run') end)\n";
    let out = silly_run(&["-e", code]);
    assert_eq!(out.code, Some(7), "{out:?}");
    assert_eq!(out.stdout, "partial line");
}

/// The version Cargo.lock pins for `package`.
fn locked_version(package: &str) -> String {
    let lock = std::fs::read_to_string(common::root().join("Cargo.lock")).expect("Cargo.lock");
    let entry = lock
        .split("[[package]]")
        .find(|e| e.contains(&format!("\nname = \"{package}\"\n")))
        .expect("package in Cargo.lock");
    let line = entry
        .lines()
        .find(|l| l.starts_with("version = "))
        .expect("version line");
    line.trim_start_matches("version = ")
        .trim_matches('"')
        .to_string()
}

#[test]
fn version_names_silly_lua_and_rustls() {
    // The Lua release is the one of the embedded lua.h (build.rs): "Lua 5.5.1".
    let lua = env!("SILLY_LUA_RELEASE");
    assert!(lua.starts_with("Lua 5.5."), "{lua}");
    let expected = format!(
        "silly {} ({lua}, rustls {})\n",
        env!("CARGO_PKG_VERSION"),
        locked_version("rustls")
    );
    for flag in ["-v", "--version"] {
        let out = silly_run(&[flag]);
        assert_eq!(out.code, Some(0), "{out:?}");
        assert_eq!(out.stdout, expected);
        assert_eq!(out.stderr, "");
    }
}

#[test]
fn make_install_honours_prefix_and_destdir() {
    // A dry run: the real install needs the release build (minutes); docs/cli.md#install.
    let out = std::process::Command::new("make")
        .args(["-n", "install", "PREFIX=/opt/silly", "DESTDIR=/tmp/stage"])
        .current_dir(common::root())
        .output()
        .expect("run make");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("cargo build --release"), "{text}");
    assert!(
        text.contains("install -m 755 target/release/silly /tmp/stage/opt/silly/bin/silly"),
        "{text}"
    );
    let out = std::process::Command::new("make")
        .args(["-n", "install"])
        .current_dir(common::root())
        .output()
        .expect("run make");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("target/release/silly /usr/local/bin/silly"),
        "{text}"
    );
}

#[test]
fn help_exits_0() {
    for flag in ["-h", "--help"] {
        let out = silly_run(&[flag]);
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(out.stdout.contains("Usage:"), "{out:?}");
        for opt in [
            "-e",
            "-i",
            "--log-level",
            "--log-path",
            "--lualib-path",
            "--lualib-cpath",
            "--types",
            "--headers",
        ] {
            assert!(out.stdout.contains(opt), "help lists {opt}: {out:?}");
        }
    }
}

#[test]
fn unknown_option_exits_2_with_a_clear_message() {
    for args in [
        &["--bogus"][..],
        &["--bogus", "x.lua"],
        &["-Z", "-e", "print(1)"],
    ] {
        let out = silly_run(args);
        assert_eq!(out.code, Some(2), "{args:?}: {out:?}");
        assert_eq!(out.stdout, "");
        assert!(
            out.stderr
                .contains(&format!("unknown option '{}'", args[0])),
            "names the option: {out:?}"
        );
    }
}

#[test]
fn bad_log_level_exits_2_with_a_clear_message() {
    for args in [
        &["-l", "loud", "-e", "print(1)"][..],
        &["--log-level=loud", "-e", "print(1)"],
    ] {
        let out = silly_run(args);
        assert_eq!(out.code, Some(2), "{out:?}");
        assert_eq!(out.stdout, "", "nothing ran: {out:?}");
        assert!(out.stderr.contains("loud"), "{out:?}");
        assert!(
            out.stderr.contains("debug") && out.stderr.contains("error"),
            "lists the levels: {out:?}"
        );
    }
}

#[test]
fn missing_option_value_exits_2() {
    for flag in ["-e", "-l", "-L", "--log-path"] {
        let out = silly_run(&[flag]);
        assert_eq!(out.code, Some(2), "{flag}: {out:?}");
        assert!(out.stderr.contains("value"), "{flag}: {out:?}");
    }
}

#[test]
fn log_level_filters_records() {
    let code = "local logger = require 'silly.logger'\n\
                logger.info('info-record') logger.warn('warn-record') logger.error('error-record')\n";
    let out = silly_run(&["-l", "warn", "-e", code]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(!out.stderr.contains("info-record"), "{out:?}");
    assert!(
        out.stderr.contains("warn-record") && out.stderr.contains("error-record"),
        "{out:?}"
    );
    assert_eq!(out.stdout, "", "logging stays off stdout");
}

#[test]
fn unwritable_log_path_is_a_clear_error() {
    let dir = temp_dir("cli-log-path-bad");
    let log = dir.join("no-such-dir").join("app.log");
    let out = silly_run(&["--log-path", log.to_str().unwrap(), "-e", "print('ran')"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(out.stderr.contains("app.log"), "{out:?}");
}

#[test]
fn lualib_path_dir_makes_modules_requirable() {
    let dir = temp_dir("cli-lualib");
    write(&dir, "mymod.lua", "return { answer = 42 }\n");
    std::fs::create_dir_all(dir.join("pkg")).unwrap();
    write(&dir.join("pkg"), "init.lua", "return { name = 'pkg' }\n");
    let d = dir.to_str().unwrap();
    let code = "print(require('mymod').answer, require('pkg').name)";
    let out = silly_run(&["-L", d, "-e", code]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stdout, "42\tpkg\n");

    let with_slash = format!("{d}/");
    let out = silly_run(&["--lualib-path", &with_slash, "-e", code]);
    assert_eq!(out.stdout, "42\tpkg\n", "{out:?}");

    let pattern = format!("{d}/?.lua");
    let out = silly_run(&["-L", &pattern, "-e", "print(require('mymod').answer)"]);
    assert_eq!(out.stdout, "42\n", "{out:?}");

    let out = silly_run(&["-C", d, "-e", "print(package.cpath)"]);
    assert!(
        out.stdout.starts_with(&format!("{d}/?.so;")),
        "-C adds dir/?.so first: {out:?}"
    );

    let out = silly_run(&["-e", "print(pcall(require, 'mymod'))"]);
    assert!(
        out.stdout.starts_with("false"),
        "not requirable without -L: {out:?}"
    );
}

/// Regression: with -i, a main chunk stuck in task.wait() hung forever (the REPL's hold on the
/// process hid the deadlock); it is now reported like any deadlock.
#[test]
fn interactive_with_deadlocked_main_reports_deadlock() {
    let out = common::run(
        &["-i", "-e", "require('silly.task').wait()"],
        "",
        std::time::Duration::from_secs(10),
    );
    assert!(!out.timed_out, "hung: {out:?}");
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("deadlock"), "{out:?}");
}
