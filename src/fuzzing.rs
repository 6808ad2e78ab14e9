//! Fuzz targets: one function per parser that takes bytes from the network or from files,
//! each driving the real code the way the runtime does. The afl binaries of `fuzz/` call
//! them, and `tests/it/fuzz_corpus.rs` replays the committed corpus and crashes through them,
//! so a crash once found stays fixed (fuzz/README.md).
//!
//! A target returns nothing: an input is accepted or refused by the parser, and only a panic
//! (a bug, or a broken invariant asserted here) is a finding. Not part of the documented API.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Once;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use bytes::Bytes;

use mlua::{Lua, Table, Value};

use crate::native::net::dns::{cache::Cache, config, normalize, record, wire};
use crate::native::net::http::h2_io::H2Io;
use crate::native::net::http::{chunk, h2, head};
use crate::native::net::read_buf::{Delim, ReadBuf, Request};
use crate::native::net::tls::{config as tls_conf, info, verify};
use crate::native::net::websocket::{self, frame};

/// A fuzz target: takes any bytes, panics only on a bug.
pub type Target = fn(&[u8]);

/// Every target by name: the names of `fuzz/src/bin/` and of `fuzz/corpus/`.
pub const TARGETS: &[(&str, Target)] = &[
    ("read_buf", read_buf),
    ("dns_message", dns_message),
    ("resolv_conf", resolv_conf),
    ("hosts", hosts),
    ("tls_config", tls_config),
    ("http_head", http_head),
    ("http_chunk", http_chunk),
    ("websocket_frame", websocket_frame),
    ("http2", http2),
];

thread_local! {
    /// One Lua state for the decoders that build Lua values, kept across inputs as a
    /// connection's state is kept across reads.
    static LUA: Lua = Lua::new();
    static TLS_SESSIONS: RefCell<Option<tls_conf::Sessions>> = const { RefCell::new(None) };
}

/// The parsers' warnings (an unusable nameserver line ...) are not findings: keep them off
/// stderr, which afl would have to swallow at every execution.
fn quiet() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| crate::log::set_level(crate::log::Level::Error));
}

/// Reads an input as the fields a target needs; past the end, zeros and empty slices.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn byte(&mut self) -> u8 {
        let (b, rest) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = rest;
        b
    }

    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.byte(), self.byte()])
    }

    fn take(&mut self, n: usize) -> &'a [u8] {
        let (b, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        b
    }
}

/// The sizes a connection's socket reads come in: all at once for seed 0, else pieces of
/// 1 to 64 bytes from a small generator seeded by the input, so every way a head or frame can
/// be cut across reads is reachable.
struct Pieces<'a> {
    rest: &'a [u8],
    state: u32,
}

impl<'a> Iterator for Pieces<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        let n = if self.state == 0 {
            self.rest.len()
        } else {
            self.state ^= self.state << 13;
            self.state ^= self.state >> 17;
            self.state ^= self.state << 5;
            1 + (self.state % 64) as usize
        };
        let (p, rest) = self.rest.split_at(n.min(self.rest.len()));
        self.rest = rest;
        Some(p)
    }
}

/// What a correct buffer answers `req` with, given the unread bytes: the checks of
/// `ReadBuf::satisfies` against a plain search from the start of the unread bytes (the buffer
/// resumes its searches where they stopped; the answer must be the same).
fn check_answer(req: &Request, unread: &[u8], n: usize) {
    assert!(
        n <= unread.len(),
        "answer {n} past the {} buffered",
        unread.len()
    );
    let first_end = |d: &[u8]| memchr::memmem::find(unread, d).map(|i| i + d.len());
    match req {
        Request::Bytes(k) => assert_eq!(n, *k),
        Request::Delim(d) => assert_eq!(Some(n), first_end(d.bytes()), "delimiter read"),
        Request::Bounded(d, limit) => {
            let want = match first_end(d.bytes()) {
                Some(e) if e <= *limit => e,
                _ => *limit,
            };
            assert_eq!(n, want, "bounded read");
        }
        Request::Sized(size, limit) => match size(unread) {
            Some(k) if k <= *limit => assert_eq!(n, k, "sized read"),
            Some(_) => assert_eq!(n, unread.len().min(*limit), "sized read over its limit"),
            None => panic!("a sized read answered before its size was known"),
        },
    }
}

/// Feeds `input` to a read buffer in the pieces `split` picks, as a connection's driver
/// appends each socket read, and answers one request after another as stream.rs does (a new
/// request searches from the start; the buffer is compacted after each answer). `answer`
/// gets each answer's bytes and says the next request, or None to stop (the protocol gave up
/// on the connection). Every answer is checked against the stream's bytes and `check_answer`.
/// Returns how many requests were answered.
fn drive(
    input: &[u8],
    split: u8,
    first: Request,
    mut answer: impl FnMut(&[u8]) -> Option<Request>,
) -> usize {
    let mut buf = ReadBuf::default();
    let mut pieces = Pieces {
        rest: input,
        state: u32::from(split),
    };
    let mut req = first;
    let mut consumed = 0;
    let mut answers = 0;
    loop {
        if let Some(n) = buf.satisfies(&req) {
            check_answer(&req, buf.bytes(), n);
            let bytes = buf.take(n);
            assert_eq!(bytes, &input[consumed..consumed + n], "bytes out of order");
            consumed += n;
            answers += 1;
            let next = answer(bytes);
            buf.compact();
            match next {
                Some(r) => {
                    req = r;
                    buf.scanned = 0;
                }
                None => return answers,
            }
        } else {
            match pieces.next() {
                Some(p) => buf.append(p),
                // The peer closed: what is buffered is left unread.
                None => return answers,
            }
        }
    }
}

/// A request as the script and protocol reads ask: a count, a delimiter (any length, empty
/// included: the native `read` takes one), a delimiter within a byte budget, or a sized unit
/// (a WebSocket frame, a chunk) within its limit.
fn request(spec: &mut Cursor<'_>) -> Request {
    let b = spec.byte();
    match b & 3 {
        0 => Request::Bytes(usize::from(spec.u16())),
        1 => {
            let n = usize::from(spec.byte() % 24);
            Request::Delim(Delim::new(spec.take(n)))
        }
        2 => {
            let n = usize::from(spec.byte() % 24);
            let d = spec.take(n);
            // As `bounded_read` makes it: never under the delimiter's length.
            Request::Bounded(Delim::new(d), usize::from(spec.u16()).max(d.len()))
        }
        _ => {
            let size = if b & 4 == 0 { frame::size } else { chunk::size };
            Request::Sized(size, usize::from(spec.u16()))
        }
    }
}

/// The read buffer under `read`/`readline` and the protocol reads: `[split][speclen][spec ...]`
/// then the stream; each request of the spec is answered in turn.
pub fn read_buf(data: &[u8]) {
    read_buf_answers(data);
}

fn read_buf_answers(data: &[u8]) -> usize {
    let mut c = Cursor(data);
    let split = c.byte();
    let speclen = usize::from(c.byte());
    let mut spec = Cursor(c.take(speclen));
    let first = request(&mut spec);
    drive(c.0, split, first, |_| {
        (!spec.0.is_empty()).then(|| request(&mut spec))
    })
}

/// A DNS response as the resolver takes it from a UDP datagram or a TCP message: checked
/// against the question it answers (here the one it carries, so that every well-formed message
/// goes on), its records collected for that question, and stored in and read from the cache.
pub fn dns_message(data: &[u8]) {
    dns_groups(data);
}

/// How many (owner, type) groups the message gave for its question.
fn dns_groups(data: &[u8]) -> usize {
    if data.len() < 2 {
        return 0;
    }
    let id = u16::from_be_bytes([data[0], data[1]]);
    let question = hickory_proto::op::Message::from_vec(data)
        .ok()
        .and_then(|m| {
            let q = m.queries.first()?;
            let (name, _) = normalize(&wire::key_of(q.name()))?;
            Some((name, u16::from(q.query_type())))
        })
        .unwrap_or_else(|| ("example.com".to_string(), record::A));
    let (name, qtype) = question;
    if let wire::Reply::Ok(msg) = wire::check_response(data, id, &name, qtype) {
        let (groups, ttls) = wire::collect(&msg, &name, qtype);
        let now = Instant::now();
        let mut cache = Cache::default();
        cache.store(&groups, &ttls, now);
        for key in groups.keys() {
            let _ = cache.get(key, now);
        }
        return groups.len();
    }
    0
}

/// /etc/resolv.conf's text (or any text given as it); the clamps must hold whatever it says.
pub fn resolv_conf(data: &[u8]) {
    quiet();
    let c = config::parse_resolv_conf(&String::from_utf8_lossy(data));
    assert!((1..=5).contains(&c.attempts), "attempts {}", c.attempts);
    assert!(c.ndots <= 15, "ndots {}", c.ndots);
    assert!(
        (1..=30).contains(&c.timeout.as_secs()),
        "timeout {:?}",
        c.timeout
    );
    for s in &c.search {
        let _ = normalize(s);
    }
}

/// A hosts file (/etc/hosts, `dns.sethosts`): merged into a table that already has entries,
/// then again, as `dns.sethosts` after start does.
pub fn hosts(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut table = config::Hosts::new();
    config::merge_hosts(&mut table, "127.0.0.1 localhost\n::1 localhost\n");
    config::merge_hosts(&mut table, &text);
    config::merge_hosts(&mut table, &text);
    for ((name, t), ips) in &table {
        assert_eq!(normalize(name).map(|n| n.0).as_deref(), Some(name.as_str()));
        for (i, ip) in ips.iter().enumerate() {
            assert_eq!(ip.is_ipv4(), *t == record::A, "{name}: {ip} under type {t}");
            assert!(!ips[..i].contains(ip), "{name}: {ip} listed twice");
        }
    }
}

/// The TLS options as `silly.net.tls` hands them over, shaped: `[flags]` then the fields
/// cert, key, ca, ciphers, ciphersuites, minversion, maxversion, alpnprotos (comma-separated)
/// and an SNI name, separated by 0xff bytes (which PEM text never holds). Flags: bit 0 server
/// or client; bits 1-2 `verify`; bits 3-7 whether ciphers, ciphersuites, minversion,
/// maxversion, alpnprotos are given. Builds the configuration, and reads each certificate as
/// `peercert()` and SNI selection do.
pub fn tls_config(data: &[u8]) {
    // A Lua error here is a string option that is not UTF-8 (mlua's `to_str`): an error value
    // for the script, not a crash.
    let _ = tls_built(data);
}

/// Whether the configuration was built (`Ok(false)`: refused with a message).
fn tls_built(data: &[u8]) -> mlua::Result<bool> {
    let mut c = Cursor(data);
    let flags = c.byte();
    let mut fields = c.0.split(|&b| b == 0xff);
    let mut next = || fields.next().unwrap_or_default();
    let (cert, key, ca) = (next(), next(), next());
    let (ciphers, suites, minv, maxv, alpn, sni) = (next(), next(), next(), next(), next(), next());
    LUA.with(|lua| -> mlua::Result<bool> {
        let t = lua.create_table()?;
        let opt = |t: &Table, bit: u8, k: &str, v: &[u8]| -> mlua::Result<()> {
            if flags & (1 << bit) != 0 {
                t.set(k, lua.create_string(v)?)?;
            }
            Ok(())
        };
        opt(&t, 3, "ciphers", ciphers)?;
        opt(&t, 4, "ciphersuites", suites)?;
        opt(&t, 5, "minversion", minv)?;
        opt(&t, 6, "maxversion", maxv)?;
        if flags & (1 << 7) != 0 {
            let list = lua.create_table()?;
            for p in alpn.split(|&b| b == b',') {
                list.push(lua.create_string(p)?)?;
            }
            t.set("alpnprotos", list)?;
        }
        if !ca.is_empty() {
            t.set("ca", lua.create_string(ca)?)?;
        }
        let verify = (flags >> 1) & 3;
        let built = if flags & 1 == 0 {
            let entry = lua.create_table()?;
            entry.set("cert", lua.create_string(cert)?)?;
            entry.set("key", lua.create_string(key)?)?;
            let certs = lua.create_table()?;
            certs.push(entry)?;
            t.set("certs", certs)?;
            t.set(
                "verify",
                ["none", "optional", "required", "none"][usize::from(verify)],
            )?;
            TLS_SESSIONS.with(|s| -> mlua::Result<bool> {
                let mut s = s.borrow_mut();
                if s.is_none() {
                    *s = Some(tls_conf::Sessions::new().map_err(mlua::Error::runtime)?);
                }
                Ok(tls_conf::server(&t, s.as_ref().expect("set above"))?.is_ok())
            })?
        } else {
            // verify = true without `ca` loads the system's roots: once per process.
            t.set("verify", verify != 0)?;
            if !cert.is_empty() {
                t.set("cert", lua.create_string(cert)?)?;
            }
            if !key.is_empty() {
                t.set("key", lua.create_string(key)?)?;
            }
            tls_conf::client(&t)?.is_ok()
        };
        let _ = tls_conf::parse_key(key, "key");
        let host = String::from_utf8_lossy(sni);
        for pem in [cert, ca] {
            for der in tls_conf::parse_certs(pem, "cert").unwrap_or_default() {
                let _ = info::cert_table(lua, der.as_ref())?;
                for name in verify::leaf_names(der.as_ref()) {
                    let _ = verify::name_matches(&name, &host);
                }
            }
        }
        Ok(built)
    })
}

/// HTTP/1.x heads from a connection, read as the server (`readrequest`) or the client
/// (`readresponse`) reads them: `[flags][limit: u16][split]` then the stream; bit 0 of flags
/// picks the client side. Each head is decoded into its Lua table or the refusing status;
/// keep-alive reads the next head after a table. A received field table is also handed back
/// to the head writers, as a handler or proxy that forwards fields does.
pub fn http_head(data: &[u8]) {
    http_heads(data);
}

/// How many heads were accepted (decoded into a table).
fn http_heads(data: &[u8]) -> usize {
    let mut c = Cursor(data);
    let client = c.byte() & 1 == 1;
    // `bounded_read`: never under the delimiter's length.
    let limit = usize::from(c.u16()).max(4);
    let split = c.byte();
    let req = || Request::Bounded(Delim::new(b"\r\n\r\n"), limit);
    let mut heads = 0;
    LUA.with(|lua| {
        drive(c.0, split, req(), |bytes| {
            let parsed = if client {
                head::parse_response(lua, bytes)
            } else {
                head::parse_request(lua, bytes)
            };
            let Ok(Value::Table(t)) = parsed else {
                return None;
            };
            heads += 1;
            let header: Option<Table> = t.get("header").ok();
            let r = head::Req {
                nobody: false,
                http10: false,
                close: false,
                length: None,
            };
            let _ = head::response(lua, 200, header.as_ref(), &r);
            let _ = head::request(
                lua,
                b"GET",
                b"/",
                header.as_ref(),
                "example.com",
                Some(0),
                false,
            );
            Some(req())
        });
    });
    heads
}

/// A chunked body as `readchunk` reads it (`[limit: u16][split]` then the stream), then its
/// trailer lines as `readline` reads them, until the blank line.
pub fn http_chunk(data: &[u8]) {
    http_chunks(data);
}

/// How many data chunks were read, and whether the body ended with its blank line.
fn http_chunks(data: &[u8]) -> (usize, bool) {
    let mut c = Cursor(data);
    let limit = usize::from(c.u16());
    let split = c.byte();
    let chunk_req = || Request::Sized(chunk::size, limit.saturating_add(chunk::LINE_MAX + 2));
    let line_req = || Request::Bounded(Delim::new(b"\r\n"), limit.max(2));
    let mut trailers = false;
    let (mut chunks, mut ended) = (0, false);
    LUA.with(|lua| {
        drive(c.0, split, chunk_req(), |bytes| {
            if trailers {
                ended = bytes == b"\r\n";
                return (!ended && bytes.ends_with(b"\r\n")).then(line_req);
            }
            match chunk::decode(lua, bytes) {
                Ok(Value::String(_)) => {
                    chunks += 1;
                    Some(chunk_req())
                }
                Ok(Value::Boolean(false)) => {
                    trailers = true;
                    Some(line_req())
                }
                _ => None,
            }
        });
    });
    (chunks, ended)
}

/// WebSocket frames as `readframe` reads them (`[flags][maxframe: u16][split]` then the
/// stream): each one decoded to its Lua table or the reason it is refused; an accepted frame
/// must survive encoding and parsing again, and with bit 0 of flags a compressed one is
/// inflated (permessage-deflate) within a bound.
pub fn websocket_frame(data: &[u8]) {
    ws_frames(data);
}

/// How many frames were accepted.
fn ws_frames(data: &[u8]) -> usize {
    let mut c = Cursor(data);
    let inflate = c.byte() & 1 == 1;
    let limit = usize::from(c.u16()).max(14);
    let split = c.byte();
    let req = || Request::Sized(frame::size, limit);
    let mut frames = 0;
    LUA.with(|lua| {
        drive(c.0, split, req(), |bytes| {
            let _ = websocket::decode(lua, bytes);
            let f = frame::parse(bytes, bytes.len()).ok()?;
            frames += 1;
            let again = frame::encode(f.fin, f.rsv1, f.opcode, &f.payload, Some([1, 2, 3, 4]));
            let g = frame::parse(&again, again.len()).expect("an encoded frame parses");
            assert_eq!(
                (g.fin, g.rsv1, g.opcode, &g.payload),
                (f.fin, f.rsv1, f.opcode, &f.payload)
            );
            if inflate && f.rsv1 {
                let _ = websocket::inflate(&f.payload, 4 * limit);
            }
            Some(req())
        });
    });
    frames
}

/// The client's side of an HTTP/2 connection, in memory: reads hand out the input in pieces
/// of `piece` bytes; at its end they wait until `eof` is set, then see the end of the stream
/// (h2 drops the streams it has not handed out yet when the socket closes, as a real peer's
/// close would). What the server writes is taken and dropped.
struct Wire {
    input: Vec<u8>,
    at: usize,
    piece: usize,
    eof: Rc<Cell<bool>>,
}

impl futures_lite::AsyncRead for Wire {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        if this.at == this.input.len() && !this.eof.get() {
            return Poll::Pending;
        }
        let n = buf.len().min(this.piece).min(this.input.len() - this.at);
        buf[..n].copy_from_slice(&this.input[this.at..this.at + n]);
        this.at += n;
        Poll::Ready(Ok(n))
    }
}

impl futures_lite::AsyncWrite for Wire {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Polls `fut` to its end: when it waits with the whole input read, the input ends (`eof`);
/// if it still waits after that, nothing can move it any more and the run is over (None).
fn settle<F: Future>(fut: F, eof: &Cell<bool>) -> Option<F::Output> {
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return Some(v);
        }
        if eof.replace(true) {
            return None;
        }
    }
}

/// What a client sends to the HTTP/2 server (`[piece - 1][maxheader: u16]` then the bytes),
/// read by h2's server connection with the listener's settings through our adapter (`H2Io`)
/// in pieces of `piece` bytes. Every stream it accepts is handled as the server does: its
/// fields become the handler's table and go back through the response fields' check, what
/// body already arrived is taken (its window released), and it is answered.
pub fn http2(data: &[u8]) {
    http2_streams(data);
}

/// How many streams were accepted.
fn http2_streams(data: &[u8]) -> usize {
    quiet();
    let mut c = Cursor(data);
    let piece = usize::from(c.byte()) + 1;
    let maxheader = u32::from(c.u16()).max(64);
    let eof = Rc::new(Cell::new(false));
    let wire = Wire {
        input: c.0.to_vec(),
        at: 0,
        piece,
        eof: eof.clone(),
    };
    let io = H2Io::new(Box::new(wire), Vec::new());
    let handshake = h2::builder(maxheader).handshake::<_, Bytes>(io);
    let Some(Ok(mut conn)) = settle(handshake, &eof) else {
        return 0;
    };
    let mut streams = 0;
    LUA.with(|lua| {
        while let Some(Some(Ok((req, mut respond)))) = settle(conn.accept(), &eof) {
            streams += 1;
            let (parts, mut body) = req.into_parts();
            if let Ok((fields, _)) = h2::fields_table(lua, &parts.headers) {
                let _ = h2::header_map(lua, Some(&fields));
            }
            let mut cx = Context::from_waker(Waker::noop());
            while let Poll::Ready(Some(Ok(chunk))) = body.poll_data(&mut cx) {
                let _ = body.flow_control().release_capacity(chunk.len());
            }
            if let Ok(mut send) = respond.send_response(http::Response::new(()), false) {
                let _ = send.send_data(Bytes::from_static(b"answer"), true);
            }
        }
    });
    streams
}

#[cfg(test)]
mod tests {
    //! The seeds reach the parsers' accepting paths: a corpus that drifted from its target's
    //! input format would be refused at the first bytes and fuzz nothing.
    use super::*;

    fn seed(target: &str, name: &str) -> Vec<u8> {
        let p = format!("{}/fuzz/corpus/{target}/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
    }

    #[test]
    fn read_buf_seeds_answer_every_request() {
        assert_eq!(read_buf_answers(&seed("read_buf", "lines")), 3);
        assert_eq!(read_buf_answers(&seed("read_buf", "counts")), 3);
        assert_eq!(read_buf_answers(&seed("read_buf", "bounded")), 2);
        assert_eq!(read_buf_answers(&seed("read_buf", "long_delim")), 2);
        assert_eq!(read_buf_answers(&seed("read_buf", "sized")), 3);
    }

    #[test]
    fn dns_seeds_are_answers() {
        assert_eq!(dns_groups(&seed("dns_message", "a")), 1);
        assert_eq!(dns_groups(&seed("dns_message", "cname_chain_aaaa")), 3);
        assert_eq!(
            dns_groups(&seed("dns_message", "srv")),
            3,
            "SRV and its glue"
        );
        assert_eq!(
            dns_groups(&seed("dns_message", "nxdomain_soa")),
            1,
            "the negative entry"
        );
    }

    #[test]
    fn tls_seeds_build_or_are_refused_as_expected() {
        for ok in [
            "server_rsa",
            "server_ec_sec1",
            "server_pkcs1_alpn",
            "server_mtls",
            "client_ca",
            "client_mtls",
        ] {
            assert_eq!(tls_built(&seed("tls_config", ok)).ok(), Some(true), "{ok}");
        }
        for refused in [
            "server_encrypted_key",
            "server_mismatch",
            "server_selfsigned",
        ] {
            let built = tls_built(&seed("tls_config", refused)).ok();
            assert_eq!(built, Some(false), "{refused}");
        }
    }

    #[test]
    fn http_seeds_are_accepted() {
        assert_eq!(http_heads(&seed("http_head", "browser_get")), 1);
        assert_eq!(http_heads(&seed("http_head", "pipelined")), 2);
        assert_eq!(http_heads(&seed("http_head", "response_chunked")), 2);
        assert_eq!(http_heads(&seed("http_head", "long_line")), 0);
        assert_eq!(http_chunks(&seed("http_chunk", "split")), (2, true));
        assert_eq!(http_chunks(&seed("http_chunk", "trailers")), (1, true));
        assert_eq!(http_chunks(&seed("http_chunk", "bad_crlf")), (0, false));
    }

    #[test]
    fn http2_seeds_open_streams() {
        assert_eq!(http2_streams(&seed("http2", "get")), 1);
        assert_eq!(http2_streams(&seed("http2", "post_body")), 2);
        assert_eq!(http2_streams(&seed("http2", "continuation")), 1);
        assert_eq!(http2_streams(&seed("http2", "reset_ping_goaway")), 2);
        assert_eq!(http2_streams(b"\x10\x40\x00not a preface"), 0);
    }

    #[test]
    fn websocket_seeds_are_frames() {
        assert_eq!(ws_frames(&seed("websocket_frame", "fragmented")), 2);
        assert_eq!(ws_frames(&seed("websocket_frame", "control")), 3);
        assert_eq!(ws_frames(&seed("websocket_frame", "len127")), 1);
        assert_eq!(ws_frames(&seed("websocket_frame", "over_limit")), 0);
    }
}
