//! Connections: which backend a URL names, how a connection is opened and set
//! up, the pool, migrations, and the write transaction.
//!
//! This is the only module that looks at which backend it talks to. Everything
//! above it writes each query once against [`AnyConnection`].

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::error::StoreError;

mod any_of;
pub(crate) mod catalogue;
pub(crate) mod rows;
pub(crate) use any_of::any_of;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// How long a SQLite writer waits for the database lock before giving up.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 10_000;

/// One connection to either backend. Queries are written once against this
/// type; diesel dispatches them to the backend underneath.
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    /// The embedded default.
    Sqlite(SqliteConnection),
    /// Production, and PostgreSQL-compatible distributed engines.
    Postgres(PgConnection),
}

impl fmt::Debug for AnyConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sqlite(_) => "AnyConnection::Sqlite",
            Self::Postgres(_) => "AnyConnection::Postgres",
        })
    }
}

/// Which database a URL names.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite database file (`sigil.db`, `sqlite:///var/lib/sigil.db`, `sqlite:sigil.db`).
    Sqlite(PathBuf),
    /// A `postgres://` or `postgresql://` URL, passed to libpq unchanged.
    Postgres(String),
}

impl DatabaseUrl {
    /// Reads a database URL: a `postgres://` / `postgresql://` URL, a
    /// `sqlite:` URL, or a plain file path, which means SQLite.
    ///
    /// The backend is chosen here, from the scheme, rather than by letting
    /// diesel try each backend in turn: that way a refused PostgreSQL
    /// connection is reported as such instead of as an unknown URL.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("is empty".into());
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return Ok(Self::Postgres(raw.to_owned()));
        }
        if let Some(rest) = raw.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() {
                return Err("names no SQLite file".into());
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if raw == ":memory:" || raw.contains("mode=memory") {
            // Every pooled connection would get a database of its own.
            return Err("an in-memory SQLite database cannot be shared by the pool; name a file".into());
        }
        if let Some((scheme, _)) = raw.split_once("://") {
            return Err(format!(
                "has an unsupported scheme `{scheme}` (use postgres:// or a SQLite file path)"
            ));
        }
        Ok(Self::Sqlite(PathBuf::from(raw)))
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    /// Never prints a PostgreSQL password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for DatabaseUrl {
    /// Never prints a PostgreSQL password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            Self::Postgres(url) => f.write_str(&redact_password(url)),
        }
    }
}

fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => {
            format!("{scheme}://{}:***{}", &authority[..colon], &rest[at..])
        }
        _ => url.to_owned(),
    }
}

/// Opens one connection and sets it up for Sigil's use.
pub(crate) fn establish(url: &DatabaseUrl) -> Result<AnyConnection, StoreError> {
    match url {
        DatabaseUrl::Sqlite(path) => {
            let path = path.to_str().ok_or_else(|| {
                StoreError::Unavailable(format!("SQLite path {} is not UTF-8", path.display()))
            })?;
            let mut conn = SqliteConnection::establish(path)
                .map_err(|e| StoreError::Unavailable(format!("cannot open SQLite database {path}: {e}")))?;
            // The busy timeout must be in place before the switch to WAL, which
            // itself takes a lock. Foreign keys are off by default in SQLite.
            // `case_sensitive_like` makes LIKE compare as PostgreSQL's does, so
            // a query means the same on both backends. FULL sync: a committed
            // rotation or revocation must survive a power cut.
            conn.batch_execute(&format!(
                "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS};
                 PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = FULL;
                 PRAGMA foreign_keys = ON;
                 PRAGMA case_sensitive_like = ON;"
            ))
            .map_err(|e| StoreError::Unavailable(format!("cannot set up SQLite database {path}: {e}")))?;
            Ok(AnyConnection::Sqlite(conn))
        }
        DatabaseUrl::Postgres(raw) => {
            let mut conn = PgConnection::establish(raw).map_err(|e| {
                StoreError::Unavailable(format!(
                    "cannot connect to {}: {}",
                    redact_password(raw),
                    e.to_string().trim()
                ))
            })?;
            // Times are stored as UTC wall-clock `TIMESTAMP`s; make the session
            // agree so `now()`-style defaults, if ever used, cannot skew them.
            // READ COMMITTED whatever the server's default: the write rule
            // (row lock, then `UPDATE … WHERE version = read`) and reads
            // outside transactions (`read_transaction`) are built on it.
            conn.batch_execute(
                "SET TIME ZONE 'UTC';
                 SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED",
            )
            .map_err(|e| StoreError::Unavailable(format!("cannot set up PostgreSQL session: {e}")))?;
            Ok(AnyConnection::Postgres(conn))
        }
    }
}

/// Applies every pending migration of the connection's backend and returns
/// the versions applied.
pub(crate) fn run_migrations(conn: &mut AnyConnection) -> Result<Vec<String>, StoreError> {
    let applied = match conn {
        AnyConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS),
        AnyConnection::Postgres(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS),
    }
    .map_err(|e| StoreError::Other(format!("migration failed: {e}")))?;
    Ok(applied.iter().map(ToString::to_string).collect())
}

/// Runs `f` in a transaction that takes the write lock up front.
///
/// On SQLite a plain `BEGIN` starts as a reader and fails with "database is
/// locked" when it later tries to write while another connection holds the
/// lock; `BEGIN IMMEDIATE` waits (up to the busy timeout) for the lock
/// instead. PostgreSQL's row locking needs nothing special. Must not be
/// nested inside another transaction.
pub(crate) fn write_transaction<T, E: From<StoreError>>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, E>,
) -> Result<T, E> {
    begin_immediate(conn)?;
    run_and_end(conn, f)
}

/// Runs `f` in the transaction just begun on `conn`, then commits it, or
/// rolls it back when `f` fails (with the caller's error, unless the
/// rollback itself fails).
fn run_and_end<T, E: From<StoreError>>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, E>,
) -> Result<T, E> {
    match f(conn) {
        Ok(value) => {
            commit(conn)?;
            Ok(value)
        }
        Err(error) => match <AnyConnection as Connection>::TransactionManager::rollback_transaction(conn) {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(error),
            Err(rollback) => Err(StoreError::from(rollback).into()),
        },
    }
}

/// Opens a write transaction: `BEGIN IMMEDIATE` on SQLite (see
/// [`write_transaction`]), a plain `BEGIN` on PostgreSQL.
pub(crate) fn begin_immediate(conn: &mut AnyConnection) -> Result<(), StoreError> {
    match conn {
        AnyConnection::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE"),
        AnyConnection::Postgres(c) => AnsiTransactionManager::begin_transaction(c),
    }
    .map_err(StoreError::from)
}

/// Commits the open transaction; when the commit fails, rolls back, so the
/// connection is left outside any transaction either way.
pub(crate) fn commit(conn: &mut AnyConnection) -> Result<(), StoreError> {
    // Commit and rollback go through the multi-backend manager, which hands
    // them to the same per-backend manager that began the transaction.
    type Manager = <AnyConnection as Connection>::TransactionManager;
    Manager::commit_transaction(conn).map_err(|e| {
        let _ = Manager::rollback_transaction(conn);
        StoreError::from(e)
    })
}

/// Runs the reads of `f` as one unit.
///
/// On SQLite, in a (deferred) transaction, so every statement sees one
/// snapshot; it costs no round trip, the database being in the process.
/// On PostgreSQL, outside any explicit transaction: Sigil's sessions run
/// READ COMMITTED, where each statement takes its own snapshot inside a
/// transaction too, so BEGIN and COMMIT would be two round trips that
/// change nothing a reader sees.
pub(crate) fn read_transaction<T, E: From<StoreError>>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, E>,
) -> Result<T, E> {
    if let AnyConnection::Postgres(_) = conn {
        return f(conn);
    }
    // diesel's `transaction` wants an error it can build from its own; a
    // wrapper carries the caller's error through it untouched.
    enum Failed<E> {
        Caller(E),
        Diesel(diesel::result::Error),
    }
    impl<E> From<diesel::result::Error> for Failed<E> {
        fn from(e: diesel::result::Error) -> Self {
            Self::Diesel(e)
        }
    }
    conn.transaction(|c| f(c).map_err(Failed::Caller)).map_err(|failed| match failed {
        Failed::Caller(e) => e,
        Failed::Diesel(e) => StoreError::from(e).into(),
    })
}

/// Runs a query, written once, on the backend's own connection rather than
/// through [`AnyConnection`]: `on_backend!(conn, |c| query.get_result(c))`.
///
/// diesel's multi-backend connection writes a query's SQL afresh on every
/// pass it makes over it (to find the prepared statement, then to bind),
/// which for a wide row costs more than the rest of the read: a client's
/// 23 columns took about 96,000 instructions that way and 36,000 on
/// SQLite's own connection, which finds its prepared statement by the
/// query's type. For queries on hot paths; the body is expanded once per
/// backend, and only this module names them.
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::AnyConnection::Sqlite($c) => $body,
            $crate::db::AnyConnection::Postgres($c) => $body,
        }
    };
}
pub(crate) use on_backend;

/// Runs the reads of `f` on one snapshot of the database, on both
/// backends: for a record returned with its version (an ETag), whose parts
/// are read by several statements that must agree with that version.
///
/// On SQLite a read transaction is that already. On PostgreSQL, a
/// REPEATABLE READ, READ ONLY transaction: under READ COMMITTED each
/// statement would see the commits made since the one before, so a
/// record's version and its parts could come from different writes. A
/// read-only transaction at that level is never refused for a concurrent
/// write, and it costs two round trips more than [`read_transaction`].
pub(crate) fn snapshot_transaction<T, E: From<StoreError>>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, E>,
) -> Result<T, E> {
    let AnyConnection::Postgres(pg) = conn else {
        return read_transaction(conn, f);
    };
    AnsiTransactionManager::begin_transaction_sql(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .map_err(StoreError::from)?;
    run_and_end(conn, f)
}

/// Work that must not run on two nodes at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// Applying migrations.
    Migrations,
    /// Creating or rotating signing keys.
    KeySet,
}

/// Holds `lock` until the current write transaction ends. On PostgreSQL a
/// transaction-scoped advisory lock; on SQLite the write transaction already
/// holds the database's only write lock, so there is nothing more to take.
pub fn lock(conn: &mut AnyConnection, lock: Lock) -> Result<(), StoreError> {
    // Arbitrary fixed keys, distinct per kind of work.
    let key: i64 = match lock {
        Lock::Migrations => 0x5349_4749_4c00_0001,
        Lock::KeySet => 0x5349_4749_4c00_0002,
    };
    if let AnyConnection::Postgres(_) = conn {
        diesel::sql_query(format!("SELECT pg_advisory_xact_lock({key})")).execute(conn)?;
    }
    Ok(())
}

/// Cheap liveness probe used by `/readyz` and by the pool.
pub(crate) fn ping(conn: &mut AnyConnection) -> Result<(), StoreError> {
    diesel::sql_query("SELECT 1").execute(conn)?;
    Ok(())
}

/// Opens and checks pooled connections.
#[derive(Debug)]
pub(crate) struct Manager {
    pub(crate) url: DatabaseUrl,
}

impl r2d2::ManageConnection for Manager {
    type Connection = AnyConnection;
    type Error = StoreError;

    fn connect(&self) -> Result<AnyConnection, StoreError> {
        establish(&self.url)
    }

    fn is_valid(&self, conn: &mut AnyConnection) -> Result<(), StoreError> {
        ping(conn)
    }

    fn has_broken(&self, conn: &mut AnyConnection) -> bool {
        <AnyConnection as Connection>::TransactionManager::is_broken_transaction_manager(conn)
    }
}

/// Pool sizing. SQLite gets a pool too: readers run in parallel under WAL,
/// and writers queue on the database lock.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    /// Most connections kept open.
    pub max_size: u32,
    /// How long a caller waits for a free connection before the store reports
    /// itself unavailable.
    pub connection_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self { max_size: 8, connection_timeout: Duration::from_secs(10) }
    }
}

pub(crate) type Pool = r2d2::Pool<Manager>;

pub(crate) fn build_pool(url: &DatabaseUrl, options: &PoolOptions) -> Result<Pool, StoreError> {
    // Open one connection first so that a wrong URL or a refused server is
    // reported with its real cause, not as a pool timeout.
    establish(url)?;
    r2d2::Pool::builder()
        .max_size(options.max_size)
        // No background top-up of idle connections: a pool thread still
        // inside libpq's connect when the process exits races the TLS
        // library's exit handlers and crashes the process (seen with every
        // short-lived `sigil` command on PostgreSQL). Connections are opened
        // on demand and kept until idle for the pool's idle timeout.
        .min_idle(Some(0))
        .connection_timeout(options.connection_timeout)
        .test_on_check_out(false)
        .build(Manager { url: url.clone() })
        .map_err(|e| StoreError::Unavailable(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_their_backend() {
        let cases = [
            ("sigil.db", Ok("sqlite")),
            ("sqlite:///var/lib/sigil/sigil.db", Ok("sqlite")),
            ("sqlite:data.db", Ok("sqlite")),
            ("postgres://u@h/db", Ok("postgres")),
            ("postgresql://u@h/db", Ok("postgres")),
            ("mysql://u@h/db", Err(())),
            ("", Err(())),
            (":memory:", Err(())),
        ];
        for (raw, want) in cases {
            let got = DatabaseUrl::parse(raw).map(|u| u.backend_name()).map_err(|_| ());
            assert_eq!(got, want, "{raw}");
        }
    }

    #[test]
    fn passwords_are_not_displayed() {
        let url = DatabaseUrl::parse("postgres://sigil:hunter2@db.internal:5432/sigil").unwrap();
        let shown = url.to_string();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(shown, "postgres://sigil:***@db.internal:5432/sigil");
        assert_eq!(format!("{url:?}"), shown);
    }
}
