//! RFC 6749 §4.1.3 with PKCE (RFC 7636 §4.6) and OpenID Connect Core
//! §3.1.3: the code is redeemed once, by the client it was issued to, with
//! the same redirect URI and the verifier of its challenge.

use sigil_store::clients::Client;
use sigil_store::grants::{self as stored, Redemption};
use sigil_store::secret::HashedSecret;
use sigil_store::tokens::RefreshToken;
use subtle::ConstantTimeEq;

use super::{
    TokenRequest, TokenResponse, active_user, audiences, default_audience, may_use, narrow_scope, pkce_s256,
    required, split_scope,
};
use crate::OidcError;
use crate::issue::{self, AccessToken, IdToken};
use crate::provider::Provider;
use crate::tokens::numeric_date;

pub(super) async fn grant(
    provider: &Provider,
    client: &Client,
    request: &TokenRequest,
) -> Result<TokenResponse, OidcError> {
    if !may_use(client, "authorization_code") {
        return Err(OidcError::UnauthorizedClient(
            "this client may not use the authorization code grant".into(),
        ));
    }
    let code = required(request.code.as_ref(), "code")?;
    let hash = HashedSecret::of(code).as_str().to_owned();
    let now = provider.store.now();
    // Everything the request can get wrong is checked before the code is
    // spent, so a wrong verifier or redirect URI (from whoever holds a
    // public client's code) does not burn it for its owner. The
    // conditional UPDATE below still decides which redemption wins.
    let lookup = hash.clone();
    let Some(found) = provider.store.read(move |c| stored::find_code(c, &lookup)).await? else {
        return Err(OidcError::InvalidGrant("the authorization code is not valid".into()));
    };
    if found.client_id != client.id {
        return Err(OidcError::InvalidGrant("the authorization code was issued to another client".into()));
    }
    if found.redeemed_at.is_none() {
        check_request(&found, request, now)?;
    }
    let client_id = client.id.clone();
    let record = match provider.store.write(move |c| stored::redeem_code(c, &hash, &client_id, now)).await? {
        Redemption::Redeemed(record) => record,
        Redemption::Replayed(record) => {
            // RFC 6749 §4.1.2: a code used twice SHOULD revoke the tokens
            // issued from it; the grant id ties them together. Only its own
            // client's replay gets here (another client's never spends it).
            tracing::warn!(grant_id = %record.grant_id, "authorization code presented twice; revoking its grant");
            let until = now + provider.lifetimes.refresh_token;
            provider
                .store
                .write(move |c| {
                    sigil_store::tokens::revoke_grant(c, &record.grant_id, "code replay", now, until)
                })
                .await?;
            return Err(OidcError::InvalidGrant("the authorization code was already used".into()));
        }
        Redemption::OtherClient | Redemption::Unknown => {
            return Err(OidcError::InvalidGrant("the authorization code is not valid".into()));
        }
    };
    let user =
        active_user(provider, &record.user_id, || OidcError::InvalidGrant("the user is not active".into()))
            .await?;
    // What was consented, within what the client may still have.
    let scope = narrow_scope(client, &split_scope(&record.scope), None, "")?;
    let audience =
        audiences(provider, &request.targets, &client.audiences, default_audience(client), &scope)?;
    let auth_time = Some(numeric_date(record.auth_time));
    let access = issue::access_token(
        provider,
        client,
        &AccessToken {
            subject: &user.id,
            for_user: true,
            audience: &audience,
            scope: &scope,
            grant_id: Some(&record.grant_id),
            auth_time,
            act: None,
            not_after: None,
        },
    )
    .await?;
    // OpenID Connect Core §11: offline_access asks for a refresh token. The
    // user consented to it on the consent page (or the operator trusted the
    // client with --skip-consent); a client may also be registered to get
    // refresh tokens with every code.
    let offline = scope.iter().any(|s| s == "offline_access") || client.refresh_without_offline_access;
    let refresh_token = if offline && may_use(client, "refresh_token") {
        let template = RefreshToken {
            token_hash: String::new(),
            family_id: record.grant_id.clone(),
            client_id: client.id.clone(),
            user_id: Some(user.id.clone()),
            scope: scope.join(" "),
            session_id_hash: record.session_id_hash.clone(),
            auth_time: Some(record.auth_time),
            created: now,
            expires_at: now + provider.lifetimes.refresh_token,
            used_at: None,
            revoked_at: None,
        };
        Some(issue::refresh_token(provider, template).await?)
    } else {
        None
    };
    let id_token = if scope.iter().any(|s| s == "openid") {
        let spec = IdToken {
            user_id: &user.id,
            auth_time,
            nonce: record.nonce.as_deref(),
            sid: record.session_id_hash.as_deref(),
            grant_id: Some(&record.grant_id),
            access_token: Some(&access.token),
            act: None,
            not_after: None,
            groups: issue::wants_groups(client, &scope),
        };
        Some(issue::id_token(provider, client, &spec).await?.token)
    } else {
        None
    };
    Ok(TokenResponse {
        access_token: access.token,
        token_type: "Bearer",
        expires_in: access.expires_in,
        scope: Some(scope.join(" ")),
        refresh_token,
        id_token,
        issued_token_type: None,
    })
}

/// The checks of RFC 6749 §4.1.3 and RFC 7636 §4.6 on the code `record`
/// against the token request, before the code is spent.
fn check_request(
    record: &stored::AuthorizationCode,
    request: &TokenRequest,
    now: chrono::NaiveDateTime,
) -> Result<(), OidcError> {
    if record.expires_at <= now {
        return Err(OidcError::InvalidGrant("the authorization code has expired".into()));
    }
    // RFC 6749 §4.1.3: redirect_uri is required when the authorization
    // request had one (OpenID requests always do), and must be identical.
    if request.redirect_uri.as_deref() != Some(record.redirect_uri.as_str()) {
        return Err(OidcError::InvalidGrant("redirect_uri does not match the authorization request".into()));
    }
    match (&record.code_challenge, &request.code_verifier) {
        (Some(challenge), Some(verifier)) => {
            // RFC 7636 §4.1: 43 to 128 unreserved characters.
            let well_formed = (43..=128).contains(&verifier.len())
                && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
            let computed = pkce_s256(verifier);
            if !well_formed || !bool::from(computed.as_bytes().ct_eq(challenge.as_bytes())) {
                return Err(OidcError::InvalidGrant(
                    "code_verifier does not match the code_challenge".into(),
                ));
            }
            Ok(())
        }
        (Some(_), None) => Err(OidcError::InvalidGrant("code_verifier is missing".into())),
        // A verifier without a challenge means the request was not what the
        // client believes it sent (RFC 9700 §2.1.1): refuse.
        (None, Some(_)) => Err(OidcError::InvalidGrant("no code_challenge was sent for this code".into())),
        (None, None) => Ok(()),
    }
}
