//! The writes on users and groups, shared by their endpoints and `/Bulk`:
//! each takes a checked body and an optional `If-Match`, runs in one
//! transaction, and returns the resource as JSON with its version.

use std::collections::HashMap;

use crate::rights::{Kind, Operation, Right};
use chrono::NaiveDateTime;
use serde_json::Value;
use sigil_access::Role;
use sigil_store::audit::NewEvent;
use sigil_store::groups::{self, Group, Member, named_members};
use sigil_store::password::hash_password;
use sigil_store::text::fold;
use sigil_store::users::{self, User};
use sigil_store::{AnyConnection, StoreError};

use super::ScimContext;
use super::request::tags_match;
use crate::ScimError;
use crate::group::{GroupInput, MemberRef, resolve_members};
use crate::user::{Related, render};
use crate::user_input::UserInput;

/// A resource as JSON, with its version.
pub(crate) type Written = (Value, i64);

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
    load_group_with(conn, id, base, true)
}

/// The group as JSON, with its members only when `members` is set: a
/// response whose client excluded them (`excludedAttributes=members`, RFC
/// 7644 §3.9) does not read the members of a large group.
pub(crate) fn load_group_with(
    conn: &mut AnyConnection,
    id: &str,
    base: &str,
    members: bool,
) -> Result<Written, StoreError> {
    let group = groups::get(conn, id)?;
    let members = match members {
        true => named_members(conn, &[group.id.as_str()])?.remove(&group.id).unwrap_or_default(),
        false => Vec::new(),
    };
    let roles = sigil_store::roles::granted_to_groups(conn, &[group.id.as_str()])?.remove(&group.id);
    Ok((crate::group::render(&group, &members, &roles.unwrap_or_default(), base), group.meta.version))
}

pub(super) fn check_version(if_match: Option<&str>, version: i64) -> Result<(), StoreError> {
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
pub(crate) async fn create_user(
    ctx: &ScimContext,
    actor: &Actor,
    body: &Value,
) -> Result<Written, ScimError> {
    let mut user = with_password(ctx, crate::user_input::parse(body)?).await?;
    let (now, base, actor) = (ctx.store.now(), ctx.base.clone(), actor.clone());
    Ok(ctx
        .store
        .write(move |c| {
            without_application_roles(c, &mut user)?;
            let user = users::insert(c, user, now)?;
            actor.record(c, &user.id, now)?;
            // A user created this instant belongs to no group and holds no
            // role (neither can name an id that did not exist), so what was
            // inserted is the whole resource: no read back.
            Ok::<_, StoreError>((render(&user, &Related::default(), &base), user.meta.version))
        })
        .await?)
}

/// PUT /Users/{id} (RFC 7644 §3.5.1): every writable attribute replaced;
/// the password kept unless the body sets one.
pub(crate) async fn replace_user(
    ctx: &ScimContext,
    actor: &Actor,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> Result<Written, ScimError> {
    let mut user = with_password(ctx, crate::user_input::parse(body)?).await?;
    user.id = id.to_owned();
    let (now, base, if_match) = (ctx.store.now(), ctx.base.clone(), if_match.map(str::to_owned));
    let actor = actor.clone();
    ctx.store
        .write(move |c| {
            // Locked first: the version compared is the one replaced, and a
            // PUT without If-Match waits for a concurrent writer, never fails.
            users::lock(c, &user.id)?;
            let stored = users::get(c, &user.id)?;
            check_version(if_match.as_deref(), stored.meta.version)?;
            may_manage(c, &user.id, &actor)?;
            without_application_roles(c, &mut user)?;
            if user.password_hash.is_none() {
                user.password_hash = stored.password_hash;
            }
            let user = users::update(c, user, Some(stored.meta.version), now)?;
            actor.record(c, &user.id, now)?;
            Ok(load_user(c, &user.id, &base)?)
        })
        .await
}

/// PATCH /Users/{id} (RFC 7644 §3.5.2): all operations or none.
///
/// The operations are applied to the user as it is once its row is locked,
/// inside the write's transaction, so a PATCH without `If-Match` is applied
/// on top of whatever a concurrent writer stored (never 412: the client set
/// no condition), and one with `If-Match` is compared with the version it
/// replaces. A password is found by a first application outside the
/// transaction and hashed there (argon2id is not spent holding a lock); a
/// password comes from the body alone, so the second application finds the
/// same one.
pub(crate) async fn patch_user(
    ctx: &ScimContext,
    actor: &Actor,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> Result<Written, ScimError> {
    let (base, read_id) = (ctx.base.clone(), id.to_owned());
    let (mut resource, version) = ctx.store.read(move |c| load_user(c, &read_id, &base)).await?;
    check_version(if_match, version)?;
    crate::patch::apply(&mut resource, crate::user::patch_layout(), body)?;
    let input = crate::user_input::parse(&resource)?;
    let password = input.password.clone();
    let hashed = with_password(ctx, input).await?.password_hash.filter(|_| password.is_some());
    let (base, now, actor, id) = (ctx.base.clone(), ctx.store.now(), actor.clone(), id.to_owned());
    let (body, if_match) = (body.clone(), if_match.map(str::to_owned));
    ctx.store
        .write(move |c| {
            users::lock(c, &id)?;
            let (mut resource, version) = load_user(c, &id, &base)?;
            check_version(if_match.as_deref(), version)?;
            crate::patch::apply(&mut resource, crate::user::patch_layout(), &body)?;
            // RFC 7644 §3.5.2.2: a removed `active` is unassigned, which never
            // means enabled (the PUT default of true does not apply).
            let unassigned =
                resource.as_object().is_some_and(|o| !o.keys().any(|k| k.eq_ignore_ascii_case("active")));
            let UserInput { mut user, password: again } = crate::user_input::parse(&resource)?;
            if again != password {
                return Err(ScimError::Store(StoreError::Other("a PATCH changed its password".into())));
            }
            if unassigned {
                user.active = false;
                user.active_assigned = false;
            }
            user.id.clone_from(&id);
            let stored = users::get(c, &id)?;
            may_manage(c, &id, &actor)?;
            without_application_roles(c, &mut user)?;
            user.password_hash = hashed.or(stored.password_hash);
            let user = users::update(c, user, Some(version), now)?;
            actor.record(c, &user.id, now)?;
            Ok(load_user(c, &user.id, &base)?)
        })
        .await
}

/// DELETE /Users/{id} (RFC 7644 §3.6): memberships go with the user.
pub(crate) async fn delete_user(
    ctx: &ScimContext,
    actor: &Actor,
    id: &str,
    if_match: Option<&str>,
) -> Result<(), ScimError> {
    let (id, if_match, actor) = (id.to_owned(), if_match.map(str::to_owned), actor.clone());
    let now = ctx.store.now();
    ctx.store
        .write(move |c| {
            users::lock(c, &id)?;
            let stored = users::get(c, &id)?;
            check_version(if_match.as_deref(), stored.meta.version)?;
            may_manage(c, &id, &actor)?;
            users::delete(c, &id, now)?;
            actor.record(c, &id, now)?;
            Ok(())
        })
        .await
}

/// The members a body names, resolved to users and groups. Ids among
/// `known` (the group's current members) need no lookup; the others are
/// looked up together.
fn resolve_all(
    conn: &mut AnyConnection,
    input: &GroupInput,
    known: &[Member],
) -> Result<Vec<Member>, ScimError> {
    let known: HashMap<&str, &Member> = known.iter().map(|m| (m.id(), m)).collect();
    let unknown: Vec<&MemberRef> =
        input.members.iter().filter(|r| !known.contains_key(r.id.as_str())).collect();
    // One resolved member per unknown reference, in their order.
    let mut resolved = resolve_members(conn, &unknown)?.into_iter();
    Ok(input
        .members
        .iter()
        .filter_map(|reference| match known.get(reference.id.as_str()) {
            Some(member) => Some((*member).clone()),
            None => resolved.next(),
        })
        .collect())
}

/// Who writes: the built-in roles of the token's principal and the rights
/// per group it holds through its groups (as the store has them now), the
/// two things a SCIM write could hand to someone else.
#[derive(Debug, Clone, Default)]
pub(crate) struct Actor {
    roles: Vec<Role>,
    rights: Vec<(Kind, Operation)>,
    /// Rights per group as configured, to know what a group confers.
    configured: Vec<Right>,
    /// The audit record of the write, when it is audited (`audit`).
    audit: Option<NewEvent>,
}

impl Actor {
    /// The writer behind `token`.
    pub(crate) fn of(ctx: &ScimContext, token: &super::Token) -> Self {
        let mut rights = Vec::new();
        for kind in [Kind::User, Kind::Group] {
            for operation in [Operation::Create, Operation::Read, Operation::Update, Operation::Delete] {
                let by_role = super::auth::table_operation(kind, operation)
                    .right()
                    .roles
                    .iter()
                    .any(|role| token.roles.contains(role));
                let by_group = token.acts_for_a_user()
                    && crate::rights::allowed(&ctx.rights, &token.groups, kind, operation);
                if by_role || by_group {
                    rights.push((kind, operation));
                }
            }
        }
        Self { roles: token.roles.clone(), rights, configured: ctx.rights.clone(), audit: None }
    }

    /// The same writer, whose writes record `event` when they succeed.
    pub(crate) fn audited(mut self, event: NewEvent) -> Self {
        self.audit = Some(event);
        self
    }

    /// Records the write's success on `resource_id`, in the write's own
    /// transaction: one INSERT, gone with the write if it rolls back.
    pub(super) fn record(
        &self,
        conn: &mut AnyConnection,
        resource_id: &str,
        now: NaiveDateTime,
    ) -> Result<(), StoreError> {
        match &self.audit {
            Some(event) => {
                let event = NewEvent { resource_id: Some(resource_id.to_owned()), ..event.clone() };
                sigil_store::audit::record(conn, event, now)
            }
            None => Ok(()),
        }
    }

    /// A writer holding `roles` and no rights per group.
    #[cfg(test)]
    pub(crate) fn with_roles(roles: Vec<Role>) -> Self {
        Self { roles, rights: Vec::new(), configured: Vec::new(), audit: None }
    }
}

/// Refuses a write when the target holds built-in roles the `actor` does
/// not: only a platform operator, or who holds every one of those roles,
/// may act on it. No one hands out, or takes away, a role they do not hold.
fn at_most_actor(held: Vec<String>, actor: &Actor, what: &str) -> Result<(), ScimError> {
    if actor.roles.contains(&Role::PlatformOperator) {
        return Ok(());
    }
    let missing: Vec<String> =
        held.into_iter().filter(|name| !actor.roles.iter().any(|r| r.as_str() == name)).collect();
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

/// The rights per group that membership of groups named `names` confers.
fn rights_of_names(actor: &Actor, names: &[&str]) -> Vec<(Kind, Operation)> {
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let mut conferred = Vec::new();
    for kind in [Kind::User, Kind::Group] {
        for operation in [Operation::Create, Operation::Read, Operation::Update, Operation::Delete] {
            if crate::rights::allowed(&actor.configured, &names, kind, operation) {
                conferred.push((kind, operation));
            }
        }
    }
    conferred
}

/// The same rule for rights per group: a writer may change who holds a
/// right only if it holds that right itself, so an updater of Groups
/// cannot join a group that may create Users.
fn at_most_actors_rights(conferred: &[(Kind, Operation)], actor: &Actor) -> Result<(), ScimError> {
    if actor.roles.contains(&Role::PlatformOperator) {
        return Ok(());
    }
    let missing: Vec<String> = conferred
        .iter()
        .filter(|right| !actor.rights.contains(right))
        .map(|(kind, operation)| format!("{operation} {kind}"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(ScimError::Forbidden {
        scope: None,
        description: format!(
            "the members of this group or this user may {}, which you may not: only a holder may change it",
            missing.join(", ")
        ),
    })
}

/// Whether `actor` may change or delete the user `user_id` (a user-admin
/// cannot reset a platform operator's password and sign in as them, nor
/// lock them out).
///
/// Rights per group count the same way: setting the password of, disabling
/// or deleting a user who may do more through their groups than the writer
/// may would hand the writer those rights (by signing in as them) or take
/// them away.
fn may_manage(conn: &mut AnyConnection, user_id: &str, actor: &Actor) -> Result<(), ScimError> {
    let held = sigil_store::admin_grants::held_by_user(conn, user_id)?;
    at_most_actor(held, actor, "this user holds")?;
    if actor.configured.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = groups::memberships_of_user(conn, user_id)?
        .into_iter()
        .flat_map(|(group, _)| [group.display_name, group.id])
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    at_most_actors_rights(&rights_of_names(actor, &names), actor)
}

/// Whether `actor` may change or delete `group_id` (renaming it to
/// `new_name`, when given). Its members hold every built-in role the group
/// confers (granted to it or to a group containing it) and every right per
/// group of its name and its ancestors' names, so changing its members,
/// its name or deleting it gives or takes those (a user-admin cannot make
/// anyone a platform operator through SCIM, nor demote one).
pub(super) fn may_change_group(
    conn: &mut AnyConnection,
    group_id: &str,
    new_name: Option<&str>,
    actor: &Actor,
) -> Result<(), ScimError> {
    let conferred = sigil_store::admin_grants::conferred_by_group(conn, group_id)?;
    at_most_actor(conferred, actor, "members of this group hold")?;
    if actor.configured.is_empty() {
        return Ok(());
    }
    let mut ids = sigil_store::groups::ancestor_groups(conn, &[group_id.to_owned()])?;
    ids.push(group_id.to_owned());
    let mut names = Vec::with_capacity(ids.len() + 1);
    for id in &ids {
        match groups::get(conn, id) {
            // Rights name a group by display name or by id.
            Ok(group) => names.extend([group.display_name, group.id]),
            Err(StoreError::NotFound) => {}
            Err(other) => return Err(other.into()),
        }
    }
    names.extend(new_name.map(str::to_owned));
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    at_most_actors_rights(&rights_of_names(actor, &names), actor)
}

/// Writes name, externalId and members of the group `id` as `input` has
/// them, if its version is still `version` and `actor` may change it. The
/// caller holds the group's lock (`groups::lock`); the store moves the
/// version on once, conditionally.
fn write_group(
    conn: &mut AnyConnection,
    id: &str,
    input: &GroupInput,
    version: i64,
    now: chrono::NaiveDateTime,
    actor: &Actor,
) -> Result<(), ScimError> {
    let stored = groups::lock(conn, id)?;
    if stored.meta.version != version {
        return Err(StoreError::VersionMismatch.into());
    }
    may_change_group(conn, id, Some(&input.display_name), actor)?;
    let current = groups::members(conn, id)?;
    let members = resolve_all(conn, input, &current)?;
    let renamed = stored.display_name != input.display_name || stored.external_id != input.external_id;
    let group =
        Group { display_name: input.display_name.clone(), external_id: input.external_id.clone(), ..stored };
    groups::replace(conn, id, renamed.then_some(&group), &members, Some(version), now)?;
    Ok(())
}

/// POST /Groups: a group and its members in one transaction.
pub(crate) async fn create_group(
    ctx: &ScimContext,
    actor: &Actor,
    body: &Value,
) -> Result<Written, ScimError> {
    let input = crate::group::parse(body)?;
    let (now, base, actor) = (ctx.store.now(), ctx.base.clone(), actor.clone());
    ctx.store
        .write(move |c| {
            // A new group's name may carry rights (`scim.rights`).
            at_most_actors_rights(&rights_of_names(&actor, &[&input.display_name]), &actor)?;
            let members = resolve_all(c, &input, &[])?;
            let mut group = Group::new(input.display_name.clone());
            group.external_id.clone_from(&input.external_id);
            let group = groups::insert_with_members(c, group, &members, now)?;
            actor.record(c, &group.id, now)?;
            Ok(load_group(c, &group.id, &base)?)
        })
        .await
}

/// PUT /Groups/{id}: name, externalId and the whole member list.
pub(crate) async fn replace_group(
    ctx: &ScimContext,
    actor: &Actor,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> Result<Written, ScimError> {
    let input = crate::group::parse(body)?;
    let (id, now, base, if_match) =
        (id.to_owned(), ctx.store.now(), ctx.base.clone(), if_match.map(str::to_owned));
    let actor = actor.clone();
    ctx.store
        .write(move |c| {
            // Locked first: the version compared is the one replaced, and a
            // PUT without If-Match waits for a concurrent writer, never fails.
            let version = groups::lock(c, &id)?.meta.version;
            check_version(if_match.as_deref(), version)?;
            write_group(c, &id, &input, version, now, &actor)?;
            actor.record(c, &id, now)?;
            Ok(load_group(c, &id, &base)?)
        })
        .await
}

/// A PATCHed group as JSON with its version; `None` for the JSON when
/// another request deleted the group right after the PATCH committed.
pub(crate) type Patched = (Option<Value>, i64);

/// PATCH /Groups/{id} (RFC 7644 §3.5.2): all operations or none. The
/// response has the group's members only when `with_members` is set.
///
/// A PATCH that only adds or removes members by id (what provisioning
/// clients send to keep large groups in step) is applied to the store as
/// such, in `group_patch`, without reading the group's other members;
/// every other PATCH is applied to the group's JSON (`patch_group_json`).
/// Both reach the same outcome for the same request.
pub(crate) async fn patch_group(
    ctx: &ScimContext,
    actor: &Actor,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
    with_members: bool,
) -> Result<Patched, ScimError> {
    if let Some(changes) = crate::patch::member_changes(body, crate::group::patch_layout()) {
        return super::group_patch::patch_members(ctx, actor, id, changes, if_match, with_members).await;
    }
    let (base, now, id, actor) = (ctx.base.clone(), ctx.store.now(), id.to_owned(), actor.clone());
    let (body, if_match) = (body.clone(), if_match.map(str::to_owned));
    let (resource, version) = ctx
        .store
        .write(move |c| {
            patch_group_json(c, &id, &base, &body, if_match.as_deref(), &actor, now)?;
            actor.record(c, &id, now)?;
            Ok::<_, ScimError>(load_group_with(c, &id, &base, with_members)?)
        })
        .await?;
    Ok((Some(resource), version))
}

/// The general PATCH of a group: the operations are applied to the group
/// as it is once its row is locked, inside the write's transaction, then
/// read back through the PUT checks. Without `If-Match` the PATCH is
/// applied on top of whatever a concurrent writer stored (never 412, the
/// client set no condition); with it, compared with the version replaced.
pub(super) fn patch_group_json(
    c: &mut AnyConnection,
    id: &str,
    base: &str,
    body: &Value,
    if_match: Option<&str>,
    actor: &Actor,
    now: chrono::NaiveDateTime,
) -> Result<(), ScimError> {
    groups::lock(c, id)?;
    let (mut resource, version) = load_group(c, id, base)?;
    check_version(if_match, version)?;
    crate::patch::apply(&mut resource, crate::group::patch_layout(), body)?;
    let input = crate::group::parse(&resource)?;
    write_group(c, id, &input, version, now, actor)
}

/// DELETE /Groups/{id}: the group and its memberships, both ways.
pub(crate) async fn delete_group(
    ctx: &ScimContext,
    actor: &Actor,
    id: &str,
    if_match: Option<&str>,
) -> Result<(), ScimError> {
    let (id, if_match, actor) = (id.to_owned(), if_match.map(str::to_owned), actor.clone());
    let now = ctx.store.now();
    ctx.store
        .write(move |c| {
            let stored = groups::lock(c, &id)?;
            check_version(if_match.as_deref(), stored.meta.version)?;
            may_change_group(c, &id, None, &actor)?;
            groups::delete(c, &id, now)?;
            actor.record(c, &id, now)?;
            Ok(())
        })
        .await
}
