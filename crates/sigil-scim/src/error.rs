//! `ScimError`, the one error type of this crate. Each variant is one of the
//! errors of RFC 7644 §3.12, with its status and `scimType`; `http::wire` is
//! the one place that turns them into responses.

use sigil_store::{StoreError, Unique};

/// Errors of the SCIM service.
#[derive(Debug, thiserror::Error)]
pub enum ScimError {
    /// 400 `invalidFilter`: the filter is malformed or names something that
    /// cannot be compared that way (§3.4.2.2).
    #[error("invalidFilter: {0}")]
    InvalidFilter(String),
    /// 400 `invalidPath`: a PATCH path or an attribute name is malformed.
    #[error("invalidPath: {0}")]
    InvalidPath(String),
    /// 400 `invalidSyntax`: the body is not the JSON the request needs.
    #[error("invalidSyntax: {0}")]
    InvalidSyntax(String),
    /// 400 `invalidValue`: a value has the wrong type or breaks a rule.
    #[error("invalidValue: {0}")]
    InvalidValue(String),
    /// 400 `mutability`: the request changes a read-only or immutable attribute.
    #[error("mutability: {0}")]
    Mutability(String),
    /// 400 `noTarget`: a PATCH path selects nothing.
    #[error("noTarget: {0}")]
    NoTarget(String),
    /// 400 `tooMany`: the request asks for more than the server returns.
    #[error("tooMany: {0}")]
    TooMany(String),
    /// 400 `invalidCursor` (RFC 9865 §2.1): a cursor this service did not
    /// issue, or one sent with another sortBy, sortOrder or filter than
    /// its walk's.
    #[error("invalidCursor: {0}")]
    InvalidCursor(String),
    /// 400 without a `scimType`: a query parameter is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// 409 `uniqueness`: a unique attribute's value is taken.
    #[error("uniqueness: {0}")]
    Uniqueness(String),
    /// 404: no such resource.
    #[error("not found: {0}")]
    NotFound(String),
    /// 412: `If-Match` named another version (§3.14).
    #[error("the resource has changed")]
    PreconditionFailed,
    /// 401 with `WWW-Authenticate: Bearer` (RFC 6750 §3.1): no token, or
    /// `invalid_token` when `token_problem` says why it was refused.
    #[error("unauthorized: {description}")]
    Unauthorized {
        /// Whether a token was presented (and refused) at all.
        token_problem: bool,
        /// What is wrong, safe to show the client.
        description: String,
    },
    /// 403 (RFC 6750 §3.1 `insufficient_scope`, or a missing right).
    #[error("forbidden: {description}")]
    Forbidden {
        /// The scope that would have been needed, if that is the reason.
        scope: Option<&'static str>,
        /// What is missing.
        description: String,
    },
    /// 405 (RFC 9110 §15.5.6): the endpoint exists but not with this
    /// method; the methods it has go in `Allow`.
    #[error("method not allowed here (allowed: {0})")]
    MethodNotAllowed(&'static str),
    /// 413: the request body or a bulk request is over the advertised limit.
    #[error("payload too large: {0}")]
    PayloadTooLarge(String),
    /// 501: the feature is not implemented (advertised as such).
    #[error("not implemented: {0}")]
    NotImplemented(String),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ScimError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(Unique::UserName) => {
                Self::Uniqueness("a user with this userName already exists".into())
            }
            StoreError::Conflict(Unique::GroupDisplayName) => {
                Self::Uniqueness("a group with this displayName already exists".into())
            }
            StoreError::Conflict(Unique::UserId | Unique::GroupId) => {
                Self::Uniqueness("a resource with this id already exists".into())
            }
            StoreError::NotFound => Self::NotFound("no such resource".into()),
            StoreError::VersionMismatch => Self::PreconditionFailed,
            StoreError::Invalid(why) => Self::InvalidValue(why),
            StoreError::MissingReference(_) => {
                Self::InvalidValue("the request refers to a resource that does not exist".into())
            }
            other => Self::Store(other),
        }
    }
}

impl From<scim_filter_parser::Error> for ScimError {
    fn from(error: scim_filter_parser::Error) -> Self {
        match error.scim_type() {
            "invalidPath" => Self::InvalidPath(error.detail()),
            _ => Self::InvalidFilter(error.detail()),
        }
    }
}
