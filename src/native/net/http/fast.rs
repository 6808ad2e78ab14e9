//! `fastrespond`, the response head of `stream:respond` as a raw `lua_CFunction`: it skips
//! mlua's per-call machinery (a protected call, argument conversion, the userdata borrow), the
//! largest native cost left in a request. It follows the rules of `net/conn_fast.rs`: the
//! connection is named by its id, no panic leaves, and the only calls that can raise (pushing
//! the results) come last with nothing to drop in the frame. Whatever it cannot do (odd
//! arguments, a field that is refused, a closed connection) it declines by returning nothing,
//! and the Lua side calls `respond`, which reports it.

use std::ffi::c_int;
use std::panic::{AssertUnwindSafe, catch_unwind};

use mlua::ffi;

use crate::native::net::conn_fast::{integer, lookup};
use crate::native::net::http::head::{self, Framing, Req};

/// `fastrespond(id, status, header?, length?, nobody, http10, close) -> framing, close | nothing`:
/// the results of `respond` (mod.rs) when the head was written.
///
/// # Safety
/// Called by Lua only, as a C function (`Lua::create_c_function`).
pub unsafe extern "C-unwind" fn fast_respond(l: *mut ffi::lua_State) -> c_int {
    let done = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `l` is this call's state; the indexes may hold anything (checked inside);
        // lua_type, lua_toboolean and the integer reads never raise.
        let (id, status, header, req) = unsafe {
            let id = integer(l, 1)?;
            let status = u16::try_from(integer(l, 2)?).ok()?;
            let header = match ffi::lua_type(l, 3) {
                ffi::LUA_TNIL | ffi::LUA_TNONE => None,
                ffi::LUA_TTABLE => Some(3),
                _ => return None,
            };
            let length = match ffi::lua_type(l, 4) {
                ffi::LUA_TNIL | ffi::LUA_TNONE => None,
                _ => Some(u64::try_from(integer(l, 4)?).ok()?),
            };
            let req = Req {
                nobody: ffi::lua_toboolean(l, 5) != 0,
                http10: ffi::lua_toboolean(l, 6) != 0,
                close: ffi::lua_toboolean(l, 7) != 0,
                length,
            };
            (id, status, header, req)
        };
        let stream = lookup(id)?;
        // SAFETY: index 3 holds the table when `header` is Some; a C function has LUA_MINSTACK
        // free slots, more than the 3 the walk uses.
        let (bytes, framing, close) =
            unsafe { head::response_raw(l, status, header, &req) }.ok()?;
        stream.write(&bytes).ok()?;
        Some((framing, close))
    }))
    .ok()
    .flatten();
    let Some((framing, close)) = done else {
        return 0;
    };
    // SAFETY: two pushes into the LUA_MINSTACK free slots; a string push may raise on
    // out-of-memory, with nothing to drop in this frame (`framing` is plain data).
    unsafe {
        match framing {
            Framing::Length(n) => ffi::lua_pushinteger(l, n as ffi::lua_Integer),
            Framing::Chunked => {
                ffi::lua_pushstring(l, c"chunked".as_ptr());
            }
            Framing::Close => {
                ffi::lua_pushstring(l, c"close".as_ptr());
            }
            Framing::None => {
                ffi::lua_pushstring(l, c"none".as_ptr());
            }
            Framing::Raw => {
                ffi::lua_pushstring(l, c"raw".as_ptr());
            }
        }
        ffi::lua_pushboolean(l, close as c_int);
    }
    2
}
