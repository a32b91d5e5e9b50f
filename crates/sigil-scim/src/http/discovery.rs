//! Service provider configuration, resource types and schemas (RFC 7644
//! §4, RFC 7643 §5-§7): what this server implements, advertised as it is.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::auth::authorize_discovery;
use super::wire::{error_response, scim};
use super::{MAX_PAYLOAD_BYTES, ScimContext};
use crate::ScimError;
use crate::filter::GROUP_SCHEMA;
use crate::group::GROUP_ROLES_SCHEMA;
use crate::user::{ENTERPRISE_SCHEMA, USER_SCHEMA};

const SPC_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// GET /ServiceProviderConfig (RFC 7643 §5).
#[utoipa::path(get, path = "/scim/v2/ServiceProviderConfig", tag = "discovery", operation_id = "discovery_service_provider_config",
    extensions(("x-sigil-operation" = json!("scim.discovery.read"))),
    responses((status = 200, description = "What this service implements (RFC 7643 §5)", body = ref("#/components/schemas/ServiceProviderConfig"), content_type = "application/scim+json"),
        crate::http::openapi::Refusals))]
pub(crate) async fn service_provider_config(ctx: web::Data<ScimContext>, req: HttpRequest) -> HttpResponse {
    if let Err(e) = authorize_discovery(&ctx, &req).await {
        return error_response(&e);
    }
    let body = json!({
        "schemas": [SPC_SCHEMA],
        "patch": { "supported": true },
        "bulk": { "supported": true, "maxOperations": super::bulk::MAX_OPERATIONS, "maxPayloadSize": MAX_PAYLOAD_BYTES },
        "filter": { "supported": true, "maxResults": ctx.max_results },
        // RFC 9865 §4: both kinds of paging; cursors never expire, as they
        // name a position rather than a stored result set.
        "pagination": {
            "cursor": true,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": ctx.max_results,
            "maxPageSize": ctx.max_results,
        },
        "changePassword": { "supported": true },
        "sort": { "supported": true },
        "etag": { "supported": true },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "An access token from this server's token endpoint, with the scope scim:read or scim:write (RFC 6750).",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": true,
        }],
        "meta": { "resourceType": "ServiceProviderConfig", "location": format!("{}/ServiceProviderConfig", ctx.base) },
    });
    scim(&mut HttpResponse::Ok(), &body)
}

fn user_resource_type(base: &str) -> Value {
    json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "User Account",
        "schema": USER_SCHEMA,
        "schemaExtensions": [{ "schema": ENTERPRISE_SCHEMA, "required": false }],
        "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User") },
    })
}

fn group_resource_type(base: &str) -> Value {
    json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": "Group",
        "name": "Group",
        "endpoint": "/Groups",
        "description": "Group",
        "schema": GROUP_SCHEMA,
        "schemaExtensions": [{ "schema": GROUP_ROLES_SCHEMA, "required": false }],
        "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group") },
    })
}

fn list(resources: &[Value]) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": resources.len(),
        "itemsPerPage": resources.len(),
        "startIndex": 1,
        "Resources": resources,
    })
}

/// GET /ResourceTypes (RFC 7643 §6).
#[utoipa::path(get, path = "/scim/v2/ResourceTypes", tag = "discovery", operation_id = "discovery_resource_types",
    extensions(("x-sigil-operation" = json!("scim.discovery.read"))),
    responses((status = 200, description = "User and Group (RFC 7643 §6)", body = ref("#/components/schemas/ListResponse"), content_type = "application/scim+json"),
        crate::http::openapi::Refusals))]
pub(crate) async fn resource_types(ctx: web::Data<ScimContext>, req: HttpRequest) -> HttpResponse {
    if let Err(e) = authorize_discovery(&ctx, &req).await {
        return error_response(&e);
    }
    scim(&mut HttpResponse::Ok(), &list(&[user_resource_type(&ctx.base), group_resource_type(&ctx.base)]))
}

/// GET /ResourceTypes/{name}.
#[utoipa::path(get, path = "/scim/v2/ResourceTypes/{name}", tag = "discovery", operation_id = "discovery_resource_type",
    params(("name" = String, Path, description = "`User` or `Group`")),
    extensions(("x-sigil-operation" = json!("scim.discovery.read"))),
    responses((status = 200, description = "The resource type", body = ref("#/components/schemas/ResourceType"), content_type = "application/scim+json"),
        crate::http::openapi::Refusals,
        (status = 404, description = "No such resource", body = ref("#/components/schemas/Error"), content_type = "application/scim+json")))]
pub(crate) async fn resource_type(
    ctx: web::Data<ScimContext>,
    req: HttpRequest,
    name: web::Path<String>,
) -> HttpResponse {
    if let Err(e) = authorize_discovery(&ctx, &req).await {
        return error_response(&e);
    }
    match name.as_str() {
        "User" => return scim(&mut HttpResponse::Ok(), &user_resource_type(&ctx.base)),
        "Group" => return scim(&mut HttpResponse::Ok(), &group_resource_type(&ctx.base)),
        _ => {}
    }
    error_response(&ScimError::NotFound(format!("no resource type `{name}`")))
}

/// One attribute definition (RFC 7643 §7).
struct Def {
    name: &'static str,
    kind: &'static str,
    multi: bool,
    required: bool,
    case_exact: bool,
    mutability: &'static str,
    returned: &'static str,
    uniqueness: &'static str,
    reference_types: &'static [&'static str],
    canonical: &'static [&'static str],
    subs: Vec<Def>,
}

fn def(name: &'static str, kind: &'static str) -> Def {
    Def {
        name,
        kind,
        multi: false,
        required: false,
        case_exact: false,
        mutability: "readWrite",
        returned: "default",
        uniqueness: "none",
        reference_types: &["external"],
        canonical: &[],
        subs: Vec::new(),
    }
}

impl Def {
    fn multi(mut self) -> Self {
        self.multi = true;
        self
    }
    fn required(mut self) -> Self {
        self.required = true;
        self
    }
    fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }
    fn mutability(mut self, m: &'static str) -> Self {
        self.mutability = m;
        self
    }
    fn returned(mut self, r: &'static str) -> Self {
        self.returned = r;
        self
    }
    fn unique(mut self, u: &'static str) -> Self {
        self.uniqueness = u;
        self
    }
    /// RFC 7643 §7 `referenceTypes`: what a reference points at.
    fn references(mut self, types: &'static [&'static str]) -> Self {
        self.reference_types = types;
        self
    }
    /// RFC 7643 §7 `canonicalValues`.
    fn canonical(mut self, values: &'static [&'static str]) -> Self {
        self.canonical = values;
        self
    }
    fn with(mut self, subs: Vec<Def>) -> Self {
        self.subs = subs;
        self
    }

    fn json(&self) -> Value {
        let mut v = json!({
            "name": self.name,
            "type": self.kind,
            "multiValued": self.multi,
            "description": "",
            "required": self.required,
            "mutability": self.mutability,
            "returned": self.returned,
        });
        if self.kind != "complex" && self.kind != "boolean" {
            v["caseExact"] = json!(self.case_exact);
            v["uniqueness"] = json!(self.uniqueness);
        }
        if self.kind == "reference" {
            v["referenceTypes"] = json!(self.reference_types);
        }
        if !self.canonical.is_empty() {
            v["canonicalValues"] = json!(self.canonical);
        }
        if !self.subs.is_empty() {
            v["subAttributes"] = Value::Array(self.subs.iter().map(Def::json).collect());
        }
        v
    }
}

/// `{value, display, type, primary}` of a multi-valued attribute, with the
/// canonical `type` values of RFC 7643 §4.1.2.
fn multi(name: &'static str, types: &'static [&'static str]) -> Def {
    def(name, "complex").multi().with(vec![
        def("value", "string"),
        def("display", "string"),
        def("type", "string").canonical(types),
        def("primary", "boolean"),
    ])
}

fn user_schema(base: &str) -> Value {
    let s = |n| def(n, "string");
    let attributes = vec![
        s("userName").required().unique("server"),
        def("name", "complex").with(vec![
            s("formatted"),
            s("familyName"),
            s("givenName"),
            s("middleName"),
            s("honorificPrefix"),
            s("honorificSuffix"),
        ]),
        s("displayName"),
        s("nickName"),
        def("profileUrl", "reference").case_exact(),
        s("title"),
        s("userType"),
        s("preferredLanguage"),
        s("locale"),
        s("timezone"),
        def("active", "boolean"),
        s("password").case_exact().mutability("writeOnly").returned("never"),
        multi("emails", &["work", "home", "other"]),
        multi("phoneNumbers", &["work", "home", "mobile", "fax", "pager", "other"]),
        multi("ims", &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"]),
        // RFC 7643 §4.1.2: a photo's value is a URL, a `reference` of type
        // `external`, like `profileUrl` (only web URLs are stored).
        def("photos", "complex").multi().with(vec![
            def("value", "reference"),
            s("display"),
            s("type").canonical(&["photo", "thumbnail"]),
            def("primary", "boolean"),
        ]),
        def("addresses", "complex").multi().with(vec![
            s("formatted"),
            s("streetAddress"),
            s("locality"),
            s("region"),
            s("postalCode"),
            s("country"),
            s("type").canonical(&["work", "home", "other"]),
            def("primary", "boolean"),
        ]),
        def("groups", "complex").multi().mutability("readOnly").with(vec![
            s("value").mutability("readOnly"),
            def("$ref", "reference").references(&["User", "Group"]).mutability("readOnly"),
            s("display").mutability("readOnly"),
            s("type").canonical(&["direct", "indirect"]).mutability("readOnly"),
        ]),
        multi("entitlements", &[]),
        multi("roles", &[]),
        def("x509Certificates", "complex").multi().with(vec![
            def("value", "binary").case_exact(),
            s("display"),
            s("type"),
            def("primary", "boolean"),
        ]),
    ];
    schema(base, USER_SCHEMA, "User", "User Account", &attributes)
}

fn enterprise_schema(base: &str) -> Value {
    let s = |n| def(n, "string");
    let attributes = vec![
        s("employeeNumber"),
        s("costCenter"),
        s("organization"),
        s("division"),
        s("department"),
        def("manager", "complex").with(vec![
            s("value"),
            def("$ref", "reference").references(&["User"]),
            s("displayName").mutability("readOnly"),
        ]),
    ];
    schema(base, ENTERPRISE_SCHEMA, "EnterpriseUser", "Enterprise User", &attributes)
}

fn group_schema(base: &str) -> Value {
    let attributes = vec![
        def("displayName", "string").required().unique("server"),
        def("members", "complex").multi().with(vec![
            def("value", "string").case_exact().mutability("immutable"),
            def("$ref", "reference").references(&["User", "Group"]).case_exact().mutability("immutable"),
            def("display", "string").mutability("readOnly"),
            def("type", "string").canonical(&["User", "Group"]).mutability("immutable"),
        ]),
    ];
    schema(base, GROUP_SCHEMA, "Group", "Group", &attributes)
}

/// Sigil's Group extension: the application roles granted to the group,
/// `value` the role's name and `type` its application's client_id.
fn group_roles_schema(base: &str) -> Value {
    let attributes = vec![def("roles", "complex").multi().mutability("readOnly").with(vec![
        def("value", "string").mutability("readOnly"),
        def("type", "string").mutability("readOnly"),
    ])];
    schema(base, GROUP_ROLES_SCHEMA, "GroupRoles", "Application roles granted to a group", &attributes)
}

fn schema(base: &str, id: &str, name: &str, description: &str, attributes: &[Def]) -> Value {
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": id,
        "name": name,
        "description": description,
        "attributes": attributes.iter().map(Def::json).collect::<Vec<_>>(),
        "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{id}") },
    })
}

/// GET /Schemas (RFC 7643 §7).
#[utoipa::path(get, path = "/scim/v2/Schemas", tag = "discovery", operation_id = "discovery_schemas",
    extensions(("x-sigil-operation" = json!("scim.discovery.read"))),
    responses((status = 200, description = "Every schema (RFC 7643 §7)", body = ref("#/components/schemas/ListResponse"), content_type = "application/scim+json"),
        crate::http::openapi::Refusals))]
pub(crate) async fn schemas(ctx: web::Data<ScimContext>, req: HttpRequest) -> HttpResponse {
    if let Err(e) = authorize_discovery(&ctx, &req).await {
        return error_response(&e);
    }
    scim(&mut HttpResponse::Ok(), &list(&described(&ctx.base)))
}

/// Every schema this service describes (RFC 7643 §7), as `/Schemas` serves
/// them: the one description of the resources' attributes, from which the
/// OpenAPI document's resource schemas are derived too (`openapi`).
pub(super) fn described(base: &str) -> [Value; 4] {
    [user_schema(base), enterprise_schema(base), group_schema(base), group_roles_schema(base)]
}

/// GET /Schemas/{urn}.
#[utoipa::path(get, path = "/scim/v2/Schemas/{urn}", tag = "discovery", operation_id = "discovery_schema_by_id",
    params(("urn" = String, Path, description = "The schema's URN")),
    extensions(("x-sigil-operation" = json!("scim.discovery.read"))),
    responses((status = 200, description = "The schema", body = ref("#/components/schemas/SchemaDefinition"), content_type = "application/scim+json"),
        crate::http::openapi::Refusals,
        (status = 404, description = "No such resource", body = ref("#/components/schemas/Error"), content_type = "application/scim+json")))]
pub(crate) async fn schema_by_id(
    ctx: web::Data<ScimContext>,
    req: HttpRequest,
    urn: web::Path<String>,
) -> HttpResponse {
    if let Err(e) = authorize_discovery(&ctx, &req).await {
        return error_response(&e);
    }
    let body = if urn.eq_ignore_ascii_case(USER_SCHEMA) {
        user_schema(&ctx.base)
    } else if urn.eq_ignore_ascii_case(ENTERPRISE_SCHEMA) {
        enterprise_schema(&ctx.base)
    } else if urn.eq_ignore_ascii_case(GROUP_SCHEMA) {
        group_schema(&ctx.base)
    } else if urn.eq_ignore_ascii_case(GROUP_ROLES_SCHEMA) {
        group_roles_schema(&ctx.base)
    } else {
        return error_response(&ScimError::NotFound(format!("no schema `{urn}`")));
    };
    scim(&mut HttpResponse::Ok(), &body)
}
