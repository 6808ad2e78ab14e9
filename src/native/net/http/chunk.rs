//! Chunked transfer coding (RFC 9112 §7.1): a whole chunk (size line, data, CRLF) read as one
//! unit from the connection's buffer and handed over as its data, so a chunked body costs one
//! native call per chunk. Chunk extensions are skipped; trailer fields are read line by line
//! by the Lua side after the last chunk.

use mlua::{Lua, Value};

/// The longest chunk-size line accepted (with extensions).
pub const LINE_MAX: usize = 8192;
/// Hex digits of a size: 15 keep it below 2^60.
const HEX_MAX: usize = 15;

/// The chunk-size line at the start of `b`: its length with CRLF and the size; Err for a
/// malformed line; None when more bytes are needed.
fn line(b: &[u8]) -> Option<Result<(usize, u64), ()>> {
    let scan = &b[..b.len().min(LINE_MAX)];
    let Some(end) = memchr::memmem::find(scan, b"\r\n") else {
        return (b.len() >= LINE_MAX).then_some(Err(()));
    };
    let digits = scan[..end]
        .iter()
        .take_while(|c| c.is_ascii_hexdigit())
        .count();
    if digits == 0 || digits > HEX_MAX {
        return Some(Err(()));
    }
    let rest = &scan[digits..end];
    if !(rest.is_empty() || rest[0] == b';' || rest[0] == b' ' || rest[0] == b'\t') {
        return Some(Err(()));
    }
    let hex = std::str::from_utf8(&scan[..digits]).map_err(|_| ());
    Some(
        hex.and_then(|h| u64::from_str_radix(h, 16).map_err(|_| ()))
            .map(|n| (end + 2, n)),
    )
}

/// The whole unit's length once the size line is in (see `Request::Sized`).
pub fn size(b: &[u8]) -> Option<usize> {
    Some(match line(b)? {
        Err(()) => usize::MAX,
        Ok((l, 0)) => l,
        Ok((l, n)) => usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_add(l + 2))
            .unwrap_or(usize::MAX),
    })
}

/// What the Lua side gets for a unit: the chunk's data; `false` for the last chunk; -1 for a
/// malformed chunk, -2 for one cut short by the read's limit (the body is too large).
pub fn decode(lua: &Lua, b: &[u8]) -> mlua::Result<Value> {
    Ok(match line(b) {
        Some(Ok((l, 0))) if b.len() == l => Value::Boolean(false),
        Some(Ok((l, n))) => match usize::try_from(n).ok().and_then(|n| n.checked_add(l + 2)) {
            Some(total) if b.len() == total => {
                if b.ends_with(b"\r\n") {
                    Value::String(lua.create_string(&b[l..total - 2])?)
                } else {
                    Value::Integer(-1)
                }
            }
            _ => Value::Integer(-2),
        },
        _ => Value::Integer(-1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_of_chunks() {
        assert_eq!(size(b"5\r\nhello\r\n"), Some(10));
        assert_eq!(size(b"A;name=value\r\n"), Some(14 + 12));
        assert_eq!(size(b"0\r\n\r\n"), Some(3), "the last chunk is its line");
        assert_eq!(size(b"5"), None, "the line is not complete");
        assert_eq!(size(b"zz\r\n"), Some(usize::MAX));
        assert_eq!(size(b"-5\r\n"), Some(usize::MAX));
        assert_eq!(size(b"5x\r\n"), Some(usize::MAX));
        assert_eq!(
            size(b"1234567890abcdef0\r\n"),
            Some(usize::MAX),
            "over 15 hex digits"
        );
        assert_eq!(
            size(&vec![b'1'; LINE_MAX]),
            Some(usize::MAX),
            "no line end in time"
        );
    }

    #[test]
    fn decoding_checks_the_crlf_after_the_data() {
        let lua = Lua::new();
        let ok = decode(&lua, b"5\r\nhello\r\n").unwrap();
        assert_eq!(ok.as_string().unwrap().to_str().unwrap(), "hello");
        assert_eq!(decode(&lua, b"0\r\n").unwrap(), Value::Boolean(false));
        assert_eq!(decode(&lua, b"5\r\nhelloXX").unwrap(), Value::Integer(-1));
        assert_eq!(decode(&lua, b"5\r\nhel").unwrap(), Value::Integer(-2));
    }
}
