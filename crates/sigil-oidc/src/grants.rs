//! The grants of the token endpoint.

use serde_json::{Map, Value, json};
use sigil_store::clients::Client;
use sigil_store::grants::{self as stored, Redemption};
use sigil_store::secret::{HashedSecret, PlainSecret};
use sigil_store::tokens::{self as refresh, RefreshToken, RefreshUse};
use sigil_store::users;
use subtle::ConstantTimeEq;

use crate::OidcError;
use crate::http::Form;
use crate::http::OidcContext;
use crate::keys::SigningAlg;
use crate::tokens::{at_hash, numeric_date};

/// Grant types the token endpoint implements.
pub(crate) const SUPPORTED_GRANT_TYPES: &[&str] =
    &["authorization_code", "refresh_token", "client_credentials", crate::exchange::GRANT_TYPE];

/// Scopes about a user, meaningless in a token a client gets for itself.
const USER_SCOPES: &[&str] = &["openid", "profile", "email", "phone", "address", "offline_access", "groups"];

/// RFC 6749 §4.4: a confidential client obtains an access token for itself.
pub(crate) async fn client_credentials(
    ctx: &OidcContext,
    client: &Client,
    form: &Form,
) -> Result<Value, OidcError> {
    if client.is_public {
        // RFC 6749 §4.4: for confidential clients only.
        return Err(OidcError::UnauthorizedClient("public clients cannot use client_credentials".into()));
    }
    if !client.grant_types.iter().any(|g| g == "client_credentials") {
        return Err(OidcError::UnauthorizedClient("this client may not use client_credentials".into()));
    }
    let scope = granted_scope(client, form.single("scope")?)?;
    let audience = granted_audience(client, form)?;

    let now = ctx.store.now();
    // RFC 9068 §2.2: sub is the client itself when no resource owner is involved.
    let claims = access_token_claims(ctx, &client.id, client, &audience, &scope.join(" "), now);
    let token = sign_access_token(ctx, client, claims).await?;
    let mut response = json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": ctx.access_token_lifetime.num_seconds(),
    });
    if !scope.is_empty() {
        response["scope"] = json!(scope.join(" "));
    }
    Ok(response)
}

/// RFC 9068 §2.1: an access token is a JWT with `typ` `at+jwt`, signed
/// with the algorithm chosen for its client (RS256 unless set otherwise).
pub(crate) async fn sign_access_token(
    ctx: &OidcContext,
    client: &Client,
    claims: Map<String, Value>,
) -> Result<String, OidcError> {
    let keys = ctx.keys_for_signing().await?;
    ctx.signers.sign(&keys, access_token_alg(client)?, "at+jwt", claims)
}

/// The `groups` claim (the Curity seed's model): every group the user
/// belongs to, directly or through nesting, by display name (or id, as
/// configured), read from the store when the token is issued.
pub(crate) async fn groups_claim(ctx: &OidcContext, user_id: &str) -> Result<Value, OidcError> {
    let id = user_id.to_owned();
    let memberships = ctx.store.read(move |c| sigil_store::groups::memberships_of_user(c, &id)).await?;
    let ids = ctx.groups_claim.ids;
    Ok(json!(
        memberships
            .into_iter()
            .map(|(group, _)| if ids { group.id } else { group.display_name })
            .collect::<Vec<_>>()
    ))
}

/// The `roles` claim: the roles the user holds (directly or through its
/// groups, nested ones included) in the applications the token is for.
/// `None` when there are none, so the claim is left out.
pub(crate) async fn roles_claim(
    ctx: &OidcContext,
    user_id: &str,
    audience: &[String],
) -> Result<Option<Value>, OidcError> {
    let (user, audience) = (user_id.to_owned(), audience.to_vec());
    let names = ctx
        .store
        .read(move |c| {
            let mut names = std::collections::BTreeSet::new();
            for application in &audience {
                names.extend(sigil_store::roles::effective(c, &user, application)?);
            }
            Ok(names)
        })
        .await?;
    Ok((!names.is_empty()).then(|| json!(names.into_iter().collect::<Vec<_>>())))
}

fn access_token_alg(client: &Client) -> Result<SigningAlg, OidcError> {
    client.access_token_signed_response_alg.parse()
}

/// The claims of an RFC 9068 access token (§2.2: iss, exp, aud, sub,
/// client_id, iat, jti, and scope when there is one).
pub(crate) fn access_token_claims(
    ctx: &OidcContext,
    sub: &str,
    client: &Client,
    audience: &[String],
    scope: &str,
    now: chrono::NaiveDateTime,
) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(ctx.issuer));
    claims.insert("sub".into(), json!(sub));
    claims.insert("aud".into(), if audience.len() == 1 { json!(audience[0]) } else { json!(audience) });
    claims.insert("client_id".into(), json!(client.id));
    claims.insert("iat".into(), json!(numeric_date(now)));
    claims.insert("exp".into(), json!(numeric_date(now + ctx.access_token_lifetime)));
    claims.insert("jti".into(), json!(sigil_store::new_id()));
    if !scope.is_empty() {
        claims.insert("scope".into(), json!(scope));
    }
    claims
}

/// RFC 6749 §3.3: the requested scope, each token of which the client must
/// be allowed; without a request, every non-user scope it is allowed.
fn granted_scope(client: &Client, requested: Option<&str>) -> Result<Vec<String>, OidcError> {
    let Some(requested) = requested else {
        return Ok(client.scopes.iter().filter(|s| !USER_SCOPES.contains(&s.as_str())).cloned().collect());
    };
    let mut granted: Vec<String> = Vec::new();
    for token in requested.split(' ') {
        if token.is_empty() {
            continue;
        }
        if !client.scopes.iter().any(|s| s == token) {
            return Err(OidcError::InvalidScope(format!(
                "the scope `{token}` is not allowed for this client"
            )));
        }
        if !granted.iter().any(|g| g == token) {
            granted.push(token.to_owned());
        }
    }
    Ok(granted)
}

/// The audiences of the token: every `audience` and `resource` requested
/// (RFC 8693 §2.1, RFC 8707 §2), each of which the client must be allowed;
/// without a request, all the client's audiences, or the client itself.
fn granted_audience(client: &Client, form: &Form) -> Result<Vec<String>, OidcError> {
    let requested: Vec<&str> = form.all("audience").into_iter().chain(form.all("resource")).collect();
    if requested.is_empty() {
        return Ok(if client.audiences.is_empty() {
            vec![client.id.clone()]
        } else {
            client.audiences.clone()
        });
    }
    let mut granted: Vec<String> = Vec::new();
    for target in requested {
        if !client.audiences.iter().any(|a| a == target) {
            return Err(OidcError::InvalidTarget(format!(
                "this client may not obtain tokens for `{target}`"
            )));
        }
        if !granted.iter().any(|g| g == target) {
            granted.push(target.to_owned());
        }
    }
    Ok(granted)
}

/// RFC 6749 §4.1.3 with PKCE (RFC 7636 §4.6) and OpenID Connect Core
/// §3.1.3: the code is redeemed once, by the client it was issued to, with
/// the same redirect URI and the verifier of its challenge.
pub(crate) async fn authorization_code(
    ctx: &OidcContext,
    client: &Client,
    form: &Form,
) -> Result<Value, OidcError> {
    if !client.grant_types.iter().any(|g| g == "authorization_code") {
        return Err(OidcError::UnauthorizedClient(
            "this client may not use the authorization code grant".into(),
        ));
    }
    let code = form.required("code")?;
    let redirect_uri = form.single("redirect_uri")?.map(str::to_owned);
    let verifier = form.single("code_verifier")?.map(str::to_owned);
    let hash = HashedSecret::of(code).as_str().to_owned();
    let now = ctx.store.now();
    let record = match ctx.store.write(move |c| stored::redeem_code(c, &hash, now)).await? {
        Redemption::Redeemed(record) => record,
        Redemption::Replayed(record) => {
            // RFC 6749 §4.1.2: a code used twice SHOULD revoke the tokens
            // issued from it; the grant id ties them together.
            tracing::warn!(grant_id = %record.grant_id, "authorization code presented twice; revoking its grant");
            let until = now + ctx.refresh_token_lifetime;
            ctx.store
                .write(move |c| {
                    sigil_store::tokens::revoke_grant(c, &record.grant_id, "code replay", now, until)
                })
                .await?;
            return Err(OidcError::InvalidGrant("the authorization code was already used".into()));
        }
        Redemption::Unknown => {
            return Err(OidcError::InvalidGrant("the authorization code is not valid".into()));
        }
    };
    if record.client_id != client.id {
        return Err(OidcError::InvalidGrant("the authorization code was issued to another client".into()));
    }
    if record.expires_at <= now {
        return Err(OidcError::InvalidGrant("the authorization code has expired".into()));
    }
    // RFC 6749 §4.1.3: redirect_uri is required when the authorization
    // request had one (OpenID requests always do), and must be identical.
    if redirect_uri.as_deref() != Some(record.redirect_uri.as_str()) {
        return Err(OidcError::InvalidGrant("redirect_uri does not match the authorization request".into()));
    }
    match (&record.code_challenge, verifier) {
        (Some(challenge), Some(verifier)) => {
            // RFC 7636 §4.1: 43 to 128 unreserved characters.
            let well_formed = (43..=128).contains(&verifier.len())
                && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
            let computed = pkce_s256(&verifier);
            if !well_formed || !bool::from(computed.as_bytes().ct_eq(challenge.as_bytes())) {
                return Err(OidcError::InvalidGrant(
                    "code_verifier does not match the code_challenge".into(),
                ));
            }
        }
        (Some(_), None) => return Err(OidcError::InvalidGrant("code_verifier is missing".into())),
        // A verifier without a challenge means the request was not what the
        // client believes it sent (RFC 9700 §2.1.1): refuse.
        (None, Some(_)) => {
            return Err(OidcError::InvalidGrant("no code_challenge was sent for this code".into()));
        }
        (None, None) => {}
    }
    let user_id = record.user_id.clone();
    let user = ctx.store.read(move |c| users::get(c, &user_id)).await?;
    if !user.active {
        return Err(OidcError::InvalidGrant("the user is not active".into()));
    }
    let scope: Vec<String> = record.scope.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect();
    let audience =
        if client.audiences.is_empty() { vec![client.id.clone()] } else { client.audiences.clone() };
    let mut claims = access_token_claims(ctx, &user.id, client, &audience, &record.scope, now);
    claims.insert("auth_time".into(), json!(numeric_date(record.auth_time)));
    claims.insert("grant_id".into(), json!(record.grant_id));
    // With the groups scope, or by the client's policy.
    let wants_groups = scope.iter().any(|s| s == "groups") || client.always_groups_claim;
    let groups = if wants_groups { Some(groups_claim(ctx, &user.id).await?) } else { None };
    if let Some(groups) = &groups {
        claims.insert(ctx.groups_claim.name.clone(), groups.clone());
    }
    if let Some(roles) = roles_claim(ctx, &user.id, &audience).await? {
        claims.insert("roles".into(), roles);
    }
    let keys = ctx.keys_for_signing().await?;
    let access_token = ctx.signers.sign(&keys, access_token_alg(client)?, "at+jwt", claims)?;
    let mut response = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": ctx.access_token_lifetime.num_seconds(),
        "scope": record.scope,
    });
    // OpenID Connect Core §11: offline_access asks for a refresh token. The
    // user consented to it on the consent page (or the operator trusted the
    // client with --skip-consent); a client may also be registered to get
    // refresh tokens with every code.
    let offline = scope.iter().any(|s| s == "offline_access") || client.refresh_without_offline_access;
    if offline && client.grant_types.iter().any(|g| g == "refresh_token") {
        let refresh = issue_refresh(
            ctx,
            RefreshToken {
                token_hash: String::new(),
                family_id: record.grant_id.clone(),
                client_id: client.id.clone(),
                user_id: Some(user.id.clone()),
                scope: record.scope.clone(),
                session_id_hash: record.session_id_hash.clone(),
                auth_time: Some(record.auth_time),
                created: now,
                expires_at: now + ctx.refresh_token_lifetime,
                used_at: None,
                revoked_at: None,
            },
        )
        .await?;
        response["refresh_token"] = json!(refresh);
    }
    if scope.iter().any(|s| s == "openid") {
        let alg: SigningAlg = client.id_token_signed_response_alg.parse()?;
        // OpenID Connect Core §2 and §3.1.3.6.
        let mut id = Map::new();
        id.insert("iss".into(), json!(ctx.issuer));
        id.insert("sub".into(), json!(user.id));
        id.insert("aud".into(), json!(client.id));
        id.insert("azp".into(), json!(client.id));
        id.insert("iat".into(), json!(numeric_date(now)));
        id.insert("exp".into(), json!(numeric_date(now + ctx.id_token_lifetime)));
        id.insert("auth_time".into(), json!(numeric_date(record.auth_time)));
        id.insert("at_hash".into(), json!(at_hash(&access_token, alg)));
        if let Some(nonce) = &record.nonce {
            id.insert("nonce".into(), json!(nonce));
        }
        if let Some(sid) = &record.session_id_hash {
            id.insert("sid".into(), json!(sid));
        }
        if let Some(groups) = groups {
            id.insert(ctx.groups_claim.name.clone(), groups);
        }
        if let Some(roles) = roles_claim(ctx, &user.id, std::slice::from_ref(&client.id)).await? {
            id.insert("roles".into(), roles);
        }
        response["id_token"] = json!(ctx.signers.sign(&keys, alg, "JWT", id)?);
    }
    Ok(response)
}

/// RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier))).
fn pkce_s256(verifier: &str) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Stores a new refresh token like `template` and returns it in the clear.
pub(crate) async fn issue_refresh(
    ctx: &OidcContext,
    mut template: RefreshToken,
) -> Result<String, OidcError> {
    let secret = PlainSecret::generate()?;
    template.token_hash = secret.hash().as_str().to_owned();
    ctx.store.write(move |c| refresh::insert_refresh(c, &template)).await?;
    Ok(secret.expose().to_owned())
}

/// RFC 6749 §6 with rotation: the presented token is spent and a new one of
/// the same family returned. Presenting a spent or revoked token again is
/// reuse: the whole family, and the access tokens of its grant, are revoked
/// (RFC 9700 §4.14.2). The scope may only narrow.
pub(crate) async fn refresh_token(
    ctx: &OidcContext,
    client: &Client,
    form: &Form,
) -> Result<Value, OidcError> {
    if !client.grant_types.iter().any(|g| g == "refresh_token") {
        return Err(OidcError::UnauthorizedClient("this client may not use refresh tokens".into()));
    }
    let presented = form.required("refresh_token")?;
    let requested = form.single("scope")?.map(str::to_owned);
    let hash = HashedSecret::of(presented).as_str().to_owned();
    let now = ctx.store.now();
    // Everything that can be wrong with the request is checked before the
    // token is spent, so a bad request does not cost the client its token.
    let lookup = hash.clone();
    let Some(record) = ctx.store.read(move |c| refresh::find_refresh(c, &lookup)).await? else {
        return Err(OidcError::InvalidGrant("the refresh token is not valid".into()));
    };
    if record.client_id != client.id {
        return Err(OidcError::InvalidGrant("the refresh token was issued to another client".into()));
    }
    if record.expires_at <= now {
        return Err(OidcError::InvalidGrant("the refresh token has expired".into()));
    }
    let granted: Vec<&str> = record.scope.split(' ').filter(|s| !s.is_empty()).collect();
    let scope = match &requested {
        None => record.scope.clone(),
        Some(requested) => {
            for wanted in requested.split(' ').filter(|s| !s.is_empty()) {
                // RFC 6749 §6: no scope not originally granted.
                if !granted.contains(&wanted) {
                    return Err(OidcError::InvalidScope(format!("`{wanted}` was not granted originally")));
                }
            }
            requested.split(' ').filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ")
        }
    };
    let until = now + ctx.refresh_token_lifetime;
    // Spending, and revoking on reuse, happen in one transaction whose
    // outcome is committed even when the answer is an error.
    let outcome = ctx
        .store
        .write(move |c| {
            let used = refresh::use_refresh(c, &hash, now)?;
            if let RefreshUse::Reused(token) = &used {
                refresh::revoke_grant(c, &token.family_id, "refresh token reuse", now, until)?;
            }
            Ok(used)
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
    let user = ctx.store.read(move |c| users::get(c, &user_id)).await?;
    if !user.active {
        return Err(OidcError::InvalidGrant("the user is not active".into()));
    }
    let audience =
        if client.audiences.is_empty() { vec![client.id.clone()] } else { client.audiences.clone() };
    let mut claims = access_token_claims(ctx, &user.id, client, &audience, &scope, now);
    claims.insert("grant_id".into(), json!(token.family_id));
    if scope.split(' ').any(|s| s == "groups") || client.always_groups_claim {
        claims.insert(ctx.groups_claim.name.clone(), groups_claim(ctx, &user.id).await?);
    }
    if let Some(roles) = roles_claim(ctx, &user.id, &audience).await? {
        claims.insert("roles".into(), roles);
    }
    if let Some(auth_time) = token.auth_time {
        claims.insert("auth_time".into(), json!(numeric_date(auth_time)));
    }
    let access_token = sign_access_token(ctx, client, claims).await?;
    let next =
        issue_refresh(ctx, RefreshToken { used_at: None, created: now, scope: scope.clone(), ..token })
            .await?;
    Ok(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": ctx.access_token_lifetime.num_seconds(),
        "scope": scope,
        "refresh_token": next,
    }))
}

#[cfg(test)]
mod tests {
    use super::pkce_s256;

    #[test]
    fn pkce_matches_rfc7636_appendix_b() {
        assert_eq!(
            pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
