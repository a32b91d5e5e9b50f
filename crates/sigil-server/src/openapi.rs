//! `GET /openapi.json`: the OpenAPI 3.1 description of the admin API and
//! SCIM. Each crate describes its own operations from its handlers and
//! types (`sigil_admin::openapi`, `sigil_scim::openapi`); this module
//! merges them, names the server (the issuer) and the version, and turns
//! each operation's `x-sigil-operation` — its rows in `sigil-access`'s
//! table of rights — into its security requirements, so the scopes the
//! document asks for are the ones the services check.

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

/// The document, serialized once at start-up.
#[derive(Debug, Clone)]
pub(crate) struct Document(String);

impl Document {
    /// The description of the services of `issuer`.
    pub(crate) fn new(issuer: &str) -> Self {
        Self(document(issuer).to_string())
    }
}

/// Mounts `/openapi.json`. Expects `web::Data<Document>` in the app.
pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/openapi.json", web::get().to(serve));
}

/// Unauthenticated, like discovery: it says what the APIs are, not what
/// they hold.
async fn serve(document: web::Data<Document>) -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(document.0.clone())
}

/// The merged document as JSON.
pub(crate) fn document(issuer: &str) -> Value {
    let mut merged = sigil_admin::openapi();
    merged.merge(sigil_scim::openapi());
    let mut doc = serde_json::to_value(&merged).unwrap_or_default();
    doc["info"] = json!({
        "title": "Sigil admin API and SCIM 2.0",
        "description": "The admin API under /admin and the SCIM 2.0 service under /scim/v2. Every \
                        operation takes a bearer token: an access token this server issued for the \
                        API (its audience), or an API token. `x-sigil-operation` names the \
                        operation's row in the table of rights (docs/authorization.md), which also \
                        decides the built-in roles that may call it.",
        "version": env!("CARGO_PKG_VERSION"),
        "license": { "name": "Apache-2.0", "identifier": "Apache-2.0" },
    });
    doc["servers"] = json!([{ "url": issuer.trim_end_matches('/') }]);
    doc["components"]["securitySchemes"] = json!({
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token from this server's token endpoint (RFC 6750, RFC 9068) \
                            with one of the listed scopes.",
        },
        "api_token": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "sigil_at_…",
            "description": "A long-lived API token a client holds (`sigil token create`, \
                            POST /admin/api-tokens), carrying one of the listed scopes.",
        },
    });
    if let Some(paths) = doc["paths"].as_object_mut() {
        for item in paths.values_mut() {
            let Some(operations) = item.as_object_mut() else { continue };
            for operation in operations.values_mut() {
                let scopes = scopes(&operation["x-sigil-operation"]);
                operation["security"] = json!([{ "bearer": scopes }, { "api_token": scopes }]);
            }
        }
    }
    doc
}

/// The scopes that admit a token to every operation named (one name, or
/// a list for `/Bulk` and `/.search`); none for an operation any valid
/// token may call (`GET /Me`).
fn scopes(named: &Value) -> Vec<&'static str> {
    let names: Vec<&str> = match named {
        Value::String(name) => vec![name.as_str()],
        Value::Array(names) => names.iter().filter_map(Value::as_str).collect(),
        _ => return Vec::new(),
    };
    let mut admitted: Option<Vec<&'static str>> = None;
    for name in names {
        let Some(right) = sigil_access::RIGHTS.iter().find(|r| r.name == name) else { continue };
        let any_of = right.scopes.any_of();
        admitted = Some(match admitted {
            None => any_of.to_vec(),
            Some(so_far) => so_far.into_iter().filter(|s| any_of.contains(s)).collect(),
        });
    }
    admitted.unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Every row of the table of rights is some documented operation's,
    /// and every documented operation names rows that exist (or none, for
    /// `GET /Me`, which any valid token may call): an operation added to
    /// `sigil-access` with a route and no annotation fails here.
    #[test]
    fn every_right_is_a_documented_operation() {
        let doc = document("https://id.example.test");
        let mut named = BTreeSet::new();
        let mut unnamed = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                match &operation["x-sigil-operation"] {
                    Value::String(name) => {
                        named.insert(name.clone());
                    }
                    Value::Array(names) => named.extend(names.iter().map(|n| n.as_str().unwrap().to_owned())),
                    _ => unnamed.push(format!("{method} {path}")),
                }
                assert!(operation["security"].is_array(), "{method} {path}");
            }
        }
        let rights: BTreeSet<String> = sigil_access::RIGHTS.iter().map(|r| r.name.to_owned()).collect();
        assert_eq!(named, rights);
        assert_eq!(unnamed, ["get /scim/v2/Me"]);
    }

    #[test]
    fn security_follows_the_table_of_rights() {
        let doc = document("https://id.example.test/");
        let security = |path: &str, method: &str| doc["paths"][path][method]["security"].clone();
        assert_eq!(
            security("/admin/clients", "get"),
            json!([{ "bearer": ["admin"] }, { "api_token": ["admin"] }])
        );
        assert_eq!(
            security("/scim/v2/Users", "get")[0]["bearer"],
            json!(["scim:read", "scim:write", "admin"])
        );
        assert_eq!(security("/scim/v2/Bulk", "post")[0]["bearer"], json!(["scim:write", "admin"]));
        assert_eq!(security("/scim/v2/Me", "get")[0]["bearer"], json!([]));
        assert_eq!(doc["servers"], json!([{ "url": "https://id.example.test" }]));
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    }
}
