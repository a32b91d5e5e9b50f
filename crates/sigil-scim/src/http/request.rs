//! What SCIM requests carry besides resources: JSON bodies with a size
//! limit and no repeated member names, query parameters, entity tags (RFC 7644 §3.14), and the list and
//! search parameters of §3.4.2 and §3.4.3.

use actix_web::HttpRequest;
use actix_web::http::header::{HeaderName, IF_MATCH};
use actix_web::web::{self, Payload};
use futures_util::StreamExt;
use scim_filter_parser::{parse_attr_path, parse_filter};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use sigil_store::keyset::SortKey;

use super::projection::Projection;
use super::{MAX_PAYLOAD_BYTES, ScimContext};
use crate::user::etag;
use crate::{Position, Query, ScimError, Walk};

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
    parse_json(&body)
}

/// Parses a JSON body, refusing a member name repeated in one object, at
/// any depth (RFC 8259 §4 leaves such a body's meaning to the parser; each
/// would pick its own winner). SCIM attribute names are case-insensitive
/// (RFC 7643 §2.1), so `userName` and `username` are the same member.
/// RFC 7644 §3.12: `invalidSyntax`.
fn parse_json(body: &[u8]) -> Result<Value, ScimError> {
    let invalid = |e: serde_json::Error| ScimError::InvalidSyntax(format!("the body is not JSON: {e}"));
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = UniqueMembers.deserialize(&mut deserializer).map_err(invalid)?;
    deserializer.end().map_err(invalid)?;
    Ok(value)
}

/// Builds a [`Value`] like serde_json does, failing on a repeated member.
#[derive(Debug, Clone, Copy)]
struct UniqueMembers;

impl<'de> DeserializeSeed<'de> for UniqueMembers {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UniqueMembers {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        let mut seen = std::collections::HashSet::new();
        while let Some(name) = map.next_key::<String>()? {
            if !seen.insert(name.to_lowercase()) {
                return Err(de::Error::custom(format!("the member `{name}` appears twice in one object")));
            }
            let value = map.next_value_seed(self)?;
            object.insert(name, value);
        }
        Ok(Value::Object(object))
    }
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
    /// Cursor paging (RFC 9865) with this page size, instead of startIndex.
    pub(super) cursor_count: Option<i64>,
}

/// The list parameters of RFC 7644 §3.4.2 and RFC 9865, as given.
#[derive(Debug, Default)]
pub(super) struct ListParams<'a> {
    pub(super) filter: Option<&'a str>,
    pub(super) sort_by: Option<&'a str>,
    pub(super) sort_order: Option<&'a str>,
    pub(super) start_index: Option<i64>,
    pub(super) count: Option<i64>,
    /// `cursor`: empty for the first page.
    pub(super) cursor: Option<&'a str>,
}

/// RFC 7644 §3.4.2.4: startIndex below 1 is 1; a negative count is 0; a
/// count above the maximum is cut to it. RFC 9865: a `cursor` (empty for the
/// first page) pages from a position in the order asked for instead, and
/// cannot be combined with startIndex.
pub(super) fn list_request(
    ctx: &ScimContext,
    params: &ListParams<'_>,
    projection: Projection,
) -> Result<ListRequest, ScimError> {
    let filter = params.filter.filter(|f| !f.trim().is_empty()).map(parse_filter).transpose()?;
    let sort_by = params
        .sort_by
        .map(|s| parse_attr_path(s).map_err(|e| ScimError::InvalidValue(format!("sortBy `{s}`: {e}"))))
        .transpose()?;
    let descending = match params.sort_order {
        None => false,
        Some(o) if o.eq_ignore_ascii_case("ascending") => false,
        Some(o) if o.eq_ignore_ascii_case("descending") => true,
        Some(o) => {
            return Err(ScimError::InvalidValue(format!(
                "sortOrder `{o}` is neither ascending nor descending"
            )));
        }
    };
    let count = params.count.unwrap_or(ctx.max_results).clamp(0, ctx.max_results);
    if let Some(cursor) = params.cursor {
        if params.start_index.is_some() {
            return Err(ScimError::InvalidValue(
                "use either startIndex or cursor, not both (RFC 9865)".into(),
            ));
        }
        // An empty cursor asks for the first page. Whether a cursor belongs
        // to this sortBy, sortOrder and filter is checked by the search.
        let position = if cursor.trim().is_empty() { None } else { Some(crate::cursor::decode(cursor)?) };
        // One more than asked, to know whether there is a next page.
        let query = Query { filter, sort_by, descending, offset: 0, limit: count + 1, position };
        return Ok(ListRequest { query, start_index: 1, projection, cursor_count: Some(count) });
    }
    let start_index = params.start_index.unwrap_or(1).max(1);
    Ok(ListRequest {
        query: Query { filter, sort_by, descending, offset: start_index - 1, limit: count, position: None },
        start_index,
        projection,
        cursor_count: None,
    })
}

/// Trims a cursor page of `walk` fetched one longer than `count` and names
/// the pages around it: (nextCursor, previousCursor). `items` hold each
/// record's id and its value in the sort attribute.
///
/// RFC 9865 §2: nextCursor on every page but the last; previousCursor
/// never on the first.
pub(super) fn cursor_page<T>(
    request: &Query,
    walk: &Walk,
    count: i64,
    items: &mut Vec<(T, SortKey)>,
    id: impl Fn(&T) -> String,
) -> (Option<String>, Option<String>) {
    let count = usize::try_from(count).unwrap_or(0);
    let forward = request.position.as_ref().is_none_or(|p| p.forward);
    let more = items.len() > count;
    if more {
        if forward {
            items.truncate(count);
        } else {
            items.drain(..items.len() - count);
        }
    }
    let at = |(item, key): &(T, SortKey), forward: bool| {
        let position = Position { walk: walk.clone(), key: key.clone(), id: id(item), forward };
        crate::cursor::encode(&position)
    };
    let (first, last) = (items.first(), items.last());
    if forward {
        let next = last.filter(|_| more).map(|l| at(l, true));
        let previous = first.filter(|_| request.position.is_some()).map(|f| at(f, false));
        (next, previous)
    } else {
        let next = last.map(|l| at(l, true));
        let previous = first.filter(|_| more).map(|f| at(f, false));
        (next, previous)
    }
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
    let (filter, sort_by, sort_order, cursor) =
        (text("filter")?, text("sortBy")?, text("sortOrder")?, text("cursor")?);
    let params = ListParams {
        filter: filter.as_deref(),
        sort_by: sort_by.as_deref(),
        sort_order: sort_order.as_deref(),
        start_index: number("startIndex")?,
        count: number("count")?,
        cursor: cursor.as_deref(),
    };
    let projection = Projection::new(
        text("attributes")?.as_deref(),
        text("excludedAttributes")?.as_deref(),
        core_schemas,
    )?;
    list_request(ctx, &params, projection)
}

/// A ListResponse (RFC 7644 §3.4.2): with `startIndex` for index paging,
/// with `nextCursor` / `previousCursor` (when there are such pages) for
/// cursor paging (RFC 9865 §2).
pub(super) fn list_response(
    total: i64,
    start_index: i64,
    cursors: Option<(Option<String>, Option<String>)>,
    resources: Vec<Value>,
    projection: &Projection,
) -> actix_web::HttpResponse {
    let resources: Vec<Value> = resources.into_iter().map(|r| projection.apply(r)).collect();
    let mut body = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": total,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    });
    match cursors {
        None => body["startIndex"] = serde_json::json!(start_index),
        Some((next, previous)) => {
            if let Some(next) = next {
                body["nextCursor"] = serde_json::json!(next);
            }
            if let Some(previous) = previous {
                body["previousCursor"] = serde_json::json!(previous);
            }
        }
    }
    super::wire::scim(&mut actix_web::HttpResponse::Ok(), &body)
}

/// A single resource: its ETag, `Location` when created (RFC 7644 §3.3),
/// and the projection asked for.
pub(super) fn resource_response(
    status: actix_web::http::StatusCode,
    resource: Value,
    version: i64,
    projection: &Projection,
) -> actix_web::HttpResponse {
    use actix_web::http::header::{ETAG, LOCATION};
    let location = resource["meta"]["location"].as_str().map(str::to_owned);
    let mut response = actix_web::HttpResponse::build(status);
    response.insert_header((ETAG, etag(version)));
    if status == actix_web::http::StatusCode::CREATED
        && let Some(location) = location
    {
        response.insert_header((LOCATION, location));
    }
    super::wire::scim(&mut response, &projection.apply(resource))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_members_are_refused_at_any_depth() {
        for body in [
            r#"{"userName":"a","userName":"b"}"#,
            r#"{"userName":"a","USERNAME":"b"}"#,
            r#"{"name":{"givenName":"a","givenName":"b"}}"#,
            r#"{"emails":[{"value":"a@x.test","value":"b@x.test"}]}"#,
        ] {
            let err = parse_json(body.as_bytes()).unwrap_err();
            assert!(
                matches!(&err, ScimError::InvalidSyntax(d) if d.contains("appears twice")),
                "{body}: {err:?}"
            );
        }
    }

    #[test]
    fn json_parses_as_serde_json_does() {
        for body in [
            r#"{"a":1,"b":-2,"c":1.5,"d":"x","e":null,"f":true,"g":[1,{"a":2}],"h":{"a":{"a":[]}}}"#,
            r#"[{"a":1},{"a":1}]"#,
            r#""text""#,
            "18446744073709551615",
        ] {
            let expected: Value = serde_json::from_str(body).unwrap();
            assert_eq!(parse_json(body.as_bytes()).unwrap(), expected, "{body}");
        }
        for bad in ["{\"a\":1} x", "{\"a\":", "", "[1,]"] {
            assert!(matches!(parse_json(bad.as_bytes()), Err(ScimError::InvalidSyntax(_))), "{bad}");
        }
    }
}
