//! `/Users` and `/Me`: create, read, replace, patch, delete and search
//! (RFC 7644 §3.3-§3.6, §3.11), with versions as weak ETags (§3.14). The
//! writes themselves are in `write`, shared with `/Bulk`.

use actix_web::http::StatusCode;
use actix_web::http::header::{ETAG, IF_NONE_MATCH};
use actix_web::web::{self, Payload};
use actix_web::{HttpRequest, HttpResponse};
use sigil_store::StoreError;
use sigil_store::users::{self, User};

use super::ScimContext;
use super::audit::Audit;
use super::auth::{authenticate, authorize_for};
use super::projection::Projection;
use super::request::{
    ListParams, ListRequest, cursor_page, header_matches, if_match, integer, json_body, list_request,
    list_response, param, params, resource_response, search_request,
};
use super::wire::error_response;
use super::write::{self, load_user};
use crate::rights::{Kind, Operation};
use crate::search::user_walk;
use crate::user::{USER_SCHEMA, etag, render};
use crate::{ScimError, search_users};

fn projection(req: &HttpRequest) -> Result<Projection, ScimError> {
    let params = params(req)?;
    Projection::new(param(&params, "attributes"), param(&params, "excludedAttributes"), &[USER_SCHEMA])
}

/// Answers `result`, or its error in the RFC 7644 §3.12 shape.
async fn answer(result: impl Future<Output = Result<HttpResponse, ScimError>>) -> HttpResponse {
    result.await.unwrap_or_else(|e| error_response(&e))
}

/// GET /Users/{id}; `If-None-Match` with the current version answers 304.
#[utoipa::path(get, path = "/scim/v2/Users/{id}", tag = "users", operation_id = "users_get",
    params(("id" = String, Path, description = "The resource's id"), crate::http::openapi::Projection, crate::http::openapi::IfNoneMatch),
    extensions(("x-sigil-operation" = json!("scim.users.read"))),
    responses((status = 200, description = "The resource", body = ref("#/components/schemas/User"), content_type = "application/scim+json", headers(("ETag" = String, description = "The version, a weak entity tag (RFC 7644 §3.14)"))),
        (status = 304, description = "Not modified since the version in If-None-Match", headers(("ETag" = String, description = "The version, a weak entity tag (RFC 7644 §3.14)"))),
        crate::http::openapi::Refusals,
        (status = 400, description = "The request is not valid (`scimType` says why)", body = ref("#/components/schemas/Error"), content_type = "application/scim+json"),
        (status = 404, description = "No such resource", body = ref("#/components/schemas/Error"), content_type = "application/scim+json")))]
pub(crate) async fn get(
    ctx: web::Data<ScimContext>,
    req: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    answer(async {
        authorize_for(&ctx, &req, Kind::User, Operation::Read).await?;
        read(&ctx, &req, id.into_inner()).await
    })
    .await
}

async fn read(ctx: &ScimContext, req: &HttpRequest, id: String) -> Result<HttpResponse, ScimError> {
    let projection = projection(req)?;
    let base = ctx.base.clone();
    let (resource, version) = ctx.store.read(move |c| load_user(c, &id, &base)).await?;
    if header_matches(req, IF_NONE_MATCH, version) == Some(true) {
        return Ok(HttpResponse::NotModified().insert_header((ETAG, etag(version))).finish());
    }
    Ok(resource_response(StatusCode::OK, resource, version, &projection))
}

/// POST /Users.
#[utoipa::path(post, path = "/scim/v2/Users", tag = "users", operation_id = "users_create",
    params(crate::http::openapi::Projection),
    request_body(content = ref("#/components/schemas/UserInput"), content_type = "application/scim+json"),
    extensions(("x-sigil-operation" = json!("scim.users.create"))),
    responses((status = 201, description = "Created", body = ref("#/components/schemas/User"), content_type = "application/scim+json", headers(("ETag" = String, description = "The version, a weak entity tag (RFC 7644 §3.14)"), ("Location" = String, description = "The new resource's URL"))),
        crate::http::openapi::Refusals,
        (status = 400, description = "The request is not valid (`scimType` says why)", body = ref("#/components/schemas/Error"), content_type = "application/scim+json"),
        (status = 409, description = "A unique attribute is taken (`uniqueness`)", body = ref("#/components/schemas/Error"), content_type = "application/scim+json")))]
pub(crate) async fn create(ctx: web::Data<ScimContext>, req: HttpRequest, payload: Payload) -> HttpResponse {
    let audit = Audit::new(&req, Kind::User, Operation::Create, None);
    audit
        .answer(&ctx, async {
            let token = audit.authorize(&ctx, &req).await?;
            let projection = projection(&req)?;
            let actor = audit.actor(&ctx, &token);
            let (resource, version) = write::create_user(&ctx, &actor, &json_body(payload).await?).await?;
            Ok(resource_response(StatusCode::CREATED, resource, version, &projection))
        })
        .await
}

/// PUT /Users/{id}.
#[utoipa::path(put, path = "/scim/v2/Users/{id}", tag = "users", operation_id = "users_replace",
    params(("id" = String, Path, description = "The resource's id"), crate::http::openapi::Projection, crate::http::openapi::IfMatch),
    request_body(content = ref("#/components/schemas/UserInput"), content_type = "application/scim+json"),
    extensions(("x-sigil-operation" = json!("scim.users.update"))),
    responses((status = 200, description = "Replaced", body = ref("#/components/schemas/User"), content_type = "application/scim+json", headers(("ETag" = String, description = "The version, a weak entity tag (RFC 7644 §3.14)"))),
        crate::http::openapi::Refusals,
        (status = 400, description = "The request is not valid (`scimType` says why)", body = ref("#/components/schemas/Error"), content_type = "application/scim+json"),
        (status = 404, description = "No such resource", body = ref("#/components/schemas/Error"), content_type = "application/scim+json"),
        (status = 409, description = "A unique attribute is taken (`uniqueness`)", body = ref("#/components/schemas/Error"), content_type = "application/scim+json"),
        (status = 412, description = "If-Match names another version", body = ref("#/components/schemas/Error"), content_type = "application/scim+json")))]
pub(crate) async fn replace(
    ctx: web::Data<ScimContext>,
    req: HttpRequest,
    id: web::Path<String>,
    payload: Payload,
) -> HttpResponse {
    let audit = Audit::new(&req, Kind::User, Operation::Update, Some(&id));
    audit
        .answer(&ctx, async {
            let token = audit.authorize(&ctx, &req).await?;
            let projection = projection(&req)?;
            let body = json_body(payload).await?;
            let actor = audit.actor(&ctx, &token);
            let (resource, version) =
                write::replace_user(&ctx, &actor, &id, &body, if_match(&req).as_deref()).await?;
            Ok(resource_response(StatusCode::OK, resource, version, &projection))
        })
        .await
}

/// PATCH /Users/{id}: 200 with the resource.
#[utoipa::path(patch, path = "/scim/v2/Users/{id}", tag = "users", operation_id = "users_patch",
    params(("id" = String, Path, description = "The resource's id"), crate::http::openapi::Projection, crate::http::openapi::IfMatch),
    request_body(content = ref("#/components/schemas/PatchOp"), content_type = "application/scim+json"),
    extensions(("x-sigil-operation" = json!("scim.users.update"))),
    responses((status = 200, description = "Patched", body = ref("#/components/schemas/User"), content_type = "application/scim+json", headers(("ETag" = String, description = "The version, a weak entity tag (RFC 7644 §3.14)"))),
        crate::http::openapi::Refusals,
        (status = 400, description = "The request is not valid (`scimType` says why)", body = ref("#/components/schemas/Error"), content_type = "application/scim+json"),
        (status = 404, description = "No such resource", body = ref("#/components/schemas/Error"), content_type = "application/scim+json"),
        (status = 409, description = "A unique attribute is taken (`uniqueness`)", body = ref("#/components/schemas/Error"), content_type = "application/scim+json"),
        (status = 412, description = "If-Match names another version", body = ref("#/components/schemas/Error"), content_type = "application/scim+json")))]
pub(crate) async fn patch(
    ctx: web::Data<ScimContext>,
    req: HttpRequest,
    id: web::Path<String>,
    payload: Payload,
) -> HttpResponse {
    let audit = Audit::new(&req, Kind::User, Operation::Update, Some(&id));
    audit
        .answer(&ctx, async {
            let token = audit.authorize(&ctx, &req).await?;
            let projection = projection(&req)?;
            let body = json_body(payload).await?;
            let actor = audit.actor(&ctx, &token);
            let (resource, version) =
                write::patch_user(&ctx, &actor, &id, &body, if_match(&req).as_deref()).await?;
            Ok(resource_response(StatusCode::OK, resource, version, &projection))
        })
        .await
}

/// DELETE /Users/{id}: 204.
#[utoipa::path(delete, path = "/scim/v2/Users/{id}", tag = "users", operation_id = "users_delete",
    params(("id" = String, Path, description = "The resource's id"), crate::http::openapi::IfMatch),
    extensions(("x-sigil-operation" = json!("scim.users.delete"))),
    responses((status = 204, description = "Deleted"),
        crate::http::openapi::Refusals,
        (status = 404, description = "No such resource", body = ref("#/components/schemas/Error"), content_type = "application/scim+json"),
        (status = 412, description = "If-Match names another version", body = ref("#/components/schemas/Error"), content_type = "application/scim+json")))]
pub(crate) async fn delete(
    ctx: web::Data<ScimContext>,
    req: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    let audit = Audit::new(&req, Kind::User, Operation::Delete, Some(&id));
    audit
        .answer(&ctx, async {
            let token = audit.authorize(&ctx, &req).await?;
            write::delete_user(&ctx, &audit.actor(&ctx, &token), &id, if_match(&req).as_deref()).await?;
            Ok(HttpResponse::NoContent().finish())
        })
        .await
}

async fn run_list(ctx: &ScimContext, request: ListRequest) -> Result<HttpResponse, ScimError> {
    let ListRequest { query, start_index, projection, cursor_count } = request;
    let base = ctx.base.clone();
    let (total, resources, cursors) = ctx
        .store
        .read(move |c| {
            let page = search_users(c, &query)?;
            let mut found: Vec<_> = page.users.into_iter().zip(page.keys).collect();
            let cursors = match cursor_count {
                Some(count) => {
                    Some(cursor_page(&query, &user_walk(&query)?, count, &mut found, |u: &User| u.id.clone()))
                }
                None => None,
            };
            let ids: Vec<String> = found.iter().map(|(u, _)| u.id.clone()).collect();
            let related = crate::user::Related::load_many(c, &ids)?;
            let resources: Vec<_> =
                found.iter().zip(&related).map(|((user, _), related)| render(user, related, &base)).collect();
            Ok::<_, ScimError>((page.total, resources, cursors))
        })
        .await?;
    Ok(list_response(total, start_index, cursors, resources, &projection))
}

/// GET /Users (RFC 7644 §3.4.2).
#[utoipa::path(get, path = "/scim/v2/Users", tag = "users", operation_id = "users_list",
    params(crate::http::openapi::ListQuery, crate::http::openapi::Projection),
    extensions(("x-sigil-operation" = json!("scim.users.read"))),
    responses((status = 200, description = "A page of users", body = ref("#/components/schemas/UserListResponse"), content_type = "application/scim+json"),
        crate::http::openapi::Refusals,
        (status = 400, description = "The request is not valid (`scimType` says why)", body = ref("#/components/schemas/Error"), content_type = "application/scim+json")))]
pub(crate) async fn list(ctx: web::Data<ScimContext>, req: HttpRequest) -> HttpResponse {
    answer(async {
        authorize_for(&ctx, &req, Kind::User, Operation::Read).await?;
        let p = params(&req)?;
        let list = ListParams {
            filter: param(&p, "filter"),
            sort_by: param(&p, "sortBy"),
            sort_order: param(&p, "sortOrder"),
            start_index: integer(param(&p, "startIndex"), "startIndex")?,
            count: integer(param(&p, "count"), "count")?,
            cursor: param(&p, "cursor"),
        };
        let request = list_request(&ctx, &list, projection(&req)?)?;
        run_list(&ctx, request).await
    })
    .await
}

/// POST /Users/.search (RFC 7644 §3.4.3): the same, with the parameters in
/// a SearchRequest body.
#[utoipa::path(post, path = "/scim/v2/Users/.search", tag = "users", operation_id = "users_search",
    request_body(content = ref("#/components/schemas/SearchRequest"), content_type = "application/scim+json"),
    extensions(("x-sigil-operation" = json!("scim.users.read"))),
    responses((status = 200, description = "A page of users", body = ref("#/components/schemas/UserListResponse"), content_type = "application/scim+json"),
        crate::http::openapi::Refusals,
        (status = 400, description = "The request is not valid (`scimType` says why)", body = ref("#/components/schemas/Error"), content_type = "application/scim+json")))]
pub(crate) async fn search(ctx: web::Data<ScimContext>, req: HttpRequest, payload: Payload) -> HttpResponse {
    answer(async {
        authorize_for(&ctx, &req, Kind::User, Operation::Read).await?;
        let request = search_request(&ctx, &json_body(payload).await?, &[USER_SCHEMA])?;
        run_list(&ctx, request).await
    })
    .await
}

/// The user `/Me` stands for (RFC 7644 §3.11): the subject of the token,
/// which any valid token may ask about itself.
async fn me(ctx: &ScimContext, req: &HttpRequest) -> Result<String, ScimError> {
    let token = authenticate(ctx, req).await?;
    let subject = token.subject.clone();
    let found = ctx.store.read(move |c| users::get(c, &subject).map(|u| u.id)).await;
    match found {
        Ok(id) => Ok(id),
        Err(StoreError::NotFound) => Err(ScimError::NotFound(
            "the token's subject is not a user of this service (a client's own token has no /Me)".into(),
        )),
        Err(other) => Err(other.into()),
    }
}

/// GET /Me: the token's own user, with no scope needed.
#[utoipa::path(get, path = "/scim/v2/Me", tag = "me", operation_id = "me_get",
    params(crate::http::openapi::Projection, crate::http::openapi::IfNoneMatch),
    responses((status = 200, description = "The token's own user", body = ref("#/components/schemas/User"), content_type = "application/scim+json", headers(("ETag" = String, description = "The version, a weak entity tag (RFC 7644 §3.14)"))),
        (status = 304, description = "Not modified since the version in If-None-Match", headers(("ETag" = String, description = "The version, a weak entity tag (RFC 7644 §3.14)"))),
        crate::http::openapi::Refusals,
        (status = 400, description = "The request is not valid (`scimType` says why)", body = ref("#/components/schemas/Error"), content_type = "application/scim+json"),
        (status = 404, description = "The token's subject is not a user (a client's own token has no /Me)", body = ref("#/components/schemas/Error"), content_type = "application/scim+json")))]
pub(crate) async fn me_get(ctx: web::Data<ScimContext>, req: HttpRequest) -> HttpResponse {
    answer(async {
        let id = me(&ctx, &req).await?;
        read(&ctx, &req, id).await
    })
    .await
}

/// PUT /Me: as PUT /Users/{id} for the token's user (scim:write needed).
#[utoipa::path(put, path = "/scim/v2/Me", tag = "me", operation_id = "me_put",
    params(crate::http::openapi::Projection, crate::http::openapi::IfMatch),
    request_body(content = ref("#/components/schemas/UserInput"), content_type = "application/scim+json"),
    extensions(("x-sigil-operation" = json!("scim.users.update"))),
    responses((status = 200, description = "Replaced", body = ref("#/components/schemas/User"), content_type = "application/scim+json", headers(("ETag" = String, description = "The version, a weak entity tag (RFC 7644 §3.14)"))),
        crate::http::openapi::Refusals,
        (status = 400, description = "The request is not valid (`scimType` says why)", body = ref("#/components/schemas/Error"), content_type = "application/scim+json"),
        (status = 404, description = "The token's subject is not a user (a client's own token has no /Me)", body = ref("#/components/schemas/Error"), content_type = "application/scim+json"),
        (status = 409, description = "A unique attribute is taken (`uniqueness`)", body = ref("#/components/schemas/Error"), content_type = "application/scim+json"),
        (status = 412, description = "If-Match names another version", body = ref("#/components/schemas/Error"), content_type = "application/scim+json")))]
pub(crate) async fn me_put(ctx: web::Data<ScimContext>, req: HttpRequest, payload: Payload) -> HttpResponse {
    match me(&ctx, &req).await {
        Ok(id) => replace(ctx, req, web::Path::from(id), payload).await,
        Err(e) => error_response(&e),
    }
}

/// PATCH /Me: as PATCH /Users/{id} for the token's user (scim:write needed).
#[utoipa::path(patch, path = "/scim/v2/Me", tag = "me", operation_id = "me_patch",
    params(crate::http::openapi::Projection, crate::http::openapi::IfMatch),
    request_body(content = ref("#/components/schemas/PatchOp"), content_type = "application/scim+json"),
    extensions(("x-sigil-operation" = json!("scim.users.update"))),
    responses((status = 200, description = "Patched", body = ref("#/components/schemas/User"), content_type = "application/scim+json", headers(("ETag" = String, description = "The version, a weak entity tag (RFC 7644 §3.14)"))),
        crate::http::openapi::Refusals,
        (status = 400, description = "The request is not valid (`scimType` says why)", body = ref("#/components/schemas/Error"), content_type = "application/scim+json"),
        (status = 404, description = "The token's subject is not a user (a client's own token has no /Me)", body = ref("#/components/schemas/Error"), content_type = "application/scim+json"),
        (status = 409, description = "A unique attribute is taken (`uniqueness`)", body = ref("#/components/schemas/Error"), content_type = "application/scim+json"),
        (status = 412, description = "If-Match names another version", body = ref("#/components/schemas/Error"), content_type = "application/scim+json")))]
pub(crate) async fn me_patch(
    ctx: web::Data<ScimContext>,
    req: HttpRequest,
    payload: Payload,
) -> HttpResponse {
    match me(&ctx, &req).await {
        Ok(id) => patch(ctx, req, web::Path::from(id), payload).await,
        Err(e) => error_response(&e),
    }
}

/// DELETE /Me: as DELETE /Users/{id} for the token's user (scim:write needed).
#[utoipa::path(delete, path = "/scim/v2/Me", tag = "me", operation_id = "me_delete",
    params(crate::http::openapi::IfMatch),
    extensions(("x-sigil-operation" = json!("scim.users.delete"))),
    responses((status = 204, description = "Deleted"),
        crate::http::openapi::Refusals,
        (status = 404, description = "The token's subject is not a user (a client's own token has no /Me)", body = ref("#/components/schemas/Error"), content_type = "application/scim+json"),
        (status = 412, description = "If-Match names another version", body = ref("#/components/schemas/Error"), content_type = "application/scim+json")))]
pub(crate) async fn me_delete(ctx: web::Data<ScimContext>, req: HttpRequest) -> HttpResponse {
    match me(&ctx, &req).await {
        Ok(id) => delete(ctx, req, web::Path::from(id)).await,
        Err(e) => error_response(&e),
    }
}
