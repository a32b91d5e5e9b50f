//! Roles that an application (an OAuth client) defines, and who holds them:
//! users directly, or groups, whose members then hold them, through nested
//! groups too. What a role means is the application's business; the store
//! keeps the names and the grants.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::AnyConnection;
use crate::error::StoreError;
use crate::groups::memberships_of_user;
use crate::new_id;
use crate::schema::{role_grants, roles};
use crate::text::{check_name, fold};

/// A role of an application.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = roles)]
pub struct Role {
    /// Server-assigned id.
    pub id: String,
    /// The application (client) that defines it.
    pub client_id: String,
    /// Its name, unique within the application.
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// When it was defined.
    pub created: NaiveDateTime,
}

/// Who a role is granted to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// A user, by id.
    User(String),
    /// A group, by id: its members, nested ones included, hold the role.
    Group(String),
}

/// Defines a role for the application `client_id`; [`StoreError::Conflict`]
/// when it has one by that name.
pub fn define(
    conn: &mut AnyConnection,
    client_id: &str,
    name: &str,
    description: Option<&str>,
    now: NaiveDateTime,
) -> Result<Role, StoreError> {
    check_name("role name", name).map_err(StoreError::Invalid)?;
    let role = Role {
        id: new_id(),
        client_id: client_id.to_owned(),
        name: name.to_owned(),
        description: description.map(str::to_owned),
        created: now,
    };
    diesel::insert_into(roles::table)
        .values((
            roles::id.eq(&role.id),
            roles::client_id.eq(&role.client_id),
            roles::name.eq(&role.name),
            roles::description.eq(&role.description),
            roles::created.eq(role.created),
            roles::name_folded.eq(fold(&role.name)),
            roles::client_id_folded.eq(fold(&role.client_id)),
        ))
        .execute(conn)?;
    Ok(role)
}

/// The role `name` of `client_id`.
pub fn get(conn: &mut AnyConnection, client_id: &str, name: &str) -> Result<Role, StoreError> {
    Ok(roles::table
        .filter(roles::client_id.eq(client_id))
        .filter(roles::name.eq(name))
        .select(Role::as_select())
        .first(conn)?)
}

/// Every role, by application then name; only `client_id`'s when given.
pub fn list(conn: &mut AnyConnection, client_id: Option<&str>) -> Result<Vec<Role>, StoreError> {
    let mut query = roles::table.into_boxed();
    if let Some(client_id) = client_id {
        query = query.filter(roles::client_id.eq(client_id.to_owned()));
    }
    Ok(query.order((roles::client_id.asc(), roles::name.asc())).select(Role::as_select()).load(conn)?)
}

/// Removes a role and its grants; reports whether it existed.
pub fn remove(conn: &mut AnyConnection, client_id: &str, name: &str) -> Result<bool, StoreError> {
    Ok(diesel::delete(roles::table.filter(roles::client_id.eq(client_id)).filter(roles::name.eq(name)))
        .execute(conn)?
        > 0)
}

/// Locks the role `role_id` until the transaction ends;
/// [`StoreError::NotFound`] when there is no such role (or no longer).
fn lock(conn: &mut AnyConnection, role_id: &str) -> Result<(), StoreError> {
    // A no-op UPDATE: the one row lock both backends accept through one query.
    let locked = diesel::update(roles::table.find(role_id)).set(roles::name.eq(roles::name)).execute(conn)?;
    if locked == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Grants `role_id` to `holder`; reports whether it is new (granting it
/// again changes nothing). [`StoreError::NotFound`] when the role does not
/// exist, or was removed while this grant waited for it;
/// [`StoreError::MissingReference`] when the holder does not exist (a
/// holder deleted after the caller found it: the grant's foreign key).
pub fn grant(
    conn: &mut AnyConnection,
    role_id: &str,
    holder: &Holder,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let (holder_id, user_id, group_id) = match holder {
        Holder::User(id) => (id.clone(), Some(id.clone()), None),
        Holder::Group(id) => (id.clone(), None, Some(id.clone())),
    };
    // The role's lock first: a concurrent grant of the same role waits here
    // and then sees this one's row instead of failing on the primary key,
    // and a concurrent removal either waits for this grant (and takes it
    // along) or has removed the role, which is then not found.
    lock(conn, role_id)?;
    let already = role_grants::table.find((role_id, &holder_id)).count().get_result::<i64>(conn)?;
    if already > 0 {
        return Ok(false);
    }
    diesel::insert_into(role_grants::table)
        .values((
            role_grants::role_id.eq(role_id),
            role_grants::holder_id.eq(&holder_id),
            role_grants::user_id.eq(user_id),
            role_grants::group_id.eq(group_id),
            role_grants::created.eq(now),
        ))
        .execute(conn)?;
    Ok(true)
}

/// Takes `role_id` away from `holder_id`; reports whether it was held.
pub fn revoke(conn: &mut AnyConnection, role_id: &str, holder_id: &str) -> Result<bool, StoreError> {
    Ok(diesel::delete(role_grants::table.find((role_id, holder_id))).execute(conn)? > 0)
}

/// The names of the roles of `client_id` that `user_id` holds, directly or
/// through any group it belongs to (nested groups included), sorted.
pub fn effective(
    conn: &mut AnyConnection,
    user_id: &str,
    client_id: &str,
) -> Result<Vec<String>, StoreError> {
    let mut holders: Vec<String> = vec![user_id.to_owned()];
    holders.extend(memberships_of_user(conn, user_id)?.into_iter().map(|(group, _)| group.id));
    let names: Vec<String> = roles::table
        .inner_join(role_grants::table)
        .filter(roles::client_id.eq(client_id))
        .filter(crate::db::any_of(role_grants::holder_id, &holders))
        .select(roles::name)
        .load(conn)?;
    Ok(names.into_iter().collect::<BTreeSet<_>>().into_iter().collect())
}

/// Who `role_id` is granted to, users first, each by id.
pub fn holders(conn: &mut AnyConnection, role_id: &str) -> Result<Vec<Holder>, StoreError> {
    let rows: Vec<(Option<String>, Option<String>)> = role_grants::table
        .filter(role_grants::role_id.eq(role_id))
        .order(role_grants::holder_id.asc())
        .select((role_grants::user_id, role_grants::group_id))
        .load(conn)?;
    let mut holders: Vec<Holder> = rows
        .into_iter()
        .filter_map(|row| match row {
            (Some(user), _) => Some(Holder::User(user)),
            (None, Some(group)) => Some(Holder::Group(group)),
            (None, None) => None,
        })
        .collect();
    holders.sort_by_key(|h| matches!(h, Holder::Group(_)));
    Ok(holders)
}

/// The application roles a user holds: granted to `user_id` or to any of
/// `group_ids` (the groups it belongs to, nested ones included, as
/// `groups::memberships_of_user` lists them); by application, then name.
pub fn held(conn: &mut AnyConnection, user_id: &str, group_ids: &[String]) -> Result<Vec<Role>, StoreError> {
    let mut holders: Vec<&str> = vec![user_id];
    holders.extend(group_ids.iter().map(String::as_str));
    let mut found: Vec<Role> = roles::table
        .inner_join(role_grants::table)
        .filter(crate::db::any_of(role_grants::holder_id, &holders))
        .order((roles::client_id.asc(), roles::name.asc()))
        .select(Role::as_select())
        .load(conn)?;
    found.dedup_by(|a, b| a.id == b.id);
    Ok(found)
}

/// [`held`] for several users at once, in one query: `groups_of` gives each
/// user's groups (nested ones included). Users holding nothing are left out.
pub fn held_by_users(
    conn: &mut AnyConnection,
    groups_of: &HashMap<String, Vec<String>>,
) -> Result<HashMap<String, Vec<Role>>, StoreError> {
    let holders: Vec<&String> = groups_of
        .iter()
        .flat_map(|(user, groups)| std::iter::once(user).chain(groups))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if holders.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, Role)> = crate::db::on_backend!(conn, |c| {
        roles::table
            .inner_join(role_grants::table)
            .filter(crate::db::any_of(role_grants::holder_id, &holders))
            .order((roles::client_id.asc(), roles::name.asc()))
            .select((role_grants::holder_id, Role::as_select()))
            .load(c)
    })?;
    let mut held: HashMap<String, Vec<Role>> = HashMap::new();
    for (user, groups) in groups_of {
        let mut roles: Vec<Role> = rows
            .iter()
            .filter(|(holder, _)| holder == user || groups.contains(holder))
            .map(|(_, role)| role.clone())
            .collect();
        roles.dedup_by(|a, b| a.id == b.id);
        if !roles.is_empty() {
            held.insert(user.clone(), roles);
        }
    }
    Ok(held)
}

/// The roles granted to each of `group_ids` itself, by application then
/// name; groups holding none are left out.
pub fn granted_to_groups(
    conn: &mut AnyConnection,
    group_ids: &[&str],
) -> Result<HashMap<String, Vec<Role>>, StoreError> {
    let rows: Vec<(Option<String>, Role)> = roles::table
        .inner_join(role_grants::table)
        .filter(crate::db::any_of(role_grants::group_id, group_ids))
        .order((roles::client_id.asc(), roles::name.asc()))
        .select((role_grants::group_id, Role::as_select()))
        .load(conn)?;
    let mut by_group: HashMap<String, Vec<Role>> = HashMap::new();
    for (group_id, role) in rows {
        if let Some(group_id) = group_id {
            by_group.entry(group_id).or_default().push(role);
        }
    }
    Ok(by_group)
}

/// Which of `(client_id, name)` pairs name a defined role, compared
/// regardless of letter case; returned folded.
pub fn defined_among(
    conn: &mut AnyConnection,
    pairs: &[(String, String)],
) -> Result<HashSet<(String, String)>, StoreError> {
    if pairs.is_empty() {
        return Ok(HashSet::new());
    }
    let names: Vec<String> = pairs.iter().map(|(_, name)| fold(name)).collect();
    let candidates: Vec<(String, String)> = roles::table
        .filter(crate::db::any_of(roles::name_folded, &names))
        .select((roles::client_id_folded, roles::name_folded))
        .load(conn)?;
    let wanted: HashSet<(String, String)> = pairs.iter().map(|(c, n)| (fold(c), fold(n))).collect();
    Ok(candidates.into_iter().filter(|pair| wanted.contains(pair)).collect())
}
