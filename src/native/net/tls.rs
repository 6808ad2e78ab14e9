//! `silly.net.tls.c`: TLS listeners and outgoing TLS connections over rustls (futures-rustls
//! on the edge-triggered sockets of `runtime/reactor.rs`). Contract: tls.md §0–§7 with D1–D24.
//!
//! A TLS connection is a `Stream` (stream.rs) whose transport is the TLS session, so reads,
//! writes, `limit`, `flush` and close work exactly as for TCP and are exposed by conn.rs. This
//! file adds what only TLS has: configurations (tls_config.rs), the handshake, and the facts
//! a handshake leaves (ALPN, version, suite, SNI name, peer certificates).
//!
//! Every server handshake runs in its own future, bounded by the listener's handshake timeout,
//! so a client that stalls mid-handshake holds only its own socket, never the accept loop.

use std::cell::{Cell, RefCell};
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_io::{Async, Timer};
use futures_lite::io::{AsyncRead, AsyncWrite};
use futures_rustls::{TlsConnector, TlsStream};
use mlua::{Function, Lua, MultiValue, Table, UserData, UserDataRef, Value};
use rustls::{ClientConfig, CommonState, ServerConfig};
use rustls_pki_types::ServerName;

use crate::native::current_task;
use crate::native::errno;
use crate::native::logger::{self, Level};
use crate::native::net::tls_config::{self, Sessions, suite_name};
use crate::native::net::tls_verify::{reason, rustls_error};
use crate::native::net::{conn, stream::Stream, tcp, tls_server};
use crate::runtime::reactor::EtTcp;
use crate::runtime::{self, task};

/// A built server configuration, not yet (or no longer) attached to a listener.
struct ServerConf(Arc<ServerConfig>);
impl UserData for ServerConf {}

/// A built client configuration; the Lua side keeps one per distinct option set, so its
/// session store lets later connects resume.
struct ClientConf(Arc<ClientConfig>);
impl UserData for ClientConf {}

struct SessionsUd(Sessions);
impl UserData for SessionsUd {}

/// The last TLS failure of one connection, for the third return value (D14).
struct TlsState(Rc<RefCell<Option<String>>>);
impl UserData for TlsState {}

/// What the accept loop and `reload` share: the configuration new handshakes start with.
struct Current {
    config: RefCell<Arc<ServerConfig>>,
    /// Handshake time limit in milliseconds, 0 for none (D15).
    handshake_ms: Cell<u64>,
}

pub struct Listener {
    core: tcp::ListenerCore,
    current: Rc<Current>,
}
impl UserData for Listener {}

impl AsRef<tcp::ListenerCore> for Listener {
    fn as_ref(&self) -> &tcp::ListenerCore {
        &self.core
    }
}

/// The socket under a TLS session. rustls hands its output over as several records in one
/// vectored write (a ServerHello then an alert, say); `EtTcp` has no vectored write of its
/// own, and the default one sends only the first buffer, so a fatal alert queued behind
/// other records was lost when the session failed. This writes every buffer it can.
pub struct Tcp(pub EtTcp);

impl AsyncRead for Tcp {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Tcp {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut total = 0;
        for b in bufs.iter().filter(|b| !b.is_empty()) {
            match Pin::new(&mut self.0).poll_write(cx, b) {
                Poll::Ready(Ok(n)) => {
                    total += n;
                    if n < b.len() {
                        break;
                    }
                }
                Poll::Ready(Err(e)) if total == 0 => return Poll::Ready(Err(e)),
                Poll::Pending if total == 0 => return Poll::Pending,
                Poll::Ready(Err(_)) | Poll::Pending => break,
            }
        }
        Poll::Ready(Ok(total))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_close(cx)
    }
}

/// The TLS session as a stream transport. It maps what the session reports to what the
/// stream expects: a peer's FIN without close_notify is a plain end of stream (D12), and a
/// TLS failure becomes `errno.TLS` with its reason kept for the script (D13, D14).
struct TlsIo<T> {
    /// futures-rustls for outgoing connections, `ServerTls` for accepted ones.
    inner: T,
    state: Rc<RefCell<Option<String>>>,
}

impl<T> TlsIo<T> {
    fn map(&self, e: io::Error) -> io::Error {
        match rustls_error(&e) {
            Some(r) => {
                *self.state.borrow_mut() = Some(reason(r));
                io::Error::from_raw_os_error(errno::TLS)
            }
            None => e,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for TlsIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => Poll::Ready(Ok(0)),
            Poll::Ready(Err(e)) => Poll::Ready(Err(self.map(e))),
            other => other,
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for TlsIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(self.map(e))),
            other => other,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_flush(cx) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(self.map(e))),
            other => other,
        }
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Queues close_notify and sends it with the rest of the output (D12).
        match Pin::new(&mut self.inner).poll_close(cx) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(self.map(e))),
            other => other,
        }
    }
}

/// A failed handshake as (errno text, reason).
fn handshake_error(e: &io::Error) -> (String, Option<String>) {
    match rustls_error(e) {
        Some(r) => (errno::text(errno::TLS), Some(reason(r))),
        None => (errno::from_io(e), None),
    }
}

/// "tlsv1_3" (LuaSec spelling, as `minversion` takes it).
fn version_text(v: rustls::ProtocolVersion) -> String {
    match v {
        rustls::ProtocolVersion::TLSv1_2 => "tlsv1_2".into(),
        rustls::ProtocolVersion::TLSv1_3 => "tlsv1_3".into(),
        other => format!("{other:?}").to_ascii_lowercase(),
    }
}

/// The facts a finished handshake leaves, as the table the Lua connection object keeps.
fn info_table(
    lua: &Lua,
    common: &CommonState,
    servername: Option<&str>,
    state: Rc<RefCell<Option<String>>>,
) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    if let Some(p) = common.alpn_protocol() {
        t.set("alpn", lua.create_string(p)?)?;
    }
    if let Some(v) = common.protocol_version() {
        t.set("version", version_text(v))?;
    }
    if let Some(s) = common.negotiated_cipher_suite() {
        t.set("cipher", suite_name(s))?;
    }
    let resumed = common.handshake_kind() == Some(rustls::HandshakeKind::Resumed);
    t.set("resumed", resumed)?;
    if let Some(n) = servername {
        t.set("servername", n)?;
    }
    if let Some(certs) = common.peer_certificates() {
        let list = lua.create_table()?;
        for c in certs {
            list.push(lua.create_string(c.as_ref())?)?;
        }
        t.set("peercerts", list)?;
    }
    t.set("state", TlsState(state))?;
    Ok(t)
}

/// Runs `fut` for at most `ms` milliseconds (0: no limit); None on expiry.
async fn bounded<T>(ms: u64, fut: impl std::future::Future<Output = T>) -> Option<T> {
    if ms == 0 {
        return Some(fut.await);
    }
    futures_lite::future::or(async { Some(fut.await) }, async {
        Timer::after(Duration::from_millis(ms)).await;
        None
    })
    .await
}

/// One accepted socket: handshake under the configuration current at accept time, then the
/// script's `accept` in a new task (D24). Failures are logged with the peer, never raised.
async fn serve(
    io: EtTcp,
    peer: SocketAddr,
    config: Arc<ServerConfig>,
    handshake_ms: u64,
    handler: Function,
) {
    let rt = runtime::get();
    // A handshake in flight keeps the process alive even after the listener closed (C1).
    rt.hold_source();
    let fd = io.get_ref().as_raw_fd();
    // The handshake's cryptography runs on worker threads (tls_server.rs).
    let result = bounded(handshake_ms, tls_server::handshake(Tcp(io), config)).await;
    let tls = match result {
        Some(Ok(tls)) => tls,
        Some(Err(e)) => {
            let (err, why) = handshake_error(&e);
            logger::write_rust(
                Level::Warn,
                &format!("[tls] handshake with {peer} failed: {}", why.unwrap_or(err)),
            );
            rt.release_source();
            return;
        }
        None => {
            // Closed silently (D15): a stalled client learns nothing.
            logger::write_rust(
                Level::Debug,
                &format!("[tls] handshake with {peer} timed out after {handshake_ms} ms"),
            );
            rt.release_source();
            return;
        }
    };
    let state = Rc::new(RefCell::new(None));
    let info = {
        let (_, sess) = tls.get_ref();
        info_table(&rt.lua, sess, sess.server_name(), state.clone())
    };
    let io = TlsIo { inner: tls, state };
    let s = Stream::start(Box::new(io), fd, peer.to_string(), true);
    rt.release_source();
    let started = info.and_then(|info| {
        let ud = conn::new_userdata(&rt.lua, s.clone())?;
        let entry = rt
            .tasks
            .entry()
            .ok_or_else(|| mlua::Error::runtime("no task entry"))?;
        // A task starts with one argument: the handle and the handshake facts travel as a pair.
        let pair = rt
            .lua
            .create_sequence_from([Value::UserData(ud), Value::Table(info)])?;
        let args = MultiValue::from_vec(vec![Value::Function(handler), Value::Table(pair)]);
        task::spawn(&rt.lua, &entry, task::Start::Args(args))
    });
    match started {
        Ok((_, h)) => h.detach(),
        Err(e) => {
            s.close();
            logger::write_rust(
                Level::Error,
                &format!("[tls] cannot start accept handler: {e}"),
            );
        }
    }
}

/// Accepts TCP connections until closed; each gets its own handshake future.
async fn accept_loop(listener: Async<TcpListener>, current: Rc<Current>, handler: Function) {
    let rt = runtime::get();
    tcp::accept_each(listener, "tls", |io, peer| {
        let config = current.config.borrow().clone();
        let fut = serve(
            io,
            peer,
            config,
            current.handshake_ms.get(),
            handler.clone(),
        );
        rt.executor.spawn(fut).detach();
    })
    .await
}

fn nil_err(lua: &Lua, e: &str, why: Option<&str>) -> mlua::Result<MultiValue> {
    let mut v = vec![Value::Nil, Value::String(lua.create_string(e)?)];
    if let Some(w) = why {
        v.push(Value::String(lua.create_string(w)?));
    }
    Ok(MultiValue::from_vec(v))
}

fn conf_result<T: UserData + 'static>(lua: &Lua, r: Result<T, String>) -> mlua::Result<MultiValue> {
    match r {
        Ok(v) => Ok(MultiValue::from_vec(vec![Value::UserData(
            lua.create_userdata(v)?,
        )])),
        Err(e) => nil_err(lua, &e, None),
    }
}

/// The name a client checks and sends as SNI: a DNS name or an IP literal (no SNI, D7).
fn server_name(name: &str) -> Result<ServerName<'static>, String> {
    ServerName::try_from(name.to_string())
        .map_err(|_| format!("tls: hostname: invalid name {name:?}"))
}

/// `connect`'s arguments: ip, port, bind ip, bind port, timeout, configuration, name.
type ConnectArgs = (
    String,
    u16,
    Option<String>,
    Option<u16>,
    Option<i64>,
    UserDataRef<ClientConf>,
    Option<String>,
);

/// Minimal base64 (standard alphabet, padded) for `peercert().pem`.
fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `peercert()`: a certificate as `{subject, issuer, san = {...}, notbefore, notafter, pem}`.
fn cert_table(lua: &Lua, der: &[u8]) -> mlua::Result<Option<Table>> {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return Ok(None);
    };
    let t = lua.create_table()?;
    t.set("subject", cert.subject().to_string())?;
    t.set("issuer", cert.issuer().to_string())?;
    t.set("notbefore", cert.validity().not_before.timestamp())?;
    t.set("notafter", cert.validity().not_after.timestamp())?;
    let san = lua.create_table()?;
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for n in &ext.value.general_names {
            use x509_parser::extensions::GeneralName as G;
            match n {
                G::DNSName(d) => san.push(*d)?,
                G::IPAddress(b) if b.len() == 4 => {
                    let a: [u8; 4] = (*b).try_into().unwrap_or_default();
                    san.push(std::net::Ipv4Addr::from(a).to_string())?
                }
                G::IPAddress(b) if b.len() == 16 => {
                    let a: [u8; 16] = (*b).try_into().unwrap_or_default();
                    san.push(std::net::Ipv6Addr::from(a).to_string())?
                }
                _ => {}
            }
        }
    }
    t.set("san", san)?;
    let b64 = base64(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    t.set("pem", pem)?;
    Ok(Some(t))
}

pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    // sessions() -> a session cache and ticket key shared by a listener's configurations
    m.set(
        "sessions",
        lua.create_function(|lua, ()| match Sessions::new() {
            Ok(s) => conf_result(lua, Ok(SessionsUd(s))),
            Err(e) => nil_err(lua, &e, None),
        })?,
    )?;
    // serverconf(t, sessions) -> conf | nil, "tls: ..."
    m.set(
        "serverconf",
        lua.create_function(|lua, (t, s): (Table, UserDataRef<SessionsUd>)| {
            let r = tls_config::server(&t, &s.0)?.map(ServerConf);
            conf_result(lua, r)
        })?,
    )?;
    // clientconf(t) -> conf | nil, "tls: ..."
    m.set(
        "clientconf",
        lua.create_function(|lua, t: Table| {
            let r = tls_config::client(&t)?.map(ClientConf);
            conf_result(lua, r)
        })?,
    )?;
    // checkname(name) -> true | false, "tls: hostname: ..."
    m.set(
        "checkname",
        lua.create_function(|_, name: String| match server_name(&name) {
            Ok(_) => Ok((true, None)),
            Err(e) => Ok((false, Some(e))),
        })?,
    )?;
    // listen(ip, port, backlog, conf, handshake_ms, handler) -> listener | nil, err
    m.set(
        "listen",
        lua.create_function(
            |lua,
             (ip, port, backlog, conf, hs_ms, handler): (
                String,
                u16,
                i32,
                UserDataRef<ServerConf>,
                i64,
                Function,
            )| {
                let current = Rc::new(Current {
                    config: RefCell::new(conf.0.clone()),
                    handshake_ms: Cell::new(hs_ms.max(0) as u64),
                });
                let serving = current.clone();
                let core = match tcp::ListenerCore::listen(&ip, port, backlog, |l| {
                    accept_loop(l, serving, handler)
                }) {
                    Ok(core) => core,
                    Err(e) => return nil_err(lua, &e, None),
                };
                let ud = lua.create_userdata(Listener { core, current })?;
                Ok(MultiValue::from_vec(vec![Value::UserData(ud)]))
            },
        )?,
    )?;
    // reload(listener, conf, handshake_ms) -> true | false, CLOSED
    m.set(
        "reload",
        lua.create_function(
            |_, (l, conf, hs_ms): (UserDataRef<Listener>, UserDataRef<ServerConf>, i64)| {
                if l.core.is_closed() {
                    return Ok((false, Some(errno::text(errno::CLOSED))));
                }
                // Handshakes already started hold their own Arc of the old configuration.
                *l.current.config.borrow_mut() = conf.0.clone();
                l.current.handshake_ms.set(hs_ms.max(0) as u64);
                Ok((true, None))
            },
        )?,
    )?;
    // lclose(listener) -> true | false, CLOSED; lfd(listener); laddr(listener)
    tcp::listener_functions::<Listener>(lua, &m)?;
    // reason(state) -> the last TLS failure of a connection, or nil
    m.set(
        "reason",
        lua.create_function(|_, s: UserDataRef<TlsState>| Ok(s.0.borrow().clone()))?,
    )?;
    // parsecert(der) -> table | nil
    m.set(
        "parsecert",
        lua.create_function(|lua, der: mlua::LuaString| cert_table(lua, &der.as_bytes()))?,
    )?;
    // connect(ip, port, bindip?, bindport?, timeout?, conf, name?)
    //   -> MARKER (the task yields for: ud, info | nil, err [, reason])
    m.set(
        "connect",
        lua.create_function(
            |lua, (ip, port, bind_ip, bind_port, timeout, conf, name): ConnectArgs| {
                let (sa, bind) = match tcp::connect_addrs(&ip, port, bind_ip, bind_port) {
                    Ok(addrs) => addrs,
                    Err(e) => return nil_err(lua, &e, None),
                };
                // With no hostname the IP itself is checked against the certificate's IP SANs,
                // and no SNI is sent (D6, D7).
                let sname = match server_name(name.as_deref().unwrap_or(&ip)) {
                    Ok(n) => n,
                    Err(e) => return nil_err(lua, &e, None),
                };
                let config = conf.0.clone();
                let op: task::Op = Box::pin(async move {
                    let attempt = async move {
                        let io = tcp::connect(sa, bind).await.map_err(|e| (e, None))?;
                        let fd = io.get_ref().as_raw_fd();
                        let tls = TlsConnector::from(config)
                            .connect(sname, Tcp(io))
                            .await
                            .map_err(|e| handshake_error(&e))?;
                        Ok::<_, (String, Option<String>)>((tls, fd))
                    };
                    let ms = timeout.map(|t| t.max(0) as u64);
                    let result = match ms {
                        // `timeout = 0` fails at once rather than meaning "no limit".
                        Some(0) => Err((errno::text(libc::ETIMEDOUT), None)),
                        Some(ms) => bounded(ms, attempt)
                            .await
                            .unwrap_or_else(|| Err((errno::text(libc::ETIMEDOUT), None))),
                        None => attempt.await,
                    };
                    let lua = runtime::get().lua.clone();
                    match result {
                        Ok((tls, fd)) => {
                            let state = Rc::new(RefCell::new(None));
                            let info = info_table(&lua, tls.get_ref().1, None, state.clone())?;
                            let io = TlsIo {
                                inner: TlsStream::Client(tls),
                                state,
                            };
                            let s = Stream::start(Box::new(io), fd, sa.to_string(), true);
                            Ok(MultiValue::from_vec(vec![
                                Value::UserData(conn::new_userdata(&lua, s)?),
                                Value::Table(info),
                            ]))
                        }
                        Err((e, why)) => nil_err(&lua, &e, why.as_deref()),
                    }
                });
                current_task()?.set_pending(task::Pending::Op(op));
                Ok(MultiValue::from_vec(vec![Value::LightUserData(
                    task::marker(),
                )]))
            },
        )?,
    )?;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::base64;

    #[test]
    fn base64_pads() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
