//! Refresh tokens and revocation.
//!
//! Refresh tokens are stored as digests, grouped in families: every token
//! rotated out of one authorization shares its `family_id` (the grant id).
//! Using a token is one conditional UPDATE; presenting a used or revoked one
//! again is reuse, and revokes the family (RFC 9700 §4.14.2).
//!
//! Revocation of access tokens, which are self-contained JWTs, is a list of
//! revoked `jti`s and revoked grants, kept until the tokens would expire.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::AnyConnection;
use crate::error::StoreError;
use crate::schema::{admin_grants, clients, refresh_tokens, revoked_tokens, sessions};

/// A refresh token as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshToken {
    /// Digest of the token.
    pub token_hash: String,
    /// The grant it descends from; shared by its rotations.
    pub family_id: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The user it acts for.
    pub user_id: Option<String>,
    /// Granted scope, space-separated.
    pub scope: String,
    /// The browser session it came from.
    pub session_id_hash: Option<String>,
    /// When the user authenticated.
    pub auth_time: Option<NaiveDateTime>,
    /// When it was issued.
    pub created: NaiveDateTime,
    /// When it lapses.
    pub expires_at: NaiveDateTime,
    /// When it was exchanged for a new one.
    pub used_at: Option<NaiveDateTime>,
    /// When it (or its family) was revoked.
    pub revoked_at: Option<NaiveDateTime>,
}

/// Stores a new refresh token.
pub fn insert_refresh(conn: &mut AnyConnection, token: &RefreshToken) -> Result<(), StoreError> {
    diesel::insert_into(refresh_tokens::table).values(token).execute(conn)?;
    Ok(())
}

/// What happened when a refresh token was presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshUse {
    /// First use: the token is now spent; here is its record.
    Fresh(RefreshToken),
    /// Already used or revoked: presenting it again is reuse.
    Reused(RefreshToken),
    /// No such token.
    Unknown,
}

/// Spends a refresh token, once: one conditional UPDATE decides. A token
/// whose grant was revoked is reuse, whatever its own row says.
pub fn use_refresh(
    conn: &mut AnyConnection,
    token_hash: &str,
    now: NaiveDateTime,
) -> Result<RefreshUse, StoreError> {
    let won = diesel::update(
        refresh_tokens::table
            .find(token_hash)
            .filter(refresh_tokens::used_at.is_null())
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::used_at.eq(now))
    .execute(conn)?
        > 0;
    let record = find_refresh(conn, token_hash)?;
    // A token inserted while its grant was being revoked (the spend and the
    // insert of its successor are separate transactions) must not outlive
    // the grant: the grant's revocation decides too.
    let grant_revoked = match &record {
        Some(token) => is_revoked(conn, "", Some(&token.family_id))?,
        None => false,
    };
    Ok(match (record, won) {
        (Some(token), true) if grant_revoked => RefreshUse::Reused(token),
        (Some(token), true) => RefreshUse::Fresh(token),
        (Some(token), false) => RefreshUse::Reused(token),
        (None, _) => RefreshUse::Unknown,
    })
}

/// The refresh token with this digest.
pub fn find_refresh(conn: &mut AnyConnection, token_hash: &str) -> Result<Option<RefreshToken>, StoreError> {
    Ok(refresh_tokens::table.find(token_hash).select(RefreshToken::as_select()).first(conn).optional()?)
}

/// Revokes a whole grant: every refresh token of the family, and every
/// access token that names the grant (until `expires_at`, the latest any of
/// them can expire). Idempotent.
pub fn revoke_grant(
    conn: &mut AnyConnection,
    grant_id: &str,
    reason: &str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(grant_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)?;
    revoke_jti(conn, &format!("grant:{grant_id}"), Some(grant_id), reason, now, expires_at)
}

/// Records a revoked token id. Idempotent.
pub fn revoke_jti(
    conn: &mut AnyConnection,
    jti: &str,
    grant_id: Option<&str>,
    reason: &str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> Result<(), StoreError> {
    // The primary key decides: of concurrent revocations one inserts, the
    // others meet the constraint, and all of them succeed.
    // A savepoint keeps the losing insert from aborting the caller's
    // transaction on PostgreSQL.
    let inserted = conn.transaction(|c| {
        diesel::insert_into(revoked_tokens::table)
            .values((
                revoked_tokens::jti.eq(jti),
                revoked_tokens::reason.eq(reason),
                revoked_tokens::grant_id.eq(grant_id),
                revoked_tokens::revoked_at.eq(now),
                revoked_tokens::expires_at.eq(expires_at),
            ))
            .execute(c)
    });
    match inserted.map_err(StoreError::from) {
        Ok(_) | Err(StoreError::Conflict(_)) => Ok(()),
        Err(other) => Err(other),
    }
}

/// Whether a token with this `jti`, issued under `grant_id`, was revoked:
/// itself, or its whole grant. One query over the primary key.
pub fn is_revoked(conn: &mut AnyConnection, jti: &str, grant_id: Option<&str>) -> Result<bool, StoreError> {
    let ids = revocation_keys(jti, grant_id);
    // One query for both: this runs on every token a request presents.
    let found: i64 = crate::db::on_backend!(conn, |c| {
        revoked_tokens::table.filter(crate::db::any_of(revoked_tokens::jti, &ids)).count().get_result(c)
    })?;
    Ok(found > 0)
}

/// The keys under which a token's revocation is recorded: its own `jti`,
/// and its grant's.
fn revocation_keys(jti: &str, grant_id: Option<&str>) -> Vec<String> {
    let mut ids = vec![jti.to_owned()];
    ids.extend(grant_id.map(|g| format!("grant:{g}")));
    ids
}

/// A client's own token (client credentials) checked in one statement:
/// `None` when it was revoked (itself or its grant) or its client is no
/// longer registered; otherwise the built-in roles the client holds,
/// sorted. What [`is_revoked`], a look-up of the client and
/// [`crate::admin_grants::held_by_client`] answer together, in a third of
/// the round trips: this runs on every request a provisioning client sends.
pub fn live_client_token(
    conn: &mut AnyConnection,
    client_id: &str,
    jti: &str,
    grant_id: Option<&str>,
) -> Result<Option<Vec<String>>, StoreError> {
    use diesel::dsl::{exists, not};
    let ids = revocation_keys(jti, grant_id);
    // A row per role the client holds (one row with no role when it holds
    // none); no row at all when the token is dead.
    let rows: Vec<Option<String>> = crate::db::on_backend!(conn, |c| {
        clients::table
            .left_join(admin_grants::table.on(admin_grants::client_id.eq(clients::id.nullable())))
            .filter(clients::id.eq(client_id))
            .filter(not(exists(revoked_tokens::table.filter(crate::db::any_of(revoked_tokens::jti, &ids)))))
            .select(admin_grants::role.nullable())
            .load(c)
    })?;
    if rows.is_empty() {
        return Ok(None);
    }
    let roles: std::collections::BTreeSet<String> = rows.into_iter().flatten().collect();
    Ok(Some(roles.into_iter().collect()))
}

/// Records a one-time value (such as a client assertion's `jti`) until
/// `expires_at`; returns `false` if it was recorded before. The primary key
/// decides, so two nodes cannot both accept the same value.
pub fn record_once(
    conn: &mut AnyConnection,
    id: &str,
    reason: &str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> Result<bool, StoreError> {
    let inserted = conn.transaction(|c| {
        diesel::insert_into(revoked_tokens::table)
            .values((
                revoked_tokens::jti.eq(id),
                revoked_tokens::reason.eq(reason),
                revoked_tokens::revoked_at.eq(now),
                revoked_tokens::expires_at.eq(expires_at),
            ))
            .execute(c)
    });
    match inserted.map_err(StoreError::from) {
        Ok(_) => Ok(true),
        Err(StoreError::Conflict(_)) => Ok(false),
        Err(other) => Err(other),
    }
}

/// Ends everything a user's sign-ins left behind: their browser sessions,
/// their refresh tokens, and every grant those came from (so the grants'
/// access tokens stay revoked even if the user is enabled again). Called
/// when a user is deactivated or deleted, on every path that does it.
pub fn revoke_user(conn: &mut AnyConnection, user_id: &str, now: NaiveDateTime) -> Result<(), StoreError> {
    diesel::update(
        sessions::table.filter(sessions::user_id.eq(user_id)).filter(sessions::ended_at.is_null()),
    )
    .set(sessions::ended_at.eq(now))
    .execute(conn)?;
    let families: Vec<(String, NaiveDateTime)> = refresh_tokens::table
        .filter(refresh_tokens::user_id.eq(user_id))
        .filter(refresh_tokens::revoked_at.is_null())
        .select((refresh_tokens::family_id, refresh_tokens::expires_at))
        .load(conn)?;
    let mut latest: std::collections::BTreeMap<String, NaiveDateTime> = std::collections::BTreeMap::new();
    for (family, expires_at) in families {
        let entry = latest.entry(family).or_insert(expires_at);
        *entry = (*entry).max(expires_at);
    }
    for (family, until) in latest {
        revoke_grant(conn, &family, "user deactivated or deleted", now, until.max(now))?;
    }
    Ok(())
}
