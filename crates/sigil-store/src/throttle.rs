//! Counting attempts per key within a window, and locks, shared by every
//! node through the store. What a key names (an account, an address) and
//! how many attempts it allows is the caller's policy.
//!
//! An attempt is counted *before* it is made ([`reserve`]), by a
//! conditional UPDATE that only matches a key that is not locked, and the
//! attempt that reaches the limit sets the lock in the same transaction.
//! While that transaction holds the row no other attempt on the key can be
//! counted, and once it commits they all see the lock: however many
//! attempts arrive at once, on however many nodes, at most the allowed
//! number go ahead. An attempt that turns out not to be a failure is given
//! back afterwards ([`release`], or [`clear`] to forget the key).

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use crate::db::AnyConnection;
use crate::error::StoreError;
use crate::schema::throttle;

/// How many attempts a key allows, and for how long it locks after them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Attempts counted within one window before the key locks.
    pub allowed: i64,
    /// How long a window lasts, from its first attempt.
    pub window: TimeDelta,
    /// The first lock; every further attempt after a lock doubles it, up
    /// to the window.
    pub first_lock: TimeDelta,
}

impl Limit {
    /// The lock set by the attempt that brings the count to `attempts`.
    fn lock_for(&self, attempts: i64) -> TimeDelta {
        let doublings = u32::try_from((attempts - self.allowed).clamp(0, 10)).unwrap_or(10);
        (self.first_lock * 2_i32.pow(doublings)).min(self.window)
    }
}

/// An attempt counted by [`reserve`], to give back with [`release`] if it
/// succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reserved {
    key: String,
    /// Whether this attempt reached the limit and set the key's lock.
    set_lock: bool,
}

impl Reserved {
    /// The key the attempt was counted on.
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// Counts one attempt on `key` before it is made. `None`: the key is
/// locked, and the attempt must not be made. Run in a write transaction;
/// it fails with [`StoreError::Conflict`] when another node counted the
/// key's very first attempt at the same moment, and is then run again.
pub fn reserve(
    conn: &mut AnyConnection,
    key: &str,
    now: NaiveDateTime,
    limit: &Limit,
) -> Result<Option<Reserved>, StoreError> {
    let window_open = now - limit.window;
    // A row seen unlocked but changed before the UPDATE could match it (a
    // concurrent new window) is looked at again; a few rounds settle it.
    for _ in 0..3 {
        // Within the window, not locked: one more.
        let mut counted = diesel::update(
            throttle::table
                .find(key)
                .filter(throttle::window_start.gt(window_open))
                .filter(throttle::locked_until.is_null().or(throttle::locked_until.le(now))),
        )
        .set(throttle::failures.eq(throttle::failures + 1))
        .execute(conn)?;
        if counted == 0 {
            // The window is over (and any lock with it): a new one begins.
            counted = diesel::update(
                throttle::table
                    .find(key)
                    .filter(throttle::window_start.le(window_open))
                    .filter(throttle::locked_until.is_null().or(throttle::locked_until.le(now))),
            )
            .set((
                throttle::failures.eq(1),
                throttle::window_start.eq(now),
                throttle::locked_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
        }
        if counted == 0 {
            let lock: Option<Option<NaiveDateTime>> =
                throttle::table.find(key).select(throttle::locked_until).first(conn).optional()?;
            match lock {
                None => {
                    // The primary key lets one first attempt in; a racing one
                    // fails with a conflict and is run again.
                    diesel::insert_into(throttle::table)
                        .values((
                            throttle::throttle_key.eq(key),
                            throttle::failures.eq(1),
                            throttle::window_start.eq(now),
                        ))
                        .execute(conn)?;
                }
                Some(Some(until)) if until > now => return Ok(None),
                Some(_) => continue,
            }
        }
        // The UPDATE or INSERT above holds the row until this transaction
        // ends, so the count read back is this attempt's, and a lock set now
        // is in place before any other attempt is counted.
        let attempts: i64 = throttle::table.find(key).select(throttle::failures).first(conn)?;
        let set_lock = attempts >= limit.allowed;
        if set_lock {
            diesel::update(throttle::table.find(key))
                .set(throttle::locked_until.eq(now + limit.lock_for(attempts)))
                .execute(conn)?;
        }
        return Ok(Some(Reserved { key: key.to_owned(), set_lock }));
    }
    // The row kept changing under us: refusing is the safe answer.
    Ok(None)
}

/// Gives back an attempt that was not a failure: one fewer counted, and the
/// lock it set, if it set one, lifted (no attempt was counted after it
/// while that lock held).
pub fn release(conn: &mut AnyConnection, reserved: &Reserved) -> Result<(), StoreError> {
    let row = throttle::table.find(&reserved.key);
    diesel::update(row.filter(throttle::failures.gt(0)))
        .set(throttle::failures.eq(throttle::failures - 1))
        .execute(conn)?;
    if reserved.set_lock {
        diesel::update(row).set(throttle::locked_until.eq(None::<NaiveDateTime>)).execute(conn)?;
    }
    Ok(())
}

/// Forgets the attempts and any lock of `key`.
pub fn clear(conn: &mut AnyConnection, key: &str) -> Result<(), StoreError> {
    diesel::delete(throttle::table.find(key)).execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_double_up_to_the_window() {
        let limit = Limit { allowed: 5, window: TimeDelta::minutes(15), first_lock: TimeDelta::seconds(30) };
        assert_eq!(limit.lock_for(5), TimeDelta::seconds(30));
        assert_eq!(limit.lock_for(6), TimeDelta::seconds(60));
        assert_eq!(limit.lock_for(30), TimeDelta::minutes(15));
    }
}
