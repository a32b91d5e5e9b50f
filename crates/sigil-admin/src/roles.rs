//! `/admin/roles`: the roles applications (clients) define, and the users
//! and groups that hold them.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use sigil_access::Operation;
use sigil_store::roles::{self, Holder};
use sigil_store::{StoreError, Unique, clients, groups, users};

use crate::auth::authorize;
use crate::{AdminContext, AdminError, write};

#[derive(Debug, Deserialize)]
pub(crate) struct Filter {
    client: Option<String>,
}

/// GET /admin/roles[?client=ID].
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
                let ids = |group: bool| -> Vec<&str> {
                    holders
                        .iter()
                        .filter_map(|h| match h {
                            Holder::User(id) if !group => Some(id.as_str()),
                            Holder::Group(id) if group => Some(id.as_str()),
                            _ => None,
                        })
                        .collect()
                };
                listed.push(json!({
                    "client": role.client_id,
                    "name": role.name,
                    "description": role.description,
                    "users": ids(false),
                    "groups": ids(true),
                }));
            }
            Ok::<_, StoreError>(listed)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "roles": listed })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewRole {
    client: String,
    name: String,
    description: Option<String>,
}

/// POST /admin/roles: 201.
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
    Ok(HttpResponse::Created().json(json!({
        "client": role.client_id,
        "name": role.name,
        "description": role.description,
    })))
}

/// DELETE /admin/roles/{client}/{name}: the role and its grants.
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
