//! The errors of the native network modules, and their one conversion into Lua values.
//!
//! Natives return `Result<_, NetError>`; the Lua boundary (`lua_result`, `lua_status`) turns
//! an error into `nil, err` or `false, err`, where `err` is the `silly.errno` value scripts
//! compare with `==` (docs/errno.md), followed by the reason for a TLS failure
//! (docs/tls.md, "Errors"). This is the only place that builds those values.

use std::fmt;
use std::io;

use mlua::{IntoLuaMulti, Lua, MultiValue, Value};
use rustls::CertificateError;

use crate::native::errno;

/// Why a network operation failed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum NetError {
    /// The OS said no, with this errno (ECONNRESET, EPIPE, ECONNREFUSED ...).
    Os(i32),
    /// The peer ended the stream: a TCP FIN, or for TLS a close_notify or a FIN without one.
    Eof,
    /// The object was closed by the script, or its write side died (`errno.CLOSED`).
    Closed,
    /// The operation's timeout expired (`errno.TIMEDOUT`).
    TimedOut,
    /// An address that is not an IP literal with a port (`errno.RESOLVE`).
    Resolve,
    /// A TLS failure (`errno.TLS`), with the reason the script gets third.
    Tls(String),
    /// A failure of the DNS resolver ("Not found", a timeout ...).
    Dns(DnsError),
    /// A failure without an errno: its text is the error value (an I/O error the OS gave no
    /// code for, a bad TLS configuration "tls: cert: ...").
    Message(String),
}

impl NetError {
    /// What an I/O error from a socket or a TLS session means. A `NetError` carried inside
    /// (the TLS layer wraps its own) comes back as it was; a rustls error inside becomes `Tls`.
    pub fn from_io(e: &io::Error) -> NetError {
        if let Some(inner) = e.get_ref() {
            if let Some(n) = inner.downcast_ref::<NetError>() {
                return n.clone();
            }
            if let Some(r) = inner.downcast_ref::<rustls::Error>() {
                return NetError::Tls(reason(r));
            }
        }
        match e.raw_os_error() {
            Some(libc::ETIMEDOUT) => NetError::TimedOut,
            Some(code) => NetError::Os(code),
            None => match e.kind() {
                io::ErrorKind::TimedOut => NetError::TimedOut,
                io::ErrorKind::UnexpectedEof => NetError::Eof,
                _ => NetError::Message(e.to_string()),
            },
        }
    }

    /// This error inside an `io::Error`, for layers that speak `std::io` (the TLS session as a
    /// stream transport); `from_io` takes it back out unchanged.
    pub fn into_io(self) -> io::Error {
        io::Error::other(self)
    }

    /// The `silly.errno` value a script sees.
    pub fn value(&self) -> String {
        match self {
            NetError::Os(code) => errno::text(*code),
            NetError::Eof => errno::text(errno::EOF),
            NetError::Closed => errno::text(errno::CLOSED),
            NetError::TimedOut => errno::text(libc::ETIMEDOUT),
            NetError::Resolve => errno::text(errno::RESOLVE),
            NetError::Tls(_) => errno::text(errno::TLS),
            NetError::Dns(e) => e.to_string(),
            NetError::Message(m) => m.clone(),
        }
    }

    /// The reason of a TLS failure.
    pub fn reason(&self) -> Option<&str> {
        match self {
            NetError::Tls(r) => Some(r),
            _ => None,
        }
    }
}

impl std::fmt::Display for NetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.reason() {
            Some(r) => write!(f, "{}: {r}", self.value()),
            None => f.write_str(&self.value()),
        }
    }
}

impl std::error::Error for NetError {}

/// `head, err [, reason]`: the one shape of a failure at the Lua boundary.
fn failure(lua: &Lua, head: Value, e: &NetError) -> mlua::Result<MultiValue> {
    let mut v = vec![head, Value::String(lua.create_string(e.value())?)];
    if let Some(r) = e.reason() {
        v.push(Value::String(lua.create_string(r)?));
    }
    Ok(MultiValue::from_vec(v))
}

/// A result as a native returns it to Lua: the values, or `nil, err [, reason]`.
pub fn lua_result<T: IntoLuaMulti>(lua: &Lua, r: Result<T, NetError>) -> mlua::Result<MultiValue> {
    match r {
        Ok(v) => v.into_lua_multi(lua),
        Err(e) => failure(lua, Value::Nil, &e),
    }
}

/// `nil, err` as two plain values, for the per-read hot path (`read`), where building a
/// `MultiValue` would allocate; the reason of a TLS failure is fetched separately there.
pub fn lua_pair(lua: &Lua, e: &NetError) -> mlua::Result<(Value, Value)> {
    Ok((Value::Nil, Value::String(lua.create_string(e.value())?)))
}

/// A success flag as a native returns it to Lua: `true`, or `false, err [, reason]`.
pub fn lua_status(lua: &Lua, r: Result<(), NetError>) -> mlua::Result<MultiValue> {
    match r {
        Ok(()) => Ok(MultiValue::from_vec(vec![Value::Boolean(true)])),
        Err(e) => failure(lua, Value::Boolean(false), &e),
    }
}

/// The resolver's failures (`silly.net.dns`). A flight's outcome is handed to every lookup
/// waiting on it, so it is cheap to clone and borrows nothing; Lua sees it as text, so
/// `Display` is the contract: each variant prints the string the reference resolver returns.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub enum DnsError {
    /// The name is not a DNS name (empty or over-long label, over 253 bytes, not printable
    /// ASCII, not UTF-8), or could not be encoded as a question.
    InvalidName,
    /// There is no nameserver to ask: resolv.conf or `dns.conf` listed none.
    NoNameserver,
    /// Nothing of the type under the name: the server said so without an SOA, or the CNAME
    /// chain loops back on itself.
    NotFound,
    /// The server answered with an rcode other than NOERROR and NXDOMAIN, or the TCP answer
    /// after a truncated one broke off.
    ServerFailure,
    /// The query could not go out: no socket, or a send or receive error other than a refusal.
    SendFailed,
    /// The CNAME chain is longer than a lookup follows (`MAX_HOPS`).
    TooDeep,
    /// `dns.conf` ended the query while it was in flight.
    Reconfigured,
    /// No answer within the call's timeout, or none after every attempt.
    TimedOut,
    /// An OS error reported as itself rather than as "Send failed": a refused port says so at
    /// once, where the reference waits for its timeout.
    Os(i32),
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsError::InvalidName => f.write_str("Invalid name"),
            DnsError::NoNameserver => f.write_str("No nameserver"),
            DnsError::NotFound => f.write_str("Not found"),
            DnsError::ServerFailure => f.write_str("Server failure"),
            DnsError::SendFailed => f.write_str("Send failed"),
            DnsError::TooDeep => f.write_str("Too deep"),
            DnsError::Reconfigured => f.write_str("Dns reconfigured"),
            DnsError::TimedOut => f.write_str(&errno::text(libc::ETIMEDOUT)),
            DnsError::Os(code) => f.write_str(&errno::text(*code)),
        }
    }
}

impl std::error::Error for DnsError {}

// The reason text of TLS failures: short, stable, in OpenSSL's vocabulary where it has one.

/// "HandshakeFailure" -> "handshake_failure", "UnknownCA" -> "unknown_ca" (OpenSSL's spelling
/// of alert names).
fn snake(camel: &str) -> String {
    let chars: Vec<char> = camel.chars().collect();
    let mut out = String::new();
    for (i, &ch) in chars.iter().enumerate() {
        if ch.is_ascii_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|c| c.is_ascii_lowercase());
            if prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower)
            {
                out.push('_');
            }
        }
        out.push(ch.to_ascii_lowercase());
    }
    out
}

fn cert_detail(e: &CertificateError) -> String {
    use CertificateError as C;
    match e {
        C::UnknownIssuer => "unknown issuer".into(),
        C::NotValidForName | C::NotValidForNameContext { .. } => "name mismatch".into(),
        C::Expired | C::ExpiredContext { .. } => "expired".into(),
        C::NotValidYet | C::NotValidYetContext { .. } => "not yet valid".into(),
        C::BadSignature => "bad signature".into(),
        C::BadEncoding => "bad encoding".into(),
        C::Revoked => "revoked".into(),
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
            "not allowed for this purpose".into()
        }
        C::Other(o) => {
            let t = o.to_string();
            if t.contains("CaUsedAsEndEntity") {
                "CA certificate used as end entity".into()
            } else {
                t
            }
        }
        other => {
            let d = format!("{other:?}");
            let head = d.split([' ', '{', '(']).next().unwrap_or(&d);
            snake(head).replace('_', " ")
        }
    }
}

/// The reason string of a TLS failure (docs/tls.md#tls-failures): "certificate verify failed: unknown issuer",
/// "peer sent alert: handshake_failure", ...
pub fn reason(e: &rustls::Error) -> String {
    use rustls::Error;
    match e {
        Error::InvalidCertificate(c) => {
            format!("certificate verify failed: {}", cert_detail(c))
        }
        Error::AlertReceived(a) => format!("peer sent alert: {}", snake(&format!("{a:?}"))),
        Error::NoApplicationProtocol => "no application protocol in common".into(),
        Error::NoCertificatesPresented => "peer sent no certificate".into(),
        Error::DecryptError => "bad record: decryption failed".into(),
        Error::InvalidMessage(m) => {
            format!("bad record: {}", snake(&format!("{m:?}")).replace('_', " "))
        }
        Error::PeerIncompatible(p) => format!("peer incompatible: {p:?}"),
        Error::PeerMisbehaved(p) => format!("peer misbehaved: {p:?}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_names_in_openssl_spelling() {
        assert_eq!(snake("HandshakeFailure"), "handshake_failure");
        assert_eq!(snake("UnknownCA"), "unknown_ca");
        assert_eq!(snake("BadRecordMac"), "bad_record_mac");
        assert_eq!(snake("NoApplicationProtocol"), "no_application_protocol");
    }

    #[test]
    fn io_errors_map_to_their_errno_value() {
        let reset = io::Error::from_raw_os_error(libc::ECONNRESET);
        assert_eq!(NetError::from_io(&reset), NetError::Os(libc::ECONNRESET));
        let eof = io::Error::from(io::ErrorKind::UnexpectedEof);
        assert_eq!(NetError::from_io(&eof), NetError::Eof);
        let timed = io::Error::from_raw_os_error(libc::ETIMEDOUT);
        assert_eq!(NetError::from_io(&timed), NetError::TimedOut);
        assert_eq!(NetError::TimedOut.value(), errno::text(libc::ETIMEDOUT));
    }

    #[test]
    fn a_wrapped_error_comes_back_unchanged() {
        let e = NetError::Tls("peer sent alert: handshake_failure".into());
        assert_eq!(NetError::from_io(&e.clone().into_io()), e);
        let r = io::Error::new(io::ErrorKind::InvalidData, rustls::Error::DecryptError);
        assert_eq!(
            NetError::from_io(&r),
            NetError::Tls("bad record: decryption failed".into())
        );
    }

    #[test]
    fn texts_are_the_references() {
        for (e, text) in [
            (DnsError::InvalidName, "Invalid name"),
            (DnsError::NoNameserver, "No nameserver"),
            (DnsError::NotFound, "Not found"),
            (DnsError::ServerFailure, "Server failure"),
            (DnsError::SendFailed, "Send failed"),
            (DnsError::TooDeep, "Too deep"),
            (DnsError::Reconfigured, "Dns reconfigured"),
        ] {
            assert_eq!(e.to_string(), text);
        }
        assert_eq!(DnsError::TimedOut.to_string(), errno::text(libc::ETIMEDOUT));
        assert_eq!(
            DnsError::Os(libc::ECONNREFUSED).to_string(),
            errno::text(libc::ECONNREFUSED)
        );
    }
}
