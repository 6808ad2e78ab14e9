//! The wire: building a question, exchanging it with one server, checking what comes back,
//! and collecting from the answer the records that concern the question.
//!
//! The format is hickory-proto's; what is ours is the exchange policy (UDP resent every
//! per-attempt timeout, TCP for the same question when the answer is truncated, everything
//! bounded by `attempts × timeout`) and the distrust: a datagram counts only if it is a
//! response with our random ID to our one question, and of the records it carries we keep
//! only the question's name, its CNAME chain and the SRV targets there, so a server cannot
//! plant answers for names nobody asked about. Nothing here touches the resolver's state:
//! an exchange is a future that ends in a `Message` or a `DnsError`, and `collect` a pure
//! function of the message.

use std::collections::HashSet;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use async_io::{Async, Timer};
use futures_lite::future;
use futures_lite::io::{AsyncReadExt, AsyncWriteExt};
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, RecordType};

use super::record::{A, AAAA, CNAME, Groups, MAX_HOPS, Rec, SRV, Ttls};
use crate::log::{self, Level};
use crate::native::net::error::DnsError;

/// How long NXDOMAIN is remembered when the server sends no SOA.
const NXDOMAIN_TTL: u32 = 5;
/// Responses with more records than this are ignored as hostile (reference limit).
const MAX_RECORDS: usize = 1000;
/// The UDP payload size advertised through EDNS0.
const EDNS_PAYLOAD: u16 = 4096;

/// The cache key of a wire name: lowercase, no trailing dot.
pub(crate) fn key_of(name: &Name) -> String {
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
pub fn collect(msg: &Message, qname: &str, qtype: u16) -> (Groups, Ttls) {
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

    let mut groups = Groups::new();
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

/// Sends the question to `server` and waits for its answer: UDP, resent every `per_try`,
/// `attempts` times; TCP for the same question when the UDP answer is truncated.
pub async fn exchange(
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
        log::message(
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

/// The error for a failed send or receive: a refused port is reported as such (fast, where the
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

pub(crate) enum Reply {
    Ok(Box<Message>),
    /// The answer to our question, cut short: ask again over TCP.
    Truncated,
    /// Not an answer to our question (wrong ID, not a response, malformed ...).
    Ignore,
}

/// Whether `buf` answers our question: a response, with our ID, one question that is ours.
pub(crate) fn check_response(buf: &[u8], id: u16, name: &str, qtype: u16) -> Reply {
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
