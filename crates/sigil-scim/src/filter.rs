//! SCIM filters (RFC 7644 §3.4.2.2) compiled to SQL conditions on the
//! identity store's tables, so a search runs in the database on either
//! backend and never loads rows to filter them in memory.
//!
//! The meaning is the one of `scim_filter_parser::Matcher`, which the tests
//! hold this module to on generated data: a filter is first type-checked by
//! the matcher against the same schema (so both report the same
//! `invalidFilter` errors), then translated here.
//!
//! - Every comparison is existential: a multi-valued attribute matches when
//!   some value does, and an unassigned attribute matches neither `eq` nor
//!   `ne`. So a comparison on a nullable column is guarded by `IS NOT NULL`,
//!   which also keeps SQL's three-valued logic out of `not (...)`.
//! - Case-insensitive attributes are compared through the folded copies the
//!   store writes (`value_folded`, `user_search_terms`, ...), with the
//!   literal folded the same way; caseExact ones through the column as given.
//! - A multi-valued attribute, or a value filter `emails[...]`, becomes
//!   `users.id IN (SELECT user_id FROM user_values WHERE ...)`: the
//!   conditions inside one value filter hold for the same value.
//! - `co`, `sw` and `ew` become `LIKE` with `%` and `_` escaped.

use chrono::{DateTime, NaiveDateTime};
use diesel::dsl::not;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Nullable};
use scim_filter_parser::{AttrPath, AttrType, CompareOp, CompareValue, Filter, Matcher, Schema};
use sigil_store::schema::{group_members, user_addresses, user_search_terms, user_values, users};
use sigil_store::text::fold;
use sigil_store::users::{Backend, UserCondition};

use crate::ScimError;
use crate::sql::{Condition, InSubquery};

/// `users.id IN (SELECT user_id FROM table WHERE condition)`.
fn user_ids_in<T: 'static>(table: &'static str, condition: Condition<T>) -> UserCondition {
    Box::new(InSubquery::new(("users", "id"), (table, "user_id"), condition).nullable())
}

/// The schema filters on users are checked against.
pub(crate) fn user_schema() -> &'static Schema {
    static SCHEMA: std::sync::OnceLock<Schema> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(Schema::user)
}

/// Checks `filter` and compiles it to a condition on users.
pub(crate) fn user_condition(filter: &Filter) -> Result<UserCondition, ScimError> {
    Matcher::new(filter, user_schema())?;
    compile(filter)
}

/// A literal, converted for the column it is compared with.
#[derive(Debug, Clone)]
enum Literal {
    Text(String),
    Bool(bool),
    Time(NaiveDateTime),
}

fn unsupported(path: &AttrPath) -> ScimError {
    ScimError::InvalidFilter(format!("filtering on `{path}` is not supported"))
}

fn compile(filter: &Filter) -> Result<UserCondition, ScimError> {
    Ok(match filter {
        Filter::And(a, b) => Box::new(compile(a)?.and(compile(b)?)),
        Filter::Or(a, b) => Box::new(compile(a)?.or(compile(b)?)),
        Filter::Not(inner) => Box::new(not(compile(inner)?)),
        Filter::Present(path) => present(path)?,
        Filter::Compare { path, op, value } => match value {
            // RFC 7643 §2.5: null is the same as unassigned.
            CompareValue::Null if *op == CompareOp::Eq => Box::new(not(present(path)?)),
            CompareValue::Null => present(path)?,
            _ => compare(path, *op, value)?,
        },
        Filter::ValuePath { attr, filter } => value_filter(attr, filter)?,
    })
}

/// The schema attribute a path names, with its type and case rule.
fn resolve(path: &AttrPath) -> Result<(String, Option<String>, AttrType, bool), ScimError> {
    let (attr, sub) = user_schema().find(path).ok_or_else(|| unsupported(path))?;
    let leaf = sub.unwrap_or(attr);
    let mut sub_name = sub.map(|s| s.name.clone());
    let (mut kind, mut case_exact) = (leaf.kind, leaf.case_exact);
    // A complex attribute without a sub-attribute is compared through its
    // "value" (RFC 7644 §3.4.2.2); the matcher has checked there is one.
    if sub.is_none()
        && attr.kind == AttrType::Complex
        && let Some(value) = attr.sub_attribute("value")
    {
        sub_name = Some(value.name.clone());
        kind = value.kind;
        case_exact = value.case_exact;
    }
    Ok((attr.name.clone(), sub_name, kind, case_exact))
}

fn literal(value: &CompareValue, kind: AttrType, case_exact: bool) -> Result<Literal, ScimError> {
    Ok(match (value, kind) {
        (CompareValue::Bool(b), AttrType::Boolean) => Literal::Bool(*b),
        (CompareValue::String(s), AttrType::DateTime) => Literal::Time(parse_time(s)?),
        (CompareValue::String(s), _) if case_exact || kind == AttrType::Binary => Literal::Text(s.clone()),
        (CompareValue::String(s), _) => Literal::Text(fold(s)),
        _ => return Err(ScimError::InvalidFilter("the literal does not fit the attribute".into())),
    })
}

/// `xsd:dateTime` as the store keeps it: UTC, microseconds.
fn parse_time(s: &str) -> Result<NaiveDateTime, ScimError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.naive_utc())
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f"))
        .map_err(|_| ScimError::InvalidFilter(format!("`{s}` is not an xsd:dateTime")))
}

/// `LIKE` pattern for a substring operator, with the wildcards of the
/// literal escaped by `\`.
fn like_pattern(op: CompareOp, needle: &str) -> String {
    let escaped = needle.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    match op {
        CompareOp::Co => format!("%{escaped}%"),
        CompareOp::Sw => format!("{escaped}%"),
        _ => format!("%{escaped}"),
    }
}

/// Compares a text column (nullable or not) with a text literal.
macro_rules! text_compare {
    ($column:expr, $op:expr, $needle:expr) => {{
        let needle: String = $needle;
        let condition: Box<dyn BoxableExpression<_, Backend, SqlType = Nullable<Bool>>> = match $op {
            CompareOp::Eq => Box::new($column.eq(needle).nullable()),
            CompareOp::Ne => Box::new($column.ne(needle).nullable()),
            CompareOp::Gt => Box::new($column.gt(needle).nullable()),
            CompareOp::Ge => Box::new($column.ge(needle).nullable()),
            CompareOp::Lt => Box::new($column.lt(needle).nullable()),
            CompareOp::Le => Box::new($column.le(needle).nullable()),
            op => Box::new($column.like(like_pattern(op, &needle)).escape('\\').nullable()),
        };
        condition
    }};
}

/// Compares a nullable text column; an unassigned value matches nothing.
macro_rules! optional_text_compare {
    ($column:expr, $op:expr, $needle:expr) => {{
        let inner = text_compare!($column.assume_not_null(), $op, $needle);
        let condition: Box<dyn BoxableExpression<_, Backend, SqlType = Nullable<Bool>>> =
            Box::new($column.is_not_null().nullable().and(inner));
        condition
    }};
}

macro_rules! time_compare {
    ($column:expr, $op:expr, $when:expr) => {{
        let when: NaiveDateTime = $when;
        let condition: Box<dyn BoxableExpression<_, Backend, SqlType = Nullable<Bool>>> = match $op {
            CompareOp::Eq => Box::new($column.eq(when).nullable()),
            CompareOp::Ne => Box::new($column.ne(when).nullable()),
            CompareOp::Gt => Box::new($column.gt(when).nullable()),
            CompareOp::Ge => Box::new($column.ge(when).nullable()),
            CompareOp::Lt => Box::new($column.lt(when).nullable()),
            CompareOp::Le => Box::new($column.le(when).nullable()),
            op => return Err(ScimError::InvalidFilter(format!("{op} does not apply to dateTime values"))),
        };
        condition
    }};
}

macro_rules! bool_compare {
    ($column:expr, $op:expr, $value:expr) => {{
        let value: bool = $value;
        let condition: Box<dyn BoxableExpression<_, Backend, SqlType = Nullable<Bool>>> = match $op {
            CompareOp::Eq => Box::new($column.eq(value).nullable()),
            CompareOp::Ne => Box::new($column.ne(value).nullable()),
            op => return Err(ScimError::InvalidFilter(format!("{op} does not apply to booleans"))),
        };
        condition
    }};
}

/// Present: assigned and not empty.
macro_rules! optional_text_present {
    ($column:expr) => {{
        let condition: Box<dyn BoxableExpression<_, Backend, SqlType = Nullable<Bool>>> =
            Box::new($column.is_not_null().nullable().and($column.ne("")));
        condition
    }};
}

fn always(value: bool) -> UserCondition {
    // `id = id` and its negation: a constant the database can fold.
    if value {
        Box::new(users::id.eq(users::id).nullable())
    } else {
        Box::new(not(users::id.eq(users::id).nullable()))
    }
}

/// A folded single-valued string kept in `user_search_terms`.
fn term(attribute: &'static str, op: CompareOp, needle: String) -> UserCondition {
    let inner: Condition<user_search_terms::table> =
        text_compare!(user_search_terms::value_folded, op, needle);
    let named: Condition<user_search_terms::table> =
        Box::new(user_search_terms::attribute.eq(attribute).nullable().and(inner));
    user_ids_in("user_search_terms", named)
}

fn term_present(attribute: &'static str) -> UserCondition {
    let named: Condition<user_search_terms::table> = Box::new(
        user_search_terms::attribute.eq(attribute).and(user_search_terms::value_folded.ne("")).nullable(),
    );
    user_ids_in("user_search_terms", named)
}

/// The name `user_search_terms` keeps a case-insensitive single-valued
/// string attribute under (see `sigil_store::users::User::search_terms`).
fn term_name(attr: &str, sub: Option<&str>) -> Option<&'static str> {
    Some(match (attr, sub) {
        ("displayName", None) => "displayName",
        ("nickName", None) => "nickName",
        ("title", None) => "title",
        ("userType", None) => "userType",
        ("preferredLanguage", None) => "preferredLanguage",
        ("locale", None) => "locale",
        ("timezone", None) => "timezone",
        ("name", Some("formatted")) => "name.formatted",
        ("name", Some("familyName")) => "name.familyName",
        ("name", Some("givenName")) => "name.givenName",
        ("name", Some("middleName")) => "name.middleName",
        ("name", Some("honorificPrefix")) => "name.honorificPrefix",
        ("name", Some("honorificSuffix")) => "name.honorificSuffix",
        ("employeeNumber", None) => "employeeNumber",
        ("costCenter", None) => "costCenter",
        ("organization", None) => "organization",
        ("division", None) => "division",
        ("department", None) => "department",
        _ => return None,
    })
}

/// The multi-valued attributes kept in `user_values`.
fn values_name(attr: &str) -> Option<&'static str> {
    Some(match attr {
        "emails" => "emails",
        "phoneNumbers" => "phoneNumbers",
        "ims" => "ims",
        "photos" => "photos",
        "entitlements" => "entitlements",
        "roles" => "roles",
        "x509Certificates" => "x509Certificates",
        _ => return None,
    })
}

fn compare(path: &AttrPath, op: CompareOp, value: &CompareValue) -> Result<UserCondition, ScimError> {
    let (attr, sub, kind, case_exact) = resolve(path)?;
    let lit = literal(value, kind, case_exact)?;
    let text = |lit: Literal| match lit {
        Literal::Text(t) => Ok(t),
        _ => Err(unsupported(path)),
    };
    if let Some(name) = term_name(&attr, sub.as_deref()) {
        return Ok(term(name, op, text(lit)?));
    }
    if attr == "roles" {
        // Stored values, or application roles held (see `held`).
        let sub = sub.as_deref().unwrap_or("value");
        let stored = value_compare(path, sub, op, lit.clone(), case_exact)?;
        let held = held::role_compare(path, sub, op, lit, case_exact)?;
        return Ok(Box::new(in_values("roles", stored).or(held::holding(held))));
    }
    if let Some(name) = values_name(&attr) {
        let inner = value_compare(path, sub.as_deref().unwrap_or("value"), op, lit, case_exact)?;
        return Ok(in_values(name, inner));
    }
    Ok(match (attr.as_str(), sub.as_deref(), lit) {
        ("id", None, Literal::Text(t)) => text_compare!(users::id, op, t),
        ("externalId", None, Literal::Text(t)) => optional_text_compare!(users::external_id, op, t),
        ("userName", None, Literal::Text(t)) => text_compare!(users::user_name_folded, op, t),
        ("profileUrl", None, Literal::Text(t)) => optional_text_compare!(users::profile_url, op, t),
        // An unassigned `active` (removed by PATCH) matches no comparison.
        ("active", None, Literal::Bool(b)) => {
            let compared: UserCondition = bool_compare!(users::active, op, b);
            Box::new(users::active_assigned.nullable().and(compared))
        }
        ("meta", Some("created"), Literal::Time(t)) => time_compare!(users::created, op, t),
        ("meta", Some("lastModified"), Literal::Time(t)) => time_compare!(users::last_modified, op, t),
        ("meta", Some("resourceType"), Literal::Text(t)) => {
            let user = "user";
            always(match op {
                CompareOp::Eq => t == user,
                CompareOp::Ne => t != user,
                CompareOp::Co => user.contains(&t),
                CompareOp::Sw => user.starts_with(&t),
                CompareOp::Ew => user.ends_with(&t),
                CompareOp::Gt => user > t.as_str(),
                CompareOp::Ge => user >= t.as_str(),
                CompareOp::Lt => user < t.as_str(),
                CompareOp::Le => user <= t.as_str(),
            })
        }
        ("manager", Some("value"), Literal::Text(t)) => optional_text_compare!(users::manager_id, op, t),
        ("addresses", Some(sub), lit) => in_addresses(address_compare(path, sub, op, lit)?),
        ("groups", Some(sub), lit) => held::in_groups(sub, op, lit, path)?,
        _ => return Err(unsupported(path)),
    })
}

fn present(path: &AttrPath) -> Result<UserCondition, ScimError> {
    let (attr, sub, _, _) = resolve(path)?;
    let explicit_sub = path.sub_attr.as_ref().and_then(|_| sub.clone());
    if let Some(name) = term_name(&attr, sub.as_deref()) {
        return Ok(term_present(name));
    }
    if let Some(name) = values_name(&attr) {
        let inner: Condition<user_values::table> = match explicit_sub.as_deref() {
            None => Box::new(user_values::value.ne("").nullable()),
            Some(sub) => value_present(path, sub)?,
        };
        if attr == "roles" {
            let held = held::role_present(path, explicit_sub.as_deref().unwrap_or("value"))?;
            return Ok(Box::new(in_values(name, inner).or(held::holding(held))));
        }
        return Ok(in_values(name, inner));
    }
    Ok(match (attr.as_str(), explicit_sub.as_deref()) {
        ("id" | "userName" | "schemas", None) | ("meta", Some("created" | "lastModified")) => always(true),
        ("active", None) => Box::new(users::active_assigned.nullable()),
        ("meta", None) | ("meta", Some("resourceType" | "location" | "version")) => always(true),
        ("externalId", None) => optional_text_present!(users::external_id),
        ("profileUrl", None) => optional_text_present!(users::profile_url),
        ("password", None) => optional_text_present!(users::password_hash),
        ("manager", None | Some("value")) => optional_text_present!(users::manager_id),
        ("name", None) => {
            let parts = ["name.formatted", "name.familyName", "name.givenName", "name.middleName"]
                .into_iter()
                .chain(["name.honorificPrefix", "name.honorificSuffix"]);
            let mut any = always(false);
            for part in parts {
                any = Box::new(any.or(term_present(part)));
            }
            any
        }
        ("addresses", None) => {
            in_addresses(Box::new(user_addresses::user_id.eq(user_addresses::user_id).nullable()))
        }
        ("addresses", Some(sub)) => in_addresses(address_present(path, sub)?),
        ("groups", None | Some("value")) => {
            let member: Condition<group_members::table> =
                Box::new(group_members::member_user_id.is_not_null().nullable());
            Box::new(InSubquery::new(("users", "id"), ("group_members", "member_user_id"), member).nullable())
        }
        _ => return Err(unsupported(path)),
    })
}

fn in_values(attribute: &'static str, inner: Condition<user_values::table>) -> UserCondition {
    let named: Condition<user_values::table> =
        Box::new(user_values::attribute.eq(attribute).nullable().and(inner));
    user_ids_in("user_values", named)
}

fn value_compare(
    path: &AttrPath,
    sub: &str,
    op: CompareOp,
    lit: Literal,
    case_exact: bool,
) -> Result<Condition<user_values::table>, ScimError> {
    Ok(match (sub, lit) {
        ("value", Literal::Text(t)) if case_exact => text_compare!(user_values::value, op, t),
        ("value", Literal::Text(t)) => text_compare!(user_values::value_folded, op, t),
        ("display", Literal::Text(t)) => optional_text_compare!(user_values::display_folded, op, t),
        ("type", Literal::Text(t)) => optional_text_compare!(user_values::type_folded, op, t),
        ("primary", Literal::Bool(b)) => bool_compare!(user_values::is_primary, op, b),
        _ => return Err(unsupported(path)),
    })
}

fn value_present(path: &AttrPath, sub: &str) -> Result<Condition<user_values::table>, ScimError> {
    Ok(match sub {
        "value" => Box::new(user_values::value.ne("").nullable()),
        "display" => optional_text_present!(user_values::display_folded),
        "type" => optional_text_present!(user_values::type_folded),
        // A boolean is present when assigned; `primary` always is.
        "primary" => Box::new(user_values::is_primary.eq(user_values::is_primary).nullable()),
        _ => return Err(unsupported(path)),
    })
}

fn in_addresses(inner: Condition<user_addresses::table>) -> UserCondition {
    user_ids_in("user_addresses", inner)
}

fn address_compare(
    path: &AttrPath,
    sub: &str,
    op: CompareOp,
    lit: Literal,
) -> Result<Condition<user_addresses::table>, ScimError> {
    use user_addresses as a;
    Ok(match (sub, lit) {
        ("formatted", Literal::Text(t)) => optional_text_compare!(a::formatted_folded, op, t),
        ("streetAddress", Literal::Text(t)) => optional_text_compare!(a::street_address_folded, op, t),
        ("locality", Literal::Text(t)) => optional_text_compare!(a::locality_folded, op, t),
        ("region", Literal::Text(t)) => optional_text_compare!(a::region_folded, op, t),
        ("postalCode", Literal::Text(t)) => optional_text_compare!(a::postal_code_folded, op, t),
        ("country", Literal::Text(t)) => optional_text_compare!(a::country_folded, op, t),
        ("type", Literal::Text(t)) => optional_text_compare!(a::type_folded, op, t),
        ("primary", Literal::Bool(b)) => bool_compare!(a::is_primary, op, b),
        _ => return Err(unsupported(path)),
    })
}

fn address_present(path: &AttrPath, sub: &str) -> Result<Condition<user_addresses::table>, ScimError> {
    use user_addresses as a;
    Ok(match sub {
        "formatted" => optional_text_present!(a::formatted_folded),
        "streetAddress" => optional_text_present!(a::street_address_folded),
        "locality" => optional_text_present!(a::locality_folded),
        "region" => optional_text_present!(a::region_folded),
        "postalCode" => optional_text_present!(a::postal_code_folded),
        "country" => optional_text_present!(a::country_folded),
        "type" => optional_text_present!(a::type_folded),
        "primary" => Box::new(a::is_primary.eq(a::is_primary).nullable()),
        _ => return Err(unsupported(path)),
    })
}

/// `attr[filter]`: some value of `attr` satisfies every part of `filter`.
fn value_filter(attr: &AttrPath, filter: &Filter) -> Result<UserCondition, ScimError> {
    let (name, _, _, _) = resolve(attr)?;
    if let Some(values) = values_name(&name) {
        let (schema_attr, _) = user_schema().find(attr).ok_or_else(|| unsupported(attr))?;
        let inner = sub_filter(filter, schema_attr, &value_present, &value_compare)?;
        if name == "roles" {
            let held = sub_filter(filter, schema_attr, &held::role_present, &held::role_compare)?;
            return Ok(Box::new(in_values(values, inner).or(held::holding(held))));
        }
        return Ok(in_values(values, inner));
    }
    if name == "addresses" {
        let (schema_attr, _) = user_schema().find(attr).ok_or_else(|| unsupported(attr))?;
        let compare = |path: &AttrPath, sub: &str, op, lit, _case_exact| address_compare(path, sub, op, lit);
        return Ok(in_addresses(sub_filter(filter, schema_attr, &address_present, &compare)?));
    }
    if name == "groups" {
        // Value filters on groups use its value and display only; compile
        // them as top-level comparisons on the same membership.
        return Err(unsupported(attr));
    }
    Err(unsupported(attr))
}

/// How a sub-attribute's presence is tested on the rows of `T`.
type PresentFn<'a, T> = &'a dyn Fn(&AttrPath, &str) -> Result<Condition<T>, ScimError>;
/// How a sub-attribute is compared on the rows of `T`.
type CompareFn<'a, T> =
    &'a dyn Fn(&AttrPath, &str, CompareOp, Literal, bool) -> Result<Condition<T>, ScimError>;

/// Compiles the filter inside `parent[...]` on the rows of `parent`'s table,
/// with `present` and `compare` translating its sub-attributes.
fn sub_filter<T: 'static>(
    filter: &Filter,
    parent: &scim_filter_parser::Attribute,
    present: PresentFn<'_, T>,
    compare: CompareFn<'_, T>,
) -> Result<Condition<T>, ScimError>
where
    diesel::dsl::And<Condition<T>, Condition<T>>: BoxableExpression<T, Backend, SqlType = Nullable<Bool>>,
    diesel::dsl::Or<Condition<T>, Condition<T>>: BoxableExpression<T, Backend, SqlType = Nullable<Bool>>,
    diesel::dsl::not<Condition<T>>: BoxableExpression<T, Backend, SqlType = Nullable<Bool>>,
{
    let recurse = |f: &Filter| sub_filter(f, parent, present, compare);
    Ok(match filter {
        Filter::And(a, b) => Box::new(recurse(a)?.and(recurse(b)?)),
        Filter::Or(a, b) => Box::new(recurse(a)?.or(recurse(b)?)),
        Filter::Not(inner) => Box::new(not(recurse(inner)?)),
        Filter::Present(path) => {
            let sub = parent.sub_attribute(path.name.as_str()).ok_or_else(|| unsupported(path))?;
            present(path, &sub.name)?
        }
        Filter::Compare { path, op, value } => {
            let sub = parent.sub_attribute(path.name.as_str()).ok_or_else(|| unsupported(path))?;
            match value {
                CompareValue::Null if *op == CompareOp::Eq => Box::new(not(present(path, &sub.name)?)),
                CompareValue::Null => present(path, &sub.name)?,
                _ => {
                    let lit = literal(value, sub.kind, sub.case_exact)?;
                    compare(path, &sub.name, *op, lit, sub.case_exact)?
                }
            }
        }
        Filter::ValuePath { attr, .. } => return Err(unsupported(attr)),
    })
}

mod group_filter;
mod held;

pub(crate) use group_filter::{GROUP_SCHEMA, group_condition, group_schema};
