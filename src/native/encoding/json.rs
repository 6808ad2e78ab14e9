//! `silly.encoding.json.c`: JSON for `stdlib/silly/encoding/json.lua`.
//!
//! `encode` and `decode` are raw `lua_CFunction`s, used as the public functions themselves:
//! JSON sits on the hot path of an HTTP API, and mlua's safe API costs a protected call per
//! table write. They check their own arguments, return `nil, err` for bad data, and follow
//! the rules of `net/conn_fast.rs`: no panic leaves (`catch_unwind`), and the only raising call
//! (the argument error) comes last with nothing to drop in the frame.
//!
//! Their Lua calls must not raise while Rust values are alive, and under `--max-memory` an
//! allocation can: so the limit is lifted while they work (`without_limit`) and checked when
//! they are done. A result that took the state over the limit is dropped and the call raises
//! Lua's memory error, from a frame with nothing to drop (docs/cli.md#memory-limit).

use std::cell::RefCell;
use std::ffi::{CStr, c_int};
use std::panic::{AssertUnwindSafe, catch_unwind};

use mlua::{LightUserData, Lua, Table, ffi};

use super::{json_decode, json_encode};

/// Nesting limit of arrays and objects, the same for both directions.
pub const MAX_DEPTH: usize = 1000;

/// Registry key of the metatable `json.array` sets, which makes a table (even an empty one)
/// encode as an array.
const ARRAY_MT: &CStr = c"silly.encoding.json.array";

/// The encoder's output buffer is kept between calls: most of its growth happens once.
const KEEP_BUFFER: usize = 1 << 20;

thread_local! {
    static OUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    let mt = lua.create_table()?;
    mt.set("__name", "json.array")?;
    lua.set_named_registry_value(ARRAY_MT.to_str().expect("ASCII"), &mt)?;
    m.set("array_mt", mt)?;
    m.set("null", LightUserData(std::ptr::null_mut()))?;
    m.set("max_depth", MAX_DEPTH)?;
    // SAFETY: both follow the rules of the module comment.
    unsafe {
        m.set("encode", lua.create_c_function(encode)?)?;
        m.set("decode", lua.create_c_function(decode)?)?;
    }
    Ok(m)
}

/// Pushes `json.null`: the light userdata NULL.
///
/// # Safety
/// `l` is a running state with a free stack slot.
pub unsafe fn push_null(l: *mut ffi::lua_State) {
    // SAFETY: the caller's contract; never raises.
    unsafe { ffi::lua_pushlightuserdata(l, std::ptr::null_mut()) };
}

/// Pushes json.array's metatable.
///
/// # Safety
/// `l` is a running state with a free stack slot.
pub unsafe fn push_array_mt(l: *mut ffi::lua_State) {
    // SAFETY: the caller's contract; the registry has no metamethods, so this reads raw.
    unsafe { ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, ARRAY_MT.as_ptr()) };
}

/// Runs `work` with the Lua state's memory limit lifted (see the module comment). False when
/// the state is over the limit once it is back.
fn without_limit(work: impl FnOnce() -> c_int) -> (c_int, bool) {
    let Some(rt) = crate::runtime::try_get() else {
        return (work(), true);
    };
    let limit = rt.lua.set_memory_limit(0).unwrap_or(0);
    let n = work();
    if limit == 0 {
        return (n, true);
    }
    let _ = rt.lua.set_memory_limit(limit);
    (n, rt.lua.used_memory() <= limit)
}

/// Drops what a call left above `base` and raises Lua's memory error.
///
/// # Safety
/// `l` is the state of a running C function call, with nothing to drop in the caller's frame.
unsafe fn raise_memory_error(l: *mut ffi::lua_State, base: c_int) -> c_int {
    // SAFETY: the caller's contract. Pushing the message may itself fail for want of memory,
    // which raises the same error.
    unsafe {
        ffi::lua_settop(l, base);
        ffi::lua_pushstring(l, c"not enough memory".as_ptr());
        ffi::lua_error(l)
    }
}

/// `encode(value) -> text | nil, err`.
///
/// # Safety
/// Called by Lua only, as a C function.
pub unsafe extern "C-unwind" fn encode(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: `l` is this call's state.
    if unsafe { ffi::lua_type(l, 1) } == ffi::LUA_TNONE {
        // SAFETY: nothing with a destructor is alive in this frame.
        unsafe { ffi::luaL_error(l, c"bad argument #1 to 'encode' (value expected)".as_ptr()) };
    }
    // SAFETY: `l` is this call's state.
    unsafe { ffi::lua_settop(l, 1) };
    let (done, within) = without_limit(|| {
        let done = catch_unwind(AssertUnwindSafe(|| {
            OUT.with(|cell| {
                let mut out = cell.take();
                out.clear();
                // SAFETY: index 1 is valid; see json_encode::encode.
                let res = unsafe { json_encode::encode(l, 1, &mut out) };
                let n = match res {
                    Ok(()) => {
                        // SAFETY: Lua copies the bytes; pushing does not raise (see json_encode).
                        unsafe { ffi::lua_pushlstring(l, out.as_ptr() as *const _, out.len()) };
                        1
                    }
                    // SAFETY: as above.
                    Err(e) => unsafe { push_error(l, &e.to_string()) },
                };
                if out.capacity() <= KEEP_BUFFER {
                    cell.replace(out);
                }
                n
            })
        }));
        match done {
            Ok(n) => n,
            // SAFETY: as above.
            Err(_) => unsafe { push_error(l, "json: internal error") },
        }
    });
    if !within {
        // SAFETY: nothing with a destructor is alive in this frame.
        return unsafe { raise_memory_error(l, 1) };
    }
    done
}

/// `decode(text) -> value | nil, err`.
///
/// # Safety
/// Called by Lua only, as a C function.
pub unsafe extern "C-unwind" fn decode(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: `l` is this call's state.
    if unsafe { ffi::lua_type(l, 1) } != ffi::LUA_TSTRING {
        // SAFETY: nothing with a destructor is alive in this frame; the type name is static.
        unsafe {
            ffi::luaL_error(
                l,
                c"bad argument #1 to 'decode' (string expected, got %s)".as_ptr(),
                ffi::luaL_typename(l, 1),
            )
        };
    }
    // SAFETY: `l` is this call's state.
    unsafe { ffi::lua_settop(l, 1) };
    let (done, within) = without_limit(|| {
        let done = catch_unwind(AssertUnwindSafe(|| {
            let mut len = 0;
            // SAFETY: a string is at index 1 (no conversion); it stays there for the whole call.
            let input = unsafe {
                let p = ffi::lua_tolstring(l, 1, &mut len);
                std::slice::from_raw_parts(p as *const u8, len)
            };
            // SAFETY: see json_decode::decode.
            match unsafe { json_decode::decode(l, input) } {
                Ok(()) => 1,
                Err(e) => {
                    // SAFETY: drops the partial values; pushing does not raise.
                    unsafe {
                        ffi::lua_settop(l, 1);
                        push_error(l, &e.to_string())
                    }
                }
            }
        }));
        // SAFETY: as above.
        done.unwrap_or_else(|_| unsafe {
            ffi::lua_settop(l, 1);
            push_error(l, "json: internal error")
        })
    });
    if !within {
        // SAFETY: nothing with a destructor is alive in this frame.
        return unsafe { raise_memory_error(l, 1) };
    }
    done
}

/// Pushes `nil, msg` and returns the count, 2.
///
/// # Safety
/// `l` is a running state with two free stack slots.
unsafe fn push_error(l: *mut ffi::lua_State, msg: &str) -> c_int {
    // SAFETY: the caller's contract; Lua copies the bytes.
    unsafe {
        ffi::lua_pushnil(l);
        ffi::lua_pushlstring(l, msg.as_ptr() as *const _, msg.len());
    }
    2
}
