//! `silly.net.udp.c`: UDP sockets, bound or connected (contract: docs/udp.md, docs/connections.md#isalive).
//!
//! One driver future per socket (`Driver`) moves datagrams from the kernel into the socket's
//! stash as they arrive, so `unreadbytes()` is meaningful and an ICMP error on a connected socket
//! is noticed even while nobody reads. `recvfrom` pops the stash or waits for the driver;
//! `sendto` never waits: it sends at once, and only if the kernel buffer is full it queues the
//! datagram for the driver.
//!
//! Addresses are text both ways (docs/udp.md#addresses): `"1.2.3.4:80"` / `"[::1]:80"`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use mlua::{IntoLuaMulti, Lua, MultiValue, Table, UserData, UserDataRef};
use socket2::{Domain, Protocol, Socket, Type};

use crate::log::{self, Level};
use crate::native::net::addr;
use crate::native::net::error::{NetError, lua_result, lua_status};
use crate::runtime::reactor::Io;
use crate::runtime::timer::Deadline;
use crate::runtime::{self, SourceGuard, task};

/// Largest datagram the kernel can hand us (IPv6 payload limit); the receive buffer size.
const MAX_DATAGRAM: usize = 65536;
/// Datagrams taken from the kernel per driver poll before other tasks get a turn.
const RECVS_PER_POLL: usize = 64;

/// A socket shared by its Lua object and its driver.
pub struct Udp {
    st: RefCell<State>,
    fd: i32,
    /// Connected sockets have a fixed peer: `sendto` ignores its address.
    connected: bool,
    /// The local address as text, with the port the OS chose for port 0.
    local: String,
}

struct State {
    /// None once closed: dropping it closes the descriptor.
    sock: Option<Io<UdpSocket>>,
    /// Datagrams received and not yet read, oldest first, with their senders.
    stash: VecDeque<(Vec<u8>, SocketAddr)>,
    /// Total payload bytes in `stash` (`unreadbytes`).
    stash_bytes: usize,
    /// The error that killed the socket (CONNREFUSED on a connected socket ...). Set by the
    /// driver or by `sendto`; `recvfrom` reports it once the stash is empty.
    error: Option<NetError>,
    /// Datagrams the kernel had no room for yet; the driver sends them.
    queue: VecDeque<(Vec<u8>, Option<SocketAddr>)>,
    /// Bytes in `queue` (`unsentbytes`).
    unsent: usize,
    /// The task blocked in `recvfrom`, if any.
    reader: Option<Waker>,
    /// The driver's waker: woken on close and when output is queued.
    driver: Option<Waker>,
    /// Keeps the process alive while the socket is open; dropped when it closes or dies.
    source: Option<SourceGuard>,
}

impl Udp {
    fn start(sock: UdpSocket, connected: bool) -> io::Result<Rc<Udp>> {
        let local = sock.local_addr().map(|a| a.to_string()).unwrap_or_default();
        sock.set_nonblocking(true)?;
        let sock = Io::new(sock)?;
        let fd = sock.as_raw_fd();
        let rt = runtime::get();
        let source = Some(rt.hold_source());
        let u = Rc::new(Udp {
            st: RefCell::new(State {
                sock: Some(sock),
                stash: VecDeque::new(),
                stash_bytes: 0,
                error: None,
                queue: VecDeque::new(),
                unsent: 0,
                reader: None,
                driver: None,
                source,
            }),
            fd,
            connected,
            local,
        });
        rt.executor.spawn(Driver { u: u.clone() }).detach();
        Ok(u)
    }

    /// Records the error that ends the socket's life and wakes whoever waits.
    fn die(st: &mut State, e: NetError) {
        if st.error.is_none() {
            st.error = Some(e);
        }
        st.queue.clear();
        st.unsent = 0;
        st.source = None;
        if let Some(w) = st.reader.take() {
            w.wake();
        }
    }

    /// `sendto`: Ok(()) when sent or queued (network errors are not reported, as in the
    /// reference), Err with an errno text when the call itself is wrong or the socket is dead.
    fn send(&self, data: &[u8], to: Option<SocketAddr>) -> Result<(), NetError> {
        let mut guard = self.st.borrow_mut();
        let st = &mut *guard;
        let Some(sock) = st.sock.as_ref() else {
            return Err(NetError::Closed);
        };
        if st.error.is_some() {
            return Err(NetError::Closed);
        }
        let to = if self.connected {
            None
        } else {
            match to {
                Some(a) => Some(fit_family(a, sock.get_ref())?),
                None => return Err(NetError::Os(libc::EDESTADDRREQ)),
            }
        };
        if !st.queue.is_empty() {
            st.unsent += data.len();
            st.queue.push_back((data.to_vec(), to));
            return Ok(());
        }
        let r = match to {
            Some(a) => sock.get_ref().send_to(data, a),
            None => sock.get_ref().send(data),
        };
        match r {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                st.unsent += data.len();
                st.queue.push_back((data.to_vec(), to));
                if let Some(w) = st.driver.take() {
                    w.wake();
                }
                Ok(())
            }
            Err(e) => send_failed(st, &e, self.connected),
        }
    }

    fn close(&self) -> bool {
        let mut st = self.st.borrow_mut();
        if st.sock.is_none() {
            return false;
        }
        st.sock = None;
        st.stash.clear();
        st.stash_bytes = 0;
        st.queue.clear();
        st.unsent = 0;
        st.source = None;
        if let Some(w) = st.reader.take() {
            w.wake();
        }
        if let Some(w) = st.driver.take() {
            w.wake();
        }
        true
    }

    /// The driver's work for one poll. Ready when the socket is closed or dead.
    fn poll_drive(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut guard = self.st.borrow_mut();
        let st = &mut *guard;
        st.driver = Some(cx.waker().clone());
        if st.error.is_some() {
            return Poll::Ready(());
        }
        let Some(sock) = st.sock.as_ref() else {
            return Poll::Ready(());
        };

        // Input.
        let mut received = 0;
        loop {
            if received == RECVS_PER_POLL {
                cx.waker().wake_by_ref();
                break;
            }
            let got = SCRATCH.with(|scratch| {
                let mut buf = scratch.borrow_mut();
                sock.get_ref()
                    .recv_from(&mut buf[..])
                    .map(|(n, from)| (buf[..n].to_vec(), from))
            });
            match got {
                Ok((data, from)) => {
                    received += 1;
                    st.stash_bytes += data.len();
                    st.stash.push_back((data, from));
                    if let Some(w) = st.reader.take() {
                        w.wake();
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // Woken by the next read edge.
                    let _ = sock.poll_read_blocked(cx);
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // On a connected socket this is the peer's ICMP error (CONNREFUSED ...).
                    Self::die(st, NetError::from_io(&e));
                    return Poll::Ready(());
                }
            }
        }

        // Output the kernel had no room for earlier.
        while let Some((data, to)) = st.queue.front() {
            let Some(sock) = st.sock.as_ref() else { break };
            let r = match to {
                Some(a) => sock.get_ref().send_to(data, *a),
                None => sock.get_ref().send(data),
            };
            match r {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // Woken by the next write edge.
                    let _ = sock.poll_write_blocked(cx);
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => {
                    let n = data.len();
                    st.queue.pop_front();
                    st.unsent -= n;
                    if let Err(e) = r {
                        // Only a dead connected socket matters; other failures are dropped
                        // datagrams, as UDP allows.
                        let _ = send_failed(st, &e, self.connected);
                        if st.error.is_some() {
                            return Poll::Ready(());
                        }
                    }
                }
            }
        }
        Poll::Pending
    }
}

/// What a failed send means: a dead connected socket (recorded, not reported: the reference
/// returns true and the next `recvfrom` tells), a caller's mistake (reported), or a lost
/// datagram (dropped, as UDP allows).
fn send_failed(st: &mut State, e: &io::Error, connected: bool) -> Result<(), NetError> {
    match e.raw_os_error() {
        Some(libc::EMSGSIZE) => Err(NetError::Os(libc::EMSGSIZE)),
        Some(libc::ECONNREFUSED) if connected => {
            Udp::die(st, NetError::from_io(e));
            Ok(())
        }
        _ => {
            log::message(
                Level::Debug,
                &format!("[udp] datagram dropped: {}", NetError::from_io(e)),
            );
            Ok(())
        }
    }
}

/// Adapts a destination to the socket's family: IPv4 peers are reached through mapped
/// addresses on an IPv6 socket, mapped peers directly on an IPv4 one.
fn fit_family(to: SocketAddr, sock: &UdpSocket) -> Result<SocketAddr, NetError> {
    let local_v6 = sock.local_addr().map(|a| a.is_ipv6()).unwrap_or(false);
    match (to.ip(), local_v6) {
        (IpAddr::V4(v4), true) => Ok(SocketAddr::new(IpAddr::V6(v4.to_ipv6_mapped()), to.port())),
        (IpAddr::V6(v6), false) => match v6.to_ipv4_mapped() {
            Some(v4) => Ok(SocketAddr::new(IpAddr::V4(v4), to.port())),
            None => Err(NetError::Os(libc::EAFNOSUPPORT)),
        },
        _ => Ok(to),
    }
}

thread_local! {
    /// One receive buffer for every UDP socket on this thread; only what arrived is copied.
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(vec![0; MAX_DATAGRAM]);
}

struct Driver {
    u: Rc<Udp>,
}

impl Future for Driver {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.u.poll_drive(cx)
    }
}

/// A task blocked in `recvfrom`.
struct RecvFuture {
    u: Rc<Udp>,
    deadline: Deadline,
}

impl Future for RecvFuture {
    type Output = mlua::Result<MultiValue>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let got = {
            let mut st = this.u.st.borrow_mut();
            match take_now(&mut st) {
                Some(r) => Some(r),
                None => {
                    st.reader = Some(cx.waker().clone());
                    None
                }
            }
        };
        let expired = got.is_none() && this.deadline.poll_expired(cx);
        let got = if expired {
            Some(Err(NetError::TimedOut))
        } else {
            got
        };
        match got {
            Some(r) => {
                this.u.st.borrow_mut().reader = None;
                Poll::Ready(results(&runtime::get().lua, r))
            }
            None => Poll::Pending,
        }
    }
}

impl Drop for RecvFuture {
    fn drop(&mut self) {
        if let Ok(mut st) = self.u.st.try_borrow_mut() {
            st.reader = None;
        }
    }
}

/// What `recvfrom` can answer without waiting: a closed socket, a stashed datagram, an error.
fn take_now(st: &mut State) -> Option<Result<(Vec<u8>, SocketAddr), NetError>> {
    if st.sock.is_none() {
        return Some(Err(NetError::Closed));
    }
    if let Some((data, from)) = st.stash.pop_front() {
        st.stash_bytes -= data.len();
        return Some(Ok((data, from)));
    }
    st.error.clone().map(Err)
}

fn results(lua: &Lua, r: Result<(Vec<u8>, SocketAddr), NetError>) -> mlua::Result<MultiValue> {
    let r = r.and_then(|(data, from)| {
        let data = lua
            .create_string(&data)
            .map_err(|e| NetError::Message(e.to_string()))?;
        Ok((data, from.to_string()))
    });
    lua_result(lua, r)
}

/// Parses a peer address in the text form `recvfrom` gives: "1.2.3.4:80", "[::1]:80", and
/// "[1.2.3.4]:80" (brackets allowed around IPv4 as everywhere else, docs/addr.md#address-strings).
pub fn parse_peer(s: &str) -> Option<SocketAddr> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Some(a);
    }
    let rest = s.strip_prefix('[')?;
    let (host, port) = rest.split_once("]:")?;
    let ip = host.parse::<Ipv4Addr>().ok()?;
    Some(SocketAddr::new(IpAddr::V4(ip), port.parse().ok()?))
}

fn new_socket(family: SocketAddr, bind: SocketAddr) -> io::Result<UdpSocket> {
    let sock = Socket::new(
        Domain::for_address(family),
        Type::DGRAM,
        Some(Protocol::UDP),
    )?;
    if bind.is_ipv6() && bind.ip().is_unspecified() {
        sock.set_only_v6(false)?;
    }
    sock.bind(&bind.into())?;
    Ok(sock.into())
}

fn io_err(e: io::Error) -> NetError {
    NetError::from_io(&e)
}

fn bind(ip: &str, port: u16) -> Result<Rc<Udp>, NetError> {
    let sa = addr::socket_addr(ip, port)?;
    let sock = new_socket(sa, sa).map_err(io_err)?;
    Udp::start(sock, false).map_err(io_err)
}

fn connect(ip: &str, port: u16, bind: Option<(String, u16)>) -> Result<Rc<Udp>, NetError> {
    if ip.is_empty() {
        return Err(NetError::Os(libc::EINVAL));
    }
    let peer = addr::socket_addr(ip, port)?;
    let local = match bind {
        Some((bip, bport)) => {
            let b = addr::socket_addr(&bip, bport)?;
            if b.is_ipv4() != peer.is_ipv4() {
                return Err(NetError::Os(libc::EAFNOSUPPORT));
            }
            b
        }
        None if peer.is_ipv4() => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        None => SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
    };
    let sock = new_socket(peer, local).map_err(io_err)?;
    sock.connect(peer).map_err(io_err)?;
    Udp::start(sock, true).map_err(io_err)
}

/// A socket as Lua holds it.
pub struct UdpHandle(Rc<Udp>);

impl UserData for UdpHandle {}

fn opened(lua: &Lua, r: Result<Rc<Udp>, NetError>) -> mlua::Result<MultiValue> {
    lua_result(lua, r.map(UdpHandle))
}

pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    // bind(ip, port) -> ud | nil, err; ip "" is the dual-stack wildcard.
    m.set(
        "bind",
        lua.create_function(|lua, (ip, port): (String, u16)| opened(lua, bind(&ip, port)))?,
    )?;
    // connect(ip, port, bindip?, bindport?) -> ud | nil, err
    m.set(
        "connect",
        lua.create_function(
            |lua, (ip, port, bip, bport): (String, u16, Option<String>, Option<u16>)| {
                let b = match (bip, bport) {
                    (Some(h), Some(p)) => Some((h, p)),
                    _ => None,
                };
                opened(lua, connect(&ip, port, b))
            },
        )?,
    )?;
    // recvfrom(ud, timeout?) -> data, addr | nil, err | MARKER (yield for the answer)
    m.set(
        "recvfrom",
        lua.create_function(|lua, (h, timeout): (UserDataRef<UdpHandle>, Option<i64>)| {
            let now = take_now(&mut h.0.st.borrow_mut());
            if let Some(r) = now {
                return results(lua, r);
            }
            let op: task::Op = Box::pin(RecvFuture {
                u: h.0.clone(),
                deadline: Deadline::after_ms(timeout.map(|ms| ms.max(0) as u64)),
            });
            task::suspend(op)?.into_lua_multi(lua)
        })?,
    )?;
    // sendto(ud, data, addr?) -> true | false, err
    m.set(
        "sendto",
        lua.create_function(
            |lua,
             (h, data, to): (
                UserDataRef<UdpHandle>,
                mlua::LuaString,
                Option<mlua::LuaString>,
            )| {
                let to = match to {
                    Some(s) if !h.0.connected => {
                        let text = s.to_str().ok().map(|t| t.to_string());
                        match text.as_deref().and_then(parse_peer) {
                            Some(a) => Some(a),
                            None => return lua_status(lua, Err(NetError::Os(libc::EINVAL))),
                        }
                    }
                    _ => None,
                };
                lua_status(lua, h.0.send(&data.as_bytes(), to))
            },
        )?,
    )?;
    m.set(
        "close",
        lua.create_function(|_, h: UserDataRef<UdpHandle>| Ok(h.0.close()))?,
    )?;
    m.set(
        "isalive",
        lua.create_function(|_, h: UserDataRef<UdpHandle>| {
            let st = h.0.st.borrow();
            Ok(st.sock.is_some() && st.error.is_none())
        })?,
    )?;
    m.set(
        "unreadbytes",
        lua.create_function(|_, h: UserDataRef<UdpHandle>| Ok(h.0.st.borrow().stash_bytes))?,
    )?;
    m.set(
        "unsentbytes",
        lua.create_function(|_, h: UserDataRef<UdpHandle>| Ok(h.0.st.borrow().unsent))?,
    )?;
    m.set(
        "fd",
        lua.create_function(|_, h: UserDataRef<UdpHandle>| Ok(h.0.fd))?,
    )?;
    m.set(
        "localaddr",
        lua.create_function(|_, h: UserDataRef<UdpHandle>| Ok(h.0.local.clone()))?,
    )?;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_text_forms() {
        assert_eq!(
            parse_peer("127.0.0.1:53"),
            Some("127.0.0.1:53".parse().unwrap())
        );
        assert_eq!(parse_peer("[::1]:53"), Some("[::1]:53".parse().unwrap()));
        assert_eq!(
            parse_peer("[127.0.0.1]:53"),
            Some("127.0.0.1:53".parse().unwrap())
        );
        assert_eq!(
            parse_peer("[::ffff:127.0.0.1]:9"),
            Some("[::ffff:127.0.0.1]:9".parse().unwrap())
        );
        for bad in [
            "",
            "127.0.0.1",
            "::1:53",
            "[::1]",
            "host:53",
            "1.2.3.4:99999",
            "1.2.3.4:x",
            "[1.2.3.4]",
        ] {
            assert_eq!(parse_peer(bad), None, "{bad}");
        }
    }
}
