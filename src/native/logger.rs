//! `silly.logger.c`: where log records go and how their header looks (core.md §8.6).
//!
//! Records are written whole, one `write` each, to stderr or to the `--log-path` file
//! (DECISIONS.md C7). `reopen` re-opens that file so an external log rotation can move it away
//! (SIGUSR1). The level lives here so Rust code and Lua code filter alike.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};

use mlua::{Lua, Table};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug = 0,
    Info = 1,
    Warn = 2,
    Error = 3,
}

impl Level {
    fn from_u8(n: u8) -> Option<Level> {
        [Level::Debug, Level::Info, Level::Warn, Level::Error]
            .get(n as usize)
            .copied()
    }

    fn letter(self) -> char {
        ['D', 'I', 'W', 'E'][self as usize]
    }
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Info as u8);

struct Output {
    /// The `--log-path` file, or stderr when `None`.
    file: Option<(PathBuf, File)>,
    /// The header's time text and the second it was made for (formatting once per second).
    stamp: (i64, String),
}

static OUTPUT: Mutex<Output> = Mutex::new(Output {
    file: None,
    stamp: (i64::MIN, String::new()),
});

fn open_append(path: &PathBuf) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// Sends records to `path` from now on.
pub fn set_file(path: PathBuf) -> std::io::Result<()> {
    let f = open_append(&path)?;
    lock().file = Some((path, f));
    Ok(())
}

/// Re-opens the log file (after rotation). Returns false when logging to stderr.
pub fn reopen() -> std::io::Result<bool> {
    let mut out = lock();
    let Some((path, _)) = &out.file else {
        return Ok(false);
    };
    let f = open_append(path)?;
    let path = path.clone();
    out.file = Some((path, f));
    Ok(true)
}

pub fn set_level(l: Level) {
    LEVEL.store(l as u8, Ordering::Relaxed);
}

pub fn level() -> Level {
    Level::from_u8(LEVEL.load(Ordering::Relaxed)).unwrap_or(Level::Info)
}

fn lock() -> std::sync::MutexGuard<'static, Output> {
    // A poisoned lock only means a panic elsewhere while logging; the data is still usable.
    OUTPUT.lock().unwrap_or_else(|p| p.into_inner())
}

fn local_stamp(secs: i64) -> String {
    let t = secs as libc::time_t;
    // SAFETY: localtime_r writes into the zeroed `tm` we own; both pointers are valid.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
    if !ok {
        return "1970-01-01 00:00:00".into();
    }
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}

/// Writes one record: header, then `body` as is (it carries its own final newline).
pub fn write(level: Level, body: &[u8]) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let mut out = lock();
    if out.stamp.0 != secs {
        out.stamp = (secs, local_stamp(secs));
    }
    let mut rec = Vec::with_capacity(out.stamp.1.len() + 21 + body.len());
    rec.extend_from_slice(out.stamp.1.as_bytes());
    rec.extend_from_slice(b" 0000000000000000 ");
    rec.push(level.letter() as u8);
    rec.push(b' ');
    rec.extend_from_slice(body);
    // A failed log write has nowhere to be reported; dropping the record is all we can do.
    let _ = match &mut out.file {
        Some((_, f)) => f.write_all(&rec),
        None => std::io::stderr().write_all(&rec),
    };
}

/// Logs a message from Rust code, if its level is enabled.
pub fn write_rust(level: Level, msg: &str) {
    if level >= self::level() {
        let mut body = msg.as_bytes().to_vec();
        body.push(b'\n');
        write(level, &body);
    }
}

pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    m.set(
        "write",
        lua.create_function(|_, (level, body): (u8, mlua::LuaString)| {
            let level = Level::from_u8(level).unwrap_or(Level::Error);
            write(level, &body.as_bytes());
            Ok(())
        })?,
    )?;
    m.set("getlevel", lua.create_function(|_, ()| Ok(level() as u8))?)?;
    m.set(
        "setlevel",
        lua.create_function(|_, n: u8| {
            if let Some(l) = Level::from_u8(n) {
                set_level(l);
            }
            Ok(())
        })?,
    )?;
    m.set(
        "reopen",
        lua.create_function(|_, ()| match reopen() {
            Ok(b) => Ok((b, None)),
            Err(e) => Ok((false, Some(e.to_string()))),
        })?,
    )?;
    Ok(m)
}
