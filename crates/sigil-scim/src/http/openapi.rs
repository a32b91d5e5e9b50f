//! SCIM's part of Sigil's OpenAPI 3.1 description. The operations come
//! from the handlers' `#[utoipa::path]` annotations; the User and Group
//! schemas are derived here from the RFC 7643 §7 schema descriptions that
//! `/Schemas` serves (`discovery::described`), so the two cannot disagree.
//! The protocol messages of RFC 7644 (ListResponse, SearchRequest, PatchOp,
//! Bulk, Error) are written here once: they are the RFC's, not Sigil's.
//!
//! Each schema comes in two shapes: as returned (`User`: what a response
//! may hold, read-only attributes included, `password` never, nothing
//! else) and as sent (`UserInput`: the writable attributes, with RFC 7643's
//! required ones). Only `id` and `schemas` are required in a returned
//! resource: `attributes` and `excludedAttributes` may leave out the rest.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder, Schema};
use utoipa::{IntoParams, IntoResponses, OpenApi};

use super::{bulk, discovery, groups, root, users};
use crate::filter::GROUP_SCHEMA;
use crate::group::GROUP_ROLES_SCHEMA;
use crate::user::{ENTERPRISE_SCHEMA, USER_SCHEMA};

#[derive(OpenApi)]
#[openapi(
    paths(
        discovery::service_provider_config,
        discovery::resource_types,
        discovery::resource_type,
        discovery::schemas,
        discovery::schema_by_id,
        users::list,
        users::create,
        users::search,
        users::get,
        users::replace,
        users::patch,
        users::delete,
        users::me_get,
        users::me_put,
        users::me_patch,
        users::me_delete,
        groups::list,
        groups::create,
        groups::search,
        groups::get,
        groups::replace,
        groups::patch,
        groups::delete,
        root::search,
        bulk::bulk,
    ),
    tags(
        (name = "users", description = "SCIM Users (RFC 7644 §3)"),
        (name = "groups", description = "SCIM Groups (RFC 7644 §3)"),
        (name = "me", description = "The token's own user (RFC 7644 §3.11)"),
        (name = "search", description = "One search over users and groups (RFC 7644 §3.4.3)"),
        (name = "bulk", description = "Many operations in one request (RFC 7644 §3.7)"),
        (name = "discovery", description = "What this service implements (RFC 7644 §4)"),
    )
)]
struct ScimApi;

/// SCIM's paths, components and tags.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ScimApi::openapi();
    let components = doc.components.get_or_insert_with(Default::default);
    for (name, schema) in schemas() {
        let schema: RefOr<Schema> = match serde_json::from_value(schema) {
            Ok(schema) => schema,
            // The schemas are built below from fixed descriptions; a unit
            // test reads each back, so this cannot happen in a release.
            Err(e) => unreachable!("the {name} schema is not an OpenAPI schema: {e}"),
        };
        components.schemas.insert(name.to_owned(), schema);
    }
    doc
}

/// Which way a resource travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// In a response: read-only attributes too, `returned: never` ones not.
    Returned,
    /// In a request: writable attributes, RFC 7643's required ones required.
    Sent,
}

/// The JSON Schema of one RFC 7643 §7 attribute definition, or `None`
/// when it never travels that way.
fn attribute(def: &Value, side: Side) -> Option<Value> {
    let text = |key: &str| def[key].as_str().unwrap_or_default();
    match side {
        Side::Returned if text("returned") == "never" => return None,
        Side::Sent if text("mutability") == "readOnly" => return None,
        _ => {}
    }
    let mut schema = match text("type") {
        "boolean" => json!({ "type": "boolean" }),
        "integer" => json!({ "type": "integer" }),
        "decimal" => json!({ "type": "number" }),
        "dateTime" => json!({ "type": "string", "format": "date-time" }),
        "binary" => json!({ "type": "string", "contentEncoding": "base64" }),
        "reference" => json!({ "type": "string", "format": "uri-reference" }),
        "complex" => object(def["subAttributes"].as_array().map_or(&[][..], Vec::as_slice), side),
        _ => json!({ "type": "string" }),
    };
    match (side, text("mutability")) {
        (Side::Returned, "readOnly") => schema["readOnly"] = json!(true),
        (Side::Sent, "writeOnly") => schema["writeOnly"] = json!(true),
        _ => {}
    }
    // On the values, not the array: utoipa's array schema has no readOnly.
    if def["multiValued"] == true {
        schema = json!({ "type": "array", "items": schema });
    }
    Some(schema)
}

/// An object of attribute definitions. Returned objects hold nothing
/// undescribed; sent ones may (names are case-insensitive, RFC 7643 §2.1).
fn object(defs: &[Value], side: Side) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for def in defs {
        let Some(name) = def["name"].as_str() else { continue };
        if let Some(schema) = attribute(def, side) {
            properties.insert(name.to_owned(), schema);
            if side == Side::Sent && def["required"] == true {
                required.push(name);
            }
        }
    }
    let mut schema = json!({ "type": "object" });
    if !properties.is_empty() {
        schema["properties"] = Value::Object(properties);
    }
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    if side == Side::Returned {
        schema["additionalProperties"] = json!(false);
    }
    schema
}

/// The attribute definitions of the described schema `urn`.
fn attributes<'a>(described: &'a [Value], urn: &str) -> &'a [Value] {
    described
        .iter()
        .find(|s| s["id"] == urn)
        .and_then(|s| s["attributes"].as_array())
        .map_or(&[][..], Vec::as_slice)
}

/// A resource of the core schema `core` with the extension `extension`,
/// with RFC 7643 §3.1's common attributes.
fn resource(described: &[Value], core: &str, extension: &str, side: Side) -> Value {
    let mut schema = object(attributes(described, core), side);
    let properties = schema["properties"].as_object_mut().map(std::mem::take).unwrap_or_default();
    let mut all = Map::new();
    all.insert("schemas".into(), json!({ "type": "array", "items": { "type": "string" }, "minItems": 1 }));
    if side == Side::Returned {
        all.insert("id".into(), json!({ "type": "string", "readOnly": true }));
    }
    all.insert("externalId".into(), json!({ "type": "string" }));
    all.extend(properties);
    let extension_schema = object(attributes(described, extension), side);
    // An extension with nothing to send (read-only roles) is left out.
    if extension_schema.get("properties").is_some() {
        all.insert(extension.into(), extension_schema);
    }
    if side == Side::Returned {
        all.insert("meta".into(), json!({ "$ref": "#/components/schemas/Meta" }));
        schema["required"] = json!(["schemas", "id"]);
    }
    schema["properties"] = Value::Object(all);
    schema
}

const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// Every component schema, by name.
fn schemas() -> Vec<(&'static str, Value)> {
    let described = discovery::described("");
    let list = |resources: Value, urn: &str| {
        json!({
            "type": "object",
            "description": format!("RFC 7644 §3.4.2 (`startIndex` for index paging; `nextCursor`, \
                                    `previousCursor` for cursor paging, RFC 9865 §2). {urn}"),
            "required": ["schemas", "totalResults", "Resources"],
            "properties": {
                "schemas": { "type": "array", "items": { "type": "string", "enum": [LIST_SCHEMA] } },
                "totalResults": { "type": "integer", "minimum": 0 },
                "itemsPerPage": { "type": "integer", "minimum": 0 },
                "startIndex": { "type": "integer", "minimum": 1 },
                "nextCursor": { "type": "string" },
                "previousCursor": { "type": "string" },
                "Resources": { "type": "array", "items": resources },
            },
            "additionalProperties": false,
        })
    };
    let discovered = json!({
        "type": "object",
        "required": ["schemas"],
        "properties": { "schemas": { "type": "array", "items": { "type": "string" } } },
    });
    vec![
        ("User", resource(&described, USER_SCHEMA, ENTERPRISE_SCHEMA, Side::Returned)),
        ("UserInput", resource(&described, USER_SCHEMA, ENTERPRISE_SCHEMA, Side::Sent)),
        ("Group", resource(&described, GROUP_SCHEMA, GROUP_ROLES_SCHEMA, Side::Returned)),
        ("GroupInput", resource(&described, GROUP_SCHEMA, GROUP_ROLES_SCHEMA, Side::Sent)),
        (
            "Meta",
            json!({
                "type": "object",
                "description": "RFC 7643 §3.1",
                "readOnly": true,
                "properties": {
                    "resourceType": { "type": "string" },
                    "created": { "type": "string", "format": "date-time" },
                    "lastModified": { "type": "string", "format": "date-time" },
                    "location": { "type": "string", "format": "uri" },
                    "version": { "type": "string" },
                },
                "additionalProperties": false,
            }),
        ),
        ("UserListResponse", list(json!({ "$ref": "#/components/schemas/User" }), "Users.")),
        ("GroupListResponse", list(json!({ "$ref": "#/components/schemas/Group" }), "Groups.")),
        (
            "ListResponse",
            list(
                json!({ "type": "object", "required": ["schemas"],
                        "properties": { "schemas": { "type": "array", "items": { "type": "string" } } } }),
                "Resources of any type.",
            ),
        ),
        (
            "SearchRequest",
            json!({
                "type": "object",
                "description": "RFC 7644 §3.4.3",
                "properties": {
                    "schemas": { "type": "array", "items": { "type": "string", "enum": [SEARCH_SCHEMA] } },
                    "attributes": { "type": "array", "items": { "type": "string" } },
                    "excludedAttributes": { "type": "array", "items": { "type": "string" } },
                    "filter": { "type": "string" },
                    "sortBy": { "type": "string" },
                    "sortOrder": { "type": "string", "enum": ["ascending", "descending"] },
                    "startIndex": { "type": "integer" },
                    "count": { "type": "integer" },
                    "cursor": { "type": "string" },
                },
            }),
        ),
        (
            "PatchOp",
            json!({
                "type": "object",
                "description": "RFC 7644 §3.5.2",
                "required": ["schemas", "Operations"],
                "properties": {
                    "schemas": { "type": "array", "items": { "type": "string", "enum": [PATCH_SCHEMA] } },
                    "Operations": { "type": "array", "minItems": 1, "items": {
                        "type": "object",
                        "required": ["op"],
                        "description": "`value` is any JSON value, as the operation needs.",
                        "properties": {
                            "op": { "type": "string", "description": "add, remove or replace (any letter case)" },
                            "path": { "type": "string" },
                        },
                    } },
                },
            }),
        ),
        (
            "BulkRequest",
            json!({
                "type": "object",
                "description": "RFC 7644 §3.7",
                "required": ["schemas", "Operations"],
                "properties": {
                    "schemas": { "type": "array", "items": { "type": "string", "enum": [BULK_REQUEST_SCHEMA] } },
                    "failOnErrors": { "type": "integer" },
                    "Operations": { "type": "array", "items": {
                        "type": "object",
                        "required": ["method", "path"],
                        "properties": {
                            "method": { "type": "string", "enum": ["POST", "PUT", "PATCH", "DELETE"] },
                            "bulkId": { "type": "string" },
                            "version": { "type": "string" },
                            "path": { "type": "string" },
                            "data": { "type": "object" },
                        },
                    } },
                },
            }),
        ),
        (
            "BulkResponse",
            json!({
                "type": "object",
                "description": "RFC 7644 §3.7.3",
                "required": ["schemas", "Operations"],
                "properties": {
                    "schemas": { "type": "array", "items": { "type": "string", "enum": [BULK_RESPONSE_SCHEMA] } },
                    "Operations": { "type": "array", "items": {
                        "type": "object",
                        "required": ["method", "status"],
                        "properties": {
                            "method": { "type": "string" },
                            "bulkId": { "type": "string" },
                            "version": { "type": "string" },
                            "location": { "type": "string" },
                            "status": { "type": "string" },
                            "response": { "$ref": "#/components/schemas/Error" },
                        },
                    } },
                },
            }),
        ),
        (
            "Error",
            json!({
                "type": "object",
                "description": "RFC 7644 §3.12",
                "required": ["schemas", "status"],
                "properties": {
                    "schemas": { "type": "array", "items": { "type": "string", "enum": [ERROR_SCHEMA] }, "minItems": 1 },
                    "status": { "type": "string", "pattern": "^[0-9]{3}$" },
                    "scimType": { "type": "string", "enum": [
                        "invalidFilter", "tooMany", "uniqueness", "mutability", "invalidSyntax",
                        "invalidPath", "noTarget", "invalidValue", "invalidVers", "sensitive",
                        "invalidCursor", "expiredCursor",
                    ] },
                    "detail": { "type": "string" },
                },
                "additionalProperties": false,
            }),
        ),
        ("ServiceProviderConfig", with_description(discovered.clone(), "RFC 7643 §5")),
        ("ResourceType", with_description(discovered.clone(), "RFC 7643 §6")),
        ("SchemaDefinition", with_description(discovered, "RFC 7643 §7")),
    ]
}

fn with_description(mut schema: Value, description: &str) -> Value {
    schema["description"] = json!(description);
    schema
}

const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const SEARCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const BULK_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const BULK_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

/// The list parameters of RFC 7644 §3.4.2 and RFC 9865 (names are matched
/// in any letter case).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, non_snake_case)] // read by the OpenAPI description only
pub(crate) struct ListQuery {
    /// A filter (RFC 7644 §3.4.2.2).
    filter: Option<String>,
    /// The attribute to sort by (§3.4.2.3).
    sortBy: Option<String>,
    /// `ascending` (the default) or `descending`.
    sortOrder: Option<String>,
    /// The 1-based index of the first result (§3.4.2.4); not with `cursor`.
    startIndex: Option<i64>,
    /// How many results per page, at most the service's maximum.
    count: Option<i64>,
    /// RFC 9865: empty for the first page, then a `nextCursor` or
    /// `previousCursor` of the page before.
    cursor: Option<String>,
}

/// `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, non_snake_case)] // read by the OpenAPI description only
pub(crate) struct Projection {
    /// Comma-separated attribute paths to return (with `id`, `schemas`).
    attributes: Option<String>,
    /// Comma-separated attribute paths to leave out.
    excludedAttributes: Option<String>,
}

/// RFC 7644 §3.14: the write happens only at this version.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // read by the OpenAPI description only
pub(crate) struct IfMatch {
    /// Entity tags, such as `W/"3"`, or `*`.
    #[param(rename = "If-Match")]
    if_match: Option<String>,
}

/// RFC 7644 §3.14: 304 when the resource is still at this version.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // read by the OpenAPI description only
pub(crate) struct IfNoneMatch {
    /// Entity tags, such as `W/"3"`, or `*`.
    #[param(rename = "If-None-Match")]
    if_none_match: Option<String>,
}

/// The refusals every SCIM operation may answer before it reads the
/// request, as RFC 7644 §3.12 errors.
pub(crate) struct Refusals;

impl IntoResponses for Refusals {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let error = |description: &str, challenge: bool| {
            let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("Error"))).build();
            let mut response =
                ResponseBuilder::new().description(description).content(super::wire::SCIM_JSON, content);
            if challenge {
                response = response.header(
                    "WWW-Authenticate",
                    HeaderBuilder::new().description(Some("The RFC 6750 §3 bearer challenge")).build(),
                );
            }
            RefOr::T(response.build())
        };
        BTreeMap::from([
            ("401".to_owned(), error("No bearer token, or one that is not valid", true)),
            ("403".to_owned(), error("The token lacks the scope, or its principal the right", true)),
            ("503".to_owned(), error("The directory is unavailable", false)),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_component_schema_reads_back_as_written() {
        // utoipa drops what it does not know when reading a schema; a
        // keyword lost that way would be a check the document lost.
        for (name, schema) in schemas() {
            let read: RefOr<Schema> = serde_json::from_value(schema.clone()).unwrap();
            assert_eq!(serde_json::to_value(&read).unwrap(), schema, "{name}");
        }
    }

    #[test]
    fn user_schemas_follow_the_described_attributes() {
        let described = discovery::described("");
        let returned = resource(&described, USER_SCHEMA, ENTERPRISE_SCHEMA, Side::Returned);
        let sent = resource(&described, USER_SCHEMA, ENTERPRISE_SCHEMA, Side::Sent);
        for def in attributes(&described, USER_SCHEMA) {
            let name = def["name"].as_str().unwrap();
            let never = def["returned"] == "never";
            let read_only = def["mutability"] == "readOnly";
            assert_eq!(returned["properties"].get(name).is_some(), !never, "{name} returned");
            assert_eq!(sent["properties"].get(name).is_some(), !read_only, "{name} sent");
        }
        assert_eq!(sent["required"], json!(["userName"]));
        assert_eq!(returned["required"], json!(["schemas", "id"]));
        assert_eq!(returned["properties"]["emails"]["items"]["properties"]["value"]["type"], "string");
        assert_eq!(returned["properties"]["groups"]["items"]["readOnly"], true);
        assert!(returned["properties"][ENTERPRISE_SCHEMA]["properties"]["manager"].is_object());
    }
}
