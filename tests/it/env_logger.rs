//! `silly.env` seeding from the command line (docs/env.md#command-line-seeding, docs/cli.md#options) and the records of
//! `silly.logger` as they reach stderr or the `--log-path` file (docs/logger.md):
//! things a Lua script cannot see of itself.

use std::path::PathBuf;
use std::time::Duration;

use crate::common::{Output, run, temp_dir};

const LIMIT: Duration = Duration::from_secs(20);

/// A file in the temporary directory, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, content: &str) -> TempFile {
        let path = std::env::temp_dir().join(format!("silly-envlog-{}-{name}", std::process::id()));
        std::fs::write(&path, content).expect("write temp file");
        TempFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("temp path is UTF-8")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The name Lua gives a script file in messages (`short_src`): long paths keep their tail.
fn short_src(path: &str) -> String {
    const LUA_IDSIZE: usize = 60;
    if path.len() < LUA_IDSIZE {
        path.to_string()
    } else {
        format!("...{}", &path[path.len() - (LUA_IDSIZE - 4)..])
    }
}

fn ok(out: &Output) {
    assert!(
        !out.timed_out,
        "timed out\nstdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    assert_eq!(
        out.code,
        Some(0),
        "exit status\nstdout:\n{}\nstderr:\n{}",
        out.stdout,
        out.stderr
    );
}

/// Splits a record line into (level letter, body) after checking its header:
/// `YYYY-MM-DD HH:MM:SS 0000000000000000 L body`.
fn record(line: &str) -> (char, &str) {
    let b = line.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    let header_ok = b.len() >= 39
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b' '
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && &line[19..37] == " 0000000000000000 "
        && b"DIWE".contains(&b[37])
        && b[38] == b' ';
    assert!(header_ok, "not a log record header: {line:?}");
    (b[37] as char, &line[39..])
}

/// Every record of `text` (lines that do not start a record are continuation lines).
fn records(text: &str) -> Vec<(char, String)> {
    text.lines()
        .filter(|l| l.len() >= 4 && l.as_bytes()[..4].iter().all(u8::is_ascii_digit))
        .map(|l| {
            let (c, body) = record(l);
            (c, body.to_string())
        })
        .collect()
}

#[test]
fn env_seeded_from_key_value_words() {
    let script = TempFile::new(
        "seed.lua",
        r#"
local env = require "silly.env"
for _, k in ipairs({ "port", "a", "flag", "k", "key", "dup", "lualib-path", "x", "bare" }) do
	local v = env.get(k)
	io.write(k, "=", type(v) == "string" and v or tostring(v), "\n")
end
io.write("arg=", table.concat(arg, " "), "\n")
io.write("dots=", table.concat({ ... }, " "), "\n")
"#,
    );
    let out = run(
        &[
            "--lualib-path=tests/lua",
            script.path(),
            "--port=8080",
            "--a=b=c",
            "--flag",
            "--k=",
            "--key==v",
            "--dup=1",
            "--dup=2",
            "-x",
            "bare",
        ],
        "",
        LIMIT,
    );
    ok(&out);
    let want = "port=8080\n\
                a=b\n\
                flag=nil\n\
                k=nil\n\
                key=v\n\
                dup=2\n\
                lualib-path=tests/lua\n\
                x=nil\n\
                bare=nil\n\
                arg=--port=8080 --a=b=c --flag --k= --key==v --dup=1 --dup=2 -x bare\n\
                dots=--port=8080 --a=b=c --flag --k= --key==v --dup=1 --dup=2 -x bare\n";
    assert_eq!(out.stdout, want, "stderr:\n{}", out.stderr);
}

#[test]
fn env_seeded_values_are_strings_and_beat_config_files() {
    let cfg = TempFile::new("seed-cfg.lua", "port = 1\nother = 2\n");
    let script = TempFile::new(
        "seed-load.lua",
        &format!(
            r#"
local env = require "silly.env"
io.write(math.type(env.get("port")) or type(env.get("port")), "\n")
io.write(tostring(env.load({:?})), "\n")
io.write(env.get("port"), " ", env.get("other"), "\n")
"#,
            cfg.path()
        ),
    );
    let out = run(&[script.path(), "--port=8080"], "", LIMIT);
    ok(&out);
    assert_eq!(
        out.stdout, "string\nnil\n8080 2\n",
        "stderr:\n{}",
        out.stderr
    );
}

const LOGGER_SCRIPT: &str = r#"local logger = require "silly.logger"
io.write(debug.getinfo(1, "S").short_src, "\n")
logger.info("hello", 1, 2.0, true, nil, "")
logger.info()
logger.infof("v=%s|%s|%%", 42, "s")
logger.info({ a = 1 })
logger.info({ "s", true, 1.5 }, { [1.5] = 1 })
logger.info({ t = { u = { v = { w = { x = { y = 1 } } } } } })
logger.info(1e100, -0.0)
logger.info({}, setmetatable({}, { __tostring = function() return "hidden" end }))
local ok, err = pcall(logger.infof, "%d", 1)
io.write(tostring(ok), " ", err, "\n")
pcall(logger.info, "through pcall")
logger.debug("debug hidden at INFO")
logger.warn("w")
logger.error("e")
logger.setlevel(logger.WARN)
logger.info("info hidden at WARN")
logger.infof("%d hidden: never raises")
logger.warnf("%s shown", "warn")
logger.setlevel(logger.DEBUG)
logger.debug("debug shown")
require("silly").error("two records")
io.write("level ", logger.getlevel(), "\n")
"#;

#[test]
fn logger_records_on_stderr() {
    let script = TempFile::new("logger.lua", LOGGER_SCRIPT);
    let out = run(&[script.path()], "", LIMIT);
    ok(&out);
    let mut lines = out.stdout.lines();
    let src = lines.next().expect("short_src line").to_string();
    assert_eq!(
        lines.next(),
        Some("false invalid option '%d' to 'format', only support '%s'"),
        "stdout:\n{}",
        out.stdout
    );
    assert_eq!(lines.next(), Some("level 0"));
    assert!(
        !out.stdout.contains(" 0000000000000000 "),
        "no record on stdout:\n{}",
        out.stdout
    );

    let recs = records(&out.stderr);
    let at = |line: u32, body: &str| format!("{src}:{line} {body}");
    let want: Vec<(char, String)> = vec![
        ('I', at(3, "hello 1 2 true nil  ")),
        ('I', at(4, "")),
        ('I', at(5, "v=42 |s |%")),
        ('I', at(6, "{a=1} ")),
        ('I', at(7, "{[1]=\"s\",[2]=true,[3]=1.5} {[1.5]=1} ")),
        ('I', at(8, "{t={u={v={w={x={...}}}}}} ")),
        ('I', at(9, "1e+100 -0 ")),
        ('I', at(10, "{} {} ")),
        ('I', "through pcall ".to_string()),
        ('W', at(15, "w ")),
        ('E', at(16, "e ")),
        ('W', at(20, "warn  shown")),
        ('D', at(22, "debug shown ")),
    ];
    assert!(recs.len() >= want.len() + 2, "records:\n{}", out.stderr);
    assert_eq!(&recs[..want.len()], &want[..], "stderr:\n{}", out.stderr);
    // silly.error: the message, then a traceback record whose lines carry no header
    let (lvl, body) = &recs[want.len()];
    assert_eq!(*lvl, 'E');
    assert!(body.ends_with("two records "), "{body:?}");
    assert_eq!(recs[want.len() + 1].0, 'E');
    assert!(
        out.stderr.contains("\nstack traceback:\n"),
        "stderr:\n{}",
        out.stderr
    );
    assert_eq!(
        recs.len(),
        want.len() + 2,
        "no other record:\n{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("hidden"),
        "hidden records leaked:\n{}",
        out.stderr
    );
}

#[test]
fn log_level_option_filters() {
    let script = TempFile::new(
        "level.lua",
        r#"local logger = require "silly.logger"
io.write(logger.getlevel(), "\n")
logger.debug("d")
logger.info("i")
logger.warn("w")
logger.error("e")
"#,
    );
    for (level, num, letters) in [
        ("debug", "0", "DIWE"),
        ("info", "1", "IWE"),
        ("warn", "2", "WE"),
        ("error", "3", "E"),
    ] {
        let out = run(&["-l", level, script.path()], "", LIMIT);
        ok(&out);
        assert_eq!(out.stdout, format!("{num}\n"), "-l {level}");
        let got: String = records(&out.stderr).iter().map(|(c, _)| *c).collect();
        assert_eq!(got, letters, "-l {level}\nstderr:\n{}", out.stderr);
    }
    let out = run(&["--log-level", "warn", script.path()], "", LIMIT);
    ok(&out);
    let got: String = records(&out.stderr).iter().map(|(c, _)| *c).collect();
    assert_eq!(got, "WE", "--log-level warn");
}

/// `--log-path` sends the records to its file, which the first run creates and the second
/// appends to; stdout and plain writes to stderr stay where they were.
#[test]
fn log_path_writes_records_to_the_file() {
    let script = TempFile::new(
        "logpath.lua",
        r#"local logger = require "silly.logger"
logger.info("to the file")
io.stderr:write("plain stderr\n")
print("stdout")
"#,
    );
    let log = temp_dir("envlog-log-path").join("app.log");
    let log_path = log.to_str().expect("temp path is UTF-8");
    for run_no in 1..=2 {
        let out = run(&["--log-path", log_path, script.path()], "", LIMIT);
        ok(&out);
        assert_eq!(out.stdout, "stdout\n");
        assert_eq!(
            out.stderr, "plain stderr\n",
            "records must not reach stderr"
        );
        assert!(log.exists(), "run {run_no} left no log file");
    }
    let text = std::fs::read_to_string(&log).expect("read log file");
    let recs = records(&text);
    assert_eq!(recs.len(), 2, "both runs appended one record:\n{text}");
    for (lvl, body) in recs {
        assert_eq!(lvl, 'I');
        assert!(body.ends_with(":2 to the file "), "{body:?}");
    }
}

#[test]
fn saved_output_functions_after_setlevel() {
    let script = TempFile::new(
        "saved.lua",
        r#"local logger = require "silly.logger"
local info, debug = logger.info, logger.debug
logger.setlevel(logger.WARN)
info("saved info, now hidden")
logger.setlevel(logger.DEBUG)
debug("saved no-op debug stays silent")
info("saved info shown again")
logger.debug("fresh debug shown")
"#,
    );
    let out = run(&[script.path()], "", LIMIT);
    ok(&out);
    let bodies: Vec<String> = records(&out.stderr)
        .into_iter()
        .map(|(c, b)| format!("{c} {b}"))
        .collect();
    let src = short_src(script.path());
    assert_eq!(
        bodies,
        vec![
            format!("I {src}:7 saved info shown again "),
            format!("D {src}:8 fresh debug shown ")
        ],
        "stderr:\n{}",
        out.stderr
    );
}

#[test]
fn task_errors_are_logged_once_and_the_process_goes_on() {
    let script = TempFile::new(
        "taskerr.lua",
        r#"local task = require "silly.task"
local time = require "silly.time"
local waitgroup = require "silly.sync.waitgroup"
task.fork(function() error("forked failure") end)
time.after(1, function() error("timer failure") end)
local wg = waitgroup.new()
wg:fork(function() error("child failure") end)
wg:wait()
time.sleep(10)
io.write("still running\n")
"#,
    );
    let out = run(&[script.path()], "", LIMIT);
    ok(&out);
    assert_eq!(out.stdout, "still running\n", "stderr:\n{}", out.stderr);
    let recs = records(&out.stderr);
    assert_eq!(recs.len(), 3, "one record per failure:\n{}", out.stderr);
    assert!(
        recs.iter().all(|(c, _)| *c == 'E'),
        "all at ERROR:\n{}",
        out.stderr
    );
    let src = short_src(script.path());
    let has = |needle: &str| recs.iter().any(|(_, b)| b.contains(needle));
    assert!(
        has(&format!("{src}:4: forked failure")),
        "forked task error:\n{}",
        out.stderr
    );
    assert!(
        has(&format!("{src}:5: timer failure")),
        "timer callback error:\n{}",
        out.stderr
    );
    assert!(
        has(&format!(
            "[waitgroup] fork err: error: {src}:7: child failure"
        )),
        "waitgroup child error:\n{}",
        out.stderr
    );
    assert_eq!(
        out.stderr.matches("stack traceback:").count(),
        3,
        "each with a traceback:\n{}",
        out.stderr
    );
}
