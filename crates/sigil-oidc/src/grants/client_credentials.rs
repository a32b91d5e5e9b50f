//! RFC 6749 §4.4: a confidential client obtains an access token for itself.

use sigil_store::clients::Client;

use super::{TokenRequest, TokenResponse, USER_SCOPES, audiences, default_audience, may_use, narrow_scope};
use crate::OidcError;
use crate::issue::{self, AccessToken};
use crate::provider::Provider;

pub(super) async fn grant(
    provider: &Provider,
    client: &Client,
    request: &TokenRequest,
) -> Result<TokenResponse, OidcError> {
    if client.is_public {
        // RFC 6749 §4.4: for confidential clients only.
        return Err(OidcError::UnauthorizedClient("public clients cannot use client_credentials".into()));
    }
    if !may_use(client, "client_credentials") {
        return Err(OidcError::UnauthorizedClient("this client may not use client_credentials".into()));
    }
    // Without a request, every scope the client has that is not about a user.
    let available: Vec<String> = match &request.scope {
        Some(_) => client.scopes.clone(),
        None => client.scopes.iter().filter(|s| !USER_SCOPES.contains(&s.as_str())).cloned().collect(),
    };
    let scope = narrow_scope(client, &available, request.scope.as_deref(), "is not allowed for this client")?;
    let audience =
        audiences(provider, &request.targets, &client.audiences, default_audience(client), &scope)?;
    // RFC 9068 §2.2: sub is the client itself when no resource owner is involved.
    let spec = AccessToken {
        subject: &client.id,
        for_user: false,
        audience: &audience,
        scope: &scope,
        grant_id: None,
        auth_time: None,
        act: None,
        not_after: None,
    };
    let minted = issue::access_token(provider, client, &spec).await?;
    Ok(TokenResponse {
        access_token: minted.token,
        token_type: "Bearer",
        expires_in: minted.expires_in,
        scope: (!scope.is_empty()).then(|| scope.join(" ")),
        refresh_token: None,
        id_token: None,
        issued_token_type: None,
    })
}
