//! HTTP/1.x heads: a received head parsed by httparse into the table the stdlib's HTTP
//! module works with, and a response head built from the handler's fields.
//!
//! A parsed head is `{method, target, minor, header, n}` for a request and
//! `{status, reason, minor, header, n}` for a response: `header` maps lower-case names to
//! the value, or to an array of the values of a repeated field, in arrival order; `n` counts
//! the fields. A head that cannot be accepted is the HTTP status that says why, as an integer.

use mlua::{Lua, Table, Value};

use crate::native::net::http::date;

/// The most fields a head may have (the `maxheaders` option is at most this).
pub const MAX_FIELDS: usize = 256;

/// The head bytes a bounded read returned: they end with the blank line, or they are the
/// whole budget without one. Which status the excess is, if it is.
fn excess(bytes: &[u8]) -> Option<i64> {
    if bytes.ends_with(b"\r\n\r\n") {
        return None;
    }
    // No line end at all: the request line alone is over the limit.
    Some(if memchr::memchr(b'\n', bytes).is_none() {
        414
    } else {
        431
    })
}

fn fields(lua: &Lua, list: &[httparse::Header<'_>]) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(0, list.len())?;
    let mut lower = Vec::with_capacity(32);
    for h in list {
        lower.clear();
        lower.extend(h.name.bytes().map(|b| b.to_ascii_lowercase()));
        let name = lua.create_string(&lower)?;
        let value = lua.create_string(h.value)?;
        match t.raw_get::<Value>(&name)? {
            Value::Nil => t.raw_set(name, value)?,
            Value::Table(list) => list.raw_push(value)?,
            first => {
                let list = lua.create_sequence_from([first, Value::String(value)])?;
                t.raw_set(name, list)?;
            }
        }
    }
    Ok(t)
}

/// A request head, for `Stream::read_as`.
pub fn request(lua: &Lua, bytes: &[u8]) -> mlua::Result<Value> {
    if let Some(status) = excess(bytes) {
        return Ok(Value::Integer(status));
    }
    let mut list = [httparse::EMPTY_HEADER; MAX_FIELDS];
    let mut req = httparse::Request::new(&mut list);
    let status = match req.parse(bytes) {
        Ok(httparse::Status::Complete(_)) => None,
        Ok(httparse::Status::Partial) => Some(400),
        Err(httparse::Error::Version) => Some(505),
        Err(httparse::Error::TooManyHeaders) => Some(431),
        Err(_) => Some(400),
    };
    if let Some(s) = status {
        return Ok(Value::Integer(s));
    }
    let t = lua.create_table_with_capacity(0, 5)?;
    t.raw_set("method", req.method.unwrap_or_default())?;
    t.raw_set("target", req.path.unwrap_or_default())?;
    t.raw_set("minor", req.version.unwrap_or(1))?;
    t.raw_set("n", req.headers.len())?;
    t.raw_set("header", fields(lua, req.headers)?)?;
    Ok(Value::Table(t))
}

/// A response head, for `Stream::read_as`.
pub fn response(lua: &Lua, bytes: &[u8]) -> mlua::Result<Value> {
    if excess(bytes).is_some() {
        return Ok(Value::Integer(431));
    }
    let mut list = [httparse::EMPTY_HEADER; MAX_FIELDS];
    let mut resp = httparse::Response::new(&mut list);
    match resp.parse(bytes) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return Ok(Value::Integer(400)),
    }
    let t = lua.create_table_with_capacity(0, 5)?;
    t.raw_set("status", resp.code.unwrap_or_default())?;
    t.raw_set("reason", resp.reason.unwrap_or_default())?;
    t.raw_set("minor", resp.version.unwrap_or(1))?;
    t.raw_set("n", resp.headers.len())?;
    t.raw_set("header", fields(lua, resp.headers)?)?;
    Ok(Value::Table(t))
}

/// The reason phrase of a status; "" for the unusual ones (the phrase is optional).
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        417 => "Expectation Failed",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// A field name is a token (RFC 9110 §5.1).
fn is_token(name: &[u8]) -> bool {
    !name.is_empty()
        && name
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Appends "name: value\r\n"; a value with CR, LF or NUL would split the response.
fn push_field(out: &mut Vec<u8>, name: &[u8], value: &[u8]) -> Result<(), String> {
    if value.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(format!(
            "header '{}': value contains CR, LF or NUL",
            String::from_utf8_lossy(name)
        ));
    }
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
    Ok(())
}

fn value_bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Integer(n) => Some(n.to_string().into_bytes()),
        Value::Number(n) => Some(n.to_string().into_bytes()),
        _ => None,
    }
}

/// What the server (or client) adds to the caller's fields.
#[derive(Default)]
pub struct Extra<'a> {
    /// `host` (requests: the URL's authority, unless the caller gave one).
    pub host: Option<&'a str>,
    /// No `date` (requests carry none).
    pub no_date: bool,
    /// `content-length` (when the handler gave none and the length is known).
    pub length: Option<u64>,
    pub chunked: bool,
    /// `connection: close`.
    pub close: bool,
}

/// A response head: the status line, the handler's fields (checked: a bad name, or a value
/// with CR, LF or NUL, is the error message), `date` unless given, then `extra`.
pub fn build_response(
    status: u16,
    header: Option<&Table>,
    extra: &Extra,
) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(reason(status).as_bytes());
    out.extend_from_slice(b"\r\n");
    fields_and_extra(out, header, extra)
}

/// A request head: the request line, then the fields as for a response (no `date`; `host`
/// from `extra` unless the caller gave one). The method must be a token and the target free
/// of spaces and control characters.
pub fn build_request(
    method: &[u8],
    target: &[u8],
    header: Option<&Table>,
    extra: &Extra,
) -> Result<Vec<u8>, String> {
    if !is_token(method) {
        return Err(format!(
            "method {:?} is not a token",
            String::from_utf8_lossy(method)
        ));
    }
    if target.is_empty() || target.iter().any(|&b| b <= b' ' || b == 0x7f) {
        return Err(format!(
            "target {:?} is empty or has spaces or control characters",
            String::from_utf8_lossy(target)
        ));
    }
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(method);
    out.push(b' ');
    out.extend_from_slice(target);
    out.extend_from_slice(b" HTTP/1.1\r\n");
    fields_and_extra(out, header, extra)
}

fn fields_and_extra(
    mut out: Vec<u8>,
    header: Option<&Table>,
    extra: &Extra,
) -> Result<Vec<u8>, String> {
    let mut dated = extra.no_date;
    let mut hosted = extra.host.is_none();
    if let Some(h) = header {
        for pair in h.pairs::<Value, Value>() {
            let (k, v) = pair.map_err(|e| e.to_string())?;
            let Value::String(k) = k else {
                return Err(format!(
                    "header name must be a string, got {}",
                    k.type_name()
                ));
            };
            let name = k.as_bytes();
            if !is_token(&name) {
                return Err(format!(
                    "header name {:?} is not a token",
                    String::from_utf8_lossy(&name)
                ));
            }
            dated |= name.eq_ignore_ascii_case(b"date");
            hosted |= name.eq_ignore_ascii_case(b"host");
            match &v {
                Value::Table(list) => {
                    for item in list.sequence_values::<Value>() {
                        let item = item.map_err(|e| e.to_string())?;
                        let b = value_bytes(&item).ok_or_else(|| {
                            format!(
                                "header '{}': values must be strings or numbers",
                                String::from_utf8_lossy(&name)
                            )
                        })?;
                        push_field(&mut out, &name, &b)?;
                    }
                }
                other => {
                    let b = value_bytes(other).ok_or_else(|| {
                        format!(
                            "header '{}': string, number or array expected, got {}",
                            String::from_utf8_lossy(&name),
                            other.type_name()
                        )
                    })?;
                    push_field(&mut out, &name, &b)?;
                }
            }
        }
    }
    if !dated {
        date::append_field(&mut out);
    }
    if let (false, Some(h)) = (hosted, extra.host) {
        push_field(&mut out, b"host", h.as_bytes())?;
    }
    if let Some(n) = extra.length {
        out.extend_from_slice(b"content-length: ");
        out.extend_from_slice(n.to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if extra.chunked {
        out.extend_from_slice(b"transfer-encoding: chunked\r\n");
    }
    if extra.close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excess_tells_a_long_request_line_from_long_fields() {
        assert_eq!(excess(b"GET / HTTP/1.1\r\nhost: a\r\n\r\n"), None);
        assert_eq!(excess(b"GET /aaaaaaaaaaaaaaaa"), Some(414));
        assert_eq!(excess(b"GET / HTTP/1.1\r\nx: aaaaaaaa"), Some(431));
    }

    #[test]
    fn tokens() {
        assert!(is_token(b"content-type"));
        assert!(is_token(b"X-Custom_1"));
        assert!(!is_token(b""));
        assert!(!is_token(b"bad name"));
        assert!(!is_token(b"bad:name"));
    }

    #[test]
    fn values_cannot_split_the_response() {
        let mut out = Vec::new();
        assert!(push_field(&mut out, b"x", b"a\r\nset-cookie: evil").is_err());
        assert!(push_field(&mut out, b"x", b"a\0").is_err());
        assert!(out.is_empty());
        push_field(&mut out, b"x", b"fine value").unwrap();
        assert_eq!(out, b"x: fine value\r\n");
    }
}
