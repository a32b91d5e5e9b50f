//! Bounds that keep parsing safe on input from an attacker.
//!
//! The parser is recursive only where the grammar nests (parentheses, `not`
//! and value filters), and every such step checks [`Limits::max_depth`]
//! first, so the stack cannot overflow. A chain of `and`/`or` is built in a
//! loop, but it makes a tree as deep as it is long, which the printer, the
//! evaluator and `Drop` walk recursively; [`Limits::max_terms`] bounds that.
//! Every byte is looked at a bounded number of times, so parsing time is
//! linear in the length, which [`Limits::max_len`] bounds in turn.

/// The limits applied while parsing.
///
/// ```
/// use scim_filter_parser::{parse_filter_with, Limits, LimitKind, Error};
/// let limits = Limits { max_depth: 2, ..Limits::default() };
/// let err = parse_filter_with("not (not (not (a pr)))", &limits).unwrap_err();
/// assert!(matches!(err, Error::Limit { kind: LimitKind::Depth, max: 2, .. }));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The longest input accepted, in bytes.
    pub max_len: usize,
    /// How deeply parentheses, `not` and `[...]` may nest. Values above
    /// [`Limits::HARD_MAX_DEPTH`] are treated as that.
    pub max_depth: usize,
    /// How many comparisons (`attrExp`) one input may hold. Values above
    /// [`Limits::HARD_MAX_TERMS`] are treated as that.
    pub max_terms: usize,
}

impl Limits {
    /// The deepest nesting ever allowed, whatever `max_depth` says: deep
    /// enough for any real client, shallow enough that parsing, printing,
    /// evaluating and dropping the tree fit a 1 MiB stack even unoptimised.
    pub const HARD_MAX_DEPTH: usize = 128;
    /// The most comparisons ever allowed, whatever `max_terms` says; a chain
    /// of that many `and`s is a tree that deep.
    pub const HARD_MAX_TERMS: usize = 2048;

    pub(crate) fn depth(&self) -> usize {
        self.max_depth.min(Self::HARD_MAX_DEPTH)
    }

    pub(crate) fn terms(&self) -> usize {
        self.max_terms.min(Self::HARD_MAX_TERMS)
    }
}

impl Default for Limits {
    /// 8 KiB, 32 levels, 256 comparisons: far beyond what provisioning
    /// clients send, far below what could hurt.
    fn default() -> Self {
        Limits { max_len: 8 * 1024, max_depth: 32, max_terms: 256 }
    }
}
