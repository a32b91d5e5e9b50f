//! The crate's one error type, and its mapping to SCIM error responses.
//!
//! A SCIM server answers a bad filter with HTTP 400 and `scimType`
//! `invalidFilter`, and a bad PATCH path with `invalidPath` (RFC 7644
//! §3.12, Table 9). [`Error::scim_type`] and [`Error::detail`] give those two
//! fields directly, so a handler never has to re-phrase a parser message.

use std::fmt;

/// What was being parsed, which decides the SCIM error type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Syntax {
    /// A `filter` query parameter or a `filter` in a search request.
    Filter,
    /// A PATCH operation's `path`.
    Path,
    /// A bare attribute path (`sortBy`, `attributes`).
    AttrPath,
}

impl Syntax {
    fn noun(self) -> &'static str {
        match self {
            Syntax::Filter => "filter",
            Syntax::Path => "path",
            Syntax::AttrPath => "attribute path",
        }
    }
}

/// Which hostile-input limit was reached; see [`crate::Limits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitKind {
    /// The input is longer than [`crate::Limits::max_len`] bytes.
    Length,
    /// Parentheses, `not` and value filters nest deeper than
    /// [`crate::Limits::max_depth`].
    Depth,
    /// There are more comparisons than [`crate::Limits::max_terms`].
    Terms,
}

/// Everything that can go wrong in this crate.
///
/// ```
/// use scim_filter_parser::parse_filter;
/// let err = parse_filter(r#"userName eqq "bjensen""#).unwrap_err();
/// assert_eq!(err.scim_type(), "invalidFilter");
/// assert_eq!(err.position(), Some(9));
/// assert_eq!(
///     err.detail(),
///     "Invalid filter at position 9 (near \"eqq \\\"bjensen\\\"\"): \
///      expected an operator (eq, ne, co, sw, ew, gt, lt, ge, le or pr)"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The text does not follow the grammar.
    Syntax {
        /// What was being parsed.
        syntax: Syntax,
        /// Byte offset in the input where the problem starts.
        position: usize,
        /// What the parser expected there, in words.
        expected: &'static str,
        /// Up to 20 characters of the input from `position`, empty at the end.
        near: String,
    },
    /// A limit for hostile input was reached.
    Limit {
        /// What was being parsed.
        syntax: Syntax,
        /// Which limit.
        kind: LimitKind,
        /// The limit in force.
        max: usize,
        /// Byte offset where the limit was crossed.
        position: usize,
    },
    /// The filter is well formed but cannot be applied to the schema: an
    /// unknown attribute, an operator the attribute's type does not support
    /// (RFC 7644 §3.4.2.2), or a value of the wrong type.
    InvalidFilter {
        /// The attribute path concerned, as written.
        attribute: String,
        /// What is wrong, as a sentence.
        message: String,
    },
}

impl Error {
    /// The SCIM `scimType` for this error: `invalidPath` for PATCH paths,
    /// `invalidFilter` otherwise (RFC 7644 §3.12).
    pub fn scim_type(&self) -> &'static str {
        match self {
            Error::Syntax { syntax: Syntax::Path, .. } | Error::Limit { syntax: Syntax::Path, .. } => {
                "invalidPath"
            }
            _ => "invalidFilter",
        }
    }

    /// A sentence for the SCIM error's `detail`, naming the position and
    /// what would have been accepted there.
    pub fn detail(&self) -> String {
        self.to_string()
    }

    /// The byte offset of a syntax or limit error.
    pub fn position(&self) -> Option<usize> {
        match self {
            Error::Syntax { position, .. } | Error::Limit { position, .. } => Some(*position),
            Error::InvalidFilter { .. } => None,
        }
    }

    pub(crate) fn invalid(attribute: impl fmt::Display, message: impl Into<String>) -> Error {
        Error::InvalidFilter { attribute: attribute.to_string(), message: message.into() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Syntax { syntax, position, expected, near } => {
                let noun = syntax.noun();
                if near.is_empty() {
                    write!(f, "Invalid {noun} at position {position} (at the end): expected {expected}")
                } else {
                    write!(f, "Invalid {noun} at position {position} (near {near:?}): expected {expected}")
                }
            }
            Error::Limit { syntax, kind, max, position } => {
                let noun = syntax.noun();
                match kind {
                    LimitKind::Length => write!(f, "The {noun} is too long: the limit is {max} bytes"),
                    LimitKind::Depth => write!(
                        f,
                        "The {noun} nests too deeply at position {position}: at most {max} levels of parentheses, not and [] are allowed"
                    ),
                    LimitKind::Terms => write!(
                        f,
                        "The {noun} has too many comparisons at position {position}: at most {max} are allowed"
                    ),
                }
            }
            Error::InvalidFilter { attribute, message } => {
                write!(f, "Invalid filter on '{attribute}': {message}")
            }
        }
    }
}

impl std::error::Error for Error {}
