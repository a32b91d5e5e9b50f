//! Groups and their members. A member is a user or another group, so groups
//! nest; the store refuses a membership that would make a group contain
//! itself.

use std::collections::{HashMap, HashSet, VecDeque};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::AnyConnection;
use crate::error::StoreError;
use crate::schema::{group_members, groups};
use crate::text::{check_name, fold};
use crate::{Meta, new_id};

mod members;
mod search;

pub use members::{ExistingIds, change_members, existing_ids, members_among};
use members::{insert_members, replace_members};
pub use search::{GroupCondition, GroupOrder, GroupPage, NamedMember, named_members, search};

/// A group as stored (its members are read separately).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Server-assigned id (a UUID).
    pub id: String,
    /// The group's name; unique regardless of letter case.
    pub display_name: String,
    /// The provisioning client's own id for this group.
    pub external_id: Option<String>,
    /// Creation time, last change and version; set by the store.
    pub meta: Meta,
}

impl Group {
    /// A new group with a fresh id.
    pub fn new(display_name: impl Into<String>) -> Self {
        Self { id: new_id(), display_name: display_name.into(), external_id: None, meta: Meta::default() }
    }
}

/// A member of a group.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Member {
    /// A user, by id.
    User(String),
    /// A nested group, by id.
    Group(String),
}

impl Member {
    /// The member's id, whichever kind it is.
    pub fn id(&self) -> &str {
        match self {
            Self::User(id) | Self::Group(id) => id,
        }
    }
}

#[derive(Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = groups, treat_none_as_null = true)]
struct GroupRow {
    id: String,
    display_name: String,
    display_name_folded: String,
    external_id: Option<String>,
    created: NaiveDateTime,
    last_modified: NaiveDateTime,
    version: i64,
}

impl GroupRow {
    fn from_group(group: &Group) -> Self {
        Self {
            id: group.id.clone(),
            display_name: group.display_name.clone(),
            display_name_folded: fold(&group.display_name),
            external_id: group.external_id.clone(),
            created: group.meta.created,
            last_modified: group.meta.last_modified,
            version: group.meta.version,
        }
    }

    fn into_group(self) -> Group {
        Group {
            id: self.id,
            display_name: self.display_name,
            external_id: self.external_id,
            meta: Meta { created: self.created, last_modified: self.last_modified, version: self.version },
        }
    }
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = group_members)]
struct MemberRow {
    group_id: String,
    member_id: String,
    member_user_id: Option<String>,
    member_group_id: Option<String>,
    position: i64,
}

impl MemberRow {
    fn into_member(self) -> Member {
        match self.member_user_id {
            Some(user) => Member::User(user),
            None => Member::Group(self.member_id),
        }
    }
}

/// Stores a new group (version 1). Fails with [`StoreError::Conflict`] when
/// the display name is taken in any letter case.
pub fn insert(conn: &mut AnyConnection, mut group: Group, now: NaiveDateTime) -> Result<Group, StoreError> {
    check_name("displayName", &group.display_name).map_err(StoreError::Invalid)?;
    group.meta = Meta { created: now, last_modified: now, version: 1 };
    diesel::insert_into(groups::table).values(GroupRow::from_group(&group)).execute(conn)?;
    Ok(group)
}

/// Takes the group's row lock until the end of the transaction and returns
/// the group as it is once the lock is held: every write of a group (its
/// name, its members, its version) begins here, so concurrent writers of
/// one group queue on PostgreSQL's READ COMMITTED as they do under
/// SQLite's `BEGIN IMMEDIATE`, and what is read after it stays true until
/// commit. Fails with [`StoreError::NotFound`] when there is no such group.
pub fn lock(conn: &mut AnyConnection, id: &str) -> Result<Group, StoreError> {
    // A no-op UPDATE: the one row lock both backends accept through one query.
    let locked =
        diesel::update(groups::table.find(id)).set(groups::version.eq(groups::version)).execute(conn)?;
    if locked == 0 {
        return Err(StoreError::NotFound);
    }
    get(conn, id)
}

/// Renames a group or changes its `externalId`, bumping its version; with
/// `expected_version`, only if the stored version is still that one.
/// Members are changed with [`add_member`], [`remove_member`],
/// [`set_members`] and [`change_members`], or together with the name by
/// [`replace`].
pub fn update(
    conn: &mut AnyConnection,
    group: &Group,
    expected_version: Option<i64>,
    now: NaiveDateTime,
) -> Result<Group, StoreError> {
    write(conn, &group.id, Some(group), None, expected_version, now)
}

/// Makes `members` the group's direct members, in that order: those not
/// listed are removed, new ones added (with the same cycle check as
/// [`add_member`]). Bumps the version once if anything changed; with
/// `expected_version`, only if the stored version is still that one.
pub fn set_members(
    conn: &mut AnyConnection,
    group_id: &str,
    members: &[Member],
    expected_version: Option<i64>,
    now: NaiveDateTime,
) -> Result<Group, StoreError> {
    write(conn, group_id, None, Some(members), expected_version, now)
}

/// One write of a group's name and `externalId` (when `fields` is given)
/// and its whole member list: one version, however much changed, and
/// nothing written (nor bumped) when nothing did.
pub fn replace(
    conn: &mut AnyConnection,
    group_id: &str,
    fields: Option<&Group>,
    members: &[Member],
    expected_version: Option<i64>,
    now: NaiveDateTime,
) -> Result<Group, StoreError> {
    write(conn, group_id, fields, Some(members), expected_version, now)
}

/// The one path of every change to an existing group: lock, compare the
/// version, change, then move the version on with a conditional UPDATE
/// (`WHERE version = read`) whose row count is checked.
fn write(
    conn: &mut AnyConnection,
    group_id: &str,
    fields: Option<&Group>,
    members: Option<&[Member]>,
    expected_version: Option<i64>,
    now: NaiveDateTime,
) -> Result<Group, StoreError> {
    if let Some(group) = fields {
        check_name("displayName", &group.display_name).map_err(StoreError::Invalid)?;
    }
    let stored = lock(conn, group_id)?;
    let version = stored.meta.version;
    if expected_version.is_some_and(|expected| expected != version) {
        return Err(StoreError::VersionMismatch);
    }
    let mut changed = false;
    if let Some(members) = members {
        changed |= replace_members(conn, group_id, members)?;
    }
    let target = groups::table.find(group_id).filter(groups::version.eq(version));
    let written = match fields {
        Some(group) => diesel::update(target)
            .set((
                groups::display_name.eq(&group.display_name),
                groups::display_name_folded.eq(fold(&group.display_name)),
                groups::external_id.eq(&group.external_id),
                groups::last_modified.eq(now),
                groups::version.eq(version + 1),
            ))
            .execute(conn)?,
        None if changed => diesel::update(target)
            .set((groups::last_modified.eq(now), groups::version.eq(version + 1)))
            .execute(conn)?,
        None => return Ok(stored),
    };
    if written == 0 {
        return Err(StoreError::VersionMismatch);
    }
    get(conn, group_id)
}

/// Stores a new group with its first members; a new group is version 1
/// whatever it starts with. Cycle and reference checks as [`add_member`].
pub fn insert_with_members(
    conn: &mut AnyConnection,
    group: Group,
    members: &[Member],
    now: NaiveDateTime,
) -> Result<Group, StoreError> {
    let group = insert(conn, group, now)?;
    let mut present = HashSet::new();
    let first: Vec<&Member> = members.iter().filter(|m| present.insert(m.id())).collect();
    insert_members(conn, &group.id, &first)?;
    Ok(group)
}

/// The group with this id.
pub fn get(conn: &mut AnyConnection, id: &str) -> Result<Group, StoreError> {
    Ok(groups::table.find(id).select(GroupRow::as_select()).first(conn)?.into_group())
}

/// The group named `display_name` in any letter case.
pub fn find_by_display_name(
    conn: &mut AnyConnection,
    display_name: &str,
) -> Result<Option<Group>, StoreError> {
    Ok(groups::table
        .filter(groups::display_name_folded.eq(fold(display_name)))
        .select(GroupRow::as_select())
        .first(conn)
        .optional()?
        .map(GroupRow::into_group))
}

/// The group named `display_name`, created if there is none.
pub fn find_or_create(
    conn: &mut AnyConnection,
    display_name: &str,
    now: NaiveDateTime,
) -> Result<Group, StoreError> {
    match find_by_display_name(conn, display_name)? {
        Some(group) => Ok(group),
        None => insert(conn, Group::new(display_name), now),
    }
}

/// One page of groups in creation order.
pub fn list(conn: &mut AnyConnection, offset: i64, limit: i64) -> Result<Vec<Group>, StoreError> {
    Ok(groups::table
        .order((groups::created.asc(), groups::id.asc()))
        .offset(offset)
        .limit(limit)
        .select(GroupRow::as_select())
        .load(conn)?
        .into_iter()
        .map(GroupRow::into_group)
        .collect())
}

/// Deletes a group and its memberships (as container and as member);
/// reports whether it existed. The groups it was a member of lose a member,
/// so their versions move on.
pub fn delete(conn: &mut AnyConnection, id: &str, now: NaiveDateTime) -> Result<bool, StoreError> {
    touch_containers(conn, &Member::Group(id.to_owned()), now)?;
    Ok(diesel::delete(groups::table.find(id)).execute(conn)? > 0)
}

/// Moves on the version of every group `member` is a direct member of,
/// before the member goes (its rows go with it by `ON DELETE CASCADE`,
/// which no version would record). Locks them in id order, so two such
/// deletes never wait on each other crosswise.
pub(crate) fn touch_containers(
    conn: &mut AnyConnection,
    member: &Member,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    let query = group_members::table.select(group_members::group_id).order(group_members::group_id.asc());
    let containers: Vec<String> = match member {
        Member::User(id) => query.filter(group_members::member_user_id.eq(id)).load(conn)?,
        Member::Group(id) => query.filter(group_members::member_group_id.eq(id)).load(conn)?,
    };
    for group_id in containers {
        match lock(conn, &group_id) {
            Ok(group) => bump(conn, &group_id, group.meta.version, now)?,
            // Deleted meanwhile, and the membership with it.
            Err(StoreError::NotFound) => {}
            Err(other) => return Err(other),
        }
    }
    Ok(())
}

/// Adds `member` to the group, bumping the group's version. Adding a member
/// already there changes nothing and returns `false`.
///
/// Refuses ([`StoreError::Invalid`]) a nested group that contains, directly
/// or through other groups, the group it is being added to.
pub fn add_member(
    conn: &mut AnyConnection,
    group_id: &str,
    member: &Member,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    // The group's lock first: a concurrent adder of the same member waits
    // here and then sees the row, instead of failing on the primary key.
    let version = lock(conn, group_id)?.meta.version;
    let already = group_members::table.find((group_id, member.id())).count().get_result::<i64>(conn)?;
    if already > 0 {
        return Ok(false);
    }
    insert_members(conn, group_id, &[member])?;
    bump(conn, group_id, version, now)?;
    Ok(true)
}

/// Removes `member_id` from the group; reports whether it was a member.
pub fn remove_member(
    conn: &mut AnyConnection,
    group_id: &str,
    member_id: &str,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let version = lock(conn, group_id)?.meta.version;
    let removed = diesel::delete(group_members::table.find((group_id, member_id))).execute(conn)?;
    if removed > 0 {
        bump(conn, group_id, version, now)?;
    }
    Ok(removed > 0)
}

/// The group's direct members, in the order they were added.
pub fn members(conn: &mut AnyConnection, group_id: &str) -> Result<Vec<Member>, StoreError> {
    let rows = group_members::table
        .filter(group_members::group_id.eq(group_id))
        .order(group_members::position.asc())
        .select(MemberRow::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(MemberRow::into_member).collect())
}

/// The groups that have this user as a direct member.
pub fn groups_of_user(conn: &mut AnyConnection, user_id: &str) -> Result<Vec<Group>, StoreError> {
    Ok(groups::table
        .inner_join(group_members::table)
        .filter(group_members::member_user_id.eq(user_id))
        .order(groups::display_name_folded.asc())
        .select(GroupRow::as_select())
        .load(conn)?
        .into_iter()
        .map(GroupRow::into_group)
        .collect())
}

/// Every group `user_id` belongs to: directly (`true`), then through
/// nested groups (`false`, RFC 7643 §4.1.2 "indirect"), each by name.
pub fn memberships_of_user(
    conn: &mut AnyConnection,
    user_id: &str,
) -> Result<Vec<(Group, bool)>, StoreError> {
    let ids = [user_id.to_owned()];
    Ok(memberships_of_users(conn, &ids)?.remove(user_id).unwrap_or_default())
}

/// [`memberships_of_user`] for each of `user_ids` at once (users in no
/// group are left out). The number of queries is bounded by the depth of
/// nesting, not by the number of users or groups: one for the direct
/// memberships, one per level of nesting, one for the indirect groups'
/// records. A page of users costs what one user costs.
pub fn memberships_of_users(
    conn: &mut AnyConnection,
    user_ids: &[String],
) -> Result<HashMap<String, Vec<(Group, bool)>>, StoreError> {
    if user_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let direct: Vec<(Option<String>, GroupRow)> = crate::db::on_backend!(conn, |c| {
        groups::table
            .inner_join(group_members::table)
            .filter(crate::db::any_of(group_members::member_user_id, user_ids))
            .order(groups::display_name_folded.asc())
            .select((group_members::member_user_id, GroupRow::as_select()))
            .load(c)
    })?;
    let mut memberships: HashMap<String, Vec<(Group, bool)>> = HashMap::new();
    for (user, row) in direct {
        if let Some(user) = user {
            memberships.entry(user).or_default().push((row.into_group(), true));
        }
    }
    let direct_ids: Vec<String> = memberships
        .values()
        .flatten()
        .map(|(g, _)| g.id.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let parents = parents_by_level(conn, &direct_ids)?;
    let indirect: Vec<(String, HashSet<String>)> = memberships
        .iter()
        .map(|(user, groups)| {
            let direct: Vec<String> = groups.iter().map(|(g, _)| g.id.clone()).collect();
            (user.clone(), ancestors_in(&parents, &direct).into_iter().collect::<HashSet<_>>())
        })
        .filter(|(_, ancestors)| !ancestors.is_empty())
        .collect();
    let wanted: HashSet<&String> = indirect.iter().flat_map(|(_, ids)| ids).collect();
    if wanted.is_empty() {
        return Ok(memberships);
    }
    // By name, like the direct ones: each user's share keeps this order.
    let rows: Vec<Group> = groups::table
        .filter(crate::db::any_of(groups::id, &wanted.into_iter().collect::<Vec<_>>()))
        .order(groups::display_name_folded.asc())
        .select(GroupRow::as_select())
        .load(conn)?
        .into_iter()
        .map(GroupRow::into_group)
        .collect();
    for (user, ids) in indirect {
        let list = memberships.entry(user).or_default();
        list.extend(rows.iter().filter(|g| ids.contains(&g.id)).map(|g| (g.clone(), false)));
    }
    Ok(memberships)
}

/// Ids of every group that contains one of `group_ids`, at any depth,
/// not counting `group_ids` themselves; nearest first.
pub fn ancestor_groups(conn: &mut AnyConnection, group_ids: &[String]) -> Result<Vec<String>, StoreError> {
    let parents = parents_by_level(conn, group_ids)?;
    Ok(ancestors_in(&parents, group_ids))
}

/// The groups containing each group reachable upwards from `group_ids`:
/// one query per level of nesting, each asking for the parents of the
/// whole level at once.
fn parents_by_level(
    conn: &mut AnyConnection,
    group_ids: &[String],
) -> Result<HashMap<String, Vec<String>>, StoreError> {
    let mut parents: HashMap<String, Vec<String>> = HashMap::new();
    let mut seen: HashSet<String> = group_ids.iter().cloned().collect();
    let mut level: Vec<String> = group_ids.to_vec();
    while !level.is_empty() {
        let edges: Vec<(Option<String>, String)> = group_members::table
            .filter(crate::db::any_of(group_members::member_group_id, &level))
            .order((group_members::member_group_id.asc(), group_members::position.asc()))
            .select((group_members::member_group_id, group_members::group_id))
            .load(conn)?;
        level = Vec::new();
        for (child, parent) in edges {
            let Some(child) = child else { continue };
            if seen.insert(parent.clone()) {
                level.push(parent.clone());
            }
            parents.entry(child).or_default().push(parent);
        }
    }
    Ok(parents)
}

/// Walks `parents` upwards from `start`, breadth first: every group above
/// `start`, nearest first, without `start` itself.
fn ancestors_in(parents: &HashMap<String, Vec<String>>, start: &[String]) -> Vec<String> {
    let mut seen: HashSet<&str> = start.iter().map(String::as_str).collect();
    let mut queue: VecDeque<&str> = start.iter().map(String::as_str).collect();
    let mut found = Vec::new();
    while let Some(current) = queue.pop_front() {
        for parent in parents.get(current).into_iter().flatten() {
            if seen.insert(parent) {
                found.push(parent.clone());
                queue.push_back(parent);
            }
        }
    }
    found
}

/// Moves a locked group's version from `read` to the next one, with a
/// conditional UPDATE whose row count is checked.
fn bump(conn: &mut AnyConnection, group_id: &str, read: i64, now: NaiveDateTime) -> Result<(), StoreError> {
    let changed = diesel::update(groups::table.find(group_id).filter(groups::version.eq(read)))
        .set((groups::last_modified.eq(now), groups::version.eq(read + 1)))
        .execute(conn)?;
    if changed == 0 {
        return Err(StoreError::VersionMismatch);
    }
    Ok(())
}
