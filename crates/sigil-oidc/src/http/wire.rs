//! The one place where `OidcError` becomes an HTTP response (RFC 6749 §5.2):
//! status, `{"error", "error_description"}` body, `Cache-Control: no-store`,
//! and `WWW-Authenticate` for failed Basic client authentication.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, PRAGMA, WWW_AUTHENTICATE};
use serde_json::json;

use crate::OidcError;

/// Status, error code and whether to challenge with Basic, per error.
fn classify(error: &OidcError) -> (StatusCode, &'static str, bool) {
    match error {
        OidcError::InvalidRequest(_) => (StatusCode::BAD_REQUEST, "invalid_request", false),
        // RFC 6749 §5.2: 401 with a WWW-Authenticate challenge matching the
        // scheme the client tried.
        OidcError::InvalidClient { used_basic, .. } => {
            (StatusCode::UNAUTHORIZED, "invalid_client", *used_basic)
        }
        OidcError::InvalidGrant(_) => (StatusCode::BAD_REQUEST, "invalid_grant", false),
        OidcError::UnauthorizedClient(_) => (StatusCode::BAD_REQUEST, "unauthorized_client", false),
        OidcError::UnsupportedGrantType(_) => (StatusCode::BAD_REQUEST, "unsupported_grant_type", false),
        OidcError::InvalidScope(_) => (StatusCode::BAD_REQUEST, "invalid_scope", false),
        OidcError::InvalidTarget(_) => (StatusCode::BAD_REQUEST, "invalid_target", false),
        OidcError::Invalid(_) | OidcError::ClientExists(_) | OidcError::Crypto(_) | OidcError::Store(_) => {
            (StatusCode::INTERNAL_SERVER_ERROR, "server_error", false)
        }
    }
}

/// What the client may read about the error. Internal failures are logged
/// (with the request id, by the surrounding span) and described generically.
fn description(error: &OidcError) -> String {
    let text = match error {
        OidcError::InvalidRequest(d)
        | OidcError::InvalidGrant(d)
        | OidcError::UnauthorizedClient(d)
        | OidcError::UnsupportedGrantType(d)
        | OidcError::InvalidScope(d)
        | OidcError::InvalidTarget(d) => d.clone(),
        OidcError::InvalidClient { description, .. } => description.clone(),
        OidcError::Invalid(_) | OidcError::ClientExists(_) | OidcError::Crypto(_) | OidcError::Store(_) => {
            "the server could not complete the request".into()
        }
    };
    // RFC 6749 §5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
    text.chars().map(|c| if matches!(c, ' '..='~') && c != '"' && c != '\\' { c } else { '\'' }).collect()
}

/// The token-endpoint error response for `error`.
pub(crate) fn token_error(error: &OidcError) -> HttpResponse {
    let (status, code, challenge) = classify(error);
    // A server fault is an ERROR; what the client got wrong is not (its
    // status is in the request's log line), but its reason helps debugging.
    if status.is_server_error() {
        tracing::error!(%error, "token request failed");
    } else {
        tracing::debug!(%error, "token request refused");
    }
    let mut response = HttpResponse::build(status);
    response.insert_header((CACHE_CONTROL, "no-store")).insert_header((PRAGMA, "no-cache"));
    if challenge {
        response.insert_header((WWW_AUTHENTICATE, "Basic realm=\"sigil\""));
    }
    response.json(json!({ "error": code, "error_description": description(error) }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sigil_store::StoreError;

    #[test]
    fn every_error_maps_to_its_registered_code() {
        let cases: Vec<(OidcError, u16, &str, bool)> = vec![
            (OidcError::InvalidRequest("x".into()), 400, "invalid_request", false),
            (
                OidcError::InvalidClient { used_basic: true, description: "x".into() },
                401,
                "invalid_client",
                true,
            ),
            (
                OidcError::InvalidClient { used_basic: false, description: "x".into() },
                401,
                "invalid_client",
                false,
            ),
            (OidcError::InvalidGrant("x".into()), 400, "invalid_grant", false),
            (OidcError::UnauthorizedClient("x".into()), 400, "unauthorized_client", false),
            (OidcError::UnsupportedGrantType("x".into()), 400, "unsupported_grant_type", false),
            (OidcError::InvalidScope("x".into()), 400, "invalid_scope", false),
            (OidcError::InvalidTarget("x".into()), 400, "invalid_target", false),
            (OidcError::Crypto("secret detail".into()), 500, "server_error", false),
            (OidcError::Store(StoreError::Unavailable("db down".into())), 500, "server_error", false),
        ];
        for (error, status, code, challenge) in cases {
            let response = token_error(&error);
            assert_eq!(response.status().as_u16(), status, "{error:?}");
            assert_eq!(classify(&error).1, code);
            assert_eq!(response.headers().get(CACHE_CONTROL).unwrap(), "no-store");
            assert_eq!(response.headers().contains_key(WWW_AUTHENTICATE), challenge, "{error:?}");
            assert!(
                !description(&error).contains("secret detail") && !description(&error).contains("db down")
            );
        }
    }

    #[test]
    fn descriptions_stay_in_the_allowed_characters() {
        let text = description(&OidcError::InvalidRequest("bad \"x\" \\ é\n".into()));
        assert!(text.chars().all(|c| matches!(c, ' '..='~') && c != '"' && c != '\\'), "{text}");
    }
}
