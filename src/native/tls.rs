//! The TLS settings as JavaScript passes them: checked in the master before anything binds,
//! turned into the engine's configuration in each worker.

use napi_derive::napi;
use ugn_server::{cipher_suite_names, tls_config, ClientAuth, TlsSettings};

/// What is wrong with a TLS setting.
#[napi(object)]
pub struct TlsProblem {
    pub setting: String,
    pub message: String,
}

/// The settings, or `None` when `certfile` is empty (TLS off). Optional paths are empty strings;
/// `cert_reqs` is Gunicorn's 0, 1 or 2; `ciphers` is colon- or comma-separated.
pub fn tls_settings(
    certfile: &str,
    keyfile: &str,
    ca_certs: &str,
    cert_reqs: u32,
    ciphers: &str,
) -> Option<TlsSettings> {
    let path = |p: &str| (!p.is_empty()).then(|| p.into());
    Some(TlsSettings {
        certfile: path(certfile)?,
        keyfile: path(keyfile),
        ca_certs: path(ca_certs),
        client_auth: match cert_reqs {
            0 => ClientAuth::None,
            1 => ClientAuth::Optional,
            _ => ClientAuth::Required,
        },
        ciphers: ciphers
            .split([':', ','])
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(String::from)
            .collect(),
        alpn: Vec::new(),
    })
}

/// Loads the certificate files as a worker will; `null` when they are usable or TLS is off.
#[napi]
pub fn check_tls(
    certfile: String,
    keyfile: String,
    ca_certs: String,
    cert_reqs: u32,
    ciphers: String,
) -> Option<TlsProblem> {
    let settings = tls_settings(&certfile, &keyfile, &ca_certs, cert_reqs, &ciphers)?;
    tls_config(&settings).err().map(|e| TlsProblem {
        setting: e.setting.into(),
        message: e.message,
    })
}

/// The names `ciphers` accepts.
#[napi]
pub fn tls_cipher_suites() -> Vec<String> {
    cipher_suite_names()
}
