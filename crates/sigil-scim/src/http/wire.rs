//! The one place a [`ScimError`] becomes a response: RFC 7644 §3.12 error
//! bodies in `application/scim+json`, and RFC 6750 §3 `WWW-Authenticate`
//! challenges for token problems. Internal failures are logged and answered
//! without their details.

use actix_web::http::StatusCode;
use actix_web::http::header::WWW_AUTHENTICATE;
use actix_web::{HttpResponse, HttpResponseBuilder};
use serde_json::{Value, json};
use sigil_store::StoreError;

use crate::ScimError;

/// The media type of every SCIM body (RFC 7644 §8.1).
pub(crate) const SCIM_JSON: &str = "application/scim+json";

/// RFC 7644 §3.12.
const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// Status and `scimType` of an error.
fn classify(error: &ScimError) -> (StatusCode, Option<&'static str>) {
    match error {
        ScimError::InvalidFilter(_) => (StatusCode::BAD_REQUEST, Some("invalidFilter")),
        ScimError::InvalidPath(_) => (StatusCode::BAD_REQUEST, Some("invalidPath")),
        ScimError::InvalidSyntax(_) => (StatusCode::BAD_REQUEST, Some("invalidSyntax")),
        ScimError::InvalidValue(_) => (StatusCode::BAD_REQUEST, Some("invalidValue")),
        ScimError::Mutability(_) => (StatusCode::BAD_REQUEST, Some("mutability")),
        ScimError::NoTarget(_) => (StatusCode::BAD_REQUEST, Some("noTarget")),
        ScimError::TooMany(_) => (StatusCode::BAD_REQUEST, Some("tooMany")),
        ScimError::InvalidCursor(_) => (StatusCode::BAD_REQUEST, Some("invalidCursor")),
        ScimError::BadRequest(_) => (StatusCode::BAD_REQUEST, None),
        ScimError::Uniqueness(_) => (StatusCode::CONFLICT, Some("uniqueness")),
        ScimError::NotFound(_) => (StatusCode::NOT_FOUND, None),
        ScimError::PreconditionFailed => (StatusCode::PRECONDITION_FAILED, None),
        ScimError::Unauthorized { .. } => (StatusCode::UNAUTHORIZED, None),
        ScimError::Forbidden { .. } => (StatusCode::FORBIDDEN, None),
        ScimError::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, None),
        ScimError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, None),
        ScimError::NotImplemented(_) => (StatusCode::NOT_IMPLEMENTED, None),
        ScimError::Store(StoreError::Unavailable(_)) => (StatusCode::SERVICE_UNAVAILABLE, None),
        ScimError::Store(_) => (StatusCode::INTERNAL_SERVER_ERROR, None),
    }
}

/// The text of `detail`: the error's own words, except for internal ones.
fn detail(error: &ScimError) -> String {
    match error {
        ScimError::Store(StoreError::Unavailable(_)) => "the directory is unavailable; try again".into(),
        ScimError::Store(_) => "the request failed on the server".into(),
        ScimError::InvalidFilter(d)
        | ScimError::InvalidPath(d)
        | ScimError::InvalidSyntax(d)
        | ScimError::InvalidValue(d)
        | ScimError::Mutability(d)
        | ScimError::NoTarget(d)
        | ScimError::TooMany(d)
        | ScimError::InvalidCursor(d)
        | ScimError::BadRequest(d)
        | ScimError::Uniqueness(d)
        | ScimError::NotFound(d)
        | ScimError::PayloadTooLarge(d)
        | ScimError::NotImplemented(d) => d.clone(),
        ScimError::PreconditionFailed => {
            "the resource has changed since the version given in If-Match".into()
        }
        ScimError::MethodNotAllowed(allow) => format!("this endpoint answers {allow}"),
        ScimError::Unauthorized { description, .. } | ScimError::Forbidden { description, .. } => {
            description.clone()
        }
    }
}

/// The status and RFC 7644 §3.12 body of `error` (also used inside a
/// BulkResponse, §3.7.3).
pub(crate) fn error_body(error: &ScimError) -> (StatusCode, Value) {
    let (status, scim_type) = classify(error);
    // A server fault is an ERROR; what the client got wrong is not (its
    // status is in the request's log line), but its reason helps debugging.
    if status.is_server_error() {
        tracing::error!(%error, "SCIM request failed");
    } else {
        tracing::debug!(%error, "SCIM request refused");
    }
    let mut body = json!({
        "schemas": [ERROR_SCHEMA],
        "status": status.as_u16().to_string(),
        "detail": detail(error),
    });
    if let Some(scim_type) = scim_type {
        body["scimType"] = json!(scim_type);
    }
    (status, body)
}

/// The response for `error`.
pub(crate) fn error_response(error: &ScimError) -> HttpResponse {
    let (status, body) = error_body(error);
    let mut response = HttpResponse::build(status);
    // RFC 6750 §3: a resource server challenges for a bearer token.
    match error {
        ScimError::Unauthorized { token_problem: false, .. } => {
            response.insert_header((WWW_AUTHENTICATE, "Bearer realm=\"scim\""));
        }
        ScimError::Unauthorized { token_problem: true, .. } => {
            response.insert_header((
                WWW_AUTHENTICATE,
                "Bearer realm=\"scim\", error=\"invalid_token\", error_description=\"the access token is not valid\"",
            ));
        }
        ScimError::MethodNotAllowed(allow) => {
            response.insert_header((actix_web::http::header::ALLOW, *allow));
        }
        ScimError::Forbidden { scope: Some(scope), .. } => {
            response.insert_header((
                WWW_AUTHENTICATE,
                format!("Bearer realm=\"scim\", error=\"insufficient_scope\", scope=\"{scope}\""),
            ));
        }
        _ => {}
    }
    scim(&mut response, &body)
}

/// A SCIM JSON body with the headers every SCIM answer carries.
pub(crate) fn scim(response: &mut HttpResponseBuilder, body: &Value) -> HttpResponse {
    response.content_type(SCIM_JSON).insert_header(("Cache-Control", "no-store")).body(body.to_string())
}

/// What no route answered: 405 with `Allow` for a known endpoint asked
/// with another method, 404 otherwise.
pub(crate) async fn not_found(req: actix_web::HttpRequest) -> HttpResponse {
    let path = req.path().strip_prefix(super::PREFIX).unwrap_or_default().trim_end_matches('/');
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let allow = match segments.as_slice() {
        ["ServiceProviderConfig"] | ["ResourceTypes" | "Schemas"] | ["ResourceTypes" | "Schemas", _] => {
            Some("GET")
        }
        [".search"] | ["Users" | "Groups", ".search"] | ["Bulk"] => Some("POST"),
        ["Users" | "Groups"] => Some("GET, POST"),
        ["Users" | "Groups", _] | ["Me"] => Some("GET, PUT, PATCH, DELETE"),
        _ => None,
    };
    match allow {
        Some(allow) => error_response(&ScimError::MethodNotAllowed(allow)),
        None => error_response(&ScimError::NotFound("no such SCIM endpoint".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_maps_to_its_status_and_scim_type() {
        let cases: Vec<(ScimError, u16, Option<&str>)> = vec![
            (ScimError::InvalidFilter("x".into()), 400, Some("invalidFilter")),
            (ScimError::InvalidPath("x".into()), 400, Some("invalidPath")),
            (ScimError::InvalidSyntax("x".into()), 400, Some("invalidSyntax")),
            (ScimError::InvalidValue("x".into()), 400, Some("invalidValue")),
            (ScimError::Mutability("x".into()), 400, Some("mutability")),
            (ScimError::NoTarget("x".into()), 400, Some("noTarget")),
            (ScimError::TooMany("x".into()), 400, Some("tooMany")),
            (ScimError::InvalidCursor("x".into()), 400, Some("invalidCursor")),
            (ScimError::BadRequest("x".into()), 400, None),
            (ScimError::Uniqueness("x".into()), 409, Some("uniqueness")),
            (ScimError::NotFound("x".into()), 404, None),
            (ScimError::PreconditionFailed, 412, None),
            (ScimError::Unauthorized { token_problem: true, description: "x".into() }, 401, None),
            (ScimError::Forbidden { scope: Some("scim:write"), description: "x".into() }, 403, None),
            (ScimError::MethodNotAllowed("GET"), 405, None),
            (ScimError::PayloadTooLarge("x".into()), 413, None),
            (ScimError::NotImplemented("x".into()), 501, None),
            (ScimError::Store(StoreError::Unavailable("down".into())), 503, None),
            (ScimError::Store(StoreError::Other("secret detail".into())), 500, None),
        ];
        for (error, status, scim_type) in cases {
            let (got_status, got_type) = classify(&error);
            assert_eq!((got_status.as_u16(), got_type), (status, scim_type), "{error:?}");
            assert!(!detail(&error).contains("secret detail"), "internal details stay in the log");
        }
    }
}
