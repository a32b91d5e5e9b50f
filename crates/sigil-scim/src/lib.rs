//! Sigil's SCIM 2.0 service (RFC 7643, RFC 7644): users and groups in the
//! identity store, served under `/scim/v2` by `sigil-server`.
//!
//! Filters are parsed by `scim-filter-parser` and compiled to SQL on the
//! store's tables (`filter`), so searches run in the database. This crate
//! knows nothing of OAuth: the server passes in how bearer tokens are
//! checked ([`http::AccessTokens`]).

mod cursor;
mod error;
mod filter;
pub mod group;
pub mod http;
mod patch;
pub mod rights;
mod search;
mod sql;
pub mod user;
mod user_input;

pub use crate::error::ScimError;
pub use crate::http::openapi;
pub use crate::search::{Position, Query, Walk, search_groups, search_users};
