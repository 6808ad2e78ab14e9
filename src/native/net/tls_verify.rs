//! How a `tls.connect` client judges the server's certificate (tls.md §5, D6), and the short
//! reason strings TLS failures carry (D14).
//!
//! Three modes: the system trust store (default), the `ca`/`cafile` anchors, or nothing
//! (`verify = false`; handshake signatures are still checked). With `ca`, a presented leaf
//! that is byte-for-byte one of the given certificates is trusted as itself: that is how the
//! seed's own kind of certificate (self-signed, CA:TRUE, CN only, no SAN) can be pinned,
//! which webpki alone refuses. Such a leaf still has its validity period and name checked.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::{CertificateError, DigitallySignedStruct, Error, RootCertStore, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use x509_parser::extensions::GeneralName;

use crate::native::net::tls_config::name_matches;

/// The process-wide trust store: the system's certificates (`rustls-native-certs`, so a CA the
/// administrator added is honoured), or the bundled Mozilla set (`webpki-roots`) on a system
/// that has none. Loaded on first use, once per process.
pub fn system_roots() -> Arc<RootCertStore> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let mut roots = RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
            if roots.is_empty() {
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            }
            Arc::new(roots)
        })
        .clone()
}

#[derive(Debug)]
pub struct ServerVerifier {
    /// None: `verify = false`.
    webpki: Option<Arc<WebPkiServerVerifier>>,
    /// `ca` entries a leaf may match exactly.
    pinned: Vec<CertificateDer<'static>>,
    algs: WebPkiSupportedAlgorithms,
}

impl ServerVerifier {
    pub fn system(provider: Arc<CryptoProvider>) -> Result<ServerVerifier, String> {
        Self::pinned(system_roots(), Vec::new(), provider)
    }

    pub fn pinned(
        roots: Arc<RootCertStore>,
        pinned: Vec<CertificateDer<'static>>,
        provider: Arc<CryptoProvider>,
    ) -> Result<ServerVerifier, String> {
        let algs = provider.signature_verification_algorithms;
        let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(ServerVerifier {
            webpki: Some(webpki),
            pinned,
            algs,
        })
    }

    pub fn insecure(provider: Arc<CryptoProvider>) -> ServerVerifier {
        ServerVerifier {
            webpki: None,
            pinned: Vec::new(),
            algs: provider.signature_verification_algorithms,
        }
    }
}

/// Checks a pinned leaf: its validity period now, and `name` against its SANs, or its CN when
/// it has no SAN at all.
fn check_pinned(der: &[u8], name: &ServerName<'_>, now: UnixTime) -> Result<(), Error> {
    let bad = |e| Error::InvalidCertificate(e);
    let (_, cert) =
        x509_parser::parse_x509_certificate(der).map_err(|_| bad(CertificateError::BadEncoding))?;
    let t = now.as_secs() as i64;
    if t < cert.validity().not_before.timestamp() {
        return Err(bad(CertificateError::NotValidYet));
    }
    if t > cert.validity().not_after.timestamp() {
        return Err(bad(CertificateError::Expired));
    }
    let mut sans = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        sans.extend(san.value.general_names.iter().cloned());
    }
    let cn = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_string);
    let ok = match name {
        ServerName::DnsName(d) => {
            let host = d.as_ref();
            if sans.is_empty() {
                cn.is_some_and(|cn| name_matches(&cn, host))
            } else {
                sans.iter()
                    .any(|n| matches!(n, GeneralName::DNSName(p) if name_matches(p, host)))
            }
        }
        ServerName::IpAddress(ip) => {
            let ip = IpAddr::from(*ip);
            if sans.is_empty() {
                cn.is_some_and(|cn| cn.parse::<IpAddr>().is_ok_and(|c| c == ip))
            } else {
                sans.iter().any(|n| match n {
                    GeneralName::IPAddress(b) => match (b.len(), ip) {
                        (4, IpAddr::V4(v4)) => *b == v4.octets(),
                        (16, IpAddr::V6(v6)) => *b == v6.octets(),
                        _ => false,
                    },
                    _ => false,
                })
            }
        }
        _ => false,
    };
    if !ok {
        return Err(bad(CertificateError::NotValidForName));
    }
    Ok(())
}

impl ServerCertVerifier for ServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let Some(webpki) = &self.webpki else {
            return Ok(ServerCertVerified::assertion());
        };
        if self
            .pinned
            .iter()
            .any(|p| p.as_ref() == end_entity.as_ref())
        {
            check_pinned(end_entity.as_ref(), server_name, now)?;
            return Ok(ServerCertVerified::assertion());
        }
        webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

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

/// The reason string of a TLS failure (D14): "certificate verify failed: unknown issuer",
/// "peer sent alert: handshake_failure", ...
pub fn reason(e: &Error) -> String {
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

/// The rustls error inside an I/O error from futures-rustls, if there is one.
pub fn rustls_error(e: &std::io::Error) -> Option<&Error> {
    e.get_ref().and_then(|inner| inner.downcast_ref::<Error>())
}

#[cfg(test)]
mod tests {
    use super::snake;

    #[test]
    fn alert_names_in_openssl_spelling() {
        assert_eq!(snake("HandshakeFailure"), "handshake_failure");
        assert_eq!(snake("UnknownCA"), "unknown_ca");
        assert_eq!(snake("BadRecordMac"), "bad_record_mac");
        assert_eq!(snake("NoApplicationProtocol"), "no_application_protocol");
    }
}
