//! Searching groups with a condition built by the caller, and reading a
//! page's members with the names clients show for them.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::{Bool, Nullable};

use super::{Group, GroupRow, Member};
use crate::db::AnyConnection;
use crate::error::StoreError;
use crate::schema::{group_members, groups, users};
use crate::users::Backend;

/// A condition on the `groups` table.
pub type GroupCondition = Box<dyn BoxableExpression<groups::table, Backend, SqlType = Nullable<Bool>>>;

/// A column groups can be ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupOrder {
    /// `displayName`, case-insensitively.
    DisplayName,
    /// `externalId`.
    ExternalId,
    /// `meta.created` (the default).
    Created,
    /// `meta.lastModified`.
    LastModified,
    /// `id`.
    Id,
}

/// One page of groups, with the number the condition selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupPage {
    /// The groups on this page, in order.
    pub groups: Vec<Group>,
    /// How many groups match in all.
    pub total: i64,
}

/// Groups selected by `condition()` (all when it builds `None`), ordered by
/// `order` then id, unassigned values last; `offset` and `limit` page.
pub fn search(
    conn: &mut AnyConnection,
    condition: &dyn Fn() -> Option<GroupCondition>,
    window: Option<GroupCondition>,
    order: GroupOrder,
    descending: bool,
    offset: i64,
    limit: i64,
) -> Result<GroupPage, StoreError> {
    let mut count = groups::table.into_boxed::<Backend>().select(diesel::dsl::count_star());
    if let Some(condition) = condition() {
        count = count.filter(condition);
    }
    let total: i64 = count.first(conn)?;
    let mut query = groups::table.into_boxed::<Backend>();
    if let Some(condition) = condition() {
        query = query.filter(condition);
    }
    // The window narrows the page, not the count (cursor paging).
    if let Some(window) = window {
        query = query.filter(window);
    }
    query = match (order, descending) {
        (GroupOrder::DisplayName, false) => {
            query.order((groups::display_name_folded.asc(), groups::id.asc()))
        }
        (GroupOrder::DisplayName, true) => {
            query.order((groups::display_name_folded.desc(), groups::id.desc()))
        }
        (GroupOrder::ExternalId, false) => {
            query.order((groups::external_id.is_null().asc(), groups::external_id.asc(), groups::id.asc()))
        }
        (GroupOrder::ExternalId, true) => {
            query.order((groups::external_id.is_null().asc(), groups::external_id.desc(), groups::id.desc()))
        }
        (GroupOrder::Created, false) => query.order((groups::created.asc(), groups::id.asc())),
        (GroupOrder::Created, true) => query.order((groups::created.desc(), groups::id.desc())),
        (GroupOrder::LastModified, false) => query.order((groups::last_modified.asc(), groups::id.asc())),
        (GroupOrder::LastModified, true) => query.order((groups::last_modified.desc(), groups::id.desc())),
        (GroupOrder::Id, false) => query.order(groups::id.asc()),
        (GroupOrder::Id, true) => query.order(groups::id.desc()),
    };
    let rows: Vec<GroupRow> = query.offset(offset).limit(limit).select(GroupRow::as_select()).load(conn)?;
    Ok(GroupPage { groups: rows.into_iter().map(GroupRow::into_group).collect(), total })
}

/// A member with the name to show for it: a user's display name (or user
/// name), a group's display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedMember {
    /// Who the member is.
    pub member: Member,
    /// What to call it.
    pub display: String,
}

/// The direct members of each group in `group_ids`, in the order they were
/// added, with their names: three queries, whatever the number of groups.
pub fn named_members(
    conn: &mut AnyConnection,
    group_ids: &[&str],
) -> Result<HashMap<String, Vec<NamedMember>>, StoreError> {
    let mut out: HashMap<String, Vec<NamedMember>> = HashMap::new();
    if group_ids.is_empty() {
        return Ok(out);
    }
    let rows: Vec<(String, String, Option<String>, Option<String>)> = group_members::table
        .filter(group_members::group_id.eq_any(group_ids))
        .order((group_members::group_id.asc(), group_members::position.asc()))
        .select((
            group_members::group_id,
            group_members::member_id,
            group_members::member_user_id,
            group_members::member_group_id,
        ))
        .load(conn)?;
    let user_ids: Vec<&str> = rows.iter().filter_map(|r| r.2.as_deref()).collect();
    let group_member_ids: Vec<&str> = rows.iter().filter_map(|r| r.3.as_deref()).collect();
    let user_names: HashMap<String, String> = users::table
        .filter(users::id.eq_any(&user_ids))
        .select((users::id, users::user_name, users::display_name))
        .load::<(String, String, Option<String>)>(conn)?
        .into_iter()
        .map(|(id, user_name, display)| (id, display.unwrap_or(user_name)))
        .collect();
    let group_names: HashMap<String, String> = groups::table
        .filter(groups::id.eq_any(&group_member_ids))
        .select((groups::id, groups::display_name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    for (group_id, member_id, user, _) in &rows {
        let (member, display) = match user {
            Some(user) => (Member::User(user.clone()), user_names.get(user).cloned().unwrap_or_default()),
            None => {
                (Member::Group(member_id.clone()), group_names.get(member_id).cloned().unwrap_or_default())
            }
        };
        out.entry(group_id.clone()).or_default().push(NamedMember { member, display });
    }
    Ok(out)
}
