//! What SCIM requests carry besides resources: JSON bodies with a size
//! limit, query parameters, entity tags (RFC 7644 §3.14), and the list and
//! search parameters of §3.4.2 and §3.4.3.

use actix_web::HttpRequest;
use actix_web::http::header::{HeaderName, IF_MATCH};
use actix_web::web::{self, Payload};
use futures_util::StreamExt;
use scim_filter_parser::{parse_attr_path, parse_filter};
use serde_json::Value;

use super::projection::Projection;
use super::{MAX_PAYLOAD_BYTES, ScimContext};
use crate::user::etag;
use crate::{Query, ScimError};

const SEARCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// Reads a JSON body of at most [`MAX_PAYLOAD_BYTES`].
pub(super) async fn json_body(mut payload: Payload) -> Result<Value, ScimError> {
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
pub(super) fn params(req: &HttpRequest) -> Result<Vec<(String, String)>, ScimError> {
    web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|e| ScimError::BadRequest(format!("the query string is malformed: {e}")))
}

pub(super) fn param<'p>(params: &'p [(String, String)], name: &str) -> Option<&'p str> {
    params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// Whether an `If-Match` / `If-None-Match` header lists `version` (or `*`).
pub(super) fn header_matches(req: &HttpRequest, header: HeaderName, version: i64) -> Option<bool> {
    let value = req.headers().get(header)?.to_str().ok()?;
    Some(tags_match(value, version))
}

/// Whether a list of entity tags names `version`. RFC 9110 §13.1 compares
/// weakly, so the strong tag `"3"` names version 3 too.
pub(super) fn tags_match(tags: &str, version: i64) -> bool {
    let tag = etag(version);
    let strong = tag.trim_start_matches("W/").to_owned();
    tags.split(',').map(str::trim).any(|t| t == "*" || t == tag || t == strong)
}

pub(super) fn if_match(req: &HttpRequest) -> Option<String> {
    req.headers().get(IF_MATCH).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// What a list or search request asked for.
pub(super) struct ListRequest {
    pub(super) query: Query,
    pub(super) start_index: i64,
    pub(super) projection: Projection,
}

/// RFC 7644 §3.4.2.4: startIndex below 1 is 1; a negative count is 0; a
/// count above the maximum is cut to it.
pub(super) fn list_request(
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
        query: Query { filter, sort_by, descending, offset: start_index - 1, limit: count },
        start_index,
        projection,
    })
}

pub(super) fn integer(raw: Option<&str>, name: &str) -> Result<Option<i64>, ScimError> {
    raw.map(|r| {
        r.trim().parse::<i64>().map_err(|_| ScimError::InvalidValue(format!("{name} must be an integer")))
    })
    .transpose()
}

/// A SearchRequest body (RFC 7644 §3.4.3) as list parameters.
pub(super) fn search_request(
    ctx: &ScimContext,
    body: &Value,
    core_schemas: &[&str],
) -> Result<ListRequest, ScimError> {
    let Some(object) = body.as_object() else {
        return Err(ScimError::InvalidSyntax("a SearchRequest must be a JSON object".into()));
    };
    let declared = object
        .get("schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|v| v.as_str().is_some_and(|v| v.eq_ignore_ascii_case(SEARCH_SCHEMA))));
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
        ctx,
        text("filter")?.as_deref(),
        text("sortBy")?.as_deref(),
        text("sortOrder")?.as_deref(),
        number("startIndex")?,
        number("count")?,
        Projection::new(
            text("attributes")?.as_deref(),
            text("excludedAttributes")?.as_deref(),
            core_schemas,
        )?,
    )?;
    Ok(request)
}
