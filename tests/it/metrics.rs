//! `silly.metrics` scraped like Prometheus does it: `examples/metrics.lua` runs on a port the
//! OS picks, curl calls its /hello route and fetches /metrics, and `promtool check metrics`
//! (Debian's `prometheus` package, installed by `.ci/run`) checks the text against the
//! exposition format and its naming rules.

use std::time::Duration;

use crate::common::{self, Running, run_tool, silly};

const LIMIT: Duration = Duration::from_secs(30);

/// curl with `args` (common.rs); returns its stdout, panicking when it fails.
fn curl(args: &[&str]) -> String {
    common::curl(args, b"")
}

/// The value of the sample line `series` (name and labels, as printed).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
}

#[test]
fn example_metrics_endpoint_passes_promtool() {
    let mut cmd = silly();
    cmd.args(["examples/metrics.lua", "--addr=127.0.0.1:0"]);
    let mut srv = Running::spawn(cmd, LIMIT);
    let line = srv.line_starting("listening on ");
    let addr = line.trim_start_matches("listening on ").to_string();
    for _ in 0..3 {
        assert_eq!(curl(&[&format!("http://{addr}/hello")]), "hello, world\n");
    }
    curl(&["-X", "POST", &format!("http://{addr}/hello")]);

    let head = curl(&[
        "-D",
        "-",
        "-o",
        "/dev/null",
        &format!("http://{addr}/metrics"),
    ]);
    assert!(
        head.contains("content-type: text/plain; version=0.0.4; charset=utf-8\r\n"),
        "{head}"
    );
    let text = curl(&[&format!("http://{addr}/metrics")]);
    let check = run_tool("promtool", &["check", "metrics"], text.as_bytes(), LIMIT);
    assert!(
        check.code == Some(0),
        "promtool check metrics failed ({:?})\nstdout:\n{}\nstderr:\n{}\nscrape:\n{text}",
        check.code,
        check.stdout,
        check.stderr
    );

    let get = sample(&text, r#"demo_hello_requests_total{method="GET"}"#);
    assert_eq!(get, Some(3.0), "{text}");
    let post = sample(&text, r#"demo_hello_requests_total{method="POST"}"#);
    assert_eq!(post, Some(1.0), "{text}");
    let count = sample(&text, "demo_hello_duration_seconds_count");
    assert_eq!(count, Some(4.0), "{text}");
    let inf = sample(&text, r#"demo_hello_duration_seconds_bucket{le="+Inf"}"#);
    assert_eq!(inf, Some(4.0), "{text}");
    // The scrape's own connection is open while the response is made.
    let conns = sample(&text, "silly_tcp_connections").unwrap_or(0.0);
    assert!(conns >= 1.0, "{text}");
    // The listener, the connection, and whatever the runtime holds (epoll ...).
    let fds = sample(&text, "process_open_fds").unwrap_or(0.0);
    assert!(fds >= 2.0, "{text}");
    let rss = sample(&text, "process_resident_memory_bytes").unwrap_or(0.0);
    assert!(rss > 1e6, "{text}");
    let start = sample(&text, "process_start_time_seconds").unwrap_or(0.0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        start <= now + 1.0 && start > now - 120.0,
        "start {start}, now {now}"
    );

    assert_eq!(
        curl(&[
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &format!("http://{addr}/nope")
        ]),
        "404"
    );
    srv.assert_running();
}
