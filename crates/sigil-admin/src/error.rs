//! The admin API's one error type, and the one place it becomes a response:
//! `{"error", "error_description"}` with the status it calls for, and the
//! RFC 6750 §3 `WWW-Authenticate` challenge on 401 and 403.

use actix_web::http::StatusCode;
use actix_web::http::header::WWW_AUTHENTICATE;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use sigil_oidc::OidcError;
use sigil_store::StoreError;

/// Why an admin request was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// 401: no bearer token, or one that is not valid (RFC 6750 §3.1).
    #[error("{description}")]
    Unauthorized {
        /// Whether a token was sent and refused (`invalid_token`), rather
        /// than missing.
        token_problem: bool,
        /// What is wrong.
        description: String,
    },
    /// 403: the token lacks the scope (`insufficient_scope`, naming it), or
    /// its principal holds no role that may.
    #[error("{description}")]
    Forbidden {
        /// The scope that would have been needed, if that is the reason.
        scope: Option<&'static str>,
        /// What is missing.
        description: String,
    },
    /// 400: the request is malformed or asks for something invalid.
    #[error("{0}")]
    Invalid(String),
    /// 404: what the request names does not exist.
    #[error("{0}")]
    NotFound(String),
    /// 409: it exists already.
    #[error("{0}")]
    Conflict(String),
    /// The store failed (503 when unreachable, 500 otherwise).
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid(why) => AdminError::Invalid(why),
            other => AdminError::Store(other),
        }
    }
}

impl From<OidcError> for AdminError {
    fn from(e: OidcError) -> Self {
        match e {
            OidcError::Store(store) => store.into(),
            OidcError::ClientExists(id) => AdminError::Conflict(format!("there is already a client `{id}`")),
            refusal => AdminError::Invalid(refusal.to_string()),
        }
    }
}

/// The body of every admin API error; the OpenAPI description is derived
/// from this type, so it lists exactly the codes sent.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody {
    /// What kind of refusal or failure.
    error: ErrorCode,
    /// What went wrong, for a person to read.
    error_description: String,
}

/// The `error` member: RFC 6750 §3.1 codes for token problems, the rest in
/// the same style.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ErrorCode {
    InvalidToken,
    InsufficientScope,
    AccessDenied,
    InvalidRequest,
    NotFound,
    Conflict,
    TemporarilyUnavailable,
    ServerError,
}

impl AdminError {
    fn code(&self) -> ErrorCode {
        match self {
            AdminError::Unauthorized { .. } => ErrorCode::InvalidToken,
            AdminError::Forbidden { scope: Some(_), .. } => ErrorCode::InsufficientScope,
            AdminError::Forbidden { scope: None, .. } => ErrorCode::AccessDenied,
            AdminError::Invalid(_) => ErrorCode::InvalidRequest,
            AdminError::NotFound(_) => ErrorCode::NotFound,
            AdminError::Conflict(_) => ErrorCode::Conflict,
            AdminError::Store(StoreError::Unavailable(_)) => ErrorCode::TemporarilyUnavailable,
            AdminError::Store(_) => ErrorCode::ServerError,
        }
    }
}

impl ResponseError for AdminError {
    fn status_code(&self) -> StatusCode {
        match self {
            AdminError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            AdminError::Forbidden { .. } => StatusCode::FORBIDDEN,
            AdminError::Invalid(_) => StatusCode::BAD_REQUEST,
            AdminError::NotFound(_) => StatusCode::NOT_FOUND,
            AdminError::Conflict(_) => StatusCode::CONFLICT,
            AdminError::Store(StoreError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
            AdminError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let description = match self {
            AdminError::Store(e) if status == StatusCode::INTERNAL_SERVER_ERROR => {
                tracing::error!(error = %e, "admin request failed in the store");
                "the request could not be completed".to_owned()
            }
            AdminError::Store(_) => "the store is unavailable; try again".to_owned(),
            other => other.to_string(),
        };
        let mut response = HttpResponse::build(status);
        // RFC 6750 §3: the challenge a resource server answers with.
        match self {
            AdminError::Unauthorized { token_problem: false, .. } => {
                response.insert_header((WWW_AUTHENTICATE, "Bearer realm=\"sigil-admin\""));
            }
            AdminError::Unauthorized { token_problem: true, .. } => {
                response.insert_header((
                    WWW_AUTHENTICATE,
                    "Bearer realm=\"sigil-admin\", error=\"invalid_token\"",
                ));
            }
            AdminError::Forbidden { scope: Some(scope), .. } => {
                response.insert_header((
                    WWW_AUTHENTICATE,
                    format!("Bearer realm=\"sigil-admin\", error=\"insufficient_scope\", scope=\"{scope}\""),
                ));
            }
            _ => {}
        }
        response
            .insert_header(("Cache-Control", "no-store"))
            .json(ErrorBody { error: self.code(), error_description: description })
    }
}

/// What no admin route answered.
pub(crate) async fn no_such_endpoint() -> Result<HttpResponse, AdminError> {
    Err(AdminError::NotFound("no such admin endpoint".into()))
}
