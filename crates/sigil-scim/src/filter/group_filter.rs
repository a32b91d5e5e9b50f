//! Filters on groups (RFC 7643 §4.2), compiled like those on users: the
//! `Matcher` type-checks against the Group schema, then each comparison
//! becomes a condition on `groups`, members through `group_members`.

use chrono::NaiveDateTime;
use diesel::dsl::not;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Nullable};
use scim_filter_parser::{AttrPath, AttrType, Attribute, CompareOp, CompareValue, Filter, Matcher, Schema};
use sigil_store::groups::GroupCondition;
use sigil_store::schema::{group_members, groups, role_grants, roles};
use sigil_store::users::Backend;

use super::held::{role_compare, role_present};
use super::{Literal, like_pattern, literal, sub_filter, unsupported};
use crate::ScimError;
use crate::sql::{Condition, InSubquery};

/// The core Group schema.
pub(crate) const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// The Group schema as the filter parser describes schemas.
pub(crate) fn group_schema() -> &'static Schema {
    static SCHEMA: std::sync::OnceLock<Schema> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| {
        let s = |n: &str| Attribute::new(n, AttrType::String);
        Schema::new(GROUP_SCHEMA)
            .attribute(s("id").case_exact())
            .attribute(s("externalId").case_exact())
            .attribute(Attribute::complex(
                "meta",
                vec![
                    s("resourceType"),
                    Attribute::new("created", AttrType::DateTime),
                    Attribute::new("lastModified", AttrType::DateTime),
                    Attribute::new("location", AttrType::Reference).case_exact(),
                    s("version").case_exact(),
                ],
            ))
            .attribute(s("schemas").case_exact().multi_valued())
            .attribute(s("displayName"))
            .attribute(
                Attribute::complex(
                    "members",
                    vec![
                        s("value").case_exact(),
                        Attribute::new("$ref", AttrType::Reference).case_exact(),
                        s("display"),
                        s("type"),
                    ],
                )
                .multi_valued(),
            )
            .extension(
                crate::group::GROUP_ROLES_SCHEMA,
                vec![Attribute::complex("roles", vec![s("value"), s("type")]).multi_valued()],
            )
    })
}

/// Checks `filter` and compiles it to a condition on groups.
pub(crate) fn group_condition(filter: &Filter) -> Result<GroupCondition, ScimError> {
    Matcher::new(filter, group_schema())?;
    compile(filter)
}

fn compile(filter: &Filter) -> Result<GroupCondition, ScimError> {
    Ok(match filter {
        Filter::And(a, b) => Box::new(compile(a)?.and(compile(b)?)),
        Filter::Or(a, b) => Box::new(compile(a)?.or(compile(b)?)),
        Filter::Not(inner) => Box::new(not(compile(inner)?)),
        Filter::Present(path) => present(path)?,
        Filter::Compare { path, op, value } => match value {
            CompareValue::Null if *op == CompareOp::Eq => Box::new(not(present(path)?)),
            CompareValue::Null => present(path)?,
            _ => compare(path, *op, value)?,
        },
        Filter::ValuePath { attr, filter } => {
            let (name, _) = resolve(attr)?;
            match name.as_str() {
                "members" => in_members(members_filter(filter)?),
                "roles" => {
                    let (roles, _) = group_schema().find(attr).ok_or_else(|| unsupported(attr))?;
                    granted(sub_filter(filter, roles, &role_present, &role_compare)?)
                }
                _ => return Err(unsupported(attr)),
            }
        }
    })
}

fn resolve(path: &AttrPath) -> Result<(String, Option<String>), ScimError> {
    let (attr, sub) = group_schema().find(path).ok_or_else(|| unsupported(path))?;
    Ok((attr.name.clone(), sub.map(|s| s.name.clone())))
}

fn always(value: bool) -> GroupCondition {
    let same = groups::id.eq(groups::id).nullable();
    if value { Box::new(same) } else { Box::new(not(same)) }
}

fn in_members(condition: Condition<group_members::table>) -> GroupCondition {
    Box::new(InSubquery::new(("groups", "id"), ("group_members", "group_id"), condition).nullable())
}

/// The groups granted an application role that satisfies `condition`.
fn granted(condition: Condition<roles::table>) -> GroupCondition {
    let role: Condition<role_grants::table> =
        Box::new(InSubquery::new(("role_grants", "role_id"), ("roles", "id"), condition).nullable());
    let grant: Condition<role_grants::table> =
        Box::new(role_grants::group_id.is_not_null().nullable().and(role));
    Box::new(InSubquery::new(("groups", "id"), ("role_grants", "group_id"), grant).nullable())
}

fn compare(path: &AttrPath, op: CompareOp, value: &CompareValue) -> Result<GroupCondition, ScimError> {
    let (attr, sub) = resolve(path)?;
    let (attribute, sub_attribute) = group_schema().find(path).ok_or_else(|| unsupported(path))?;
    let leaf = sub_attribute.unwrap_or(attribute);
    // A complex attribute without a sub-attribute compares its "value".
    let (sub, leaf) = match (attr.as_str(), sub) {
        ("members" | "roles", None) => {
            (Some("value".to_owned()), attribute.sub_attribute("value").unwrap_or(leaf))
        }
        (_, sub) => (sub, leaf),
    };
    let lit = literal(value, leaf.kind, leaf.case_exact)?;
    Ok(match (attr.as_str(), sub.as_deref(), lit) {
        ("id", None, Literal::Text(t)) => text_compare!(groups::id, op, t),
        ("externalId", None, Literal::Text(t)) => optional_text_compare!(groups::external_id, op, t),
        ("displayName", None, Literal::Text(t)) => text_compare!(groups::display_name_folded, op, t),
        ("meta", Some("created"), Literal::Time(t)) => time_compare!(groups::created, op, t),
        ("meta", Some("lastModified"), Literal::Time(t)) => time_compare!(groups::last_modified, op, t),
        ("meta", Some("resourceType"), Literal::Text(t)) => always(match op {
            CompareOp::Eq => t == "group",
            CompareOp::Ne => t != "group",
            CompareOp::Co => "group".contains(&t),
            CompareOp::Sw => "group".starts_with(&t),
            CompareOp::Ew => "group".ends_with(&t),
            CompareOp::Gt => "group" > t.as_str(),
            CompareOp::Ge => "group" >= t.as_str(),
            CompareOp::Lt => "group" < t.as_str(),
            CompareOp::Le => "group" <= t.as_str(),
        }),
        ("members", Some(sub), lit) => in_members(member_compare(path, sub, op, lit)?),
        ("roles", Some(sub), lit) => granted(role_compare(path, sub, op, lit, false)?),
        _ => return Err(unsupported(path)),
    })
}

fn present(path: &AttrPath) -> Result<GroupCondition, ScimError> {
    let (attr, sub) = resolve(path)?;
    Ok(match (attr.as_str(), sub.as_deref()) {
        ("id" | "displayName" | "schemas" | "meta", _) => always(true),
        ("externalId", None) => optional_text_present!(groups::external_id),
        ("members", None | Some("value" | "type" | "$ref")) => {
            in_members(Box::new(group_members::member_id.ne("").nullable()))
        }
        ("roles", sub) => granted(role_present(path, sub.unwrap_or("value"))?),
        _ => return Err(unsupported(path)),
    })
}

fn member_compare(
    path: &AttrPath,
    sub: &str,
    op: CompareOp,
    lit: Literal,
) -> Result<Condition<group_members::table>, ScimError> {
    Ok(match (sub, lit) {
        ("value", Literal::Text(t)) => text_compare!(group_members::member_id, op, t),
        // `type` is "User" or "Group" (compared folded): which column is set.
        ("type", Literal::Text(t)) if op == CompareOp::Eq || op == CompareOp::Ne => {
            let is_user: Condition<group_members::table> =
                Box::new(group_members::member_user_id.is_not_null().nullable());
            let is_group: Condition<group_members::table> =
                Box::new(group_members::member_group_id.is_not_null().nullable());
            let matched = match t.as_str() {
                "user" => Some(is_user),
                "group" => Some(is_group),
                _ => None,
            };
            match (matched, op) {
                (Some(condition), CompareOp::Eq) => condition,
                (Some(condition), _) => Box::new(not(condition)),
                (None, CompareOp::Eq) => {
                    Box::new(not(group_members::member_id.eq(group_members::member_id).nullable()))
                }
                (None, _) => Box::new(group_members::member_id.eq(group_members::member_id).nullable()),
            }
        }
        _ => return Err(unsupported(path)),
    })
}

fn members_filter(filter: &Filter) -> Result<Condition<group_members::table>, ScimError> {
    Ok(match filter {
        Filter::And(a, b) => Box::new(members_filter(a)?.and(members_filter(b)?)),
        Filter::Or(a, b) => Box::new(members_filter(a)?.or(members_filter(b)?)),
        Filter::Not(inner) => Box::new(not(members_filter(inner)?)),
        Filter::Present(_) => Box::new(group_members::member_id.ne("").nullable()),
        Filter::Compare { path, op, value } => {
            let members = group_schema().find(&AttrPath::new("members")).map(|(a, _)| a);
            let sub =
                members.and_then(|m| m.sub_attribute(path.name.as_str())).ok_or_else(|| unsupported(path))?;
            match value {
                CompareValue::Null if *op == CompareOp::Eq => {
                    Box::new(not(group_members::member_id.ne("").nullable()))
                }
                CompareValue::Null => Box::new(group_members::member_id.ne("").nullable()),
                _ => member_compare(path, &sub.name, *op, literal(value, sub.kind, sub.case_exact)?)?,
            }
        }
        Filter::ValuePath { attr, .. } => return Err(unsupported(attr)),
    })
}
