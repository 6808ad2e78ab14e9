//! Building rustls configurations from the option tables `stdlib/silly/net/tls.lua` hands over
//! (already shaped: aliases folded, files read, `false` cleared).
//!
//! Every content problem comes back as `Err("tls: <field>: <reason>")` (docs/tls.md#errors), and
//! everything is built before a socket exists, so a bad configuration never leaks a port.
//! The crypto provider is rustls' `aws-lc-rs` one, chosen by measurement (ARCHITECTURE.md, "TLS").

use std::sync::Arc;

use mlua::{LuaString, Table, Value};
use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::{CryptoProvider, aws_lc_rs};
use rustls::server::{
    ClientHello, ProducesTickets, ResolvesServerCert, ServerSessionMemoryCache,
    StoresServerSessions, WebPkiClientVerifier,
};
use rustls::sign::CertifiedKey;
use rustls::{
    ClientConfig, RootCertStore, ServerConfig, SupportedCipherSuite, SupportedProtocolVersion,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::native::net::tls::verify::{ServerVerifier, leaf_names, name_matches};

/// A content error, already worded for the script.
pub type ConfResult<T> = Result<T, String>;

fn err(field: &str, reason: impl std::fmt::Display) -> String {
    format!("tls: {field}: {reason}")
}

/// TLS 1.2 suites by their OpenSSL name, with the IANA name rustls prints (docs/tls.md#cipher-suites). Only the
/// ECDHE + AEAD suites rustls implements; CBC and RSA key exchange do not exist here.
const TLS12_NAMES: &[(&str, &str)] = &[
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
    (
        "ECDHE-RSA-AES256-GCM-SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        "ECDHE-RSA-AES128-GCM-SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "ECDHE-RSA-CHACHA20-POLY1305",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
];

/// The IANA name of a suite ("TLS_AES_128_GCM_SHA256").
pub fn suite_name(s: SupportedCipherSuite) -> String {
    // rustls spells the TLS 1.3 ones "TLS13_..."; the registry (and OpenSSL) say "TLS_...".
    let n = format!("{:?}", s.suite());
    match n.strip_prefix("TLS13_") {
        Some(rest) => format!("TLS_{rest}"),
        None => n,
    }
}

/// The provider with the cipher suites the options leave.
fn provider(ciphers: Option<&str>, ciphersuites: Option<&str>) -> ConfResult<CryptoProvider> {
    let base = aws_lc_rs::default_provider();
    let (tls13, tls12): (Vec<_>, Vec<_>) = base
        .cipher_suites
        .iter()
        .copied()
        .partition(|s| s.tls13().is_some());
    let tls12 = match ciphers {
        Some(spec) => pick_tls12(spec, &tls12)?,
        None => tls12,
    };
    let tls13 = match ciphersuites {
        Some(spec) => pick_tls13(spec, &tls13)?,
        None => prefer_aes128(tls13),
    };
    let mut suites = tls13;
    suites.extend(tls12);
    Ok(CryptoProvider {
        cipher_suites: suites,
        ..base
    })
}

/// The default TLS 1.3 order puts TLS_AES_128_GCM_SHA256 first (rustls lists AES-256 first):
/// the server's order decides (`ignore_client_order`), and AES-128 with SHA-256 is measurably
/// cheaper with no loss that matters: the handshake hashes with SHA-256 (hardware SHA on
/// x86_64; SHA-384 was 8% of a server's CPU under `redis-benchmark -k 0`), and AES-GCM runs
/// 10 rounds instead of 14. Same preference as Go's crypto/tls on AES hardware.
fn prefer_aes128(mut suites: Vec<SupportedCipherSuite>) -> Vec<SupportedCipherSuite> {
    suites.sort_by_key(|s| s.suite() != rustls::CipherSuite::TLS13_AES_128_GCM_SHA256);
    suites
}

fn tokens(spec: &str) -> impl Iterator<Item = &str> {
    spec.split([':', ',', ' ']).filter(|t| !t.is_empty())
}

/// `ciphers`: the TLS 1.2 suites named, in the given order (docs/tls.md#cipher-suites). Modifiers and
/// OpenSSL group keywords select nothing; TLS 1.3 names are ignored.
fn pick_tls12(spec: &str, have: &[SupportedCipherSuite]) -> ConfResult<Vec<SupportedCipherSuite>> {
    let mut out: Vec<SupportedCipherSuite> = Vec::new();
    let mut named = false;
    for t in tokens(spec) {
        if t.starts_with(['!', '-', '+', '@']) {
            continue;
        }
        let is_keyword = !t.contains(['-', '_']);
        if is_keyword {
            continue;
        }
        named = true;
        let iana = TLS12_NAMES
            .iter()
            .find(|(ossl, _)| ossl.eq_ignore_ascii_case(t))
            .map(|(_, iana)| iana.to_string())
            .unwrap_or_else(|| t.to_ascii_uppercase());
        if let Some(s) = have.iter().find(|s| suite_name(**s) == iana)
            && !out.iter().any(|o| o.suite() == s.suite())
        {
            out.push(*s);
        }
    }
    if out.is_empty() {
        if !named {
            // Only keywords: keep the default set.
            return Ok(have.to_vec());
        }
        return Err(err(
            "ciphers",
            format!("no supported TLS 1.2 cipher suite in {spec:?}"),
        ));
    }
    Ok(out)
}

/// `ciphersuites`: TLS 1.3 suites by IANA name.
fn pick_tls13(spec: &str, have: &[SupportedCipherSuite]) -> ConfResult<Vec<SupportedCipherSuite>> {
    let mut out: Vec<SupportedCipherSuite> = Vec::new();
    for t in tokens(spec) {
        let t = t.to_ascii_uppercase();
        if let Some(s) = have.iter().find(|s| suite_name(**s) == t)
            && !out.iter().any(|o| o.suite() == s.suite())
        {
            out.push(*s);
        }
    }
    if out.is_empty() {
        return Err(err(
            "ciphersuites",
            format!("no supported TLS 1.3 cipher suite in {spec:?}"),
        ));
    }
    Ok(out)
}

/// 2 for TLS 1.2, 3 for TLS 1.3, from "tlsv1_2" (LuaSec), "tlsv1.2", "TLSv1.3", "1.3" ...
fn version_number(field: &str, v: &str) -> ConfResult<u8> {
    let norm = v.to_ascii_lowercase().replace('.', "_");
    let short = norm.trim_start_matches("tlsv").trim_start_matches("tls");
    match short {
        "1_2" => Ok(2),
        "1_3" => Ok(3),
        "1" | "1_0" | "1_1" | "" if norm.starts_with("tls") => Err(err(
            field,
            format!("{v:?}: TLS 1.1 and below are not supported"),
        )),
        _ if norm.starts_with("ssl") => Err(err(
            field,
            format!("{v:?}: SSL and TLS 1.1 and below are not supported"),
        )),
        _ => Err(err(
            field,
            format!("unknown version {v:?} (use \"tlsv1_2\" or \"tlsv1_3\")"),
        )),
    }
}

fn versions(
    min: Option<&str>,
    max: Option<&str>,
) -> ConfResult<Vec<&'static SupportedProtocolVersion>> {
    let lo = min.map(|v| version_number("minversion", v)).transpose()?;
    let hi = max.map(|v| version_number("maxversion", v)).transpose()?;
    let (lo, hi) = (lo.unwrap_or(2), hi.unwrap_or(3));
    if lo > hi {
        return Err(err("minversion", "greater than maxversion"));
    }
    let mut out = Vec::new();
    if lo <= 3 && hi >= 3 {
        out.push(&rustls::version::TLS13);
    }
    if lo <= 2 {
        out.push(&rustls::version::TLS12);
    }
    Ok(out)
}

/// Certificates from PEM (one or more CERTIFICATE blocks; text around them is ignored).
pub fn parse_certs(pem: &[u8], field: &str) -> ConfResult<Vec<CertificateDer<'static>>> {
    let mut out = Vec::new();
    for c in CertificateDer::pem_slice_iter(pem) {
        out.push(c.map_err(|e| err(field, format!("bad PEM: {e}")))?);
    }
    if out.is_empty() {
        return Err(err(field, "no PEM certificate found"));
    }
    for (i, c) in out.iter().enumerate() {
        if x509_parser::parse_x509_certificate(c.as_ref()).is_err() {
            return Err(err(
                field,
                format!("certificate {} cannot be parsed", i + 1),
            ));
        }
    }
    Ok(out)
}

/// The first private key in PEM: PKCS#8, PKCS#1 (RSA) or SEC1 (EC). Encrypted keys are refused
/// outright (docs/tls.md#certificates-and-keys): nothing here ever asks for a pass phrase.
pub fn parse_key(pem: &[u8], field: &str) -> ConfResult<PrivateKeyDer<'static>> {
    let text = String::from_utf8_lossy(pem);
    if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")
        || text.contains("Proc-Type: 4,ENCRYPTED")
    {
        return Err(err(field, "encrypted private keys are not supported"));
    }
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| match e {
        rustls_pki_types::pem::Error::NoItemsFound => err(field, "no PEM private key found"),
        e => err(field, format!("bad PEM: {e}")),
    })
}

/// Trust anchors from PEM text (`ca`/`cafile`).
fn root_store(
    pem: &[u8],
    field: &str,
) -> ConfResult<(RootCertStore, Vec<CertificateDer<'static>>)> {
    let certs = parse_certs(pem, field)?;
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(certs.iter().cloned());
    if added == 0 {
        return Err(err(field, "no usable trust anchor"));
    }
    Ok((roots, certs))
}

/// One server identity and the names it is selected by.
#[derive(Debug)]
struct Identity {
    key: Arc<CertifiedKey>,
    names: Vec<String>,
}

/// Picks the certificate for a ClientHello: the first entry whose leaf matches the SNI name,
/// else the first entry (docs/tls.md#sni; no `unrecognized_name` alert).
#[derive(Debug)]
struct SniResolver {
    ids: Vec<Identity>,
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        // rustls hands over only DNS names: an IP literal sent as SNI arrives as "no SNI" (docs/tls.md#sni).
        if let Some(name) = hello.server_name() {
            for id in &self.ids {
                if id.names.iter().any(|p| name_matches(p, name)) {
                    return Some(id.key.clone());
                }
            }
        }
        self.ids.first().map(|id| id.key.clone())
    }
}

/// Session state a listener keeps across reloads, so resumption survives them (docs/tls.md#reload).
pub struct Sessions {
    pub cache: Arc<dyn StoresServerSessions>,
    pub ticketer: Arc<dyn ProducesTickets>,
}

impl Sessions {
    pub fn new() -> ConfResult<Sessions> {
        Ok(Sessions {
            cache: ServerSessionMemoryCache::new(4096),
            ticketer: aws_lc_rs::Ticketer::new().map_err(|e| err("sessions", e))?,
        })
    }
}

/// A text option. Bytes that are not UTF-8 become U+FFFD: such a value names no suite,
/// version or mode, so it is refused like any unknown one, as `nil, err`, not raised.
fn opt_str(t: &Table, k: &str) -> mlua::Result<Option<String>> {
    match t.get::<Value>(k)? {
        Value::String(s) => Ok(Some(String::from_utf8_lossy(&s.as_bytes()).into_owned())),
        _ => Ok(None),
    }
}

fn opt_bytes(t: &Table, k: &str) -> mlua::Result<Option<Vec<u8>>> {
    match t.get::<Value>(k)? {
        Value::String(s) => Ok(Some(s.as_bytes().to_vec())),
        _ => Ok(None),
    }
}

/// The field name the script used for `k` (`ca` or `cafile` ...), passed as `<k>name`.
fn field_name(t: &Table, k: &str) -> mlua::Result<String> {
    Ok(opt_str(t, &format!("{k}name"))?.unwrap_or_else(|| k.to_string()))
}

/// ALPN names: non-empty, at most 255 bytes each (docs/tls.md#alpn).
fn alpn(t: &Table) -> mlua::Result<ConfResult<Vec<Vec<u8>>>> {
    let Value::Table(list) = t.get::<Value>("alpnprotos")? else {
        return Ok(Ok(Vec::new()));
    };
    let mut out = Vec::new();
    for (i, v) in list.sequence_values::<LuaString>().enumerate() {
        let v = v?;
        let b = v.as_bytes();
        if b.is_empty() || b.len() > 255 {
            return Ok(Err(err(
                &format!("alpnprotos[{}]", i + 1),
                "a protocol name must be 1 to 255 bytes",
            )));
        }
        out.push(b.to_vec());
    }
    Ok(Ok(out))
}

/// Common part of both sides: suites and versions.
fn suites_and_versions(
    t: &Table,
) -> mlua::Result<ConfResult<(CryptoProvider, Vec<&'static SupportedProtocolVersion>)>> {
    let ciphers = opt_str(t, "ciphers")?;
    let ciphersuites = opt_str(t, "ciphersuites")?;
    let minv = opt_str(t, "minversion")?;
    let maxv = opt_str(t, "maxversion")?;
    Ok((|| {
        let p = provider(ciphers.as_deref(), ciphersuites.as_deref())?;
        let v = versions(minv.as_deref(), maxv.as_deref())?;
        let usable = p
            .cipher_suites
            .iter()
            .any(|s| v.iter().any(|v| s.version() == *v));
        if !usable {
            return Err(err(
                "ciphers",
                "no cipher suite left for the allowed protocol versions",
            ));
        }
        Ok((p, v))
    })())
}

/// The server configuration from a shaped `listen`/`reload` table:
/// `{certs = {{cert, key, certname, keyname}...}, ciphers, ciphersuites, alpnprotos,
/// minversion, maxversion, verify = "none"|"optional"|"required", ca, caname}`.
pub fn server(t: &Table, sessions: &Sessions) -> mlua::Result<ConfResult<Arc<ServerConfig>>> {
    let (provider, versions) = match suites_and_versions(t)? {
        Ok(x) => x,
        Err(e) => return Ok(Err(e)),
    };
    let provider = Arc::new(provider);
    let certs: Table = t.get("certs")?;
    let mut ids = Vec::new();
    for (i, entry) in certs.sequence_values::<Table>().enumerate() {
        let entry = entry?;
        let cert_field = opt_str(&entry, "certname")?.unwrap_or(format!("certs[{}].cert", i + 1));
        let key_field = opt_str(&entry, "keyname")?.unwrap_or(format!("certs[{}].key", i + 1));
        let cert_pem = opt_bytes(&entry, "cert")?.unwrap_or_default();
        let key_pem = opt_bytes(&entry, "key")?.unwrap_or_default();
        let chain = match parse_certs(&cert_pem, &cert_field) {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        let key = match parse_key(&key_pem, &key_field) {
            Ok(k) => k,
            Err(e) => return Ok(Err(e)),
        };
        let names = leaf_names(chain[0].as_ref());
        let ck = match CertifiedKey::from_der(chain, key, &provider) {
            Ok(ck) => ck,
            Err(rustls::Error::InconsistentKeys(_)) => {
                return Ok(Err(err(
                    &key_field,
                    "private key does not match certificate",
                )));
            }
            Err(e) => return Ok(Err(err(&key_field, format!("unusable private key: {e}")))),
        };
        ids.push(Identity {
            key: Arc::new(ck),
            names,
        });
    }
    if ids.is_empty() {
        return Ok(Err(err("certs", "no certificate")));
    }
    let builder = match ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
    {
        Ok(b) => b,
        Err(e) => return Ok(Err(err("ciphers", e))),
    };
    let verify = opt_str(t, "verify")?.unwrap_or_else(|| "none".into());
    let builder = if verify == "none" {
        builder.with_no_client_auth()
    } else {
        let field = field_name(t, "ca")?;
        let Some(ca) = opt_bytes(t, "ca")? else {
            return Ok(Err(err("ca", "client verification needs `ca` or `cafile`")));
        };
        let roots = match root_store(&ca, &field) {
            Ok((r, _)) => r,
            Err(e) => return Ok(Err(e)),
        };
        let mut vb = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
        if verify == "optional" {
            vb = vb.allow_unauthenticated();
        }
        match vb.build() {
            Ok(v) => builder.with_client_cert_verifier(v),
            Err(e) => return Ok(Err(err(&field, e))),
        }
    };
    let mut cfg = builder.with_cert_resolver(Arc::new(SniResolver { ids }));
    cfg.alpn_protocols = match alpn(t)? {
        Ok(a) => a,
        Err(e) => return Ok(Err(e)),
    };
    // The server's own TLS 1.2 suite order wins: it lists the strongest first.
    cfg.ignore_client_order = true;
    cfg.session_storage = sessions.cache.clone();
    cfg.ticketer = sessions.ticketer.clone();
    Ok(Ok(Arc::new(cfg)))
}

/// The client configuration from a shaped `connect` option table:
/// `{verify = bool, ca, caname, cert, certname, key, keyname, alpnprotos, ciphers,
/// ciphersuites, minversion, maxversion}`. One is built per distinct option set and reused, so
/// its session store lets later connects resume.
pub fn client(t: &Table) -> mlua::Result<ConfResult<Arc<ClientConfig>>> {
    let (provider, versions) = match suites_and_versions(t)? {
        Ok(x) => x,
        Err(e) => return Ok(Err(e)),
    };
    let provider = Arc::new(provider);
    let verify = t.get::<Option<bool>>("verify")?.unwrap_or(true);
    let verifier: Arc<dyn ServerCertVerifier> = if !verify {
        Arc::new(ServerVerifier::insecure(provider.clone()))
    } else {
        match opt_bytes(t, "ca")? {
            Some(ca) => {
                let field = field_name(t, "ca")?;
                let (roots, pinned) = match root_store(&ca, &field) {
                    Ok(r) => r,
                    Err(e) => return Ok(Err(e)),
                };
                match ServerVerifier::pinned(Arc::new(roots), pinned, provider.clone()) {
                    Ok(v) => Arc::new(v),
                    Err(e) => return Ok(Err(err(&field, e))),
                }
            }
            None => match ServerVerifier::system(provider.clone()) {
                Ok(v) => Arc::new(v),
                Err(e) => return Ok(Err(err("ca", e))),
            },
        }
    };
    let builder = match ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
    {
        Ok(b) => b,
        Err(e) => return Ok(Err(err("ciphers", e))),
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut cfg = match (opt_bytes(t, "cert")?, opt_bytes(t, "key")?) {
        (Some(cert), Some(key)) => {
            let cert_field = field_name(t, "cert")?;
            let key_field = field_name(t, "key")?;
            let chain = match parse_certs(&cert, &cert_field) {
                Ok(c) => c,
                Err(e) => return Ok(Err(e)),
            };
            let key = match parse_key(&key, &key_field) {
                Ok(k) => k,
                Err(e) => return Ok(Err(e)),
            };
            match builder.with_client_auth_cert(chain, key) {
                Ok(c) => c,
                Err(rustls::Error::InconsistentKeys(_)) => {
                    return Ok(Err(err(
                        &key_field,
                        "private key does not match certificate",
                    )));
                }
                Err(e) => return Ok(Err(err(&key_field, e))),
            }
        }
        (None, None) => builder.with_no_client_auth(),
        (Some(_), None) => return Ok(Err(err("key", "a client `cert` needs its `key`"))),
        (None, Some(_)) => return Ok(Err(err("cert", "a client `key` needs its `cert`"))),
    };
    cfg.alpn_protocols = match alpn(t)? {
        Ok(a) => a,
        Err(e) => return Ok(Err(e)),
    };
    Ok(Ok(Arc::new(cfg)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse() {
        assert_eq!(version_number("v", "tlsv1_2"), Ok(2));
        assert_eq!(version_number("v", "TLSv1.3"), Ok(3));
        assert!(
            version_number("v", "tlsv1_1")
                .unwrap_err()
                .contains("not supported")
        );
        assert!(
            version_number("v", "sslv3")
                .unwrap_err()
                .contains("not supported")
        );
        assert!(
            version_number("v", "bogus")
                .unwrap_err()
                .contains("unknown")
        );
    }

    #[test]
    fn ciphers_filter_tls12_only() {
        let p = provider(Some("ECDHE-RSA-AES128-GCM-SHA256:!aNULL"), None).unwrap();
        let names: Vec<_> = p.cipher_suites.iter().map(|s| suite_name(*s)).collect();
        assert!(names.contains(&"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".to_string()));
        assert!(names.contains(&"TLS_AES_128_GCM_SHA256".to_string()));
        assert_eq!(names.iter().filter(|n| n.contains("ECDHE")).count(), 1);
        assert!(provider(Some("NOPE-NOPE"), None).is_err());
        assert!(provider(Some("DEFAULT:!SSLv3"), None).is_ok());
    }
}
