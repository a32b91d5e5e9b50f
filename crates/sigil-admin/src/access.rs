//! `/admin/access`: who holds Sigil's built-in roles — users, groups (and
//! so their members, through nesting) and clients.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use sigil_access::{Operation, Role};
use sigil_store::StoreError;
use sigil_store::admin_grants::{self, Grantee};
use utoipa::ToSchema;

use crate::auth::authorize;
use crate::error::ErrorBody;
use crate::{AdminContext, AdminError, write};

/// One built-in role held by a user, group or client.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct GrantView {
    /// The built-in role.
    role: String,
    kind: GranteeKind,
    id: String,
    /// The holder's user name, group display name or client name.
    name: String,
    #[schema(format = DateTime)]
    created: String,
}

/// What kind of principal holds a built-in role; also its path segment.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum GranteeKind {
    Users,
    Groups,
    Clients,
}

/// GET /admin/access.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct GrantList {
    grants: Vec<GrantView>,
}

/// The path parameters naming one grant of a built-in role.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // read by the OpenAPI description only
pub(crate) struct GrantPath {
    /// The built-in role.
    #[param(inline)]
    role: BuiltInRole,
    /// Whether `id` names a user, a group or a client.
    #[param(inline)]
    kind: GranteeKind,
    /// The user's, group's or client's id.
    id: String,
}

/// A built-in role's name, one of `sigil_access::Role`'s.
#[derive(Debug)]
pub(crate) struct BuiltInRole;

impl utoipa::PartialSchema for BuiltInRole {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .enum_values(Some(Role::ALL.map(Role::as_str)))
            .into()
    }
}

impl ToSchema for BuiltInRole {}

/// GET /admin/access.
#[utoipa::path(get, path = "/admin/access", tag = "access", operation_id = "access_list",
    extensions(("x-sigil-operation" = json!("admin.access.read"))),
    responses((status = 200, description = "Who holds each built-in role", body = GrantList),
        crate::openapi::Refusals))]
pub(crate) async fn list(ctx: web::Data<AdminContext>, req: HttpRequest) -> Result<HttpResponse, AdminError> {
    authorize(&ctx, &req, Operation::AccessRead).await?;
    let grants = ctx.store.read(admin_grants::list).await?;
    let grants: Vec<_> = grants
        .iter()
        .map(|g| {
            let (kind, id) = match &g.grantee {
                Grantee::User(id) => (GranteeKind::Users, id),
                Grantee::Group(id) => (GranteeKind::Groups, id),
                Grantee::Client(id) => (GranteeKind::Clients, id),
            };
            GrantView {
                role: g.role.clone(),
                kind,
                id: id.clone(),
                name: g.grantee_name.clone(),
                created: g.created.and_utc().to_rfc3339(),
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(GrantList { grants }))
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
#[utoipa::path(put, path = "/admin/access/{role}/{kind}/{id}", tag = "access", operation_id = "access_grant", params(GrantPath),
    extensions(("x-sigil-operation" = json!("admin.access.grant"))),
    responses((status = 204, description = "Held"), crate::openapi::Refusals,
        (status = 404, description = "No such role or holder", body = ErrorBody)))]
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
#[utoipa::path(delete, path = "/admin/access/{role}/{kind}/{id}", tag = "access", operation_id = "access_revoke", params(GrantPath),
    extensions(("x-sigil-operation" = json!("admin.access.grant"))),
    responses((status = 204, description = "No longer held"), crate::openapi::Refusals,
        (status = 404, description = "No such role, or not held", body = ErrorBody)))]
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
