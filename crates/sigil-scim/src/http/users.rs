//! `/Users`: create, read, replace, delete and search (RFC 7644 §3.3-§3.6),
//! with versions as weak ETags (§3.14).

use actix_web::http::StatusCode;
use actix_web::http::header::{ETAG, IF_MATCH, IF_NONE_MATCH, LOCATION};
use actix_web::web::{self, Payload};
use actix_web::{HttpRequest, HttpResponse};
use futures_util::StreamExt;
use scim_filter_parser::{parse_attr_path, parse_filter};
use serde_json::{Value, json};
use sigil_store::groups::memberships_of_user;
use sigil_store::password::hash_password;
use sigil_store::users::{self, User};
use sigil_store::{AnyConnection, StoreError};

use super::auth::{Access, authorize};
use super::projection::Projection;
use super::wire::{error_response, scim};
use super::{MAX_PAYLOAD_BYTES, ScimContext};
use crate::user::{USER_SCHEMA, etag, render};
use crate::user_input::{UserInput, parse};
use crate::{ScimError, UserQuery, search_users};

const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const SEARCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// Reads a JSON body of at most [`MAX_PAYLOAD_BYTES`].
async fn json_body(mut payload: Payload) -> Result<Value, ScimError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ScimError::InvalidSyntax(format!("the body could not be read: {e}")))?;
        if body.len() + chunk.len() > MAX_PAYLOAD_BYTES {
            return Err(ScimError::PayloadTooLarge(format!("the body is over {MAX_PAYLOAD_BYTES} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|e| ScimError::InvalidSyntax(format!("the body is not JSON: {e}")))
}

/// The query string's parameters, names in any letter case.
fn params(req: &HttpRequest) -> Result<Vec<(String, String)>, ScimError> {
    web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|e| ScimError::BadRequest(format!("the query string is malformed: {e}")))
}

fn param<'p>(params: &'p [(String, String)], name: &str) -> Option<&'p str> {
    params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

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

/// Whether an `If-Match` / `If-None-Match` header lists `version` (or `*`).
fn header_matches(
    req: &HttpRequest,
    header: actix_web::http::header::HeaderName,
    version: i64,
) -> Option<bool> {
    let value = req.headers().get(header)?.to_str().ok()?;
    Some(tags_match(value, version))
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

/// Whether a list of entity tags names `version`. RFC 9110 §13.1 compares
/// weakly, so the strong tag `"3"` names version 3 too.
fn tags_match(tags: &str, version: i64) -> bool {
    let tag = etag(version);
    let strong = tag.trim_start_matches("W/").to_owned();
    tags.split(',').map(str::trim).any(|t| t == "*" || t == tag || t == strong)
}

fn if_match(req: &HttpRequest) -> Option<String> {
    req.headers().get(IF_MATCH).and_then(|v| v.to_str().ok()).map(str::to_owned)
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

/// What a list or search request asked for.
struct ListRequest {
    query: UserQuery,
    start_index: i64,
    projection: Projection,
}

/// RFC 7644 §3.4.2.4: startIndex below 1 is 1; a negative count is 0; a
/// count above the maximum is cut to it.
fn list_request(
    ctx: &ScimContext,
    filter: Option<&str>,
    sort_by: Option<&str>,
    sort_order: Option<&str>,
    start_index: Option<i64>,
    count: Option<i64>,
    projection: Projection,
) -> Result<ListRequest, ScimError> {
    let filter = filter.filter(|f| !f.trim().is_empty()).map(parse_filter).transpose()?;
    let sort_by = sort_by
        .map(|s| parse_attr_path(s).map_err(|e| ScimError::InvalidValue(format!("sortBy `{s}`: {e}"))))
        .transpose()?;
    let descending = match sort_order {
        None => false,
        Some(o) if o.eq_ignore_ascii_case("ascending") => false,
        Some(o) if o.eq_ignore_ascii_case("descending") => true,
        Some(o) => {
            return Err(ScimError::InvalidValue(format!(
                "sortOrder `{o}` is neither ascending nor descending"
            )));
        }
    };
    let start_index = start_index.unwrap_or(1).max(1);
    let count = count.unwrap_or(ctx.max_results).clamp(0, ctx.max_results);
    Ok(ListRequest {
        query: UserQuery { filter, sort_by, descending, offset: start_index - 1, limit: count },
        start_index,
        projection,
    })
}

fn integer(raw: Option<&str>, name: &str) -> Result<Option<i64>, ScimError> {
    raw.map(|r| {
        r.trim().parse::<i64>().map_err(|_| ScimError::InvalidValue(format!("{name} must be an integer")))
    })
    .transpose()
}

async fn run_list(ctx: &ScimContext, request: ListRequest) -> Result<HttpResponse, ScimError> {
    let ListRequest { query, start_index, projection } = request;
    let base = ctx.base.clone();
    let (total, resources) = ctx
        .store
        .read(move |c| {
            let page = match search_users(c, &query) {
                Ok(page) => page,
                Err(e) => return Ok(Err(e)),
            };
            let mut resources = Vec::with_capacity(page.users.len());
            for user in &page.users {
                let groups = memberships_of_user(c, &user.id)?;
                resources.push(render(user, &groups, &base));
            }
            Ok(Ok((page.total, resources)))
        })
        .await??;
    let resources: Vec<Value> = resources.into_iter().map(|r| projection.apply(r)).collect();
    let body = json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    });
    Ok(scim(&mut HttpResponse::Ok(), &body))
}

/// GET /Users (RFC 7644 §3.4.2).
pub(crate) async fn list(ctx: web::Data<ScimContext>, req: HttpRequest) -> HttpResponse {
    let run = async {
        authorize(&ctx, &req, Access::Read).await?;
        let p = params(&req)?;
        let request = list_request(
            &ctx,
            param(&p, "filter"),
            param(&p, "sortBy"),
            param(&p, "sortOrder"),
            integer(param(&p, "startIndex"), "startIndex")?,
            integer(param(&p, "count"), "count")?,
            projection(param(&p, "attributes"), param(&p, "excludedAttributes"))?,
        )?;
        run_list(&ctx, request).await
    };
    run.await.unwrap_or_else(|e: ScimError| error_response(&e))
}

/// POST /Users/.search (RFC 7644 §3.4.3): the same, with the parameters in
/// a SearchRequest body.
pub(crate) async fn search(ctx: web::Data<ScimContext>, req: HttpRequest, payload: Payload) -> HttpResponse {
    let run = async {
        authorize(&ctx, &req, Access::Read).await?;
        let body = json_body(payload).await?;
        let Some(object) = body.as_object() else {
            return Err(ScimError::InvalidSyntax("a SearchRequest must be a JSON object".into()));
        };
        let declared = object.get("schemas").and_then(Value::as_array).is_some_and(|s| {
            s.iter().any(|v| v.as_str().is_some_and(|v| v.eq_ignore_ascii_case(SEARCH_SCHEMA)))
        });
        if !declared {
            return Err(ScimError::InvalidSyntax(format!("a SearchRequest must declare {SEARCH_SCHEMA}")));
        }
        let text = |name: &str| -> Result<Option<String>, ScimError> {
            match object.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Array(items)) if name.ends_with("ttributes") => {
                    Ok(Some(items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(",")))
                }
                Some(other) => Err(ScimError::InvalidValue(format!("`{name}` cannot be {other}"))),
            }
        };
        let number = |name: &str| -> Result<Option<i64>, ScimError> {
            match object.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v
                    .as_i64()
                    .map(Some)
                    .ok_or_else(|| ScimError::InvalidValue(format!("`{name}` must be an integer"))),
            }
        };
        let request = list_request(
            &ctx,
            text("filter")?.as_deref(),
            text("sortBy")?.as_deref(),
            text("sortOrder")?.as_deref(),
            number("startIndex")?,
            number("count")?,
            projection(text("attributes")?.as_deref(), text("excludedAttributes")?.as_deref())?,
        )?;
        run_list(&ctx, request).await
    };
    run.await.unwrap_or_else(|e: ScimError| error_response(&e))
}
