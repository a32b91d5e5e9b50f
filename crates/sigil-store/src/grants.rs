//! Browser sessions, consents and authorization codes. Sessions and codes are
//! keyed by the SHA-256 digest of a secret the user agent or client holds.
//!
//! A code is redeemed by one conditional UPDATE, so two redemptions racing
//! on two nodes cannot both succeed.
//!
//! The provider's own secrets for its browser forms (the key of their CSRF
//! tokens) live here too, one row per purpose, so that a form one node
//! served is verified by any other.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::AnyConnection;
use crate::error::StoreError;
use crate::schema::{authorization_codes, consents, server_secrets, sessions};

/// A signed-in browser.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
pub struct Session {
    /// Digest of the session cookie's value.
    pub id_hash: String,
    /// Who signed in.
    pub user_id: String,
    /// When they last proved who they are.
    pub auth_time: NaiveDateTime,
    /// How (space-separated `amr` values).
    pub amr: String,
    /// When the session began.
    pub created: NaiveDateTime,
    /// When it lapses.
    pub expires_at: NaiveDateTime,
    /// When it was ended by logout, if it was.
    pub ended_at: Option<NaiveDateTime>,
}

/// Stores a new session.
pub fn insert_session(conn: &mut AnyConnection, session: &Session) -> Result<(), StoreError> {
    diesel::insert_into(sessions::table).values(session).execute(conn)?;
    Ok(())
}

/// The live session with this digest: not ended, not expired at `now`.
pub fn live_session(
    conn: &mut AnyConnection,
    id_hash: &str,
    now: NaiveDateTime,
) -> Result<Option<Session>, StoreError> {
    Ok(sessions::table
        .find(id_hash)
        .filter(sessions::ended_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .select(Session::as_select())
        .first(conn)
        .optional()?)
}

/// Ends a session; reports whether it was live.
///
/// The grants the session gave (its codes' and refresh tokens') end with
/// it, so the tokens issued or exchanged from them stop working too; those
/// granted `offline_access` were asked for to outlive the session, and do.
/// `revoke_until` is how long their access tokens could live; `None`
/// ends the session alone (the same user signing in again).
pub fn end_session(
    conn: &mut AnyConnection,
    id_hash: &str,
    now: NaiveDateTime,
    revoke_until: Option<NaiveDateTime>,
) -> Result<bool, StoreError> {
    let ended = diesel::update(sessions::table.find(id_hash).filter(sessions::ended_at.is_null()))
        .set(sessions::ended_at.eq(now))
        .execute(conn)?
        > 0;
    let Some(until) = revoke_until else { return Ok(ended) };
    let from_codes: Vec<(String, String)> = authorization_codes::table
        .filter(authorization_codes::session_id_hash.eq(id_hash))
        .select((authorization_codes::grant_id, authorization_codes::scope))
        .load(conn)?;
    let from_refresh: Vec<(String, String)> = crate::schema::refresh_tokens::table
        .filter(crate::schema::refresh_tokens::session_id_hash.eq(id_hash))
        .filter(crate::schema::refresh_tokens::revoked_at.is_null())
        .select((crate::schema::refresh_tokens::family_id, crate::schema::refresh_tokens::scope))
        .load(conn)?;
    let mut grants: Vec<String> = from_codes
        .into_iter()
        .chain(from_refresh)
        .filter(|(_, scope)| !scope.split(' ').any(|s| s == "offline_access"))
        .map(|(grant, _)| grant)
        .collect();
    grants.sort();
    grants.dedup();
    for grant in grants {
        crate::tokens::revoke_grant(conn, &grant, "signed out", now, until)?;
    }
    Ok(ended)
}

/// An authorization code as issued (RFC 6749 §4.1.2).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = authorization_codes)]
pub struct AuthorizationCode {
    /// Digest of the code.
    pub code_hash: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The user who authorized it.
    pub user_id: String,
    /// The session it came from.
    pub session_id_hash: Option<String>,
    /// The redirect URI of the request, to be matched at the token endpoint.
    pub redirect_uri: String,
    /// Granted scope, space-separated.
    pub scope: String,
    /// The request's `nonce`, echoed in the ID token.
    pub nonce: Option<String>,
    /// PKCE challenge (RFC 7636).
    pub code_challenge: Option<String>,
    /// PKCE method.
    pub code_challenge_method: Option<String>,
    /// When the user authenticated.
    pub auth_time: NaiveDateTime,
    /// When the code was issued.
    pub created: NaiveDateTime,
    /// When it stops being redeemable.
    pub expires_at: NaiveDateTime,
    /// When it was redeemed.
    pub redeemed_at: Option<NaiveDateTime>,
    /// Shared by every token issued from this code.
    pub grant_id: String,
}

/// Stores a new code.
pub fn insert_code(conn: &mut AnyConnection, code: &AuthorizationCode) -> Result<(), StoreError> {
    diesel::insert_into(authorization_codes::table).values(code).execute(conn)?;
    Ok(())
}

/// What happened when a code was presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redemption {
    /// First use: here is the code's record.
    Redeemed(AuthorizationCode),
    /// The code was redeemed before: a replay.
    Replayed(AuthorizationCode),
    /// The code belongs to another client; it is left as it was, so a
    /// client that guessed or stole it cannot burn it for its owner.
    OtherClient,
    /// No such code.
    Unknown,
}

/// The code with this digest, redeemed or not; spends nothing.
pub fn find_code(conn: &mut AnyConnection, code_hash: &str) -> Result<Option<AuthorizationCode>, StoreError> {
    Ok(authorization_codes::table
        .find(code_hash)
        .select(AuthorizationCode::as_select())
        .first(conn)
        .optional()?)
}

/// Marks the code redeemed by `client_id`, once. A single conditional
/// UPDATE decides which of several concurrent redemptions wins; only the
/// client the code was issued to can spend it.
pub fn redeem_code(
    conn: &mut AnyConnection,
    code_hash: &str,
    client_id: &str,
    now: NaiveDateTime,
) -> Result<Redemption, StoreError> {
    let won = diesel::update(
        authorization_codes::table
            .find(code_hash)
            .filter(authorization_codes::redeemed_at.is_null())
            .filter(authorization_codes::client_id.eq(client_id)),
    )
    .set(authorization_codes::redeemed_at.eq(now))
    .execute(conn)?
        > 0;
    let record = authorization_codes::table
        .find(code_hash)
        .select(AuthorizationCode::as_select())
        .first(conn)
        .optional()?;
    Ok(match (record, won) {
        (Some(code), true) => Redemption::Redeemed(code),
        (Some(code), false) if code.client_id != client_id => Redemption::OtherClient,
        (Some(code), false) => Redemption::Replayed(code),
        (None, _) => Redemption::Unknown,
    })
}

/// The scope a user has consented to for a client, space-separated.
pub fn consented_scope(
    conn: &mut AnyConnection,
    user_id: &str,
    client_id: &str,
) -> Result<Option<String>, StoreError> {
    Ok(consents::table.find((user_id, client_id)).select(consents::scope).first(conn).optional()?)
}

/// Records that the user consents to `scope` for the client, replacing an
/// earlier consent. Run inside a write transaction.
pub fn record_consent(
    conn: &mut AnyConnection,
    user_id: &str,
    client_id: &str,
    scope: &str,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    let updated = diesel::update(consents::table.find((user_id, client_id)))
        .set((consents::scope.eq(scope), consents::last_modified.eq(now)))
        .execute(conn)?;
    if updated > 0 {
        return Ok(());
    }
    // The first consent: a concurrent first consent (a double submit) may
    // insert it first; then this one is an update. A savepoint keeps the
    // losing insert from aborting the transaction on PostgreSQL.
    let inserted = conn.transaction(|c| {
        diesel::insert_into(consents::table)
            .values((
                consents::user_id.eq(user_id),
                consents::client_id.eq(client_id),
                consents::scope.eq(scope),
                consents::created.eq(now),
                consents::last_modified.eq(now),
            ))
            .execute(c)
    });
    match inserted.map_err(StoreError::from) {
        Ok(_) => Ok(()),
        Err(StoreError::Conflict(_)) => {
            diesel::update(consents::table.find((user_id, client_id)))
                .set((consents::scope.eq(scope), consents::last_modified.eq(now)))
                .execute(conn)?;
            Ok(())
        }
        Err(other) => Err(other),
    }
}

/// The secret kept for `purpose`, if one was created.
pub fn server_secret(conn: &mut AnyConnection, purpose: &str) -> Result<Option<String>, StoreError> {
    Ok(server_secrets::table.find(purpose).select(server_secrets::secret).first(conn).optional()?)
}

/// Keeps `secret` for `purpose`. Fails with [`StoreError::Conflict`] when
/// one is kept already (another node created it first): the primary key
/// decides, so every node ends up with the same secret. The caller then
/// reads the one kept with [`server_secret`].
pub fn create_server_secret(
    conn: &mut AnyConnection,
    purpose: &str,
    secret: &str,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::insert_into(server_secrets::table)
        .values((
            server_secrets::purpose.eq(purpose),
            server_secrets::secret.eq(secret),
            server_secrets::created.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}
