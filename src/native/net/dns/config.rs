//! Configuration: what `/etc/resolv.conf` and `/etc/hosts` say, the settings `dns.conf`
//! hands over, and what a valid name looks like.
//!
//! Everything here is text in, values out, with no Lua state, executor or clock, so the
//! parsing rules (which lines count, where each option clamps, which listing wins) are tested
//! on their own below; only `system` reads files. Clamps follow glibc's resolv.conf limits
//! and the contract of docs/dns.md.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use super::record::{A, AAAA, Key};
use crate::log::{self, Level};

pub const RESOLV_CONF: &str = "/etc/resolv.conf";
pub const HOSTS: &str = "/etc/hosts";

/// The resolver's settings. Replaced whole, never edited in place: by `system` at start and
/// by `dns.conf`, which is why every field can be read without further checks.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub servers: Vec<SocketAddr>,
    /// Suffixes tried after a relative name, normalised like names so they join cleanly.
    pub search: Vec<String>,
    /// Per attempt.
    pub timeout: Duration,
    pub attempts: u32,
    pub ndots: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            servers: Vec::new(),
            search: Vec::new(),
            timeout: Duration::from_secs(5),
            attempts: 2,
            ndots: 1,
        }
    }
}

impl Config {
    /// `dns.conf`'s settings: defaults, then the options given, clamped as the contract says.
    /// The servers are already parsed and the timeout already checked (see `clamped_secs`):
    /// those can fail, and failing is the caller's business.
    pub fn with_options(
        servers: Vec<SocketAddr>,
        search: Option<Vec<String>>,
        timeout: Option<Duration>,
        attempts: Option<i64>,
        ndots: Option<i64>,
    ) -> Config {
        let d = Config::default();
        Config {
            servers,
            search: search
                .map(|l| l.iter().map(|s| search_domain(s)).collect())
                .unwrap_or_default(),
            timeout: timeout.unwrap_or(d.timeout),
            attempts: attempts.map(|a| a.clamp(1, 5) as u32).unwrap_or(d.attempts),
            ndots: ndots.map(|n| n.clamp(0, 15) as usize).unwrap_or(d.ndots),
        }
    }
}

/// The hosts table: addresses by (name, A or AAAA), in the order the file lists them.
pub type Hosts = HashMap<Key, Vec<IpAddr>>;

/// The system's configuration, as read at start. Never fails: an unreadable resolv.conf
/// means a resolver on this host (glibc's fallback), an unreadable hosts file an empty table.
pub fn system() -> (Config, Hosts) {
    let conf = match std::fs::read_to_string(RESOLV_CONF) {
        Ok(text) => parse_resolv_conf(&text),
        Err(e) => {
            log::message(
                Level::Warn,
                &format!("[dns] cannot read {RESOLV_CONF}: {e}; using nameserver 127.0.0.1"),
            );
            Config {
                servers: vec![SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 53)],
                ..Config::default()
            }
        }
    };
    let mut hosts = Hosts::new();
    if let Ok(text) = std::fs::read_to_string(HOSTS) {
        merge_hosts(&mut hosts, &text);
    }
    (conf, hosts)
}

/// Seconds as a Duration within `[min, max]` (infinities clamp); None for NaN, which has no
/// place in any range (`Duration::from_secs_f64` would panic on it).
pub fn clamped_secs(t: f64, min: f64, max: f64) -> Option<Duration> {
    (!t.is_nan()).then(|| Duration::from_secs_f64(t.clamp(min, max)))
}

/// A search domain as written (resolv.conf or `dns.conf`) in the form names are compared in.
fn search_domain(s: &str) -> String {
    s.trim_end_matches('.').to_ascii_lowercase()
}

/// Validates and normalises a name: lowercase, at most 253 bytes without the one trailing dot
/// allowed, labels of 1–63 bytes of printable ASCII. Returns it with whether it was absolute.
pub fn normalize(name: &str) -> Option<(String, bool)> {
    let (body, absolute) = match name.strip_suffix('.') {
        Some(b) => (b, true),
        None => (name, false),
    };
    if body.is_empty() || body.len() > 253 {
        return None;
    }
    for label in body.split('.') {
        if label.is_empty()
            || label.len() > 63
            || !label.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
        {
            return None;
        }
    }
    Some((body.to_ascii_lowercase(), absolute))
}

/// Parses a nameserver as written in resolv.conf or `dns.conf`: "1.2.3.4", "1.2.3.4:53",
/// "::1", "[::1]", "[::1]:53" (docs/dns.md#compared-with-the-reference-framework: bare IPv6 works).
pub fn parse_server(s: &str) -> Option<SocketAddr> {
    let s = s.trim();
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(SocketAddr::new(ip, 53));
    }
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some(sa);
    }
    if let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return inner
            .parse::<IpAddr>()
            .ok()
            .map(|ip| SocketAddr::new(ip, 53));
    }
    if let Some((host, port)) = s.strip_prefix('[').and_then(|r| r.split_once("]:")) {
        let ip = host.parse::<Ipv4Addr>().ok()?;
        return Some(SocketAddr::new(ip.into(), port.parse().ok()?));
    }
    None
}

/// resolv.conf's text as a Config. Lines it does not understand are skipped, as glibc does;
/// only a nameserver it cannot use is worth a warning, since that one changes where queries go.
pub fn parse_resolv_conf(text: &str) -> Config {
    let mut c = Config::default();
    for line in text.lines() {
        let line = line.split(['#', ';']).next().unwrap_or("");
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => match words.next().and_then(parse_server) {
                Some(sa) => c.servers.push(sa),
                None => log::message(
                    Level::Warn,
                    &format!("[dns] {RESOLV_CONF}: ignoring '{}'", line.trim()),
                ),
            },
            // search and domain overwrite each other: the last one in the file wins (glibc).
            Some("search") => c.search = words.map(search_domain).collect(),
            Some("domain") => {
                c.search = words
                    .next()
                    .map(|w| vec![search_domain(w)])
                    .unwrap_or_default()
            }
            Some("options") => {
                for opt in words {
                    let Some((k, v)) = opt.split_once(':') else {
                        continue;
                    };
                    let Ok(n) = v.parse::<u64>() else { continue };
                    match k {
                        "timeout" => c.timeout = Duration::from_secs(n.clamp(1, 30)),
                        "attempts" => c.attempts = n.clamp(1, 5) as u32,
                        "ndots" => c.ndots = n.min(15) as usize,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    c
}

/// Hosts-file text into the table: every (name, family) the text mentions gets exactly the
/// addresses the text lists for it, in order; other entries stay. Replacing rather than
/// appending is what lets `dns.sethosts` correct an entry of /etc/hosts.
pub fn merge_hosts(hosts: &mut Hosts, text: &str) {
    let mut fresh = Hosts::new();
    for line in text.lines() {
        let line = line.split(['#', ';']).next().unwrap_or("");
        let mut words = line.split_whitespace();
        let Some(ip) = words.next().and_then(|w| w.parse::<IpAddr>().ok()) else {
            continue;
        };
        let t = if ip.is_ipv4() { A } else { AAAA };
        for name in words {
            let Some((name, _)) = normalize(name) else {
                continue;
            };
            let list = fresh.entry((name, t)).or_default();
            if !list.contains(&ip) {
                list.push(ip);
            }
        }
    }
    hosts.extend(fresh);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            normalize("Example.COM."),
            Some(("example.com".into(), true))
        );
        assert_eq!(normalize("a.b"), Some(("a.b".into(), false)));
        assert_eq!(
            normalize("_sip._tcp.x"),
            Some(("_sip._tcp.x".into(), false))
        );
        let long_label = "a".repeat(64);
        let ok_label = "a".repeat(63);
        for bad in [
            "",
            ".",
            "a..b",
            ".a",
            "a b",
            "a\\.b",
            "é.com",
            long_label.as_str(),
            "a..",
        ] {
            assert_eq!(normalize(bad), None, "{bad:?}");
        }
        assert!(normalize(&ok_label).is_some());
        let name253 = format!("{0}.{0}.{0}.{1}", ok_label, "a".repeat(61));
        assert_eq!(name253.len(), 253);
        assert!(normalize(&name253).is_some());
        assert!(normalize(&format!("{name253}.")).is_some());
        assert!(normalize(&format!("{name253}a")).is_none());
    }

    #[test]
    fn servers() {
        let p = |s| parse_server(s).map(|a| a.to_string());
        assert_eq!(p("1.2.3.4"), Some("1.2.3.4:53".into()));
        assert_eq!(p("1.2.3.4:5353"), Some("1.2.3.4:5353".into()));
        assert_eq!(p("::1"), Some("[::1]:53".into()));
        assert_eq!(p("[::1]"), Some("[::1]:53".into()));
        assert_eq!(p("[::1]:5353"), Some("[::1]:5353".into()));
        assert_eq!(p("[127.0.0.1]:5353"), Some("127.0.0.1:5353".into()));
        assert_eq!(p("2001:db8::53"), Some("[2001:db8::53]:53".into()));
        assert_eq!(p("name"), None);
        assert_eq!(p("1.2.3.4:x"), None);
    }

    #[test]
    fn resolv_conf() {
        let c = parse_resolv_conf(
            "# comment\nnameserver 10.0.0.1\nnameserver ::1 # local\nnameserver fe80::1%eth0\n\
             search A.example b.example.\noptions timeout:2 attempts:9 ndots:3 rotate\n",
        );
        assert_eq!(
            c.servers,
            vec!["10.0.0.1:53".parse().unwrap(), "[::1]:53".parse().unwrap()]
        );
        assert_eq!(
            c.search,
            vec!["a.example".to_string(), "b.example".to_string()]
        );
        assert_eq!(c.timeout, Duration::from_secs(2));
        assert_eq!(c.attempts, 5);
        assert_eq!(c.ndots, 3);
        // IPv6 only (docs/dns.md#compared-with-the-reference-framework), domain after search wins.
        let c = parse_resolv_conf("search x\ndomain corp.example\nnameserver 2001:db8::1\n");
        assert_eq!(c.servers, vec!["[2001:db8::1]:53".parse().unwrap()]);
        assert_eq!(c.search, vec!["corp.example".to_string()]);
        assert_eq!(parse_resolv_conf("").servers, Vec::<SocketAddr>::new());
    }

    #[test]
    fn resolv_conf_defaults_without_options() {
        assert_eq!(parse_resolv_conf(""), Config::default());
        let c = parse_resolv_conf("nameserver 10.0.0.1\n");
        assert_eq!(c.timeout, Duration::from_secs(5));
        assert_eq!(c.attempts, 2);
        assert_eq!(c.ndots, 1);
        assert!(c.search.is_empty());
    }

    #[test]
    fn resolv_conf_options_clamp() {
        let c = parse_resolv_conf("options timeout:0 attempts:0 ndots:99\n");
        assert_eq!(c.timeout, Duration::from_secs(1));
        assert_eq!(c.attempts, 1);
        assert_eq!(c.ndots, 15);
        let c = parse_resolv_conf("options timeout:99\noptions ndots:0\n");
        assert_eq!(c.timeout, Duration::from_secs(30));
        assert_eq!(c.ndots, 0);
        // Values that are not counts leave the default alone.
        let c = parse_resolv_conf("options timeout:-1 attempts:x ndots: timeout edns0\n");
        assert_eq!(c, Config::default());
    }

    #[test]
    fn resolv_conf_comments_and_garbage() {
        let c = parse_resolv_conf(
            "; semicolon comment\n   nameserver 10.0.0.2   \nnameserver\nnameserver bogus\n\
             search x.example\nnameserver 10.0.0.3;trailing\nsortlist 10.0.0.0/8\n\
             \x00\u{1F600} junk\nsearch\nNAMESERVER 10.0.0.9\n#nameserver 10.0.0.4\n\
             nameserver 10.0.0.5 10.0.0.6\n",
        );
        assert_eq!(
            c.servers,
            vec![
                "10.0.0.2:53".parse().unwrap(),
                "10.0.0.3:53".parse().unwrap(),
                "10.0.0.5:53".parse().unwrap(),
            ]
        );
        // An empty `search` clears the list, like any later search or domain line.
        assert!(c.search.is_empty());
        let c = parse_resolv_conf("domain a.example\nsearch b.example c.example\n");
        assert_eq!(c.search, vec!["b.example", "c.example"]);
        let c = parse_resolv_conf("search b.example\ndomain\n");
        assert!(c.search.is_empty());
    }

    #[test]
    fn conf_options_clamp() {
        let c = Config::with_options(Vec::new(), None, None, None, None);
        assert_eq!(c, Config::default());
        let c = Config::with_options(
            vec!["10.0.0.1:53".parse().unwrap()],
            Some(vec!["Corp.Example.".into()]),
            Some(Duration::from_millis(250)),
            Some(0),
            Some(-3),
        );
        assert_eq!(c.search, vec!["corp.example"]);
        assert_eq!(c.timeout, Duration::from_millis(250));
        assert_eq!((c.attempts, c.ndots), (1, 0));
        let c = Config::with_options(Vec::new(), None, None, Some(i64::MAX), Some(i64::MAX));
        assert_eq!((c.attempts, c.ndots), (5, 15));
        assert_eq!(clamped_secs(f64::NAN, 0.001, 30.0), None);
        assert_eq!(
            clamped_secs(f64::INFINITY, 0.001, 30.0),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            clamped_secs(-0.0, 0.001, 30.0),
            Some(Duration::from_millis(1))
        );
    }

    #[test]
    fn hosts() {
        let mut h = HashMap::new();
        merge_hosts(
            &mut h,
            "127.0.0.1 LocalHost loopback # c\n::1 localhost\n10.0.0.1 a\n10.0.0.2 a\nfe80::1%lo b\ncafe:babe c\n",
        );
        assert_eq!(
            h[&("localhost".into(), A)],
            vec!["127.0.0.1".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(
            h[&("localhost".into(), AAAA)],
            vec!["::1".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(h[&("a".into(), A)].len(), 2);
        assert!(!h.contains_key(&("b".into(), AAAA)));
        assert!(!h.contains_key(&("c".into(), AAAA)));
        merge_hosts(&mut h, "10.0.0.3 a\n");
        assert_eq!(
            h[&("a".into(), A)],
            vec!["10.0.0.3".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(h[&("localhost".into(), A)].len(), 1);
    }

    #[test]
    fn hosts_names_families_and_comments() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let mut h = Hosts::new();
        merge_hosts(
            &mut h,
            "# whole-line comment\n10.0.0.1\tWeb.Example. web www ; note\n\
             2001:db8::1 web\n10.0.0.1 web\nnot-an-ip web\n10.0.0.7 bad..name ok\n\
             #10.0.0.8 web\n   \n",
        );
        for name in ["web.example", "web", "www"] {
            assert_eq!(h[&(name.into(), A)], vec![ip("10.0.0.1")], "{name}");
        }
        assert_eq!(h[&("web".into(), AAAA)], vec![ip("2001:db8::1")]);
        assert!(!h.contains_key(&("www".into(), AAAA)));
        assert_eq!(h[&("ok".into(), A)], vec![ip("10.0.0.7")]);
        assert_eq!(h.len(), 5);
    }

    #[test]
    fn hosts_relisted_name_replaces_its_family_only() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let mut h = Hosts::new();
        merge_hosts(&mut h, "10.0.0.1 web\n10.0.0.2 web\n::1 web\n10.0.0.9 db\n");
        merge_hosts(&mut h, "10.0.0.3 WEB\n10.0.0.3 web\n");
        assert_eq!(h[&("web".into(), A)], vec![ip("10.0.0.3")]);
        assert_eq!(h[&("web".into(), AAAA)], vec![ip("::1")]);
        assert_eq!(h[&("db".into(), A)], vec![ip("10.0.0.9")]);
        merge_hosts(&mut h, "::2 web\n::3 web\n");
        assert_eq!(h[&("web".into(), AAAA)], vec![ip("::2"), ip("::3")]);
        assert_eq!(h[&("web".into(), A)], vec![ip("10.0.0.3")]);
    }
}
