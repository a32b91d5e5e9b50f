//! The typed syntax tree of filters and PATCH paths, and its canonical printer.
//!
//! The tree is meant to be consumed directly by a query compiler (for example
//! one that emits SQL), so it keeps every distinction the grammar makes and
//! nothing more. Attribute names keep the spelling the client used, because
//! that is what error messages and logs should show, while equality, hashing
//! and ordering ignore ASCII case, because RFC 7643 §2.1 makes attribute names
//! case-insensitive.
//!
//! # Canonical form
//!
//! [`Filter`]'s `Display` prints a filter that [`crate::parse_filter`] turns
//! back into an equal tree:
//!
//! * operators and keywords in lower case, one space between tokens;
//! * attribute names and schema URNs in the spelling they were parsed with;
//! * strings as JSON with the shortest escapes (`\"`, `\\`, `\b`, `\f`, `\n`,
//!   `\r`, `\t`, `\u00XX` for other control characters, everything else
//!   literal), numbers exactly as written;
//! * the fewest parentheses that keep the tree's shape: `and` and `or` are
//!   left-associative, so a right operand of the same operator is
//!   parenthesised, and an `or` operand of `and` always is;
//! * `not` is always followed by a parenthesised operand, as the grammar
//!   requires.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt::{self, Write as _};
use std::hash::{Hash, Hasher};

/// An attribute name or schema URN: keeps its original spelling, compares
/// without regard to ASCII case.
///
/// RFC 7643 §2.1 and RFC 7644 §3.4.2.2 make attribute names case-insensitive,
/// so `userName` and `USERNAME` are the same [`Name`].
///
/// ```
/// use scim_filter_parser::Name;
/// let a = Name::new("userName");
/// assert_eq!(a, Name::new("USERNAME"));
/// assert_eq!(a.as_str(), "userName");
/// assert_eq!(a.normalized(), "username");
/// ```
#[derive(Debug, Clone, Eq)]
pub struct Name(String);

impl Name {
    /// Wraps a name. No validation is done: the parser only ever builds
    /// names that follow the grammar, and a name built by hand prints as is.
    pub fn new(name: impl Into<String>) -> Self {
        Name(name.into())
    }

    /// The spelling the name was written with.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The lower-case form to use as a lookup key; borrows when the name is
    /// already lower case.
    pub fn normalized(&self) -> Cow<'_, str> {
        if self.0.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(self.0.to_ascii_lowercase())
        } else {
            Cow::Borrowed(&self.0)
        }
    }

    /// Compares with a plain string, ignoring ASCII case.
    pub fn eq_ignore_case(&self, other: &str) -> bool {
        self.0.eq_ignore_ascii_case(other)
    }

    /// Gives back the original spelling.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.0.eq_ignore_ascii_case(other)
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.0.eq_ignore_ascii_case(other)
    }
}

impl Hash for Name {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for b in self.0.bytes() {
            state.write_u8(b.to_ascii_lowercase());
        }
        state.write_u8(0xff);
    }
}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Name {
    fn cmp(&self, other: &Self) -> Ordering {
        let a = self.0.bytes().map(|b| b.to_ascii_lowercase());
        let b = other.0.bytes().map(|b| b.to_ascii_lowercase());
        a.cmp(b)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Self {
        Name::new(s)
    }
}

impl From<String> for Name {
    fn from(s: String) -> Self {
        Name(s)
    }
}

/// An attribute path, `[URI ":"] ATTRNAME ["." ATTRNAME]` (RFC 7644
/// §3.4.2.2, Figure 1).
///
/// ```
/// use scim_filter_parser::AttrPath;
/// let p: AttrPath = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"
///     .parse()
///     .unwrap();
/// assert_eq!(p.urn.as_ref().unwrap().as_str(),
///            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User");
/// assert_eq!(p.name, "manager");
/// assert_eq!(p.sub_attr.as_ref().unwrap(), "value");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttrPath {
    /// The schema URI, without the `:` that separates it from the name.
    pub urn: Option<Name>,
    /// The attribute name.
    pub name: Name,
    /// The sub-attribute of a complex attribute.
    pub sub_attr: Option<Name>,
}

impl AttrPath {
    /// A path made of one attribute name.
    pub fn new(name: impl Into<Name>) -> Self {
        AttrPath { urn: None, name: name.into(), sub_attr: None }
    }

    /// Adds a sub-attribute.
    #[must_use]
    pub fn with_sub_attr(mut self, sub: impl Into<Name>) -> Self {
        self.sub_attr = Some(sub.into());
        self
    }

    /// Adds a schema URN prefix.
    #[must_use]
    pub fn with_urn(mut self, urn: impl Into<Name>) -> Self {
        self.urn = Some(urn.into());
        self
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(self.name.as_str())?;
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// A comparison operator (RFC 7644 §3.4.2.2, Table 3), without `pr`, which
/// takes no value and is [`Filter::Present`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CompareOp {
    /// `eq`: equal.
    Eq,
    /// `ne`: not equal.
    Ne,
    /// `co`: contains.
    Co,
    /// `sw`: starts with.
    Sw,
    /// `ew`: ends with.
    Ew,
    /// `gt`: greater than.
    Gt,
    /// `lt`: less than.
    Lt,
    /// `ge`: greater than or equal.
    Ge,
    /// `le`: less than or equal.
    Le,
}

impl CompareOp {
    /// Every operator, in the order of RFC 7644 Table 3.
    pub const ALL: [CompareOp; 9] = [
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Lt,
        CompareOp::Ge,
        CompareOp::Le,
    ];

    /// The operator's lower-case keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Lt => "lt",
            CompareOp::Ge => "ge",
            CompareOp::Le => "le",
        }
    }

    /// True for `gt`, `lt`, `ge` and `le`, which need an ordering.
    pub fn is_ordering(self) -> bool {
        matches!(self, CompareOp::Gt | CompareOp::Lt | CompareOp::Ge | CompareOp::Le)
    }

    /// True for `co`, `sw` and `ew`, which look inside a string.
    pub fn is_substring(self) -> bool {
        matches!(self, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A JSON number kept exactly as written, so that no precision is lost on the
/// way to a database and the canonical form reprints it unchanged.
///
/// ```
/// use scim_filter_parser::Number;
/// let n = Number::parse("1.50").unwrap();
/// assert_eq!(n.as_str(), "1.50");
/// assert_eq!(n.as_f64(), Some(1.5));
/// assert_eq!(n.as_i64(), None);
/// assert!(Number::parse("01").is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Number(String);

impl Number {
    /// Accepts text that follows the JSON number grammar (RFC 8259 §6).
    pub fn parse(text: &str) -> Option<Number> {
        if crate::parse::json_number_len(text) == Some(text.len()) {
            Some(Number(text.to_owned()))
        } else {
            None
        }
    }

    pub(crate) fn from_validated(text: &str) -> Number {
        Number(text.to_owned())
    }

    /// The number as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The value when it is an integer without fraction or exponent that fits
    /// an `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        self.0.parse().ok()
    }

    /// The nearest `f64`, if finite.
    pub fn as_f64(&self) -> Option<f64> {
        self.0.parse::<f64>().ok().filter(|v| v.is_finite())
    }

    /// True when the number has neither fraction nor exponent.
    pub fn is_integer_literal(&self) -> bool {
        !self.0.contains(['.', 'e', 'E'])
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A comparison value: `compValue = false / null / true / number / string`
/// (RFC 7644 §3.4.2.2, with the JSON rules of RFC 7159).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CompareValue {
    /// A string with its escapes resolved; its case is kept.
    String(String),
    /// A number exactly as written.
    Number(Number),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
}

impl CompareValue {
    /// The value as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            CompareValue::String(s) => serde_json::Value::String(s.clone()),
            CompareValue::Number(n) => n
                .as_str()
                .parse::<serde_json::Number>()
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            CompareValue::Bool(b) => serde_json::Value::Bool(*b),
            CompareValue::Null => serde_json::Value::Null,
        }
    }
}

impl fmt::Display for CompareValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompareValue::String(s) => write_json_string(f, s),
            CompareValue::Number(n) => f.write_str(n.as_str()),
            CompareValue::Bool(true) => f.write_str("true"),
            CompareValue::Bool(false) => f.write_str("false"),
            CompareValue::Null => f.write_str("null"),
        }
    }
}

fn write_json_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_char('"')?;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let escape = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\u{8}' => "\\b",
            '\u{c}' => "\\f",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            c if u32::from(c) < 0x20 => "",
            _ => continue,
        };
        f.write_str(&s[start..i])?;
        if escape.is_empty() {
            write!(f, "\\u{:04x}", u32::from(c))?;
        } else {
            f.write_str(escape)?;
        }
        start = i + c.len_utf8();
    }
    f.write_str(&s[start..])?;
    f.write_char('"')
}

/// A filter expression (RFC 7644 §3.4.2.2).
///
/// `and` and `or` are binary and left-associative, so `a and b and c` is
/// `And(And(a, b), c)`; a parenthesised group is simply its inner tree.
///
/// ```
/// use scim_filter_parser::{parse_filter, Filter};
/// let f = parse_filter(r#"userName eq "bjensen" and (emails.type eq "work" or title pr)"#).unwrap();
/// assert!(matches!(f, Filter::And(_, _)));
/// assert_eq!(f.to_string(), r#"userName eq "bjensen" and (emails.type eq "work" or title pr)"#);
/// ```
///
/// # Value paths and the Entra ID form
///
/// `emails[type eq "work"]` is [`Filter::ValuePath`]; the attribute paths in
/// its inner filter are relative to `emails`. Microsoft Entra ID sends
/// `emails[type eq "work"].value eq "x"`, which is not in the RFC's grammar;
/// it means "some email has type work and value x", so it parses to the
/// value path `emails[type eq "work" and value eq "x"]`, whose canonical form
/// is that RFC-conforming text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Filter {
    /// `path op value`.
    Compare {
        /// The attribute compared.
        path: AttrPath,
        /// The operator.
        op: CompareOp,
        /// The literal compared against.
        value: CompareValue,
    },
    /// `path pr`: the attribute has a non-empty value.
    Present(AttrPath),
    /// Both operands match.
    And(Box<Filter>, Box<Filter>),
    /// Either operand matches.
    Or(Box<Filter>, Box<Filter>),
    /// `not (filter)`.
    Not(Box<Filter>),
    /// `attr[filter]`: some value of the complex attribute `attr` matches
    /// `filter`, whose paths name sub-attributes of `attr`.
    ValuePath {
        /// The complex attribute; never has a sub-attribute.
        attr: AttrPath,
        /// The filter applied to each value of `attr`.
        filter: Box<Filter>,
    },
}

impl Filter {
    /// `path op value`.
    pub fn compare(path: AttrPath, op: CompareOp, value: CompareValue) -> Filter {
        Filter::Compare { path, op, value }
    }

    /// `left and right`.
    pub fn and(left: Filter, right: Filter) -> Filter {
        Filter::And(Box::new(left), Box::new(right))
    }

    /// `left or right`.
    pub fn or(left: Filter, right: Filter) -> Filter {
        Filter::Or(Box::new(left), Box::new(right))
    }

    /// `not (inner)`.
    #[allow(clippy::should_implement_trait)]
    pub fn not(inner: Filter) -> Filter {
        Filter::Not(Box::new(inner))
    }

    /// The operands of a chain of one operator, left to right: for
    /// `a and b and c`, which is `And(And(a, b), c)`, that is `[a, b, c]`;
    /// for a filter that is neither `And` nor `Or`, just itself.
    ///
    /// Long chains are as deep as they are long, so code that walks a tree
    /// (a printer, a query compiler) should go through this rather than
    /// recurse into the left operand.
    ///
    /// ```
    /// use scim_filter_parser::parse_filter;
    /// let f = parse_filter("a pr and b pr and (c pr and d pr) and e pr").unwrap();
    /// let ops: Vec<String> = f.operands().iter().map(|o| o.to_string()).collect();
    /// assert_eq!(ops, ["a pr", "b pr", "c pr and d pr", "e pr"]);
    /// ```
    pub fn operands(&self) -> Vec<&Filter> {
        let mut operands = Vec::new();
        let mut node = self;
        while let (Filter::And(..), Filter::And(l, r)) | (Filter::Or(..), Filter::Or(l, r)) = (self, node) {
            operands.push(&**r);
            node = l;
        }
        operands.push(node);
        operands.reverse();
        operands
    }

    /// `attr[inner]`.
    pub fn value_path(attr: AttrPath, inner: Filter) -> Filter {
        Filter::ValuePath { attr, filter: Box::new(inner) }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Compare { path, op, value } => write!(f, "{path} {op} {value}"),
            Filter::Present(path) => write!(f, "{path} pr"),
            Filter::And(..) => {
                for (n, operand) in self.operands().into_iter().enumerate() {
                    if n > 0 {
                        f.write_str(" and ")?;
                    }
                    let parens = match operand {
                        Filter::Or(..) => true,
                        Filter::And(..) => n > 0,
                        _ => false,
                    };
                    write_operand(f, operand, parens)?;
                }
                Ok(())
            }
            Filter::Or(..) => {
                for (n, operand) in self.operands().into_iter().enumerate() {
                    if n > 0 {
                        f.write_str(" or ")?;
                    }
                    write_operand(f, operand, n > 0 && matches!(operand, Filter::Or(..)))?;
                }
                Ok(())
            }
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::ValuePath { attr, filter } => write!(f, "{attr}[{filter}]"),
        }
    }
}

fn write_operand(f: &mut fmt::Formatter<'_>, operand: &Filter, parens: bool) -> fmt::Result {
    if parens { write!(f, "({operand})") } else { write!(f, "{operand}") }
}

/// A PATCH operation's `path` (RFC 7644 §3.5.2):
/// `PATH = attrPath / valuePath [subAttr]`.
///
/// * `name.givenName`: `attr` is the whole path, no filter, no `sub_attr`.
/// * `members[value eq "2819c223"]`: `attr` is `members`, `filter` is set.
/// * `members[value eq "2819c223"].display`: as above, and `sub_attr` is
///   `display`.
///
/// When `filter` is set, `attr` has no sub-attribute of its own; `sub_attr`
/// is only set together with `filter`.
///
/// ```
/// use scim_filter_parser::parse_path;
/// let p = parse_path(r#"members[value eq "2819c223"].display"#).unwrap();
/// assert_eq!(p.attr.name, "members");
/// assert!(p.filter.is_some());
/// assert_eq!(p.sub_attr.as_ref().unwrap(), "display");
/// assert_eq!(p.to_string(), r#"members[value eq "2819c223"].display"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PatchPath {
    /// The attribute targeted.
    pub attr: AttrPath,
    /// The value filter selecting values of a multi-valued attribute.
    pub filter: Option<Filter>,
    /// The sub-attribute of the selected values.
    pub sub_attr: Option<Name>,
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Filter {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        crate::parse_filter(s)
    }
}

impl std::str::FromStr for PatchPath {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        crate::parse_path(s)
    }
}

impl std::str::FromStr for AttrPath {
    type Err = crate::Error;
    /// Parses a bare attribute path, as in a `sortBy` or `attributes`
    /// parameter.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        crate::parse_attr_path(s)
    }
}
