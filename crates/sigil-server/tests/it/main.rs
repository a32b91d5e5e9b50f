//! End-to-end tests of the `sigil` binary: its commands as an operator types
//! them, and the HTTP server on an ephemeral port, on SQLite and PostgreSQL.

mod cli;
mod config;
mod oauth;
mod server;

use std::path::Path;

/// The binary under test.
pub(crate) fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_sigil"))
}
