//! The Lua face of a `Stream` (TCP or TLS connection): one userdata type and the functions
//! `stdlib/silly/net/internal/stream.lua` builds the TCP and TLS connection methods from.
//!
//! Each function takes the userdata first. Suspending ones (`read`, `flush`) return the task
//! marker when the caller must yield; the Lua wrapper then yields it (see src/runtime/task.rs).

use std::rc::Rc;

use mlua::{AnyUserData, IntoLuaMulti, Lua, Table, UserData, UserDataRef, Value};

use crate::native::net::conn_fast;
use crate::native::net::error::{lua_pair, lua_status};
use crate::native::net::read_buf::{Delim, Request};
use crate::native::net::stream::{Decode, ReadNow, Stream, as_string};
use crate::runtime::task;

/// A connection as Lua holds it; `.1` is its id for the raw fast paths (conn_fast.rs).
pub struct StreamHandle(pub Rc<Stream>, i64);

impl UserData for StreamHandle {}

impl Drop for StreamHandle {
    fn drop(&mut self) {
        conn_fast::unregister(self.1);
    }
}

pub fn new_userdata(lua: &Lua, s: Rc<Stream>) -> mlua::Result<AnyUserData> {
    let id = conn_fast::register(s.clone());
    lua.create_userdata(StreamHandle(s, id))
}

/// Milliseconds from a Lua value already checked by the wrapper (nil: no timeout).
fn timeout_ms(v: Option<i64>) -> Option<u64> {
    v.map(|ms| ms.max(0) as u64)
}

/// A read whose answer is one Lua value, made of the bytes by `decode`: value | nil, err |
/// MARKER (the task yields for one of those). Two values, not a MultiValue: no allocation per
/// call on this hot path. Every protocol read (HTTP heads and chunks, WebSocket frames) goes
/// through here.
pub fn read_value(
    lua: &Lua,
    h: &StreamHandle,
    req: Request,
    timeout: Option<i64>,
    decode: Decode,
) -> mlua::Result<(Value, Value)> {
    match h
        .0
        .read_as(lua, req, timeout_ms(timeout), decode)
        .map_err(mlua::Error::runtime)?
    {
        ReadNow::Data(d) => Ok((d, Value::Nil)),
        ReadNow::Err(e) => lua_pair(lua, &e),
        ReadNow::Wait(op) => Ok((task::suspend(op)?, Value::Nil)),
    }
}

pub fn functions(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    // read(ud, n | delim, timeout?) -> data | nil, err | MARKER (yield for the answer)
    m.set(
        "read",
        lua.create_function(
            |lua, (h, req, timeout): (UserDataRef<StreamHandle>, Value, Option<i64>)| {
                let req = match req {
                    Value::Integer(n) => Request::Bytes(n.max(0) as usize),
                    Value::Number(n) => Request::Bytes(n.max(0.0) as usize),
                    Value::String(s) => Request::Delim(Delim::new(&s.as_bytes())),
                    _ => {
                        return Err(mlua::Error::runtime(
                            "read: request must be a count or a delimiter",
                        ));
                    }
                };
                read_value(lua, &h, req, timeout, as_string)
            },
        )?,
    )?;
    // id(ud) -> the integer the raw fast paths take
    m.set(
        "id",
        lua.create_function(|_, h: UserDataRef<StreamHandle>| Ok(h.1))?,
    )?;
    // fastread(id, n | delim) -> data | nothing; fastwrite(id, data) -> true | nothing
    // SAFETY: both follow the rules of conn_fast.rs (no destructor alive across a raising Lua
    // call, no panic escaping).
    let fastread = unsafe { lua.create_c_function(conn_fast::fast_read)? };
    // SAFETY: as above.
    let fastwrite = unsafe { lua.create_c_function(conn_fast::fast_write)? };
    m.set("fastread", fastread)?;
    m.set("fastwrite", fastwrite)?;
    // write(ud, string) -> true | false, err
    m.set(
        "write",
        lua.create_function(
            |lua, (h, data): (UserDataRef<StreamHandle>, mlua::LuaString)| {
                lua_status(lua, h.0.write(&data.as_bytes()))
            },
        )?,
    )?;
    m.set(
        "close",
        lua.create_function(|_, h: UserDataRef<StreamHandle>| Ok(h.0.close()))?,
    )?;
    m.set(
        "limit",
        lua.create_function(|_, (h, n): (UserDataRef<StreamHandle>, Option<i64>)| {
            h.0.limit(n.map(|n| n.max(0) as usize));
            Ok(())
        })?,
    )?;
    m.set(
        "unreadbytes",
        lua.create_function(|_, h: UserDataRef<StreamHandle>| Ok(h.0.unread()))?,
    )?;
    m.set(
        "unsentbytes",
        lua.create_function(|_, h: UserDataRef<StreamHandle>| Ok(h.0.unsent()))?,
    )?;
    // hold(ud, on): whether the connection keeps the process alive (see `Stream::hold`)
    m.set(
        "hold",
        lua.create_function(|_, (h, on): (UserDataRef<StreamHandle>, bool)| {
            h.0.hold(on);
            Ok(())
        })?,
    )?;
    m.set(
        "isalive",
        lua.create_function(|_, h: UserDataRef<StreamHandle>| Ok(h.0.is_alive()))?,
    )?;
    m.set(
        "fd",
        lua.create_function(|_, h: UserDataRef<StreamHandle>| Ok(h.0.fd))?,
    )?;
    m.set(
        "remoteaddr",
        lua.create_function(|_, h: UserDataRef<StreamHandle>| Ok(h.0.peer.clone()))?,
    )?;
    // flush(ud, timeout?) -> true | false, err | MARKER
    m.set(
        "flush",
        lua.create_function(
            |lua, (h, timeout): (UserDataRef<StreamHandle>, Option<i64>)| match h
                .0
                .flush(timeout_ms(timeout))
            {
                Ok(None) => lua_status(lua, Ok(())),
                Ok(Some(op)) => task::suspend(op)?.into_lua_multi(lua),
                Err(e) => lua_status(lua, Err(e)),
            },
        )?,
    )?;
    Ok(m)
}
