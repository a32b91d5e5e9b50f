//! RFC 6749 §6 with rotation: the presented token is spent and a new one of
//! the same family returned. Presenting a spent or revoked token again is
//! reuse: the whole family, and the access tokens of its grant, are revoked
//! (RFC 9700 §4.14.2). A refresh token works only for the client it was
//! issued to, and the scope may only narrow.

use sigil_store::clients::Client;
use sigil_store::secret::HashedSecret;
use sigil_store::tokens::{self as stored, RefreshToken, RefreshUse};

use super::{
    TokenRequest, TokenResponse, active_user, audiences, default_audience, may_use, narrow_scope, required,
    split_scope,
};
use crate::OidcError;
use crate::issue::{self, AccessToken};
use crate::provider::Provider;
use crate::tokens::numeric_date;

pub(super) async fn grant(
    provider: &Provider,
    client: &Client,
    request: &TokenRequest,
) -> Result<TokenResponse, OidcError> {
    if !may_use(client, "refresh_token") {
        return Err(OidcError::UnauthorizedClient("this client may not use refresh tokens".into()));
    }
    let presented = required(request.refresh_token.as_ref(), "refresh_token")?;
    let hash = HashedSecret::of(presented).as_str().to_owned();
    let now = provider.store.now();
    // Everything that can be wrong with the request is checked before the
    // token is spent, so a bad request does not cost the client its token,
    // and another client presenting it spends nothing.
    let lookup = hash.clone();
    let Some(record) = provider.store.read(move |c| stored::find_refresh(c, &lookup)).await? else {
        return Err(OidcError::InvalidGrant("the refresh token is not valid".into()));
    };
    if record.client_id != client.id {
        return Err(OidcError::InvalidGrant("the refresh token was issued to another client".into()));
    }
    if record.expires_at <= now {
        return Err(OidcError::InvalidGrant("the refresh token has expired".into()));
    }
    // RFC 6749 §6: no scope not originally granted (nor one the client has
    // since lost).
    let scope = narrow_scope(
        client,
        &split_scope(&record.scope),
        request.scope.as_deref(),
        "was not granted originally",
    )?;
    let audience =
        audiences(provider, &request.targets, &client.audiences, default_audience(client), &scope)?;
    let until = now + provider.lifetimes.refresh_token;
    // Spending, and revoking on reuse, happen in one transaction whose
    // outcome is committed even when the answer is an error.
    let outcome = provider
        .store
        .write(move |c| {
            let used = stored::use_refresh(c, &hash, now)?;
            if let RefreshUse::Reused(token) = &used {
                stored::revoke_grant(c, &token.family_id, "refresh token reuse", now, until)?;
            }
            Ok::<_, sigil_store::StoreError>(used)
        })
        .await?;
    let token = match outcome {
        RefreshUse::Fresh(token) => token,
        RefreshUse::Reused(token) => {
            tracing::warn!(family = %token.family_id, "refresh token reused; its family is revoked");
            return Err(OidcError::InvalidGrant("the refresh token was already used or revoked".into()));
        }
        RefreshUse::Unknown => return Err(OidcError::InvalidGrant("the refresh token is not valid".into())),
    };
    let Some(user_id) = token.user_id.clone() else {
        return Err(OidcError::InvalidGrant("the refresh token has no user".into()));
    };
    let user =
        active_user(provider, &user_id, || OidcError::InvalidGrant("the user is not active".into())).await?;
    let access = issue::access_token(
        provider,
        client,
        &AccessToken {
            subject: &user.id,
            for_user: true,
            audience: &audience,
            scope: &scope,
            grant_id: Some(&token.family_id),
            auth_time: token.auth_time.map(numeric_date),
            act: None,
            // Never past the refresh token's own (absolute) expiry, which an
            // exchanged refresh token takes from its subject.
            not_after: Some(numeric_date(token.expires_at)),
        },
    )
    .await?;
    let next = RefreshToken { used_at: None, created: now, scope: scope.join(" "), ..token };
    let next = issue::refresh_token(provider, next).await?;
    Ok(TokenResponse {
        access_token: access.token,
        token_type: "Bearer",
        expires_in: access.expires_in,
        scope: Some(scope.join(" ")),
        refresh_token: Some(next),
        id_token: None,
        issued_token_type: None,
    })
}
