//! Edge-triggered readiness for sockets (Linux epoll): the generic `Source`, as async-io keeps
//! its `Source` apart from the typed `Async<T>`. The TCP socket on top of it is
//! `native/net/et_tcp.rs`.
//!
//! async-io re-arms a one-shot epoll registration every time a read or write would block, and
//! finds out that a socket is drained only by a read that fails with EAGAIN: two extra
//! syscalls per request on a request/response connection. Sources here are instead registered
//! once, edge-triggered (EPOLLET), in a private epoll instance; the owner reports a drained
//! socket (`clear_readable`, after a read that returned less than asked: TCP hands over
//! everything it has queued), and a new edge says when it is readable again. A peer's FIN that
//! arrived with the last data raises no further edge, so EPOLLRDHUP is recorded and keeps the
//! socket readable until the read that returns 0. The epoll descriptor itself is watched
//! through async-io, so one executor future (`drive`) turns its events into wake-ups.

use std::cell::{Cell, RefCell};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use async_io::Async;

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
            // SAFETY: a new descriptor that nothing else owns.
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
            crate::log::message(
                crate::log::Level::Error,
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

/// One registered file descriptor's readiness. The owner keeps the descriptor open for as
/// long as the `Source` lives (closing it removes it from the epoll set).
pub struct Source {
    key: usize,
    state: Rc<Readiness>,
}

impl Source {
    /// Registers `fd` for read and write edges; it starts out readable and writable.
    pub fn register(fd: BorrowedFd<'_>) -> io::Result<Source> {
        let (key, state) = register(fd)?;
        Ok(Source { key, state })
    }

    /// Ready if input may be waiting; otherwise the waker owns the read interest (replacing
    /// the previous owner, see `Readiness::reader`).
    pub fn poll_readable(&self, cx: &Context<'_>) -> Poll<()> {
        if self.state.readable.get() {
            return Poll::Ready(());
        }
        *self.state.reader.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }

    /// A read returned less than asked: the socket is drained, unless the peer's FIN is
    /// still to be read (it raises no new edge, so the socket stays readable until a read
    /// returns 0).
    pub fn short_read(&self) {
        if !self.state.read_closed.get() {
            self.state.readable.set(false);
        }
    }

    /// A read said EAGAIN: nothing to read until the next edge.
    pub fn read_would_block(&self) {
        self.state.readable.set(false);
    }

    /// Ready if output may be accepted; otherwise the waker joins the write interest.
    pub fn poll_writable(&self, cx: &Context<'_>) -> Poll<()> {
        if self.state.writable.get() {
            return Poll::Ready(());
        }
        self.state.writers.borrow_mut().insert(cx.waker());
        Poll::Pending
    }

    /// The socket took less than offered or said EAGAIN: wait for the next write edge.
    pub fn write_would_block(&self) {
        self.state.writable.set(false);
    }

    /// A function that hands the read interest to a waker: the waker is woken at once if
    /// input is already known to be waiting, otherwise by the next read edge.
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

impl Drop for Source {
    fn drop(&mut self) {
        deregister(self.key);
    }
}
