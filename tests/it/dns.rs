//! silly.net.dns against a real DNS server: each test starts its own dnsmasq on a free port of
//! 127.0.0.1 (and [::1] when the machine has it), with every record on its command line, then
//! runs one `tests/dns/*.lua` script with `--dnsport=N --dnspid=PID --dnsv6=0|1`. The scripts
//! point the resolver at that server first thing; nothing here uses the system resolver.
//!
//! dnsmasq comes from Debian's `dnsmasq-base` (installed by `.ci/run`).

use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{assert_testaux_ok, silly, wait_limited};

/// A dnsmasq child, killed when dropped.
struct Dnsmasq {
    child: Child,
    port: u16,
    v6: bool,
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn dnsmasq_path() -> &'static str {
    for p in ["/usr/sbin/dnsmasq", "/sbin/dnsmasq", "/usr/bin/dnsmasq"] {
        if std::path::Path::new(p).exists() {
            return p;
        }
    }
    panic!("dnsmasq not found: install Debian's dnsmasq-base (.ci/run does)");
}

/// The records every script may use. TTLs: 60 s unless a record says otherwise.
fn records() -> Vec<String> {
    let mut r: Vec<String> = [
        // Names under .test that have no record get NXDOMAIN instead of REFUSED.
        "--local=/test/",
        "--local-ttl=60",
        "--host-record=a.test,127.0.0.2,::2",
        "--host-record=v4only.test,127.0.0.3",
        "--host-record=web.test,127.0.0.1",
        "--host-record=short.test,127.0.0.4,2",
        "--host-record=zero.test,127.0.0.9,0",
        "--host-record=a.search.test,127.0.0.5",
        "--cname=www.test,alias.test",
        "--cname=alias.test,a.test",
        "--srv-host=_sip._tcp.test,a.test,5060,10,20",
        "--srv-host=_sip._tcp.test,v4only.test,5061,20,30",
        "--txt-record=txt.test,some text",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // An answer of 300 A records (about 5 KB) cannot come over UDP: TCP fallback.
    for i in 1..=300 {
        r.push(format!(
            "--host-record=big.test,10.0.{}.{}",
            i / 256,
            i % 256
        ));
    }
    r
}

/// A port free for both UDP and TCP on 127.0.0.1 right now.
fn free_port() -> u16 {
    loop {
        let u = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind udp");
        let port = u.local_addr().expect("local addr").port();
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return port;
        }
    }
}

/// A DNS query for `name`/A, by hand: the harness only needs to see that the server answers.
fn probe_query(name: &str) -> Vec<u8> {
    let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

fn answers(port: u16) -> bool {
    let Ok(s) = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(100)));
    if s.send_to(
        &probe_query("a.test"),
        SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
    )
    .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 512];
    matches!(s.recv(&mut buf), Ok(n) if n >= 12 && buf[0] == 0x12 && buf[1] == 0x34)
}

fn spawn(port: u16, v6: bool) -> Option<Child> {
    let mut cmd = Command::new(dnsmasq_path());
    cmd.args([
        "--no-resolv",
        "--no-hosts",
        "--no-daemon",
        "--conf-file=/dev/null",
        "--user=root",
        "--pid-file=",
        "--bind-interfaces",
        "--listen-address=127.0.0.1",
    ]);
    if v6 {
        cmd.arg("--listen-address=::1");
    }
    cmd.arg(format!("--port={port}"));
    cmd.args(records());
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("spawn dnsmasq");
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return None;
        }
        if answers(port) {
            return Some(child);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// Starts dnsmasq on a free port, with IPv6 when the machine has a [::1].
fn start() -> Dnsmasq {
    let has_v6 = UdpSocket::bind("[::1]:0").is_ok();
    for _ in 0..5 {
        let port = free_port();
        if let Some(child) = spawn(port, has_v6) {
            return Dnsmasq {
                child,
                port,
                v6: has_v6,
            };
        }
        if has_v6 && let Some(child) = spawn(port, false) {
            return Dnsmasq {
                child,
                port,
                v6: false,
            };
        }
    }
    panic!("dnsmasq did not start");
}

fn run_script(name: &str) {
    let d = start();
    let script = format!("tests/dns/{name}.lua");
    let child = silly()
        .args([
            "-L",
            "tests/lua",
            &script,
            &format!("--dnsport={}", d.port),
            &format!("--dnspid={}", d.child.id()),
            &format!("--dnsv6={}", if d.v6 { 1 } else { 0 }),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn silly");
    let out = wait_limited(child, Duration::from_secs(60));
    assert_testaux_ok(name, &out);
}

#[test]
fn dns_records() {
    run_script("records");
}

#[test]
fn dns_cache() {
    run_script("cache");
}

#[test]
fn dns_connect() {
    run_script("connect");
}
