//! `/Groups`: create, read, replace, delete and search (RFC 7644 §3.3-§3.6)
//! for groups whose members are users or other groups.

use actix_web::http::StatusCode;
use actix_web::http::header::{ETAG, IF_NONE_MATCH, LOCATION};
use actix_web::web::{self, Payload};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::Value;
use sigil_store::groups::{self, Group, Member, named_members};
use sigil_store::{AnyConnection, StoreError};

use super::ScimContext;
use super::auth::{Access, authorize};
use super::projection::Projection;
use super::request::{
    ListParams, ListRequest, cursor_page, header_matches, if_match, integer, json_body, list_request,
    list_response, param, params, search_request, tags_match,
};
use super::wire::{error_response, scim};
use crate::filter::GROUP_SCHEMA;
use crate::group::{GroupInput, parse, render, resolve_member};
use crate::user::etag;
use crate::{ScimError, search_groups};

fn projection(attributes: Option<&str>, excluded: Option<&str>) -> Result<Projection, ScimError> {
    Projection::new(attributes, excluded, &[GROUP_SCHEMA])
}

/// The group with its members, as JSON.
pub(super) fn load(conn: &mut AnyConnection, id: &str, base: &str) -> Result<(Value, i64), StoreError> {
    let group = groups::get(conn, id)?;
    let mut members = named_members(conn, &[group.id.as_str()])?;
    let members = members.remove(&group.id).unwrap_or_default();
    Ok((render(&group, &members, base), group.meta.version))
}

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

/// GET /Groups/{id}.
pub(crate) async fn get(
    ctx: web::Data<ScimContext>,
    req: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    let run = async {
        authorize(&ctx, &req, Access::Read).await?;
        let params = params(&req)?;
        let projection = projection(param(&params, "attributes"), param(&params, "excludedAttributes"))?;
        let (base, id) = (ctx.base.clone(), id.into_inner());
        let (resource, version) = ctx.store.read(move |c| load(c, &id, &base)).await?;
        if header_matches(&req, IF_NONE_MATCH, version) == Some(true) {
            return Ok(HttpResponse::NotModified().insert_header((ETAG, etag(version))).finish());
        }
        Ok(resource_response(StatusCode::OK, resource, version, &projection))
    };
    run.await.unwrap_or_else(|e: ScimError| error_response(&e))
}

/// POST /Groups: a group and its members in one transaction.
pub(crate) async fn create(ctx: web::Data<ScimContext>, req: HttpRequest, payload: Payload) -> HttpResponse {
    let run = async {
        authorize(&ctx, &req, Access::Write).await?;
        let params = params(&req)?;
        let projection = projection(param(&params, "attributes"), param(&params, "excludedAttributes"))?;
        let input = parse(&json_body(payload).await?)?;
        let now = ctx.store.now();
        let base = ctx.base.clone();
        let (resource, version) = ctx
            .store
            .write(move |c| {
                let members = match resolve_all(c, &input, &[])? {
                    Ok(members) => members,
                    Err(e) => return Ok(Err(e)),
                };
                let mut group = Group::new(input.display_name.clone());
                group.external_id.clone_from(&input.external_id);
                let group = groups::insert(c, group, now)?;
                groups::set_members(c, &group.id, &members, now)?;
                Ok(Ok(load(c, &group.id, &base)?))
            })
            .await??;
        Ok(resource_response(StatusCode::CREATED, resource, version, &projection))
    };
    run.await.unwrap_or_else(|e: ScimError| error_response(&e))
}

/// PUT /Groups/{id}: name, externalId and the whole member list.
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
        let input = parse(&json_body(payload).await?)?;
        let if_match = if_match(&req);
        let (id, base, now) = (id.into_inner(), ctx.base.clone(), ctx.store.now());
        let (resource, version) = ctx
            .store
            .write(move |c| {
                let stored = groups::get(c, &id)?;
                if let Some(tags) = &if_match
                    && !tags_match(tags, stored.meta.version)
                {
                    return Err(StoreError::VersionMismatch);
                }
                let current = groups::members(c, &id)?;
                let members = match resolve_all(c, &input, &current)? {
                    Ok(members) => members,
                    Err(e) => return Ok(Err(e)),
                };
                let group = Group {
                    display_name: input.display_name.clone(),
                    external_id: input.external_id.clone(),
                    ..stored
                };
                groups::update(c, &group, Some(group.meta.version), now)?;
                groups::set_members(c, &id, &members, now)?;
                Ok(Ok(load(c, &id, &base)?))
            })
            .await??;
        Ok(resource_response(StatusCode::OK, resource, version, &projection))
    };
    run.await.unwrap_or_else(|e: ScimError| error_response(&e))
}

/// DELETE /Groups/{id}: the group and its memberships, both ways.
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
                let stored = groups::get(c, &id)?;
                if let Some(tags) = &if_match
                    && !tags_match(tags, stored.meta.version)
                {
                    return Err(StoreError::VersionMismatch);
                }
                groups::delete(c, &id)?;
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
            let mut page = match search_groups(c, &query) {
                Ok(page) => page,
                Err(e) => return Ok(Err(e)),
            };
            let cursors = cursor_count.map(|count| {
                cursor_page(&query, count, &mut page.groups, |g| (g.meta.created, g.id.clone()))
            });
            let ids: Vec<&str> = page.groups.iter().map(|g| g.id.as_str()).collect();
            let mut members = named_members(c, &ids)?;
            let resources: Vec<Value> = page
                .groups
                .iter()
                .map(|g| render(g, &members.remove(&g.id).unwrap_or_default(), &base))
                .collect();
            Ok(Ok((page.total, resources, cursors)))
        })
        .await??;
    Ok(list_response(total, start_index, cursors, resources, &projection))
}

/// GET /Groups.
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

/// POST /Groups/.search.
pub(crate) async fn search(ctx: web::Data<ScimContext>, req: HttpRequest, payload: Payload) -> HttpResponse {
    let run = async {
        authorize(&ctx, &req, Access::Read).await?;
        let request = search_request(&ctx, &json_body(payload).await?, &[GROUP_SCHEMA])?;
        run_list(&ctx, request).await
    };
    run.await.unwrap_or_else(|e: ScimError| error_response(&e))
}

/// How often a PATCH is tried again after a concurrent write (without
/// `If-Match`).
const PATCH_ATTEMPTS: usize = 3;

/// PATCH /Groups/{id} (RFC 7644 §3.5.2): all operations or none; members
/// added or removed one at a time by provisioning clients cost a query per
/// change, not per member.
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
            crate::patch::apply(&mut resource, crate::group::patch_layout(), &body)?;
            let input = parse(&resource)?;
            let (base, now, write_id) = (ctx.base.clone(), ctx.store.now(), id.clone());
            let written = ctx
                .store
                .write(move |c| {
                    let stored = groups::get(c, &write_id)?;
                    if stored.meta.version != version {
                        return Err(StoreError::VersionMismatch);
                    }
                    let current = groups::members(c, &write_id)?;
                    let members = match resolve_all(c, &input, &current)? {
                        Ok(members) => members,
                        Err(e) => return Ok(Err(e)),
                    };
                    if stored.display_name != input.display_name || stored.external_id != input.external_id {
                        let group = Group {
                            display_name: input.display_name.clone(),
                            external_id: input.external_id.clone(),
                            ..stored
                        };
                        groups::update(c, &group, Some(version), now)?;
                    }
                    groups::set_members(c, &write_id, &members, now)?;
                    Ok(Ok(load(c, &write_id, &base)?))
                })
                .await;
            match written {
                Ok(Ok((resource, version))) => {
                    return Ok(resource_response(StatusCode::OK, resource, version, &projection));
                }
                Ok(Err(e)) => return Err(e),
                Err(StoreError::VersionMismatch) if if_match.is_none() && attempt < PATCH_ATTEMPTS => {}
                Err(other) => return Err(other.into()),
            }
        }
        Err(ScimError::PreconditionFailed)
    };
    run.await.unwrap_or_else(|e: ScimError| error_response(&e))
}
