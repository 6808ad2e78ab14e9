//! The short form of the soak and fault suite (`scripts/soak.py`, full form: `make soak`): each
//! case runs on its own at SOAK_SCALE=0.01 against the binary under test and must print its
//! row "ok". Plus the regression test of the log rate limit for peer-caused failures.

use std::io::Write;
use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{self, Running, silly};

/// One case of scripts/soak.py; the suite bounds its own waits, this bounds the whole run.
fn case(name: &str) {
    let child = std::process::Command::new("python3")
        .arg("scripts/soak.py")
        .current_dir(common::root())
        .env("SOAK_SCALE", "0.01")
        .env("SOAK_ONLY", name)
        .env("SILLY", env!("CARGO_BIN_EXE_silly"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 is needed by these tests");
    let out = common::wait_limited(child, Duration::from_secs(120));
    let rows: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| case"))
        .collect();
    assert!(
        out.code == Some(0) && rows.len() == 1 && rows[0].ends_with("| ok |"),
        "soak case {name}: exit {:?}, timed out {}\nstdout:\n{}\nstderr:\n{}",
        out.code,
        out.timed_out,
        out.stdout,
        out.stderr
    );
}

#[test]
fn keepalive_tcp() {
    case("keepalive-tcp");
}

#[test]
fn keepalive_tls() {
    case("keepalive-tls");
}

#[test]
fn held_tls() {
    case("held-tls");
}

#[test]
fn garbage() {
    case("garbage");
}

#[test]
fn resets() {
    case("resets");
}

#[test]
fn never_reads() {
    case("never-reads");
}

#[test]
fn emfile() {
    case("emfile");
}

#[test]
fn reload() {
    case("reload");
}

#[test]
fn handler_raises() {
    case("handler-raises");
}

/// 200 connections sending garbage to a TLS listener within one second used to write 200 WARN
/// records; now at most 10 a second get through (src/log.rs), and the next one let through is
/// preceded by the count of those suppressed.
#[test]
fn handshake_failures_are_rate_limited() {
    let mut cmd = silly();
    cmd.args(["scripts/soak/ping.lua", "--proto=tls", "--port=0"]);
    let mut srv = Running::spawn(cmd, Duration::from_secs(20));
    let line = srv.line_starting("ready");
    let port: u16 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    let garbage = |n: usize| {
        for _ in 0..n {
            let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
            s.write_all(&[0x55; 512]).expect("write garbage");
        }
    };
    let failures = |srv: &Running| srv.stderr().matches("failed").count();
    let started = Instant::now();
    garbage(200);
    // Every connection gets its failure (logged or counted) before the next second starts.
    let deadline = Instant::now() + Duration::from_secs(10);
    while failures(&srv) < 10 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    let secs = started.elapsed().as_secs() + 1;
    let logged = failures(&srv);
    assert!(
        (10..=10 * secs as usize).contains(&logged),
        "{logged} failure records in {secs} s:\n{}",
        srv.stderr()
    );
    // A second later the next failure goes out, after the count of the suppressed ones.
    std::thread::sleep(Duration::from_millis(1100));
    garbage(1);
    let deadline = Instant::now() + Duration::from_secs(10);
    while failures(&srv) <= logged && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let err = srv.stderr();
    let suppressed: usize = err
        .lines()
        .filter_map(|l| l.split("[tls] handshake: ").nth(1))
        .map(|rest| {
            let n = rest.strip_suffix(" similar messages suppressed");
            n.and_then(|n| n.parse::<usize>().ok())
                .unwrap_or_else(|| panic!("bad record {rest:?}"))
        })
        .sum();
    assert!(suppressed > 0, "nothing suppressed:\n{err}");
    assert_eq!(
        failures(&srv) + suppressed,
        201,
        "records and suppressed counts:\n{err}"
    );
    srv.assert_running();
}
