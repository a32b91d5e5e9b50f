//! Searching users and groups: a parsed filter, a sort attribute and a
//! page, run in the database (RFC 7644 §3.4.2). A page starts at an index
//! (`startIndex`) or, for RFC 9865 cursor paging, right after (or before) a
//! [`Position`] in the requested order: keyset paging on the sort
//! attribute's value and the id (`sigil_store::keyset`).

use scim_filter_parser::{AttrPath, Filter, Schema};
use sha2::{Digest, Sha256};
use sigil_store::AnyConnection;
use sigil_store::groups::{self, GroupOrder, GroupPage};
use sigil_store::keyset::{Seek, SortKey};
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
    /// position in the order asked for, instead of at `offset`.
    pub position: Option<Position>,
}

/// A place in a cursor walk: a record's value in the sort attribute and its
/// id, with the walk it was taken in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// The query the position belongs to.
    pub walk: Walk,
    /// The record's value in the sort attribute, as stored.
    pub key: SortKey,
    /// Its id, which orders records with the same value.
    pub id: String,
    /// The page runs forward from here (`true`) or back from here.
    pub forward: bool,
}

/// What makes one cursor walk: the resource type, the sort attribute and
/// direction, and the filter. A position only means something in its own
/// walk, so a cursor sent with another `sortBy`, `sortOrder` or filter is
/// refused rather than answered with pages of a different order: RFC 9865
/// §2 has the client repeat every parameter but the cursor unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walk {
    /// `User` or `Group`.
    pub resource: String,
    /// The sort attribute's canonical path (`meta.created` by default).
    pub sort: String,
    /// `sortOrder=descending`.
    pub descending: bool,
    /// A digest of the filter's canonical form; empty without a filter.
    pub filter: String,
}

/// The attributes users can be sorted by, by canonical path. Their columns
/// are ordered as the store writes (`sigil_store::keyset`): case-insensitive
/// `userName` by its folded copy, unassigned values last.
const USER_SORTS: [(&str, UserOrder); 9] = [
    ("userName", UserOrder::UserName),
    ("displayName", UserOrder::DisplayName),
    ("name.familyName", UserOrder::FamilyName),
    ("name.givenName", UserOrder::GivenName),
    ("externalId", UserOrder::ExternalId),
    ("title", UserOrder::Title),
    ("id", UserOrder::Id),
    ("meta.created", UserOrder::Created),
    ("meta.lastModified", UserOrder::LastModified),
];

/// The attributes groups can be sorted by.
const GROUP_SORTS: [(&str, GroupOrder); 5] = [
    ("displayName", GroupOrder::DisplayName),
    ("externalId", GroupOrder::ExternalId),
    ("id", GroupOrder::Id),
    ("meta.created", GroupOrder::Created),
    ("meta.lastModified", GroupOrder::LastModified),
];

/// The order `sortBy` asks for in `sorts`, with its canonical path;
/// creation order without one.
fn resolve<O: Copy>(
    schema: &Schema,
    sorts: &[(&'static str, O)],
    sort_by: Option<&AttrPath>,
) -> Result<(&'static str, O), ScimError> {
    let name = match sort_by {
        None => "meta.created".to_owned(),
        Some(path) => match schema.find(path) {
            Some((attr, Some(sub))) => format!("{}.{}", attr.name, sub.name),
            Some((attr, None)) => attr.name.clone(),
            None => {
                return Err(ScimError::InvalidValue(format!("sortBy names an unknown attribute `{path}`")));
            }
        },
    };
    sorts
        .iter()
        .copied()
        .find(|(sort, _)| *sort == name)
        .ok_or_else(|| ScimError::InvalidValue(format!("sorting by `{name}` is not supported")))
}

fn walk(resource: &str, sort: &str, query: &Query) -> Walk {
    let filter = query.filter.as_ref().map_or_else(String::new, |f| {
        // The canonical form, so that only a different filter differs; 16
        // bytes tell filters apart without making cursors long.
        let digest = Sha256::digest(f.to_string().as_bytes());
        digest[..16].iter().map(|b| format!("{b:02x}")).collect()
    });
    Walk { resource: resource.into(), sort: sort.into(), descending: query.descending, filter }
}

/// The walk a cursor search of users belongs to.
pub(crate) fn user_walk(query: &Query) -> Result<Walk, ScimError> {
    let (sort, _) = resolve(user_schema(), &USER_SORTS, query.sort_by.as_ref())?;
    Ok(walk("User", sort, query))
}

/// The walk a cursor search of groups belongs to.
pub(crate) fn group_walk(query: &Query) -> Result<Walk, ScimError> {
    let (sort, _) = resolve(group_schema(), &GROUP_SORTS, query.sort_by.as_ref())?;
    Ok(walk("Group", sort, query))
}

/// Where the page starts, if the query has a position: refused with
/// `invalidCursor` (RFC 9865 §2.1) when the position belongs to another
/// walk than `expected`, or holds a value the sort column cannot.
fn seek(
    query: &Query,
    expected: &Walk,
    admits: impl Fn(&SortKey) -> bool,
) -> Result<Option<Seek>, ScimError> {
    let Some(position) = &query.position else {
        return Ok(None);
    };
    let walk = &position.walk;
    if walk.resource != expected.resource {
        return Err(ScimError::InvalidCursor(format!(
            "the cursor belongs to a walk over {}s, not {}s",
            walk.resource, expected.resource
        )));
    }
    if walk.sort != expected.sort || walk.descending != expected.descending {
        let order = |d: bool| if d { "descending" } else { "ascending" };
        return Err(ScimError::InvalidCursor(format!(
            "the cursor belongs to a walk with sortBy={} and sortOrder={}, not sortBy={} and sortOrder={}; \
             send the first page's sortBy, sortOrder and filter with every cursor (RFC 9865 §2)",
            walk.sort,
            order(walk.descending),
            expected.sort,
            order(expected.descending)
        )));
    }
    if walk.filter != expected.filter {
        return Err(ScimError::InvalidCursor(
            "the cursor belongs to a walk with another filter; send the first page's filter with every \
             cursor (RFC 9865 §2)"
                .into(),
        ));
    }
    if !admits(&position.key) {
        return Err(ScimError::InvalidCursor("the cursor is not one this service issued".into()));
    }
    Ok(Some(Seek { key: position.key.clone(), id: position.id.clone(), forward: position.forward }))
}

/// Runs `query` in the database. With a position, the page is the one
/// after (or before) it, in the order asked for.
pub fn search_users(conn: &mut AnyConnection, query: &Query) -> Result<Page, ScimError> {
    let (sort, order) = resolve(user_schema(), &USER_SORTS, query.sort_by.as_ref())?;
    if let Some(filter) = &query.filter {
        // Checked once, so that building it again below cannot fail.
        user_condition(filter)?;
    }
    let seek = seek(query, &walk("User", sort, query), |key| order.admits(key))?;
    let condition = || query.filter.as_ref().and_then(|f| user_condition(f).ok());
    Ok(users::search(conn, &condition, seek.as_ref(), order, query.descending, query.offset, query.limit)?)
}

/// Runs `query` over groups in the database, as [`search_users`] does.
pub fn search_groups(conn: &mut AnyConnection, query: &Query) -> Result<GroupPage, ScimError> {
    let (sort, order) = resolve(group_schema(), &GROUP_SORTS, query.sort_by.as_ref())?;
    if let Some(filter) = &query.filter {
        group_condition(filter)?;
    }
    let seek = seek(query, &walk("Group", sort, query), |key| order.admits(key))?;
    let condition = || query.filter.as_ref().and_then(|f| group_condition(f).ok());
    Ok(groups::search(conn, &condition, seek.as_ref(), order, query.descending, query.offset, query.limit)?)
}
