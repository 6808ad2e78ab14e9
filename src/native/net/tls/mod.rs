//! `silly.net.tls.c`: TLS listeners and outgoing TLS connections over rustls, on the
//! edge-triggered sockets of `et_tcp.rs` (docs/tls.md).
//!
//! A TLS connection is a `Stream` (stream.rs) whose transport is the TLS session
//! (session.rs), so reads, writes, `limit`, `flush` and close work exactly as for TCP and are
//! exposed by conn.rs. This module adds what only TLS has: configurations (config.rs,
//! verify.rs), the handshake and the session (driver.rs, one driver for accepted and outgoing
//! connections), and the facts a handshake leaves (info.rs).
//!
//! Every server handshake runs in its own future, bounded by the listener's handshake timeout,
//! so a client that stalls mid-handshake holds only its own socket, never the accept loop.

// config, info and verify are also driven by the fuzz targets (src/fuzzing.rs).
pub(crate) mod config;
pub(crate) mod info;
pub use info::base64;
mod driver;
mod session;
pub(crate) mod verify;

use std::cell::{Cell, RefCell};
use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::sync::Arc;

use mlua::{Function, IntoLuaMulti, Lua, MultiValue, Table, UserData, UserDataRef, Value};
use rustls::{ClientConfig, ClientConnection, Connection, ServerConfig, ServerConnection};
use rustls_pki_types::ServerName;

use crate::log::{self, Level};
use crate::native::net::error::{NetError, lua_result, lua_status};
use crate::native::net::et_tcp::EtTcp;
use crate::native::net::listener::{self, Bind, ListenerCore};
use crate::native::net::{conn, stats, stream::Stream, tcp};
use crate::runtime::reactor::Io;
use crate::runtime::timer::with_timeout;
use crate::runtime::{self, task};
use config::Sessions;
use session::{TlsIo, TlsState};

/// A built server configuration, not yet (or no longer) attached to a listener.
struct ServerConf(Arc<ServerConfig>);
impl UserData for ServerConf {}

/// A built client configuration; the Lua side keeps one per distinct option set, so its
/// session store lets later connects resume.
struct ClientConf(Arc<ClientConfig>);
impl UserData for ClientConf {}

struct SessionsUd(Sessions);
impl UserData for SessionsUd {}

/// What the accept loop and `reload` share: the configuration new handshakes start with.
struct Current {
    config: RefCell<Arc<ServerConfig>>,
    /// Handshake time limit in milliseconds, 0 for none (docs/tls.md#handshaketimeout).
    handshake_ms: Cell<u64>,
}

pub struct Listener {
    core: ListenerCore,
    current: Rc<Current>,
}
impl UserData for Listener {}

impl AsRef<ListenerCore> for Listener {
    fn as_ref(&self) -> &ListenerCore {
        &self.core
    }
}

/// One accepted socket: handshake under the configuration current at accept time, then the
/// script's `accept` in a new task (docs/tls.md#accepting-connections). Failures are logged with the peer, never raised.
async fn serve(
    io: EtTcp,
    peer: SocketAddr,
    config: Arc<ServerConfig>,
    handshake_ms: u64,
    handler: Function,
) {
    let rt = runtime::get();
    // A handshake in flight keeps the process alive even after the listener closed.
    let source = rt.hold_source();
    let fd = io.get_ref().as_raw_fd();
    // A handshake timeout of 0 is no limit (docs/tls.md, "handshaketimeout").
    let limit = (handshake_ms > 0).then_some(handshake_ms);
    // Counted as failed on every way out but success (silly.metrics).
    let counted = stats::Handshake::start();
    // The handshake's cryptography runs on worker threads (driver.rs).
    let session = match ServerConnection::new(config) {
        Ok(c) => Connection::Server(c),
        Err(e) => {
            log::message(Level::Error, &format!("[tls] cannot start a session: {e}"));
            return;
        }
    };
    let tls = match with_timeout(limit, driver::handshake(io, session)).await {
        Some(Ok(tls)) => {
            counted.succeeded();
            tls
        }
        Some(Err(e)) => {
            let e = NetError::from_io(&e);
            let why = e.reason().map(str::to_string).unwrap_or_else(|| e.value());
            // The peer's doing (garbage, a reset, a rejected certificate): rate-limited.
            log::peer_failure(
                "[tls] handshake",
                Level::Warn,
                &format!("[tls] handshake with {peer} failed: {why}"),
            );
            return;
        }
        None => {
            // Closed silently: a stalled client learns nothing.
            log::message(
                Level::Debug,
                &format!("[tls] handshake with {peer} timed out after {handshake_ms} ms"),
            );
            return;
        }
    };
    let state = Rc::new(RefCell::new(None));
    let info = {
        let (_, sess) = tls.get_ref();
        info::info_table(&rt.lua, sess, tls.server_name(), state.clone())
    };
    let s = Stream::start(
        Box::new(TlsIo::new(tls, state)),
        fd,
        peer.to_string(),
        stats::Kind::Tls,
    );
    // The stream holds the process from here on.
    drop(source);
    let started = info.and_then(|info| {
        let ud = conn::new_userdata(&rt.lua, s.clone())?;
        // A task starts with one argument: the handle and the handshake facts travel as a pair.
        let pair = rt
            .lua
            .create_sequence_from([Value::UserData(ud), Value::Table(info)])?;
        listener::spawn_handler(&handler, Value::Table(pair))
    });
    if let Err(e) = started {
        listener::start_failed("tls", &e);
        s.close();
    }
}

/// Accepts TCP connections until closed; each gets its own handshake future.
async fn accept_loop(listener: Io<TcpListener>, current: Rc<Current>, handler: Function) {
    let rt = runtime::get();
    listener::accept_each(listener, "tls", |io, peer| {
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

fn conf_result<T: UserData + 'static>(lua: &Lua, r: Result<T, String>) -> mlua::Result<MultiValue> {
    lua_result(lua, r.map_err(NetError::Message))
}

/// The name a client checks and sends as SNI: a DNS name or an IP literal (no SNI, docs/tls.md#sni).
fn server_name(name: &str) -> Result<ServerName<'static>, NetError> {
    ServerName::try_from(name.to_string())
        .map_err(|_| NetError::Message(format!("tls: hostname: invalid name {name:?}")))
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

pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    // sessions() -> a session cache and ticket key shared by a listener's configurations
    m.set(
        "sessions",
        lua.create_function(|lua, ()| conf_result(lua, Sessions::new().map(SessionsUd)))?,
    )?;
    // serverconf(t, sessions) -> conf | nil, "tls: ..."
    m.set(
        "serverconf",
        lua.create_function(|lua, (t, s): (Table, UserDataRef<SessionsUd>)| {
            let r = config::server(&t, &s.0)?.map(ServerConf);
            conf_result(lua, r)
        })?,
    )?;
    // clientconf(t) -> conf | nil, "tls: ..."
    m.set(
        "clientconf",
        lua.create_function(|lua, t: Table| {
            let r = config::client(&t)?.map(ClientConf);
            conf_result(lua, r)
        })?,
    )?;
    // checkname(name) -> true | false, "tls: hostname: ..."
    m.set(
        "checkname",
        lua.create_function(|lua, name: String| lua_status(lua, server_name(&name).map(|_| ())))?,
    )?;
    // listen(ip, port, backlog, conf, handshake_ms, handler) -> listener | nil, err
    m.set(
        "listen",
        lua.create_function(
            |lua,
             (ip, port, backlog, conf, hs_ms, handler, reuseport): (
                String,
                u16,
                i32,
                UserDataRef<ServerConf>,
                i64,
                Function,
                Option<bool>,
            )| {
                let current = Rc::new(Current {
                    config: RefCell::new(conf.0.clone()),
                    handshake_ms: Cell::new(hs_ms.max(0) as u64),
                });
                let serving = current.clone();
                let how = Bind {
                    backlog,
                    reuseport: reuseport.unwrap_or(false),
                };
                let core =
                    ListenerCore::listen(&ip, port, how, |l| accept_loop(l, serving, handler));
                lua_result(lua, core.map(|core| Listener { core, current }))
            },
        )?,
    )?;
    // reload(listener, conf, handshake_ms) -> true | false, CLOSED
    m.set(
        "reload",
        lua.create_function(
            |lua, (l, conf, hs_ms): (UserDataRef<Listener>, UserDataRef<ServerConf>, i64)| {
                if l.core.is_closed() {
                    return lua_status(lua, Err(NetError::Closed));
                }
                // Handshakes already started hold their own Arc of the old configuration.
                *l.current.config.borrow_mut() = conf.0.clone();
                l.current.handshake_ms.set(hs_ms.max(0) as u64);
                lua_status(lua, Ok(()))
            },
        )?,
    )?;
    // lclose(listener) -> true | false, CLOSED; lfd(listener); laddr(listener)
    listener::functions::<Listener>(lua, &m)?;
    // reason(state) -> the last TLS failure of a connection, or nil
    m.set(
        "reason",
        lua.create_function(|_, s: UserDataRef<TlsState>| Ok(s.0.borrow().clone()))?,
    )?;
    // parsecert(der) -> table | nil
    m.set(
        "parsecert",
        lua.create_function(|lua, der: mlua::LuaString| info::cert_table(lua, &der.as_bytes()))?,
    )?;
    // connect(ip, port, bindip?, bindport?, timeout?, conf, name?)
    //   -> MARKER (the task yields for: ud, info | nil, err [, reason])
    m.set(
        "connect",
        lua.create_function(
            |lua, (ip, port, bind_ip, bind_port, timeout, conf, name): ConnectArgs| {
                let target = tcp::connect_addrs(&ip, port, bind_ip, bind_port).and_then(|addrs| {
                    // With no hostname the IP itself is checked against the certificate's IP
                    // SANs, and no SNI is sent (docs/tls.md, "connect").
                    Ok((addrs, server_name(name.as_deref().unwrap_or(&ip))?))
                });
                let ((sa, bind), sname) = match target {
                    Ok(t) => t,
                    Err(e) => return lua_result::<()>(lua, Err(e)),
                };
                let config = conf.0.clone();
                let op: task::Op = Box::pin(async move {
                    let attempt = async move {
                        let io = tcp::connect(sa, bind).await?;
                        let fd = io.get_ref().as_raw_fd();
                        // A timeout drops it unfinished: counted as failed (silly.metrics).
                        let counted = stats::Handshake::start();
                        let session = ClientConnection::new(config, sname)
                            .map_err(|e| NetError::from_io(&driver::tls_error(e)))?;
                        let tls = driver::handshake(io, Connection::Client(session))
                            .await
                            .map_err(|e| NetError::from_io(&e))?;
                        counted.succeeded();
                        Ok::<_, NetError>((tls, fd))
                    };
                    let ms = timeout.map(|t| t.max(0) as u64);
                    let result = with_timeout(ms, attempt)
                        .await
                        .unwrap_or(Err(NetError::TimedOut));
                    let lua = runtime::get().lua.clone();
                    let (tls, fd) = match result {
                        Ok(r) => r,
                        Err(e) => return lua_result::<()>(&lua, Err(e)),
                    };
                    let state = Rc::new(RefCell::new(None));
                    let info = info::info_table(&lua, tls.get_ref().1, None, state.clone())?;
                    let io = TlsIo::new(tls, state);
                    let s = Stream::start(Box::new(io), fd, sa.to_string(), stats::Kind::Tls);
                    (conn::new_userdata(&lua, s)?, info).into_lua_multi(&lua)
                });
                task::suspend(op)?.into_lua_multi(lua)
            },
        )?,
    )?;
    Ok(m)
}
