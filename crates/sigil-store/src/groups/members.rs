//! Writing a group's member rows: many at a time, whatever the size of
//! the group. A change costs statements per thousand members named, not
//! per member, and never reads the members it does not name.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Nullable, Text};

use super::{Group, Member, MemberRow, ancestor_groups, bump, get, lock};
use crate::db::AnyConnection;
use crate::error::StoreError;
use crate::schema::{group_members, groups, users};
use crate::users::Backend;

/// Replaces the member rows of a locked group; reports whether any changed.
pub(super) fn replace_members(
    conn: &mut AnyConnection,
    group_id: &str,
    members: &[Member],
) -> Result<bool, StoreError> {
    let current = super::members(conn, group_id)?;
    let wanted: HashSet<&str> = members.iter().map(Member::id).collect();
    let gone: Vec<&str> = current.iter().map(Member::id).filter(|id| !wanted.contains(id)).collect();
    let mut present: HashSet<&str> = current.iter().map(Member::id).collect();
    // Only new members are written, so re-sending a large group costs a
    // query per change, not per member.
    let new: Vec<&Member> = members.iter().filter(|m| present.insert(m.id())).collect();
    let removed = delete_members(conn, group_id, &gone)?;
    insert_members(conn, group_id, &new)?;
    Ok(removed > 0 || !new.is_empty())
}

/// Adds and removes direct members of a group in one write, without
/// reading its other members: the rows of `remove` go, then each member of
/// `add` not there yet is appended, in order, after the cycle check of
/// [`add_member`](super::add_member) (an id in both is removed and appended again). Moves the
/// version once if anything changed, nothing otherwise; with
/// `expected_version`, only if the stored version is still that one.
///
/// What it costs depends on the size of the change, not of the group: a
/// few statements per thousand members named, one read of the last
/// position, and a walk up the groups containing this one when a group is
/// added.
pub fn change_members(
    conn: &mut AnyConnection,
    group_id: &str,
    add: &[Member],
    remove: &[&str],
    expected_version: Option<i64>,
    now: NaiveDateTime,
) -> Result<Group, StoreError> {
    let stored = lock(conn, group_id)?;
    let version = stored.meta.version;
    if expected_version.is_some_and(|expected| expected != version) {
        return Err(StoreError::VersionMismatch);
    }
    let removed = delete_members(conn, group_id, remove)?;
    let named: Vec<&str> = add.iter().map(Member::id).collect();
    let mut present: HashSet<String> =
        members_among(conn, group_id, &named)?.iter().map(|m| m.id().to_owned()).collect();
    let new: Vec<&Member> = add.iter().filter(|m| present.insert(m.id().to_owned())).collect();
    insert_members(conn, group_id, &new)?;
    if removed == 0 && new.is_empty() {
        return Ok(stored);
    }
    bump(conn, group_id, version, now)?;
    get(conn, group_id)
}

/// The direct members of the group among `ids`, in no particular order:
/// whether a few members belong, without reading the others.
pub fn members_among(
    conn: &mut AnyConnection,
    group_id: &str,
    ids: &[&str],
) -> Result<Vec<Member>, StoreError> {
    let mut found = Vec::new();
    for chunk in ids.chunks(BINDS_PER_STATEMENT) {
        let rows = group_members::table
            .filter(group_members::group_id.eq(group_id))
            .filter(crate::db::any_of(group_members::member_id, chunk))
            .select(MemberRow::as_select())
            .load(conn)?;
        found.extend(rows.into_iter().map(MemberRow::into_member));
    }
    Ok(found)
}

/// Which of some ids name a user, and which a group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExistingIds {
    /// The ids that are users' ids.
    pub users: HashSet<String>,
    /// The ids that are groups' ids.
    pub groups: HashSet<String>,
}

/// What each of `ids` can be as a member: a user, a group, or nothing
/// (neither set has it). Two queries per thousand ids, instead of a look-up
/// of each member a request names.
pub fn existing_ids(conn: &mut AnyConnection, ids: &[&str]) -> Result<ExistingIds, StoreError> {
    let mut existing = ExistingIds::default();
    for chunk in ids.chunks(BINDS_PER_STATEMENT) {
        let users: Vec<String> =
            users::table.filter(crate::db::any_of(users::id, chunk)).select(users::id).load(conn)?;
        existing.users.extend(users);
        let groups: Vec<String> =
            groups::table.filter(crate::db::any_of(groups::id, chunk)).select(groups::id).load(conn)?;
        existing.groups.extend(groups);
    }
    Ok(existing)
}

/// Values bound in one statement at most: well under SQLite's default
/// limit on bound parameters (32,766) and PostgreSQL's (65,535).
const BINDS_PER_STATEMENT: usize = 1_000;

/// Deletes the member rows of `ids` from a locked group; returns how many
/// there were.
fn delete_members(conn: &mut AnyConnection, group_id: &str, ids: &[&str]) -> Result<usize, StoreError> {
    let mut deleted = 0;
    for chunk in ids.chunks(BINDS_PER_STATEMENT) {
        deleted += diesel::delete(
            group_members::table
                .filter(group_members::group_id.eq(group_id))
                .filter(crate::db::any_of(group_members::member_id, chunk)),
        )
        .execute(conn)?;
    }
    Ok(deleted)
}

/// Writes new member rows of a group the caller has locked (or has just
/// created), in order after its last member, once the cycle check has
/// passed; the version is the caller's to move. `members` must not be
/// members yet nor repeat one. One read of the last position for all of
/// them, and two hundred rows written per statement.
pub(super) fn insert_members(
    conn: &mut AnyConnection,
    group_id: &str,
    members: &[&Member],
) -> Result<(), StoreError> {
    if members.is_empty() {
        return Ok(());
    }
    refuse_cycles(conn, group_id, members)?;
    let next = group_members::table
        .filter(group_members::group_id.eq(group_id))
        .select(diesel::dsl::max(group_members::position))
        .first::<Option<i64>>(conn)?
        .map_or(0, |last| last + 1);
    let rows: Vec<MemberRow> = members
        .iter()
        .zip(next..)
        .map(|(member, position)| {
            let (member_user_id, member_group_id) = match member {
                Member::User(id) => (Some(id.clone()), None),
                Member::Group(id) => (None, Some(id.clone())),
            };
            MemberRow {
                group_id: group_id.to_owned(),
                member_id: member.id().to_owned(),
                member_user_id,
                member_group_id,
                position,
            }
        })
        .collect();
    // Five values bound per row.
    for chunk in rows.chunks(BINDS_PER_STATEMENT / 5) {
        InsertRows(chunk).execute(conn)?;
    }
    Ok(())
}

/// `INSERT INTO group_members (...) VALUES (...), (...), ...`: many rows in
/// one statement. Diesel's own batch insert cannot go through the store's
/// multi-backend connection (SQLite's takes another shape), so this writes
/// the statement once for both, with every value bound.
#[derive(Debug)]
struct InsertRows<'a>(&'a [MemberRow]);

impl QueryFragment<Backend> for InsertRows<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Backend>) -> QueryResult<()> {
        out.push_sql(
            "INSERT INTO group_members (group_id, member_id, member_user_id, member_group_id, position) VALUES ",
        );
        for (i, row) in self.0.iter().enumerate() {
            out.push_sql(if i == 0 { "(" } else { ", (" });
            out.push_bind_param::<Text, _>(&row.group_id)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(&row.member_id)?;
            out.push_sql(", ");
            out.push_bind_param::<Nullable<Text>, _>(&row.member_user_id)?;
            out.push_sql(", ");
            out.push_bind_param::<Nullable<Text>, _>(&row.member_group_id)?;
            out.push_sql(", ");
            out.push_bind_param::<BigInt, _>(&row.position)?;
            out.push_sql(")");
        }
        Ok(())
    }
}

impl QueryId for InsertRows<'_> {
    type QueryId = ();
    // The SQL depends on the number of rows: nothing to cache by type.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl RunQueryDsl<AnyConnection> for InsertRows<'_> {}

/// Refuses ([`StoreError::Invalid`], naming the first in order) a group
/// among `members` that is `group_id` itself or contains it at any depth.
/// A group contains `group_id` exactly when it is one of `group_id`'s
/// ancestors, so one walk up from `group_id` (a query per level) answers
/// for every new member at once; nothing is read when no group is added.
fn refuse_cycles(conn: &mut AnyConnection, group_id: &str, members: &[&Member]) -> Result<(), StoreError> {
    let children: Vec<&str> = members
        .iter()
        .filter_map(|m| match m {
            Member::Group(id) => Some(id.as_str()),
            Member::User(_) => None,
        })
        .collect();
    if children.is_empty() {
        return Ok(());
    }
    let above: HashSet<String> = ancestor_groups(conn, &[group_id.to_owned()])?.into_iter().collect();
    match children.into_iter().find(|child| *child == group_id || above.contains(*child)) {
        Some(child) => Err(StoreError::Invalid(format!(
            "adding group {child} to group {group_id} would make a group contain itself"
        ))),
        None => Ok(()),
    }
}
