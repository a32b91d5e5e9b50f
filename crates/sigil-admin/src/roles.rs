//! `/admin/roles`: the roles applications (clients) define, and the users
//! and groups that hold them.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use sigil_access::Operation;
use sigil_store::roles::{self, Holder};
use sigil_store::{StoreError, Unique, clients, groups, users};
use utoipa::{IntoParams, ToSchema};

use crate::auth::authorize;
use crate::error::ErrorBody;
use crate::{AdminContext, AdminError, write};

/// Who an application role is granted to, as a path segment.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // named only by the OpenAPI description
#[schema(rename_all = "lowercase")]
pub(crate) enum HolderKind {
    Users,
    Groups,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Filter {
    /// Only the roles of this client.
    client: Option<String>,
}

/// A role an application defines.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RoleView {
    /// The client_id of the application.
    client: String,
    name: String,
    description: Option<String>,
}

/// A role and who holds it directly.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HeldRole {
    #[serde(flatten)]
    role: RoleView,
    /// Ids of the users granted the role.
    users: Vec<String>,
    /// Ids of the groups granted the role (their members hold it too).
    groups: Vec<String>,
}

/// GET /admin/roles.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RoleList {
    roles: Vec<HeldRole>,
}

/// GET /admin/roles[?client=ID].
#[utoipa::path(get, path = "/admin/roles", tag = "roles", operation_id = "roles_list", params(Filter),
    extensions(("x-sigil-operation" = json!("admin.roles.read"))),
    responses((status = 200, description = "Application roles and their holders", body = RoleList),
        crate::openapi::Refusals))]
pub(crate) async fn list(
    ctx: web::Data<AdminContext>,
    req: HttpRequest,
    filter: web::Query<Filter>,
) -> Result<HttpResponse, AdminError> {
    authorize(&ctx, &req, Operation::RolesRead).await?;
    let client = filter.into_inner().client;
    let listed = ctx
        .store
        .read(move |c| {
            let mut listed = Vec::new();
            for role in roles::list(c, client.as_deref())? {
                let holders = roles::holders(c, &role.id)?;
                let ids = |group: bool| -> Vec<String> {
                    holders
                        .iter()
                        .filter_map(|h| match h {
                            Holder::User(id) if !group => Some(id.clone()),
                            Holder::Group(id) if group => Some(id.clone()),
                            _ => None,
                        })
                        .collect()
                };
                let (users, groups) = (ids(false), ids(true));
                listed.push(HeldRole {
                    role: RoleView { client: role.client_id, name: role.name, description: role.description },
                    users,
                    groups,
                });
            }
            Ok::<_, StoreError>(listed)
        })
        .await?;
    Ok(HttpResponse::Ok().json(RoleList { roles: listed }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewRole {
    client: String,
    name: String,
    description: Option<String>,
}

/// POST /admin/roles: 201.
#[utoipa::path(post, path = "/admin/roles", tag = "roles", operation_id = "roles_define", request_body = NewRole,
    extensions(("x-sigil-operation" = json!("admin.roles.define"))),
    responses((status = 201, description = "Defined", body = RoleView),
        (status = 400, description = "Not a valid role", body = ErrorBody), crate::openapi::Refusals,
        (status = 404, description = "No such client", body = ErrorBody),
        (status = 409, description = "The client has a role of that name", body = ErrorBody)))]
pub(crate) async fn define(
    ctx: web::Data<AdminContext>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AdminError> {
    authorize(&ctx, &req, Operation::RolesDefine).await?;
    let new: NewRole = serde_json::from_slice(&body)
        .map_err(|e| AdminError::Invalid(format!("the body is not a role: {e}")))?;
    let now = ctx.store.now();
    let role = write(&ctx.store, move |c| {
        match clients::get(c, &new.client) {
            Err(StoreError::NotFound) => {
                return Err(AdminError::NotFound(format!("there is no client `{}`", new.client)));
            }
            other => other?,
        };
        roles::define(c, &new.client, &new.name, new.description.as_deref(), now).map_err(|e| match e {
            StoreError::Conflict(Unique::RoleName) => {
                AdminError::Conflict(format!("{} already has a role `{}`", new.client, new.name))
            }
            other => other.into(),
        })
    })
    .await?;
    Ok(HttpResponse::Created().json(RoleView {
        client: role.client_id,
        name: role.name,
        description: role.description,
    }))
}

/// DELETE /admin/roles/{client}/{name}: the role and its grants.
#[utoipa::path(delete, path = "/admin/roles/{client}/{name}", tag = "roles", operation_id = "roles_remove",
    params(("client" = String, Path, description = "The application's client_id"),
        ("name" = String, Path, description = "The role's name")),
    extensions(("x-sigil-operation" = json!("admin.roles.define"))),
    responses((status = 204, description = "Removed, with its grants"), crate::openapi::Refusals,
        (status = 404, description = "No such role", body = ErrorBody)))]
pub(crate) async fn remove(
    ctx: web::Data<AdminContext>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    authorize(&ctx, &req, Operation::RolesDefine).await?;
    let (client, name) = path.into_inner();
    let (c2, n2) = (client.clone(), name.clone());
    if ctx.store.write(move |c| roles::remove(c, &c2, &n2)).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(AdminError::NotFound(format!("{client} has no role `{name}`")))
    }
}

/// The role and holder a grant path names, both checked to exist.
fn resolve(
    conn: &mut sigil_store::AnyConnection,
    client: &str,
    name: &str,
    kind: &str,
    id: &str,
) -> Result<(roles::Role, Holder), AdminError> {
    let role = roles::get(conn, client, name).map_err(|e| match e {
        StoreError::NotFound => AdminError::NotFound(format!("{client} has no role `{name}`")),
        other => other.into(),
    })?;
    let found = |r: Result<(), StoreError>, what: &str| match r {
        Err(StoreError::NotFound) => Err(AdminError::NotFound(format!("there is no {what} `{id}`"))),
        other => other.map_err(AdminError::from),
    };
    let holder = match kind {
        "users" => {
            found(users::get(conn, id).map(drop), "user")?;
            Holder::User(id.to_owned())
        }
        "groups" => {
            found(groups::get(conn, id).map(drop), "group")?;
            Holder::Group(id.to_owned())
        }
        other => return Err(AdminError::NotFound(format!("`{other}` is neither users nor groups"))),
    };
    Ok((role, holder))
}

/// PUT /admin/roles/{client}/{name}/{users|groups}/{id}: 204; granting
/// twice changes nothing.
#[utoipa::path(put, path = "/admin/roles/{client}/{name}/{kind}/{id}", tag = "roles", operation_id = "roles_grant",
    params(("client" = String, Path, description = "The application's client_id"),
        ("name" = String, Path, description = "The role's name"),
        ("kind" = HolderKind, Path, description = "Whether `id` names a user or a group"),
        ("id" = String, Path, description = "The user's or group's id")),
    extensions(("x-sigil-operation" = json!("admin.roles.grant"))),
    responses((status = 204, description = "Held"), crate::openapi::Refusals,
        (status = 404, description = "No such role, user or group", body = ErrorBody)))]
pub(crate) async fn grant(
    ctx: web::Data<AdminContext>,
    req: HttpRequest,
    path: web::Path<(String, String, String, String)>,
) -> Result<HttpResponse, AdminError> {
    authorize(&ctx, &req, Operation::RolesGrant).await?;
    let (client, name, kind, id) = path.into_inner();
    let now = ctx.store.now();
    write(&ctx.store, move |c| {
        let (role, holder) = resolve(c, &client, &name, &kind, &id)?;
        // The role can be removed between the look-up and the grant, and so
        // can the holder: its row is gone by the time the grant is written
        // (the grant's foreign key), which is the same answer as not finding
        // it in the look-up.
        roles::grant(c, &role.id, &holder, now).map_err(|e| match e {
            StoreError::NotFound => AdminError::NotFound(format!("{client} has no role `{name}`")),
            StoreError::MissingReference(_) => AdminError::NotFound(format!("there is no {kind} `{id}`")),
            other => other.into(),
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// DELETE /admin/roles/{client}/{name}/{users|groups}/{id}: 204, or 404
/// when it was not held.
#[utoipa::path(delete, path = "/admin/roles/{client}/{name}/{kind}/{id}", tag = "roles", operation_id = "roles_revoke",
    params(("client" = String, Path, description = "The application's client_id"),
        ("name" = String, Path, description = "The role's name"),
        ("kind" = HolderKind, Path, description = "Whether `id` names a user or a group"),
        ("id" = String, Path, description = "The user's or group's id")),
    extensions(("x-sigil-operation" = json!("admin.roles.grant"))),
    responses((status = 204, description = "No longer held"), crate::openapi::Refusals,
        (status = 404, description = "No such role, or not held", body = ErrorBody)))]
pub(crate) async fn revoke(
    ctx: web::Data<AdminContext>,
    req: HttpRequest,
    path: web::Path<(String, String, String, String)>,
) -> Result<HttpResponse, AdminError> {
    authorize(&ctx, &req, Operation::RolesGrant).await?;
    let (client, name, kind, id) = path.into_inner();
    write(&ctx.store, move |c| {
        let (role, _) = resolve(c, &client, &name, &kind, &id)?;
        if roles::revoke(c, &role.id, &id)? {
            Ok(())
        } else {
            Err(AdminError::NotFound(format!("the {kind} `{id}` does not hold {client}'s role `{name}`")))
        }
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
