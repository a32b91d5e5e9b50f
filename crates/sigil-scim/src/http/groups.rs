//! `/Groups`: create, read, replace, patch, delete and search (RFC 7644
//! §3.3-§3.6) for groups whose members are users or other groups. The
//! writes themselves are in `write`, shared with `/Bulk`.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::http::header::{ETAG, IF_NONE_MATCH};
use actix_web::web::{self, Payload};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::Value;
use sigil_store::groups::{Group, named_members};

use super::ScimContext;
use super::audit::Audit;
use super::auth::authorize_for;
use super::projection::Projection;
use super::request::{
    ListParams, ListRequest, cursor_page, header_matches, if_match, integer, json_body, list_request,
    list_response, param, params, resource_response, search_request,
};
use super::wire::error_response;
use super::write::{self, load_group};
use crate::filter::GROUP_SCHEMA;
use crate::group::render;
use crate::rights::{Kind, Operation};
use crate::search::group_walk;
use crate::user::etag;
use crate::{ScimError, search_groups};

fn projection(req: &HttpRequest) -> Result<Projection, ScimError> {
    let params = params(req)?;
    Projection::new(param(&params, "attributes"), param(&params, "excludedAttributes"), &[GROUP_SCHEMA])
}

async fn answer(result: impl Future<Output = Result<HttpResponse, ScimError>>) -> HttpResponse {
    result.await.unwrap_or_else(|e| error_response(&e))
}

/// GET /Groups/{id}.
#[utoipa::path(get, path = "/scim/v2/Groups/{id}", tag = "groups", operation_id = "groups_get",
    params(("id" = String, Path, description = "The resource's id"), crate::http::openapi::Projection, crate::http::openapi::IfNoneMatch),
    extensions(("x-sigil-operation" = json!("scim.groups.read"))),
    responses((status = 200, description = "The resource", body = ref("#/components/schemas/Group"), content_type = "application/scim+json", headers(("ETag" = String, description = "The version, a weak entity tag (RFC 7644 §3.14)"))),
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
        authorize_for(&ctx, &req, Kind::Group, Operation::Read).await?;
        let projection = projection(&req)?;
        let (base, id) = (ctx.base.clone(), id.into_inner());
        let (resource, version) = ctx.store.read(move |c| load_group(c, &id, &base)).await?;
        if header_matches(&req, IF_NONE_MATCH, version) == Some(true) {
            return Ok(HttpResponse::NotModified().insert_header((ETAG, etag(version))).finish());
        }
        Ok(resource_response(StatusCode::OK, resource, version, &projection))
    })
    .await
}

/// POST /Groups.
#[utoipa::path(post, path = "/scim/v2/Groups", tag = "groups", operation_id = "groups_create",
    params(crate::http::openapi::Projection),
    request_body(content = ref("#/components/schemas/GroupInput"), content_type = "application/scim+json"),
    extensions(("x-sigil-operation" = json!("scim.groups.create"))),
    responses((status = 201, description = "Created", body = ref("#/components/schemas/Group"), content_type = "application/scim+json", headers(("ETag" = String, description = "The version, a weak entity tag (RFC 7644 §3.14)"), ("Location" = String, description = "The new resource's URL"))),
        crate::http::openapi::Refusals,
        (status = 400, description = "The request is not valid (`scimType` says why)", body = ref("#/components/schemas/Error"), content_type = "application/scim+json"),
        (status = 409, description = "A unique attribute is taken (`uniqueness`)", body = ref("#/components/schemas/Error"), content_type = "application/scim+json")))]
pub(crate) async fn create(ctx: web::Data<ScimContext>, req: HttpRequest, payload: Payload) -> HttpResponse {
    let audit = Audit::new(&req, Kind::Group, Operation::Create, None);
    audit
        .answer(&ctx, async {
            let token = audit.authorize(&ctx, &req).await?;
            let projection = projection(&req)?;
            let actor = audit.actor(&ctx, &token);
            let (resource, version) = write::create_group(&ctx, &actor, &json_body(payload).await?).await?;
            Ok(resource_response(StatusCode::CREATED, resource, version, &projection))
        })
        .await
}

/// PUT /Groups/{id}.
#[utoipa::path(put, path = "/scim/v2/Groups/{id}", tag = "groups", operation_id = "groups_replace",
    params(("id" = String, Path, description = "The resource's id"), crate::http::openapi::Projection, crate::http::openapi::IfMatch),
    request_body(content = ref("#/components/schemas/GroupInput"), content_type = "application/scim+json"),
    extensions(("x-sigil-operation" = json!("scim.groups.update"))),
    responses((status = 200, description = "Replaced", body = ref("#/components/schemas/Group"), content_type = "application/scim+json", headers(("ETag" = String, description = "The version, a weak entity tag (RFC 7644 §3.14)"))),
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
    let audit = Audit::new(&req, Kind::Group, Operation::Update, Some(&id));
    audit
        .answer(&ctx, async {
            let token = audit.authorize(&ctx, &req).await?;
            let projection = projection(&req)?;
            let body = json_body(payload).await?;
            let actor = audit.actor(&ctx, &token);
            let (resource, version) =
                write::replace_group(&ctx, &actor, &id, &body, if_match(&req).as_deref()).await?;
            Ok(resource_response(StatusCode::OK, resource, version, &projection))
        })
        .await
}

/// PATCH /Groups/{id} (RFC 7644 §3.5.2): 200 with the resource, as the
/// attributes asked for; its members are read only when they are asked
/// for. 204 in the one case where there is no resource left to show: the
/// group was deleted by another request just after this one committed.
#[utoipa::path(patch, path = "/scim/v2/Groups/{id}", tag = "groups", operation_id = "groups_patch",
    params(("id" = String, Path, description = "The resource's id"), crate::http::openapi::Projection, crate::http::openapi::IfMatch),
    request_body(content = ref("#/components/schemas/PatchOp"), content_type = "application/scim+json"),
    extensions(("x-sigil-operation" = json!("scim.groups.update"))),
    responses((status = 200, description = "Patched", body = ref("#/components/schemas/Group"), content_type = "application/scim+json", headers(("ETag" = String, description = "The version, a weak entity tag (RFC 7644 §3.14)"))),
        (status = 204, description = "Patched, and deleted by another request right after"),
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
    let audit = Audit::new(&req, Kind::Group, Operation::Update, Some(&id));
    audit
        .answer(&ctx, async {
            let token = audit.authorize(&ctx, &req).await?;
            let projection = projection(&req)?;
            let body = json_body(payload).await?;
            let actor = audit.actor(&ctx, &token);
            let with_members = projection.keeps("members");
            let (resource, version) =
                write::patch_group(&ctx, &actor, &id, &body, if_match(&req).as_deref(), with_members).await?;
            Ok(match resource {
                Some(resource) => resource_response(StatusCode::OK, resource, version, &projection),
                None => HttpResponse::NoContent().insert_header((ETAG, etag(version))).finish(),
            })
        })
        .await
}

/// DELETE /Groups/{id}: 204.
#[utoipa::path(delete, path = "/scim/v2/Groups/{id}", tag = "groups", operation_id = "groups_delete",
    params(("id" = String, Path, description = "The resource's id"), crate::http::openapi::IfMatch),
    extensions(("x-sigil-operation" = json!("scim.groups.delete"))),
    responses((status = 204, description = "Deleted"),
        crate::http::openapi::Refusals,
        (status = 404, description = "No such resource", body = ref("#/components/schemas/Error"), content_type = "application/scim+json"),
        (status = 412, description = "If-Match names another version", body = ref("#/components/schemas/Error"), content_type = "application/scim+json")))]
pub(crate) async fn delete(
    ctx: web::Data<ScimContext>,
    req: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    let audit = Audit::new(&req, Kind::Group, Operation::Delete, Some(&id));
    audit
        .answer(&ctx, async {
            let token = audit.authorize(&ctx, &req).await?;
            write::delete_group(&ctx, &audit.actor(&ctx, &token), &id, if_match(&req).as_deref()).await?;
            Ok(HttpResponse::NoContent().finish())
        })
        .await
}

async fn run_list(ctx: &ScimContext, request: ListRequest) -> Result<HttpResponse, ScimError> {
    let ListRequest { query, start_index, projection, cursor_count } = request;
    let base = ctx.base.clone();
    // Microsoft Entra ID looks groups up with `excludedAttributes=members`:
    // a page of large groups is then read without their members.
    let with_members = projection.keeps("members");
    let (total, resources, cursors) = ctx
        .store
        .read(move |c| {
            let page = search_groups(c, &query)?;
            let mut found: Vec<_> = page.groups.into_iter().zip(page.keys).collect();
            let cursors = match cursor_count {
                Some(count) => {
                    Some(cursor_page(&query, &group_walk(&query)?, count, &mut found, |g: &Group| {
                        g.id.clone()
                    }))
                }
                None => None,
            };
            let ids: Vec<&str> = found.iter().map(|(g, _)| g.id.as_str()).collect();
            let mut members = if with_members { named_members(c, &ids)? } else { HashMap::new() };
            let mut roles = sigil_store::roles::granted_to_groups(c, &ids)?;
            let resources: Vec<Value> = found
                .iter()
                .map(|(g, _)| {
                    let members = members.remove(&g.id).unwrap_or_default();
                    render(g, &members, &roles.remove(&g.id).unwrap_or_default(), &base)
                })
                .collect();
            Ok::<_, ScimError>((page.total, resources, cursors))
        })
        .await?;
    Ok(list_response(total, start_index, cursors, resources, &projection))
}

/// GET /Groups.
#[utoipa::path(get, path = "/scim/v2/Groups", tag = "groups", operation_id = "groups_list",
    params(crate::http::openapi::ListQuery, crate::http::openapi::Projection),
    extensions(("x-sigil-operation" = json!("scim.groups.read"))),
    responses((status = 200, description = "A page of groups", body = ref("#/components/schemas/GroupListResponse"), content_type = "application/scim+json"),
        crate::http::openapi::Refusals,
        (status = 400, description = "The request is not valid (`scimType` says why)", body = ref("#/components/schemas/Error"), content_type = "application/scim+json")))]
pub(crate) async fn list(ctx: web::Data<ScimContext>, req: HttpRequest) -> HttpResponse {
    answer(async {
        authorize_for(&ctx, &req, Kind::Group, Operation::Read).await?;
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

/// POST /Groups/.search.
#[utoipa::path(post, path = "/scim/v2/Groups/.search", tag = "groups", operation_id = "groups_search",
    request_body(content = ref("#/components/schemas/SearchRequest"), content_type = "application/scim+json"),
    extensions(("x-sigil-operation" = json!("scim.groups.read"))),
    responses((status = 200, description = "A page of groups", body = ref("#/components/schemas/GroupListResponse"), content_type = "application/scim+json"),
        crate::http::openapi::Refusals,
        (status = 400, description = "The request is not valid (`scimType` says why)", body = ref("#/components/schemas/Error"), content_type = "application/scim+json")))]
pub(crate) async fn search(ctx: web::Data<ScimContext>, req: HttpRequest, payload: Payload) -> HttpResponse {
    answer(async {
        authorize_for(&ctx, &req, Kind::Group, Operation::Read).await?;
        let request = search_request(&ctx, &json_body(payload).await?, &[GROUP_SCHEMA])?;
        run_list(&ctx, request).await
    })
    .await
}
