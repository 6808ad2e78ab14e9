//! `silly.net.addr.c`: the address facts that need more than string handling: strict IP
//! literal checks (inet_pton rules) and service names ("http" -> 80).

use std::ffi::CString;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use mlua::{Lua, Table};

use crate::native::net::error::NetError;

/// 4, 6 or 0, with inet_pton's strictness: no leading zeros, no short forms, no zone ids.
pub fn iptype(host: &str) -> u8 {
    if host.parse::<Ipv4Addr>().is_ok() {
        4
    } else if host.parse::<Ipv6Addr>().is_ok() {
        6
    } else {
        0
    }
}

/// A port number or a service name from /etc/services.
pub fn port(s: &str) -> Option<u16> {
    if let Ok(n) = s.parse::<u16>() {
        return Some(n);
    }
    if s.is_empty()
        || s.bytes()
            .any(|b| b.is_ascii_digit() && s.bytes().all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    let name = CString::new(s).ok()?;
    let proto = CString::new("tcp").ok()?;
    // SAFETY: both are valid C strings; getservbyname returns a pointer into static storage
    // that we read at once. The Lua thread is the only caller.
    let ent = unsafe { libc::getservbyname(name.as_ptr(), proto.as_ptr()) };
    if ent.is_null() {
        return None;
    }
    // SAFETY: non-null, so it points at a valid servent (see above).
    let port = unsafe { (*ent).s_port };
    Some(u16::from_be(port as u16))
}

/// Parses a numeric host (brackets already removed) into an IP address.
pub fn ip(host: &str) -> Option<IpAddr> {
    host.parse::<IpAddr>().ok()
}

/// `ip:port` as a socket address; an empty `ip` is the IPv6 wildcard, dual-stack (":port"
/// listens on every address, docs/tcp.md).
pub fn socket_addr(ip: &str, port: u16) -> Result<SocketAddr, NetError> {
    if ip.is_empty() {
        return Ok(SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port));
    }
    self::ip(ip)
        .map(|ip| SocketAddr::new(ip, port))
        .ok_or(NetError::Resolve)
}

pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    m.set(
        "iptype",
        lua.create_function(|_, host: String| Ok(iptype(&host)))?,
    )?;
    m.set("port", lua.create_function(|_, s: String| Ok(port(&s)))?)?;
    Ok(m)
}
