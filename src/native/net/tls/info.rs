//! The facts a finished TLS handshake leaves (ALPN, version, cipher suite, SNI name, peer
//! certificates) and certificates themselves, as the Lua values `silly.net.tls` keeps and
//! returns (docs/tls.md, "Connection facts").

use std::cell::RefCell;
use std::rc::Rc;

use mlua::{Lua, Table};
use rustls::CommonState;

use crate::native::net::tls::config::suite_name;
use crate::native::net::tls::session::TlsState;

/// "tlsv1_3" (LuaSec spelling, as `minversion` takes it).
fn version_text(v: rustls::ProtocolVersion) -> String {
    match v {
        rustls::ProtocolVersion::TLSv1_2 => "tlsv1_2".into(),
        rustls::ProtocolVersion::TLSv1_3 => "tlsv1_3".into(),
        other => format!("{other:?}").to_ascii_lowercase(),
    }
}

/// The facts a finished handshake leaves, as the table the Lua connection object keeps.
pub fn info_table(
    lua: &Lua,
    common: &CommonState,
    servername: Option<&str>,
    state: Rc<RefCell<Option<String>>>,
) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    if let Some(p) = common.alpn_protocol() {
        t.set("alpn", lua.create_string(p)?)?;
    }
    if let Some(v) = common.protocol_version() {
        t.set("version", version_text(v))?;
    }
    if let Some(s) = common.negotiated_cipher_suite() {
        t.set("cipher", suite_name(s))?;
    }
    let resumed = common.handshake_kind() == Some(rustls::HandshakeKind::Resumed);
    t.set("resumed", resumed)?;
    if let Some(n) = servername {
        t.set("servername", n)?;
    }
    if let Some(certs) = common.peer_certificates() {
        let list = lua.create_table()?;
        for c in certs {
            list.push(lua.create_string(c.as_ref())?)?;
        }
        t.set("peercerts", list)?;
    }
    t.set("state", TlsState(state))?;
    Ok(t)
}

/// Minimal base64 (standard alphabet, padded) for `peercert().pem`.
pub fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `peercert()`: a certificate as `{subject, issuer, san = {...}, notbefore, notafter, pem}`.
pub fn cert_table(lua: &Lua, der: &[u8]) -> mlua::Result<Option<Table>> {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return Ok(None);
    };
    let t = lua.create_table()?;
    t.set("subject", cert.subject().to_string())?;
    t.set("issuer", cert.issuer().to_string())?;
    t.set("notbefore", cert.validity().not_before.timestamp())?;
    t.set("notafter", cert.validity().not_after.timestamp())?;
    let san = lua.create_table()?;
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for n in &ext.value.general_names {
            use x509_parser::extensions::GeneralName as G;
            match n {
                G::DNSName(d) => san.push(*d)?,
                G::IPAddress(b) if b.len() == 4 => {
                    let a: [u8; 4] = (*b).try_into().unwrap_or_default();
                    san.push(std::net::Ipv4Addr::from(a).to_string())?
                }
                G::IPAddress(b) if b.len() == 16 => {
                    let a: [u8; 16] = (*b).try_into().unwrap_or_default();
                    san.push(std::net::Ipv6Addr::from(a).to_string())?
                }
                _ => {}
            }
        }
    }
    t.set("san", san)?;
    let b64 = base64(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    t.set("pem", pem)?;
    Ok(Some(t))
}

#[cfg(test)]
mod tests {
    use super::base64;

    #[test]
    fn base64_pads() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
