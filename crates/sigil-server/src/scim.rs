//! The bridge that lets the SCIM service accept the OpenID provider's
//! access tokens: `sigil-scim` and `sigil-oidc` never depend on each other,
//! so the server hands one to the other here.

use sigil_oidc::tokens::verify::{self, Refused};
use sigil_oidc::{Api, Provider};
use sigil_scim::http::{AccessTokens, Token, TokenCheck, TokenRefused};
use sigil_store::Store;

/// Checks SCIM bearer tokens with the provider's one verifier (which also
/// requires an audience naming the SCIM API), then reads what the
/// principal holds now — built-in roles, and for a user its groups through
/// nesting — from the store, never from the token's claims.
#[derive(Debug)]
pub(crate) struct ProviderTokens {
    pub(crate) oidc: Provider,
    pub(crate) store: Store,
}

impl AccessTokens for ProviderTokens {
    fn check<'a>(&'a self, token: &'a str) -> TokenCheck<'a> {
        Box::pin(async move {
            // One read of the principal: status, roles and groups together.
            let principal = verify::access_token_with_holdings(&self.oidc, token, Api::Scim).await.map_err(
                |refused| match refused {
                    Refused::Invalid(why) => {
                        tracing::info!(why, "scim: token refused");
                        TokenRefused::Invalid
                    }
                    Refused::Unavailable(why) => TokenRefused::Unavailable(why),
                },
            )?;
            let unavailable = |e: sigil_store::StoreError| TokenRefused::Unavailable(e.to_string());
            let roles = sigil_admin::roles_of(&self.store, &principal).await.map_err(unavailable)?;
            // Rights name a group by display name or by id.
            let groups = principal
                .holdings
                .iter()
                .flat_map(|h| h.groups.iter())
                .flat_map(|(id, name)| [name.clone(), id.clone()])
                .collect();
            Ok(Token {
                subject: principal.sub,
                client_id: principal.client_id,
                scopes: principal.scopes,
                groups,
                roles,
            })
        })
    }
}
