//! Boot: build the Lua state, register the stdlib, run the main chunk as a task, then run the
//! event loop until the process is done (see ARCHITECTURE.md, "Boot sequence").

use std::io::Read;

use mlua::{Function, Lua, LuaOptions, MultiValue, StdLib, Table, Value};

use crate::cli::{Config, Script};
use crate::error::{Error, io_reason};
use crate::log;
use crate::native;
use crate::runtime::{self, Idle, Runtime, stdlib, task, timer};

/// The `--version` line. The Lua release is read from the `lua.h` the embedded Lua was compiled
/// with, the rustls version from Cargo.lock (build.rs).
pub fn version_line() -> String {
    format!(
        "silly {} ({}, rustls {})",
        env!("CARGO_PKG_VERSION"),
        env!("SILLY_LUA_RELEASE"),
        env!("SILLY_RUSTLS_VERSION")
    )
}

/// A `-L`/`-C` value: a pattern with `?` as is, a directory turned into `dir/?.<ext>` patterns.
fn search_patterns(value: &str, exts: &[&str]) -> String {
    if value.contains('?') {
        return value.to_string();
    }
    let dir = value.trim_end_matches('/');
    exts.iter()
        .map(|e| format!("{dir}/{e}"))
        .collect::<Vec<_>>()
        .join(";")
}

fn new_lua(cfg: &Config) -> Result<Lua, Error> {
    // SAFETY: the full standard library (debug, C module loading) is what a Lua runtime for
    // trusted scripts offers, as `lua` does; scripts are the user's own code.
    let lua = unsafe { Lua::unsafe_new_with(StdLib::ALL, LuaOptions::default()) };
    if let Some(limit) = cfg.max_memory {
        // Past the limit an allocation fails as a Lua memory error in the code that asked
        // (docs/cli.md#memory-limit), instead of the OS killing the whole process.
        lua.set_memory_limit(limit)?;
    }
    let package: Table = lua.globals().get("package")?;
    for (key, values, exts) in [
        ("path", &cfg.lualib_path, &["?.lua", "?/init.lua"][..]),
        ("cpath", &cfg.lualib_cpath, &["?.so"][..]),
    ] {
        if !values.is_empty() {
            let current: String = package.get(key)?;
            let added: Vec<String> = values.iter().map(|v| search_patterns(v, exts)).collect();
            package.set(key, format!("{};{current}", added.join(";")))?;
        }
    }
    // Lua hands over a warning in pieces (`warn("a", "b")`, and its own "error in __gc"
    // warnings), each but the last marked incomplete: they make one record.
    let pending = std::cell::RefCell::new(String::new());
    lua.set_warning_function(move |_, msg, incomplete| {
        let mut text = pending.borrow_mut();
        text.push_str(msg);
        if incomplete {
            return Ok(());
        }
        let whole = std::mem::take(&mut *text);
        // Control messages ("@on", "@off") are for the standalone interpreter's switch.
        if !whole.starts_with('@') {
            native::core::WARNED.store(true, std::sync::atomic::Ordering::Relaxed);
            log::message(log::Level::Warn, &format!("[warn] {whole}"));
        }
        Ok(())
    });
    stdlib::install_searcher(&lua)?;
    native::register(&lua)?;
    Ok(lua)
}

/// Reads a script the way `lua` does: a byte order mark is dropped and a first line starting with
/// `#` is blanked (shebang, docs/cli.md#the-script).
fn read_script(script: &Script) -> Result<(Vec<u8>, String), Error> {
    let (mut src, name) = match script {
        Script::File(path) => {
            let src = std::fs::read(path).map_err(|e| {
                Error::Load(format!("cannot open {}: {}", path.display(), io_reason(&e)))
            })?;
            (src, format!("@{}", path.display()))
        }
        Script::Stdin => {
            let mut src = Vec::new();
            std::io::stdin()
                .read_to_end(&mut src)
                .map_err(|e| Error::Load(format!("cannot read stdin: {}", io_reason(&e))))?;
            (src, "=stdin".to_string())
        }
        Script::None => (Vec::new(), "=none".to_string()),
    };
    // A UTF-8 byte order mark (editors on Windows write one) is skipped, as `lua` does.
    if src.starts_with(b"\xEF\xBB\xBF") {
        src.drain(..3);
    }
    if src.first() == Some(&b'#') {
        let end = src.iter().position(|&b| b == b'\n').unwrap_or(src.len());
        src.drain(..end);
    }
    Ok((src, name))
}

fn compile(lua: &Lua, src: &[u8], name: &str) -> Result<Function, Error> {
    lua.load(src)
        .set_name(name)
        .into_function()
        .map_err(|e| match e {
            mlua::Error::SyntaxError { message, .. } => Error::Load(message),
            other => Error::Load(other.to_string()),
        })
}

/// Raises the soft limit on open files to the hard limit, as a server runtime wants (the soft
/// default of 1024 is far below what one process with many connections needs). Failure is
/// harmless: the old limit stays.
fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// Runs the whole program described by `cfg`; returns the exit status.
pub fn run(cfg: Config) -> Result<i32, Error> {
    log::set_level(cfg.log_level);
    if let Some(path) = &cfg.log_path {
        log::set_file(path.clone()).map_err(|e| {
            Error::Load(format!(
                "cannot open log file {}: {}",
                path.display(),
                io_reason(&e)
            ))
        })?;
    }
    native::signal::init().map_err(|e| Error::Internal(format!("cannot watch signals: {e}")))?;
    raise_fd_limit();

    let lua = new_lua(&cfg)?;
    let rt = Runtime::install(lua.clone())?;
    rt.executor.spawn(timer::drive()).detach();
    rt.executor.spawn(native::signal::drive()).detach();

    // `silly.internal.boot` installs the coroutine wrappers and the task entry, and returns the
    // entry of the main task: main(chunks, ...) runs each chunk with the script arguments.
    let main_entry: Function = stdlib::load(&lua, "silly.internal.boot")?.call(())?;

    let mut chunks = Vec::new();
    for (i, code) in cfg.exec.iter().enumerate() {
        let name = if cfg.exec.len() == 1 {
            "=(command line)".to_string()
        } else {
            format!("=(command line #{})", i + 1)
        };
        chunks.push(compile(&lua, code.as_bytes(), &name)?);
    }
    let script_name = match &cfg.script {
        Script::File(p) => p.display().to_string(),
        Script::Stdin => "-".to_string(),
        Script::None => String::new(),
    };
    if cfg.script != Script::None {
        let (src, name) = read_script(&cfg.script)?;
        chunks.push(compile(&lua, &src, &name)?);
    }
    set_arg_table(&lua, &script_name, &cfg.args)?;

    let mut args = vec![Value::Table(lua.create_sequence_from(chunks)?)];
    for a in &cfg.args {
        args.push(Value::String(lua.create_string(a)?));
    }
    let (_, main_task) = task::spawn(
        &lua,
        &main_entry,
        task::Start::Args(MultiValue::from_vec(args)),
    )?;

    let want_repl = cfg.repl;
    // The main task's end is looked at before idleness (`or` polls its first future first), so
    // the REPL takes its hold in the same poll in which the main chunk finished; a main chunk
    // stuck in a deadlock is still reported as one.
    let outcome = rt.block_on(futures_lite::future::or(
        async {
            main_task.await;
            if want_repl {
                // The REPL's pending line keeps the process alive until Ctrl-D.
                let _line = rt.hold_source();
                crate::repl::run().await;
                runtime::exit(0);
            }
            std::future::pending::<Idle>().await
        },
        rt.idle(),
    ));
    Ok(match outcome {
        Idle::Done => 0,
        Idle::Deadlock(n) => {
            let plural = if n == 1 { "task is" } else { "tasks are" };
            eprintln!(
                "silly: deadlock: {n} {plural} waiting in task.wait() and nothing can wake them"
            );
            1
        }
    })
}

/// The global `arg` table, as `lua` builds it: arg[0] is the script, arg[1..] its arguments,
/// arg[-1] the interpreter.
fn set_arg_table(lua: &Lua, script: &str, args: &[String]) -> mlua::Result<()> {
    let t = lua.create_table()?;
    let exe = std::env::args_os()
        .next()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_else(|| "silly".into());
    t.raw_set(-1, exe)?;
    t.raw_set(0, script)?;
    for (i, a) in args.iter().enumerate() {
        t.raw_set(i as i64 + 1, a.as_str())?;
    }
    lua.globals().set("arg", t)
}
