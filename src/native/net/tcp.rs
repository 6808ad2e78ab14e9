//! `silly.net.tcp.c`: TCP listeners and outgoing connections. Connections themselves are
//! `Stream`s (stream.rs), driven and exposed like every other stream (conn.rs).
//!
//! Addresses arrive numeric (the Lua side resolves names, DECISIONS.md N1): an IP text and a
//! port. Every connection gets TCP_NODELAY and SO_KEEPALIVE; listeners get SO_REUSEADDR.
//!
//! The socket plumbing is shared with tls.rs, which layers a handshake on top of it: binding a
//! listener and its `lclose`/`lfd`/`laddr` (`ListenerCore`), the accept loop (`accept_each`),
//! and the outgoing side (`connect_addrs`, `connect`).

use std::cell::RefCell;
use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::Duration;

use async_io::{Async, Timer};
use mlua::{Function, Lua, MultiValue, Table, UserData, UserDataRef, Value};
use socket2::{Domain, Protocol, Socket, Type};

use crate::native::current_task;
use crate::native::errno;
use crate::native::logger::{self, Level};
use crate::native::net::{addr, conn, stream::Stream};
use crate::runtime::reactor::EtTcp;
use crate::runtime::{self, task};

/// A listening socket; its accept loop runs until `close`.
pub struct Listener(ListenerCore);

impl UserData for Listener {}

impl AsRef<ListenerCore> for Listener {
    fn as_ref(&self) -> &ListenerCore {
        &self.0
    }
}

/// What a TCP and a TLS listener share: the bound socket's accept loop, its fd and address.
pub(crate) struct ListenerCore {
    /// The accept loop, which owns the socket; taken (and so cancelled) by `close`.
    accept_loop: RefCell<Option<async_executor::Task<()>>>,
    fd: i32,
    /// The bound address as text, with the port the OS chose for port 0.
    local: String,
}

impl ListenerCore {
    /// Binds `ip:port` ("" for the dual-stack wildcard) and spawns `serve(socket)` as its accept
    /// loop, which keeps the process alive until `close`. The error is an errno text.
    pub(crate) fn listen<F>(
        ip: &str,
        port: u16,
        backlog: i32,
        serve: impl FnOnce(Async<TcpListener>) -> F,
    ) -> Result<Self, String>
    where
        F: std::future::Future<Output = ()> + 'static,
    {
        let sa = socket_addr(ip, port)?;
        let listener = bind_listener(sa, backlog)
            .and_then(Async::new)
            .map_err(|e| errno::from_io(&e))?;
        let fd = listener.as_raw_fd();
        let local = listener
            .get_ref()
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let rt = runtime::get();
        rt.hold_source();
        let task = rt.executor.spawn(serve(listener));
        Ok(ListenerCore {
            accept_loop: RefCell::new(Some(task)),
            fd,
            local,
        })
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.accept_loop.borrow().is_none()
    }

    /// Stops accepting: true, or false and CLOSED on a second call.
    fn close(&self) -> (bool, Option<String>) {
        match self.accept_loop.borrow_mut().take() {
            Some(task) => {
                // Dropping the task only schedules its cancellation: the socket would keep
                // listening (and queueing connections) until the executor runs again. Stop
                // listening now, so a connect right after close() is refused.
                // SAFETY: the fd is still open, owned by the loop's future, which is dropped
                // later (cancelled tasks are never polled again).
                unsafe { libc::shutdown(self.fd, libc::SHUT_RDWR) };
                drop(task);
                runtime::get().release_source();
                (true, None)
            }
            None => (false, Some(errno::text(errno::CLOSED))),
        }
    }
}

/// Registers the listener functions TCP and TLS share: `lclose(l) -> true | false, CLOSED`,
/// `lfd(l)` and `laddr(l)`, for the listener userdata type `L`.
pub(crate) fn listener_functions<L>(lua: &Lua, m: &Table) -> mlua::Result<()>
where
    L: UserData + AsRef<ListenerCore> + 'static,
{
    m.set(
        "lclose",
        lua.create_function(|_, l: UserDataRef<L>| Ok((*l).as_ref().close()))?,
    )?;
    m.set(
        "lfd",
        lua.create_function(|_, l: UserDataRef<L>| Ok((*l).as_ref().fd))?,
    )?;
    m.set(
        "laddr",
        lua.create_function(|_, l: UserDataRef<L>| Ok((*l).as_ref().local.clone()))?,
    )?;
    Ok(())
}

fn socket_addr(ip: &str, port: u16) -> Result<SocketAddr, String> {
    if ip.is_empty() {
        // ":port": the IPv6 wildcard, dual-stack (net.md §1).
        return Ok(SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port));
    }
    addr::ip(ip)
        .map(|ip| SocketAddr::new(ip, port))
        .ok_or_else(|| errno::text(errno::RESOLVE))
}

/// The peer and optional local address of an outgoing connection; `ip` must not be the
/// wildcard (INVAL). The error is an errno text.
pub(crate) fn connect_addrs(
    ip: &str,
    port: u16,
    bind_ip: Option<String>,
    bind_port: Option<u16>,
) -> Result<(SocketAddr, Option<SocketAddr>), String> {
    let sa = match socket_addr(ip, port) {
        Ok(sa) if !ip.is_empty() => sa,
        Ok(_) => return Err(errno::text(libc::EINVAL)),
        Err(e) => return Err(e),
    };
    let bind = match (bind_ip, bind_port) {
        (Some(bip), Some(bport)) => Some(socket_addr(&bip, bport)?),
        _ => None,
    };
    Ok((sa, bind))
}

fn tune(stream: &TcpStream) {
    let s = socket2::SockRef::from(stream);
    // Best effort: a socket that refuses an option still works.
    let _ = s.set_tcp_nodelay(true);
    let _ = s.set_keepalive(true);
}

fn bind_listener(sa: SocketAddr, backlog: i32) -> io::Result<TcpListener> {
    let sock = Socket::new(Domain::for_address(sa), Type::STREAM, Some(Protocol::TCP))?;
    sock.set_reuse_address(true)?;
    if sa.is_ipv6() && sa.ip().is_unspecified() {
        sock.set_only_v6(false)?;
    }
    sock.bind(&sa.into())?;
    sock.listen(backlog)?;
    Ok(sock.into())
}

fn is_fd_exhaustion(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE) | Some(libc::ENFILE) | Some(libc::ENOBUFS) | Some(libc::ENOMEM)
    )
}

/// Accepts connections until the listener is shut down, handing each to `accepted` with
/// TCP_NODELAY and SO_KEEPALIVE set and registered edge-triggered. Out of descriptors it pauses
/// and retries; other per-connection failures are logged under `tag` ("tcp", "tls").
pub(crate) async fn accept_each(
    listener: Async<TcpListener>,
    tag: &str,
    mut accepted: impl FnMut(EtTcp, SocketAddr),
) {
    let mut exhausted_logged = false;
    loop {
        match listener.read_with(|l| l.accept()).await {
            Ok((stream, peer)) => {
                exhausted_logged = false;
                tune(&stream);
                match EtTcp::new(stream) {
                    Ok(s) => accepted(s, peer),
                    Err(e) => logger::write_rust(
                        Level::Error,
                        &format!("[{tag}] cannot set up accepted connection: {e}"),
                    ),
                }
            }
            Err(e) if is_fd_exhaustion(&e) => {
                // Out of descriptors: the pending connections wait in the backlog; try again
                // shortly, when some may have been closed.
                if !exhausted_logged {
                    logger::write_rust(
                        Level::Error,
                        &format!("[{tag}] accept paused: {}", errno::from_io(&e)),
                    );
                    exhausted_logged = true;
                }
                Timer::after(Duration::from_millis(50)).await;
            }
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                // The socket no longer listens (`lclose` shut it down).
                return;
            }
            Err(e) => {
                // Per-connection failures (aborted before accept ...) do not stop the listener.
                logger::write_rust(
                    Level::Debug,
                    &format!("[{tag}] accept: {}", errno::from_io(&e)),
                );
            }
        }
    }
}

/// Accepts connections forever, starting `handler(conn)` in a new task for each.
async fn accept_loop(listener: Async<TcpListener>, handler: Function) {
    let rt = runtime::get();
    accept_each(listener, "tcp", |stream, peer| {
        let fd = stream.get_ref().as_raw_fd();
        let s = {
            let handoff = stream.reader_handoff();
            Stream::start_with_handoff(Box::new(stream), fd, peer.to_string(), handoff)
        };
        let started = conn::new_userdata(&rt.lua, s.clone()).and_then(|ud| {
            let entry = rt
                .tasks
                .entry()
                .ok_or_else(|| mlua::Error::runtime("no task entry"))?;
            let args =
                MultiValue::from_vec(vec![Value::Function(handler.clone()), Value::UserData(ud)]);
            task::spawn(&rt.lua, &entry, task::Start::Args(args))
        });
        match started {
            Ok((_, h)) => h.detach(),
            Err(e) => {
                s.close();
                logger::write_rust(
                    Level::Error,
                    &format!("[tcp] cannot start accept handler: {e}"),
                );
            }
        }
    })
    .await
}

pub(crate) async fn connect(sa: SocketAddr, bind: Option<SocketAddr>) -> Result<EtTcp, String> {
    let err = |e: io::Error| errno::from_io(&e);
    let sock =
        Socket::new(Domain::for_address(sa), Type::STREAM, Some(Protocol::TCP)).map_err(err)?;
    sock.set_nonblocking(true).map_err(err)?;
    if let Some(b) = bind {
        if b.is_ipv4() != sa.is_ipv4() {
            return Err(errno::text(libc::EAFNOSUPPORT));
        }
        sock.bind(&b.into()).map_err(err)?;
    }
    match sock.connect(&sa.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(err(e)),
    }
    let stream: TcpStream = sock.into();
    let stream = Async::new(stream).map_err(err)?;
    stream.writable().await.map_err(err)?;
    if let Some(e) = stream.get_ref().take_error().map_err(err)? {
        return Err(err(e));
    }
    // A refused connect can also show as "writable" with no error yet on some kernels: ask
    // for the peer to be sure the connection exists.
    stream.get_ref().peer_addr().map_err(err)?;
    tune(stream.get_ref());
    // From here on the connection is watched edge-triggered (runtime/reactor.rs).
    stream.into_inner().and_then(EtTcp::new).map_err(err)
}

pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    // listen(ip, port, backlog, handler) -> listener | nil, err
    m.set(
        "listen",
        lua.create_function(
            |lua, (ip, port, backlog, handler): (String, u16, i32, Function)| {
                let core =
                    match ListenerCore::listen(&ip, port, backlog, |l| accept_loop(l, handler)) {
                        Ok(core) => core,
                        Err(e) => return Ok((None, Some(e))),
                    };
                let ud = lua.create_userdata(Listener(core))?;
                Ok((Some(ud), None))
            },
        )?,
    )?;
    // lclose(listener) -> true | false, CLOSED; lfd(listener); laddr(listener)
    listener_functions::<Listener>(lua, &m)?;
    // connect(ip, port, bindip?, bindport?, timeout?) -> MARKER (the task yields for conn | nil, err)
    m.set(
        "connect",
        lua.create_function(
            |lua,
             (ip, port, bind_ip, bind_port, timeout): (
                String,
                u16,
                Option<String>,
                Option<u16>,
                Option<i64>,
            )| {
                let (sa, bind) = match connect_addrs(&ip, port, bind_ip, bind_port) {
                    Ok(addrs) => addrs,
                    Err(e) => {
                        return Ok(MultiValue::from_vec(vec![
                            Value::Nil,
                            Value::String(lua.create_string(&e)?),
                        ]));
                    }
                };
                let peer = ip_port_text(&sa);
                let op: task::Op = Box::pin(async move {
                    let attempt = connect(sa, bind);
                    let result = match timeout {
                        Some(ms) => {
                            futures_lite::future::or(attempt, async move {
                                Timer::after(Duration::from_millis(ms.max(0) as u64)).await;
                                Err(errno::text(libc::ETIMEDOUT))
                            })
                            .await
                        }
                        None => attempt.await,
                    };
                    let lua = runtime::get().lua.clone();
                    match result {
                        Ok(stream) => {
                            let fd = stream.get_ref().as_raw_fd();
                            let s = {
                                let handoff = stream.reader_handoff();
                                Stream::start_with_handoff(Box::new(stream), fd, peer, handoff)
                            };
                            Ok(MultiValue::from_vec(vec![Value::UserData(
                                conn::new_userdata(&lua, s)?,
                            )]))
                        }
                        Err(e) => Ok(MultiValue::from_vec(vec![
                            Value::Nil,
                            Value::String(lua.create_string(&e)?),
                        ])),
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

fn ip_port_text(sa: &SocketAddr) -> String {
    sa.to_string()
}
