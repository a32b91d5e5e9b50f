//! The admin API's part of Sigil's OpenAPI 3.1 description, derived from
//! the handlers' `#[utoipa::path]` annotations and the request and response
//! types themselves, so the document names what the code sends.
//!
//! Each operation carries `x-sigil-operation`, its row in `sigil-access`'s
//! table of rights; `sigil-server` turns that row into the operation's
//! security requirements when it merges the parts, and its tests check that
//! every row is documented.

use std::collections::BTreeMap;

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{IntoResponses, OpenApi};

use crate::error::ErrorBody;
use crate::{access, api_tokens, audit, clients, keys, roles};

#[derive(OpenApi)]
#[openapi(
    paths(
        clients::list,
        clients::get,
        clients::create,
        clients::change,
        clients::delete,
        api_tokens::list,
        api_tokens::get,
        api_tokens::create,
        api_tokens::revoke,
        roles::list,
        roles::define,
        roles::remove,
        roles::grant,
        roles::revoke,
        access::list,
        access::grant,
        access::revoke,
        keys::list,
        keys::rotate,
        audit::list,
    ),
    components(schemas(ErrorBody, roles::HolderKind)),
    tags(
        (name = "clients", description = "OAuth clients: registration, settings, secrets"),
        (name = "api-tokens", description = "Long-lived tokens clients present to SCIM and the admin API"),
        (name = "roles", description = "Roles applications define, and who holds them"),
        (name = "access", description = "Who holds Sigil's built-in roles"),
        (name = "keys", description = "Signing keys"),
        (name = "audit", description = "The audit trail: sign-ins, SCIM writes, admin decisions"),
    )
)]
struct AdminApi;

/// The admin API's paths, components and tags.
pub fn openapi() -> utoipa::openapi::OpenApi {
    AdminApi::openapi()
}

/// The refusals every admin operation may answer before it looks at the
/// request (`auth::authorize`), in the body `error::ErrorBody`.
pub(crate) struct Refusals;

impl IntoResponses for Refusals {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let error = |description: &str, challenge: bool| {
            let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
            let mut response =
                ResponseBuilder::new().description(description).content("application/json", content);
            if challenge {
                response = response.header(
                    "WWW-Authenticate",
                    HeaderBuilder::new().description(Some("The RFC 6750 §3 bearer challenge")).build(),
                );
            }
            RefOr::T(response.build())
        };
        BTreeMap::from([
            ("401".to_owned(), error("No bearer token, or one that is not valid (`invalid_token`)", true)),
            (
                "403".to_owned(),
                error(
                    "The token lacks the scope (`insufficient_scope`) or its principal every role that may \
                     (`access_denied`)",
                    true,
                ),
            ),
            ("503".to_owned(), error("The store is unavailable (`temporarily_unavailable`)", false)),
        ])
    }
}
