//! A connected byte stream: read buffer, write queue, backpressure and close, shared by TCP and
//! TLS. The transport underneath is any `AsyncRead + AsyncWrite` (a plain `Async<TcpStream>`,
//! or a TLS session over one), so TLS adds a layer, not a second copy of this code.
//!
//! One driver future per connection (`drive`) does all the I/O: it moves bytes from the
//! transport into the read buffer (unless `limit` paused it), drains the write queue, and closes
//! the transport when asked. Lua-facing calls (`read`, `write` ...) only touch the buffers and
//! wake the driver, so a task reading and another writing the same stream never block each other.
//!
//! Contract: docs/connections.md.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use futures_lite::io::{AsyncRead, AsyncWrite};
use mlua::{Lua, MultiValue, Value};

use crate::native::net::error::{NetError, lua_result, lua_status};
use crate::native::net::read_buf::{ReadBuf, Request};
use crate::native::net::stats;
use crate::runtime::timer::Deadline;
use crate::runtime::{self, SourceGuard, task};

/// The transport under a stream.
pub trait Transport: AsyncRead + AsyncWrite + Unpin {}
impl<T: AsyncRead + AsyncWrite + Unpin> Transport for T {}

/// How long `close()` keeps flushing queued output to a peer that does not read (docs/connections.md#close).
const CLOSE_FLUSH_LIMIT: Duration = Duration::from_secs(10);
/// Bytes read from the transport per call.
const READ_CHUNK: usize = 64 * 1024;
/// Transport reads per driver poll before it lets other tasks run.
const READS_PER_POLL: usize = 16;
/// A write at least this large, to an idle socket, is sent at once instead of being staged.
const DIRECT_WRITE_MIN: usize = 64 * 1024;
/// Queued writes are merged into one chunk up to this size.
const COALESCE_MAX: usize = 256 * 1024;

/// An outgoing chunk and how much of it was sent.
struct Chunk {
    data: Vec<u8>,
    sent: usize,
}

struct State {
    io: Option<Box<dyn Transport>>,
    /// Counts the connection as open (`silly.metrics`) while `io` holds its socket; cleared
    /// with `io`.
    open: Option<stats::Open>,
    rbuf: ReadBuf,
    /// The first error seen on the stream (EOF, CONNRESET ...); reads fail with it once the
    /// buffer cannot satisfy them.
    error: Option<NetError>,
    /// `close()` was called.
    closed: bool,
    /// The write side failed: `write` answers `false, CLOSED`.
    write_dead: bool,
    /// Pause transport reads while the buffer holds at least this much (`conn:limit`).
    limit: Option<usize>,
    /// A task is blocked in `read`.
    reading: Option<Request>,
    reader: Option<Waker>,
    queue: VecDeque<Chunk>,
    /// Bytes in `queue` not yet handed to the transport.
    unsent: usize,
    /// Tasks blocked in `flush()`.
    flushers: Vec<Waker>,
    /// The driver's waker: woken when there is output, a close, or a lifted limit.
    driver: Option<Waker>,
    /// When the driver must give up flushing after `close()`.
    close_deadline: Option<Instant>,
    /// Keeps the process alive while the stream is open or still flushing after `close()`;
    /// dropped when it ends.
    source: Option<SourceGuard>,
    /// The transport buffers output itself (TLS): the driver must flush it.
    needs_flush: bool,
    /// After `close()`: wakes the driver at the flush deadline if the peer never reads.
    close_timer: Option<Deadline>,
    /// Gives the transport's read interest to a waker without a wake-up (see
    /// `hand_input_to_driver`); None: just wake the driver.
    reader_handoff: Option<ReaderHandoff>,
}

/// Gives a transport's read interest to a waker (see `EtTcp::reader_handoff`).
pub type ReaderHandoff = Box<dyn Fn(&Waker)>;

/// What one `pump_input` call achieved.
#[derive(Debug, PartialEq, Eq)]
enum Pump {
    /// Data was appended or an error recorded.
    Progress,
    /// Nothing to read now (the transport will wake the polling task), or reading is paused.
    Blocked,
    /// Read the per-poll maximum; the caller should let other tasks run, then come back.
    Yield,
}

impl State {
    /// Moves bytes from the transport into the read buffer until the transport would block,
    /// the limit pauses reading, or the per-poll maximum is reached. `reader_needs_more`: a
    /// blocked `read` still lacks data, so the limit must not stop it (no deadlock).
    fn pump_input(&mut self, cx: &mut Context<'_>, reader_needs_more: bool) -> Pump {
        let mut result = Pump::Blocked;
        let mut reads = 0;
        while !self.closed && self.error.is_none() {
            let over_limit = self.limit.is_some_and(|l| self.rbuf.len() >= l);
            if over_limit && !reader_needs_more {
                break;
            }
            if reads == READS_PER_POLL {
                return Pump::Yield;
            }
            reads += 1;
            let Some(io) = self.io.as_mut() else { break };
            let rbuf = &mut self.rbuf;
            let got = SCRATCH.with(|scratch| {
                let mut scratch = scratch.borrow_mut();
                match Pin::new(&mut **io).poll_read(cx, &mut scratch[..]) {
                    Poll::Ready(Ok(0)) => Poll::Ready(Err(NetError::Eof)),
                    Poll::Ready(Ok(n)) => {
                        rbuf.append(&scratch[..n]);
                        Poll::Ready(Ok(()))
                    }
                    Poll::Ready(Err(e)) => Poll::Ready(Err(NetError::from_io(&e))),
                    Poll::Pending => Poll::Pending,
                }
            });
            match got {
                Poll::Ready(Ok(())) => result = Pump::Progress,
                Poll::Ready(Err(e)) => {
                    // A reset or another failure kills the socket both ways (`write` answers
                    // CLOSED, docs/connections.md#outcomes); only the peer's FIN leaves the write side open.
                    if e != NetError::Eof {
                        self.write_dead = true;
                    }
                    self.error = Some(e);
                    self.source = None;
                    return Pump::Progress;
                }
                Poll::Pending => break,
            }
            if reader_needs_more {
                // Let the reader check whether it has enough now.
                return result;
            }
        }
        result
    }

    /// Hands queued output to the transport until it would block; a failure kills the write
    /// side and ends a blocked reader.
    fn push_output(&mut self, cx: &mut Context<'_>) {
        while !self.write_dead {
            let Some(io) = self.io.as_mut() else { break };
            let Some(front) = self.queue.front_mut() else {
                break;
            };
            match Pin::new(&mut **io).poll_write(cx, &front.data[front.sent..]) {
                Poll::Ready(Ok(n)) if n > 0 => {
                    front.sent += n;
                    if !self.closed {
                        self.unsent -= n;
                    }
                    if front.sent == front.data.len() {
                        self.queue.pop_front();
                    }
                }
                Poll::Ready(Ok(_)) => {
                    self.write_dead = true;
                }
                Poll::Ready(Err(e)) => {
                    self.write_dead = true;
                    if self.error.is_none() {
                        self.error = Some(NetError::from_io(&e));
                    }
                    self.source = None;
                    if let Some(w) = self.reader.take() {
                        w.wake();
                    }
                }
                Poll::Pending => break,
            }
        }
        if self.write_dead {
            self.queue.clear();
            self.unsent = 0;
        }
    }

    /// A new read's answer, if the buffer already holds it: consumes and returns those bytes.
    /// The caller copies them out, then calls `after_take`.
    fn take_ready(&mut self, req: &Request) -> Option<&[u8]> {
        // `scanned` belongs to the previous request; a new one searches from the start.
        self.rbuf.scanned = 0;
        let n = self.rbuf.satisfies(req)?;
        Some(self.rbuf.take(n))
    }

    fn after_take(&mut self) {
        self.rbuf.compact();
        // Reading may have been paused by the limit: room again.
        Stream::wake_driver(self);
    }

    /// After a read completes: the driver takes over watching for input, without being
    /// woken now unless input is already waiting.
    fn hand_input_to_driver(&mut self) {
        match (&self.reader_handoff, &self.driver) {
            (Some(handoff), Some(w)) => handoff(w),
            _ => Stream::wake_driver(self),
        }
    }
}

/// What `take_transport` hands over.
pub struct Handover {
    pub io: Box<dyn Transport>,
    /// Bytes read from `io` that nobody consumed yet.
    pub read: Vec<u8>,
    pub open: Option<stats::Open>,
    pub source: Option<SourceGuard>,
}

/// A stream shared by its Lua object and its driver.
pub struct Stream {
    st: RefCell<State>,
    pub fd: i32,
    /// The peer's address as text ("1.2.3.4:80", "[::1]:80").
    pub peer: String,
}

impl Stream {
    /// Like `start`, for a transport that can take over a waker for its read interest
    /// without waking it (`EtTcp::reader_handoff`): saves a driver wake-up per read.
    pub fn start_with_handoff(
        io: Box<dyn Transport>,
        fd: i32,
        peer: String,
        handoff: ReaderHandoff,
    ) -> Rc<Stream> {
        let s = Self::start(io, fd, peer, stats::Kind::Tcp);
        s.st.borrow_mut().reader_handoff = Some(handoff);
        s
    }

    /// Wraps a connected transport and starts its driver.
    pub fn start(io: Box<dyn Transport>, fd: i32, peer: String, kind: stats::Kind) -> Rc<Stream> {
        let rt = runtime::get();
        // TLS buffers output in its session: the driver must flush it.
        let needs_flush = kind == stats::Kind::Tls;
        let source = Some(rt.hold_source());
        let s = Rc::new(Stream {
            st: RefCell::new(State {
                io: Some(io),
                open: Some(stats::Open::new(kind)),
                rbuf: ReadBuf::default(),
                error: None,
                closed: false,
                write_dead: false,
                limit: None,
                reading: None,
                reader: None,
                queue: VecDeque::new(),
                unsent: 0,
                flushers: Vec::new(),
                driver: None,
                close_deadline: None,
                source,
                needs_flush,
                close_timer: None,
                reader_handoff: None,
            }),
            fd,
            peer,
        });
        rt.executor.spawn(Driver { s: s.clone() }).detach();
        s
    }

    fn wake_driver(st: &mut State) {
        if let Some(w) = st.driver.take() {
            w.wake();
        }
    }

    /// `read`: the data at once if buffered (as the Lua value `decode` makes of the bytes: a
    /// string, a parsed protocol head ...), an error value, or a future to wait on.
    pub fn read_as(
        self: &Rc<Self>,
        lua: &Lua,
        req: Request,
        timeout: Option<u64>,
        decode: Decode,
    ) -> Result<ReadNow, String> {
        let mut st = self.st.borrow_mut();
        if st.closed {
            return Ok(ReadNow::Err(NetError::Closed));
        }
        if st.reading.is_some() {
            return Err("another task is already reading from this connection".into());
        }
        if let Request::Bytes(0) = req {
            return decode(lua, b"")
                .map(ReadNow::Data)
                .map_err(|e| e.to_string());
        }
        if let Some(b) = st.take_ready(&req) {
            let data = decode(lua, b).map_err(|e| e.to_string())?;
            st.after_take();
            return Ok(ReadNow::Data(data));
        }
        if let Some(e) = &st.error {
            return Ok(ReadNow::Err(e.clone()));
        }
        st.reading = Some(req);
        drop(st);
        Ok(ReadNow::Wait(Box::pin(ReadFuture {
            s: self.clone(),
            deadline: Deadline::after_ms(timeout),
            decode,
        })))
    }

    /// The fast path of `read` (conn_fast.rs `fast_read`): if no task is reading and the
    /// buffer already satisfies `req`, consumes those bytes and returns where they are.
    ///
    /// # Safety
    /// The pointer is valid only until this stream is touched again: the caller reads the
    /// bytes, then calls `after_fast_take`, and nothing may use the stream in between.
    pub unsafe fn fast_take(&self, req: &Request) -> Option<(*const u8, usize)> {
        let mut st = self.st.try_borrow_mut().ok()?;
        if st.closed || st.reading.is_some() {
            return None;
        }
        st.take_ready(req).map(|b| (b.as_ptr(), b.len()))
    }

    /// Ends a `fast_take` once its bytes were copied.
    pub fn after_fast_take(&self) {
        if let Ok(mut st) = self.st.try_borrow_mut() {
            st.after_take();
        }
    }

    /// `write`: queues `data`. Small writes are staged and go out together when the calling
    /// task yields (`flush_staged`): one syscall (one TLS record) for everything a task wrote
    /// in one run, e.g. all the replies to a pipelined batch of requests.
    pub fn write(self: &Rc<Self>, data: &[u8]) -> Result<(), NetError> {
        let mut st = self.st.borrow_mut();
        if st.closed || st.write_dead {
            return Err(NetError::Closed);
        }
        if data.is_empty() {
            return Ok(());
        }
        let was_idle = st.queue.is_empty();
        let mut sent = 0;
        if was_idle && !st.needs_flush && data.len() >= DIRECT_WRITE_MIN {
            // A large write goes to the socket at once, without a copy of what it accepts.
            let mut cx = Context::from_waker(Waker::noop());
            if let Some(io) = st.io.as_mut() {
                while sent < data.len() {
                    match Pin::new(&mut **io).poll_write(&mut cx, &data[sent..]) {
                        Poll::Ready(Ok(0)) | Poll::Pending => break,
                        Poll::Ready(Ok(n)) => sent += n,
                        // Left to the driver, which records the failure.
                        Poll::Ready(Err(_)) => break,
                    }
                }
            }
            if sent == data.len() {
                return Ok(());
            }
        }
        let rest = &data[sent..];
        st.unsent += rest.len();
        match st.queue.back_mut() {
            // Not started yet: the new bytes join it, so they leave in the same syscall.
            Some(last) if last.sent == 0 && last.data.len() + rest.len() <= COALESCE_MAX => {
                last.data.extend_from_slice(rest)
            }
            _ => st.queue.push_back(Chunk {
                data: rest.to_vec(),
                sent: 0,
            }),
        }
        if sent > 0 || st.needs_flush {
            // Backpressure already (the socket took only part), or TLS: the driver writes.
            Self::wake_driver(&mut st);
        } else if was_idle {
            // The first output of an idle stream: it goes on the list once; later writes
            // join its queue until the list is flushed.
            drop(st);
            STAGED.with(|v| v.borrow_mut().push(self.clone()));
        }
        Ok(())
    }

    /// Sends what `write` staged, as far as the socket takes it now; the driver carries on
    /// with the rest. Called when a task yields or ends, and before the process exits.
    fn send_staged(&self) {
        let mut guard = self.st.borrow_mut();
        let st = &mut *guard;
        if st.closed || st.needs_flush || st.io.is_none() {
            Self::wake_driver(st);
            return;
        }
        let mut cx = Context::from_waker(Waker::noop());
        st.push_output(&mut cx);
        if st.queue.is_empty() && !st.write_dead {
            for w in st.flushers.drain(..) {
                w.wake();
            }
        } else {
            // The socket is full (the driver waits for it) or the write failed (the driver
            // records the end).
            Self::wake_driver(st);
        }
    }

    /// `close`: true the first time; the queue is flushed in the background, bounded.
    pub fn close(&self) -> bool {
        let mut st = self.st.borrow_mut();
        if st.closed {
            return false;
        }
        st.closed = true;
        st.unsent = 0;
        st.close_deadline = Some(Instant::now() + CLOSE_FLUSH_LIMIT);
        if let Some(w) = st.reader.take() {
            w.wake();
        }
        for w in st.flushers.drain(..) {
            w.wake();
        }
        // The process stays alive until the driver has flushed and closed the transport
        // (bounded by the deadline): a script that writes, closes and ends must not lose the
        // output still queued (docs/connections.md#close, docs/cli.md#process-lifetime). The driver releases the source when it finishes.
        if st.source.is_none() {
            st.source = Some(runtime::get().hold_source());
        }
        Self::wake_driver(&mut st);
        true
    }

    /// Hands the transport to another protocol driver (HTTP/2, src/native/net/http/h2.rs)
    /// with the bytes already read from it, and the hold and the open-connection count that
    /// go with it. The stream is closed from here on; None if it was closed or failed.
    pub fn take_transport(&self) -> Option<Handover> {
        let mut st = self.st.borrow_mut();
        if st.closed || st.error.is_some() || st.reading.is_some() || !st.queue.is_empty() {
            return None;
        }
        let io = st.io.take()?;
        let n = st.rbuf.len();
        let read = st.rbuf.take(n).to_vec();
        st.rbuf.compact();
        st.closed = true;
        let handover = Handover {
            io,
            read,
            open: st.open.take(),
            source: st.source.take(),
        };
        // The driver sees no transport and ends.
        Self::wake_driver(&mut st);
        Some(handover)
    }

    /// `limit`: pause transport reads while `n` or more bytes are buffered (None: no limit).
    pub fn limit(&self, n: Option<usize>) {
        let mut st = self.st.borrow_mut();
        st.limit = n;
        Self::wake_driver(&mut st);
    }

    pub fn unread(&self) -> usize {
        self.st.borrow().rbuf.len()
    }

    pub fn unsent(&self) -> usize {
        self.st.borrow().unsent
    }

    /// Whether the open stream keeps the process alive (`true`, the default) or not (an idle
    /// pooled client connection: nobody waits on it). A closed or dead stream holds nothing.
    pub fn hold(&self, on: bool) {
        let mut st = self.st.borrow_mut();
        if !on {
            st.source = None;
        } else if st.source.is_none() && !st.closed && st.error.is_none() {
            st.source = Some(runtime::get().hold_source());
        }
    }

    pub fn is_alive(&self) -> bool {
        let st = self.st.borrow();
        !st.closed && st.error.is_none() && !st.write_dead
    }

    /// `flush`: nothing to wait for (Ok(None)), an error now, or a future to wait on (docs/connections.md#flush).
    pub fn flush(self: &Rc<Self>, timeout: Option<u64>) -> Result<Option<task::Op>, NetError> {
        let st = self.st.borrow();
        if st.closed || st.write_dead {
            return Err(NetError::Closed);
        }
        if st.queue.is_empty() {
            return Ok(None);
        }
        drop(st);
        Ok(Some(Box::pin(FlushFuture {
            s: self.clone(),
            deadline: Deadline::after_ms(timeout),
        })))
    }

    /// The driver's work for one poll. Returns Ready when the stream is finished.
    fn poll_drive(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut guard = self.st.borrow_mut();
        let st = &mut *guard;
        set_waker(&mut st.driver, cx);
        if st.io.is_none() {
            return Poll::Ready(());
        }

        // Input: in the background only; a task blocked in `read` pumps for itself
        // (`ReadFuture`), so its data reaches it without a trip through this driver.
        if st.reading.is_none() && st.pump_input(cx, false) == Pump::Yield {
            cx.waker().wake_by_ref();
        }
        if st.error.is_some()
            && let Some(w) = st.reader.take()
        {
            w.wake();
        }
        if st.io.is_none() {
            return Poll::Ready(());
        }
        st.push_output(cx);
        let mut flushed = st.queue.is_empty();
        if flushed
            && st.needs_flush
            && !st.write_dead
            && let Some(io) = st.io.as_mut()
        {
            match Pin::new(&mut **io).poll_flush(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(_)) => st.write_dead = true,
                Poll::Pending => flushed = false,
            }
        }
        if flushed {
            for w in st.flushers.drain(..) {
                w.wake();
            }
        }

        // Close, once the output is out (or cannot go out any more).
        if st.closed {
            let expired = st.close_deadline.is_some_and(|d| Instant::now() >= d);
            if flushed || st.write_dead || expired {
                if !st.write_dead
                    && !expired
                    && let Some(io) = st.io.as_mut()
                {
                    // TLS sends close_notify here; TCP shuts down its write side.
                    if Pin::new(&mut **io).poll_close(cx).is_pending() {
                        return Poll::Pending;
                    }
                }
                st.io = None;
                st.open = None;
                st.queue.clear();
                st.source = None;
                return Poll::Ready(());
            }
            if let Some(d) = st.close_deadline {
                // Come back at the deadline even if the peer never reads.
                let t = st.close_timer.get_or_insert_with(|| {
                    let left = d.saturating_duration_since(Instant::now());
                    Deadline::after_ms(Some(left.as_millis() as u64 + 1))
                });
                if t.poll_expired(cx) {
                    cx.waker().wake_by_ref();
                }
            }
        }
        Poll::Pending
    }
}

thread_local! {
    /// Streams with output staged by `write` in the running task (see `send_staged`).
    static STAGED: RefCell<Vec<Rc<Stream>>> = const { RefCell::new(Vec::new()) };
    /// One read buffer for every transport read on this thread; only what arrived is copied
    /// into a stream's own buffer, so idle streams hold no read memory.
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(vec![0; READ_CHUNK]);
}

/// Sends the output every stream staged during the task run that just ended (a yield, or the
/// end of the task); called by the task driver and before the process exits.
pub fn flush_staged() {
    loop {
        let Some(s) = STAGED.with(|v| v.borrow_mut().pop()) else {
            return;
        };
        s.send_staged();
    }
}

/// Stores the polling task's waker, cloning it only when it changed (the driver is polled
/// on every socket event).
fn set_waker(slot: &mut Option<Waker>, cx: &Context<'_>) {
    if !slot.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
        *slot = Some(cx.waker().clone());
    }
}

/// Makes the Lua value a read returns of the bytes it took.
pub type Decode = fn(&Lua, &[u8]) -> mlua::Result<Value>;

/// The plain `read`: the bytes as a string.
pub fn as_string(lua: &Lua, b: &[u8]) -> mlua::Result<Value> {
    lua.create_string(b).map(Value::String)
}

/// The result of `Stream::read` when the call is made.
pub enum ReadNow {
    Data(Value),
    Err(NetError),
    Wait(task::Op),
}

struct Driver {
    s: Rc<Stream>,
}

impl Future for Driver {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.s.poll_drive(cx)
    }
}

struct ReadFuture {
    s: Rc<Stream>,
    deadline: Deadline,
    decode: Decode,
}

impl ReadFuture {
    fn finish(
        &mut self,
        out: Result<mlua::Result<Value>, NetError>,
    ) -> Poll<mlua::Result<MultiValue>> {
        let mut st = self.s.st.borrow_mut();
        st.reading = None;
        st.reader = None;
        drop(st);
        Poll::Ready(match out {
            Ok(data) => data.map(|d| MultiValue::from_vec(vec![d])),
            Err(e) => lua_result::<()>(&runtime::get().lua, Err(e)),
        })
    }
}

impl Future for ReadFuture {
    type Output = mlua::Result<MultiValue>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mut guard = this.s.st.borrow_mut();
        let st = &mut *guard;
        if st.closed {
            drop(guard);
            return this.finish(Err(NetError::Closed));
        }
        let Some(req) = st.reading.take() else {
            drop(guard);
            return this.finish(Err(NetError::Closed));
        };
        let mut out = None;
        loop {
            if let Some(n) = st.rbuf.satisfies(&req) {
                out = Some(Ok((this.decode)(&runtime::get().lua, st.rbuf.take(n))));
                st.rbuf.compact();
                st.hand_input_to_driver();
                break;
            }
            if let Some(e) = &st.error {
                out = Some(Err(e.clone()));
                break;
            }
            match st.pump_input(cx, true) {
                Pump::Progress => {}
                Pump::Blocked => break,
                Pump::Yield => {
                    cx.waker().wake_by_ref();
                    break;
                }
            }
        }
        st.reading = Some(req);
        if let Some(out) = out {
            drop(guard);
            return this.finish(out);
        }
        // Also woken by `close()` and by write failures the driver sees.
        set_waker(&mut st.reader, cx);
        drop(guard);
        if this.deadline.poll_expired(cx) {
            this.s.st.borrow_mut().hand_input_to_driver();
            return this.finish(Err(NetError::TimedOut));
        }
        Poll::Pending
    }
}

impl Drop for ReadFuture {
    fn drop(&mut self) {
        if let Ok(mut st) = self.s.st.try_borrow_mut() {
            st.reading = None;
            st.reader = None;
        }
    }
}

struct FlushFuture {
    s: Rc<Stream>,
    deadline: Deadline,
}

impl Future for FlushFuture {
    type Output = mlua::Result<MultiValue>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let lua = runtime::get().lua.clone();
        let mut st = this.s.st.borrow_mut();
        if st.closed || st.write_dead {
            let e = st.error.clone().unwrap_or(NetError::Closed);
            return Poll::Ready(lua_status(&lua, Err(e)));
        }
        if st.queue.is_empty() {
            return Poll::Ready(lua_status(&lua, Ok(())));
        }
        if !st.flushers.iter().any(|w| w.will_wake(cx.waker())) {
            st.flushers.push(cx.waker().clone());
        }
        drop(st);
        if this.deadline.poll_expired(cx) {
            return Poll::Ready(lua_status(&lua, Err(NetError::TimedOut)));
        }
        Poll::Pending
    }
}
