//! POST /.search at the service root (RFC 7644 §3.4.3): one search over
//! users and groups. Users come first, then groups, each in creation
//! order; `startIndex` and `count` page the whole. A filter naming an
//! attribute only one resource type has selects nothing of the other;
//! `sortBy` and cursors, which cannot span both types, are refused.

use actix_web::web::{self, Payload};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::Value;
use sigil_store::groups::named_members;

use super::ScimContext;
use super::auth::{authenticate, permit};
use super::request::{ListRequest, json_body, list_response, search_request};
use super::wire::error_response;
use crate::filter::GROUP_SCHEMA;
use crate::rights::{Kind, Operation};
use crate::user::USER_SCHEMA;
use crate::{Query, ScimError, search_groups, search_users};

/// How many of a type match, or `None` when the filter does not apply to it.
fn total<T>(found: Result<T, ScimError>, count: impl Fn(&T) -> i64) -> Result<Option<i64>, ScimError> {
    match found {
        Ok(page) => Ok(Some(count(&page))),
        Err(ScimError::InvalidFilter(_)) => Ok(None),
        Err(other) => Err(other),
    }
}

/// POST /.search.
#[utoipa::path(post, path = "/scim/v2/.search", tag = "search", operation_id = "search",
    request_body(content = ref("#/components/schemas/SearchRequest"), content_type = "application/scim+json"),
    extensions(("x-sigil-operation" = json!(["scim.users.read", "scim.groups.read"]))),
    responses((status = 200, description = "A page of users, then groups", body = ref("#/components/schemas/ListResponse"), content_type = "application/scim+json"),
        crate::http::openapi::Refusals,
        (status = 400, description = "The request is not valid (`scimType` says why)", body = ref("#/components/schemas/Error"), content_type = "application/scim+json")))]
pub(crate) async fn search(ctx: web::Data<ScimContext>, req: HttpRequest, payload: Payload) -> HttpResponse {
    let run = async {
        let token = authenticate(&ctx, &req).await?;
        permit(&ctx, &token, Kind::User, Operation::Read)?;
        permit(&ctx, &token, Kind::Group, Operation::Read)?;
        let request = search_request(&ctx, &json_body(payload).await?, &[USER_SCHEMA, GROUP_SCHEMA])?;
        let ListRequest { query, start_index, projection, cursor_count } = request;
        if cursor_count.is_some() || query.sort_by.is_some() || query.descending {
            return Err(ScimError::InvalidValue(
                "a search at the root spans users and groups: sortBy and cursor are not available there"
                    .into(),
            ));
        }
        let base = ctx.base.clone();
        let (total, resources) = ctx
            .store
            .read(move |c| {
                let counting = Query { offset: 0, limit: 0, ..query.clone() };
                let users = total(search_users(c, &counting), |p| p.total);
                let groups = total(search_groups(c, &counting), |p| p.total);
                let (users, groups) = match (users, groups) {
                    (Ok(None), Ok(None)) => {
                        // Neither type has what the filter names: its own error.
                        return Err(search_users(c, &counting).err().unwrap_or_else(|| {
                            ScimError::InvalidFilter("the filter applies to no resource type".into())
                        }));
                    }
                    (Ok(u), Ok(g)) => (u.unwrap_or(0), g.unwrap_or(0)),
                    (Err(e), _) | (_, Err(e)) => return Err(e),
                };
                let mut resources: Vec<Value> = Vec::new();
                if users > query.offset && query.limit > 0 {
                    let page = search_users(c, &query)?;
                    let ids: Vec<String> = page.users.iter().map(|u| u.id.clone()).collect();
                    let related = crate::user::Related::load_many(c, &ids)?;
                    for (user, related) in page.users.iter().zip(&related) {
                        resources.push(crate::user::render(user, related, &base));
                    }
                }
                let remaining = query.limit - i64::try_from(resources.len()).unwrap_or(i64::MAX);
                if groups > 0 && remaining > 0 {
                    let offset = (query.offset - users).max(0);
                    let page = search_groups(c, &Query { offset, limit: remaining, ..query.clone() })?;
                    let ids: Vec<&str> = page.groups.iter().map(|g| g.id.as_str()).collect();
                    let mut members = named_members(c, &ids)?;
                    let mut roles = sigil_store::roles::granted_to_groups(c, &ids)?;
                    for group in &page.groups {
                        let members = members.remove(&group.id).unwrap_or_default();
                        let roles = roles.remove(&group.id).unwrap_or_default();
                        resources.push(crate::group::render(group, &members, &roles, &base));
                    }
                }
                Ok::<_, ScimError>((users + groups, resources))
            })
            .await?;
        Ok(list_response(total, start_index, None, resources, &projection))
    };
    run.await.unwrap_or_else(|e: ScimError| error_response(&e))
}
