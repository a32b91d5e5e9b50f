//! Searching users: a parsed filter, a sort attribute and a page, run in the
//! database (RFC 7644 §3.4.2).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use scim_filter_parser::{AttrPath, Filter};
use sigil_store::AnyConnection;
use sigil_store::groups::{self, GroupOrder, GroupPage};
use sigil_store::schema::{groups as group_table, users as user_table};
use sigil_store::users::{self, Page, UserOrder};

use crate::ScimError;
use crate::filter::{group_condition, group_schema, user_condition, user_schema};

/// What a search asks for (of users or of groups).
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Only users matching this filter.
    pub filter: Option<Filter>,
    /// Sort by this attribute (`sortBy`); creation order when unset.
    pub sort_by: Option<AttrPath>,
    /// `sortOrder=descending`.
    pub descending: bool,
    /// How many matching users to skip (`startIndex` - 1).
    pub offset: i64,
    /// The most to return (`count`).
    pub limit: i64,
    /// Cursor paging (RFC 9865): the page starts after, or ends before, this
    /// position in creation order, instead of at `offset`.
    pub position: Option<Position>,
}

/// A place in creation order: a record's creation time and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// The record's `meta.created`.
    pub created: NaiveDateTime,
    /// Its id, which orders records created in the same microsecond.
    pub id: String,
    /// The page runs forward from here (`true`) or back from here.
    pub forward: bool,
}

fn check_cursor_order(query: &Query) -> Result<(), ScimError> {
    if query.position.is_some() && (query.sort_by.is_some() || query.descending) {
        return Err(ScimError::InvalidValue(
            "cursor paging follows creation order; leave out sortBy and sortOrder".into(),
        ));
    }
    Ok(())
}

/// The attribute `sortBy` names, as a column the store can order by.
fn order(path: &AttrPath) -> Result<UserOrder, ScimError> {
    let Some((attr, sub)) = user_schema().find(path) else {
        return Err(ScimError::InvalidValue(format!("sortBy names an unknown attribute `{path}`")));
    };
    let sub = sub.map(|s| s.name.as_str());
    Ok(match (attr.name.as_str(), sub) {
        ("userName", None) => UserOrder::UserName,
        ("displayName", None) => UserOrder::DisplayName,
        ("name", Some("familyName")) => UserOrder::FamilyName,
        ("name", Some("givenName")) => UserOrder::GivenName,
        ("externalId", None) => UserOrder::ExternalId,
        ("title", None) => UserOrder::Title,
        ("id", None) => UserOrder::Id,
        ("meta", Some("created")) => UserOrder::Created,
        ("meta", Some("lastModified")) => UserOrder::LastModified,
        _ => return Err(ScimError::InvalidValue(format!("sorting by `{path}` is not supported"))),
    })
}

/// Runs `query` in the database. With a position, the page is the one
/// after (or before) it in creation order, in creation order.
pub fn search_users(conn: &mut AnyConnection, query: &Query) -> Result<Page, ScimError> {
    check_cursor_order(query)?;
    let order = query.sort_by.as_ref().map(order).transpose()?.unwrap_or(UserOrder::Created);
    if let Some(filter) = &query.filter {
        // Checked once, so that building it again below cannot fail.
        user_condition(filter)?;
    }
    let condition = || query.filter.as_ref().and_then(|f| user_condition(f).ok());
    let Some(position) = &query.position else {
        return Ok(users::search(
            conn,
            &condition,
            None,
            order,
            query.descending,
            query.offset,
            query.limit,
        )?);
    };
    let (t, id) = (position.created, position.id.clone());
    let window: users::UserCondition = if position.forward {
        Box::new(
            user_table::created.gt(t).or(user_table::created.eq(t).and(user_table::id.gt(id))).nullable(),
        )
    } else {
        Box::new(
            user_table::created.lt(t).or(user_table::created.eq(t).and(user_table::id.lt(id))).nullable(),
        )
    };
    let mut page =
        users::search(conn, &condition, Some(window), UserOrder::Created, !position.forward, 0, query.limit)?;
    if !position.forward {
        page.users.reverse();
    }
    Ok(page)
}

fn group_order(path: &AttrPath) -> Result<GroupOrder, ScimError> {
    let Some((attr, sub)) = group_schema().find(path) else {
        return Err(ScimError::InvalidValue(format!("sortBy names an unknown attribute `{path}`")));
    };
    Ok(match (attr.name.as_str(), sub.map(|s| s.name.as_str())) {
        ("displayName", None) => GroupOrder::DisplayName,
        ("externalId", None) => GroupOrder::ExternalId,
        ("id", None) => GroupOrder::Id,
        ("meta", Some("created")) => GroupOrder::Created,
        ("meta", Some("lastModified")) => GroupOrder::LastModified,
        _ => return Err(ScimError::InvalidValue(format!("sorting by `{path}` is not supported"))),
    })
}

/// Runs `query` over groups in the database, as [`search_users`] does.
pub fn search_groups(conn: &mut AnyConnection, query: &Query) -> Result<GroupPage, ScimError> {
    check_cursor_order(query)?;
    let order = query.sort_by.as_ref().map(group_order).transpose()?.unwrap_or(GroupOrder::Created);
    if let Some(filter) = &query.filter {
        group_condition(filter)?;
    }
    let condition = || query.filter.as_ref().and_then(|f| group_condition(f).ok());
    let Some(position) = &query.position else {
        return Ok(groups::search(
            conn,
            &condition,
            None,
            order,
            query.descending,
            query.offset,
            query.limit,
        )?);
    };
    let (t, id) = (position.created, position.id.clone());
    let window: groups::GroupCondition = if position.forward {
        Box::new(
            group_table::created.gt(t).or(group_table::created.eq(t).and(group_table::id.gt(id))).nullable(),
        )
    } else {
        Box::new(
            group_table::created.lt(t).or(group_table::created.eq(t).and(group_table::id.lt(id))).nullable(),
        )
    };
    let mut page = groups::search(
        conn,
        &condition,
        Some(window),
        GroupOrder::Created,
        !position.forward,
        0,
        query.limit,
    )?;
    if !position.forward {
        page.groups.reverse();
    }
    Ok(page)
}
