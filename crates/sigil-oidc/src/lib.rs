//! Sigil's OpenID Connect provider and OAuth 2.0 authorization server.
//!
//! So far: the rules for registering clients ([`clients`]), the signing key
//! set with its rotation ([`keys`]), token signing (`tokens`), and the
//! endpoints in [`http`]: authorization server metadata, JWKS, and the token
//! endpoint with the client credentials grant (`grants`). This crate reads and writes the identity store through
//! `sigil-store` and knows nothing of SCIM; `sigil-server` wires it to HTTP.

pub mod clients;
mod error;
mod grants;
pub mod http;
pub mod keys;
mod tokens;

pub use crate::error::OidcError;
