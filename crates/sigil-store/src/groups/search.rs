//! Searching groups with a condition built by the caller, and reading a
//! page's members with the names clients show for them.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::{Bool, Nullable};

use super::{Group, GroupRow, Member};
use crate::db::AnyConnection;
use crate::error::StoreError;
use crate::keyset::{self, Seek, SortColumn, SortKey};
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

impl GroupOrder {
    /// The column, as keyset paging sees it.
    fn column(self) -> SortColumn<groups::table> {
        match self {
            Self::DisplayName => SortColumn::Text(|| Box::new(groups::display_name_folded)),
            Self::ExternalId => SortColumn::OptionalText(|| Box::new(groups::external_id)),
            Self::Created => SortColumn::Time(|| Box::new(groups::created)),
            Self::LastModified => SortColumn::Time(|| Box::new(groups::last_modified)),
            Self::Id => SortColumn::Id,
        }
    }

    /// Whether `key` can be a group's value in this column.
    pub fn admits(self, key: &SortKey) -> bool {
        self.column().admits(key)
    }

    /// `row`'s value in this column, as stored.
    fn key_of(self, row: &GroupRow) -> SortKey {
        match self {
            Self::DisplayName => SortKey::Text(row.display_name_folded.clone()),
            Self::ExternalId => row.external_id.clone().map_or(SortKey::Absent, SortKey::Text),
            Self::Created => SortKey::Time(row.created),
            Self::LastModified => SortKey::Time(row.last_modified),
            Self::Id => SortKey::Absent,
        }
    }
}

/// One page of groups, with the number the condition selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupPage {
    /// The groups on this page, in order.
    pub groups: Vec<Group>,
    /// Each group's value in the order column, as stored.
    pub keys: Vec<SortKey>,
    /// How many groups match in all.
    pub total: i64,
}

/// Groups selected by `condition()` (all when it builds `None`), ordered by
/// `order` then id, unassigned values last; `offset` and `limit` page, and
/// `seek` starts the page after (or ends it before) a group, as
/// [`crate::users::search`] does.
pub fn search(
    conn: &mut AnyConnection,
    condition: &dyn Fn() -> Option<GroupCondition>,
    seek: Option<&Seek>,
    order: GroupOrder,
    descending: bool,
    offset: i64,
    limit: i64,
) -> Result<GroupPage, StoreError> {
    let mut query = groups::table.into_boxed::<Backend>();
    if let Some(condition) = condition() {
        query = query.filter(condition);
    }
    let (query, reversed) =
        keyset::arrange(query, &order.column(), || Box::new(groups::id), descending, seek)?;
    let mut rows: Vec<GroupRow> =
        query.offset(offset).limit(limit).select(GroupRow::as_select()).load(conn)?;
    if reversed {
        rows.reverse();
    }
    let total = match crate::keyset::total_from_page(seek.is_some(), offset, limit, rows.len()) {
        Some(total) => total,
        None => {
            let mut count = groups::table.into_boxed::<Backend>().select(diesel::dsl::count_star());
            if let Some(condition) = condition() {
                count = count.filter(condition);
            }
            count.first(conn)?
        }
    };
    let keys = rows.iter().map(|row| order.key_of(row)).collect();
    Ok(GroupPage { groups: rows.into_iter().map(GroupRow::into_group).collect(), keys, total })
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

/// A member row with the names of what it names: the group, the member's
/// id, its user id if a user, that user's userName and displayName, the
/// nested group's displayName if a group.
type NamedRow = (String, String, Option<String>, Option<String>, Option<String>, Option<String>);

/// The direct members of each group in `group_ids`, in the order they were
/// added, with their names: one query, whatever the number of groups or
/// members. It walks each group's members in order through their index
/// and looks up each member's record by its key, so it reads a group of
/// fifty thousand without sorting it or binding fifty thousand ids.
pub fn named_members(
    conn: &mut AnyConnection,
    group_ids: &[&str],
) -> Result<HashMap<String, Vec<NamedMember>>, StoreError> {
    let mut out: HashMap<String, Vec<NamedMember>> = HashMap::new();
    if group_ids.is_empty() {
        return Ok(out);
    }
    // `groups` appears twice: as the group listed, and as a member.
    let nested = diesel::alias!(groups as nested);
    let rows: Vec<NamedRow> = group_members::table
        .left_join(users::table.on(users::id.nullable().eq(group_members::member_user_id)))
        .left_join(nested.on(nested.field(groups::id).nullable().eq(group_members::member_group_id)))
        .filter(crate::db::any_of(group_members::group_id, group_ids))
        .order((group_members::group_id.asc(), group_members::position.asc()))
        .select((
            group_members::group_id,
            group_members::member_id,
            group_members::member_user_id,
            users::user_name.nullable(),
            users::display_name.nullable(),
            nested.field(groups::display_name).nullable(),
        ))
        .load(conn)?;
    for (group_id, member_id, user, user_name, user_display, group_name) in rows {
        let (member, display) = match user {
            Some(user) => (Member::User(user), user_display.or(user_name).unwrap_or_default()),
            None => (Member::Group(member_id), group_name.unwrap_or_default()),
        };
        out.entry(group_id).or_default().push(NamedMember { member, display });
    }
    Ok(out)
}
