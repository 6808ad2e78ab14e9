//! The log: where records go and how their header looks. Used by Rust code at every layer and,
//! through `silly.logger.c` (native/logger.rs), by Lua code, so both filter by the same level.
//!
//! Records are written whole, one `write` each, to stderr or to the `--log-path` file, so lines
//! of concurrent writers never interleave (docs/logger.md). `reopen` re-opens that file so an
//! external log rotation can move it away (SIGUSR1).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug = 0,
    Info = 1,
    Warn = 2,
    Error = 3,
}

impl Level {
    pub fn from_u8(n: u8) -> Option<Level> {
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
    // SAFETY: as above.
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

/// Logs a one-line message from Rust code, if its level is enabled.
pub fn message(level: Level, msg: &str) {
    if level >= self::level() {
        let mut body = msg.as_bytes().to_vec();
        body.push(b'\n');
        write(level, &body);
    }
}

/// Records a peer may cause per second and kind before the rest are only counted.
pub const PEER_LINES_PER_SEC: u32 = 10;

/// One kind's window of peer-caused records: the second it is for, the records written in
/// it, and the records dropped since the last count was written.
struct PeerWindow {
    kind: &'static str,
    second: i64,
    written: u32,
    suppressed: u64,
}

static PEER_WINDOWS: Mutex<Vec<PeerWindow>> = Mutex::new(Vec::new());

/// Logs a failure caused by a peer (handshake garbage, resets, timeouts, malformed requests),
/// which a peer can repeat as fast as it connects: so that it cannot fill the disk, at most
/// `PEER_LINES_PER_SEC` records of one `kind` are written per second; the others are counted,
/// and the count goes out as one record, "<kind>: N similar messages suppressed", ahead of the
/// next record of that kind let through (docs/logger.md). Failures of the server itself use
/// `message`, never this.
pub fn peer_failure(kind: &'static str, level: Level, msg: &str) {
    if level < self::level() {
        return;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let suppressed = {
        let mut windows = PEER_WINDOWS.lock().unwrap_or_else(|p| p.into_inner());
        let i = match windows.iter().position(|w| w.kind == kind) {
            Some(i) => i,
            None => {
                windows.push(PeerWindow {
                    kind,
                    second: now,
                    written: 0,
                    suppressed: 0,
                });
                windows.len() - 1
            }
        };
        let w = &mut windows[i];
        if w.second != now {
            w.second = now;
            w.written = 0;
        }
        if w.written >= PEER_LINES_PER_SEC {
            w.suppressed += 1;
            return;
        }
        w.written += 1;
        std::mem::take(&mut w.suppressed)
    };
    if suppressed > 0 {
        message(
            level,
            &format!("{kind}: {suppressed} similar messages suppressed"),
        );
    }
    message(level, msg);
}
