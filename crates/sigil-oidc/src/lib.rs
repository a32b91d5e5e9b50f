//! Sigil's OpenID Connect provider and OAuth 2.0 authorization server.
//!
//! A domain core and an HTTP adapter:
//! - [`Provider`] (`provider`): what everything shares — the store, the
//!   issuer, key caches, lifetimes, and the resource identifiers of
//!   Sigil's own APIs ([`Api`]);
//! - `grants`: one module per grant of the token endpoint, from a typed
//!   request to a typed response;
//! - `issue`: the claims of every token Sigil mints, built once;
//! - [`tokens`]: signing, and [`tokens::verify`], the one verifier every
//!   consumer of a token calls (UserInfo, introspection, revocation, token
//!   exchange, SCIM, the admin API), returning a [`tokens::verify::Principal`];
//! - [`api_tokens`] (long-lived tokens a client holds for itself, and
//!   their rules); [`clients`] (registration rules), [`keys`] (the signing key set and
//!   its rotation), [`trusted`] (other issuers' tokens for exchange),
//!   `remote_keys` (key sets clients publish);
//! - [`http`]: the endpoints, which parse requests and write wire formats;
//!   nothing outside it names actix.
//!
//! This crate reads and writes the identity store through `sigil-store` and
//! knows nothing of SCIM; `sigil-server` wires it to HTTP.

pub mod api_tokens;
pub mod clients;
mod error;
mod grants;
pub mod http;
mod issue;
pub mod keys;
mod provider;
mod remote_keys;
pub mod tokens;
pub mod trusted;

pub use crate::error::OidcError;
pub use crate::provider::{Api, GroupsClaim, Lifetimes, Provider};

/// RFC 8693 §2.1 `grant_type` of token exchange.
pub const TOKEN_EXCHANGE_GRANT_TYPE: &str = grants::TOKEN_EXCHANGE;
