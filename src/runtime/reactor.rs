//! Edge-triggered readiness for connected sockets (Linux epoll).
//!
//! async-io re-arms a one-shot epoll registration every time a read or write would block, and
//! finds out that a socket is drained only by a read that fails with EAGAIN: two extra
//! syscalls per request on a request/response connection. Connections here are instead
//! registered once, edge-triggered (EPOLLET), in a private epoll instance; a socket is known
//! drained when a read returns less than asked (TCP hands over everything it has queued), and
//! a new edge says when it is readable again. A peer's FIN that arrived with the last data
//! raises no further edge, so EPOLLRDHUP is recorded and keeps the socket readable until the
//! read that returns 0. The epoll descriptor itself is watched through async-io, so one
//! executor future (`drive`) turns its events into wake-ups.

use std::cell::{Cell, RefCell};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use async_io::Async;
use futures_lite::io::{AsyncRead, AsyncWrite};

/// Readiness of one registered socket, as the last edges and syscalls left it.
#[derive(Default)]
struct Readiness {
    /// False once a read came back short or with EAGAIN; true again on a read edge.
    readable: Cell<bool>,
    writable: Cell<bool>,
    /// The peer's FIN was seen (EPOLLRDHUP): reading must go on until it returns 0.
    read_closed: Cell<bool>,
    /// Read interest has one owner at a time: the task blocked in a read, else the stream's
    /// driver (`reader_handoff` passes it back), so a new waker replaces the old one.
    reader: RefCell<Option<Waker>>,
    /// Write interest can have several owners at once: the driver flushing the write queue
    /// and, for TLS, a reader whose record processing sends pending records too. Each must
    /// hear of the drain, or output stays queued with nobody to send it.
    writers: RefCell<WakerSet>,
}

/// The tasks waiting for one edge, each once; all are woken by the edge.
#[derive(Default)]
struct WakerSet(Vec<Waker>);

impl WakerSet {
    /// More than a handful means wakers of tasks that have moved on; the oldest is woken
    /// (a spurious wake-up is harmless: a task that still waits asks again) and dropped.
    const MAX: usize = 8;

    fn insert(&mut self, w: &Waker) {
        if self.0.iter().any(|old| old.will_wake(w)) {
            return;
        }
        if self.0.len() == Self::MAX {
            self.0.remove(0).wake();
        }
        self.0.push(w.clone());
    }

    fn wake_all(&mut self) {
        for w in self.0.drain(..) {
            w.wake();
        }
    }
}

struct Reactor {
    /// The private epoll instance; None if it could not be created (registrations then fail).
    epoll: Option<OwnedFd>,
    /// Registered sockets by key; a slot is freed when its `EtTcp` drops.
    sources: RefCell<Vec<Option<Rc<Readiness>>>>,
    free: RefCell<Vec<usize>>,
}

thread_local! {
    static REACTOR: Reactor = Reactor {
        // SAFETY: epoll_create1 has no memory-safety preconditions; a valid fd is owned below.
        epoll: match unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) } {
            fd if fd >= 0 => Some(unsafe { OwnedFd::from_raw_fd(fd) }),
            _ => None,
        },
        sources: RefCell::new(Vec::new()),
        free: RefCell::new(Vec::new()),
    };
}

fn register(fd: BorrowedFd<'_>) -> io::Result<(usize, Rc<Readiness>)> {
    REACTOR.with(|r| {
        let Some(epoll) = &r.epoll else {
            return Err(io::Error::other("the socket poller could not be created"));
        };
        let state = Rc::new(Readiness::default());
        state.readable.set(true);
        state.writable.set(true);
        let key = match r.free.borrow_mut().pop() {
            Some(k) => {
                r.sources.borrow_mut()[k] = Some(state.clone());
                k
            }
            None => {
                let mut s = r.sources.borrow_mut();
                s.push(Some(state.clone()));
                s.len() - 1
            }
        };
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET) as u32,
            u64: key as u64,
        };
        // SAFETY: both fds are open; `ev` is a valid epoll_event.
        let rc = unsafe {
            libc::epoll_ctl(
                epoll.as_raw_fd(),
                libc::EPOLL_CTL_ADD,
                fd.as_raw_fd(),
                &mut ev,
            )
        };
        if rc < 0 {
            r.sources.borrow_mut()[key] = None;
            r.free.borrow_mut().push(key);
            return Err(io::Error::last_os_error());
        }
        Ok((key, state))
    })
}

fn deregister(key: usize) {
    // Closing the fd removes it from the epoll set; only the slot needs freeing.
    REACTOR.with(|r| {
        if let Some(slot) = r.sources.borrow_mut().get_mut(key) {
            *slot = None;
            r.free.borrow_mut().push(key);
        }
    })
}

/// Turns epoll events into wake-ups; runs for the life of the process.
pub async fn drive() {
    let epoll = REACTOR.with(|r| r.epoll.as_ref().and_then(|e| e.try_clone().ok()));
    let Some(epoll) = epoll else { return };
    let watched = match Async::new(epoll) {
        Ok(w) => w,
        Err(e) => {
            crate::native::logger::write_rust(
                crate::native::logger::Level::Error,
                &format!("cannot watch the socket poller: {e}"),
            );
            return;
        }
    };
    const BATCH: usize = 256;
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; BATCH];
    loop {
        if watched.readable().await.is_err() {
            return;
        }
        loop {
            // SAFETY: `events` has room for BATCH entries; timeout 0 never blocks.
            let n = unsafe {
                libc::epoll_wait(
                    watched.get_ref().as_raw_fd(),
                    events.as_mut_ptr(),
                    BATCH as i32,
                    0,
                )
            };
            if n <= 0 {
                break;
            }
            REACTOR.with(|r| {
                let sources = r.sources.borrow();
                for ev in &events[..n as usize] {
                    let flags = ev.events as i32;
                    let Some(Some(state)) = sources.get(ev.u64 as usize) else {
                        continue;
                    };
                    if flags & (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR)
                        != 0
                    {
                        if flags & (libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR) != 0 {
                            state.read_closed.set(true);
                        }
                        state.readable.set(true);
                        if let Some(w) = state.reader.borrow_mut().take() {
                            w.wake();
                        }
                    }
                    if flags & (libc::EPOLLOUT | libc::EPOLLHUP | libc::EPOLLERR) != 0 {
                        state.writable.set(true);
                        // Taken out first: a woken waker may re-enter this socket's state.
                        let mut writers = std::mem::take(&mut *state.writers.borrow_mut());
                        writers.wake_all();
                    }
                }
            });
            if (n as usize) < BATCH {
                break;
            }
        }
    }
}

/// A connected TCP socket with edge-triggered readiness.
pub struct EtTcp {
    stream: TcpStream,
    key: usize,
    state: Rc<Readiness>,
}

impl EtTcp {
    /// Registers a connected socket (it is made non-blocking here).
    pub fn new(stream: TcpStream) -> io::Result<EtTcp> {
        stream.set_nonblocking(true)?;
        let (key, state) = register(std::os::fd::AsFd::as_fd(&stream))?;
        Ok(EtTcp { stream, key, state })
    }

    pub fn get_ref(&self) -> &TcpStream {
        &self.stream
    }

    /// A function that hands this socket's read interest to a waker: the waker is woken at
    /// once if input is already known to be waiting, otherwise by the next read edge.
    pub fn reader_handoff(&self) -> Box<dyn Fn(&Waker)> {
        let state = self.state.clone();
        Box::new(move |w: &Waker| {
            if state.readable.get() {
                w.wake_by_ref();
            } else {
                *state.reader.borrow_mut() = Some(w.clone());
            }
        })
    }
}

impl Drop for EtTcp {
    fn drop(&mut self) {
        deregister(self.key);
    }
}

impl AsyncRead for EtTcp {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            if !this.state.readable.get() {
                *this.state.reader.borrow_mut() = Some(cx.waker().clone());
                return Poll::Pending;
            }
            match (&this.stream).read(buf) {
                Ok(n) => {
                    // A short read drained the socket, unless the peer's FIN is still to be
                    // read (it raises no new edge).
                    if n < buf.len() && n > 0 && !this.state.read_closed.get() {
                        this.state.readable.set(false);
                    }
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => this.state.readable.set(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for EtTcp {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            if !this.state.writable.get() {
                this.state.writers.borrow_mut().insert(cx.waker());
                return Poll::Pending;
            }
            match (&this.stream).write(buf) {
                Ok(n) => {
                    if n < buf.len() {
                        this.state.writable.set(false);
                    }
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => this.state.writable.set(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Sends FIN after the queued data; the socket is closed when dropped.
        Poll::Ready(match self.stream.shutdown(Shutdown::Write) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            r => r,
        })
    }
}
