//! `silly.metrics.c`: the numbers behind the built-in collectors of `silly.metrics`
//! (stdlib/silly/metrics/collector/*.lua, docs/metrics.md).
//!
//! `runtime()` reads counts the runtime and the network layer keep anyway (tasks, timers,
//! `net/stats.rs`). `process()` reads Linux's /proc: files the kernel generates in memory,
//! so a scrape costs microseconds and never waits on a disk; the open-descriptor count walks
//! /proc/self/fd, one entry per descriptor.

use std::fs;

use mlua::{Lua, Table};

use crate::native::net::stats;
use crate::runtime;

pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    m.set(
        "runtime",
        lua.create_function(|lua, ()| runtime_table(lua))?,
    )?;
    m.set(
        "process",
        lua.create_function(|lua, ()| process_table(lua))?,
    )?;
    Ok(m)
}

/// Tasks, timers and connections right now.
fn runtime_table(lua: &Lua) -> mlua::Result<Table> {
    let rt = runtime::get();
    let net = stats::snapshot();
    let t = lua.create_table()?;
    // Every live task is either parked in `wait()` or counted as active.
    t.set("tasks", rt.tasks.active() + rt.tasks.waiting())?;
    t.set("ready", rt.tasks.ready())?;
    t.set("waiting", rt.tasks.waiting())?;
    t.set("timers", rt.timers.pending())?;
    t.set("tcp", net.tcp_open)?;
    t.set("tls", net.tls_open)?;
    t.set("handshakes", net.handshakes)?;
    t.set("handshakefailures", net.handshake_failures)?;
    Ok(t)
}

/// The process facts Prometheus' `process_*` metrics carry; a fact the system does not give
/// is left out of the table.
fn process_table(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    if let Some(cpu) = cpu_seconds() {
        t.set("cpu", cpu)?;
    }
    let page = sysconf(libc::_SC_PAGESIZE);
    let ticks = sysconf(libc::_SC_CLK_TCK);
    if let Some(st) = fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| parse_stat(&s))
    {
        t.set("virtual", st.vsize)?;
        if let Some(page) = page {
            t.set("resident", st.rss_pages.saturating_mul(page))?;
        }
        let boot = fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| parse_btime(&s));
        if let (Some(boot), Some(ticks)) = (boot, ticks)
            && ticks > 0
        {
            t.set("start", boot as f64 + st.start_ticks as f64 / ticks as f64)?;
        }
    }
    if let Ok(dir) = fs::read_dir("/proc/self/fd") {
        // The walk itself holds one descriptor, which is listed too.
        let n = dir.count();
        t.set("fds", n.saturating_sub(1))?;
    }
    if let Some(max) = max_fds() {
        t.set("maxfds", max)?;
    }
    Ok(t)
}

fn sysconf(name: libc::c_int) -> Option<u64> {
    // SAFETY: sysconf only reads a system constant; it has no memory arguments.
    let v = unsafe { libc::sysconf(name) };
    (v > 0).then_some(v as u64)
}

/// User plus system CPU time of every thread of the process, in seconds.
fn cpu_seconds() -> Option<f64> {
    // SAFETY: getrusage writes one rusage into the zeroed struct we own and pass by pointer.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut ru) != 0 {
            return None;
        }
        ru
    };
    let secs = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    Some(secs(ru.ru_utime) + secs(ru.ru_stime))
}

/// The soft limit on open descriptors (what `open` fails past); None when unlimited.
fn max_fds() -> Option<u64> {
    // SAFETY: getrlimit writes one rlimit into the zeroed struct we own and pass by pointer.
    let lim = unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return None;
        }
        lim
    };
    (lim.rlim_cur != libc::RLIM_INFINITY).then_some(lim.rlim_cur)
}

/// What `process()` takes from /proc/self/stat.
#[derive(Debug, PartialEq, Eq)]
struct Stat {
    /// When the process started, in clock ticks after boot (field 22).
    start_ticks: u64,
    /// Virtual memory size in bytes (field 23).
    vsize: u64,
    /// Resident set size in pages (field 24).
    rss_pages: u64,
}

/// Parses /proc/self/stat (proc(5)). The command name (field 2) is in parentheses and may
/// itself hold spaces and parentheses, so fields are counted after the last ')'.
fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    // `rest` starts at field 3 (the state): field n is at index n - 3.
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some(Stat {
        start_ticks: field(22)?,
        vsize: field(23)?,
        rss_pages: field(24)?,
    })
}

/// The boot time in seconds since the epoch: the `btime` line of /proc/stat.
fn parse_btime(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_last_parenthesis() {
        let line = "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 120 0 0 0 3 1 0 0 20 0 1 0 \
                    987654 123456789 2345 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0\n";
        assert_eq!(
            parse_stat(line),
            Some(Stat {
                start_ticks: 987654,
                vsize: 123456789,
                rss_pages: 2345,
            })
        );
        assert_eq!(parse_stat("4242 (x) S 1 2"), None);
        assert_eq!(parse_stat("no parenthesis"), None);
    }

    #[test]
    fn btime_is_read_from_its_line() {
        let text = "cpu  1 2 3\nintr 5\nbtime 1764400000\nprocesses 9\n";
        assert_eq!(parse_btime(text), Some(1764400000));
        assert_eq!(parse_btime("cpu 1\n"), None);
    }

    #[test]
    fn this_process_has_its_facts() {
        let st = parse_stat(&fs::read_to_string("/proc/self/stat").unwrap()).unwrap();
        assert!(st.vsize > 0 && st.rss_pages > 0);
        assert!(parse_btime(&fs::read_to_string("/proc/stat").unwrap()).is_some());
        assert!(cpu_seconds().is_some());
    }
}
