//! One-time password reset links: an operator issues one for a user
//! (`sigil user reset-link`), the user opens it and chooses a password.
//! The operator never learns the password; the user never needs the old one.
//!
//! A link's token is a [`PlainSecret`](crate::secret::PlainSecret) (256
//! random bits) kept as its SHA-256 digest. A user has at most one live
//! link: [`issue`] deletes the user's earlier ones in the same write.
//! [`reset_password`] redeems a link with one conditional UPDATE and sets
//! the password in the same transaction, so of any number of concurrent
//! posts of one link at most one sets a password.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::AnyConnection;
use crate::error::StoreError;
use crate::schema::password_resets;
use crate::secret::HashedSecret;
use crate::users::{self, User};

/// A link as stored, without its digest.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = password_resets)]
pub struct PasswordReset {
    /// The user whose password it sets.
    pub user_id: String,
    /// When it was issued.
    pub created: NaiveDateTime,
    /// When it lapses.
    pub expires_at: NaiveDateTime,
    /// When it was redeemed.
    pub used_at: Option<NaiveDateTime>,
}

/// Stores a new link for `user_id`, whose token digests to `token_hash`,
/// and deletes the user's earlier links: issuing a link revokes the ones
/// before it. The user's row lock is taken first, so two links issued at
/// once leave one. [`StoreError::NotFound`] when there is no such user.
pub fn issue(
    conn: &mut AnyConnection,
    user_id: &str,
    token_hash: &HashedSecret,
    expires_at: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<PasswordReset, StoreError> {
    users::lock(conn, user_id)?;
    diesel::delete(password_resets::table.filter(password_resets::user_id.eq(user_id))).execute(conn)?;
    diesel::insert_into(password_resets::table)
        .values((
            password_resets::token_hash.eq(token_hash.as_str()),
            password_resets::user_id.eq(user_id),
            password_resets::created.eq(now),
            password_resets::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(PasswordReset { user_id: user_id.to_owned(), created: now, expires_at, used_at: None })
}

/// The user a link whose token digests to `token_hash` would reset, while
/// it is neither used nor expired at `now`; `None` for an unknown, used or
/// expired link alike. For showing the form: redeeming decides again.
pub fn live_user(
    conn: &mut AnyConnection,
    token_hash: &HashedSecret,
    now: NaiveDateTime,
) -> Result<Option<String>, StoreError> {
    Ok(password_resets::table
        .find(token_hash.as_str())
        .filter(password_resets::used_at.is_null())
        .filter(password_resets::expires_at.gt(now))
        .select(password_resets::user_id)
        .first(conn)
        .optional()?)
}

/// Redeems the link whose token digests to `token_hash` and sets its
/// user's password to `password_hash`, in the caller's transaction.
///
/// The link is consumed by one conditional UPDATE (`used_at` still empty,
/// not expired), its row count checked, so concurrent redeemers of one
/// link cannot both pass. The password is then written as every change
/// of a user is, by [`users::update`] under the user's row lock with the
/// version moved; that also ends the user's sessions, refresh tokens and
/// grants (a reset after a compromise must sign the intruder out).
///
/// `Ok(None)` for an unknown, used or expired link, and for a disabled
/// user's (the link is consumed all the same).
pub fn reset_password(
    conn: &mut AnyConnection,
    token_hash: &HashedSecret,
    password_hash: String,
    now: NaiveDateTime,
) -> Result<Option<User>, StoreError> {
    let Some(user_id) = live_user(conn, token_hash, now)? else { return Ok(None) };
    let consumed = diesel::update(
        password_resets::table
            .find(token_hash.as_str())
            .filter(password_resets::used_at.is_null())
            .filter(password_resets::expires_at.gt(now)),
    )
    .set(password_resets::used_at.eq(now))
    .execute(conn)?;
    if consumed == 0 {
        return Ok(None);
    }
    users::lock(conn, &user_id)?;
    let mut user = users::get(conn, &user_id)?;
    if !user.active {
        return Ok(None);
    }
    user.password_hash = Some(password_hash);
    users::update(conn, user, None, now).map(Some)
}

/// The links of `user_id`, newest first (for tests and diagnostics).
pub fn of_user(conn: &mut AnyConnection, user_id: &str) -> Result<Vec<PasswordReset>, StoreError> {
    Ok(password_resets::table
        .filter(password_resets::user_id.eq(user_id))
        .order(password_resets::created.desc())
        .select(PasswordReset::as_select())
        .load(conn)?)
}
