//! The event loop's one epoll instance: edge-triggered readiness for sockets (the generic
//! `Source`, `Io<T>` for listeners and UDP sockets; the TCP socket on top of it is
//! `native/net/et_tcp.rs`), the loop's blocking `wait`, and the `Notifier` that lets other
//! threads interrupt it.
//!
//! async-io re-arms a one-shot epoll registration every time a read or write would block, and
//! finds out that a socket is drained only by a read that fails with EAGAIN: two extra
//! syscalls per request on a request/response connection. Sources here are instead registered
//! once, edge-triggered (EPOLLET), in a private epoll instance; the owner reports a drained
//! socket (`short_read`, after a read that returned less than asked: TCP hands over
//! everything it has queued), and a new edge says when it is readable again. A peer's FIN that
//! arrived with the last data raises no further edge, so EPOLLRDHUP is recorded and keeps the
//! socket readable until the read that returns 0.
//!
//! The loop (`Runtime::block_on`) sleeps in this epoll itself, with the earliest timer as its
//! timeout: one level of waiting, no timer descriptor, no lock or futex between the executor
//! and the poller. What still uses async-io (DNS sockets, signals) is driven by async-io's own
//! thread, whose wakes reach the loop through the `Notifier`'s eventfd.

use std::cell::{Cell, RefCell};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

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
    notifier: Arc<Notifier>,
}

thread_local! {
    static REACTOR: Reactor = Reactor::new();
}

impl Reactor {
    fn new() -> Reactor {
        // SAFETY: epoll_create1 has no memory-safety preconditions; a valid fd is owned below.
        let epoll = match unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) } {
            // SAFETY: a new descriptor that nothing else owns.
            fd if fd >= 0 => Some(unsafe { OwnedFd::from_raw_fd(fd) }),
            _ => None,
        };
        let notifier = Arc::new(Notifier::new(epoll.as_ref()));
        Reactor {
            epoll,
            sources: RefCell::new(Vec::new()),
            free: RefCell::new(Vec::new()),
            notifier,
        }
    }
}

fn register(fd: BorrowedFd<'_>, writable: bool) -> io::Result<(usize, Rc<Readiness>)> {
    REACTOR.with(|r| {
        let Some(epoll) = &r.epoll else {
            return Err(io::Error::other("the socket poller could not be created"));
        };
        let state = Rc::new(Readiness::default());
        state.readable.set(true);
        state.writable.set(writable);
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

/// Gives back the room a past peak of sockets left: the empty slots at the end go (an event
/// can no longer name them: their fds were closed), and both tables shrink to what is left.
pub fn shrink() {
    REACTOR.with(|r| {
        let mut sources = r.sources.borrow_mut();
        while sources.last().is_some_and(|s| s.is_none()) {
            sources.pop();
        }
        sources.shrink_to_fit();
        let len = sources.len();
        let mut free = r.free.borrow_mut();
        free.retain(|&k| k < len);
        free.shrink_to_fit();
    })
}

/// The key of the loop's own eventfd in the epoll set (never a source's slot index).
const NOTIFY_KEY: u64 = u64::MAX;

/// How often the loop looks for wakes from other threads when it has no eventfd.
const POLL_FALLBACK: Duration = Duration::from_millis(5);

/// Waits up to `timeout` (None: without limit) for events and turns them into wake-ups; does
/// not wait at all if the loop was woken since `Notifier::reset`. This is the loop's only
/// blocking call (`Runtime::block_on`).
pub fn wait(timeout: Option<Duration>) {
    const BATCH: usize = 256;
    // Left uninitialised: the kernel fills the first `n`, and zeroing 3 KiB on every wait
    // was the loop's largest single cost per request.
    let mut events = [const { MaybeUninit::<libc::epoll_event>::uninit() }; BATCH];
    REACTOR.with(|r| {
        let notifier = &r.notifier;
        // Paired with `Notifier::wake_by_ref`: either the waker sees `sleeping` and writes the
        // eventfd, or this sees `notified` and does not block (both are SeqCst).
        notifier.sleeping.store(true, Ordering::SeqCst);
        let timeout = if notifier.notified.load(Ordering::SeqCst) {
            Some(Duration::ZERO)
        } else if notifier.fd.is_none() {
            // Nothing could interrupt the wait: look again every few milliseconds.
            Some(timeout.map_or(POLL_FALLBACK, |t| t.min(POLL_FALLBACK)))
        } else {
            timeout
        };
        // epoll counts in milliseconds: round up, or a timer due in 0.3 ms would spin.
        let mut ms = timeout.map_or(-1, |t| {
            let ms = t.as_nanos().div_ceil(1_000_000);
            ms.min(i32::MAX as u128) as i32
        });
        let Some(epoll) = &r.epoll else {
            // No poller: sockets cannot be registered, only timers and other threads remain.
            if ms > 0 {
                std::thread::sleep(Duration::from_millis(ms as u64));
            }
            notifier.sleeping.store(false, Ordering::SeqCst);
            return;
        };
        loop {
            // SAFETY: `events` has room for BATCH entries.
            let n = unsafe {
                libc::epoll_wait(
                    epoll.as_raw_fd(),
                    events.as_mut_ptr().cast(),
                    BATCH as i32,
                    ms,
                )
            };
            // Awake: the wakes the events below cause need no eventfd write.
            notifier.sleeping.store(false, Ordering::SeqCst);
            if n <= 0 {
                // A signal interrupted the wait (EINTR), or the time is up: back to the loop.
                return;
            }
            for ev in &events[..n as usize] {
                // SAFETY: epoll_wait initialised the first `n` entries.
                let ev = unsafe { ev.assume_init_ref() };
                if ev.u64 == NOTIFY_KEY {
                    notifier.drain();
                } else {
                    dispatch(r, ev);
                }
            }
            if (n as usize) < BATCH {
                return;
            }
            // A full batch: collect the rest without waiting.
            ms = 0;
        }
    })
}

/// Records one socket's edges and wakes the tasks waiting for them.
fn dispatch(r: &Reactor, ev: &libc::epoll_event) {
    let flags = ev.events as i32;
    let state = match r.sources.borrow().get(ev.u64 as usize) {
        Some(Some(state)) => state.clone(),
        _ => return,
    };
    if flags & (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR) != 0 {
        if flags & (libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR) != 0 {
            state.read_closed.set(true);
        }
        state.readable.set(true);
        let reader = state.reader.borrow_mut().take();
        if let Some(w) = reader {
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

/// The loop's waker. A wake while the loop is awake (the common case: a socket edge or a task
/// waking another) only sets a flag; a wake from another thread (a TLS worker, the REPL's line
/// reader, async-io's thread for DNS and signals) while the loop sleeps in `wait` also writes
/// the eventfd, so no wake costs a syscall unless it must interrupt a sleep.
pub struct Notifier {
    /// An eventfd in the epoll set, level-triggered: readable until `drain` reads it.
    fd: Option<OwnedFd>,
    notified: AtomicBool,
    sleeping: AtomicBool,
}

impl Notifier {
    /// An eventfd added to `epoll`; without one (either could not be created) the loop
    /// polls instead (`sleep` caps its waits).
    fn new(epoll: Option<&OwnedFd>) -> Notifier {
        // SAFETY: eventfd has no memory-safety preconditions; a valid fd is owned below.
        let fd = match unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) } {
            // SAFETY: a new descriptor that nothing else owns.
            fd if fd >= 0 => Some(unsafe { OwnedFd::from_raw_fd(fd) }),
            _ => None,
        };
        let fd = fd.filter(|fd| {
            let Some(epoll) = epoll else { return false };
            let mut ev = libc::epoll_event {
                events: libc::EPOLLIN as u32,
                u64: NOTIFY_KEY,
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
            rc == 0
        });
        Notifier {
            fd,
            notified: AtomicBool::new(false),
            sleeping: AtomicBool::new(false),
        }
    }

    /// True if something woke the loop since `reset`.
    pub fn is_notified(&self) -> bool {
        self.notified.load(Ordering::SeqCst)
    }

    /// Forgets earlier wakes: the executor is about to be polled and will see their work.
    pub fn reset(&self) {
        self.notified.store(false, Ordering::SeqCst);
    }

    fn drain(&self) {
        if let Some(fd) = &self.fd {
            let mut count = 0u64;
            // SAFETY: reads 8 bytes into a u64 from an open eventfd; EAGAIN is harmless.
            unsafe { libc::read(fd.as_raw_fd(), (&mut count as *mut u64).cast(), 8) };
        }
    }
}

impl Wake for Notifier {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.notified.store(true, Ordering::SeqCst);
        if self.sleeping.load(Ordering::SeqCst)
            && let Some(fd) = &self.fd
        {
            let one = 1u64;
            // SAFETY: writes 8 bytes from a u64 to an open eventfd; a full counter (EAGAIN)
            // still leaves it readable, which is all a wake needs.
            unsafe { libc::write(fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
        }
    }
}

/// The loop's waker state (see `Notifier`), shared with every thread that may wake it.
pub fn notifier() -> Arc<Notifier> {
    REACTOR.with(|r| r.notifier.clone())
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
        let (key, state) = register(fd, true)?;
        Ok(Source { key, state })
    }

    /// Registers a socket whose connect is in progress: it is writable only once the first
    /// write edge says the connection is made (or failed). Registering after the connect
    /// completed is fine: epoll reports the readiness a descriptor already has when added.
    pub fn register_connecting(fd: BorrowedFd<'_>) -> io::Result<Source> {
        let (key, state) = register(fd, false)?;
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

/// A descriptor owner (a listener, a UDP socket) on this reactor, for code that drives its
/// own syscalls: the edge-triggered counterpart of async-io's `Async<T>`.
pub struct Io<T: AsFd> {
    // Declared first: dropped (closed, leaving the epoll set) before its slot is freed.
    inner: T,
    source: Source,
}

impl<T: AsFd> Io<T> {
    /// Registers `inner`, which must already be non-blocking.
    pub fn new(inner: T) -> io::Result<Io<T>> {
        let source = Source::register(inner.as_fd())?;
        Ok(Io { inner, source })
    }

    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// After a read-side syscall said EAGAIN: always Pending, and the waker is woken by the
    /// next read edge.
    pub fn poll_read_blocked(&self, cx: &Context<'_>) -> Poll<()> {
        self.source.read_would_block();
        self.source.poll_readable(cx)
    }

    /// After a write-side syscall said EAGAIN: always Pending, and the waker is woken by the
    /// next write edge.
    pub fn poll_write_blocked(&self, cx: &Context<'_>) -> Poll<()> {
        self.source.write_would_block();
        self.source.poll_writable(cx)
    }

    /// Runs the read-side syscall `op` until it does not say EAGAIN, waiting for a read edge
    /// after each EAGAIN.
    pub async fn read_with<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        std::future::poll_fn(|cx| {
            loop {
                if self.source.poll_readable(cx).is_pending() {
                    return Poll::Pending;
                }
                match op(&self.inner) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.source.read_would_block()
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    r => return Poll::Ready(r),
                }
            }
        })
        .await
    }
}

impl<T: AsFd> AsRawFd for Io<T> {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.inner.as_fd().as_raw_fd()
    }
}
