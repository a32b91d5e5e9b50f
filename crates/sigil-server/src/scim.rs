//! The bridge that lets the SCIM service accept the OpenID provider's
//! access tokens: `sigil-scim` and `sigil-oidc` never depend on each other,
//! so the server hands one to the other here.

use serde_json::Value;
use sigil_oidc::http::{AccessTokenRefused, OidcContext};
use sigil_scim::http::{AccessTokens, Token, TokenCheck, TokenRefused};
use sigil_store::Store;

/// Checks SCIM bearer tokens with the provider's own verifier, and finds
/// the built-in roles of their principal in the store.
#[derive(Debug)]
pub(crate) struct ProviderTokens {
    pub(crate) oidc: OidcContext,
    pub(crate) store: Store,
}

impl AccessTokens for ProviderTokens {
    fn check<'a>(&'a self, token: &'a str) -> TokenCheck<'a> {
        Box::pin(async move {
            let claims = self.oidc.check_access_token(token).await.map_err(|refused| match refused {
                AccessTokenRefused::Invalid => TokenRefused::Invalid,
                AccessTokenRefused::Unavailable(why) => TokenRefused::Unavailable(why),
            })?;
            let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
            let subject = text("sub").ok_or(TokenRefused::Invalid)?;
            let client_id = text("client_id").ok_or(TokenRefused::Invalid)?;
            let groups = claims
                .get(self.oidc.groups_claim_name())
                .and_then(Value::as_array)
                .map(|list| list.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default();
            let scopes = claims
                .get("scope")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            let roles = sigil_admin::roles_of(&self.store, &subject, &client_id)
                .await
                .map_err(|e| TokenRefused::Unavailable(e.to_string()))?;
            Ok(Token { subject, client_id, scopes, groups, roles })
        })
    }
}
