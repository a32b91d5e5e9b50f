//! `/admin/access`: who holds Sigil's built-in roles — users, groups (and
//! so their members, through nesting) and clients.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;
use sigil_access::{Operation, Role};
use sigil_store::StoreError;
use sigil_store::admin_grants::{self, Grantee};

use crate::auth::authorize;
use crate::{AdminContext, AdminError, write};

/// GET /admin/access.
pub(crate) async fn list(ctx: web::Data<AdminContext>, req: HttpRequest) -> Result<HttpResponse, AdminError> {
    authorize(&ctx, &req, Operation::AccessRead).await?;
    let grants = ctx.store.read(admin_grants::list).await?;
    let grants: Vec<_> = grants
        .iter()
        .map(|g| {
            let (kind, id) = match &g.grantee {
                Grantee::User(id) => ("users", id),
                Grantee::Group(id) => ("groups", id),
                Grantee::Client(id) => ("clients", id),
            };
            json!({ "role": g.role, "kind": kind, "id": id, "name": g.grantee_name,
                    "created": g.created.and_utc().to_rfc3339() })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "grants": grants })))
}

/// The role and grantee a path names.
fn parse(role: &str, kind: &str, id: String) -> Result<(Role, Grantee), AdminError> {
    let role: Role = role.parse().map_err(AdminError::NotFound)?;
    let grantee = match kind {
        "users" => Grantee::User(id),
        "groups" => Grantee::Group(id),
        "clients" => Grantee::Client(id),
        other => return Err(AdminError::NotFound(format!("`{other}` is not users, groups or clients"))),
    };
    Ok((role, grantee))
}

/// PUT /admin/access/{role}/{users|groups|clients}/{id}: 204; granting
/// twice changes nothing.
pub(crate) async fn grant(
    ctx: web::Data<AdminContext>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, AdminError> {
    authorize(&ctx, &req, Operation::AccessGrant).await?;
    let (role, kind, id) = path.into_inner();
    let (role, grantee) = parse(&role, &kind, id.clone())?;
    let now = ctx.store.now();
    match ctx.store.write(move |c| admin_grants::grant(c, role.as_str(), &grantee, now)).await {
        Ok(_) => Ok(HttpResponse::NoContent().finish()),
        Err(StoreError::NotFound) => Err(AdminError::NotFound(format!("there is no {kind} member `{id}`"))),
        Err(other) => Err(other.into()),
    }
}

/// DELETE /admin/access/{role}/{users|groups|clients}/{id}: 204, or 404
/// when it was not held.
pub(crate) async fn revoke(
    ctx: web::Data<AdminContext>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, AdminError> {
    authorize(&ctx, &req, Operation::AccessGrant).await?;
    let (role_name, kind, id) = path.into_inner();
    let (role, grantee) = parse(&role_name, &kind, id.clone())?;
    let revoked = write(&ctx.store, move |c| Ok(admin_grants::revoke(c, role.as_str(), &grantee)?)).await?;
    if revoked {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(AdminError::NotFound(format!("`{id}` in {kind} does not hold {role_name}")))
    }
}
