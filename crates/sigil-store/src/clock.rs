//! Time, in one place. Nothing in Sigil reads the wall clock except a
//! [`Clock`]; tests inject a [`ManualClock`] to move time forward.
//!
//! Stored times are UTC `NaiveDateTime`s truncated to whole microseconds:
//! PostgreSQL keeps microseconds only, so a finer value would not read back
//! equal to what was written.

use std::fmt;
use std::sync::Mutex;

use chrono::{DateTime, NaiveDateTime, SubsecRound, TimeDelta, Utc};

/// A source of the current time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;

    /// The current instant as stored: UTC, whole microseconds.
    fn db_now(&self) -> NaiveDateTime {
        to_db_time(self.now())
    }
}

/// Converts an instant to its stored form (UTC, whole microseconds).
pub fn to_db_time(instant: DateTime<Utc>) -> NaiveDateTime {
    instant.trunc_subsecs(6).naive_utc()
}

/// The operating system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self(Mutex::new(start))
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: TimeDelta) {
        let mut now = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
