//! HTTP/1.x heads: a received head parsed by httparse into the table the stdlib's HTTP
//! module works with, and a response head built from the handler's fields.
//!
//! A parsed head is `{method, target, minor, header, n}` for a request and
//! `{status, reason, minor, header, n}` for a response: `header` maps lower-case names to
//! the value, or to an array of the values of a repeated field, in arrival order; `n` counts
//! the fields. A head that cannot be accepted is the HTTP status that says why, as an integer.

use std::ffi::{CStr, c_int};

use mlua::{Lua, Table, Value, ffi};

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

/// The head table (module doc): the first line's three parts and the fields.
///
/// Built with the raw Lua API in one protected call: pushing each string directly costs a
/// fraction of mlua's per-value reference slots, which were most of the native cost of a
/// request with browser-like fields. Everything with a destructor (the lower-cased names)
/// lives outside the protected closure, so a Lua error (out of memory) inside it skips no
/// Rust destructor.
fn head_table(
    lua: &Lua,
    first: (&CStr, &[u8]),
    second: (&CStr, &[u8]),
    minor: u8,
    list: &[httparse::Header<'_>],
) -> mlua::Result<Value> {
    let n = list.len();
    // Lower-cased names, back to back.
    let mut names = Vec::with_capacity(list.iter().map(|h| h.name.len()).sum());
    let mut ends = [0usize; MAX_FIELDS];
    for (i, h) in list.iter().enumerate() {
        names.extend(h.name.bytes().map(|b| b.to_ascii_lowercase()));
        ends[i] = names.len();
    }
    let name = |i: usize| &names[if i == 0 { 0 } else { ends[i - 1] }..ends[i]];
    // For each field, the first field of the same name: repeated names become arrays.
    let mut group = [0u16; MAX_FIELDS];
    let mut unique = 0;
    for i in 0..n {
        group[i] = (0..i)
            .find(|&j| group[j] as usize == j && name(j) == name(i))
            .unwrap_or(i) as u16;
        unique += usize::from(group[i] as usize == i);
    }
    // SAFETY: the closure only uses the state it is given, keeps at most 5 values above its
    // base (room is checked first), and holds nothing with a destructor (see above).
    unsafe {
        lua.exec_raw::<Value>((), |l| {
            ffi::luaL_checkstack(l, 8, c"http head".as_ptr());
            ffi::lua_createtable(l, 0, 5);
            push_bytes(l, first.1);
            ffi::lua_setfield(l, -2, first.0.as_ptr());
            push_bytes(l, second.1);
            ffi::lua_setfield(l, -2, second.0.as_ptr());
            ffi::lua_pushinteger(l, minor.into());
            ffi::lua_setfield(l, -2, c"minor".as_ptr());
            ffi::lua_pushinteger(l, n as ffi::lua_Integer);
            ffi::lua_setfield(l, -2, c"n".as_ptr());
            ffi::lua_createtable(l, 0, unique as c_int);
            for i in 0..n {
                if group[i] as usize != i {
                    continue;
                }
                push_bytes(l, name(i));
                let repeats = (i + 1..n).filter(|&j| group[j] as usize == i).count();
                if repeats == 0 {
                    push_bytes(l, list[i].value);
                } else {
                    ffi::lua_createtable(l, repeats as c_int + 1, 0);
                    let mut k = 0;
                    for j in (i..n).filter(|&j| group[j] as usize == i) {
                        push_bytes(l, list[j].value);
                        k += 1;
                        ffi::lua_rawseti(l, -2, k);
                    }
                }
                ffi::lua_rawset(l, -3);
            }
            ffi::lua_setfield(l, -2, c"header".as_ptr());
        })
    }
}

/// A request head, for `Stream::read_as`.
/// The first "head" of the HTTP/2 connection preface (RFC 9113 §3.4), which an HTTP/1.1
/// parser sees as a request of version 2.0; "SM\r\n\r\n" follows it.
pub const H2_PREFACE_HEAD: &[u8] = b"PRI * HTTP/2.0\r\n\r\n";
/// What `parse_request` answers for it: a client speaking HTTP/2 by prior knowledge (h2c).
pub const H2C: i64 = 2;

pub fn parse_request(lua: &Lua, bytes: &[u8]) -> mlua::Result<Value> {
    if let Some(status) = excess(bytes) {
        return Ok(Value::Integer(status));
    }
    // Uninitialised: a 256-entry array of empty headers would be 8 KiB to fill per request.
    let mut list = [const { std::mem::MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_FIELDS];
    let mut req = httparse::Request::new(&mut []);
    let status = match req.parse_with_uninit_headers(bytes, &mut list) {
        Ok(httparse::Status::Complete(_)) => None,
        Ok(httparse::Status::Partial) => Some(400),
        Err(httparse::Error::Version) => Some(505),
        Err(httparse::Error::TooManyHeaders) => Some(431),
        Err(_) => Some(400),
    };
    if let Some(s) = status {
        if bytes == H2_PREFACE_HEAD {
            return Ok(Value::Integer(H2C));
        }
        return Ok(Value::Integer(s));
    }
    head_table(
        lua,
        (c"method", req.method.unwrap_or_default().as_bytes()),
        (c"target", req.path.unwrap_or_default().as_bytes()),
        req.version.unwrap_or(1),
        req.headers,
    )
}

/// A response head, for `Stream::read_as`.
pub fn parse_response(lua: &Lua, bytes: &[u8]) -> mlua::Result<Value> {
    if excess(bytes).is_some() {
        return Ok(Value::Integer(431));
    }
    let mut list = [const { std::mem::MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_FIELDS];
    let mut resp = httparse::Response::new(&mut []);
    match httparse::ParserConfig::default()
        .parse_response_with_uninit_headers(&mut resp, bytes, &mut list)
    {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return Ok(Value::Integer(400)),
    }
    let code = resp.code.unwrap_or_default().to_string();
    let head = head_table(
        lua,
        (c"status", code.as_bytes()),
        (c"reason", resp.reason.unwrap_or_default().as_bytes()),
        resp.version.unwrap_or(1),
        resp.headers,
    )?;
    // The status is a number for the client (docs/http.md).
    if let Value::Table(t) = &head {
        t.raw_set("status", resp.code.unwrap_or_default())?;
    }
    Ok(head)
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

/// The name of the type of the value at `idx`, for error messages.
///
/// # Safety
/// `l` is a running state and `idx` a valid index of it.
pub(crate) unsafe fn type_name(l: *mut ffi::lua_State, idx: c_int) -> String {
    // SAFETY: the caller's contract; type names are static C strings.
    unsafe { CStr::from_ptr(ffi::lua_typename(l, ffi::lua_type(l, idx))) }
        .to_string_lossy()
        .into_owned()
}

/// The bytes of the string at `idx`, if it is one (nothing is converted, so nothing raises).
///
/// # Safety
/// As for `type_name`; the slice must not outlive the value's place on the stack.
pub(crate) unsafe fn string_at<'a>(l: *mut ffi::lua_State, idx: c_int) -> Option<&'a [u8]> {
    // SAFETY: the caller's contract.
    unsafe {
        if ffi::lua_type(l, idx) != ffi::LUA_TSTRING {
            return None;
        }
        let mut len = 0;
        let p = ffi::lua_tolstring(l, idx, &mut len);
        Some(std::slice::from_raw_parts(p as *const u8, len))
    }
}

/// Room for a number written out as a field value (`value_at`): an integer without an
/// allocation.
#[derive(Default)]
pub(crate) struct NumberText {
    int: itoa::Buffer,
    float: String,
}

/// The bytes of the field value at `idx`: a string's own bytes, or a number written out in
/// `text`; None for any other type. Nothing is converted on the Lua side, so nothing raises.
///
/// # Safety
/// As for `string_at`.
pub(crate) unsafe fn value_at(
    l: *mut ffi::lua_State,
    idx: c_int,
    text: &mut NumberText,
) -> Option<&[u8]> {
    // SAFETY: the caller's contract.
    unsafe {
        match ffi::lua_type(l, idx) {
            ffi::LUA_TSTRING => string_at(l, idx),
            ffi::LUA_TNUMBER if ffi::lua_isinteger(l, idx) != 0 => {
                let n = ffi::lua_tointegerx(l, idx, std::ptr::null_mut());
                Some(text.int.format(n).as_bytes())
            }
            ffi::LUA_TNUMBER => {
                text.float = ffi::lua_tonumberx(l, idx, std::ptr::null_mut()).to_string();
                Some(text.float.as_bytes())
            }
            _ => None,
        }
    }
}

/// Pushes `s` as a Lua string.
///
/// # Safety
/// `l` is a running state in a protected call (a memory error raises), with a free slot.
pub(crate) unsafe fn push_bytes(l: *mut ffi::lua_State, s: &[u8]) {
    // SAFETY: the caller's contract.
    unsafe { ffi::lua_pushlstring(l, s.as_ptr().cast(), s.len()) };
}

/// Appends one field with the value at `idx` (a string, or a number written as Lua writes
/// it), noting what the framing depends on.
///
/// # Safety
/// As for `type_name`.
unsafe fn push_value(
    l: *mut ffi::lua_State,
    idx: c_int,
    out: &mut Vec<u8>,
    name: &[u8],
    given: &mut Given,
) -> Result<(), String> {
    let mut text = NumberText::default();
    // SAFETY: the caller's contract.
    let Some(b) = (unsafe { value_at(l, idx, &mut text) }) else {
        return Err(format!(
            "header '{}': string, number or array of them expected, got {}",
            String::from_utf8_lossy(name),
            // SAFETY: as above.
            unsafe { type_name(l, idx) }
        ));
    };
    if name.eq_ignore_ascii_case(b"content-length") {
        given.length = std::str::from_utf8(b)
            .ok()
            .and_then(|t| t.trim().parse().ok());
    } else if name.eq_ignore_ascii_case(b"connection") {
        given.close |= b
            .split(|&c| c == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"close"));
    }
    push_field(out, name, b)
}

/// Appends the field whose name and value are at -2 and -1.
///
/// # Safety
/// `l` is a running state with the pair on top and one free slot.
unsafe fn push_pair(
    l: *mut ffi::lua_State,
    out: &mut Vec<u8>,
    given: &mut Given,
) -> Result<(), String> {
    // SAFETY: the caller's contract.
    let Some(name) = (unsafe { string_at(l, -2) }) else {
        // SAFETY: the caller's contract.
        let got = unsafe { type_name(l, -2) };
        return Err(format!("header name must be a string, got {got}"));
    };
    if !is_token(name) {
        return Err(format!(
            "header name {:?} is not a token",
            String::from_utf8_lossy(name)
        ));
    }
    let is = |n: &[u8]| name.eq_ignore_ascii_case(n);
    given.date |= is(b"date");
    given.host |= is(b"host");
    given.te |= is(b"transfer-encoding");
    // SAFETY: the caller's contract; rawgeti reads without metamethods and never raises.
    unsafe {
        if ffi::lua_type(l, -1) != ffi::LUA_TTABLE {
            return push_value(l, -1, out, name, given);
        }
        let mut i = 1;
        while ffi::lua_rawgeti(l, -1, i) != ffi::LUA_TNIL {
            let r = push_value(l, -1, out, name, given);
            ffi::lua_pop(l, 1);
            r?;
            i += 1;
        }
        ffi::lua_pop(l, 1);
    }
    Ok(())
}

/// What the caller's own fields said that the framing depends on.
#[derive(Default)]
struct Given {
    /// A `content-length` (its value, when it is a number).
    length: Option<u64>,
    /// A `transfer-encoding`: the caller frames the body itself.
    te: bool,
    /// `connection` holding the token `close`.
    close: bool,
    date: bool,
    host: bool,
}

/// Appends the caller's fields (checked: a bad name, or a value with CR, LF or NUL, is the
/// error message) and reports what they said.
///
/// The table is walked with the raw Lua API in one protected call: nothing is converted or
/// allocated on the Lua side, where mlua's `pairs` made a reference slot for every key and
/// value.
fn push_fields(lua: &Lua, out: &mut Vec<u8>, header: Option<&Table>) -> Result<Given, String> {
    let mut given = Given::default();
    let Some(h) = header else {
        return Ok(given);
    };
    let mut walked = Ok(());
    // SAFETY: the closure reads the table given as its one argument (index 1) with calls
    // that cannot raise (see `walk_fields`), keeps at most 3 values above it (room is
    // checked), and what it creates with a destructor (an error message) is moved out before
    // it returns.
    unsafe {
        lua.exec_raw::<()>(h, |l| {
            ffi::luaL_checkstack(l, 4, c"http fields".as_ptr());
            walked = walk_fields(l, 1, out, &mut given);
        })
    }
    .map_err(|e| e.to_string())?;
    walked.map(|()| given)
}

/// Appends the fields of the table at `idx`. Nothing here raises: `lua_next` gets back the
/// key it returned, and values are read without conversion. On an error the stack is as it
/// was.
///
/// # Safety
/// `l` is a running state, `idx` a valid absolute index of a table, with 3 free slots.
unsafe fn walk_fields(
    l: *mut ffi::lua_State,
    idx: c_int,
    out: &mut Vec<u8>,
    given: &mut Given,
) -> Result<(), String> {
    // SAFETY: the caller's contract.
    unsafe {
        let top = ffi::lua_gettop(l);
        ffi::lua_pushnil(l);
        while ffi::lua_next(l, idx) != 0 {
            if let Err(e) = push_pair(l, out, given) {
                ffi::lua_settop(l, top);
                return Err(e);
            }
            ffi::lua_pop(l, 1);
        }
    }
    Ok(())
}

fn push_number(out: &mut Vec<u8>, name: &[u8], n: u64) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(n.to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// How a response's body is delimited, as the Lua side tracks it.
#[derive(Debug, PartialEq, Eq)]
pub enum Framing {
    /// Exactly this many bytes.
    Length(u64),
    Chunked,
    /// Until the connection closes (an HTTP/1.0 client).
    Close,
    /// No body (HEAD, 1xx, 204, 304).
    None,
    /// The handler gave its own `transfer-encoding` and frames the body itself.
    Raw,
}

/// What the server knows of the request a response answers.
pub struct Req {
    /// HEAD, or a status without a body: nothing is written after the head.
    pub nobody: bool,
    /// An HTTP/1.0 client: no chunked framing.
    pub http10: bool,
    /// The connection ends after this response.
    pub close: bool,
    /// The body's length when the server knows it (`closewrite(data)` without `respond`).
    pub length: Option<u64>,
}

/// A response head: the status line, the handler's fields, `date` unless given, and the
/// framing the server chooses: the handler's `content-length` if given; else the known
/// length; else chunked, or close-delimited for HTTP/1.0. Also says whether the connection
/// closes after it (the request, or the handler's `connection: close`).
pub fn response(
    lua: &Lua,
    status: u16,
    header: Option<&Table>,
    req: &Req,
) -> Result<(Vec<u8>, Framing, bool), String> {
    let mut out = status_line(status);
    let given = push_fields(lua, &mut out, header)?;
    Ok(complete(out, given, status, req))
}

/// `response` for a raw C function, with the fields in the table at stack index `idx`.
///
/// # Safety
/// `l` is a running state, `idx` a valid absolute index of a table, with 3 free slots.
pub unsafe fn response_raw(
    l: *mut ffi::lua_State,
    status: u16,
    idx: Option<c_int>,
    req: &Req,
) -> Result<(Vec<u8>, Framing, bool), String> {
    let mut out = status_line(status);
    let mut given = Given::default();
    if let Some(idx) = idx {
        // SAFETY: the caller's contract.
        unsafe { walk_fields(l, idx, &mut out, &mut given) }?;
    }
    Ok(complete(out, given, status, req))
}

fn status_line(status: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(reason(status).as_bytes());
    out.extend_from_slice(b"\r\n");
    out
}

/// The rest of a response head after the handler's fields: `date`, the framing, `connection`.
fn complete(mut out: Vec<u8>, given: Given, status: u16, req: &Req) -> (Vec<u8>, Framing, bool) {
    if !given.date {
        date::append_field(&mut out);
    }
    let mut close = req.close || given.close;
    let framing = if req.nobody {
        // A HEAD response tells the length the GET would have.
        if let (Some(n), None, true) = (
            req.length,
            given.length,
            status >= 200 && status != 204 && status != 304,
        ) {
            push_number(&mut out, b"content-length", n);
        }
        Framing::None
    } else if let Some(n) = given.length {
        Framing::Length(n)
    } else if given.te {
        Framing::Raw
    } else if let Some(n) = req.length {
        push_number(&mut out, b"content-length", n);
        Framing::Length(n)
    } else if req.http10 {
        close = true;
        Framing::Close
    } else {
        out.extend_from_slice(b"transfer-encoding: chunked\r\n");
        Framing::Chunked
    };
    if close && !given.close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    (out, framing, close)
}

/// A request head: the request line, the caller's fields, `host` (the URL's authority)
/// unless given, and `content-length` or chunked framing. The method must be a token and
/// the target free of spaces and control characters.
pub fn request(
    lua: &Lua,
    method: &[u8],
    target: &[u8],
    header: Option<&Table>,
    host: &str,
    length: Option<u64>,
    chunked: bool,
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
    let given = push_fields(lua, &mut out, header)?;
    if !given.host {
        push_field(&mut out, b"host", host.as_bytes())?;
    }
    if let (Some(n), None) = (length, given.length) {
        push_number(&mut out, b"content-length", n);
    }
    if chunked && !given.te {
        out.extend_from_slice(b"transfer-encoding: chunked\r\n");
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
