//! API tokens: long-lived bearer tokens a client holds for itself, kept as
//! SHA-256 digests. What a token may do, and the shape of the token
//! itself, belong to the OIDC layer; the store keeps the records, finds one
//! by its digest, and revokes it with one conditional UPDATE.
//!
//! The last use is recorded coarsely: [`touch`] moves `last_used_at` only
//! when it is older than [`LAST_USE_GRANULARITY`], so a token used on
//! every request costs one write a minute, not one per request, and
//! `last_used_at` is never more than that behind the real last use.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use crate::db::AnyConnection;
use crate::error::StoreError;
use crate::schema::{admin_grants, api_tokens, clients};
use crate::secret::HashedSecret;

/// How far `last_used_at` may lag behind the last use.
pub const LAST_USE_GRANULARITY: TimeDelta = TimeDelta::minutes(1);

/// An API token as stored, without its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// The token's id (a UUID): how it is listed and revoked. Not secret.
    pub id: String,
    /// The client it belongs to and acts as.
    pub client_id: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// What the operator calls it.
    pub name: Option<String>,
    /// When it was created.
    pub created: NaiveDateTime,
    /// When it lapses.
    pub expires_at: NaiveDateTime,
    /// When it was last accepted, to within [`LAST_USE_GRANULARITY`].
    pub last_used_at: Option<NaiveDateTime>,
    /// When it was revoked.
    pub revoked_at: Option<NaiveDateTime>,
}

impl ApiToken {
    /// Whether it is neither revoked nor expired at `now`.
    pub fn is_live(&self, now: NaiveDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }

    /// Whether [`touch`] would record a use at `now`: the last recorded
    /// one is missing or older than [`LAST_USE_GRANULARITY`].
    pub fn use_is_due(&self, now: NaiveDateTime) -> bool {
        self.last_used_at.is_none_or(|last| last < now - LAST_USE_GRANULARITY)
    }
}

/// A new token to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiToken {
    /// Its id.
    pub id: String,
    /// Its client.
    pub client_id: String,
    /// Digest of the token.
    pub token_hash: HashedSecret,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// What the operator calls it.
    pub name: Option<String>,
    /// When it lapses.
    pub expires_at: NaiveDateTime,
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_tokens)]
struct Row {
    id: String,
    client_id: String,
    token_hash: String,
    scope: String,
    name: Option<String>,
    created: NaiveDateTime,
    expires_at: NaiveDateTime,
    last_used_at: Option<NaiveDateTime>,
    revoked_at: Option<NaiveDateTime>,
}

impl Row {
    fn into_token(self) -> ApiToken {
        ApiToken {
            id: self.id,
            client_id: self.client_id,
            scope: self.scope,
            name: self.name,
            created: self.created,
            expires_at: self.expires_at,
            last_used_at: self.last_used_at,
            revoked_at: self.revoked_at,
        }
    }
}

/// Stores a new token. [`StoreError::NotFound`] when its client does not
/// exist. The client's row lock is taken first, so a token created while
/// the client is being removed is removed with it or finds it gone.
pub fn insert(
    conn: &mut AnyConnection,
    new: NewApiToken,
    now: NaiveDateTime,
) -> Result<ApiToken, StoreError> {
    crate::clients::lock(conn, &new.client_id)?;
    let row = Row {
        id: new.id,
        client_id: new.client_id,
        token_hash: new.token_hash.as_str().to_owned(),
        scope: new.scope,
        name: new.name,
        created: now,
        expires_at: new.expires_at,
        last_used_at: None,
        revoked_at: None,
    };
    diesel::insert_into(api_tokens::table).values(&row).execute(conn)?;
    Ok(row.into_token())
}

/// A token found by its digest, with what its client is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The record, live or not.
    pub token: ApiToken,
    /// Its stored digest, for a constant-time comparison with the token
    /// presented.
    pub token_hash: HashedSecret,
    /// The scopes the client is registered for now.
    pub client_scopes: Vec<String>,
    /// The built-in roles the client holds now, sorted.
    pub client_roles: Vec<String>,
}

/// The token whose digest is `token_hash`, its client's registered scopes
/// and the client's built-in roles, in one query (the token joined to its
/// client and, outer, to the client's grants). `None` when there is no
/// such token, which is also the answer once its client is removed.
pub fn find(conn: &mut AnyConnection, token_hash: &str) -> Result<Option<Found>, StoreError> {
    let rows: Vec<(Row, String, Option<String>)> = crate::db::on_backend!(conn, |c| {
        api_tokens::table
            .inner_join(clients::table.on(clients::id.eq(api_tokens::client_id)))
            .left_join(admin_grants::table.on(admin_grants::client_id.eq(api_tokens::client_id.nullable())))
            .filter(api_tokens::token_hash.eq(token_hash))
            .order(admin_grants::role.asc())
            .select((Row::as_select(), clients::scopes, admin_grants::role.nullable()))
            .load(c)
    })?;
    let mut client_roles = Vec::new();
    let mut first = None;
    for (row, scopes, role) in rows {
        client_roles.extend(role);
        first.get_or_insert((row, scopes));
    }
    let Some((row, scopes)) = first else { return Ok(None) };
    let client_scopes = crate::clients::decode_list("scopes", &scopes)?;
    Ok(Some(Found {
        token_hash: HashedSecret::from_stored(row.token_hash.clone()),
        token: row.into_token(),
        client_scopes,
        client_roles,
    }))
}

/// Records a use of token `id` at `now`, unless one was recorded less than
/// [`LAST_USE_GRANULARITY`] before: one conditional UPDATE, so concurrent
/// requests on any number of nodes write at most once a minute between
/// them. Reports whether it wrote.
pub fn touch(conn: &mut AnyConnection, id: &str, now: NaiveDateTime) -> Result<bool, StoreError> {
    let stale = now - LAST_USE_GRANULARITY;
    let written = diesel::update(
        api_tokens::table
            .find(id)
            .filter(api_tokens::last_used_at.is_null().or(api_tokens::last_used_at.lt(stale))),
    )
    .set(api_tokens::last_used_at.eq(now))
    .execute(conn)?;
    Ok(written > 0)
}

/// Revokes token `id` at `now`. `Ok(true)` when this call revoked it,
/// `Ok(false)` when it already was; [`StoreError::NotFound`] when there is
/// no such token. One conditional UPDATE decides, so of concurrent
/// revocations exactly one reports `true`.
pub fn revoke(conn: &mut AnyConnection, id: &str, now: NaiveDateTime) -> Result<bool, StoreError> {
    let revoked = diesel::update(api_tokens::table.find(id).filter(api_tokens::revoked_at.is_null()))
        .set(api_tokens::revoked_at.eq(now))
        .execute(conn)?;
    if revoked > 0 {
        return Ok(true);
    }
    get(conn, id).map(|_| false)
}

/// The token with this id.
pub fn get(conn: &mut AnyConnection, id: &str) -> Result<ApiToken, StoreError> {
    let row: Row = api_tokens::table.find(id).select(Row::as_select()).first(conn)?;
    Ok(row.into_token())
}

/// Every token, or every token of `client_id`, oldest first.
pub fn list(conn: &mut AnyConnection, client_id: Option<&str>) -> Result<Vec<ApiToken>, StoreError> {
    let order = (api_tokens::created.asc(), api_tokens::id.asc());
    let rows: Vec<Row> = match client_id {
        Some(client_id) => api_tokens::table
            .filter(api_tokens::client_id.eq(client_id))
            .order(order)
            .select(Row::as_select())
            .load(conn)?,
        None => api_tokens::table.order(order).select(Row::as_select()).load(conn)?,
    };
    Ok(rows.into_iter().map(Row::into_token).collect())
}
