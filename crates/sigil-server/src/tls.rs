//! TLS on the server's own listener (`tls.cert_file`, `tls.key_file`), with
//! rustls, and the certificate reloaded on SIGHUP.
//!
//! The certificate and key are read at start-up: a missing file, a file
//! with no certificate or key, or a key that does not belong to the
//! certificate stops the server with a configuration error. On SIGHUP they
//! are read again and, when they load, swapped in for the handshakes that
//! follow; connections already open keep the certificate they began with.
//! A renewal that fails to load leaves the old certificate in place and
//! logs why, so a bad file never takes the server off the air.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::config::ConfigError;

/// Where the certificate chain and its key are, and which configuration
/// source named each (for error messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsFiles {
    pub(crate) cert_file: PathBuf,
    pub(crate) key_file: PathBuf,
    pub(crate) cert_origin: String,
    pub(crate) key_origin: String,
}

/// Why the files could not be used, and which of the two is at fault.
#[derive(Debug)]
enum LoadError {
    Cert(String),
    Key(String),
}

impl TlsFiles {
    fn load(&self, provider: &CryptoProvider) -> Result<CertifiedKey, LoadError> {
        let chain = read_chain(&self.cert_file).map_err(LoadError::Cert)?;
        let key = PrivateKeyDer::from_pem_file(&self.key_file).map_err(|e| {
            LoadError::Key(format!(
                "cannot read a private key from {}: {}",
                self.key_file.display(),
                pem_error(&e)
            ))
        })?;
        let certified = CertifiedKey::from_der(chain, key, provider).map_err(|e| {
            LoadError::Key(format!(
                "the key in {} does not fit the certificate: {e}",
                self.key_file.display()
            ))
        })?;
        Ok(certified)
    }

    fn config_error(&self, error: LoadError) -> ConfigError {
        match error {
            LoadError::Cert(message) => ConfigError::new("tls.cert_file", &self.cert_origin, message),
            LoadError::Key(message) => ConfigError::new("tls.key_file", &self.key_origin, message),
        }
    }
}

/// The PEM certificates in `path`, the server's own first.
fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let unreadable = |e: &rustls::pki_types::pem::Error| {
        format!("cannot read certificates from {}: {}", path.display(), pem_error(e))
    };
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(|e| unreadable(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| unreadable(&e))?;
    if chain.is_empty() {
        return Err(format!("{} holds no PEM certificate", path.display()));
    }
    Ok(chain)
}

/// pki-types' messages, shortened to what an operator can act on.
fn pem_error(error: &rustls::pki_types::pem::Error) -> String {
    match error {
        rustls::pki_types::pem::Error::Io(e) => e.to_string(),
        rustls::pki_types::pem::Error::NoItemsFound => "no PEM item of that kind in the file".to_owned(),
        other => format!("{other:?}"),
    }
}

/// Hands every handshake the current certificate; [`Reloader::reload`]
/// replaces it. The lock is held only to clone an `Arc`, once per
/// handshake, never per request.
#[derive(Debug)]
struct CurrentCert(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for CurrentCert {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner)))
    }
}

/// Loads the certificate again when asked.
#[derive(Debug, Clone)]
pub(crate) struct Reloader {
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    current: Arc<CurrentCert>,
}

impl Reloader {
    /// Reads the files again; on success new handshakes use them.
    pub(crate) fn reload(&self) -> Result<(), String> {
        let certified = self.files.load(&self.provider).map_err(|e| match e {
            LoadError::Cert(m) | LoadError::Key(m) => m,
        })?;
        *self.current.0.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(certified);
        Ok(())
    }
}

/// The rustls configuration for `files`, and what reloads it. Errors are
/// configuration errors naming the key at fault.
pub(crate) fn server_config(files: &TlsFiles) -> Result<(ServerConfig, Reloader), ConfigError> {
    // ring rather than aws-lc-rs: it builds with cc alone and quickly. rustls
    // marks it deprecated for lacking post-quantum key exchange; an operator
    // who needs that terminates TLS at a proxy (docs/deployment.md).
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certified = files.load(&provider).map_err(|e| files.config_error(e))?;
    let current = Arc::new(CurrentCert(RwLock::new(Arc::new(certified))));
    let config = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError::new("tls.cert_file", &files.cert_origin, e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(Arc::clone(&current) as Arc<dyn ResolvesServerCert>);
    Ok((config, Reloader { files: files.clone(), provider, current }))
}

/// Reloads the certificate on every SIGHUP until the server stops. Without
/// TLS the signal is still caught, so a reload sent out of habit does not
/// end the server (its default action), and logged.
pub(crate) fn reload_on_sighup(reloader: Option<Reloader>) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = signal(SignalKind::hangup())?;
    actix_web::rt::spawn(async move {
        while hangups.recv().await.is_some() {
            let Some(reloader) = reloader.clone() else {
                tracing::info!("SIGHUP: no TLS certificate to reload");
                continue;
            };
            let cert_file = reloader.files.cert_file.display().to_string();
            // Reading files is blocking work: off the executor.
            match actix_web::rt::task::spawn_blocking(move || reloader.reload()).await {
                Ok(Ok(())) => tracing::info!(cert_file, "reloaded the TLS certificate"),
                Ok(Err(error)) => {
                    tracing::error!(%error, "kept the previous TLS certificate: the new one does not load");
                }
                Err(error) => tracing::error!(%error, "the TLS reload task failed"),
            }
        }
    });
    Ok(())
}
