//! JSON text to Lua values, for `silly.encoding.json.c`'s `decode`.
//!
//! serde_json parses; a `DeserializeSeed` pushes each value on the Lua stack as soon as it is
//! parsed (a table is created when its `[` or `{` is seen and filled item by item), so no
//! intermediate `serde_json::Value` tree is built. The depth is counted here (serde_json's own
//! limit is turned off), and a depth bomb is refused before the Rust stack can run out.

use std::ffi::c_int;
use std::fmt;

use mlua::ffi;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::json::{MAX_DEPTH, push_array_mt, push_null};

const DEPTH: &str = "nesting deeper than 1000";
const _: () = assert!(MAX_DEPTH == 1000, "DEPTH names the limit");

/// Why a decode failed, with the 1-based position of the offending byte (one past the end for
/// a premature end of the input).
pub struct DecodeError {
    pub message: String,
    pub byte: usize,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "json: {} at byte {}", self.message, self.byte)
    }
}

/// Parses `input` and leaves the value on top of the stack of `l`. On error the stack may hold
/// partial values: the caller resets it.
///
/// # Safety
/// `l` is the state of a running C function call. No Lua call made here can raise: mlua's
/// allocator aborts instead of failing when no memory limit is set (`json.rs` lifts `--max-memory`'s while this runs), and
/// only fresh tables are written, with string or integer keys.
pub unsafe fn decode(l: *mut ffi::lua_State, input: &[u8]) -> Result<(), DecodeError> {
    // One UTF-8 check of the whole text is cheaper than serde_json's check of each string;
    // text that is not UTF-8 takes the byte path, which finds and places the error.
    let res = match std::str::from_utf8(input) {
        Ok(text) => parse(l, serde_json::Deserializer::from_str(text)),
        Err(_) => parse(l, serde_json::Deserializer::from_slice(input)),
    };
    res.map_err(|e| describe(&e, input))
}

fn parse<'de, R: serde_json::de::Read<'de>>(
    l: *mut ffi::lua_State,
    mut de: serde_json::Deserializer<R>,
) -> Result<(), serde_json::Error> {
    de.disable_recursion_limit();
    Push { l, depth: 0 }
        .deserialize(&mut de)
        .and_then(|()| de.end())
}

/// Turns serde_json's "<message> at line L column C" into a message and a byte position, and
/// names the byte found where one was expected.
fn describe(e: &serde_json::Error, input: &[u8]) -> DecodeError {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = text.strip_suffix(&suffix).unwrap_or(&text);
    if e.is_eof() {
        return DecodeError {
            message: format!("unexpected end of input ({message})"),
            byte: input.len() + 1,
        };
    }
    // serde_json counts lines by '\n' and columns in bytes from 1.
    let line_start = if e.line() <= 1 {
        0
    } else {
        memchr::memchr_iter(b'\n', input)
            .nth(e.line() - 2)
            .map_or(input.len(), |i| i + 1)
    };
    let byte = if message == DEPTH {
        // serde_json may have read past the bracket when it reports the error: find it.
        too_deep_at(input)
    } else {
        line_start + e.column()
    }
    .clamp(1, input.len() + 1);
    let message = match input.get(byte - 1) {
        Some(&b) if is_syntax(message) => format!("{message}, got {}", show(b)),
        _ => message.to_string(),
    };
    DecodeError { message, byte }
}

/// The 1-based position of the first `[` or `{` nested deeper than `MAX_DEPTH`.
fn too_deep_at(input: &[u8]) -> usize {
    let (mut depth, mut in_string, mut escaped) = (0, false, false);
    for (i, &b) in input.iter().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return i + 1;
                }
            }
            b']' | b'}' => depth -= 1,
            _ => {}
        }
    }
    input.len() + 1
}

/// The messages that mean "this byte is not what the grammar allows here".
fn is_syntax(message: &str) -> bool {
    message.starts_with("expected")
        || message == "trailing characters"
        || message == "key must be a string"
}

fn show(b: u8) -> String {
    if b.is_ascii_graphic() || b == b' ' {
        format!("'{}'", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}

/// Pushes one JSON value (and everything inside it) on the Lua stack.
struct Push {
    l: *mut ffi::lua_State,
    /// Arrays and objects around this value.
    depth: usize,
}

impl Push {
    /// A container one level deeper, refused past the limit. Also makes room on the Lua stack
    /// for the new table and a key and value on top of it.
    fn enter<E: de::Error>(&self) -> Result<Push, E> {
        // SAFETY: `l` is a running state (decode's contract); lua_checkstack never raises.
        if self.depth >= MAX_DEPTH || unsafe { ffi::lua_checkstack(self.l, 4) } == 0 {
            return Err(E::custom(DEPTH));
        }
        Ok(Push {
            l: self.l,
            depth: self.depth + 1,
        })
    }
}

impl<'de> DeserializeSeed<'de> for Push {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

// SAFETY (every block below): `l` is a running state (decode's contract) with room for the
// pushes (checked by `enter` for each table level; a scalar needs one slot, LUA_MINSTACK
// guarantees the top level); pushes and raw sets on a fresh table do not raise.
impl<'de> Visitor<'de> for Push {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        // SAFETY: see above.
        unsafe { push_null(self.l) };
        Ok(())
    }

    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        // SAFETY: see above.
        unsafe { ffi::lua_pushboolean(self.l, v as c_int) };
        Ok(())
    }

    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        // SAFETY: see above.
        unsafe { ffi::lua_pushinteger(self.l, v) };
        Ok(())
    }

    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        // Past i64::MAX a Lua integer would wrap: the nearest float keeps the magnitude.
        match i64::try_from(v) {
            // SAFETY: see above.
            Ok(i) => unsafe { ffi::lua_pushinteger(self.l, i) },
            // SAFETY: see above.
            Err(_) => unsafe { ffi::lua_pushnumber(self.l, v as f64) },
        }
        Ok(())
    }

    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        // SAFETY: see above.
        unsafe { ffi::lua_pushnumber(self.l, v) };
        Ok(())
    }

    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        // SAFETY: see above; Lua copies the bytes.
        unsafe { ffi::lua_pushlstring(self.l, v.as_ptr() as *const _, v.len()) };
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let inner = self.enter()?;
        // SAFETY: see above.
        unsafe { ffi::lua_createtable(self.l, 0, 0) };
        let mut n: ffi::lua_Integer = 0;
        while seq
            .next_element_seed(Push {
                l: self.l,
                depth: inner.depth,
            })?
            .is_some()
        {
            n += 1;
            // SAFETY: see above; the item is on top, the table below it.
            unsafe { ffi::lua_rawseti(self.l, -2, n) };
        }
        if n == 0 {
            // An empty array keeps its kind, so it encodes back as `[]`.
            // SAFETY: see above.
            unsafe {
                push_array_mt(self.l);
                ffi::lua_setmetatable(self.l, -2);
            }
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let inner = self.enter()?;
        // SAFETY: see above.
        unsafe { ffi::lua_createtable(self.l, 0, 0) };
        while map
            .next_key_seed(Push {
                l: self.l,
                depth: inner.depth,
            })?
            .is_some()
        {
            map.next_value_seed(Push {
                l: self.l,
                depth: inner.depth,
            })?;
            // SAFETY: see above; key and value are on top (a key is always a string, never nil
            // or NaN), the table below them. A repeated key keeps its last value.
            unsafe { ffi::lua_rawset(self.l, -3) };
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(input: &[u8]) -> DecodeError {
        let e = serde_json::from_slice::<serde::de::IgnoredAny>(input).unwrap_err();
        describe(&e, input)
    }

    #[test]
    fn positions_are_one_based_bytes() {
        assert_eq!(
            err(b"[1,}").to_string(),
            "json: expected value, got '}' at byte 4"
        );
        assert_eq!(err(b"\n\n }").byte, 4);
        assert_eq!(
            err(b"[1]\n x").to_string(),
            "json: trailing characters, got 'x' at byte 6"
        );
        assert_eq!(
            err(b"").to_string(),
            "json: unexpected end of input (EOF while parsing a value) at byte 1"
        );
        assert_eq!(err(b"[1").byte, 3);
    }

    #[test]
    fn too_deep_finds_the_bracket() {
        // `["[[\"",` is 8 bytes: the brackets inside the string do not count.
        let mut s = br#"["[[\"","#.to_vec();
        s.extend(std::iter::repeat_n(b'{', MAX_DEPTH));
        assert_eq!(too_deep_at(&s), 8 + MAX_DEPTH);
        assert_eq!(too_deep_at(b"[[]]"), 5);
    }
}
