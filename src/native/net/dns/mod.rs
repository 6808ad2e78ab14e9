//! `silly.net.dns.c`: the stub resolver behind `silly.net.dns` (contract: docs/dns.md,
//! docs/dns.md#compared-with-the-reference-framework).
//!
//! Everything lives on the loop thread and nothing blocks it: queries are plain futures on the
//! executor, and the wire format is hickory-proto's. The pieces, in the order a lookup meets
//! them, each in its own file:
//!
//! * the hosts table (`/etc/hosts`, `dns.sethosts`), for A and AAAA (`config`);
//! * the cache, keyed by (owner name, type), honouring TTLs, with negative entries (`cache`);
//! * flights: one query on the wire per (server, name, type) however many tasks ask for it
//!   (singleflight); a flight ends when it is answered, fails, or nobody waits for it any more
//!   (`flight`);
//! * the exchange: one UDP socket per flight with a random source port and a random ID, resent
//!   every `timeout` up to `attempts` times, falling back to TCP when the answer is truncated;
//!   then the records that concern the question (`wire`).
//!
//! This file is the front end: the Lua functions, the one resolver of the thread that holds
//! those pieces together, and the walk of a lookup through them. The modules below it know
//! nothing of it; they are used from here only (`record` and `error` are their shared
//! vocabulary), so the only way back up is the `abandoned` hook a flight is handed.
//!
//! Errors are `DnsError`s; Lua sees their text, the reference's plain strings ("Not found" ...)
//! or errno values (TIMEDOUT), made in one place: `to_lua`.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use async_io::Timer;
use futures_lite::future;
use hickory_proto::op::{Message, ResponseCode};
use mlua::{Lua, MultiValue, Table, Value};

use crate::native::net::error::{NetError, lua_result};
use crate::runtime::{self, task};

// cache, config, record and wire are also driven by the fuzz targets (src/fuzzing.rs).
pub(crate) mod cache;
pub(crate) mod config;
mod flight;
pub(crate) mod record;
pub(crate) mod wire;

use crate::native::net::error::DnsError;
use cache::Cache;
use config::{Config, Hosts, clamped_secs, merge_hosts};
pub use config::{normalize, parse_server};
use flight::{Flight, FlightWait, Flights};
pub use record::{A, AAAA, CNAME, Rec};
use record::{Groups, Key, MAX_HOPS, ip_rec};

struct Resolver {
    /// Replaced whole by `reconfigure`, which resets `failcount` with it: the two index the
    /// same servers.
    conf: Config,
    /// The servers of resolv.conf as read at start: what `dns.conf` without `nameservers`
    /// goes back to.
    system_servers: Vec<SocketAddr>,
    /// Consecutive failures per server (index into `conf.servers`, same length): `failed`
    /// adds one, a usable answer resets it, `reconfigure` starts a fresh one. The server for
    /// a new query is the first with the fewest failures.
    failcount: Vec<u32>,
    /// Read at start; `dns.sethosts` merges into it; `dns.conf` leaves it alone.
    hosts: Hosts,
    /// Filled by `absorb`, emptied by `reconfigure` (new servers may answer differently).
    cache: Cache,
    /// Queries on the wire. A flight removes itself when it ends (`fly`); its last waiter
    /// removes it when it gives up (`abandoned`); `reconfigure` ends them all.
    flights: Flights,
}

thread_local! {
    static RESOLVER: RefCell<Option<Resolver>> = const { RefCell::new(None) };
}

/// Runs `f` on the resolver, loading the system configuration on first use.
fn with<R>(f: impl FnOnce(&mut Resolver) -> R) -> R {
    RESOLVER.with(|r| {
        let mut r = r.borrow_mut();
        let res = r.get_or_insert_with(Resolver::load);
        f(res)
    })
}

impl Resolver {
    fn load() -> Resolver {
        let (conf, hosts) = config::system();
        Resolver {
            system_servers: conf.servers.clone(),
            failcount: vec![0; conf.servers.len()],
            conf,
            hosts,
            cache: Cache::default(),
            flights: Flights::default(),
        }
    }

    /// What is known about `key`: first the groups of the responses this lookup got itself
    /// (TTL 0 included, which the cache never holds), then the cache.
    fn cached(&self, key: &Key, local: &Groups, now: Instant) -> Option<Vec<Rec>> {
        if let Some(r) = local.get(key) {
            return Some(r.clone());
        }
        self.cache.get(key, now).map(<[Rec]>::to_vec)
    }

    /// Follows CNAMEs from `name` through the cache and `local` to the records of `qtype`.
    fn chase(&self, name: &str, qtype: u16, local: &Groups) -> Chase {
        let now = Instant::now();
        let mut cur = name.to_string();
        let mut seen = HashSet::new();
        for _ in 0..=MAX_HOPS {
            if matches!(qtype, A | AAAA)
                && let Some(ips) = self.hosts.get(&(cur.clone(), qtype))
            {
                return Chase::Found(ips.iter().map(|ip| ip_rec(*ip)).collect());
            }
            let key = (cur, qtype);
            if let Some(r) = self.cached(&key, local, now) {
                return Chase::Found(r);
            }
            let cur_name = key.0;
            if qtype != CNAME
                && let Some(Some(Rec::Cname(next))) = self
                    .cached(&(cur_name.clone(), CNAME), local, now)
                    .map(|r| r.first().cloned())
            {
                if !seen.insert(next.clone()) || next == name {
                    return Chase::Fail(DnsError::NotFound);
                }
                cur = next;
                continue;
            }
            return Chase::Missing(cur_name);
        }
        Chase::Fail(DnsError::TooDeep)
    }

    /// The server a new query goes to: the first without failures, else the least failing.
    fn pick(&self) -> Option<usize> {
        (0..self.conf.servers.len()).min_by_key(|&i| (self.failcount[i], i))
    }

    /// Joins the flight for (`name`, `qtype`) on the chosen server, starting it if needed.
    fn join(&mut self, name: &str, qtype: u16) -> Result<FlightWait, DnsError> {
        let server = self.pick().ok_or(DnsError::NoNameserver)?;
        let key = (server, name.to_string(), qtype);
        let flight = match self.flights.get(&key) {
            Some(f) => f.clone(),
            None => {
                let flight = Flight::new(key, self.conf.timeout, abandoned);
                let exchange = wire::exchange(
                    self.conf.servers[server],
                    name.to_string(),
                    qtype,
                    self.conf.timeout,
                    self.conf.attempts,
                );
                let handle = runtime::get().executor.spawn(fly(flight.clone(), exchange));
                flight.set_task(handle);
                self.flights.insert(flight.clone());
                flight
            }
        };
        Ok(flight.wait())
    }

    fn failed(&mut self, server: usize) {
        if let Some(f) = self.failcount.get_mut(server) {
            *f = f.saturating_add(1);
        }
    }

    /// Takes a response into the cache; returns every group it carried (TTL 0 included, for
    /// the lookups waiting on it), or the error it stands for.
    fn absorb(
        &mut self,
        server: usize,
        qname: &str,
        qtype: u16,
        msg: &Message,
    ) -> Result<Groups, DnsError> {
        let rcode = msg.metadata.response_code;
        if rcode != ResponseCode::NoError && rcode != ResponseCode::NXDomain {
            self.failed(server);
            return Err(DnsError::ServerFailure);
        }
        if let Some(f) = self.failcount.get_mut(server) {
            *f = 0;
        }
        let (groups, ttls) = wire::collect(msg, qname, qtype);
        self.cache.store(&groups, &ttls, Instant::now());
        Ok(groups)
    }

    /// `dns.conf`: new settings, empty caches, and every query in flight ended.
    fn reconfigure(&mut self, conf: Config) {
        self.failcount = vec![0; conf.servers.len()];
        self.conf = conf;
        self.cache.clear();
        self.flights.cancel_all(DnsError::Reconfigured);
    }
}

enum Chase {
    /// The records (empty: a negative answer).
    Found(Vec<Rec>),
    /// Nothing known about this name (the end of the CNAME chain so far): ask the server.
    Missing(String),
    Fail(DnsError),
}

/// The exchange of one flight, then its result handed to the waiters.
async fn fly(flight: Rc<Flight>, exchange: impl Future<Output = Result<Message, DnsError>>) {
    let out = exchange.await;
    let (server, name, qtype) = flight.key.clone();
    let result = with(|r| {
        r.flights.remove(&flight);
        match out {
            Ok(msg) => r.absorb(server, &name, qtype, &msg),
            Err(e) => {
                r.failed(server);
                Err(e)
            }
        }
    });
    flight.finish(result);
}

/// A flight's last waiter gave up: forget the flight, and charge its server if an attempt
/// went unanswered. `try_borrow_mut` because this runs in a `Drop`, which must not panic; no
/// path drops a waiter inside `with` today.
fn abandoned(flight: &Rc<Flight>, unanswered: bool) {
    RESOLVER.with(|r| {
        if let Ok(mut r) = r.try_borrow_mut()
            && let Some(r) = r.as_mut()
            && r.flights.remove(flight)
            && unanswered
        {
            r.failed(flight.key.0);
        }
    });
}

/// The answer of a lookup when it can be given at once: from the hosts table or the cache.
enum Now {
    Done(Result<Vec<Rec>, DnsError>),
    Later(task::Op),
}

/// `resolve(name, qtype, timeout)`: the candidates are the name itself, then, for a relative
/// name with fewer dots than `ndots`, the name under each search domain.
fn resolve(name: &str, qtype: u16, timeout: Option<u64>) -> Now {
    let Some((name, absolute)) = normalize(name) else {
        return Now::Done(Err(DnsError::InvalidName));
    };
    let (first, candidates, timeout) = with(|r| {
        let mut cands = vec![name.clone()];
        if !absolute && name.matches('.').count() < r.conf.ndots {
            cands.extend(
                r.conf
                    .search
                    .iter()
                    .filter_map(|s| normalize(&format!("{name}.{s}")).map(|n| n.0)),
            );
        }
        let timeout = timeout.map(Duration::from_millis).unwrap_or(r.conf.timeout);
        (r.chase(&name, qtype, &HashMap::new()), cands, timeout)
    });
    match first {
        Chase::Found(recs) if !recs.is_empty() || candidates.len() == 1 => {
            return Now::Done(Ok(recs));
        }
        Chase::Fail(e) if candidates.len() == 1 => return Now::Done(Err(e)),
        _ => {}
    }
    Now::Later(Box::pin(async move {
        // A name that does not exist moves on to the next candidate, like an error (glibc
        // does the same; the reference stops there). It is the answer only if no candidate
        // has records.
        let mut last = DnsError::NotFound;
        let mut negative = false;
        for cand in candidates {
            let attempt = future::or(resolve_one(cand, qtype), async {
                Timer::after(timeout).await;
                Err(DnsError::TimedOut)
            });
            match attempt.await {
                Ok(recs) if recs.is_empty() => negative = true,
                Ok(recs) => return results(Ok(recs)),
                Err(DnsError::Reconfigured) => return results(Err(DnsError::Reconfigured)),
                Err(e) => last = e,
            }
        }
        results(if negative { Ok(Vec::new()) } else { Err(last) })
    }))
}

/// One name: cache and CNAMEs first, then as many queries as the chain needs.
async fn resolve_one(name: String, qtype: u16) -> Result<Vec<Rec>, DnsError> {
    let mut local = Groups::new();
    let mut asked: HashSet<String> = HashSet::new();
    loop {
        let target = match with(|r| r.chase(&name, qtype, &local)) {
            Chase::Found(recs) => return Ok(recs),
            Chase::Fail(e) => return Err(e),
            Chase::Missing(t) => t,
        };
        // Asked already and still nothing: the server has no such record (NODATA, no SOA).
        if !asked.insert(target.clone()) {
            return Err(DnsError::NotFound);
        }
        if asked.len() > MAX_HOPS {
            return Err(DnsError::TooDeep);
        }
        let wait = with(|r| r.join(&target, qtype))?;
        local.extend(wait.await?);
    }
}

fn results(r: Result<Vec<Rec>, DnsError>) -> mlua::Result<MultiValue> {
    let lua = runtime::get().lua.clone();
    to_lua(&lua, r)
}

/// A lookup's outcome as Lua sees it: a list of records, or `nil, err` with the error's text.
/// The only place a `DnsError` becomes a Lua value.
fn to_lua(lua: &Lua, r: Result<Vec<Rec>, DnsError>) -> mlua::Result<MultiValue> {
    match r {
        Ok(recs) => {
            let t = lua.create_table_with_capacity(recs.len(), 0)?;
            for (i, rec) in recs.into_iter().enumerate() {
                let v = match rec {
                    Rec::A(ip) => Value::String(lua.create_string(ip.to_string())?),
                    Rec::Aaaa(ip) => Value::String(lua.create_string(ip.to_string())?),
                    Rec::Cname(n) => Value::String(lua.create_string(&n)?),
                    Rec::Srv {
                        priority,
                        weight,
                        port,
                        target,
                    } => {
                        let s = lua.create_table_with_capacity(0, 4)?;
                        s.set("priority", priority)?;
                        s.set("weight", weight)?;
                        s.set("port", port)?;
                        s.set("target", target)?;
                        Value::Table(s)
                    }
                };
                t.raw_set(i + 1, v)?;
            }
            lua_result(lua, Ok::<_, NetError>(t))
        }
        Err(e) => lua_result::<()>(lua, Err(NetError::Dns(e))),
    }
}

/// What `dns.conf` hands over, already shape-checked by the Lua side: nameservers, search
/// domains, per-attempt timeout in seconds, attempts, ndots.
type ConfArgs = (
    Option<Vec<String>>,
    Option<Vec<String>>,
    Option<f64>,
    Option<i64>,
    Option<i64>,
);

/// `dns.conf`: defaults, then the options given (clamped as the contract says). A bad
/// nameserver or timeout is an argument error, raised, not a `nil, err` answer.
fn conf(_: &Lua, (servers, search, timeout, attempts, ndots): ConfArgs) -> mlua::Result<()> {
    let servers = match servers {
        Some(list) => {
            let mut out = Vec::new();
            for s in list {
                match parse_server(&s) {
                    Some(sa) => out.push(sa),
                    None => {
                        return Err(mlua::Error::runtime(format!("conf: bad nameserver '{s}'")));
                    }
                }
            }
            out
        }
        None => with(|r| r.system_servers.clone()),
    };
    let timeout = timeout
        .map(|t| {
            clamped_secs(t, 0.001, 30.0).ok_or_else(|| {
                mlua::Error::runtime("bad argument #1 to 'conf' (timeout: seconds expected)")
            })
        })
        .transpose()?;
    let c = Config::with_options(servers, search, timeout, attempts, ndots);
    with(|r| r.reconfigure(c));
    Ok(())
}

pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    with(|_| ());
    // resolve(name, qtype, timeout?) -> records | nil, err | MARKER (yield for the answer)
    m.set(
        "resolve",
        lua.create_function(
            |lua, (name, qtype, timeout): (mlua::LuaString, u16, Option<i64>)| {
                let Ok(name) = name.to_str().map(|s| s.to_string()) else {
                    return to_lua(lua, Err(DnsError::InvalidName));
                };
                match resolve(&name, qtype, timeout.map(|t| t.max(0) as u64)) {
                    Now::Done(r) => to_lua(lua, r),
                    Now::Later(op) => Ok(MultiValue::from_vec(vec![task::suspend(op)?])),
                }
            },
        )?,
    )?;
    // conf(nameservers?, search?, timeout_seconds?, attempts?, ndots?)
    m.set("conf", lua.create_function(conf)?)?;
    m.set(
        "sethosts",
        lua.create_function(|_, text: mlua::LuaString| {
            let text = String::from_utf8_lossy(&text.as_bytes()).into_owned();
            with(|r| merge_hosts(&mut r.hosts, &text));
            Ok(())
        })?,
    )?;
    Ok(m)
}
