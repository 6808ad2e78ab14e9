//! `silly.net.tcp.c`: TCP listeners and outgoing connections. Connections themselves are
//! `Stream`s (stream.rs), driven and exposed like every other stream (conn.rs); the listener
//! plumbing is shared with TLS (listener.rs).
//!
//! Addresses arrive numeric (the Lua side resolves names, docs/tcp.md): an IP text and a
//! port. Every connection gets TCP_NODELAY and SO_KEEPALIVE; listeners get SO_REUSEADDR.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::rc::Rc;

use mlua::{Function, IntoLuaMulti, Lua, Table, UserData, Value};
use socket2::{Domain, Protocol, Socket, Type};

use crate::native::net::error::{NetError, lua_result};
use crate::native::net::et_tcp::{self, EtTcp};
use crate::native::net::listener::{self, Bind, ListenerCore};
use crate::native::net::{addr, conn, stream::Stream};
use crate::runtime::reactor::Io;
use crate::runtime::timer::with_timeout;
use crate::runtime::{self, task};

/// A listening socket; its accept loop runs until `close`.
pub struct Listener(ListenerCore);

impl UserData for Listener {}

impl AsRef<ListenerCore> for Listener {
    fn as_ref(&self) -> &ListenerCore {
        &self.0
    }
}

/// The peer and optional local address of an outgoing connection; `ip` must not be the
/// wildcard (INVAL).
pub fn connect_addrs(
    ip: &str,
    port: u16,
    bind_ip: Option<String>,
    bind_port: Option<u16>,
) -> Result<(SocketAddr, Option<SocketAddr>), NetError> {
    if ip.is_empty() {
        addr::socket_addr(ip, port)?;
        return Err(NetError::Os(libc::EINVAL));
    }
    let sa = addr::socket_addr(ip, port)?;
    let bind = match (bind_ip, bind_port) {
        (Some(bip), Some(bport)) => Some(addr::socket_addr(&bip, bport)?),
        _ => None,
    };
    Ok((sa, bind))
}

/// Connects to `sa` (from `bind` if given), with the socket tuned and registered
/// edge-triggered.
pub async fn connect(sa: SocketAddr, bind: Option<SocketAddr>) -> Result<EtTcp, NetError> {
    let err = |e: std::io::Error| NetError::from_io(&e);
    let sock =
        Socket::new(Domain::for_address(sa), Type::STREAM, Some(Protocol::TCP)).map_err(err)?;
    sock.set_nonblocking(true).map_err(err)?;
    if let Some(b) = bind {
        if b.is_ipv4() != sa.is_ipv4() {
            return Err(NetError::Os(libc::EAFNOSUPPORT));
        }
        sock.bind(&b.into()).map_err(err)?;
    }
    match sock.connect(&sa.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(err(e)),
    }
    let stream: TcpStream = sock.into();
    // Watched edge-triggered from the start (runtime/reactor.rs): the first write edge says
    // the connect is over, one way or the other.
    let stream = EtTcp::connecting(stream).map_err(err)?;
    stream.writable().await;
    if let Some(e) = stream.get_ref().take_error().map_err(err)? {
        return Err(err(e));
    }
    // A refused connect can also show as "writable" with no error yet on some kernels: ask
    // for the peer to be sure the connection exists.
    stream.get_ref().peer_addr().map_err(err)?;
    et_tcp::tune(stream.get_ref());
    Ok(stream)
}

/// A connected socket as a started stream.
fn stream(io: EtTcp, peer: String) -> Rc<Stream> {
    let fd = io.get_ref().as_raw_fd();
    let handoff = io.reader_handoff();
    Stream::start_with_handoff(Box::new(io), fd, peer, handoff)
}

/// Accepts connections forever, starting `handler(conn)` in a new task for each.
async fn accept_loop(listener: Io<TcpListener>, handler: Function) {
    let rt = runtime::get();
    listener::accept_each(listener, "tcp", |io, peer| {
        let s = stream(io, peer.to_string());
        let started = conn::new_userdata(&rt.lua, s.clone())
            .and_then(|ud| listener::spawn_handler(&handler, Value::UserData(ud)));
        if let Err(e) = started {
            listener::start_failed("tcp", &e);
            s.close();
        }
    })
    .await
}

/// `connect`'s arguments: ip, port, bind ip, bind port, timeout.
type ConnectArgs = (String, u16, Option<String>, Option<u16>, Option<i64>);

pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    // listen(ip, port, backlog, handler, reuseport?) -> listener | nil, err
    m.set(
        "listen",
        lua.create_function(
            |lua,
             (ip, port, backlog, handler, reuseport): (
                String,
                u16,
                i32,
                Function,
                Option<bool>,
            )| {
                let how = Bind {
                    backlog,
                    reuseport: reuseport.unwrap_or(false),
                };
                let core = ListenerCore::listen(&ip, port, how, |l| accept_loop(l, handler));
                lua_result(lua, core.map(Listener))
            },
        )?,
    )?;
    // lclose(listener) -> true | false, CLOSED; lfd(listener); laddr(listener)
    listener::functions::<Listener>(lua, &m)?;
    // connect(ip, port, bindip?, bindport?, timeout?) -> conn | nil, err | MARKER (yield for one)
    m.set(
        "connect",
        lua.create_function(
            |lua, (ip, port, bind_ip, bind_port, timeout): ConnectArgs| {
                let (sa, bind) = match connect_addrs(&ip, port, bind_ip, bind_port) {
                    Ok(addrs) => addrs,
                    Err(e) => return lua_result::<()>(lua, Err(e)),
                };
                let op: task::Op = Box::pin(async move {
                    let ms = timeout.map(|t| t.max(0) as u64);
                    let result = with_timeout(ms, connect(sa, bind))
                        .await
                        .unwrap_or(Err(NetError::TimedOut));
                    let lua = runtime::get().lua.clone();
                    let conn = result.and_then(|io| {
                        conn::new_userdata(&lua, stream(io, sa.to_string()))
                            .map_err(|e| NetError::Message(e.to_string()))
                    });
                    lua_result(&lua, conn)
                });
                task::suspend(op)?.into_lua_multi(lua)
            },
        )?,
    )?;
    Ok(m)
}
