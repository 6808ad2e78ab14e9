//! Lua values to JSON text, for `silly.encoding.json.c`'s `encode`.
//!
//! A direct walk of the Lua stack with the raw API, writing into one byte buffer: no
//! intermediate tree, and no mlua reference per value. Tables are read raw (metamethods are
//! not called). The rules (arrays, sparse arrays, keys, numbers, strings) are in
//! docs/encoding.md#json.

use std::ffi::c_int;
use std::fmt;

use mlua::ffi;

use super::json::{MAX_DEPTH, push_array_mt};

/// A table with positive integer keys only is an array unless its highest index is above both
/// `SPARSE_RATIO` times its item count and `SPARSE_SAFE` (the holes would be `null`s).
const SPARSE_RATIO: i64 = 2;
const SPARSE_SAFE: i64 = 10;

pub enum EncodeError {
    Type(&'static str),
    KeyType(&'static str),
    NonFinite(f64),
    Utf8,
    Depth,
    Sparse { max: i64, items: i64 },
    MarkedNotArray,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            EncodeError::Type(t) => write!(f, "json: cannot encode a value of type {t}"),
            EncodeError::KeyType(t) => {
                write!(f, "json: table key must be a string or an integer, got {t}")
            }
            EncodeError::NonFinite(v) => write!(f, "json: cannot encode the number {v}"),
            EncodeError::Utf8 => {
                f.write_str("json: cannot encode a string that is not valid UTF-8")
            }
            EncodeError::Depth => write!(f, "json: nesting deeper than {MAX_DEPTH} (a cycle?)"),
            EncodeError::Sparse { max, items } => write!(
                f,
                "json: excessively sparse array (highest index {max}, {items} items)"
            ),
            EncodeError::MarkedNotArray => f.write_str(
                "json: a table marked by json.array has a key that is not a positive integer",
            ),
        }
    }
}

/// Appends the JSON text of the value at stack index `idx` to `out`.
///
/// # Safety
/// `l` is the state of a running C function call and `idx` a valid absolute index of it. No Lua
/// call made here raises: the reads are raw, `lua_next` is given back the key it returned, and
/// mlua's allocator aborts instead of failing when no memory limit is set (`json.rs` lifts `--max-memory`'s while this runs).
pub unsafe fn encode(
    l: *mut ffi::lua_State,
    idx: c_int,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    // SAFETY: the caller's contract.
    let array_mt = unsafe {
        push_array_mt(l);
        ffi::lua_gettop(l)
    };
    let mut enc = Encoder { l, out, array_mt };
    // SAFETY: the caller's contract.
    let res = unsafe { enc.value(idx, 0) };
    // SAFETY: removes the metatable pushed above (and whatever an error left above it).
    unsafe { ffi::lua_settop(l, array_mt - 1) };
    res
}

struct Encoder<'a> {
    l: *mut ffi::lua_State,
    out: &'a mut Vec<u8>,
    /// Stack index of json.array's metatable, for the duration of the call.
    array_mt: c_int,
}

impl Encoder<'_> {
    /// # Safety
    /// `idx` is a valid absolute index; see `encode`.
    unsafe fn value(&mut self, idx: c_int, depth: usize) -> Result<(), EncodeError> {
        let l = self.l;
        // SAFETY: reads of the valid index `idx` (typed first, so nothing is converted), and
        // `table` under this function's contract.
        unsafe {
            match ffi::lua_type(l, idx) {
                ffi::LUA_TNIL => self.out.extend_from_slice(b"null"),
                ffi::LUA_TBOOLEAN => {
                    let b = ffi::lua_toboolean(l, idx) != 0;
                    self.out
                        .extend_from_slice(if b { b"true" } else { b"false" });
                }
                ffi::LUA_TNUMBER => {
                    if ffi::lua_isinteger(l, idx) != 0 {
                        let i = ffi::lua_tointegerx(l, idx, std::ptr::null_mut());
                        self.out
                            .extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
                    } else {
                        let f = ffi::lua_tonumberx(l, idx, std::ptr::null_mut());
                        if !f.is_finite() {
                            return Err(EncodeError::NonFinite(f));
                        }
                        // zmij writes the shortest text that reads back as the same float, and
                        // always with a `.` or an exponent, so it decodes as a float again.
                        self.out
                            .extend_from_slice(zmij::Buffer::new().format_finite(f).as_bytes());
                    }
                }
                ffi::LUA_TSTRING => {
                    let s = bytes(l, idx);
                    self.string(s)?;
                }
                ffi::LUA_TTABLE => self.table(idx, depth)?,
                ffi::LUA_TLIGHTUSERDATA if ffi::lua_touserdata(l, idx).is_null() => {
                    self.out.extend_from_slice(b"null")
                }
                t => return Err(EncodeError::Type(type_name(l, t))),
            }
        }
        Ok(())
    }

    /// # Safety
    /// `idx` is a valid absolute index of a table; see `encode`.
    unsafe fn table(&mut self, idx: c_int, depth: usize) -> Result<(), EncodeError> {
        let l = self.l;
        // SAFETY: raw reads and a raw traversal of the table at the valid index `idx`, with
        // room checked first for the three slots used at once (key, value, metatable); the
        // traversal is given back the keys it returned, unconverted; `value` is called on
        // valid indexes.
        unsafe {
            // Also what stops a table that contains itself.
            if depth >= MAX_DEPTH || ffi::lua_checkstack(l, 3) == 0 {
                return Err(EncodeError::Depth);
            }
            let marked = {
                ffi::lua_getmetatable(l, idx) != 0 && {
                    let same = ffi::lua_rawequal(l, -1, self.array_mt) != 0;
                    ffi::lua_settop(l, -2);
                    same
                }
            };
            // One pass over the keys decides array or object.
            let (mut items, mut max, mut array) = (0i64, 0i64, true);
            ffi::lua_pushnil(l);
            while ffi::lua_next(l, idx) != 0 {
                let k = {
                    ffi::lua_settop(l, -2);
                    if ffi::lua_isinteger(l, -1) != 0 {
                        ffi::lua_tointegerx(l, -1, std::ptr::null_mut())
                    } else {
                        0
                    }
                };
                if k < 1 {
                    ffi::lua_settop(l, -2);
                    array = false;
                    break;
                }
                items += 1;
                max = max.max(k);
            }
            if marked && !array {
                return Err(EncodeError::MarkedNotArray);
            }
            if array && (items > 0 || marked) {
                if max > items * SPARSE_RATIO && max > SPARSE_SAFE {
                    return Err(EncodeError::Sparse { max, items });
                }
                self.out.push(b'[');
                for i in 1..=max {
                    if i > 1 {
                        self.out.push(b',');
                    }
                    ffi::lua_rawgeti(l, idx, i);
                    let r = self.value(ffi::lua_gettop(l), depth + 1);
                    ffi::lua_settop(l, -2);
                    r?;
                }
                self.out.push(b']');
                return Ok(());
            }
            self.out.push(b'{');
            let mut first = true;
            ffi::lua_pushnil(l);
            while ffi::lua_next(l, idx) != 0 {
                if !first {
                    self.out.push(b',');
                }
                first = false;
                let top = ffi::lua_gettop(l);
                // Never lua_tolstring on a number key: it would turn the key into a string in
                // place and break the traversal.
                match ffi::lua_type(l, top - 1) {
                    ffi::LUA_TSTRING => {
                        let s = bytes(l, top - 1);
                        self.string(s)?;
                    }
                    ffi::LUA_TNUMBER if ffi::lua_isinteger(l, top - 1) != 0 => {
                        let i = ffi::lua_tointegerx(l, top - 1, std::ptr::null_mut());
                        self.out.push(b'"');
                        self.out
                            .extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
                        self.out.push(b'"');
                    }
                    t => return Err(EncodeError::KeyType(type_name(l, t))),
                }
                self.out.push(b':');
                self.value(top, depth + 1)?;
                ffi::lua_settop(l, -2);
            }
            self.out.push(b'}');
            Ok(())
        }
    }

    fn string(&mut self, s: &[u8]) -> Result<(), EncodeError> {
        if std::str::from_utf8(s).is_err() {
            return Err(EncodeError::Utf8);
        }
        let out = &mut *self.out;
        out.reserve(s.len() + 2);
        out.push(b'"');
        let mut start = 0;
        for (i, &b) in s.iter().enumerate() {
            let esc = ESCAPE[b as usize];
            if esc == 0 {
                continue;
            }
            out.extend_from_slice(&s[start..i]);
            start = i + 1;
            if esc == b'u' {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[(b >> 4) as usize],
                    HEX[(b & 15) as usize],
                ]);
            } else {
                out.extend_from_slice(&[b'\\', esc]);
            }
        }
        out.extend_from_slice(&s[start..]);
        out.push(b'"');
        Ok(())
    }
}

/// For each byte: 0 when it is written as is, else the letter after the backslash (`u` for a
/// `\u00XX` escape). JSON requires escaping `"`, `\` and the control characters.
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

/// The bytes of the string at `idx`.
///
/// # Safety
/// A string is at the valid index `idx` (so no conversion happens); the slice must not outlive
/// the value's place on the stack.
unsafe fn bytes<'a>(l: *mut ffi::lua_State, idx: c_int) -> &'a [u8] {
    let mut len = 0;
    // SAFETY: the caller's contract.
    let p = unsafe { ffi::lua_tolstring(l, idx, &mut len) };
    // SAFETY: Lua gives `len` readable bytes at `p`, alive while the value is on the stack.
    unsafe { std::slice::from_raw_parts(p as *const u8, len) }
}

/// The name of Lua type `t`.
///
/// # Safety
/// `t` is a valid type tag.
unsafe fn type_name(l: *mut ffi::lua_State, t: c_int) -> &'static str {
    // SAFETY: Lua's type names are static C strings.
    let name = unsafe { std::ffi::CStr::from_ptr(ffi::lua_typename(l, t)) };
    name.to_str().unwrap_or("?")
}
