//! Searching users: a parsed filter, a sort attribute and a page, run in the
//! database (RFC 7644 §3.4.2).

use scim_filter_parser::{AttrPath, Filter};
use sigil_store::AnyConnection;
use sigil_store::groups::{self, GroupOrder, GroupPage};
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

/// Runs `query` in the database.
pub fn search_users(conn: &mut AnyConnection, query: &Query) -> Result<Page, ScimError> {
    let order = query.sort_by.as_ref().map(order).transpose()?.unwrap_or(UserOrder::Created);
    if let Some(filter) = &query.filter {
        // Checked once, so that building it again below cannot fail.
        user_condition(filter)?;
    }
    let condition = || query.filter.as_ref().and_then(|f| user_condition(f).ok());
    Ok(users::search(conn, &condition, order, query.descending, query.offset, query.limit)?)
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

/// Runs `query` over groups in the database.
pub fn search_groups(conn: &mut AnyConnection, query: &Query) -> Result<GroupPage, ScimError> {
    let order = query.sort_by.as_ref().map(group_order).transpose()?.unwrap_or(GroupOrder::Created);
    if let Some(filter) = &query.filter {
        group_condition(filter)?;
    }
    let condition = || query.filter.as_ref().and_then(|f| group_condition(f).ok());
    Ok(groups::search(conn, &condition, order, query.descending, query.offset, query.limit)?)
}
