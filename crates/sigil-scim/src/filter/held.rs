//! Filters on what a user has through its groups: `groups`, direct or
//! through nesting, and the application roles among its `roles`, granted
//! to it or to any group it belongs to. Both become a recursive query
//! (`sql::MembersThroughNesting`), so a filter sees exactly what the
//! rendered User lists.

use diesel::dsl::not;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Nullable};
use scim_filter_parser::{AttrPath, CompareOp};
use sigil_store::schema::{groups, roles};
use sigil_store::users::{Backend, UserCondition};

use super::{Literal, like_pattern, unsupported};
use crate::ScimError;
use crate::sql::{Condition, MembersThroughNesting, Seed};

/// `groups.value` or `groups.display`: the user belongs to such a group,
/// directly or through nesting.
pub(super) fn in_groups(
    sub: &str,
    op: CompareOp,
    lit: Literal,
    path: &AttrPath,
) -> Result<UserCondition, ScimError> {
    let Literal::Text(t) = lit else { return Err(unsupported(path)) };
    let inner: Condition<groups::table> = match sub {
        "value" => text_compare!(groups::id, op, t),
        "display" => text_compare!(groups::display_name_folded, op, t),
        _ => return Err(unsupported(path)),
    };
    Ok(Box::new(MembersThroughNesting::new(Seed::Groups, inner).nullable()))
}

/// The users holding an application role that satisfies `condition`.
pub(super) fn holding(condition: Condition<roles::table>) -> UserCondition {
    Box::new(MembersThroughNesting::new(Seed::RoleGrants, condition).nullable())
}

fn constant(value: bool) -> Condition<roles::table> {
    if value {
        Box::new(roles::id.eq(roles::id).nullable())
    } else {
        Box::new(not(roles::id.eq(roles::id).nullable()))
    }
}

/// A sub-attribute of a `roles` entry that stands for an application role:
/// `value` is the role's name and `type` its application, both compared
/// regardless of case; it has no `display` or `primary`, so those match no
/// comparison.
pub(super) fn role_compare(
    path: &AttrPath,
    sub: &str,
    op: CompareOp,
    lit: Literal,
    _case_exact: bool,
) -> Result<Condition<roles::table>, ScimError> {
    Ok(match (sub, lit) {
        ("value", Literal::Text(t)) => text_compare!(roles::name_folded, op, t),
        ("type", Literal::Text(t)) => text_compare!(roles::client_id_folded, op, t),
        ("display" | "primary", _) => constant(false),
        _ => return Err(unsupported(path)),
    })
}

/// Whether that sub-attribute is present: `value` and `type` always are.
pub(super) fn role_present(path: &AttrPath, sub: &str) -> Result<Condition<roles::table>, ScimError> {
    Ok(match sub {
        "value" | "type" => constant(true),
        "display" | "primary" => constant(false),
        _ => return Err(unsupported(path)),
    })
}
