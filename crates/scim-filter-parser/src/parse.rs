//! The nom parser for filters (RFC 7644 §3.4.2.2, Figure 1) and PATCH paths
//! (RFC 7644 §3.5.2).
//!
//! The grammar's `logExp = FILTER SP ("and" / "or") SP FILTER` is left
//! recursive and says nothing of precedence; the prose does (Table 4:
//! grouping, then `not`, then `and`, then `or`), so the parser is the usual
//! precedence-climbing shape:
//!
//! ```text
//! or    = and *(SP "or" SP and)
//! and   = unary *(SP "and" SP unary)
//! unary = "not" [SP] "(" or ")" / "(" or ")" / attrExp / valuePath
//! ```
//!
//! Every choice is made on one token of look-ahead, so no alternative is
//! ever parsed twice and time stays linear in the input, however hostile.
//! All errors are nom `Failure`s carrying the position and what was
//! expected; the only recoverable look-aheads are written as plain checks.

use nom::bytes::complete::{tag_no_case, take_while, take_while1};
use nom::character::complete::{multispace0, multispace1};
use nom::error::{ErrorKind, ParseError};
use nom::{IResult, Parser as _};

use crate::ast::{AttrPath, CompareOp, CompareValue, Filter, Name, Number, PatchPath};
use crate::error::{Error, LimitKind, Syntax};
use crate::limits::Limits;
use crate::literal;

/// The parser's error: where, and what went wrong there.
#[derive(Debug)]
pub(crate) struct PErr<'a> {
    rest: &'a str,
    kind: PErrKind,
}

#[derive(Debug)]
enum PErrKind {
    Expected(&'static str),
    Limit(LimitKind),
}

impl<'a> ParseError<&'a str> for PErr<'a> {
    fn from_error_kind(input: &'a str, _kind: ErrorKind) -> Self {
        PErr { rest: input, kind: PErrKind::Expected("valid syntax") }
    }

    fn append(_input: &'a str, _kind: ErrorKind, other: Self) -> Self {
        other
    }
}

pub(crate) type PResult<'a, T> = IResult<&'a str, T, PErr<'a>>;

/// A definitive error: with one token of look-ahead there is never another
/// alternative worth trying.
pub(crate) fn fail<'a, T>(rest: &'a str, expected: &'static str) -> PResult<'a, T> {
    Err(nom::Err::Failure(PErr { rest, kind: PErrKind::Expected(expected) }))
}

const EXPECT_OP: &str = "an operator (eq, ne, co, sw, ew, gt, lt, ge, le or pr)";
const EXPECT_NAME: &str = "an attribute name (a letter, then letters, digits, '-' or '_')";

/// Where an expression sits, which decides what may follow it and which
/// attribute paths are allowed in it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    /// The whole input.
    Top,
    /// Inside `( )` or `not ( )`.
    Group,
    /// Inside `[ ]`: paths are sub-attributes of the value path's attribute.
    Value,
    /// Inside `( )` within `[ ]`.
    ValueGroup,
}

impl Ctx {
    fn in_value(self) -> bool {
        matches!(self, Ctx::Value | Ctx::ValueGroup)
    }

    fn group(self) -> Ctx {
        if self.in_value() { Ctx::ValueGroup } else { Ctx::Group }
    }
}

struct Parser {
    max_depth: usize,
    max_terms: usize,
    depth: usize,
    terms: usize,
}

impl Parser {
    fn new(limits: &Limits) -> Self {
        Parser { max_depth: limits.depth(), max_terms: limits.terms(), depth: 0, terms: 0 }
    }

    /// Checked before every recursive step, so the stack depth is bounded by
    /// `max_depth` whatever the input.
    fn enter<'a>(&mut self, at: &'a str) -> PResult<'a, ()> {
        self.depth += 1;
        if self.depth > self.max_depth {
            return Err(nom::Err::Failure(PErr { rest: at, kind: PErrKind::Limit(LimitKind::Depth) }));
        }
        Ok((at, ()))
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn count_term<'a>(&mut self, at: &'a str) -> PResult<'a, ()> {
        self.terms += 1;
        if self.terms > self.max_terms {
            return Err(nom::Err::Failure(PErr { rest: at, kind: PErrKind::Limit(LimitKind::Terms) }));
        }
        Ok((at, ()))
    }

    fn or_expr<'a>(&mut self, i: &'a str, ctx: Ctx) -> PResult<'a, Filter> {
        let (mut i, mut left) = self.and_expr(i, ctx)?;
        while let (_, Some(rest)) = keyword_after_space(i, "or")? {
            let (rest, right) = self.and_expr(rest, ctx)?;
            left = Filter::or(left, right);
            i = rest;
        }
        Ok((i, left))
    }

    fn and_expr<'a>(&mut self, i: &'a str, ctx: Ctx) -> PResult<'a, Filter> {
        let (mut i, mut left) = self.unary(i, ctx)?;
        while let (_, Some(rest)) = keyword_after_space(i, "and")? {
            let (rest, right) = self.unary(rest, ctx)?;
            left = Filter::and(left, right);
            i = rest;
        }
        Ok((i, left))
    }

    fn unary<'a>(&mut self, i: &'a str, ctx: Ctx) -> PResult<'a, Filter> {
        if let Some(rest) = not_keyword(i) {
            let (rest, inner) = self.group(rest, ctx)?;
            return Ok((rest, Filter::not(inner)));
        }
        if i.starts_with('(') {
            return self.group(i, ctx);
        }
        self.attr_exp(i, ctx)
    }

    /// `"(" FILTER ")"`, at `(`.
    fn group<'a>(&mut self, i: &'a str, ctx: Ctx) -> PResult<'a, Filter> {
        let Some(rest) = i.strip_prefix('(') else {
            return fail(i, "'(' after 'not'");
        };
        self.enter(i)?;
        let (rest, _) = multispace0(rest)?;
        let (rest, inner) = self.or_expr(rest, ctx.group())?;
        let (rest, _) = multispace0(rest)?;
        let Some(rest) = rest.strip_prefix(')') else {
            return fail(rest, "'and', 'or' or ')'");
        };
        self.leave();
        Ok((rest, inner))
    }

    /// `attrPath SP "pr"`, `attrPath SP compareOp SP compValue`, or a value
    /// path, possibly followed by the Entra ID `.subAttr op value` tail.
    fn attr_exp<'a>(&mut self, i: &'a str, ctx: Ctx) -> PResult<'a, Filter> {
        let start = i;
        let (i, path) = attr_path(i)?;
        if ctx.in_value() {
            check_relative(&path, start)?;
        }
        if i.starts_with('[') {
            if ctx.in_value() {
                return fail(i, "an operator; value filters cannot be nested");
            }
            let (i, inner) = self.value_filter(i, &path, start)?;
            if let Some(after_dot) = i.strip_prefix('.') {
                // Microsoft Entra ID sends `emails[type eq "work"].value eq "x"`:
                // some value with type work has value x. Folded into the value
                // filter so consumers see only the RFC's forms.
                let (rest, sub) = attr_name(after_dot)?;
                let (rest, tail) = self.comparison(rest, AttrPath::new(sub), after_dot)?;
                return Ok((rest, Filter::value_path(path, Filter::and(inner, tail))));
            }
            return Ok((i, Filter::value_path(path, inner)));
        }
        self.comparison(i, path, start)
    }

    /// `attr[valFilter]`, at `[`. Returns the inner filter.
    fn value_filter<'a>(&mut self, i: &'a str, path: &AttrPath, start: &'a str) -> PResult<'a, Filter> {
        if path.sub_attr.is_some() {
            // RFC 7643 §2.3.8: complex attributes have no complex
            // sub-attributes, so only a top-level attribute can hold values
            // worth filtering.
            return fail(start, "an attribute without a sub-attribute before '['");
        }
        self.enter(i)?;
        let (i, _) = multispace0(&i[1..])?;
        let (i, inner) = self.or_expr(i, Ctx::Value)?;
        let (i, _) = multispace0(i)?;
        let Some(i) = i.strip_prefix(']') else {
            return fail(i, "'and', 'or' or ']'");
        };
        self.leave();
        Ok((i, inner))
    }

    /// The operator and value after an attribute path.
    fn comparison<'a>(&mut self, i: &'a str, path: AttrPath, start: &'a str) -> PResult<'a, Filter> {
        let Ok((i, _)) = multispace1::<&str, PErr<'a>>(i) else {
            return fail(i, EXPECT_OP);
        };
        let op_start = i;
        let (i, word) = take_while1::<_, _, PErr<'a>>(|c: char| c.is_ascii_alphabetic())(i)
            .or_else(|_| fail(op_start, EXPECT_OP))?;
        // Letters only, so `| 0x20` lower-cases without allocating.
        let op = match word.as_bytes() {
            [a, b] => match [a | 0x20, b | 0x20] {
                [b'p', b'r'] => None,
                [b'e', b'q'] => Some(CompareOp::Eq),
                [b'n', b'e'] => Some(CompareOp::Ne),
                [b'c', b'o'] => Some(CompareOp::Co),
                [b's', b'w'] => Some(CompareOp::Sw),
                [b'e', b'w'] => Some(CompareOp::Ew),
                [b'g', b't'] => Some(CompareOp::Gt),
                [b'l', b't'] => Some(CompareOp::Lt),
                [b'g', b'e'] => Some(CompareOp::Ge),
                [b'l', b'e'] => Some(CompareOp::Le),
                _ => return fail(op_start, EXPECT_OP),
            },
            _ => return fail(op_start, EXPECT_OP),
        };
        self.count_term(start)?;
        let Some(op) = op else {
            if i.starts_with(|c: char| !c.is_ascii_whitespace() && c != ')' && c != ']') {
                return fail(i, "whitespace, 'and', 'or', ')' or the end after 'pr'");
            }
            return Ok((i, Filter::Present(path)));
        };
        let Ok((i, _)) = multispace1::<&str, PErr<'a>>(i) else {
            return fail(i, "a space and then a value after the operator");
        };
        let (i, value) = comp_value(i)?;
        Ok((i, Filter::Compare { path, op, value }))
    }
}

/// `SP keyword SP` (or `SP keyword (`), without consuming anything when it
/// is not there: the caller then reports what it expected instead.
fn keyword_after_space<'a>(i: &'a str, keyword: &'static str) -> PResult<'a, Option<&'a str>> {
    let Ok((rest, _)) = multispace1::<&str, PErr<'a>>(i) else {
        return Ok((i, None));
    };
    let Ok((rest, _)) = tag_no_case::<_, _, PErr<'a>>(keyword).parse(rest) else {
        return Ok((i, None));
    };
    if rest.starts_with('(') {
        return Ok((rest, Some(rest)));
    }
    let Ok((rest, _)) = multispace1::<&str, PErr<'a>>(rest) else {
        if rest.is_empty() {
            return fail(rest, after_keyword(keyword));
        }
        return Ok((i, None));
    };
    if rest.is_empty() {
        return fail(rest, after_keyword(keyword));
    }
    Ok((rest, Some(rest)))
}

fn after_keyword(keyword: &str) -> &'static str {
    if keyword == "and" {
        "an attribute path, 'not' or '(' after 'and'"
    } else {
        "an attribute path, 'not' or '(' after 'or'"
    }
}

/// `"not" [SP] "("`: `not` alone may still be an attribute named "not".
fn not_keyword(i: &str) -> Option<&str> {
    let (rest, _) = tag_no_case::<_, _, PErr<'_>>("not").parse(i).ok()?;
    let (rest, _) = multispace0::<&str, PErr<'_>>(rest).ok()?;
    rest.starts_with('(').then_some(rest)
}

/// Inside `[ ]`, paths are relative to the value path's attribute.
fn check_relative<'a>(path: &AttrPath, start: &'a str) -> PResult<'a, ()> {
    if path.urn.is_some() {
        return fail(start, "a sub-attribute name without a schema URN inside '[ ]'");
    }
    if path.sub_attr.is_some() {
        return fail(start, "a single sub-attribute name inside '[ ]' (complex attributes do not nest)");
    }
    Ok((start, ()))
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// Anything that can belong to an attribute path token, generously, so that
/// a stray character is reported where it is rather than as a missing
/// operator.
fn is_token_char(c: char) -> bool {
    !(c.is_ascii_whitespace() || matches!(c, '(' | ')' | '[' | ']' | '"'))
}

/// URI characters of RFC 3986 that a schema URN may use.
fn is_urn_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '-' | '.'
                | '_'
                | '~'
                | '%'
                | '!'
                | '$'
                | '&'
                | '\''
                | '*'
                | '+'
                | ','
                | ';'
                | '='
                | ':'
                | '@'
                | '/'
                | '?'
                | '#'
        )
}

/// `ATTRNAME = ALPHA *(nameChar)` (RFC 7644 §3.4.2.2), also accepting
/// `$ref`-style names, which RFC 7643 §2.3.7 uses for references.
fn attr_name(i: &str) -> PResult<'_, Name> {
    let body = i.strip_prefix('$').unwrap_or(i);
    if !body.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return fail(i, EXPECT_NAME);
    }
    let (rest, _) = take_while(is_name_char)(body)?;
    let name = &i[..i.len() - rest.len()];
    Ok((rest, Name::new(name)))
}

/// `attrPath = [URI ":"] ATTRNAME *1subAttr`.
///
/// The URI itself contains `:` and `.` (`...:2.0:User:name.givenName`), so
/// the whole token is taken first and split at its last `:`; what follows
/// must be a name with at most one sub-attribute.
pub(crate) fn attr_path(i: &str) -> PResult<'_, AttrPath> {
    let (after, token) = take_while(is_token_char)(i)?;
    if token.is_empty() {
        return fail(i, EXPECT_NAME);
    }
    let (urn, names) = match token.rfind(':') {
        Some(colon) => {
            let urn = &token[..colon];
            if !urn.starts_with(|c: char| c.is_ascii_alphabetic()) {
                return fail(i, EXPECT_NAME);
            }
            if let Some(bad) = urn.find(|c: char| !is_urn_char(c)) {
                return fail(&i[bad..], "a schema URI character");
            }
            (Some(Name::new(urn)), &i[colon + 1..])
        }
        None => (None, i),
    };
    let (rest, name) = attr_name(names).map_err(|e| {
        if urn.is_some() && names.len() - after.len() == 0 {
            nom::Err::Failure(PErr {
                rest: names,
                kind: PErrKind::Expected("an attribute name after the schema URI's ':'"),
            })
        } else {
            e
        }
    })?;
    let (rest, sub_attr) = match rest.strip_prefix('.') {
        Some(r) => {
            let (r, sub) = attr_name(r)?;
            (r, Some(sub))
        }
        None => (rest, None),
    };
    if rest.len() != after.len() {
        let expected = if rest.starts_with('.') {
            "one sub-attribute at most (complex attributes do not nest)"
        } else {
            "a letter, digit, '-', '_' or '.' in the attribute path"
        };
        return fail(rest, expected);
    }
    Ok((rest, AttrPath { urn, name, sub_attr }))
}

/// `compValue = false / null / true / number / string`.
fn comp_value(i: &str) -> PResult<'_, CompareValue> {
    const EXPECT_VALUE: &str = "a value: a JSON string in double quotes, a number, true, false or null";
    let Some(first) = i.chars().next() else {
        return fail(i, EXPECT_VALUE);
    };
    let (rest, value) = match first {
        '"' => {
            let (rest, s) = literal::json_string(i)?;
            (rest, CompareValue::String(s))
        }
        '-' | '0'..='9' => {
            let Some(len) = json_number_len(i) else {
                return fail(i, "a JSON number (digits, optional fraction and exponent)");
            };
            (&i[len..], CompareValue::Number(Number::from_validated(&i[..len])))
        }
        c if c.is_ascii_alphabetic() => {
            let (rest, word) = take_while1(|c: char| c.is_ascii_alphanumeric())(i)?;
            // JSON's literals are lower case; a client that sends `True` means
            // `true`, and nothing else could be meant.
            let v = if word.eq_ignore_ascii_case("true") {
                CompareValue::Bool(true)
            } else if word.eq_ignore_ascii_case("false") {
                CompareValue::Bool(false)
            } else if word.eq_ignore_ascii_case("null") {
                CompareValue::Null
            } else {
                return fail(
                    i,
                    "a value (strings need double quotes): true, false, null, a number or a JSON string",
                );
            };
            (rest, v)
        }
        _ => return fail(i, EXPECT_VALUE),
    };
    if rest.starts_with(|c: char| !c.is_ascii_whitespace() && c != ')' && c != ']') {
        return fail(rest, "whitespace, 'and', 'or', ')' or the end after the value");
    }
    Ok((rest, value))
}

/// The length of the JSON number (RFC 8259 §6) at the start of `s`, or
/// `None` when the text there is not a complete number.
pub(crate) fn json_number_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let digits = |from: usize| b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut n = usize::from(b.first() == Some(&b'-'));
    match b.get(n) {
        Some(b'0') => n += 1,
        Some(b'1'..=b'9') => n += digits(n),
        _ => return None,
    }
    if b.get(n) == Some(&b'.') {
        let d = digits(n + 1);
        if d == 0 {
            return None;
        }
        n += 1 + d;
    }
    if matches!(b.get(n), Some(b'e' | b'E')) {
        n += 1;
        if matches!(b.get(n), Some(b'+' | b'-')) {
            n += 1;
        }
        let d = digits(n);
        if d == 0 {
            return None;
        }
        n += d;
    }
    Some(n)
}

fn to_error(input: &str, syntax: Syntax, err: nom::Err<PErr<'_>>, limits: &Limits) -> Error {
    let (rest, kind) = match err {
        nom::Err::Error(e) | nom::Err::Failure(e) => (e.rest, e.kind),
        nom::Err::Incomplete(_) => ("", PErrKind::Expected("more input")),
    };
    let position = input.len().saturating_sub(rest.len());
    match kind {
        PErrKind::Expected(expected) => {
            Error::Syntax { syntax, position, expected, near: rest.chars().take(20).collect() }
        }
        PErrKind::Limit(kind) => Error::Limit {
            syntax,
            kind,
            max: match kind {
                LimitKind::Depth => limits.depth(),
                LimitKind::Terms => limits.terms(),
                LimitKind::Length => limits.max_len,
            },
            position,
        },
    }
}

fn check_len(input: &str, syntax: Syntax, limits: &Limits) -> Result<(), Error> {
    if input.len() > limits.max_len {
        return Err(Error::Limit {
            syntax,
            kind: LimitKind::Length,
            max: limits.max_len,
            position: limits.max_len,
        });
    }
    Ok(())
}

fn filter_top<'a>(p: &mut Parser, i: &'a str) -> PResult<'a, Filter> {
    let (i, _) = multispace0(i)?;
    let (i, f) = p.or_expr(i, Ctx::Top)?;
    let (i, _) = multispace0(i)?;
    if !i.is_empty() {
        return fail(i, "'and', 'or' or the end of the filter");
    }
    Ok((i, f))
}

pub(crate) fn filter(input: &str, limits: &Limits) -> Result<Filter, Error> {
    check_len(input, Syntax::Filter, limits)?;
    filter_top(&mut Parser::new(limits), input)
        .map(|(_, f)| f)
        .map_err(|e| to_error(input, Syntax::Filter, e, limits))
}

/// `PATH = attrPath / valuePath [subAttr]` (RFC 7644 §3.5.2).
fn path_top<'a>(p: &mut Parser, i: &'a str) -> PResult<'a, PatchPath> {
    let (i, _) = multispace0(i)?;
    let start = i;
    let (i, attr) = attr_path(i)?;
    let (i, filter, sub_attr) = if i.starts_with('[') {
        let (i, inner) = p.value_filter(i, &attr, start)?;
        match i.strip_prefix('.') {
            Some(r) => {
                let (r, sub) = attr_name(r)?;
                (r, Some(inner), Some(sub))
            }
            None => (i, Some(inner), None),
        }
    } else {
        (i, None, None)
    };
    let (i, _) = multispace0(i)?;
    if !i.is_empty() {
        let expected = if filter.is_some() {
            "'.' and a sub-attribute, or the end of the path"
        } else {
            "'[', or the end of the path"
        };
        return fail(i, expected);
    }
    Ok((i, PatchPath { attr, filter, sub_attr }))
}

pub(crate) fn path(input: &str, limits: &Limits) -> Result<PatchPath, Error> {
    check_len(input, Syntax::Path, limits)?;
    path_top(&mut Parser::new(limits), input)
        .map(|(_, p)| p)
        .map_err(|e| to_error(input, Syntax::Path, e, limits))
}

fn bare_top(i: &str) -> PResult<'_, AttrPath> {
    let (i, path) = attr_path(i)?;
    if !i.is_empty() {
        return fail(i, "the end of the attribute path");
    }
    Ok((i, path))
}

pub(crate) fn bare_attr_path(input: &str, limits: &Limits) -> Result<AttrPath, Error> {
    check_len(input, Syntax::AttrPath, limits)?;
    bare_top(input).map(|(_, p)| p).map_err(|e| to_error(input, Syntax::AttrPath, e, limits))
}
