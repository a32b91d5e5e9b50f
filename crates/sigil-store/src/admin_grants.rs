//! Who holds Sigil's built-in roles: users, groups (whose members, through
//! nested groups too, then hold the role) and clients (for the tokens they
//! get for themselves). The store keeps the grants; what each role may do
//! is decided elsewhere, and the role names are checked by the schema.

use std::collections::BTreeSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::AnyConnection;
use crate::error::StoreError;
use crate::groups::memberships_of_user;
use crate::schema::{admin_grants, groups, users};

/// Who a built-in role is granted to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Grantee {
    /// A user, by id.
    User(String),
    /// A group, by id: its members, nested ones included, hold the role.
    Group(String),
    /// A client, by client_id: its client credentials tokens hold the role.
    Client(String),
}

impl Grantee {
    /// The grant's key column: one namespace per kind.
    fn key(&self) -> String {
        match self {
            Grantee::User(id) => format!("user:{id}"),
            Grantee::Group(id) => format!("group:{id}"),
            Grantee::Client(id) => format!("client:{id}"),
        }
    }
}

/// One grant of a built-in role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminGrant {
    /// The role's name.
    pub role: String,
    /// Who holds it.
    pub grantee: Grantee,
    /// The user's name, the group's display name or the client's id.
    pub grantee_name: String,
    /// When it was granted.
    pub created: NaiveDateTime,
}

/// Grants `role` to `grantee`; reports whether it is new (granting twice
/// changes nothing). [`StoreError::NotFound`] when the grantee does not
/// exist.
pub fn grant(
    conn: &mut AnyConnection,
    role: &str,
    grantee: &Grantee,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    // The grantee's lock first (NotFound when it does not exist): a
    // concurrent grant to the same grantee waits here and then sees this
    // one's row instead of failing on the primary key, and a concurrent
    // deletion of the grantee either waits and takes this grant along, or
    // came first, and the grantee is not found.
    match grantee {
        Grantee::User(id) => crate::users::lock(conn, id)?,
        Grantee::Group(id) => {
            crate::groups::lock(conn, id)?;
        }
        Grantee::Client(id) => crate::clients::lock(conn, id)?,
    }
    let key = grantee.key();
    if admin_grants::table.find((role, &key)).count().get_result::<i64>(conn)? > 0 {
        return Ok(false);
    }
    let (user_id, group_id, client_id) = match grantee {
        Grantee::User(id) => (Some(id), None, None),
        Grantee::Group(id) => (None, Some(id), None),
        Grantee::Client(id) => (None, None, Some(id)),
    };
    diesel::insert_into(admin_grants::table)
        .values((
            admin_grants::role.eq(role),
            admin_grants::holder.eq(&key),
            admin_grants::user_id.eq(user_id),
            admin_grants::group_id.eq(group_id),
            admin_grants::client_id.eq(client_id),
            admin_grants::created.eq(now),
        ))
        .execute(conn)?;
    Ok(true)
}

/// Takes `role` away from `grantee`; reports whether it was held.
pub fn revoke(conn: &mut AnyConnection, role: &str, grantee: &Grantee) -> Result<bool, StoreError> {
    Ok(diesel::delete(admin_grants::table.find((role, grantee.key()))).execute(conn)? > 0)
}

type GrantRow = (String, Option<String>, Option<String>, Option<String>, NaiveDateTime);

/// Every grant, by role then grantee, with the grantee's name.
pub fn list(conn: &mut AnyConnection) -> Result<Vec<AdminGrant>, StoreError> {
    let rows: Vec<GrantRow> = admin_grants::table
        .order((admin_grants::role.asc(), admin_grants::holder.asc()))
        .select((
            admin_grants::role,
            admin_grants::user_id,
            admin_grants::group_id,
            admin_grants::client_id,
            admin_grants::created,
        ))
        .load(conn)?;
    let mut grants = Vec::with_capacity(rows.len());
    for (role, user_id, group_id, client_id, created) in rows {
        let (grantee, grantee_name) = match (user_id, group_id, client_id) {
            (Some(id), _, _) => {
                let name = users::table.find(&id).select(users::user_name).first(conn)?;
                (Grantee::User(id), name)
            }
            (None, Some(id), _) => {
                let name = groups::table.find(&id).select(groups::display_name).first(conn)?;
                (Grantee::Group(id), name)
            }
            (None, None, Some(id)) => (Grantee::Client(id.clone()), id),
            // The table's CHECK makes exactly one of the three set.
            (None, None, None) => return Err(StoreError::Other("a grant of nobody".into())),
        };
        grants.push(AdminGrant { role, grantee, grantee_name, created });
    }
    Ok(grants)
}

/// The built-in roles `user_id` holds, directly or through any group it
/// belongs to (nested groups included), sorted.
pub fn held_by_user(conn: &mut AnyConnection, user_id: &str) -> Result<Vec<String>, StoreError> {
    let groups: Vec<String> = memberships_of_user(conn, user_id)?.into_iter().map(|(g, _)| g.id).collect();
    held_through(conn, user_id, &groups)
}

/// [`held_by_user`] for a caller that has already read the user's groups
/// (`group_ids`, nested ones included), so they are not walked twice.
pub fn held_through(
    conn: &mut AnyConnection,
    user_id: &str,
    group_ids: &[String],
) -> Result<Vec<String>, StoreError> {
    let mut keys = vec![Grantee::User(user_id.to_owned()).key()];
    keys.extend(group_ids.iter().map(|id| Grantee::Group(id.clone()).key()));
    held_by_keys(conn, &keys)
}

/// The built-in roles the client `client_id` holds itself, sorted.
pub fn held_by_client(conn: &mut AnyConnection, client_id: &str) -> Result<Vec<String>, StoreError> {
    held_by_keys(conn, &[Grantee::Client(client_id.to_owned()).key()])
}

fn held_by_keys(conn: &mut AnyConnection, keys: &[String]) -> Result<Vec<String>, StoreError> {
    let roles: Vec<String> = crate::db::on_backend!(conn, |c| {
        admin_grants::table
            .filter(crate::db::any_of(admin_grants::holder, keys))
            .select(admin_grants::role)
            .load(c)
    })?;
    Ok(roles.into_iter().collect::<BTreeSet<_>>().into_iter().collect())
}

/// The built-in roles a member of `group_id` would hold through it: those
/// granted to the group or to any group that contains it, directly or
/// through nesting; sorted.
pub fn conferred_by_group(conn: &mut AnyConnection, group_id: &str) -> Result<Vec<String>, StoreError> {
    let mut groups = vec![group_id.to_owned()];
    groups.extend(crate::groups::ancestor_groups(conn, &groups)?);
    let keys: Vec<String> = groups.into_iter().map(|id| Grantee::Group(id).key()).collect();
    held_by_keys(conn, &keys)
}
