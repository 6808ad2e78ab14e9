//! The resolver's failures, as one type.
//!
//! A flight's outcome is handed to every lookup waiting on it, so an error must be cheap to
//! clone and borrow nothing; Lua only ever sees it as text, so `Display` is the contract: each
//! variant prints exactly the string the reference resolver returns and `tests/lua/dns.lua`
//! checks, errno cases through `errno::text` like every other module's errors. Turning it
//! into `nil, err` happens in one place, `to_lua` in `mod.rs`.

use std::fmt;

use crate::native::errno;

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

#[cfg(test)]
mod tests {
    use super::*;

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
