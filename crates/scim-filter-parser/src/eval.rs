//! Deciding whether a JSON resource matches a filter (RFC 7644 §3.4.2.2).
//!
//! A filter is first compiled against a [`Schema`]: every path is resolved,
//! every operator is checked against its attribute's type and every literal
//! is converted once (lower-cased for case-insensitive strings, parsed for
//! dateTimes). All `invalidFilter` errors surface there, for any resource,
//! before a single resource is looked at; matching itself cannot fail.
//!
//! Rules beyond the RFC's text, chosen to agree with SQL:
//!
//! * Every operator, `ne` included, is existential: a multi-valued attribute
//!   matches when some value satisfies it, so an unassigned attribute
//!   matches neither `eq` nor `ne`. `eq null` is true exactly when the
//!   attribute is unassigned (RFC 7643 §2.5 treats null and unassigned
//!   alike), `ne null` exactly when it is present.
//! * `co`, `sw` and `ew` need a string-like attribute (string, reference,
//!   binary, dateTime); on boolean and numeric ones they are `invalidFilter`.
//! * A literal of the wrong JSON type (`active eq "true"`) is `invalidFilter`
//!   rather than a silent non-match, so client bugs are visible.
//! * A resource value of the wrong JSON type simply does not match.

use std::cmp::Ordering;

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use serde_json::Value;

use crate::ast::{AttrPath, CompareOp, CompareValue, Filter};
use crate::error::Error;
use crate::schema::{AttrType, Attribute, Schema};

/// A filter compiled against a schema, ready to test many resources.
///
/// ```
/// use scim_filter_parser::{parse_filter, Matcher, Schema};
/// use serde_json::json;
///
/// let schema = Schema::user();
/// let filter = parse_filter(r#"emails[type eq "work" and value co "@example.com"]"#).unwrap();
/// let matcher = Matcher::new(&filter, &schema).unwrap();
/// let user = json!({
///     "userName": "bjensen",
///     "emails": [
///         {"type": "home", "value": "babs@jensen.org"},
///         {"type": "work", "value": "bjensen@EXAMPLE.com"}
///     ]
/// });
/// assert!(matcher.matches(&user));
/// ```
#[derive(Debug)]
pub struct Matcher<'s> {
    root: Node<'s>,
}

/// Compiles `filter` against `schema` and tests one resource.
///
/// ```
/// use scim_filter_parser::{matches, parse_filter, Schema};
/// use serde_json::json;
/// let f = parse_filter("meta.lastModified gt \"2011-05-13T04:42:34Z\"").unwrap();
/// let r = json!({"meta": {"lastModified": "2011-05-13T06:42:34+02:00"}});
/// assert_eq!(matches(&f, &Schema::user(), &r), Ok(false));
/// ```
pub fn matches(filter: &Filter, schema: &Schema, resource: &Value) -> Result<bool, Error> {
    Ok(Matcher::new(filter, schema)?.matches(resource))
}

impl<'s> Matcher<'s> {
    /// Resolves and type-checks `filter` against `schema`.
    pub fn new(filter: &Filter, schema: &'s Schema) -> Result<Self, Error> {
        Ok(Matcher { root: compile(filter, schema, None)? })
    }

    /// Whether `resource`, a SCIM resource as JSON, matches.
    pub fn matches(&self, resource: &Value) -> bool {
        self.root.eval(resource)
    }
}

/// Where a compiled path's values are found, relative to the resource or,
/// inside a value filter, to one value of the complex attribute.
#[derive(Debug)]
struct Loc<'s> {
    extension: Option<&'s str>,
    attr: &'s str,
    sub: Option<&'s str>,
}

#[derive(Debug)]
enum Node<'s> {
    Test(Loc<'s>, Test),
    Present(Loc<'s>),
    All(Vec<Node<'s>>),
    AnyOf(Vec<Node<'s>>),
    Not(Box<Node<'s>>),
    Any(Loc<'s>, Box<Node<'s>>),
}

#[derive(Debug)]
enum Test {
    Str { op: CompareOp, needle: String, case_exact: bool },
    Bool(CompareOp, bool),
    Int(CompareOp, i64),
    Float(CompareOp, f64),
    DateTime(CompareOp, DateTime<FixedOffset>),
}

fn compile<'s>(
    filter: &Filter,
    schema: &'s Schema,
    parent: Option<&'s Attribute>,
) -> Result<Node<'s>, Error> {
    Ok(match filter {
        // Chains are flattened so that evaluation recurses only as deep as
        // the parentheses nest, not as long as the chain is.
        Filter::And(..) => Node::All(
            filter.operands().into_iter().map(|f| compile(f, schema, parent)).collect::<Result<_, _>>()?,
        ),
        Filter::Or(..) => Node::AnyOf(
            filter.operands().into_iter().map(|f| compile(f, schema, parent)).collect::<Result<_, _>>()?,
        ),
        Filter::Not(inner) => Node::Not(Box::new(compile(inner, schema, parent)?)),
        Filter::Present(path) => {
            let (loc, _) = resolve(path, schema, parent)?;
            Node::Present(loc)
        }
        Filter::Compare { path, op, value } => {
            let (mut loc, mut attr) = resolve(path, schema, parent)?;
            if attr.kind == AttrType::Complex {
                // RFC 7644 §3.4.2.2: a complex attribute without a
                // sub-attribute is compared through its "value".
                let Some(value_attr) = attr.sub_attribute("value").filter(|_| loc.sub.is_none()) else {
                    return Err(Error::invalid(
                        path,
                        "this complex attribute has no \"value\" sub-attribute to compare; \
                         name a sub-attribute",
                    ));
                };
                loc.sub = Some(value_attr.name.as_str());
                attr = value_attr;
            }
            match value {
                CompareValue::Null => match op {
                    // RFC 7643 §2.5: null is the same as unassigned.
                    CompareOp::Eq => Node::Not(Box::new(Node::Present(loc))),
                    CompareOp::Ne => Node::Present(loc),
                    _ => {
                        return Err(Error::invalid(
                            path,
                            format!("null can only be compared with eq or ne, not {op}"),
                        ));
                    }
                },
                _ => Node::Test(loc, test(path, attr, *op, value)?),
            }
        }
        Filter::ValuePath { attr: path, filter } => {
            if parent.is_some() {
                return Err(Error::invalid(path, "value filters cannot be nested"));
            }
            let (loc, attr) = resolve(path, schema, None)?;
            if attr.kind != AttrType::Complex || loc.sub.is_some() {
                return Err(Error::invalid(path, "a '[ ]' value filter needs a complex attribute"));
            }
            Node::Any(loc, Box::new(compile(filter, schema, Some(attr))?))
        }
    })
}

fn resolve<'s>(
    path: &AttrPath,
    schema: &'s Schema,
    parent: Option<&'s Attribute>,
) -> Result<(Loc<'s>, &'s Attribute), Error> {
    if let Some(parent) = parent {
        if path.urn.is_some() || path.sub_attr.is_some() {
            return Err(Error::invalid(path, "inside '[ ]' name a sub-attribute of the filtered attribute"));
        }
        let Some(sub) = parent.sub_attribute(path.name.as_str()) else {
            return Err(Error::invalid(path, format!("'{}' has no such sub-attribute", parent.name)));
        };
        let loc = Loc { extension: None, attr: sub.name.as_str(), sub: None };
        return Ok((loc, sub));
    }
    let Some(r) = schema.resolve(path) else {
        return Err(Error::invalid(path, "no such attribute in the schema"));
    };
    let loc = Loc { extension: r.extension, attr: r.attr.name.as_str(), sub: r.sub.map(|s| s.name.as_str()) };
    Ok((loc, r.sub.unwrap_or(r.attr)))
}

fn wrong_literal(path: &AttrPath, kind: AttrType) -> Error {
    let hint = match kind {
        AttrType::Boolean => "a boolean attribute; compare it with true or false",
        AttrType::Integer | AttrType::Decimal => "a numeric attribute; compare it with a number",
        AttrType::DateTime => {
            "a dateTime attribute; compare it with a quoted xsd:dateTime such as \
             \"2011-05-13T04:42:34Z\""
        }
        _ => "a string attribute; compare it with a string in double quotes",
    };
    Error::invalid(path, format!("this is {hint}"))
}

fn test(path: &AttrPath, attr: &Attribute, op: CompareOp, value: &CompareValue) -> Result<Test, Error> {
    let kind = attr.kind;
    // RFC 7644 §3.4.2.2: gt, ge, lt and le on boolean or binary attributes
    // SHALL be answered with invalidFilter.
    if op.is_ordering() && matches!(kind, AttrType::Boolean | AttrType::Binary) {
        return Err(Error::invalid(
            path,
            format!("{op} is not defined for {} attributes; use eq or ne", type_name(kind)),
        ));
    }
    if op.is_substring() && matches!(kind, AttrType::Boolean | AttrType::Integer | AttrType::Decimal) {
        return Err(Error::invalid(
            path,
            format!("{op} needs a string attribute, and this one is {}", type_name(kind)),
        ));
    }
    Ok(match (kind, value) {
        (AttrType::Boolean, CompareValue::Bool(b)) => Test::Bool(op, *b),
        (AttrType::Integer | AttrType::Decimal, CompareValue::Number(n)) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Test::Int(op, i),
            (None, Some(f)) => Test::Float(op, f),
            (None, None) => return Err(Error::invalid(path, "the number is out of range")),
        },
        (AttrType::DateTime, CompareValue::String(s)) if !op.is_substring() => {
            let Some(when) = parse_date_time(s) else {
                return Err(wrong_literal(path, kind));
            };
            Test::DateTime(op, when)
        }
        (
            AttrType::String | AttrType::Reference | AttrType::Binary | AttrType::DateTime,
            CompareValue::String(s),
        ) => {
            // RFC 7643 §2.3.6: binary values are base64, where case matters.
            // RFC 7644 §3.4.2.2: caseExact decides for strings.
            let case_exact = attr.case_exact || kind == AttrType::Binary;
            Test::Str { op, needle: if case_exact { s.clone() } else { s.to_lowercase() }, case_exact }
        }
        _ => return Err(wrong_literal(path, kind)),
    })
}

fn type_name(kind: AttrType) -> &'static str {
    match kind {
        AttrType::String => "string",
        AttrType::Boolean => "boolean",
        AttrType::Decimal => "decimal",
        AttrType::Integer => "integer",
        AttrType::DateTime => "dateTime",
        AttrType::Binary => "binary",
        AttrType::Reference => "reference",
        AttrType::Complex => "complex",
    }
}

/// `xsd:dateTime` (RFC 7643 §2.3.5): RFC 3339 with an offset, or without
/// one, which is taken as UTC.
fn parse_date_time(s: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s).ok().or_else(|| {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").ok().map(|n| n.and_utc().fixed_offset())
    })
}

/// Looks up a member by name; attribute names are case-insensitive (RFC 7643
/// §2.1), so an exact match is tried first and then any spelling.
fn member<'v>(v: &'v Value, key: &str) -> Option<&'v Value> {
    let obj = v.as_object()?;
    obj.get(key).or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

/// Calls `f` on each value at `loc` until it returns true; an array stands
/// for its elements (RFC 7644 §3.4.2.2: "any of the values").
fn any_value(base: &Value, loc: &Loc<'_>, f: &mut dyn FnMut(&Value) -> bool) -> bool {
    let base = match loc.extension {
        Some(urn) => match member(base, urn) {
            Some(b) => b,
            None => return false,
        },
        None => base,
    };
    let Some(v) = member(base, loc.attr) else {
        return false;
    };
    match loc.sub {
        None => each(v, f),
        Some(sub) => each(v, &mut |item| member(item, sub).is_some_and(|s| each(s, f))),
    }
}

fn each(v: &Value, f: &mut dyn FnMut(&Value) -> bool) -> bool {
    match v {
        Value::Array(items) => items.iter().any(f),
        other => f(other),
    }
}

/// `pr` (RFC 7644 §3.4.2.2): null, "", [] and {} are not values; neither is
/// an array or object holding only such things.
fn is_present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => items.iter().any(is_present),
        Value::Object(members) => members.values().any(is_present),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

fn ordered(op: CompareOp, ord: Ordering) -> bool {
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

impl Test {
    fn check(&self, v: &Value) -> bool {
        match (self, v) {
            (Test::Str { op, needle, case_exact }, Value::String(s)) => {
                let lowered;
                let hay = if *case_exact {
                    s.as_str()
                } else {
                    lowered = s.to_lowercase();
                    lowered.as_str()
                };
                match op {
                    CompareOp::Co => hay.contains(needle.as_str()),
                    CompareOp::Sw => hay.starts_with(needle.as_str()),
                    CompareOp::Ew => hay.ends_with(needle.as_str()),
                    _ => ordered(*op, hay.cmp(needle.as_str())),
                }
            }
            (Test::Bool(op, b), Value::Bool(v)) => ordered(*op, v.cmp(b)),
            (Test::Int(op, i), Value::Number(n)) => match n.as_i64() {
                Some(v) => ordered(*op, v.cmp(i)),
                None => n.as_f64().and_then(|v| v.partial_cmp(&(*i as f64))).is_some_and(|o| ordered(*op, o)),
            },
            (Test::Float(op, f), Value::Number(n)) => {
                n.as_f64().and_then(|v| v.partial_cmp(f)).is_some_and(|o| ordered(*op, o))
            }
            (Test::DateTime(op, when), Value::String(s)) => {
                parse_date_time(s).is_some_and(|v| ordered(*op, v.cmp(when)))
            }
            _ => false,
        }
    }
}

impl Node<'_> {
    fn eval(&self, resource: &Value) -> bool {
        match self {
            Node::Test(loc, test) => any_value(resource, loc, &mut |v| test.check(v)),
            Node::Present(loc) => any_value(resource, loc, &mut is_present),
            Node::All(nodes) => nodes.iter().all(|n| n.eval(resource)),
            Node::AnyOf(nodes) => nodes.iter().any(|n| n.eval(resource)),
            Node::Not(inner) => !inner.eval(resource),
            Node::Any(loc, inner) => any_value(resource, loc, &mut |item| inner.eval(item)),
        }
    }
}
