//! `OidcError`, the one error type of this crate. Protocol errors carry the
//! registered error codes; `http::wire` is the one place that turns them
//! into responses.

use sigil_store::StoreError;

/// Errors of the OIDC layer.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// RFC 6749 §5.2 `invalid_request`: a parameter is missing, repeated,
    /// malformed or unsupported.
    #[error("invalid_request: {0}")]
    InvalidRequest(String),
    /// RFC 6749 §5.2 `invalid_client`: client authentication failed. Answered
    /// with 401, and `WWW-Authenticate` when the client used HTTP Basic.
    #[error("invalid_client: {description}")]
    InvalidClient {
        /// Whether the client tried the `Authorization: Basic` header.
        used_basic: bool,
        /// What went wrong, in words safe to show the client.
        description: String,
    },
    /// RFC 6749 §5.2 `invalid_grant`: the grant or refresh token is invalid,
    /// expired, revoked or issued to another client.
    #[error("invalid_grant: {0}")]
    InvalidGrant(String),
    /// RFC 6749 §5.2 `unauthorized_client`: this client may not use this grant.
    #[error("unauthorized_client: {0}")]
    UnauthorizedClient(String),
    /// RFC 6749 §5.2 `unsupported_grant_type`.
    #[error("unsupported_grant_type: {0}")]
    UnsupportedGrantType(String),
    /// RFC 6749 §5.2 `invalid_scope`: unknown, malformed, or beyond what the
    /// client may have.
    #[error("invalid_scope: {0}")]
    InvalidScope(String),
    /// RFC 8693 §2.2.2 / RFC 8707 §2 `invalid_target`: an audience or
    /// resource the client may not obtain tokens for.
    #[error("invalid_target: {0}")]
    InvalidTarget(String),
    /// A client registration or key request broke a rule (administrative
    /// paths only; never sent over HTTP as such).
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
