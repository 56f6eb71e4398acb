//! Turning the TLS settings (Gunicorn's `certfile`, `keyfile`, `ca_certs`, `cert_reqs`,
//! `ciphers`) into one rustls configuration, shared by every connection of a worker.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::RootCertStore;

/// Whether clients must present a certificate signed by `ca_certs`; the order and meaning of
/// Python's `ssl.CERT_NONE`, `CERT_OPTIONAL` and `CERT_REQUIRED`, which Gunicorn's `cert_reqs`
/// takes as 0, 1 and 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    None,
    Optional,
    Required,
}

#[derive(Clone, Debug)]
pub struct TlsSettings {
    /// PEM certificate chain, the server's certificate first.
    pub certfile: PathBuf,
    /// PEM private key; `None` when it is in `certfile`.
    pub keyfile: Option<PathBuf>,
    /// PEM certificates of the authorities that sign client certificates.
    pub ca_certs: Option<PathBuf>,
    pub client_auth: ClientAuth,
    /// IANA names of the cipher suites to offer, in rustls's order; empty for rustls's defaults.
    pub ciphers: Vec<String>,
    /// The protocols ALPN offers, in order of preference (`h2`, `http/1.1`); empty for HTTP/1.1 alone.
    pub alpn: Vec<Vec<u8>>,
}

/// A TLS setting that cannot be used, named so the user knows which one to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsError {
    pub setting: &'static str,
    pub message: String,
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.setting, self.message)
    }
}

impl std::error::Error for TlsError {}

fn error(setting: &'static str, message: impl Into<String>) -> TlsError {
    TlsError {
        setting,
        message: message.into(),
    }
}

/// The cipher suites `ciphers` may name.
pub fn cipher_suite_names() -> Vec<String> {
    ring::ALL_CIPHER_SUITES
        .iter()
        .map(|s| format!("{:?}", s.suite()))
        .collect()
}

/// Reads the files and builds the configuration. ALPN offers only the protocols served, so a
/// client that insists on another is refused during the handshake, not misunderstood.
pub fn tls_config(settings: &TlsSettings) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let chain = certificates(&settings.certfile, "certfile")?;
    let key = private_key(settings)?;
    let provider = Arc::new(provider(&settings.ciphers)?);
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .map_err(|e| {
            error(
                "ciphers",
                format!("no TLS version can use these suites: {e}"),
            )
        })?;
    let builder = match (settings.client_auth, &settings.ca_certs) {
        (ClientAuth::None, _) => builder.with_no_client_auth(),
        (_, None) => {
            return Err(error(
                "cert_reqs",
                "checking client certificates needs ca_certs",
            ))
        }
        (auth, Some(path)) => {
            let mut roots = RootCertStore::empty();
            for cert in certificates(path, "ca_certs")? {
                roots
                    .add(cert)
                    .map_err(|e| error("ca_certs", format!("{}: {e}", path.display())))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if auth == ClientAuth::Optional {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            builder.with_client_cert_verifier(
                verifier
                    .build()
                    .map_err(|e| error("ca_certs", e.to_string()))?,
            )
        }
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| {
        error(
            "keyfile",
            format!("the key does not fit the certificate: {e}"),
        )
    })?;
    config.alpn_protocols = if settings.alpn.is_empty() {
        vec![b"http/1.1".to_vec()]
    } else {
        settings.alpn.clone()
    };
    Ok(Arc::new(config))
}

fn provider(ciphers: &[String]) -> Result<CryptoProvider, TlsError> {
    let mut provider = ring::default_provider();
    if ciphers.is_empty() {
        return Ok(provider);
    }
    let mut chosen = Vec::with_capacity(ciphers.len());
    for name in ciphers {
        let Some(suite) = ring::ALL_CIPHER_SUITES
            .iter()
            .find(|s| format!("{:?}", s.suite()) == *name)
        else {
            return Err(error(
                "ciphers",
                format!(
                    "unknown cipher suite {name:?}; allowed: {}",
                    cipher_suite_names().join(", ")
                ),
            ));
        };
        chosen.push(*suite);
    }
    provider.cipher_suites = chosen;
    Ok(provider)
}

fn certificates(
    path: &Path,
    setting: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let read = |e: &dyn fmt::Display| {
        error(
            setting,
            format!("cannot read certificates from {}: {e}", path.display()),
        )
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| read(&pem_reason(e)))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| read(&pem_reason(e)))?;
    if certs.is_empty() {
        return Err(error(
            setting,
            format!("{} holds no PEM certificate", path.display()),
        ));
    }
    Ok(certs)
}

fn private_key(settings: &TlsSettings) -> Result<PrivateKeyDer<'static>, TlsError> {
    let (path, setting) = match &settings.keyfile {
        Some(path) => (path, "keyfile"),
        None => (&settings.certfile, "certfile"),
    };
    PrivateKeyDer::from_pem_file(path).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => error(
            setting,
            format!(
                "{} holds no PEM private key (PKCS#8, PKCS#1 or SEC1)",
                path.display()
            ),
        ),
        e => error(
            setting,
            format!(
                "cannot read a private key from {}: {}",
                path.display(),
                pem_reason(e)
            ),
        ),
    })
}

/// The I/O error itself when there is one ("No such file or directory"), not its debug form.
fn pem_reason(e: rustls::pki_types::pem::Error) -> String {
    match e {
        rustls::pki_types::pem::Error::Io(io) => io.to_string(),
        e => format!("{e:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Files {
        dir: PathBuf,
    }

    impl Files {
        fn new(name: &str) -> Files {
            let dir = std::env::temp_dir().join(format!("ugn-tls-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            Files { dir }
        }

        fn write(&self, name: &str, text: &str) -> PathBuf {
            let path = self.dir.join(name);
            std::fs::write(&path, text).unwrap();
            path
        }
    }

    impl Drop for Files {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn settings(certfile: PathBuf, keyfile: Option<PathBuf>) -> TlsSettings {
        TlsSettings {
            certfile,
            keyfile,
            ca_certs: None,
            client_auth: ClientAuth::None,
            ciphers: Vec::new(),
            alpn: Vec::new(),
        }
    }

    fn self_signed() -> rcgen::CertifiedKey {
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap()
    }

    #[test]
    fn a_certificate_and_its_key_make_a_config_offering_http_1_1() {
        let files = Files::new("ok");
        let pair = self_signed();
        let cert = files.write("cert.pem", &pair.cert.pem());
        let key = files.write("key.pem", &pair.key_pair.serialize_pem());
        let config = tls_config(&settings(cert, Some(key))).unwrap();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }

    #[test]
    fn the_key_may_sit_in_the_certificate_file() {
        let files = Files::new("combined");
        let pair = self_signed();
        let both = files.write(
            "both.pem",
            &format!("{}{}", pair.cert.pem(), pair.key_pair.serialize_pem()),
        );
        assert!(tls_config(&settings(both, None)).is_ok());
    }

    #[test]
    fn each_unusable_file_names_its_setting() {
        let files = Files::new("bad");
        let pair = self_signed();
        let cert = files.write("cert.pem", &pair.cert.pem());
        let key = files.write("key.pem", &pair.key_pair.serialize_pem());
        let junk = files.write("junk.pem", "not a pem file\n");
        let missing = files.dir.join("missing.pem");

        let e = tls_config(&settings(missing.clone(), Some(key.clone()))).unwrap_err();
        assert_eq!(e.setting, "certfile");
        assert!(
            e.message.contains("missing.pem") && e.message.contains("No such file"),
            "{e}"
        );

        let e = tls_config(&settings(junk.clone(), Some(key.clone()))).unwrap_err();
        assert_eq!(e.setting, "certfile");
        assert!(e.message.contains("no PEM certificate"), "{e}");

        let e = tls_config(&settings(cert.clone(), Some(junk))).unwrap_err();
        assert_eq!(e.setting, "keyfile");
        assert!(e.message.contains("no PEM private key"), "{e}");

        let e = tls_config(&settings(cert.clone(), None)).unwrap_err();
        assert_eq!(
            e.setting, "certfile",
            "without keyfile the key is looked for in certfile"
        );

        let other = self_signed();
        let wrong_key = files.write("other.pem", &other.key_pair.serialize_pem());
        let e = tls_config(&settings(cert.clone(), Some(wrong_key))).unwrap_err();
        assert_eq!(e.setting, "keyfile");
        assert!(e.message.contains("does not fit"), "{e}");

        let mut s = settings(cert.clone(), Some(key.clone()));
        s.client_auth = ClientAuth::Required;
        assert_eq!(tls_config(&s).unwrap_err().setting, "cert_reqs");

        let mut s = settings(cert, Some(key));
        s.ciphers = vec!["RC4-MD5".into()];
        let e = tls_config(&s).unwrap_err();
        assert_eq!(e.setting, "ciphers");
        assert!(
            e.message.contains("TLS13_AES_128_GCM_SHA256"),
            "the allowed names are listed: {e}"
        );
    }

    #[test]
    fn ciphers_restrict_the_offered_suites() {
        let files = Files::new("ciphers");
        let pair = self_signed();
        let mut s = settings(
            files.write("c.pem", &pair.cert.pem()),
            Some(files.write("k.pem", &pair.key_pair.serialize_pem())),
        );
        s.ciphers = vec!["TLS13_CHACHA20_POLY1305_SHA256".into()];
        let config = tls_config(&s).unwrap();
        let names: Vec<_> = config
            .crypto_provider()
            .cipher_suites
            .iter()
            .map(|c| format!("{:?}", c.suite()))
            .collect();
        assert_eq!(names, ["TLS13_CHACHA20_POLY1305_SHA256"]);
    }

    #[test]
    fn client_certificates_need_an_authority_file() {
        let files = Files::new("ca");
        let pair = self_signed();
        let mut s = settings(
            files.write("c.pem", &pair.cert.pem()),
            Some(files.write("k.pem", &pair.key_pair.serialize_pem())),
        );
        s.ca_certs = Some(files.write("ca.pem", &pair.cert.pem()));
        s.client_auth = ClientAuth::Optional;
        assert!(tls_config(&s).is_ok());
        s.client_auth = ClientAuth::Required;
        assert!(tls_config(&s).is_ok());
    }
}
