//! `/Users`: create, read, replace, delete and search (RFC 7644 §3.3-§3.6),
//! with versions as weak ETags (§3.14).

use actix_web::http::StatusCode;
use actix_web::http::header::{ETAG, IF_NONE_MATCH, LOCATION};
use actix_web::web::{self, Payload};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::Value;
use sigil_store::groups::memberships_of_user;
use sigil_store::password::hash_password;
use sigil_store::users::{self, User};
use sigil_store::{AnyConnection, StoreError};

use super::ScimContext;
use super::auth::{Access, authorize};
use super::projection::Projection;
use super::request::{
    ListParams, ListRequest, cursor_page, header_matches, if_match, integer, json_body, list_request,
    list_response, param, params, search_request, tags_match,
};
use super::wire::{error_response, scim};
use crate::user::{USER_SCHEMA, etag, render};
use crate::user_input::{UserInput, parse};
use crate::{ScimError, search_users};

fn projection(attributes: Option<&str>, excluded: Option<&str>) -> Result<Projection, ScimError> {
    Projection::new(attributes, excluded, &[USER_SCHEMA])
}

/// The user with its groups, as JSON.
fn load(conn: &mut AnyConnection, id: &str, base: &str) -> Result<(Value, i64), StoreError> {
    let user = users::get(conn, id)?;
    let groups = memberships_of_user(conn, &user.id)?;
    Ok((render(&user, &groups, base), user.meta.version))
}

/// A single resource, with its ETag and the projection asked for.
fn resource_response(
    status: StatusCode,
    resource: Value,
    version: i64,
    projection: &Projection,
) -> HttpResponse {
    let location = resource["meta"]["location"].as_str().map(str::to_owned);
    let mut response = HttpResponse::build(status);
    response.insert_header((ETAG, etag(version)));
    if status == StatusCode::CREATED
        && let Some(location) = location
    {
        response.insert_header((LOCATION, location));
    }
    scim(&mut response, &projection.apply(resource))
}

/// GET /Users/{id}.
pub(crate) async fn get(
    ctx: web::Data<ScimContext>,
    req: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    let run = async {
        authorize(&ctx, &req, Access::Read).await?;
        let params = params(&req)?;
        let projection = projection(param(&params, "attributes"), param(&params, "excludedAttributes"))?;
        let base = ctx.base.clone();
        let id = id.into_inner();
        let (resource, version) = ctx.store.read(move |c| load(c, &id, &base)).await?;
        // RFC 7644 §3.14: If-None-Match with the current version: 304.
        if header_matches(&req, IF_NONE_MATCH, version) == Some(true) {
            return Ok(HttpResponse::NotModified().insert_header((ETAG, etag(version))).finish());
        }
        Ok(resource_response(StatusCode::OK, resource, version, &projection))
    };
    run.await.unwrap_or_else(|e: ScimError| error_response(&e))
}

/// Hashes the password of `input`, if any, on the blocking pool: argon2id
/// takes tens of milliseconds.
async fn with_password(input: UserInput) -> Result<User, ScimError> {
    let UserInput { mut user, password } = input;
    if let Some(password) = password {
        let hash = web::block(move || hash_password(&password))
            .await
            .map_err(|e| ScimError::Store(StoreError::Other(e.to_string())))??;
        user.password_hash = Some(hash);
    }
    Ok(user)
}

/// POST /Users (RFC 7644 §3.3).
pub(crate) async fn create(ctx: web::Data<ScimContext>, req: HttpRequest, payload: Payload) -> HttpResponse {
    let run = async {
        authorize(&ctx, &req, Access::Write).await?;
        let params = params(&req)?;
        let projection = projection(param(&params, "attributes"), param(&params, "excludedAttributes"))?;
        let body = json_body(payload).await?;
        let user = with_password(parse(&body)?).await?;
        let now = ctx.store.now();
        let base = ctx.base.clone();
        let (resource, version) = ctx
            .store
            .write(move |c| {
                let user = users::insert(c, user, now)?;
                load(c, &user.id, &base)
            })
            .await?;
        Ok(resource_response(StatusCode::CREATED, resource, version, &projection))
    };
    run.await.unwrap_or_else(|e: ScimError| error_response(&e))
}

/// PUT /Users/{id} (RFC 7644 §3.5.1): every writable attribute is replaced;
/// `id` and `meta` in the body are ignored, `userName` must be given.
pub(crate) async fn replace(
    ctx: web::Data<ScimContext>,
    req: HttpRequest,
    id: web::Path<String>,
    payload: Payload,
) -> HttpResponse {
    let run = async {
        authorize(&ctx, &req, Access::Write).await?;
        let params = params(&req)?;
        let projection = projection(param(&params, "attributes"), param(&params, "excludedAttributes"))?;
        let body = json_body(payload).await?;
        let mut user = with_password(parse(&body)?).await?;
        let id = id.into_inner();
        user.id.clone_from(&id);
        let if_match = if_match(&req);
        let now = ctx.store.now();
        let base = ctx.base.clone();
        let (resource, version) = ctx
            .store
            .write(move |c| {
                let stored = users::get(c, &id)?;
                if let Some(tags) = &if_match
                    && !tags_match(tags, stored.meta.version)
                {
                    return Err(StoreError::VersionMismatch);
                }
                // A password is kept unless the body sets a new one.
                if user.password_hash.is_none() {
                    user.password_hash = stored.password_hash;
                }
                let user = users::update(c, user, Some(stored.meta.version), now)?;
                load(c, &user.id, &base)
            })
            .await?;
        Ok(resource_response(StatusCode::OK, resource, version, &projection))
    };
    run.await.unwrap_or_else(|e: ScimError| error_response(&e))
}

/// DELETE /Users/{id} (RFC 7644 §3.6): 204; memberships go with the user.
pub(crate) async fn delete(
    ctx: web::Data<ScimContext>,
    req: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    let run = async {
        authorize(&ctx, &req, Access::Write).await?;
        let if_match = if_match(&req);
        let id = id.into_inner();
        ctx.store
            .write(move |c| {
                let stored = users::get(c, &id)?;
                if let Some(tags) = &if_match
                    && !tags_match(tags, stored.meta.version)
                {
                    return Err(StoreError::VersionMismatch);
                }
                users::delete(c, &id)?;
                Ok(())
            })
            .await?;
        Ok(HttpResponse::NoContent().finish())
    };
    run.await.unwrap_or_else(|e: ScimError| error_response(&e))
}

async fn run_list(ctx: &ScimContext, request: ListRequest) -> Result<HttpResponse, ScimError> {
    let ListRequest { query, start_index, projection, cursor_count } = request;
    let base = ctx.base.clone();
    let (total, resources, cursors) = ctx
        .store
        .read(move |c| {
            let mut page = match search_users(c, &query) {
                Ok(page) => page,
                Err(e) => return Ok(Err(e)),
            };
            let cursors = cursor_count
                .map(|count| cursor_page(&query, count, &mut page.users, |u| (u.meta.created, u.id.clone())));
            let mut resources = Vec::with_capacity(page.users.len());
            for user in &page.users {
                let groups = memberships_of_user(c, &user.id)?;
                resources.push(render(user, &groups, &base));
            }
            Ok(Ok((page.total, resources, cursors)))
        })
        .await??;
    Ok(list_response(total, start_index, cursors, resources, &projection))
}

/// GET /Users (RFC 7644 §3.4.2).
pub(crate) async fn list(ctx: web::Data<ScimContext>, req: HttpRequest) -> HttpResponse {
    let run = async {
        authorize(&ctx, &req, Access::Read).await?;
        let p = params(&req)?;
        let list = ListParams {
            filter: param(&p, "filter"),
            sort_by: param(&p, "sortBy"),
            sort_order: param(&p, "sortOrder"),
            start_index: integer(param(&p, "startIndex"), "startIndex")?,
            count: integer(param(&p, "count"), "count")?,
            cursor: param(&p, "cursor"),
        };
        let projection = projection(param(&p, "attributes"), param(&p, "excludedAttributes"))?;
        let request = list_request(&ctx, &list, projection)?;
        run_list(&ctx, request).await
    };
    run.await.unwrap_or_else(|e: ScimError| error_response(&e))
}

/// POST /Users/.search (RFC 7644 §3.4.3): the same, with the parameters in
/// a SearchRequest body.
pub(crate) async fn search(ctx: web::Data<ScimContext>, req: HttpRequest, payload: Payload) -> HttpResponse {
    let run = async {
        authorize(&ctx, &req, Access::Read).await?;
        let request = search_request(&ctx, &json_body(payload).await?, &[USER_SCHEMA])?;
        run_list(&ctx, request).await
    };
    run.await.unwrap_or_else(|e: ScimError| error_response(&e))
}

/// How often a PATCH is tried again when another write got in between its
/// read and its write (without `If-Match`, the client did not ask to fail).
const PATCH_ATTEMPTS: usize = 3;

/// PATCH /Users/{id} (RFC 7644 §3.5.2): every operation applies, or none;
/// 200 with the resource.
pub(crate) async fn patch(
    ctx: web::Data<ScimContext>,
    req: HttpRequest,
    id: web::Path<String>,
    payload: Payload,
) -> HttpResponse {
    let run = async {
        authorize(&ctx, &req, Access::Write).await?;
        let params = params(&req)?;
        let projection = projection(param(&params, "attributes"), param(&params, "excludedAttributes"))?;
        let body = json_body(payload).await?;
        let if_match = if_match(&req);
        let id = id.into_inner();
        for attempt in 1..=PATCH_ATTEMPTS {
            let (base, read_id) = (ctx.base.clone(), id.clone());
            let (mut resource, version) = ctx.store.read(move |c| load(c, &read_id, &base)).await?;
            if let Some(tags) = &if_match
                && !tags_match(tags, version)
            {
                return Err(ScimError::PreconditionFailed);
            }
            crate::patch::apply(&mut resource, crate::user::patch_layout(), &body)?;
            let mut user = with_password(parse(&resource)?).await?;
            user.id.clone_from(&id);
            let (base, now) = (ctx.base.clone(), ctx.store.now());
            let written = ctx
                .store
                .write(move |c| {
                    let stored = users::get(c, &user.id)?;
                    if user.password_hash.is_none() {
                        user.password_hash = stored.password_hash;
                    }
                    let user = users::update(c, user, Some(version), now)?;
                    load(c, &user.id, &base)
                })
                .await;
            match written {
                Ok((resource, version)) => {
                    return Ok(resource_response(StatusCode::OK, resource, version, &projection));
                }
                Err(StoreError::VersionMismatch) if if_match.is_none() && attempt < PATCH_ATTEMPTS => {}
                Err(other) => return Err(other.into()),
            }
        }
        Err(ScimError::PreconditionFailed)
    };
    run.await.unwrap_or_else(|e: ScimError| error_response(&e))
}

/// The user `/Me` stands for (RFC 7644 §3.11): the subject of the token,
/// which any valid token may ask about itself.
async fn me(ctx: &ScimContext, req: &HttpRequest) -> Result<String, ScimError> {
    let token = authorize(ctx, req, Access::Any).await?;
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
pub(crate) async fn me_get(ctx: web::Data<ScimContext>, req: HttpRequest) -> HttpResponse {
    let run = async {
        let id = me(&ctx, &req).await?;
        let params = params(&req)?;
        let projection = projection(param(&params, "attributes"), param(&params, "excludedAttributes"))?;
        let base = ctx.base.clone();
        let (resource, version) = ctx.store.read(move |c| load(c, &id, &base)).await?;
        if header_matches(&req, IF_NONE_MATCH, version) == Some(true) {
            return Ok(HttpResponse::NotModified().insert_header((ETAG, etag(version))).finish());
        }
        Ok(resource_response(StatusCode::OK, resource, version, &projection))
    };
    run.await.unwrap_or_else(|e: ScimError| error_response(&e))
}

/// PUT /Me: as PUT /Users/{id} for the token's user (scim:write needed).
pub(crate) async fn me_put(ctx: web::Data<ScimContext>, req: HttpRequest, payload: Payload) -> HttpResponse {
    match me(&ctx, &req).await {
        Ok(id) => replace(ctx, req, web::Path::from(id), payload).await,
        Err(e) => error_response(&e),
    }
}

/// PATCH /Me: as PATCH /Users/{id} for the token's user (scim:write needed).
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
pub(crate) async fn me_delete(ctx: web::Data<ScimContext>, req: HttpRequest) -> HttpResponse {
    match me(&ctx, &req).await {
        Ok(id) => delete(ctx, req, web::Path::from(id)).await,
        Err(e) => error_response(&e),
    }
}
