//! Sigil's OpenID Connect provider and OAuth 2.0 authorization server.
//!
//! So far: the rules for registering clients ([`clients`]) and the signing
//! key set with its rotation ([`keys`]). The protocol endpoints build on
//! these. This crate reads and writes the identity store through
//! `sigil-store` and knows nothing of SCIM; `sigil-server` wires it to HTTP.

pub mod clients;
mod error;
pub mod keys;

pub use crate::error::OidcError;
