//! `OidcError`, the one error type of this crate.

use sigil_store::StoreError;

/// Errors of the OIDC layer.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// A client registration or key request broke a rule; the message says which.
    #[error("{0}")]
    Invalid(String),
    /// A client with this id is already registered.
    #[error("client `{0}` already exists")]
    ClientExists(String),
    /// Key generation or a signature operation failed.
    #[error("cryptography failed: {0}")]
    Crypto(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
