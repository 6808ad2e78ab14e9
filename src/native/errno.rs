//! `silly.errno.c` and the error strings every module returns (docs/errno.md).
//!
//! An error value is `"<description> (<code>)"`: the platform's `strerror` text, except
//! ETIMEDOUT (always "Operation timed out") and the runtime's own codes from 10000 up.

use std::ffi::CStr;

use mlua::{Lua, Table};

pub const RESOLVE: i32 = 10000;
pub const NOSOCKET: i32 = 10001;
pub const CLOSING: i32 = 10002;
pub const CLOSED: i32 = 10003;
pub const EOF: i32 = 10004;
pub const TLS: i32 = 10005;

/// Every exported name and its code.
pub const NAMES: &[(&str, i32)] = &[
    ("INTR", libc::EINTR),
    ("ACCES", libc::EACCES),
    ("BADF", libc::EBADF),
    ("FAULT", libc::EFAULT),
    ("INVAL", libc::EINVAL),
    ("MFILE", libc::EMFILE),
    ("NFILE", libc::ENFILE),
    ("NOMEM", libc::ENOMEM),
    ("NOBUFS", libc::ENOBUFS),
    ("NOTSOCK", libc::ENOTSOCK),
    ("OPNOTSUPP", libc::EOPNOTSUPP),
    ("AFNOSUPPORT", libc::EAFNOSUPPORT),
    ("PROTONOSUPPORT", libc::EPROTONOSUPPORT),
    ("ADDRINUSE", libc::EADDRINUSE),
    ("ADDRNOTAVAIL", libc::EADDRNOTAVAIL),
    ("NETDOWN", libc::ENETDOWN),
    ("NETUNREACH", libc::ENETUNREACH),
    ("NETRESET", libc::ENETRESET),
    ("HOSTUNREACH", libc::EHOSTUNREACH),
    ("CONNABORTED", libc::ECONNABORTED),
    ("CONNRESET", libc::ECONNRESET),
    ("CONNREFUSED", libc::ECONNREFUSED),
    ("TIMEDOUT", libc::ETIMEDOUT),
    ("ISCONN", libc::EISCONN),
    ("NOTCONN", libc::ENOTCONN),
    ("INPROGRESS", libc::EINPROGRESS),
    ("ALREADY", libc::EALREADY),
    ("AGAIN", libc::EAGAIN),
    ("WOULDBLOCK", libc::EWOULDBLOCK),
    ("PIPE", libc::EPIPE),
    ("DESTADDRREQ", libc::EDESTADDRREQ),
    ("MSGSIZE", libc::EMSGSIZE),
    ("PROTOTYPE", libc::EPROTOTYPE),
    ("NOPROTOOPT", libc::ENOPROTOOPT),
    ("RESOLVE", RESOLVE),
    ("NOSOCKET", NOSOCKET),
    ("CLOSING", CLOSING),
    ("CLOSED", CLOSED),
    ("EOF", EOF),
    ("TLS", TLS),
];

/// The error string for a code, as Lua code sees it.
pub fn text(code: i32) -> String {
    let desc: String = match code {
        libc::ETIMEDOUT => "Operation timed out".into(),
        RESOLVE => "Address resolution failed".into(),
        NOSOCKET => "No free socket available".into(),
        CLOSING => "Socket is closing".into(),
        CLOSED => "Socket is closed".into(),
        EOF => "End of file".into(),
        TLS => "TLS error".into(),
        _ => {
            // SAFETY: strerror returns a pointer to a NUL-terminated string that stays valid
            // until the next strerror call; we copy it at once, on the only Lua thread.
            let p = unsafe { libc::strerror(code) };
            if p.is_null() {
                format!("Unknown error {code}")
            } else {
                // SAFETY: non-null: a NUL-terminated string (see above), copied at once.
                unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
            }
        }
    };
    format!("{desc} ({code})")
}

/// The error string for an I/O error.
pub fn from_io(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => text(code),
        None => match e.kind() {
            std::io::ErrorKind::TimedOut => text(libc::ETIMEDOUT),
            std::io::ErrorKind::UnexpectedEof => text(EOF),
            _ => format!("{e}"),
        },
    }
}

pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    let codes = lua.create_table()?;
    for (name, code) in NAMES {
        codes.set(*name, *code)?;
    }
    m.set("codes", codes)?;
    m.set("text", lua.create_function(|_, code: i32| Ok(text(code)))?)?;
    Ok(m)
}
