//! Signing keys and their life cycle: `next` (published, not yet signing),
//! `active` (signing), `retired` (published until what it signed expires).
//! The store keeps the states; the OIDC layer decides when to move them.

use std::fmt;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::AnyConnection;
use crate::error::StoreError;
use crate::schema::signing_keys;

/// Where a key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyState {
    /// Published in the JWKS so relying parties cache it, but not signing yet.
    Next,
    /// Signing new tokens.
    Active,
    /// No longer signing; published while tokens it signed may be live.
    Retired,
}

impl KeyState {
    /// The value stored in `signing_keys.state`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Active => "active",
            Self::Retired => "retired",
        }
    }

    fn parse(raw: &str) -> Result<Self, StoreError> {
        match raw {
            "next" => Ok(Self::Next),
            "active" => Ok(Self::Active),
            "retired" => Ok(Self::Retired),
            other => Err(StoreError::Other(format!("unknown key state `{other}`"))),
        }
    }
}

/// A signing key as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// Key id, as published in the JWKS and token headers.
    pub kid: String,
    /// JWS algorithm (`RS256`, `ES256`, …).
    pub alg: String,
    /// Life-cycle state.
    pub state: KeyState,
    /// The private key, PKCS#8 PEM. Never printed.
    pub private_pem: String,
    /// The public key as a JWK (JSON).
    pub public_jwk: String,
    /// When the key was made.
    pub created: NaiveDateTime,
    /// When it started signing.
    pub activated_at: Option<NaiveDateTime>,
    /// When it stopped signing.
    pub retired_at: Option<NaiveDateTime>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("state", &self.state)
            .field("created", &self.created)
            .field("activated_at", &self.activated_at)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
struct KeyRow {
    kid: String,
    alg: String,
    state: String,
    private_pem: String,
    public_jwk: String,
    created: NaiveDateTime,
    activated_at: Option<NaiveDateTime>,
    retired_at: Option<NaiveDateTime>,
}

impl KeyRow {
    fn into_key(self) -> Result<SigningKey, StoreError> {
        Ok(SigningKey {
            state: KeyState::parse(&self.state)?,
            kid: self.kid,
            alg: self.alg,
            private_pem: self.private_pem,
            public_jwk: self.public_jwk,
            created: self.created,
            activated_at: self.activated_at,
            retired_at: self.retired_at,
        })
    }
}

/// Stores a key.
pub fn insert(conn: &mut AnyConnection, key: &SigningKey) -> Result<(), StoreError> {
    diesel::insert_into(signing_keys::table)
        .values(KeyRow {
            kid: key.kid.clone(),
            alg: key.alg.clone(),
            state: key.state.as_str().to_owned(),
            private_pem: key.private_pem.clone(),
            public_jwk: key.public_jwk.clone(),
            created: key.created,
            activated_at: key.activated_at,
            retired_at: key.retired_at,
        })
        .execute(conn)?;
    Ok(())
}

/// Every stored key, oldest first.
pub fn list(conn: &mut AnyConnection) -> Result<Vec<SigningKey>, StoreError> {
    signing_keys::table
        .order((signing_keys::created.asc(), signing_keys::kid.asc()))
        .select(KeyRow::as_select())
        .load(conn)?
        .into_iter()
        .map(KeyRow::into_key)
        .collect()
}

/// Moves a key from `from` to `to`, stamping the activation or retirement
/// time. A single conditional UPDATE: returns `false`, changing nothing, if
/// the key was not in `from` (another node moved it first).
pub fn transition(
    conn: &mut AnyConnection,
    kid: &str,
    from: KeyState,
    to: KeyState,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let target = signing_keys::table.find(kid).filter(signing_keys::state.eq(from.as_str()));
    let changed = match to {
        KeyState::Active => diesel::update(target)
            .set((signing_keys::state.eq(to.as_str()), signing_keys::activated_at.eq(now)))
            .execute(conn)?,
        KeyState::Retired => diesel::update(target)
            .set((signing_keys::state.eq(to.as_str()), signing_keys::retired_at.eq(now)))
            .execute(conn)?,
        KeyState::Next => diesel::update(target).set(signing_keys::state.eq(to.as_str())).execute(conn)?,
    };
    Ok(changed > 0)
}

/// Deletes retired keys that stopped signing before `cutoff`; returns how many.
pub fn delete_retired_before(conn: &mut AnyConnection, cutoff: NaiveDateTime) -> Result<usize, StoreError> {
    Ok(diesel::delete(
        signing_keys::table
            .filter(signing_keys::state.eq(KeyState::Retired.as_str()))
            .filter(signing_keys::retired_at.lt(cutoff)),
    )
    .execute(conn)?)
}
