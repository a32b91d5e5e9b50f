//! SCIM 2.0 filters and PATCH paths: parse, print, evaluate.
//!
//! This crate implements the filter grammar of RFC 7644 §3.4.2.2 (Figure 1)
//! and the PATCH `path` grammar of RFC 7644 §3.5.2, with the precedence and
//! case rules of the RFC's prose, a typed tree meant for query compilers, a
//! canonical printer, and an evaluator for JSON resources. It is built for
//! input from untrusted clients: length, nesting and term limits, no panics,
//! and time linear in the input.
//!
//! ```
//! use scim_filter_parser::{parse_filter, matches, AttrPath, CompareOp, CompareValue, Filter, Schema};
//! use serde_json::json;
//!
//! let filter = parse_filter(r#"userName Eq "bjensen" and not (emails pr)"#)?;
//! assert_eq!(
//!     filter,
//!     Filter::and(
//!         Filter::compare(
//!             AttrPath::new("userName"),
//!             CompareOp::Eq,
//!             CompareValue::String("bjensen".into()),
//!         ),
//!         Filter::not(Filter::Present(AttrPath::new("emails"))),
//!     )
//! );
//! // The canonical form parses back to the same tree.
//! assert_eq!(filter.to_string(), r#"userName eq "bjensen" and not (emails pr)"#);
//!
//! let user = json!({"userName": "BJensen", "emails": []});
//! assert!(matches(&filter, &Schema::user(), &user)?);
//! # Ok::<(), scim_filter_parser::Error>(())
//! ```
//!
//! Errors carry the position and what was expected, worded for a SCIM
//! error response's `detail`:
//!
//! ```
//! use scim_filter_parser::parse_path;
//! let err = parse_path("members[value eq \"2819c223\"").unwrap_err();
//! assert_eq!(err.scim_type(), "invalidPath");
//! assert_eq!(
//!     err.detail(),
//!     "Invalid path at position 27 (at the end): expected 'and', 'or' or ']'"
//! );
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod ast;
mod error;
mod eval;
mod limits;
mod literal;
mod parse;
mod schema;

pub use ast::{AttrPath, CompareOp, CompareValue, Filter, Name, Number, PatchPath};
pub use error::{Error, LimitKind, Syntax};
pub use eval::{Matcher, matches};
pub use limits::Limits;
pub use schema::{AttrType, Attribute, Extension, Schema};

/// Parses a filter (RFC 7644 §3.4.2.2) with the default [`Limits`].
///
/// ```
/// use scim_filter_parser::parse_filter;
/// let f = parse_filter(r#"title pr and userType eq "Employee""#).unwrap();
/// assert_eq!(f.to_string(), r#"title pr and userType eq "Employee""#);
/// assert!(parse_filter("title pr and").is_err());
/// ```
pub fn parse_filter(input: &str) -> Result<Filter, Error> {
    parse::filter(input, &Limits::default())
}

/// Parses a filter with the given limits.
///
/// ```
/// use scim_filter_parser::{parse_filter_with, Limits};
/// let limits = Limits { max_terms: 1, ..Limits::default() };
/// assert!(parse_filter_with("a pr", &limits).is_ok());
/// assert!(parse_filter_with("a pr or b pr", &limits).is_err());
/// ```
pub fn parse_filter_with(input: &str, limits: &Limits) -> Result<Filter, Error> {
    parse::filter(input, limits)
}

/// Parses a PATCH operation's `path` (RFC 7644 §3.5.2) with the default
/// [`Limits`].
///
/// ```
/// use scim_filter_parser::parse_path;
/// let p = parse_path("name.familyName").unwrap();
/// assert_eq!(p.attr.sub_attr.as_ref().unwrap(), "familyName");
/// assert!(p.filter.is_none());
/// ```
pub fn parse_path(input: &str) -> Result<PatchPath, Error> {
    parse::path(input, &Limits::default())
}

/// Parses a PATCH path with the given limits.
///
/// ```
/// use scim_filter_parser::{parse_path_with, Limits};
/// assert!(parse_path_with("emails[type eq \"work\"]", &Limits::default()).is_ok());
/// ```
pub fn parse_path_with(input: &str, limits: &Limits) -> Result<PatchPath, Error> {
    parse::path(input, limits)
}

/// Parses a bare attribute path such as a `sortBy` value:
/// `[URI ":"] ATTRNAME ["." ATTRNAME]`, with no surrounding spaces.
///
/// ```
/// use scim_filter_parser::parse_attr_path;
/// let p = parse_attr_path("meta.lastModified").unwrap();
/// assert_eq!(p.name, "META");
/// ```
pub fn parse_attr_path(input: &str) -> Result<AttrPath, Error> {
    parse::bare_attr_path(input, &Limits::default())
}

/// Keeps the README's example compiling.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
