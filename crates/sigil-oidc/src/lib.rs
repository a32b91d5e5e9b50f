//! Sigil's OpenID Connect provider and OAuth 2.0 authorization server.
//!
//! The rules for registering clients ([`clients`]), the signing key set
//! with its rotation ([`keys`]), token signing and checking (`tokens`), the
//! grants of the token endpoint (`grants`), the key sets clients publish
//! (`remote_keys`), and the endpoints in [`http`]. This crate reads and
//! writes the identity store through `sigil-store` and knows nothing of
//! SCIM; `sigil-server` wires it to HTTP.

pub mod clients;
mod error;
pub mod exchange;
mod grants;
pub mod http;
pub mod keys;
mod remote_keys;
mod tokens;
pub mod trusted;

pub use crate::error::OidcError;
