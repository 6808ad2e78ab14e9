//! What TCP and TLS listeners share: binding the socket, the accept loop that survives
//! running out of descriptors, the listener's Lua functions (`lclose`, `lfd`, `laddr`), and
//! starting the script's `accept` handler in a new task for each connection.

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsRawFd;

use mlua::{Function, Lua, MultiValue, Table, UserData, UserDataRef, Value};
use socket2::{Domain, Protocol, Socket, Type};

use crate::log::{self, Level};
use crate::native::net::addr;
use crate::native::net::error::{NetError, lua_status};
use crate::native::net::et_tcp::{self, EtTcp};
use crate::runtime::reactor::Io;
use crate::runtime::timer::sleep_ms;
use crate::runtime::{self, SourceGuard, task};

/// A bound socket and its accept loop.
pub struct ListenerCore {
    /// The accept loop, which owns the socket, and the hold that keeps the process alive while
    /// it runs; taken (and so cancelled and released) by `close`.
    accept_loop: RefCell<Option<(async_executor::Task<()>, SourceGuard)>>,
    fd: i32,
    /// The bound address as text, with the port the OS chose for port 0.
    local: String,
}

impl ListenerCore {
    /// Binds `ip:port` ("" for the dual-stack wildcard) and spawns `serve(socket)` as its accept
    /// loop, which keeps the process alive until `close`.
    pub fn listen<F>(
        ip: &str,
        port: u16,
        how: Bind,
        serve: impl FnOnce(Io<TcpListener>) -> F,
    ) -> Result<Self, NetError>
    where
        F: Future<Output = ()> + 'static,
    {
        let sa = addr::socket_addr(ip, port)?;
        let listener = bind(sa, how)
            .and_then(Io::new)
            .map_err(|e| NetError::from_io(&e))?;
        let fd = listener.as_raw_fd();
        let local = listener
            .get_ref()
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let rt = runtime::get();
        let source = rt.hold_source();
        let task = rt.executor.spawn(serve(listener));
        Ok(ListenerCore {
            accept_loop: RefCell::new(Some((task, source))),
            fd,
            local,
        })
    }

    pub fn is_closed(&self) -> bool {
        self.accept_loop.borrow().is_none()
    }

    /// Stops accepting; CLOSED on a second call.
    fn close(&self) -> Result<(), NetError> {
        let (task, source) = self
            .accept_loop
            .borrow_mut()
            .take()
            .ok_or(NetError::Closed)?;
        // Dropping the task only schedules its cancellation: the socket would keep listening
        // (and queueing connections) until the executor runs again. Stop listening now, so a
        // connect right after close() is refused.
        // SAFETY: the fd is still open, owned by the loop's future, which is dropped later
        // (cancelled tasks are never polled again).
        unsafe { libc::shutdown(self.fd, libc::SHUT_RDWR) };
        drop(task);
        drop(source);
        Ok(())
    }
}

/// Registers the listener functions TCP and TLS share: `lclose(l) -> true | false, CLOSED`,
/// `lfd(l)` and `laddr(l)`, for the listener userdata type `L`.
pub fn functions<L>(lua: &Lua, m: &Table) -> mlua::Result<()>
where
    L: UserData + AsRef<ListenerCore> + 'static,
{
    m.set(
        "lclose",
        lua.create_function(|lua, l: UserDataRef<L>| lua_status(lua, (*l).as_ref().close()))?,
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

/// How a listening socket is bound.
pub struct Bind {
    pub backlog: i32,
    /// SO_REUSEPORT: several processes listen on one port and the kernel spreads the
    /// connections among them (one process per core, docs/tcp.md).
    pub reuseport: bool,
}

fn bind(sa: SocketAddr, how: Bind) -> io::Result<TcpListener> {
    let sock = Socket::new(Domain::for_address(sa), Type::STREAM, Some(Protocol::TCP))?;
    sock.set_reuse_address(true)?;
    if how.reuseport {
        sock.set_reuse_port(true)?;
    }
    if sa.is_ipv6() && sa.ip().is_unspecified() {
        sock.set_only_v6(false)?;
    }
    sock.bind(&sa.into())?;
    sock.listen(how.backlog)?;
    sock.set_nonblocking(true)?;
    Ok(sock.into())
}

fn is_fd_exhaustion(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE) | Some(libc::ENFILE) | Some(libc::ENOBUFS) | Some(libc::ENOMEM)
    )
}

/// Accepts connections until the listener is shut down, handing each to `accepted` tuned
/// (`et_tcp::tune`) and registered edge-triggered. Out of descriptors it pauses and retries;
/// other per-connection failures are logged under `tag` ("tcp", "tls").
pub async fn accept_each(
    listener: Io<TcpListener>,
    tag: &str,
    mut accepted: impl FnMut(EtTcp, SocketAddr),
) {
    let mut exhausted_logged = false;
    loop {
        match listener.read_with(|l| l.accept()).await {
            Ok((stream, peer)) => {
                exhausted_logged = false;
                et_tcp::tune(&stream);
                match EtTcp::new(stream) {
                    Ok(s) => accepted(s, peer),
                    Err(e) => log::message(
                        Level::Error,
                        &format!("[{tag}] cannot set up accepted connection: {e}"),
                    ),
                }
            }
            Err(e) if is_fd_exhaustion(&e) => {
                // Out of descriptors: the pending connections wait in the backlog; try again
                // shortly, when some may have been closed.
                if !exhausted_logged {
                    log::message(
                        Level::Error,
                        &format!("[{tag}] accept paused: {}", NetError::from_io(&e)),
                    );
                    exhausted_logged = true;
                }
                sleep_ms(50).await;
            }
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                // The socket no longer listens (`lclose` shut it down).
                return;
            }
            Err(e) => {
                // Per-connection failures (aborted before accept ...) do not stop the listener.
                log::message(
                    Level::Debug,
                    &format!("[{tag}] accept: {}", NetError::from_io(&e)),
                );
            }
        }
    }
}

/// Starts the script's `handler(arg)` in a new task for an accepted connection. On failure
/// (out of memory) the error is returned, for the caller to report with `start_failed`.
pub fn spawn_handler(handler: &Function, arg: Value) -> mlua::Result<()> {
    let rt = runtime::get();
    let entry = rt
        .tasks
        .entry()
        .ok_or_else(|| mlua::Error::runtime("no task entry"))?;
    let args = MultiValue::from_vec(vec![Value::Function(handler.clone()), arg]);
    // The handler's coroutine is not handed out by any API: it may be reused.
    let (_, handle) = task::spawn_pooled(&rt.lua, &entry, task::Start::Args(args))?;
    handle.detach();
    Ok(())
}

/// Logs, under `tag`, that an accepted connection could not be handed to the script (the
/// Lua values for it or its task could not be made: out of memory under `--max-memory`); the
/// caller closes the connection.
pub fn start_failed(tag: &str, e: &mlua::Error) {
    log::message(
        Level::Error,
        &format!("[{tag}] cannot start accept handler: {e}"),
    );
}
