//! `silly.net.http.h2.c`: the HTTP/2 server under `stdlib/silly/net/http/h2.lua`. The h2 crate
//! does the protocol (framing, HPACK, flow control, stream states, the rapid-reset and
//! CONTINUATION-flood limits); this file runs its connection as a future on our executor over
//! the connection's own transport (h2_io.rs), starts a Lua task per request stream, and gives
//! the Lua side the stream's calls: `respond`, `write` (waits for flow-control window),
//! `trailers`, `read` (releases window as the handler consumes), `reset`, `done`.

use std::cell::{Cell, RefCell};
use std::ffi::c_int;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use h2::server::{self, SendResponse};
use h2::{Reason, RecvStream, SendStream};
use http::{HeaderMap, HeaderName, HeaderValue, Response};
use mlua::{Function, IntoLuaMulti, Lua, MultiValue, Table, UserData, UserDataRef, Value, ffi};

use crate::log::{self, Level};
use crate::native::net::conn::StreamHandle;
use crate::native::net::error::{NetError, lua_pair, lua_status};
use crate::native::net::http::h2_io::H2Io;
use crate::native::net::http::head::{NumberText, push_bytes, string_at, type_name, value_at};
use crate::native::net::listener;
use crate::native::net::stream::Handover;
use crate::runtime::timer::{Deadline, with_timeout};
use crate::runtime::{self, task};

/// Streams a client may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS).
const MAX_STREAMS: u32 = 128;
/// Flow-control windows: what a client may send ahead of the handler's reads.
const STREAM_WINDOW: u32 = 256 * 1024;
const CONN_WINDOW: u32 = 1024 * 1024;

/// What `close` asked of a connection.
#[derive(Clone, Copy, PartialEq)]
enum Stop {
    Running,
    /// GOAWAY: no new streams, those in flight finish.
    Graceful,
    /// Drop the connection now.
    Abort,
}

/// A connection as its Lua side sees it: asked to stop, waited on until it ends.
struct Ctl {
    stop: Cell<Stop>,
    /// Streams whose handler has not finished: none for `idletimeout` ends the connection.
    active: Cell<usize>,
    driver: RefCell<Option<Waker>>,
    done: Cell<bool>,
    waiters: RefCell<Vec<Waker>>,
}

impl Ctl {
    fn finish(&self) {
        self.done.set(true);
        for w in self.waiters.borrow_mut().drain(..) {
            w.wake();
        }
    }
}

/// Counts a stream in `Ctl::active` until its handler is done (or the stream is dropped).
struct Active(Rc<Ctl>);

impl Drop for Active {
    fn drop(&mut self) {
        let n = self.0.active.get() - 1;
        self.0.active.set(n);
        if n == 0
            && let Some(w) = self.0.driver.borrow().as_ref()
        {
            w.wake_by_ref();
        }
    }
}

pub struct ConnHandle(Rc<Ctl>);
impl UserData for ConnHandle {}

/// One stream's body in both directions (a server's request stream; the client's streams in
/// h2_client.rs use the same body calls).
pub(crate) struct StreamState {
    recv: Option<RecvStream>,
    /// Body bytes received and not yet given to the handler.
    pending: BytesMut,
    /// All DATA frames arrived; the trailers are next.
    data_done: bool,
    /// The body and its trailers were read.
    ended: bool,
    trailer: Option<HeaderMap>,
    received: usize,
    respond: Option<SendResponse<Bytes>>,
    send: Option<SendStream<Bytes>>,
    active: Option<Active>,
}

pub struct H2Stream(Rc<RefCell<StreamState>>);
impl UserData for H2Stream {}

impl StreamState {
    /// A client's stream: the request body goes out on `send`, the response body is read
    /// once its head arrived (`recv` set then).
    pub(crate) fn client(send: SendStream<Bytes>) -> StreamState {
        StreamState {
            recv: None,
            pending: BytesMut::new(),
            data_done: false,
            ended: false,
            trailer: None,
            received: 0,
            respond: None,
            send: Some(send),
            active: None,
        }
    }

    pub(crate) fn set_recv(&mut self, recv: RecvStream) {
        self.recv = Some(recv);
    }

    /// Whether the body was read to its end.
    pub(crate) fn ended(&self) -> bool {
        self.ended
    }

    /// Lets go of the stream: a body not read to its end is refused by h2.
    pub(crate) fn release(&mut self) {
        self.recv = None;
        self.send = None;
        self.respond = None;
        self.pending = BytesMut::new();
        self.active = None;
    }
}

/// Why a body read failed.
enum ReadErr {
    TooLarge,
    Reset(h2::Error),
}

impl StreamState {
    /// Receives until `want` bytes are pending (None: the whole body) or the body ended.
    fn poll_fill(
        &mut self,
        cx: &mut Context<'_>,
        want: Option<usize>,
        limit: usize,
    ) -> Poll<Result<(), ReadErr>> {
        loop {
            if self.ended || want.is_some_and(|w| self.pending.len() >= w) {
                return Poll::Ready(Ok(()));
            }
            let Some(recv) = self.recv.as_mut() else {
                self.ended = true;
                continue;
            };
            if !self.data_done {
                match recv.poll_data(cx) {
                    Poll::Ready(Some(Ok(b))) => {
                        // The window opens again as the handler takes the bytes: backpressure.
                        let _ = recv.flow_control().release_capacity(b.len());
                        self.received += b.len();
                        if self.received > limit {
                            return Poll::Ready(Err(ReadErr::TooLarge));
                        }
                        self.pending.extend_from_slice(&b);
                    }
                    Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(ReadErr::Reset(e))),
                    Poll::Ready(None) => self.data_done = true,
                    Poll::Pending => return Poll::Pending,
                }
            } else {
                match recv.poll_trailers(cx) {
                    Poll::Ready(Ok(t)) => {
                        self.trailer = Some(t.unwrap_or_default());
                        self.ended = true;
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(ReadErr::Reset(e))),
                    Poll::Pending => return Poll::Pending,
                }
            }
        }
    }

    /// The answer of a read once `poll_fill` is done: data | nil, EOF.
    fn take(&mut self, lua: &Lua, want: Option<usize>) -> mlua::Result<MultiValue> {
        let n = match want {
            Some(w) => w.min(self.pending.len()),
            None => self.pending.len(),
        };
        if n == 0 && want != Some(0) && self.ended && want.is_some() {
            return lua_pair(lua, &NetError::Eof)?.into_lua_multi(lua);
        }
        let data = self.pending.split_to(n);
        lua.create_string(&data[..])?.into_lua_multi(lua)
    }
}

fn read_error(lua: &Lua, e: ReadErr) -> mlua::Result<MultiValue> {
    match e {
        ReadErr::TooLarge => (Value::Nil, "body over maxbodysize").into_lua_multi(lua),
        ReadErr::Reset(e) => (Value::Nil, format!("stream failed: {e}")).into_lua_multi(lua),
    }
}

struct ReadOp {
    st: Rc<RefCell<StreamState>>,
    want: Option<usize>,
    limit: usize,
    deadline: Deadline,
}

impl Future for ReadOp {
    type Output = mlua::Result<MultiValue>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let lua = runtime::get().lua.clone();
        let mut st = this.st.borrow_mut();
        match st.poll_fill(cx, this.want, this.limit) {
            Poll::Ready(Ok(())) => Poll::Ready(st.take(&lua, this.want)),
            Poll::Ready(Err(e)) => Poll::Ready(read_error(&lua, e)),
            Poll::Pending => {
                drop(st);
                if this.deadline.poll_expired(cx) {
                    return Poll::Ready(lua_pair(&lua, &NetError::TimedOut)?.into_lua_multi(&lua));
                }
                Poll::Pending
            }
        }
    }
}

struct WriteOp {
    st: Rc<RefCell<StreamState>>,
    data: Bytes,
    end: bool,
    /// How long the write may wait for flow-control window (None: no limit).
    wait: Option<u64>,
    /// Each grant of window starts the wait again (the server's `bodytimeout` bounds a stall,
    /// not a long body to a slow reader); false: the wait spans the whole write (the client's
    /// call timeout, whose deadline is already counting).
    per_grant: bool,
    /// Armed only once the write has to wait: a write within the window costs no timer.
    deadline: Option<Deadline>,
}

fn send_failed(lua: &Lua, e: h2::Error) -> mlua::Result<MultiValue> {
    (false, format!("stream failed: {e}")).into_lua_multi(lua)
}

impl Future for WriteOp {
    type Output = mlua::Result<MultiValue>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let lua = runtime::get().lua.clone();
        let mut st = this.st.borrow_mut();
        let Some(send) = st.send.as_mut() else {
            return Poll::Ready(lua_status(&lua, Err(NetError::Closed)));
        };
        loop {
            if this.data.is_empty() {
                if this.end
                    && let Err(e) = send.send_data(Bytes::new(), true)
                {
                    return Poll::Ready(send_failed(&lua, e));
                }
                return Poll::Ready(lua_status(&lua, Ok(())));
            }
            // Window for what is left: the write waits until the peer grants it.
            send.reserve_capacity(this.data.len());
            let cap = send.capacity();
            if cap > 0 {
                let chunk = this.data.split_to(cap.min(this.data.len()));
                let last = this.end && this.data.is_empty();
                if let Err(e) = send.send_data(chunk, last) {
                    return Poll::Ready(send_failed(&lua, e));
                }
                if this.per_grant {
                    this.deadline = None;
                }
                if last {
                    return Poll::Ready(lua_status(&lua, Ok(())));
                }
                continue;
            }
            match send.poll_capacity(cx) {
                Poll::Ready(Some(Ok(_))) => {}
                Poll::Ready(Some(Err(e))) => return Poll::Ready(send_failed(&lua, e)),
                Poll::Ready(None) => return Poll::Ready(lua_status(&lua, Err(NetError::Closed))),
                Poll::Pending => {
                    let wait = this.wait;
                    let deadline = this
                        .deadline
                        .get_or_insert_with(|| Deadline::after_ms(wait));
                    if !deadline.poll_expired(cx) {
                        return Poll::Pending;
                    }
                    // A peer that never opens its window would hold the stream (and the
                    // task writing to it) for ever: the stream is given up, the connection
                    // and its other streams go on. CANCEL, as the peer broke no rule.
                    send.send_reset(Reason::CANCEL);
                    st.send = None;
                    return Poll::Ready(lua_status(&lua, Err(NetError::TimedOut)));
                }
            }
        }
    }
}

struct WaitOp(Rc<Ctl>);

impl Future for WaitOp {
    type Output = mlua::Result<MultiValue>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.0.done.get() {
            return Poll::Ready(Ok(MultiValue::new()));
        }
        self.0.waiters.borrow_mut().push(cx.waker().clone());
        Poll::Pending
    }
}

/// Fields that only mean something on an HTTP/1.1 connection: HTTP/2 forbids them.
fn connection_specific(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection" | "keep-alive" | "proxy-connection" | "transfer-encoding" | "upgrade"
    )
}

/// The value at `idx` as a field value: a string, or a number written out.
///
/// # Safety
/// `l` is a running state and `idx` a valid index.
unsafe fn header_value(l: *mut ffi::lua_State, idx: c_int) -> Result<HeaderValue, String> {
    let mut text = NumberText::default();
    // SAFETY: the caller's contract.
    let Some(b) = (unsafe { value_at(l, idx, &mut text) }) else {
        // SAFETY: as above.
        let got = unsafe { type_name(l, idx) };
        return Err(format!("bad field value type {got}"));
    };
    HeaderValue::from_bytes(b).map_err(|_| "field value with a forbidden character".to_string())
}

/// A Lua field table (`name = value | {values}`) as a header map, without the fields HTTP/2
/// forbids; an error names what is not allowed.
///
/// The table is walked with the raw Lua API in one protected call, as the HTTP/1.1 response
/// head is (head.rs): mlua's `pairs` made a reference slot for every key and value.
pub(crate) fn header_map(lua: &Lua, t: Option<&Table>) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::new();
    let Some(t) = t else { return Ok(map) };
    let mut walked = Ok(());
    // SAFETY: the closure reads the table given as its one argument (index 1) with calls that
    // cannot raise (lua_next gets back the key it returned; values are read without
    // conversion; rawgeti has no metamethods), keeps at most 3 values above it (room is
    // checked), and what it makes with a destructor (the map, an error) lives outside it.
    unsafe {
        lua.exec_raw::<()>(t, |l| {
            ffi::luaL_checkstack(l, 4, c"http fields".as_ptr());
            walked = walk_header(l, &mut map);
        })
    }
    .map_err(|e| e.to_string())?;
    walked.map(|()| map)
}

/// `header_map`'s walk of the table at index 1; on an error the stack is left as it was
/// found only as far as the protected call needs (it is discarded).
///
/// # Safety
/// `l` is a running state with a table at index 1 and 3 free slots.
unsafe fn walk_header(l: *mut ffi::lua_State, map: &mut HeaderMap) -> Result<(), String> {
    // SAFETY: the caller's contract; see `header_map`.
    unsafe {
        ffi::lua_pushnil(l);
        while ffi::lua_next(l, 1) != 0 {
            let Some(key) = string_at(l, -2) else {
                return Err("field name must be a string".into());
            };
            let name = HeaderName::from_bytes(key)
                .map_err(|_| format!("bad field name {:?}", String::from_utf8_lossy(key)))?;
            if !connection_specific(&name) {
                if ffi::lua_type(l, -1) == ffi::LUA_TTABLE {
                    let mut i = 1;
                    while ffi::lua_rawgeti(l, -1, i) != ffi::LUA_TNIL {
                        map.append(name.clone(), header_value(l, -1)?);
                        ffi::lua_pop(l, 1);
                        i += 1;
                    }
                    ffi::lua_pop(l, 1);
                } else {
                    map.append(name, header_value(l, -1)?);
                }
            }
            ffi::lua_pop(l, 1);
        }
    }
    Ok(())
}

/// Fields as the HTTP/1.1 parser gives them (lower-case names, a repeated field as an array,
/// cookies joined), and their count.
pub(crate) fn fields_table(lua: &Lua, headers: &HeaderMap) -> mlua::Result<(Table, usize)> {
    let mut n = 0;
    // SAFETY: the closure only uses the state it is given, keeps at most 4 values above its
    // base (room is checked), and holds nothing with a destructor but what `push_fields`
    // borrows from outside it.
    let t = unsafe {
        lua.exec_raw::<Table>((), |l| {
            ffi::luaL_checkstack(l, 6, c"http fields".as_ptr());
            n = push_fields(l, headers, None);
        })
    }?;
    Ok((t, n))
}

/// Pushes the fields as a new table (see `fields_table`), with `host` from `authority` when
/// no `host` field came; returns the number of fields. A built table rather than mlua's
/// `raw_set`s: each of those made a reference slot for the key and the value.
///
/// # Safety
/// `l` is a running state in a protected call, with 4 free slots.
unsafe fn push_fields(
    l: *mut ffi::lua_State,
    headers: &HeaderMap,
    authority: Option<&str>,
) -> usize {
    let mut n = 0;
    // SAFETY: the caller's contract; the table stays at `t` while the loop pushes at most a
    // name, a list and a value above it.
    unsafe {
        ffi::lua_createtable(l, 0, headers.keys_len() as c_int + 1);
        let t = ffi::lua_gettop(l);
        // A name's values come one after another in the map's order.
        let mut it = headers.iter().peekable();
        while let Some((name, value)) = it.next() {
            n += 1;
            push_bytes(l, name.as_str().as_bytes());
            if name == http::header::COOKIE {
                let mut joined = value.as_bytes().to_vec();
                while let Some((_, v)) = it.next_if(|(k, _)| *k == name) {
                    n += 1;
                    joined.extend_from_slice(b"; ");
                    joined.extend_from_slice(v.as_bytes());
                }
                push_bytes(l, &joined);
            } else if it.peek().is_some_and(|(k, _)| *k == name) {
                ffi::lua_createtable(l, 2, 0);
                push_bytes(l, value.as_bytes());
                ffi::lua_rawseti(l, -2, 1);
                let mut i = 1;
                while let Some((_, v)) = it.next_if(|(k, _)| *k == name) {
                    n += 1;
                    i += 1;
                    push_bytes(l, v.as_bytes());
                    ffi::lua_rawseti(l, -2, i);
                }
            } else {
                push_bytes(l, value.as_bytes());
            }
            ffi::lua_rawset(l, t);
        }
        if let Some(a) = authority
            && !headers.contains_key(http::header::HOST)
        {
            n += 1;
            push_bytes(l, b"host");
            push_bytes(l, a.as_bytes());
            ffi::lua_rawset(l, t);
        }
    }
    n
}

/// Starts `run({stream, method, target, header, nfields})` in a task for an accepted stream.
fn start(
    ctl: &Rc<Ctl>,
    run: &Function,
    req: http::Request<RecvStream>,
    respond: SendResponse<Bytes>,
) {
    ctl.active.set(ctl.active.get() + 1);
    let active = Some(Active(ctl.clone()));
    let lua = runtime::get().lua.clone();
    let (parts, body) = req.into_parts();
    let st = Rc::new(RefCell::new(StreamState {
        recv: Some(body),
        pending: BytesMut::new(),
        data_done: false,
        ended: false,
        trailer: None,
        received: 0,
        respond: Some(respond),
        send: None,
        active,
    }));
    let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let authority = parts.uri.authority().map(|a| a.as_str());
    let method = parts.method.as_str();
    // The argument table built with the raw API, as `fields_table` does.
    let arg = lua.create_userdata(H2Stream(st.clone())).and_then(|ud| {
        // SAFETY: the closure only uses the state it is given, keeps at most 6 values above
        // its base (room is checked), holds nothing with a destructor, and leaves exactly
        // the argument table on the stack.
        unsafe {
            lua.exec_raw::<Table>(ud, |l| {
                ffi::luaL_checkstack(l, 8, c"http request".as_ptr());
                ffi::lua_createtable(l, 5, 0);
                ffi::lua_pushvalue(l, 1);
                ffi::lua_rawseti(l, 2, 1);
                push_bytes(l, method.as_bytes());
                ffi::lua_rawseti(l, 2, 2);
                push_bytes(l, target.as_bytes());
                ffi::lua_rawseti(l, 2, 3);
                let n = push_fields(l, &parts.headers, authority);
                ffi::lua_rawseti(l, 2, 4);
                ffi::lua_pushinteger(l, n as ffi::lua_Integer);
                ffi::lua_rawseti(l, 2, 5);
                ffi::lua_replace(l, 1);
            })
        }
    });
    if let Err(e) = arg.and_then(|t| listener::spawn_handler(run, Value::Table(t))) {
        listener::start_failed("http", &e);
        if let Some(r) = st.borrow_mut().respond.as_mut() {
            r.send_reset(Reason::REFUSED_STREAM);
        }
    }
}

/// The server's settings (docs/http.md, "HTTP/2"): what `drive` and the fuzz target
/// (src/fuzzing.rs) run h2 with.
pub(crate) fn builder(maxheader: u32) -> server::Builder {
    let mut b = server::Builder::new();
    b.max_concurrent_streams(MAX_STREAMS)
        .initial_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONN_WINDOW)
        .max_header_list_size(maxheader);
    b
}

/// The limits of a connection, from the listen options (milliseconds for the timeouts).
struct Limits {
    maxheader: u32,
    handshake: u64,
    idle: u64,
}

/// Runs one HTTP/2 connection: the handshake (bounded by `headertimeout`), then accepting
/// streams until the peer or `close` ends it, or it has no stream for `idletimeout`.
async fn drive(hand: Handover, ctl: Rc<Ctl>, run: Function, limits: Limits) {
    let Handover {
        io,
        read,
        open,
        source,
    } = hand;
    // The connection counts as open and keeps the process alive while this runs.
    let _held = (open, source);
    let mut conn = match with_timeout(
        Some(limits.handshake),
        builder(limits.maxheader).handshake::<_, Bytes>(H2Io::new(io, read)),
    )
    .await
    {
        Some(Ok(c)) => c,
        Some(Err(e)) => {
            log::message(Level::Debug, &format!("[http] h2 handshake: {e}"));
            ctl.finish();
            return;
        }
        None => {
            ctl.finish();
            return;
        }
    };
    let mut goaway = false;
    // When the connection last went without a stream, and a timer that checks it: one timer
    // re-armed for what is left, not a new one each time the last stream ends.
    let mut idle_since: Option<Instant> = None;
    let mut idle: Option<Deadline> = None;
    let idle_limit = Duration::from_millis(limits.idle);
    loop {
        let next = poll_fn(|cx| {
            match ctl.stop.get() {
                Stop::Abort => return Poll::Ready(None),
                Stop::Graceful if !goaway => {
                    conn.graceful_shutdown();
                    goaway = true;
                }
                _ => {}
            }
            if ctl.active.get() > 0 || goaway {
                idle_since = None;
            } else {
                let since = *idle_since.get_or_insert_with(Instant::now);
                let timer = idle.get_or_insert_with(|| Deadline::after_ms(Some(limits.idle)));
                while timer.poll_expired(cx) {
                    let left = idle_limit.saturating_sub(since.elapsed());
                    if left.is_zero() {
                        // No stream for `idletimeout`: GOAWAY and the end, without the PING
                        // round trip of a graceful shutdown (an idle peer may never answer).
                        conn.abrupt_shutdown(Reason::NO_ERROR);
                        goaway = true;
                        break;
                    }
                    *timer = Deadline::after_ms(Some(left.as_millis() as u64 + 1));
                }
            }
            let mut w = ctl.driver.borrow_mut();
            if !w.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *w = Some(cx.waker().clone());
            }
            drop(w);
            conn.poll_accept(cx).map(Some)
        })
        .await;
        match next {
            Some(Some(Ok((req, respond)))) => start(&ctl, &run, req, respond),
            Some(Some(Err(e))) => {
                log::message(Level::Debug, &format!("[http] h2 connection: {e}"));
                break;
            }
            Some(None) | None => break,
        }
    }
    drop(conn);
    ctl.finish();
}

/// Runs `op` at once if it can finish without waiting (a write within the window: the usual
/// case), else suspends the task on it. The op is boxed only when it has to wait.
pub(crate) fn stream_op<F>(mut op: F) -> mlua::Result<MultiValue>
where
    F: Future<Output = mlua::Result<MultiValue>> + Unpin + 'static,
{
    let mut cx = Context::from_waker(Waker::noop());
    if let Poll::Ready(r) = Pin::new(&mut op).poll(&mut cx) {
        return r;
    }
    let lua = runtime::get().lua.clone();
    task::suspend(Box::pin(op))?.into_lua_multi(&lua)
}

/// write(s, data, endstream, timeout?) -> true | false, err | MARKER: waiting for window
/// longer than `timeout` ms (from the last grant when `per_grant`) resets the stream and fails
/// with TIMEDOUT.
pub(crate) fn write_body(
    st: &Rc<RefCell<StreamState>>,
    data: &[u8],
    end: bool,
    timeout: Option<i64>,
    per_grant: bool,
) -> mlua::Result<MultiValue> {
    stream_op(WriteOp {
        st: st.clone(),
        data: Bytes::copy_from_slice(data),
        end,
        wait: timeout.map(|t| t.max(0) as u64),
        per_grant,
        deadline: None,
    })
}

/// trailers(s, header) -> true | false, err | nil, why: ends the stream.
pub(crate) fn send_trailers(
    lua: &Lua,
    st: &Rc<RefCell<StreamState>>,
    header: &Table,
) -> mlua::Result<MultiValue> {
    let map = match header_map(lua, Some(header)) {
        Ok(m) => m,
        Err(why) => return (Value::Nil, why).into_lua_multi(lua),
    };
    let mut st = st.borrow_mut();
    let Some(send) = st.send.as_mut() else {
        return lua_status(lua, Err(NetError::Closed));
    };
    match send.send_trailers(map) {
        Ok(()) => lua_status(lua, Ok(())),
        Err(e) => (false, format!("stream failed: {e}")).into_lua_multi(lua),
    }
}

/// read(s, n, limit, timeout?) -> data | nil, err | MARKER: `n` bytes (fewer at the end of
/// the body, then nil, EOF); n < 0: the whole body. At most `limit` bytes in all.
pub(crate) fn read_body(
    lua: &Lua,
    st: &Rc<RefCell<StreamState>>,
    n: i64,
    limit: usize,
    timeout: Option<i64>,
) -> mlua::Result<MultiValue> {
    let want = (n >= 0).then_some(n as usize);
    {
        let mut s = st.borrow_mut();
        let mut cx = Context::from_waker(Waker::noop());
        match s.poll_fill(&mut cx, want, limit) {
            Poll::Ready(Ok(())) => return s.take(lua, want),
            Poll::Ready(Err(e)) => return read_error(lua, e),
            Poll::Pending => {}
        }
    }
    stream_op(ReadOp {
        st: st.clone(),
        want,
        limit,
        deadline: Deadline::after_ms(timeout.map(|t| t.max(0) as u64)),
    })
}

/// The trailer fields once the body was read, else nil.
pub(crate) fn trailer_table(lua: &Lua, st: &Rc<RefCell<StreamState>>) -> mlua::Result<Value> {
    let st = st.borrow();
    let Some(map) = st.trailer.as_ref() else {
        return Ok(Value::Nil);
    };
    let t = lua.create_table()?;
    for (k, v) in map.iter() {
        t.raw_set(k.as_str(), lua.create_string(v.as_bytes())?)?;
    }
    Ok(Value::Table(t))
}

pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    // serve(ud, run, maxheadersize, headertimeout, idletimeout, consumed?) -> conn | nil, err: takes the
    // transport of a connection whose peer speaks HTTP/2 and serves it in the background;
    // `consumed`: what the HTTP/1.1 parser already took of the preface (h2c).
    m.set(
        "serve",
        lua.create_function(
            |lua,
             (h, run, maxheader, headertimeout, idletimeout, consumed): (
                UserDataRef<StreamHandle>,
                Function,
                u32,
                i64,
                i64,
                Option<mlua::LuaString>,
            )| {
                let Some(mut hand) = h.0.take_transport() else {
                    return lua_pair(lua, &NetError::Closed);
                };
                if let Some(c) = consumed {
                    let mut all = c.as_bytes().to_vec();
                    all.extend_from_slice(&hand.read);
                    hand.read = all;
                }
                let ctl = Rc::new(Ctl {
                    stop: Cell::new(Stop::Running),
                    active: Cell::new(0),
                    driver: RefCell::new(None),
                    done: Cell::new(false),
                    waiters: RefCell::new(Vec::new()),
                });
                let limits = Limits {
                    maxheader,
                    handshake: headertimeout.max(1) as u64,
                    idle: idletimeout.max(1) as u64,
                };
                let fut = drive(hand, ctl.clone(), run, limits);
                runtime::get().executor.spawn(fut).detach();
                Ok((
                    Value::UserData(lua.create_userdata(ConnHandle(ctl))?),
                    Value::Nil,
                ))
            },
        )?,
    )?;
    // wait(conn) -> MARKER: until the connection ended.
    m.set(
        "wait",
        lua.create_function(|lua, c: UserDataRef<ConnHandle>| {
            if c.0.done.get() {
                return Ok(Value::Nil);
            }
            let _ = lua;
            task::suspend(Box::pin(WaitOp(c.0.clone())))
        })?,
    )?;
    // close(conn): the first call sends GOAWAY and lets the streams in flight finish; a
    // second drops the connection.
    m.set(
        "close",
        lua.create_function(|_, c: UserDataRef<ConnHandle>| {
            let next = match c.0.stop.get() {
                Stop::Running => Stop::Graceful,
                _ => Stop::Abort,
            };
            c.0.stop.set(next);
            if let Some(w) = c.0.driver.borrow_mut().take() {
                w.wake();
            }
            Ok(())
        })?,
    )?;
    // respond(s, status, header?, endstream) -> true | false, err | nil, why (a field that is
    // not allowed, for the Lua side to raise)
    m.set(
        "respond",
        lua.create_function(
            |lua, (s, status, header, end): (UserDataRef<H2Stream>, u16, Option<Table>, bool)| {
                let map = match header_map(lua, header.as_ref()) {
                    Ok(m) => m,
                    Err(why) => return (Value::Nil, why).into_lua_multi(lua),
                };
                let mut resp = Response::new(());
                *resp.status_mut() = match http::StatusCode::from_u16(status) {
                    Ok(c) => c,
                    Err(_) => return (Value::Nil, "bad status").into_lua_multi(lua),
                };
                *resp.headers_mut() = map;
                let mut st = s.0.borrow_mut();
                let Some(mut respond) = st.respond.take() else {
                    return lua_status(lua, Err(NetError::Closed));
                };
                match respond.send_response(resp, end) {
                    Ok(send) => {
                        st.send = Some(send);
                        lua_status(lua, Ok(()))
                    }
                    Err(e) => (false, format!("stream failed: {e}")).into_lua_multi(lua),
                }
            },
        )?,
    )?;
    // write(s, data, endstream, timeout?) -> true | false, err | MARKER: `timeout` bounds each
    // wait for the client's window; past it the stream is reset (CANCEL) and the write fails
    // with TIMEDOUT.
    m.set(
        "write",
        lua.create_function(
            |_,
             (s, data, end, timeout): (
                UserDataRef<H2Stream>,
                mlua::LuaString,
                bool,
                Option<i64>,
            )| { write_body(&s.0, &data.as_bytes(), end, timeout, true) },
        )?,
    )?;
    // trailers(s, header) -> true | false, err | nil, why: ends the response.
    m.set(
        "trailers",
        lua.create_function(|lua, (s, header): (UserDataRef<H2Stream>, Table)| {
            send_trailers(lua, &s.0, &header)
        })?,
    )?;
    // read(s, n, limit, timeout?) -> data | nil, err | MARKER: `n` bytes (fewer at the end of
    // the body, then nil, EOF); n < 0: the whole body. At most `limit` bytes in all.
    m.set(
        "read",
        lua.create_function(
            |lua, (s, n, limit, timeout): (UserDataRef<H2Stream>, i64, usize, Option<i64>)| {
                read_body(lua, &s.0, n, limit, timeout)
            },
        )?,
    )?;
    // trailer(s) -> the request's trailer fields once its body was read, else nil
    m.set(
        "trailer",
        lua.create_function(|lua, s: UserDataRef<H2Stream>| trailer_table(lua, &s.0))?,
    )?;
    // reset(s): RST_STREAM INTERNAL_ERROR (a handler failed after its response began).
    m.set(
        "reset",
        lua.create_function(|_, s: UserDataRef<H2Stream>| {
            let mut st = s.0.borrow_mut();
            if let Some(send) = st.send.as_mut() {
                send.send_reset(Reason::INTERNAL_ERROR);
            } else if let Some(r) = st.respond.as_mut() {
                r.send_reset(Reason::INTERNAL_ERROR);
            }
            Ok(())
        })?,
    )?;
    // done(s): the handler finished; lets go of the stream (an unread body is refused).
    m.set(
        "done",
        lua.create_function(|_, s: UserDataRef<H2Stream>| {
            s.0.borrow_mut().release();
            Ok(())
        })?,
    )?;
    Ok(m)
}
