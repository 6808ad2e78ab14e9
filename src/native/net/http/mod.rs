//! `silly.net.http.c`: the protocol work of `stdlib/silly/net/http.lua` done in Rust: reading
//! an HTTP/1.x head straight from a connection's read buffer into a Lua table in one call
//! (head.rs, httparse), bounded reads of protocol lines, and response heads written into the
//! connection's write queue with the `date` field cached per second (date.rs).

// chunk and head are also driven by the fuzz targets (src/fuzzing.rs).
pub(crate) mod chunk;
mod date;
mod fast;
pub mod h2;
mod h2_client;
pub use h2_client::open as h2client_open;
pub(crate) mod h2_io;
pub(crate) mod head;

use mlua::{IntoLuaMulti, Lua, Table, UserDataRef, Value};

use crate::native::net::conn::{StreamHandle, read_value};
use crate::native::net::error::{lua_pair, lua_status};
use crate::native::net::read_buf::{Delim, Request};
use crate::native::net::stream::Decode;

/// A bounded read of `ud` up to `delim`, its bytes made into a value by `decode`.
fn bounded_read(
    lua: &Lua,
    h: &StreamHandle,
    delim: &[u8],
    limit: usize,
    timeout: Option<i64>,
    decode: Decode,
) -> mlua::Result<(Value, Value)> {
    let req = Request::Bounded(Delim::new(delim), limit.max(delim.len()));
    read_value(lua, h, req, timeout, decode)
}

fn plain(lua: &Lua, b: &[u8]) -> mlua::Result<Value> {
    lua.create_string(b).map(Value::String)
}

pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    m.set("maxfields", head::MAX_FIELDS)?;
    // fastrespond(id, status, header?, length?, nobody, http10, close) -> framing, close |
    // nothing: `respond` without mlua's call machinery (fast.rs); nothing means "call respond".
    // SAFETY: fast.rs follows the rules of a raw C function (its module comment).
    m.set("fastrespond", unsafe {
        lua.create_c_function(fast::fast_respond)?
    })?;
    m.set("h2c", head::H2C)?;
    m.set("h2prefacehead", lua.create_string(head::H2_PREFACE_HEAD)?)?;
    // readrequest(ud, limit, timeout, idletimeout?) -> head | status | nil, err | MARKER: the
    // idle timeout applies when nothing of the next request has arrived yet.
    m.set(
        "readrequest",
        lua.create_function(
            |lua,
             (h, limit, timeout, idle): (UserDataRef<StreamHandle>, usize, i64, Option<i64>)| {
                let timeout = match idle {
                    Some(idle) if h.0.unread() == 0 => idle,
                    _ => timeout,
                };
                bounded_read(lua, &h, b"\r\n\r\n", limit, Some(timeout), head::parse_request)
            },
        )?,
    )?;
    // readresponse(ud, limit, timeout?) -> head | status | nil, err | MARKER
    m.set(
        "readresponse",
        lua.create_function(
            |lua, (h, limit, timeout): (UserDataRef<StreamHandle>, usize, Option<i64>)| {
                bounded_read(lua, &h, b"\r\n\r\n", limit, timeout, head::parse_response)
            },
        )?,
    )?;
    // readchunk(ud, limit, timeout?) -> data | false (the last chunk) | -1 (malformed) | -2
    // (over `limit`) | nil, err | MARKER: one whole chunk of a chunked body (chunk.rs).
    m.set(
        "readchunk",
        lua.create_function(
            |lua, (h, limit, timeout): (UserDataRef<StreamHandle>, usize, Option<i64>)| {
                let req = Request::Sized(chunk::size, limit.saturating_add(chunk::LINE_MAX + 2));
                read_value(lua, &h, req, timeout, chunk::decode)
            },
        )?,
    )?;
    // readline(ud, limit, timeout?) -> line (with "\r\n", or `limit` bytes without) | nil, err
    // | MARKER: chunk sizes and trailer fields.
    m.set(
        "readline",
        lua.create_function(
            |lua, (h, limit, timeout): (UserDataRef<StreamHandle>, usize, Option<i64>)| {
                bounded_read(lua, &h, b"\r\n", limit, timeout, plain)
            },
        )?,
    )?;
    // respond(ud, status, header?, length?, nobody, http10, close) -> framing, close | false,
    // err | nil, why: writes a response head (head.rs `response`). `framing` is the body's
    // length, or "chunked", "close", "none", "raw"; `close` whether the connection ends after
    // it. `nil, why` for a field that is not allowed, for the Lua side to raise at its caller.
    m.set(
        "respond",
        lua.create_function(
            |lua,
             (h, status, header, length, nobody, http10, close): (
                UserDataRef<StreamHandle>,
                u16,
                Option<Table>,
                Option<u64>,
                bool,
                bool,
                bool,
            )| {
                let req = head::Req {
                    nobody,
                    http10,
                    close,
                    length,
                };
                let (bytes, framing, close) =
                    match head::response(lua, status, header.as_ref(), &req) {
                        Ok(r) => r,
                        Err(e) => return Ok((Value::Nil, Value::String(lua.create_string(e)?))),
                    };
                if let Err(e) = h.0.write(&bytes) {
                    let (_, err) = lua_pair(lua, &e)?;
                    return Ok((Value::Boolean(false), err));
                }
                let framing = match framing {
                    head::Framing::Length(n) => Value::Integer(n as i64),
                    head::Framing::Chunked => Value::String(lua.create_string("chunked")?),
                    head::Framing::Close => Value::String(lua.create_string("close")?),
                    head::Framing::None => Value::String(lua.create_string("none")?),
                    head::Framing::Raw => Value::String(lua.create_string("raw")?),
                };
                // Two values, not a MultiValue: no allocation per response.
                Ok((framing, Value::Boolean(close)))
            },
        )?,
    )?;
    // writerequest(ud, method, target, header?, host, length?, chunked) -> true | false, err;
    // or nil and the reason the request is not allowed.
    m.set(
        "writerequest",
        lua.create_function(
            |lua,
             (h, method, target, header, host, length, chunked): (
                UserDataRef<StreamHandle>,
                mlua::LuaString,
                mlua::LuaString,
                Option<Table>,
                String,
                Option<u64>,
                bool,
            )| {
                match head::request(
                    lua,
                    &method.as_bytes()[..],
                    &target.as_bytes()[..],
                    header.as_ref(),
                    &host,
                    length,
                    chunked,
                ) {
                    Ok(bytes) => lua_status(lua, h.0.write(&bytes)),
                    Err(e) => (Value::Nil, e).into_lua_multi(lua),
                }
            },
        )?,
    )?;
    // gunzip(data, max) -> text | nil, err: a gzip body, at most `max` bytes once inflated.
    m.set(
        "gunzip",
        lua.create_function(|lua, (data, max): (mlua::LuaString, usize)| {
            use std::io::Read;
            let bytes = data.as_bytes();
            let mut out = Vec::new();
            let mut dec = flate2::read::MultiGzDecoder::new(&bytes[..]).take(max as u64 + 1);
            match dec.read_to_end(&mut out) {
                Ok(_) if out.len() > max => {
                    (Value::Nil, "body over maxbodysize").into_lua_multi(lua)
                }
                Ok(_) => lua.create_string(&out)?.into_lua_multi(lua),
                Err(e) => (Value::Nil, format!("bad gzip body: {e}")).into_lua_multi(lua),
            }
        })?,
    )?;
    Ok(m)
}
