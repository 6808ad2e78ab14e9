//! `silly.net.dns.c`: the stub resolver behind `silly.net.dns` (contract: net.md §5,
//! DECISIONS.md N5).
//!
//! Everything lives on the loop thread and nothing blocks it: queries are plain futures on the
//! executor, and the wire format is hickory-proto's. The pieces, in the order a lookup meets them:
//!
//! * the hosts table (`/etc/hosts`, `dns.sethosts`), for A and AAAA;
//! * the cache, keyed by (owner name, type), honouring TTLs, with negative entries;
//! * flights: one query on the wire per (server, name, type) however many tasks ask for it
//!   (singleflight); a flight ends when it is answered, fails, or nobody waits for it any more;
//! * the exchange: one UDP socket per flight with a random source port and a random ID, resent
//!   every `timeout` up to `attempts` times, falling back to TCP when the answer is truncated.
//!
//! Errors are `DnsError`s; Lua sees their text: the reference's plain strings ("Not found" ...)
//! or errno values (TIMEDOUT).

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::rc::Rc;
use std::time::{Duration, Instant};

use async_io::{Async, Timer};
use futures_lite::future;
use futures_lite::io::{AsyncReadExt, AsyncWriteExt};
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, RecordType};
use mlua::{Lua, MultiValue, Table, Value};

use crate::native::current_task;
use crate::native::logger::{self, Level};
use crate::runtime::{self, task};

mod cache;
mod config;
mod error;
mod flight;
mod record;

use cache::Cache;
use config::{Config, Hosts, clamped_secs, merge_hosts};
pub use config::{normalize, parse_server};
pub use error::DnsError;
use flight::{Flight, FlightWait, Flights};
use record::{Groups, Key, MAX_HOPS, Ttls, ip_rec};
pub use record::{A, AAAA, CNAME, Rec, SRV};

/// How long NXDOMAIN is remembered when the server sends no SOA.
const NXDOMAIN_TTL: u32 = 5;
/// Responses with more records than this are ignored as hostile (reference limit).
const MAX_RECORDS: usize = 1000;
/// The UDP payload size advertised through EDNS0.
const EDNS_PAYLOAD: u16 = 4096;

struct Resolver {
    conf: Config,
    /// The servers of resolv.conf as read at start: what `dns.conf` without `nameservers`
    /// goes back to.
    system_servers: Vec<SocketAddr>,
    /// Consecutive failures per server (index into `conf.servers`); a success resets it.
    /// The server for a new query is the first with the fewest failures.
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
                let exchange = exchange(
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
        let (groups, ttls) = collect(msg, qname, qtype);
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

/// The cache key of a wire name: lowercase, no trailing dot.
fn key_of(name: &Name) -> String {
    let labels: Vec<String> = name
        .iter()
        .map(|l| String::from_utf8_lossy(l).to_ascii_lowercase())
        .collect();
    labels.join(".")
}

/// Groups a response's records by owner and type, with their smallest TTL, keeping only what
/// concerns the question: records owned by the name asked, the CNAME chain from it, and the
/// targets of the SRV records found there (glue). Adds the negative entry an NXDOMAIN or an
/// NODATA with SOA stands for.
fn collect(msg: &Message, qname: &str, qtype: u16) -> (Groups, Ttls) {
    let mut owners: HashSet<String> = HashSet::new();
    owners.insert(qname.to_string());
    // The chain: each round adds the CNAME targets of the owners known so far.
    for _ in 0..MAX_HOPS {
        let before = owners.len();
        for r in &msg.answers {
            if let RData::CNAME(c) = &r.data
                && owners.contains(&key_of(&r.name))
            {
                owners.insert(key_of(&c.0));
            }
        }
        if owners.len() == before {
            break;
        }
    }
    let srv_targets: Vec<String> = msg
        .answers
        .iter()
        .filter(|r| owners.contains(&key_of(&r.name)))
        .filter_map(|r| match &r.data {
            RData::SRV(s) => Some(key_of(&s.target)),
            _ => None,
        })
        .collect();
    owners.extend(srv_targets);

    let mut groups: Groups = HashMap::new();
    let mut ttls = Ttls::new();
    for r in msg
        .answers
        .iter()
        .chain(&msg.authorities)
        .chain(&msg.additionals)
    {
        if r.dns_class != DNSClass::IN {
            continue;
        }
        let owner = key_of(&r.name);
        if !owners.contains(&owner) {
            continue;
        }
        let (t, rec) = match &r.data {
            RData::A(a) => (A, Rec::A(a.0)),
            RData::AAAA(a) => (AAAA, Rec::Aaaa(a.0)),
            RData::CNAME(c) => (CNAME, Rec::Cname(key_of(&c.0))),
            RData::SRV(s) => (
                SRV,
                Rec::Srv {
                    priority: s.priority,
                    weight: s.weight,
                    port: s.port,
                    target: key_of(&s.target),
                },
            ),
            _ => continue,
        };
        let key = (owner, t);
        let ttl = ttls.entry(key.clone()).or_insert(u32::MAX);
        *ttl = (*ttl).min(r.ttl);
        let list = groups.entry(key).or_default();
        if !list.contains(&rec) {
            list.push(rec);
        }
    }

    // Where the chain ends, and whether the answer says that name has nothing of the type.
    let mut last = qname.to_string();
    if qtype != CNAME {
        for _ in 0..MAX_HOPS {
            match groups.get(&(last.clone(), CNAME)).and_then(|r| r.first()) {
                Some(Rec::Cname(next)) if !groups.contains_key(&(last.clone(), qtype)) => {
                    last = next.clone()
                }
                _ => break,
            }
        }
    }
    let end = (last, qtype);
    if !groups.contains_key(&end)
        && (qtype == CNAME || !groups.contains_key(&(end.0.clone(), CNAME)))
    {
        let soa = msg.authorities.iter().find_map(|r| match &r.data {
            RData::SOA(s) => Some(r.ttl.min(s.minimum)),
            _ => None,
        });
        let negative = match (msg.metadata.response_code == ResponseCode::NXDomain, soa) {
            (_, Some(ttl)) => Some(ttl),
            (true, None) => Some(NXDOMAIN_TTL),
            (false, None) => None,
        };
        if let Some(ttl) = negative {
            groups.insert(end.clone(), Vec::new());
            ttls.insert(end, ttl);
        }
    }
    (groups, ttls)
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

/// Sends the question to `server` and waits for its answer: UDP, resent every `per_try`,
/// `attempts` times; TCP for the same question when the UDP answer is truncated.
async fn exchange(
    server: SocketAddr,
    name: String,
    qtype: u16,
    per_try: Duration,
    attempts: u32,
) -> Result<Message, DnsError> {
    let qname = wire_name(&name).ok_or(DnsError::InvalidName)?;
    let mut msg = Message::query();
    msg.metadata.recursion_desired = true;
    msg.add_query(Query::query(qname, RecordType::from(qtype)));
    let mut edns = Edns::new();
    edns.set_max_payload(EDNS_PAYLOAD);
    msg.set_edns(edns);
    let id = msg.metadata.id;
    let packet = msg.to_vec().map_err(|_| DnsError::InvalidName)?;
    let end = Instant::now() + per_try * attempts;

    let sock = udp_to(server).map_err(|e| {
        logger::write_rust(
            Level::Debug,
            &format!("[dns] cannot open a socket to {server}: {e}"),
        );
        DnsError::SendFailed
    })?;
    let mut buf = vec![0u8; 65536];
    for _ in 0..attempts {
        if let Err(e) = sock.send(&packet).await {
            return Err(io_failure(&e));
        }
        let deadline = Instant::now() + per_try;
        loop {
            let got = future::or(async { Some(sock.recv(&mut buf).await) }, async {
                Timer::at(deadline).await;
                None
            })
            .await;
            let n = match got {
                None => break,
                Some(Ok(n)) => n,
                Some(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Some(Err(e)) => return Err(io_failure(&e)),
            };
            match check_response(&buf[..n], id, &name, qtype) {
                Reply::Ok(resp) => return Ok(*resp),
                Reply::Truncated => {
                    return tcp_exchange(server, &packet, id, &name, qtype, end).await;
                }
                Reply::Ignore => continue,
            }
        }
    }
    Err(DnsError::TimedOut)
}

/// The text for a failed send or receive: a refused port is reported as such (fast, where the
/// reference waits for its timeout), anything else as the reference's "Send failed".
fn io_failure(e: &io::Error) -> DnsError {
    match e.raw_os_error() {
        Some(libc::ECONNREFUSED) => DnsError::Os(libc::ECONNREFUSED),
        _ => DnsError::SendFailed,
    }
}

fn udp_to(server: SocketAddr) -> io::Result<Async<UdpSocket>> {
    let any: IpAddr = if server.is_ipv4() {
        Ipv4Addr::UNSPECIFIED.into()
    } else {
        Ipv6Addr::UNSPECIFIED.into()
    };
    let sock = UdpSocket::bind(SocketAddr::new(any, 0))?;
    sock.connect(server)?;
    Async::new(sock)
}

/// The same question over TCP (2-byte length prefix), answered before `end`.
async fn tcp_exchange(
    server: SocketAddr,
    packet: &[u8],
    id: u16,
    name: &str,
    qtype: u16,
    end: Instant,
) -> Result<Message, DnsError> {
    let talk = async {
        let mut s = Async::<TcpStream>::connect(server)
            .await
            .map_err(|e| io_failure(&e))?;
        let mut framed = Vec::with_capacity(packet.len() + 2);
        framed.extend_from_slice(&(packet.len() as u16).to_be_bytes());
        framed.extend_from_slice(packet);
        s.write_all(&framed).await.map_err(|e| io_failure(&e))?;
        loop {
            let mut len = [0u8; 2];
            s.read_exact(&mut len)
                .await
                .map_err(|_| DnsError::ServerFailure)?;
            let mut body = vec![0u8; u16::from_be_bytes(len) as usize];
            s.read_exact(&mut body)
                .await
                .map_err(|_| DnsError::ServerFailure)?;
            if let Reply::Ok(resp) = check_response(&body, id, name, qtype) {
                return Ok(*resp);
            }
        }
    };
    future::or(talk, async {
        Timer::at(end).await;
        Err(DnsError::TimedOut)
    })
    .await
}

enum Reply {
    Ok(Box<Message>),
    /// The answer to our question, cut short: ask again over TCP.
    Truncated,
    /// Not an answer to our question (wrong ID, not a response, malformed ...).
    Ignore,
}

/// Whether `buf` answers our question: a response, with our ID, one question that is ours.
fn check_response(buf: &[u8], id: u16, name: &str, qtype: u16) -> Reply {
    if buf.len() < 12 || u16::from_be_bytes([buf[0], buf[1]]) != id || buf[2] & 0x80 == 0 {
        return Reply::Ignore;
    }
    let truncated = buf[2] & 0x02 != 0;
    let msg = match Message::from_vec(buf) {
        Ok(m) => m,
        // A truncated answer may end in the middle of a record.
        Err(_) if truncated => return Reply::Truncated,
        Err(_) => return Reply::Ignore,
    };
    let ours = msg.metadata.message_type == MessageType::Response
        && msg.metadata.op_code == OpCode::Query
        && msg.queries.len() == 1
        && key_of(msg.queries[0].name()) == name
        && u16::from(msg.queries[0].query_type()) == qtype;
    if !ours || msg.answers.len() + msg.authorities.len() + msg.additionals.len() > MAX_RECORDS {
        return Reply::Ignore;
    }
    if truncated {
        return Reply::Truncated;
    }
    Reply::Ok(Box::new(msg))
}

/// A checked name (lowercase, no trailing dot) as a wire name.
fn wire_name(name: &str) -> Option<Name> {
    Name::from_labels(name.split('.').map(|l| l.as_bytes())).ok()
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
            Ok(MultiValue::from_vec(vec![Value::Table(t)]))
        }
        Err(e) => Ok(MultiValue::from_vec(vec![
            Value::Nil,
            Value::String(lua.create_string(e.to_string())?),
        ])),
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
                    Now::Later(op) => {
                        current_task()?.set_pending(task::Pending::Op(op));
                        Ok(MultiValue::from_vec(vec![Value::LightUserData(
                            task::marker(),
                        )]))
                    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn response(id: u16, name: &str, qtype: u16, rcode: ResponseCode) -> Message {
        let mut m = Message::response(id, OpCode::Query);
        m.metadata.response_code = rcode;
        m.add_query(Query::query(
            wire_name(name).unwrap(),
            RecordType::from(qtype),
        ));
        m
    }

    #[test]
    fn responses_are_checked() {
        let m = response(7, "a.test", A, ResponseCode::NoError);
        let bytes = m.to_vec().unwrap();
        assert!(matches!(
            check_response(&bytes, 7, "a.test", A),
            Reply::Ok(_)
        ));
        assert!(matches!(
            check_response(&bytes, 8, "a.test", A),
            Reply::Ignore
        ));
        assert!(matches!(
            check_response(&bytes, 7, "b.test", A),
            Reply::Ignore
        ));
        assert!(matches!(
            check_response(&bytes, 7, "a.test", AAAA),
            Reply::Ignore
        ));
        assert!(matches!(
            check_response(&bytes[..11], 7, "a.test", A),
            Reply::Ignore
        ));
        assert!(matches!(
            check_response(b"\x00\x07\x80garbage-garbage", 7, "a.test", A),
            Reply::Ignore
        ));
        let mut q = Message::new(7, MessageType::Query, OpCode::Query);
        q.add_query(Query::query(wire_name("a.test").unwrap(), RecordType::A));
        assert!(matches!(
            check_response(&q.to_vec().unwrap(), 7, "a.test", A),
            Reply::Ignore
        ));
        let mut tc = m.clone();
        tc.metadata.truncation = true;
        assert!(matches!(
            check_response(&tc.to_vec().unwrap(), 7, "a.test", A),
            Reply::Truncated
        ));
    }

    #[test]
    fn collect_follows_the_chain_only() {
        use hickory_proto::rr::Record;
        use hickory_proto::rr::rdata::{A as RA, CNAME as RC};
        let mut m = response(1, "www.test", A, ResponseCode::NoError);
        let n = |s: &str| wire_name(s).unwrap();
        m.add_answer(Record::from_rdata(
            n("www.test"),
            30,
            RData::CNAME(RC(n("web.test"))),
        ));
        m.add_answer(Record::from_rdata(
            n("web.test"),
            10,
            RData::A(RA("10.0.0.1".parse().unwrap())),
        ));
        m.add_answer(Record::from_rdata(
            n("web.test"),
            20,
            RData::A(RA("10.0.0.2".parse().unwrap())),
        ));
        m.add_additional(Record::from_rdata(
            n("bank.test"),
            20,
            RData::A(RA("6.6.6.6".parse().unwrap())),
        ));
        let (g, ttl) = collect(&m, "www.test", A);
        assert_eq!(
            g[&("www.test".into(), CNAME)],
            vec![Rec::Cname("web.test".into())]
        );
        assert_eq!(g[&("web.test".into(), A)].len(), 2);
        assert_eq!(ttl[&("web.test".into(), A)], 10);
        assert!(!g.contains_key(&("bank.test".into(), A)));

        let m = response(1, "nx.test", A, ResponseCode::NXDomain);
        let (g, ttl) = collect(&m, "nx.test", A);
        assert_eq!(g[&("nx.test".into(), A)], Vec::<Rec>::new());
        assert_eq!(ttl[&("nx.test".into(), A)], NXDOMAIN_TTL);
        let m = response(1, "a.test", AAAA, ResponseCode::NoError);
        assert!(collect(&m, "a.test", AAAA).0.is_empty());
    }
}
