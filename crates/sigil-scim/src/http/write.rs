//! The writes on users and groups, shared by their endpoints and `/Bulk`:
//! each takes a checked body and an optional `If-Match`, runs in one
//! transaction, and returns the resource as JSON with its version.

use serde_json::Value;
use sigil_access::Role;
use sigil_store::groups::{self, Group, Member, named_members};
use sigil_store::password::hash_password;
use sigil_store::text::fold;
use sigil_store::users::{self, User};
use sigil_store::{AnyConnection, StoreError};

use super::ScimContext;
use super::request::tags_match;
use crate::ScimError;
use crate::group::{GroupInput, resolve_member};
use crate::user::{Related, render};
use crate::user_input::UserInput;

/// A resource as JSON, with its version.
pub(crate) type Written = (Value, i64);

/// How often a PATCH is tried again when another write got in between its
/// read and its write (without `If-Match`, the client did not ask to fail).
const PATCH_ATTEMPTS: usize = 3;

/// The user with its groups and roles, as JSON.
pub(crate) fn load_user(conn: &mut AnyConnection, id: &str, base: &str) -> Result<Written, StoreError> {
    let user = users::get(conn, id)?;
    let related = Related::load(conn, &user.id)?;
    Ok((render(&user, &related, base), user.meta.version))
}

/// Drops the entries of `roles` that name an application role (`type` its
/// client_id, `value` its name): they are computed from grants, read-only,
/// and ignored on input (RFC 7643 §2.2), never stored as plain values.
fn without_application_roles(conn: &mut AnyConnection, user: &mut User) -> Result<(), StoreError> {
    let pairs: Vec<(String, String)> =
        user.roles.iter().filter_map(|r| r.kind.clone().map(|kind| (kind, r.value.clone()))).collect();
    let defined = sigil_store::roles::defined_among(conn, &pairs)?;
    if !defined.is_empty() {
        user.roles
            .retain(|r| r.kind.as_ref().is_none_or(|kind| !defined.contains(&(fold(kind), fold(&r.value)))));
    }
    Ok(())
}

/// The group with its members, as JSON.
pub(crate) fn load_group(conn: &mut AnyConnection, id: &str, base: &str) -> Result<Written, StoreError> {
    let group = groups::get(conn, id)?;
    let mut members = named_members(conn, &[group.id.as_str()])?;
    let members = members.remove(&group.id).unwrap_or_default();
    let roles = sigil_store::roles::granted_to_groups(conn, &[group.id.as_str()])?.remove(&group.id);
    Ok((crate::group::render(&group, &members, &roles.unwrap_or_default(), base), group.meta.version))
}

fn check_version(if_match: Option<&str>, version: i64) -> Result<(), StoreError> {
    match if_match {
        Some(tags) if !tags_match(tags, version) => Err(StoreError::VersionMismatch),
        _ => Ok(()),
    }
}

/// Checks the password of `input`, if any, against the server's policy
/// (NIST SP 800-63B §5.1.1.2, in `sigil_store::password`), then hashes it
/// on the blocking pool: argon2id takes tens of milliseconds, and is not
/// spent inside a transaction. A refused password is RFC 7644 §3.12's
/// 400 `invalidValue`.
async fn with_password(ctx: &ScimContext, input: UserInput) -> Result<User, ScimError> {
    let UserInput { mut user, password } = input;
    if let Some(password) = password {
        ctx.passwords.check(&password, &user.user_name).map_err(ScimError::InvalidValue)?;
        let hash = actix_web::web::block(move || hash_password(&password))
            .await
            .map_err(|e| ScimError::Store(StoreError::Other(e.to_string())))??;
        user.password_hash = Some(hash);
    }
    Ok(user)
}

/// POST /Users (RFC 7644 §3.3).
pub(crate) async fn create_user(ctx: &ScimContext, body: &Value) -> Result<Written, ScimError> {
    let mut user = with_password(ctx, crate::user_input::parse(body)?).await?;
    let (now, base) = (ctx.store.now(), ctx.base.clone());
    Ok(ctx
        .store
        .write(move |c| {
            without_application_roles(c, &mut user)?;
            let user = users::insert(c, user, now)?;
            load_user(c, &user.id, &base)
        })
        .await?)
}

/// PUT /Users/{id} (RFC 7644 §3.5.1): every writable attribute replaced;
/// the password kept unless the body sets one.
pub(crate) async fn replace_user(
    ctx: &ScimContext,
    actor: &[Role],
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> Result<Written, ScimError> {
    let mut user = with_password(ctx, crate::user_input::parse(body)?).await?;
    user.id = id.to_owned();
    let (now, base, if_match) = (ctx.store.now(), ctx.base.clone(), if_match.map(str::to_owned));
    let actor = actor.to_vec();
    ctx.store
        .write(move |c| {
            let stored = users::get(c, &user.id)?;
            check_version(if_match.as_deref(), stored.meta.version)?;
            if let Err(e) = may_manage(c, &user.id, &actor)? {
                return Ok(Err(e));
            }
            without_application_roles(c, &mut user)?;
            if user.password_hash.is_none() {
                user.password_hash = stored.password_hash;
            }
            let user = users::update(c, user, Some(stored.meta.version), now)?;
            Ok(Ok(load_user(c, &user.id, &base)?))
        })
        .await?
}

/// PATCH /Users/{id} (RFC 7644 §3.5.2): all operations or none.
pub(crate) async fn patch_user(
    ctx: &ScimContext,
    actor: &[Role],
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> Result<Written, ScimError> {
    for attempt in 1..=PATCH_ATTEMPTS {
        let (base, read_id) = (ctx.base.clone(), id.to_owned());
        let (mut resource, version) = ctx.store.read(move |c| load_user(c, &read_id, &base)).await?;
        check_version(if_match, version)?;
        crate::patch::apply(&mut resource, crate::user::patch_layout(), body)?;
        // RFC 7644 §3.5.2.2: a removed `active` is unassigned, which never
        // means enabled (the PUT default of true does not apply).
        let unassigned =
            resource.as_object().is_some_and(|o| !o.keys().any(|k| k.eq_ignore_ascii_case("active")));
        let mut user = with_password(ctx, crate::user_input::parse(&resource)?).await?;
        if unassigned {
            user.active = false;
            user.active_assigned = false;
        }
        user.id = id.to_owned();
        let (base, now, actor) = (ctx.base.clone(), ctx.store.now(), actor.to_vec());
        let written = ctx
            .store
            .write(move |c| {
                let stored = users::get(c, &user.id)?;
                if let Err(e) = may_manage(c, &user.id, &actor)? {
                    return Ok(Err(e));
                }
                without_application_roles(c, &mut user)?;
                if user.password_hash.is_none() {
                    user.password_hash = stored.password_hash;
                }
                let user = users::update(c, user, Some(version), now)?;
                Ok(Ok(load_user(c, &user.id, &base)?))
            })
            .await;
        match written {
            Ok(written) => return written,
            Err(StoreError::VersionMismatch) if if_match.is_none() && attempt < PATCH_ATTEMPTS => {}
            Err(other) => return Err(other.into()),
        }
    }
    Err(ScimError::PreconditionFailed)
}

/// DELETE /Users/{id} (RFC 7644 §3.6): memberships go with the user.
pub(crate) async fn delete_user(
    ctx: &ScimContext,
    actor: &[Role],
    id: &str,
    if_match: Option<&str>,
) -> Result<(), ScimError> {
    let (id, if_match, actor) = (id.to_owned(), if_match.map(str::to_owned), actor.to_vec());
    ctx.store
        .write(move |c| {
            let stored = users::get(c, &id)?;
            check_version(if_match.as_deref(), stored.meta.version)?;
            if let Err(e) = may_manage(c, &id, &actor)? {
                return Ok(Err(e));
            }
            users::delete(c, &id)?;
            Ok(Ok(()))
        })
        .await?
}

/// The members a body names, resolved to users and groups. Ids among
/// `known` (the group's current members) need no lookup.
fn resolve_all(
    conn: &mut AnyConnection,
    input: &GroupInput,
    known: &[Member],
) -> Result<Result<Vec<Member>, ScimError>, StoreError> {
    let known: std::collections::HashMap<&str, &Member> = known.iter().map(|m| (m.id(), m)).collect();
    let mut members = Vec::with_capacity(input.members.len());
    for reference in &input.members {
        if let Some(member) = known.get(reference.id.as_str()) {
            members.push((*member).clone());
            continue;
        }
        match resolve_member(conn, reference) {
            Ok(member) => members.push(member),
            Err(ScimError::Store(e)) => return Err(e),
            Err(other) => return Ok(Err(other)),
        }
    }
    Ok(Ok(members))
}

/// Refuses a write when the target holds built-in roles the `actor` does
/// not: only a platform operator, or who holds every one of those roles,
/// may act on it. No one hands out, or takes away, a role they do not hold.
fn at_most_actor(held: Vec<String>, actor: &[Role], what: &str) -> Result<(), ScimError> {
    if actor.contains(&Role::PlatformOperator) {
        return Ok(());
    }
    let missing: Vec<String> =
        held.into_iter().filter(|name| !actor.iter().any(|r| r.as_str() == name)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(ScimError::Forbidden {
        scope: None,
        description: format!(
            "{what} {}, which you do not: only a platform operator or a holder may change it",
            missing.join(", ")
        ),
    })
}

/// Whether `actor` may change or delete the user `user_id` (a user-admin
/// cannot reset a platform operator's password and sign in as them, nor
/// lock them out).
fn may_manage(
    conn: &mut AnyConnection,
    user_id: &str,
    actor: &[Role],
) -> Result<Result<(), ScimError>, StoreError> {
    let held = sigil_store::admin_grants::held_by_user(conn, user_id)?;
    Ok(at_most_actor(held, actor, "this user holds"))
}

/// Whether `actor` may change or delete `group_id`. Its members hold every
/// built-in role the group confers (granted to it or to a group containing
/// it), so changing its members, its name or deleting it gives or takes
/// those roles (a user-admin cannot make anyone a platform operator
/// through SCIM, nor demote one).
fn may_change_group(
    conn: &mut AnyConnection,
    group_id: &str,
    actor: &[Role],
) -> Result<Result<(), ScimError>, StoreError> {
    let conferred = sigil_store::admin_grants::conferred_by_group(conn, group_id)?;
    Ok(at_most_actor(conferred, actor, "members of this group hold"))
}

/// Writes name, externalId and members of the group `id` as `input` has
/// them, if its version is still `version` and `actor` may change it.
fn write_group(
    conn: &mut AnyConnection,
    id: &str,
    input: &GroupInput,
    version: i64,
    now: chrono::NaiveDateTime,
    actor: &[Role],
) -> Result<Result<(), ScimError>, StoreError> {
    let stored = groups::get(conn, id)?;
    if stored.meta.version != version {
        return Err(StoreError::VersionMismatch);
    }
    if let Err(e) = may_change_group(conn, id, actor)? {
        return Ok(Err(e));
    }
    let current = groups::members(conn, id)?;
    let members = match resolve_all(conn, input, &current)? {
        Ok(members) => members,
        Err(e) => return Ok(Err(e)),
    };
    if stored.display_name != input.display_name || stored.external_id != input.external_id {
        let group = Group {
            display_name: input.display_name.clone(),
            external_id: input.external_id.clone(),
            ..stored
        };
        groups::update(conn, &group, Some(version), now)?;
    }
    groups::set_members(conn, id, &members, now)?;
    Ok(Ok(()))
}

/// POST /Groups: a group and its members in one transaction.
pub(crate) async fn create_group(ctx: &ScimContext, body: &Value) -> Result<Written, ScimError> {
    let input = crate::group::parse(body)?;
    let (now, base) = (ctx.store.now(), ctx.base.clone());
    ctx.store
        .write(move |c| {
            let members = match resolve_all(c, &input, &[])? {
                Ok(members) => members,
                Err(e) => return Ok(Err(e)),
            };
            let mut group = Group::new(input.display_name.clone());
            group.external_id.clone_from(&input.external_id);
            let group = groups::insert_with_members(c, group, &members, now)?;
            Ok(Ok(load_group(c, &group.id, &base)?))
        })
        .await?
}

/// PUT /Groups/{id}: name, externalId and the whole member list.
pub(crate) async fn replace_group(
    ctx: &ScimContext,
    actor: &[Role],
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> Result<Written, ScimError> {
    let input = crate::group::parse(body)?;
    let (id, now, base, if_match) =
        (id.to_owned(), ctx.store.now(), ctx.base.clone(), if_match.map(str::to_owned));
    let actor = actor.to_vec();
    ctx.store
        .write(move |c| {
            let version = groups::get(c, &id)?.meta.version;
            check_version(if_match.as_deref(), version)?;
            if let Err(e) = write_group(c, &id, &input, version, now, &actor)? {
                return Ok(Err(e));
            }
            Ok(Ok(load_group(c, &id, &base)?))
        })
        .await?
}

/// PATCH /Groups/{id}: all operations or none; members added or removed
/// one at a time cost a query per change, not per member.
pub(crate) async fn patch_group(
    ctx: &ScimContext,
    actor: &[Role],
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> Result<Written, ScimError> {
    for attempt in 1..=PATCH_ATTEMPTS {
        let (base, read_id) = (ctx.base.clone(), id.to_owned());
        let (mut resource, version) = ctx.store.read(move |c| load_group(c, &read_id, &base)).await?;
        check_version(if_match, version)?;
        crate::patch::apply(&mut resource, crate::group::patch_layout(), body)?;
        let input = crate::group::parse(&resource)?;
        let (base, now, write_id, actor) = (ctx.base.clone(), ctx.store.now(), id.to_owned(), actor.to_vec());
        let written = ctx
            .store
            .write(move |c| {
                if let Err(e) = write_group(c, &write_id, &input, version, now, &actor)? {
                    return Ok(Err(e));
                }
                Ok(Ok(load_group(c, &write_id, &base)?))
            })
            .await;
        match written {
            Ok(result) => return result,
            Err(StoreError::VersionMismatch) if if_match.is_none() && attempt < PATCH_ATTEMPTS => {}
            Err(other) => return Err(other.into()),
        }
    }
    Err(ScimError::PreconditionFailed)
}

/// DELETE /Groups/{id}: the group and its memberships, both ways.
pub(crate) async fn delete_group(
    ctx: &ScimContext,
    actor: &[Role],
    id: &str,
    if_match: Option<&str>,
) -> Result<(), ScimError> {
    let (id, if_match, actor) = (id.to_owned(), if_match.map(str::to_owned), actor.to_vec());
    ctx.store
        .write(move |c| {
            let stored = groups::get(c, &id)?;
            check_version(if_match.as_deref(), stored.meta.version)?;
            if let Err(e) = may_change_group(c, &id, &actor)? {
                return Ok(Err(e));
            }
            groups::delete(c, &id)?;
            Ok(Ok(()))
        })
        .await?
}
