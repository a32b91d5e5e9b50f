//! Sigil's identity store: users, groups, OAuth clients, signing keys,
//! sessions and grants, kept in SQLite (embedded default) or PostgreSQL
//! through one diesel code path.
//!
//! The store knows nothing of OAuth, SCIM or HTTP. It keeps records, enforces
//! what must hold whatever protocol wrote them (unique names, whole records,
//! one-time use), and hands them back.
//!
//! Access goes through [`Store`]: [`Store::read`] and [`Store::write`] run a
//! closure over an [`AnyConnection`] off the async executor, so database
//! work never stalls it: reads on a pooled connection on tokio's blocking
//! thread pool, writes there too on PostgreSQL, and on SQLite on the single
//! writer (`writer`), which queues them and commits them in batches. The repository modules
//! ([`users`], [`groups`], [`clients`], [`keys`]) hold the queries, each
//! written once for both backends.

pub mod admin_grants;
pub mod api_tokens;
pub mod audit;
pub mod clients;
pub mod clock;
pub mod copy;
mod db;
mod error;
pub mod grants;
pub mod groups;
pub mod keys;
pub mod keyset;
mod metered;
pub mod password;
pub mod password_resets;
pub mod roles;
pub mod schema;
pub mod secret;
pub mod text;
pub mod throttle;
pub mod tokens;
pub mod users;
mod writer;

use std::fmt;
use std::sync::Arc;

use chrono::NaiveDateTime;

pub use crate::clock::{Clock, ManualClock, SystemClock};
pub use crate::db::{AnyConnection, DatabaseUrl, Lock, PoolOptions, lock};
pub use crate::error::{StoreError, Unique};
pub use crate::metered::PoolState;
pub use crate::writer::WriterCounts;

/// When a record was created and last changed, and its version, which grows
/// by one on every write (the basis of SCIM ETags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Meta {
    /// Creation time (UTC).
    pub created: NaiveDateTime,
    /// Time of the last write (UTC).
    pub last_modified: NaiveDateTime,
    /// 1 on creation, then +1 per write.
    pub version: i64,
}

/// A fresh record id: a random (v4) UUID, stored as text.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A handle to the store: a connection pool and a clock. Cheap to clone;
/// every clone shares the pool.
#[derive(Clone)]
pub struct Store {
    pool: db::Pool,
    url: DatabaseUrl,
    /// SQLite only: the one connection [`Store::write`] goes through.
    writer: Option<Arc<writer::Writer>>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").field("url", &self.url).finish_non_exhaustive()
    }
}

impl Store {
    /// Connects to the database at `url` (one connection is opened at once,
    /// so a bad URL or an unreachable server is reported here). Does not
    /// migrate; call [`Store::migrate`].
    pub fn open(url: &DatabaseUrl, options: &PoolOptions) -> Result<Self, StoreError> {
        let pool = db::build_pool(url, options)?;
        let writer = match url {
            DatabaseUrl::Sqlite(_) => Some(Arc::new(writer::Writer::start(url)?)),
            DatabaseUrl::Postgres(_) => None,
        };
        Ok(Self { pool, url: url.clone(), writer, clock: Arc::new(SystemClock) })
    }

    /// The same store, reading time from `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The store's clock.
    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    /// Now, in stored form.
    pub fn now(&self) -> NaiveDateTime {
        self.clock.db_now()
    }

    /// On SQLite, how many writes the single writer has run and in how many
    /// commits; `None` on PostgreSQL, where each write commits by itself.
    pub fn writer_counts(&self) -> Option<WriterCounts> {
        self.writer.as_ref().map(|w| w.counts())
    }

    /// The connection pool's state now.
    pub fn pool_state(&self) -> PoolState {
        let state = self.pool.state();
        PoolState { open: state.connections, idle: state.idle_connections, max: self.pool.max_size() }
    }

    /// Where the store lives (passwords redacted when displayed).
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// Applies pending migrations, embedded in the binary, and returns the
    /// versions applied. Safe to run from several nodes at once: on
    /// PostgreSQL an advisory lock lets one node migrate while the others
    /// wait; on SQLite the write lock does the same.
    pub fn migrate(&self) -> Result<Vec<String>, StoreError> {
        let mut conn = self.pool.get()?;
        db::write_transaction(&mut conn, |conn| {
            db::lock(conn, Lock::Migrations)?;
            db::run_migrations(conn)
        })
    }

    /// Runs `f` in a read transaction on the calling thread. For the CLI and
    /// for code already on a blocking thread. `f` may fail with the
    /// caller's own error (anything a [`StoreError`] converts into), so a
    /// domain refusal leaves the transaction as itself.
    pub fn read_blocking<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut AnyConnection) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.pool.get().map_err(StoreError::from)?;
        db::read_transaction(&mut conn, f)
    }

    /// Runs `f` in a write transaction on the calling thread: all of it is
    /// committed or none of it (an error of `f`, the caller's or the
    /// store's, rolls it back). For the CLI and for code already on a
    /// blocking thread. On SQLite this takes a pooled connection, not the
    /// single writer: it waits for the database's write lock like any other
    /// process's writer would.
    pub fn write_blocking<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut AnyConnection) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.pool.get().map_err(StoreError::from)?;
        db::write_transaction(&mut conn, f)
    }

    /// Runs `f` in a read transaction on the blocking thread pool.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
    {
        metered::timed("read", self.on_blocking_pool(move |conn| db::read_transaction(conn, f))).await
    }

    /// Runs `f`, which issues one statement, on the blocking thread pool
    /// outside any explicit transaction. A single statement reads one
    /// snapshot by itself on both backends, so the BEGIN and COMMIT of
    /// [`Store::read`] would change nothing it sees (on SQLite they cost
    /// about 13,000 instructions). For reads made on every request, such as
    /// a client's at the token endpoint; anything that reads twice and
    /// needs the two reads to agree uses [`Store::read`].
    pub async fn read_statement<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
    {
        metered::timed("read_statement", self.on_blocking_pool(move |conn| f(conn))).await
    }

    /// Runs `f` on the blocking thread pool on one snapshot of the database,
    /// on both backends (a read transaction on SQLite, REPEATABLE READ on
    /// PostgreSQL): for a record returned with its version, whose parts
    /// must be those of that version. [`Store::read`] gives each statement
    /// its own snapshot on PostgreSQL.
    pub async fn read_snapshot<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
    {
        metered::timed("read_snapshot", self.on_blocking_pool(move |conn| db::snapshot_transaction(conn, f)))
            .await
    }

    /// Runs `f` in a write transaction: all of it is committed or none of
    /// it, and the answer comes after the commit is durable. On SQLite `f`
    /// is queued for the single writer, which runs it in a savepoint of a
    /// transaction it may share with other writes (one fsync for all); on
    /// PostgreSQL it runs on the blocking thread pool in its own
    /// transaction.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
    {
        if let Some(writer) = &self.writer {
            return metered::timed("write", writer.write(f)).await;
        }
        metered::timed("write", self.on_blocking_pool(move |conn| db::write_transaction(conn, f))).await
    }

    /// Runs `f` on a pooled connection on tokio's blocking thread pool.
    async fn on_blocking_pool<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = store.pool.get().map_err(StoreError::from)?;
            f(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Other(format!("store task failed: {e}")))?
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = store.pool.get()?;
            db::ping(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Other(format!("store task failed: {e}")))?
    }
}
