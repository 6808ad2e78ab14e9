//! How a `tls.connect` client judges the server's certificate (docs/tls.md), and which
//! names a certificate answers to (also used to pick a server certificate by SNI).
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

/// The DNS names a leaf answers to for SNI selection (docs/tls.md#sni): its DNS SANs, or its
/// subject CN when it has none.
pub fn leaf_names(der: &[u8]) -> Vec<String> {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return Vec::new();
    };
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            if let x509_parser::extensions::GeneralName::DNSName(d) = n {
                names.push(d.to_ascii_lowercase());
            }
        }
    }
    if names.is_empty()
        && let Some(cn) = cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
    {
        names.push(cn.to_ascii_lowercase());
    }
    names
}

/// Whether `host` matches `pattern`: exactly, or through a left-most `*` label standing for
/// exactly one label. Case is ignored; a trailing dot on the host is not significant.
pub fn name_matches(pattern: &str, host: &str) -> bool {
    let host = host.trim_end_matches('.');
    if let Some(rest) = pattern.strip_prefix("*.") {
        return match host.split_once('.') {
            Some((label, tail)) => !label.is_empty() && tail.eq_ignore_ascii_case(rest),
            None => false,
        };
    }
    pattern.eq_ignore_ascii_case(host)
}

#[cfg(test)]
mod tests {
    use super::name_matches;

    #[test]
    fn wildcard_matches_one_label() {
        assert!(name_matches("*.example.test", "a.example.test"));
        assert!(name_matches("*.example.test", "A.Example.Test."));
        assert!(!name_matches("*.example.test", "a.b.example.test"));
        assert!(!name_matches("*.example.test", "example.test"));
        assert!(name_matches("localhost", "LOCALHOST"));
    }
}
