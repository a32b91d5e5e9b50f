//! The crate's one integration test binary: every module below shares one
//! link step.

// Panicking is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Table rows pass expected trees by value: they read better without `&`.
#![allow(clippy::needless_pass_by_value)]

mod build;
mod corpus_replay;
mod errors;
mod eval;
mod limits;
mod parse_table;
mod path;
mod rfc_examples;
mod roundtrip;
