//! The hottest connection calls as raw `lua_CFunction`s: a `read` the buffer already satisfies
//! and a `write`. They skip mlua's per-call machinery (argument conversion, userdata borrow,
//! error wrapping), which was most of the native cost of a request in the pipelined PING
//! benchmark. Anything else (blocking, errors, odd arguments) is declined: the function
//! returns no value and the Lua wrapper (`silly.net.internal.stream`) takes the normal path.
//!
//! A connection is named by an integer id (array slot 3 of its Lua table) looked up in a
//! per-thread registry, never by a pointer: an id a script forges or keeps after the
//! connection was collected finds nothing and is declined.
//!
//! Two rules keep these functions sound. No Rust value with a destructor is alive when a Lua
//! API call that can raise (longjmp) runs: such calls come last, with only plain data in the
//! frame. And no panic can leave: the Rust work runs under `catch_unwind`.

use std::cell::RefCell;
use std::ffi::c_int;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use mlua::ffi;

use crate::native::net::conn_ids::Registry;
use crate::native::net::read_buf::{Delim, Request};
use crate::native::net::stream::Stream;

thread_local! {
    /// Live connections by id (conn_ids.rs).
    static REGISTRY: RefCell<Registry<Rc<Stream>>> = RefCell::new(Registry::default());
}

/// Registers a connection; its id is valid until `unregister`.
pub fn register(s: Rc<Stream>) -> i64 {
    REGISTRY.with(|r| r.borrow_mut().insert(s))
}

pub fn unregister(id: i64) {
    // Dropped outside the borrow: the stream's destructor must not find the registry busy.
    let entry = REGISTRY.with(|r| r.borrow_mut().remove(id));
    drop(entry);
}

pub(crate) fn lookup(id: i64) -> Option<Rc<Stream>> {
    REGISTRY.with(|r| r.try_borrow().ok()?.get(id).cloned())
}

/// The integer at stack index `i`, if it is one.
///
/// # Safety
/// `l` is the running state of a C function call and `i` a valid stack index of it.
pub(crate) unsafe fn integer(l: *mut ffi::lua_State, i: c_int) -> Option<i64> {
    let mut isnum = 0;
    // SAFETY: the caller's contract; lua_tointegerx never raises.
    let v = unsafe { ffi::lua_tointegerx(l, i, &mut isnum) };
    (isnum != 0).then_some(v)
}

/// The string at stack index `i`, if it is one (numbers are not converted: that allocates).
///
/// # Safety
/// As for `integer`; the slice must not outlive the C function call (the value stays on the
/// stack, and so alive, until the call returns).
unsafe fn string<'a>(l: *mut ffi::lua_State, i: c_int) -> Option<&'a [u8]> {
    // SAFETY: the caller's contract; lua_type never raises.
    if unsafe { ffi::lua_type(l, i) } != ffi::LUA_TSTRING {
        return None;
    }
    let mut len = 0;
    // SAFETY: a string at `i`, so no conversion (and no allocation or error) happens.
    let p = unsafe { ffi::lua_tolstring(l, i, &mut len) };
    // SAFETY: Lua gives `len` readable bytes at `p`, alive while the value is on the stack.
    Some(unsafe { std::slice::from_raw_parts(p as *const u8, len) })
}

/// `fastread(id, n | delim) -> data | nothing`: the bytes if the buffer already holds them.
///
/// # Safety
/// Called by Lua only, as a C function (`Lua::create_c_function`).
pub unsafe extern "C-unwind" fn fast_read(l: *mut ffi::lua_State) -> c_int {
    let taken = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `l` is this call's state; index 1 may hold anything (checked inside).
        let id = unsafe { integer(l, 1) }?;
        // SAFETY: as above; lua_type never raises.
        let req = match unsafe { ffi::lua_type(l, 2) } {
            // Short delimiters only: a long one would need an allocation.
            ffi::LUA_TSTRING => {
                // SAFETY: as above; the slice is used before this call returns.
                let d = unsafe { string(l, 2) }?;
                if d.is_empty() || d.len() > Delim::INLINE {
                    return None;
                }
                Request::Delim(Delim::new(d))
            }
            // SAFETY: as above.
            ffi::LUA_TNUMBER => match unsafe { integer(l, 2) }? {
                n if n > 0 => Request::Bytes(n as usize),
                _ => return None,
            },
            _ => return None,
        };
        let s = lookup(id)?;
        // SAFETY: nothing touches the stream between this and `after_fast_take` below but
        // the copy, which reads the bytes before anything else can run (see there).
        let (p, n) = unsafe { s.fast_take(&req) }?;
        Some((id, p, n))
    }))
    .ok()
    .flatten();
    let Some((id, p, n)) = taken else {
        return 0;
    };
    // SAFETY: copies the bytes; it may raise on out-of-memory, with nothing to drop in this
    // frame. It can also run a GC step, and so a finalizer (Lua code that could read from
    // this very stream and move its buffer), but only after the copy: it allocates the
    // string (an allocation failure's emergency collection runs no finalizers), copies into
    // it, and only then steps the GC (lapi.c `lua_pushlstring`, lstring.c `luaS_newlstr`).
    unsafe { ffi::lua_pushlstring(l, p as *const _, n) };
    let _ = catch_unwind(|| {
        if let Some(s) = lookup(id) {
            s.after_fast_take();
        }
    });
    1
}

/// `fastwrite(id, data) -> true | nothing`: queues a string on a live connection.
///
/// # Safety
/// Called by Lua only, as a C function (`Lua::create_c_function`).
pub unsafe extern "C-unwind" fn fast_write(l: *mut ffi::lua_State) -> c_int {
    let done = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `l` is this call's state; the indexes may hold anything (checked inside).
        let id = unsafe { integer(l, 1) }?;
        // SAFETY: as above; `data` is used (copied into the queue) before the call returns.
        let data = unsafe { string(l, 2) }?;
        // An error (closed, dead) is declined: the normal path reports it.
        lookup(id)?.write(data).ok()
    }))
    .ok()
    .flatten();
    if done.is_none() {
        return 0;
    }
    // SAFETY: a C function may push one value (LUA_MINSTACK slots are guaranteed); never raises.
    unsafe { ffi::lua_pushboolean(l, 1) };
    1
}
