//! `silly.net.http.h2client.c`: the HTTP/2 client under `stdlib/silly/net/http/h2client.lua`.
//! A TLS connection that negotiated "h2" gives its transport to the h2 crate's client, whose
//! connection runs as a future on our executor (h2_io.rs adapts the transport); every request
//! is a stream of that one connection. The body calls are the server's (h2.rs).

use std::cell::{Cell, RefCell};
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use h2::client::{self, ResponseFuture, SendRequest};
use http::{Method, Request, Uri};
use mlua::{IntoLuaMulti, Lua, MultiValue, Table, UserData, UserDataRef, Value};

use crate::log::{self, Level};
use crate::native::net::conn::StreamHandle;
use crate::native::net::error::{NetError, lua_pair};
use crate::native::net::http::h2::{
    StreamState, fields_table, header_map, read_body, send_trailers, stream_op, trailer_table,
    write_body,
};
use crate::native::net::http::h2_io::H2Io;
use crate::runtime::timer::{Deadline, with_timeout};
use crate::runtime::{self, SourceGuard};

/// Flow-control windows: what a server may send ahead of our reads.
const STREAM_WINDOW: u32 = 256 * 1024;
const CONN_WINDOW: u32 = 1024 * 1024;

/// One client connection, shared by its Lua object, its streams and its driver.
struct Conn {
    /// None once closed: no new request.
    send: RefCell<Option<SendRequest<Bytes>>>,
    /// Streams in progress; the connection keeps the process alive only while there are.
    active: Cell<usize>,
    hold: RefCell<Option<SourceGuard>>,
    /// The driver ended (GOAWAY and its streams done, an error, or closed).
    done: Cell<bool>,
}

impl Conn {
    fn enter(&self) {
        if self.active.get() == 0 {
            *self.hold.borrow_mut() = Some(runtime::get().hold_source());
        }
        self.active.set(self.active.get() + 1);
    }

    fn leave(&self) {
        let n = self.active.get().saturating_sub(1);
        self.active.set(n);
        if n == 0 {
            // An idle pooled connection does not keep the process alive, as over HTTP/1.1.
            *self.hold.borrow_mut() = None;
        }
    }
}

pub struct ConnHandle(Rc<Conn>);
impl UserData for ConnHandle {}

impl Drop for ConnHandle {
    /// A connection the Lua side forgot (a collected client) takes no request any more: h2
    /// ends it once its streams are done.
    fn drop(&mut self) {
        *self.0.send.borrow_mut() = None;
    }
}

/// A request: its response head to come, then its body (StreamState).
struct Req {
    conn: Rc<Conn>,
    response: Option<ResponseFuture>,
    body: Rc<RefCell<StreamState>>,
    counted: bool,
}

impl Req {
    fn finish(&mut self) {
        self.response = None;
        self.body.borrow_mut().release();
        if self.counted {
            self.counted = false;
            self.conn.leave();
        }
    }
}

impl Drop for Req {
    fn drop(&mut self) {
        self.finish();
    }
}

pub struct ReqHandle(Rc<RefCell<Req>>);
impl UserData for ReqHandle {}

fn failed(lua: &Lua, e: h2::Error) -> mlua::Result<MultiValue> {
    (Value::Nil, format!("stream failed: {e}")).into_lua_multi(lua)
}

/// Runs the connection until it ends; the Lua side sees `done` then.
async fn drive(conn: Rc<Conn>, mut h2conn: client::Connection<H2Io, Bytes>) {
    if let Err(e) = (&mut h2conn).await {
        log::message(Level::Debug, &format!("[http] h2 client connection: {e}"));
    }
    conn.done.set(true);
    *conn.send.borrow_mut() = None;
    *conn.hold.borrow_mut() = None;
}

/// Starts the request `req` once the connection can open a stream.
async fn start(conn: Rc<Conn>, req: Request<()>, end: bool) -> mlua::Result<MultiValue> {
    let lua = runtime::get().lua.clone();
    let Some(mut send) = conn.send.borrow().clone() else {
        return pair(&lua, NetError::Closed);
    };
    if let Err(e) = poll_fn(|cx| send.poll_ready(cx)).await {
        return failed(&lua, e);
    }
    let (response, stream) = match send.send_request(req, end) {
        Ok(v) => v,
        Err(e) => return failed(&lua, e),
    };
    conn.enter();
    let r = Req {
        conn: conn.clone(),
        response: Some(response),
        body: Rc::new(RefCell::new(StreamState::client(stream))),
        counted: true,
    };
    lua.create_userdata(ReqHandle(Rc::new(RefCell::new(r))))?
        .into_lua_multi(&lua)
}

/// Waits for the response head: status, fields | nil, err.
struct HeadOp {
    req: Rc<RefCell<Req>>,
    deadline: Deadline,
}

impl Future for HeadOp {
    type Output = mlua::Result<MultiValue>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let lua = runtime::get().lua.clone();
        let mut req = this.req.borrow_mut();
        let Some(fut) = req.response.as_mut() else {
            return Poll::Ready(pair(&lua, NetError::Closed));
        };
        match Pin::new(fut).poll(cx) {
            Poll::Ready(Ok(resp)) => {
                req.response = None;
                let (parts, body) = resp.into_parts();
                req.body.borrow_mut().set_recv(body);
                let r = fields_table(&lua, &parts.headers)
                    .and_then(|(t, _)| (parts.status.as_u16(), t).into_lua_multi(&lua));
                Poll::Ready(r)
            }
            Poll::Ready(Err(e)) => {
                req.response = None;
                Poll::Ready(failed(&lua, e))
            }
            Poll::Pending => {
                if this.deadline.poll_expired(cx) {
                    return Poll::Ready(pair(&lua, NetError::TimedOut));
                }
                Poll::Pending
            }
        }
    }
}

fn pair(lua: &Lua, e: NetError) -> mlua::Result<MultiValue> {
    lua_pair(lua, &e)?.into_lua_multi(lua)
}

fn ms(t: Option<i64>) -> Option<u64> {
    t.map(|t| t.max(0) as u64)
}

pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    // handshake(ud, maxheadersize, timeout) -> conn | nil, err | MARKER: takes the transport of
    // a TLS connection that negotiated "h2" and starts the HTTP/2 connection over it.
    m.set(
        "handshake",
        lua.create_function(
            |lua, (h, maxheader, timeout): (UserDataRef<StreamHandle>, u32, Option<i64>)| {
                let Some(hand) = h.0.take_transport() else {
                    return pair(lua, NetError::Closed);
                };
                let fut = async move {
                    let lua = runtime::get().lua.clone();
                    // The hold and the open-connection count of the TLS stream go with the
                    // transport until the driver ends.
                    let (open, source) = (hand.open, hand.source);
                    let mut b = client::Builder::new();
                    b.initial_window_size(STREAM_WINDOW)
                        .initial_connection_window_size(CONN_WINDOW)
                        .max_header_list_size(maxheader)
                        .enable_push(false);
                    let io = H2Io::new(hand.io, hand.read);
                    let (send, h2conn) = match with_timeout(ms(timeout), b.handshake(io)).await {
                        Some(Ok(v)) => v,
                        Some(Err(e)) => return failed(&lua, e),
                        None => return pair(&lua, NetError::TimedOut),
                    };
                    let conn = Rc::new(Conn {
                        send: RefCell::new(Some(send)),
                        active: Cell::new(0),
                        hold: RefCell::new(None),
                        done: Cell::new(false),
                    });
                    drop(source);
                    let c = conn.clone();
                    runtime::get()
                        .executor
                        .spawn(async move {
                            let _open = open;
                            drive(c, h2conn).await
                        })
                        .detach();
                    lua.create_userdata(ConnHandle(conn))?.into_lua_multi(&lua)
                };
                stream_op(Box::pin(fut))
            },
        )?,
    )?;
    // alive(conn) -> boolean: the connection can still take requests (as far as is known).
    m.set(
        "alive",
        lua.create_function(|_, c: UserDataRef<ConnHandle>| {
            Ok(!c.0.done.get() && c.0.send.borrow().is_some())
        })?,
    )?;
    // active(conn) -> integer: the streams in progress.
    m.set(
        "active",
        lua.create_function(|_, c: UserDataRef<ConnHandle>| Ok(c.0.active.get()))?,
    )?;
    // close(conn): no new request; the connection ends once its streams are done.
    m.set(
        "close",
        lua.create_function(|_, c: UserDataRef<ConnHandle>| {
            *c.0.send.borrow_mut() = None;
            Ok(())
        })?,
    )?;
    // request(conn, method, url, header?, endstream, timeout) -> req | nil, err | nil, why,
    // true (a field that is not allowed, for the Lua side to raise) | MARKER
    m.set(
        "request",
        lua.create_function(
            |lua,
             (c, method, url, header, end, timeout): (
                UserDataRef<ConnHandle>,
                mlua::LuaString,
                mlua::LuaString,
                Option<Table>,
                bool,
                Option<i64>,
            )| {
                let method = match Method::from_bytes(&method.as_bytes()) {
                    Ok(m) => m,
                    Err(_) => return (Value::Nil, "bad method", true).into_lua_multi(lua),
                };
                let uri = match Uri::try_from(&url.as_bytes()[..]) {
                    Ok(u) => u,
                    Err(_) => return (Value::Nil, "bad target", true).into_lua_multi(lua),
                };
                let mut map = match header_map(lua, header.as_ref()) {
                    Ok(m) => m,
                    Err(why) => return (Value::Nil, why, true).into_lua_multi(lua),
                };
                // `:authority` carries the host.
                map.remove(http::header::HOST);
                let mut req = Request::new(());
                *req.method_mut() = method;
                *req.uri_mut() = uri;
                *req.headers_mut() = map;
                let conn = c.0.clone();
                stream_op(Box::pin(async move {
                    match with_timeout(ms(timeout), start(conn, req, end)).await {
                        Some(r) => r,
                        None => pair(&runtime::get().lua, NetError::TimedOut),
                    }
                }))
            },
        )?,
    )?;
    // response(req, timeout) -> status, header | nil, err | MARKER
    m.set(
        "response",
        lua.create_function(|_, (r, timeout): (UserDataRef<ReqHandle>, Option<i64>)| {
            let mut op = HeadOp {
                req: r.0.clone(),
                deadline: Deadline::after_ms(ms(timeout)),
            };
            let mut cx = Context::from_waker(Waker::noop());
            if let Poll::Ready(v) = Pin::new(&mut op).poll(&mut cx) {
                return v;
            }
            stream_op(Box::pin(op))
        })?,
    )?;
    // write(req, data, endstream, timeout?) -> true | false, err | MARKER: `timeout` (what is
    // left of the call) bounds the wait for the server's window; past it the stream is reset
    // (CANCEL) and the write fails with TIMEDOUT.
    m.set(
        "write",
        lua.create_function(
            |_,
             (r, data, end, timeout): (
                UserDataRef<ReqHandle>,
                mlua::LuaString,
                bool,
                Option<i64>,
            )| {
                let body = r.0.borrow().body.clone();
                write_body(&body, &data.as_bytes(), end, timeout, false)
            },
        )?,
    )?;
    // trailers(req, header) -> true | false, err | nil, why: ends the request.
    m.set(
        "trailers",
        lua.create_function(|lua, (r, header): (UserDataRef<ReqHandle>, Table)| {
            let body = r.0.borrow().body.clone();
            send_trailers(lua, &body, &header)
        })?,
    )?;
    // read(req, n, limit, timeout?) -> data | nil, err | MARKER (as the server's read)
    m.set(
        "read",
        lua.create_function(
            |lua, (r, n, limit, timeout): (UserDataRef<ReqHandle>, i64, usize, Option<i64>)| {
                let body = r.0.borrow().body.clone();
                read_body(lua, &body, n, limit, timeout)
            },
        )?,
    )?;
    // trailer(req) -> the response's trailer fields once its body was read, else nil
    m.set(
        "trailer",
        lua.create_function(|lua, r: UserDataRef<ReqHandle>| {
            let body = r.0.borrow().body.clone();
            trailer_table(lua, &body)
        })?,
    )?;
    // ended(req) -> boolean: the response body was read to its end.
    m.set(
        "ended",
        lua.create_function(|_, r: UserDataRef<ReqHandle>| Ok(r.0.borrow().body.borrow().ended()))?,
    )?;
    // done(req): lets go of the stream (h2 resets one whose response was not read to its end).
    m.set(
        "done",
        lua.create_function(|_, r: UserDataRef<ReqHandle>| {
            r.0.borrow_mut().finish();
            Ok(())
        })?,
    )?;
    Ok(m)
}
