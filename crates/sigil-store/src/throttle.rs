//! Counting failures per key within a window, and locks, shared by every
//! node through the store. What a key names (an account, an address) and
//! when to lock is the caller's policy.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use crate::db::AnyConnection;
use crate::error::{StoreError, Unique};
use crate::schema::throttle;

/// The latest lock still in force on any of `keys`.
pub fn locked_until(
    conn: &mut AnyConnection,
    keys: &[String],
    now: NaiveDateTime,
) -> Result<Option<NaiveDateTime>, StoreError> {
    let mut latest = None;
    for key in keys {
        let lock: Option<Option<NaiveDateTime>> =
            throttle::table.find(key).select(throttle::locked_until).first(conn).optional()?;
        if let Some(Some(until)) = lock
            && until > now
        {
            latest = latest.max(Some(until));
        }
    }
    Ok(latest)
}

/// Counts one failure for `key` and returns the failures in the current
/// window (a new window starts when the last one is older than `window`).
pub fn record_failure(
    conn: &mut AnyConnection,
    key: &str,
    now: NaiveDateTime,
    window: TimeDelta,
) -> Result<i64, StoreError> {
    let row: Option<(i64, NaiveDateTime)> = throttle::table
        .find(key)
        .select((throttle::failures, throttle::window_start))
        .first(conn)
        .optional()?;
    match row {
        Some((failures, start)) if start + window > now => {
            diesel::update(throttle::table.find(key))
                .set(throttle::failures.eq(failures + 1))
                .execute(conn)?;
            Ok(failures + 1)
        }
        Some(_) => {
            diesel::update(throttle::table.find(key))
                .set((
                    throttle::failures.eq(1),
                    throttle::window_start.eq(now),
                    throttle::locked_until.eq(None::<NaiveDateTime>),
                ))
                .execute(conn)?;
            Ok(1)
        }
        None => {
            let inserted = diesel::insert_into(throttle::table)
                .values((
                    throttle::throttle_key.eq(key),
                    throttle::failures.eq(1),
                    throttle::window_start.eq(now),
                ))
                .execute(conn);
            match inserted.map_err(StoreError::from) {
                // Another node counted the first failure at the same moment.
                Ok(_) | Err(StoreError::Conflict(Unique::Other)) => Ok(1),
                Err(other) => Err(other),
            }
        }
    }
}

/// Locks `key` until `until`.
pub fn lock(conn: &mut AnyConnection, key: &str, until: NaiveDateTime) -> Result<(), StoreError> {
    diesel::update(throttle::table.find(key)).set(throttle::locked_until.eq(until)).execute(conn)?;
    Ok(())
}

/// Forgets the failures of `key`.
pub fn clear(conn: &mut AnyConnection, key: &str) -> Result<(), StoreError> {
    diesel::delete(throttle::table.find(key)).execute(conn)?;
    Ok(())
}
