//! POST /Bulk (RFC 7644 §3.7): many writes in one request, each its own
//! transaction, in order, with `bulkId` references between them.
//!
//! A `"bulkId:<id>"` string anywhere in an operation's path or data stands
//! for the resource an earlier (or later) POST in the same request created.
//! Operations whose references are not resolved yet wait for the others;
//! what still cannot be resolved at the end (a cycle, a bulkId nobody
//! creates) fails with 409. `failOnErrors` stops the request after that
//! many errors. The limits are advertised in /ServiceProviderConfig and
//! answered with 413 when exceeded.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::web::{self, Payload};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Map, Value, json};

use super::ScimContext;
use super::Token;
use super::audit::Audit;
use super::auth::{authorize_scopes, permit};
use super::request::json_body;
use super::wire::{error_body, error_response, scim};
use super::write;
use crate::ScimError;
use crate::rights::{Kind, Operation as Right};

/// The most operations one request may carry.
pub(crate) const MAX_OPERATIONS: usize = 1000;

const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

/// One operation of the request, as sent.
#[derive(Debug, Clone)]
struct Operation {
    method: String,
    bulk_id: Option<String>,
    path: String,
    data: Option<Value>,
    version: Option<String>,
}

fn field<'v>(object: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    object.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

fn parse(body: &Value) -> Result<(Vec<Operation>, Option<usize>), ScimError> {
    let Some(body) = body.as_object() else {
        return Err(ScimError::InvalidSyntax("a BulkRequest must be a JSON object".into()));
    };
    let declared = field(body, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|v| v.as_str().is_some_and(|v| v.eq_ignore_ascii_case(BULK_REQUEST))));
    if !declared {
        return Err(ScimError::InvalidSyntax(format!("a BulkRequest must declare {BULK_REQUEST}")));
    }
    let Some(list) = field(body, "Operations").and_then(Value::as_array) else {
        return Err(ScimError::InvalidSyntax("a BulkRequest needs an `Operations` array".into()));
    };
    if list.len() > MAX_OPERATIONS {
        return Err(ScimError::PayloadTooLarge(format!(
            "{} operations; at most {MAX_OPERATIONS} are accepted (RFC 7644 §3.7.4)",
            list.len()
        )));
    }
    let fail_on_errors = match field(body, "failOnErrors") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 => Some(usize::try_from(n).unwrap_or(usize::MAX)),
            _ => return Err(ScimError::InvalidValue("failOnErrors must be a positive integer".into())),
        },
    };
    let operations = list
        .iter()
        .map(|op| {
            let Some(op) = op.as_object() else {
                return Err(ScimError::InvalidSyntax("each operation must be an object".into()));
            };
            let text = |name: &str| field(op, name).and_then(Value::as_str).map(str::to_owned);
            Ok(Operation {
                method: text("method").unwrap_or_default().to_ascii_uppercase(),
                bulk_id: text("bulkId"),
                path: text("path").unwrap_or_default(),
                data: field(op, "data").cloned(),
                version: text("version"),
            })
        })
        .collect::<Result<_, _>>()?;
    Ok((operations, fail_on_errors))
}

/// Replaces `bulkId:x` references; `Err(x)` names one not resolved yet.
fn substitute(value: &mut Value, created: &HashMap<String, String>) -> Result<(), String> {
    match value {
        Value::String(s) => {
            if let Some(reference) = s.strip_prefix("bulkId:") {
                match created.get(reference) {
                    Some(id) => *s = id.clone(),
                    None => return Err(reference.to_owned()),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                substitute(item, created)?;
            }
        }
        Value::Object(members) => {
            for member in members.values_mut() {
                substitute(member, created)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Replaces a `bulkId:x` resource id in a path such as `/Groups/bulkId:x`.
fn substitute_path(path: &mut String, created: &HashMap<String, String>) -> Result<(), String> {
    if let Some((prefix, reference)) = path.rsplit_once("/bulkId:") {
        let id = created.get(reference).ok_or_else(|| reference.to_owned())?;
        *path = format!("{prefix}/{id}");
    }
    Ok(())
}

/// The resource type and id a path names: `/Users`, `/Groups/{id}`.
fn target(path: &str) -> Result<(&str, Option<&str>), ScimError> {
    let trimmed = path.trim_start_matches('/');
    let (kind, id) = match trimmed.split_once('/') {
        Some((kind, id)) if !id.is_empty() && !id.contains('/') => (kind, Some(id)),
        None => (trimmed, None),
        _ => return Err(ScimError::InvalidPath(format!("`{path}` is not a resource path"))),
    };
    match kind {
        "Users" | "Groups" => Ok((kind, id)),
        _ => Err(ScimError::InvalidPath(format!("`{path}` is neither under /Users nor /Groups"))),
    }
}

/// Runs one operation whose references are resolved; returns the status,
/// location and version of the result. Each operation is audited as the
/// write it is.
async fn run(
    ctx: &ScimContext,
    req: &HttpRequest,
    token: &Token,
    op: &Operation,
) -> Result<(StatusCode, Option<String>, Option<String>), ScimError> {
    let (kind, id) = target(&op.path)?;
    // Each operation needs the right its own endpoint would need.
    let resource = if kind == "Users" { Kind::User } else { Kind::Group };
    let needed = match op.method.as_str() {
        "POST" => Right::Create,
        "DELETE" => Right::Delete,
        _ => Right::Update,
    };
    let audit = Audit::of(req, &op.method, resource, needed, id);
    audit.by(token);
    let result = async {
        permit(ctx, token, resource, needed)?;
        let actor = audit.actor(ctx, token);
        let data =
            || op.data.as_ref().ok_or_else(|| ScimError::InvalidSyntax(format!("{} needs data", op.method)));
        let if_match = op.version.as_deref();
        let written = match (op.method.as_str(), kind, id) {
            ("POST", _, Some(_)) => {
                return Err(ScimError::InvalidPath("POST goes to /Users or /Groups".into()));
            }
            ("POST", _, None) if op.bulk_id.is_none() => {
                return Err(ScimError::InvalidValue(
                    "a POST operation needs a bulkId (RFC 7644 §3.7)".into(),
                ));
            }
            ("POST", "Users", None) => (StatusCode::CREATED, write::create_user(ctx, &actor, data()?).await?),
            ("POST", _, None) => (StatusCode::CREATED, write::create_group(ctx, &actor, data()?).await?),
            (_, _, None) => return Err(ScimError::InvalidPath(format!("{} needs a resource id", op.method))),
            ("PUT", "Users", Some(id)) => {
                (StatusCode::OK, write::replace_user(ctx, &actor, id, data()?, if_match).await?)
            }
            ("PUT", _, Some(id)) => {
                (StatusCode::OK, write::replace_group(ctx, &actor, id, data()?, if_match).await?)
            }
            ("PATCH", "Users", Some(id)) => {
                (StatusCode::OK, write::patch_user(ctx, &actor, id, data()?, if_match).await?)
            }
            ("PATCH", _, Some(id)) => {
                // A bulk response carries no resource: the members are not read.
                let (_, version) = write::patch_group(ctx, &actor, id, data()?, if_match, false).await?;
                let location = format!("{}/Groups/{id}", ctx.base);
                return Ok((StatusCode::OK, Some(location), Some(crate::user::etag(version))));
            }
            ("DELETE", "Users", Some(id)) => {
                write::delete_user(ctx, &actor, id, if_match).await?;
                return Ok((StatusCode::NO_CONTENT, None, None));
            }
            ("DELETE", _, Some(id)) => {
                write::delete_group(ctx, &actor, id, if_match).await?;
                return Ok((StatusCode::NO_CONTENT, None, None));
            }
            (method, _, _) => {
                return Err(ScimError::InvalidValue(format!(
                    "`{method}` is not a bulk method (POST, PUT, PATCH, DELETE)"
                )));
            }
        };
        let (status, (resource, version)) = written;
        let location = resource["meta"]["location"].as_str().map(str::to_owned);
        Ok((status, location, Some(crate::user::etag(version))))
    }
    .await;
    if let Err(error) = &result {
        audit.failed(ctx, error).await;
    }
    result
}

/// POST /Bulk.
#[utoipa::path(post, path = "/scim/v2/Bulk", tag = "bulk", operation_id = "bulk",
    request_body(content = ref("#/components/schemas/BulkRequest"), content_type = "application/scim+json"),
    extensions(("x-sigil-operation" = json!(["scim.users.create", "scim.users.update", "scim.users.delete", "scim.groups.create", "scim.groups.update", "scim.groups.delete"]))),
    responses((status = 200, description = "Each operation's outcome", body = ref("#/components/schemas/BulkResponse"), content_type = "application/scim+json"),
        crate::http::openapi::Refusals,
        (status = 400, description = "The request is not valid (`scimType` says why)", body = ref("#/components/schemas/Error"), content_type = "application/scim+json"),
        (status = 413, description = "The body or the number of operations is over the limit", body = ref("#/components/schemas/Error"), content_type = "application/scim+json")))]
pub(crate) async fn bulk(ctx: web::Data<ScimContext>, req: HttpRequest, payload: Payload) -> HttpResponse {
    let prepared = async {
        let token = authorize_scopes(&ctx, &req, sigil_access::Scopes::ScimWrite).await?;
        let (operations, fail_on_errors) = parse(&json_body(payload).await?)?;
        Ok::<_, ScimError>((token, operations, fail_on_errors))
    };
    let (token, operations, fail_on_errors) = match prepared.await {
        Ok(prepared) => prepared,
        Err(e) => return error_response(&e),
    };
    let mut created: HashMap<String, String> = HashMap::new();
    let mut results: Vec<Option<Value>> = vec![None; operations.len()];
    let mut pending: Vec<usize> = (0..operations.len()).collect();
    let mut errors = 0usize;
    'passes: loop {
        let mut progressed = false;
        let mut waiting = Vec::new();
        for index in pending {
            let mut op = operations[index].clone();
            let resolved = substitute_path(&mut op.path, &created)
                .and_then(|()| op.data.as_mut().map_or(Ok(()), |d| substitute(d, &created)));
            if resolved.is_err() {
                waiting.push(index);
                continue;
            }
            progressed = true;
            let mut entry = json!({ "method": op.method });
            if let Some(bulk_id) = &op.bulk_id {
                entry["bulkId"] = json!(bulk_id);
            }
            match run(&ctx, &req, &token, &op).await {
                Ok((status, location, version)) => {
                    if let (Some(bulk_id), Some(location)) = (&op.bulk_id, &location)
                        && let Some(id) = location.rsplit('/').next()
                    {
                        created.insert(bulk_id.clone(), id.to_owned());
                    }
                    entry["status"] = json!(status.as_u16().to_string());
                    if let Some(location) = location {
                        entry["location"] = json!(location);
                    }
                    if let Some(version) = version {
                        entry["version"] = json!(version);
                    }
                }
                Err(error) => {
                    let (status, body) = error_body(&error);
                    entry["status"] = json!(status.as_u16().to_string());
                    entry["response"] = body;
                    errors += 1;
                }
            }
            results[index] = Some(entry);
            if fail_on_errors.is_some_and(|limit| errors >= limit) {
                break 'passes;
            }
        }
        pending = waiting;
        if pending.is_empty() {
            break;
        }
        if !progressed {
            // What is left refers to bulkIds nothing here creates, or to
            // each other in a cycle.
            for index in pending {
                let op = &operations[index];
                let error = ScimError::InvalidValue(format!(
                    "operation {} refers to a bulkId that no operation of this request creates",
                    index + 1
                ));
                let (_, mut body) = error_body(&error);
                body["status"] = json!("409");
                let mut entry = json!({ "method": op.method, "status": "409", "response": body });
                if let Some(bulk_id) = &op.bulk_id {
                    entry["bulkId"] = json!(bulk_id);
                }
                results[index] = Some(entry);
            }
            break;
        }
    }
    let body = json!({
        "schemas": [BULK_RESPONSE],
        "Operations": results.into_iter().flatten().collect::<Vec<_>>(),
    });
    scim(&mut HttpResponse::Ok(), &body)
}
