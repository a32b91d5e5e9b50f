//! Roles that an application (an OAuth client) defines, and who holds them:
//! users directly, or groups, whose members then hold them, through nested
//! groups too. What a role means is the application's business; the store
//! keeps the names and the grants.

use std::collections::BTreeSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::AnyConnection;
use crate::error::StoreError;
use crate::groups::memberships_of_user;
use crate::new_id;
use crate::schema::{role_grants, roles};
use crate::text::check_name;

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

/// Grants `role_id` to `holder`; granting it again changes nothing.
pub fn grant(
    conn: &mut AnyConnection,
    role_id: &str,
    holder: &Holder,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    let (holder_id, user_id, group_id) = match holder {
        Holder::User(id) => (id.clone(), Some(id.clone()), None),
        Holder::Group(id) => (id.clone(), None, Some(id.clone())),
    };
    let already = role_grants::table.find((role_id, &holder_id)).count().get_result::<i64>(conn)?;
    if already > 0 {
        return Ok(());
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
    Ok(())
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
        .filter(role_grants::holder_id.eq_any(&holders))
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
