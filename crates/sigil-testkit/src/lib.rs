//! Test support shared by Sigil's integration tests: a fresh database per
//! test, on SQLite always and on PostgreSQL when one is reachable.
//!
//! PostgreSQL is found through `SIGIL_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`, a maintenance database the
//! kit connects to only to create and drop test databases). When the server
//! cannot be reached, PostgreSQL tests are skipped with a note on stderr,
//! unless `SIGIL_TEST_REQUIRE_POSTGRES=1`, in which case they fail: CI sets
//! it so that a missing server cannot pass as a green run.
//!
//! Each [`TestDb`] is a database of its own, dropped when the value is.
//! Use [`backend_tests!`] to run one test body on both backends, [`race`]
//! to start many writers at once, and [`process`] to run the `sigil` binary
//! against a test database.

pub mod process;

use std::path::PathBuf;
use std::sync::OnceLock;

use diesel::{Connection, PgConnection, RunQueryDsl};

/// The default maintenance URL, as a developer machine or CI provides it.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Which backend a test database lives on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A database created on the PostgreSQL server for this test.
    Postgres,
}

/// A database that exists for one test.
#[derive(Debug)]
pub struct TestDb {
    backend: Backend,
    url: String,
    dir: Option<tempfile::TempDir>,
    postgres_name: Option<String>,
}

impl TestDb {
    /// A fresh SQLite database: an empty file (which SQLite reads as an
    /// empty database), so that every `sigil` command may use it, as they
    /// may a freshly created PostgreSQL database. Only `serve` and
    /// `migrate` create a file that is not there.
    pub fn sqlite() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("sigil-test-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"));
        let path = dir.path().join("sigil.db");
        std::fs::File::create(&path).unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        let url = path.to_string_lossy().into_owned();
        Self { backend: Backend::Sqlite, url, dir: Some(dir), postgres_name: None }
    }

    /// A fresh, empty PostgreSQL database, or `None` when no server is
    /// reachable and none is required.
    pub fn postgres() -> Option<Self> {
        let admin = postgres_admin_url()?;
        let name = format!("sigil_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::establish(admin)
            .unwrap_or_else(|e| panic!("PostgreSQL was reachable but is no longer: {e}"));
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
        let url = replace_database(admin, &name);
        Some(Self { backend: Backend::Postgres, url, dir: None, postgres_name: Some(name) })
    }

    /// A fresh database on `backend` (`None`: PostgreSQL unreachable, skip).
    pub fn on(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => Some(Self::sqlite()),
            Backend::Postgres => Self::postgres(),
        }
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL to give Sigil (`SIGIL_DATABASE_URL`): a file path or a
    /// `postgres://` URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The temporary directory of a SQLite database.
    pub fn dir(&self) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.path().to_path_buf())
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (Some(name), Some(admin)) = (&self.postgres_name, postgres_admin_url()) else {
            return;
        };
        if let Ok(mut conn) = PgConnection::establish(admin) {
            // FORCE ends connections a test left open (PostgreSQL 13+).
            let _ =
                diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn);
        }
    }
}

/// The maintenance URL if the server answers; panics when it does not but
/// is required.
fn postgres_admin_url() -> Option<&'static str> {
    static URL: OnceLock<Option<String>> = OnceLock::new();
    URL.get_or_init(|| {
        let url =
            std::env::var("SIGIL_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
        let required = std::env::var("SIGIL_TEST_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
        match PgConnection::establish(&url) {
            Ok(_) => Some(url),
            Err(e) if required => panic!("SIGIL_TEST_REQUIRE_POSTGRES=1 but PostgreSQL is unreachable: {e}"),
            Err(e) => {
                eprintln!("PostgreSQL unreachable ({}); PostgreSQL tests are skipped", e.to_string().trim());
                None
            }
        }
    })
    .as_deref()
}

/// `url` with its database name replaced by `name`.
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{}", &base[..path_start], name);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// Runs `f(i)` for `i` in `0..n`, each on a thread of its own, all released
/// together by a barrier so that they really overlap; returns each result in
/// `i` order. A panic on any thread is raised again here, with its message.
///
/// Whatever must not blur the start (opening a store per simulated node,
/// building requests) belongs before the call, indexed by `i` inside `f`.
pub fn race<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let start = std::sync::Barrier::new(n);
    std::thread::scope(|s| {
        let threads: Vec<_> = (0..n)
            .map(|i| {
                let (start, f) = (&start, &f);
                s.spawn(move || {
                    start.wait();
                    f(i)
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    })
}

/// Runs each listed test body, a `fn(&TestDb)`, once per backend: in a
/// module `sqlite` and a module `postgres` (skipped when no server is
/// reachable and none is required). One list, run on both.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    super::$name(&$crate::TestDb::sqlite());
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    if let Some(db) = $crate::TestDb::postgres() {
                        super::$name(&db);
                    }
                }
            )*
        }
    };
}

#[cfg(test)]
mod tests {
    use super::replace_database;

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(replace_database("postgres://u@h:5432/postgres", "t1"), "postgres://u@h:5432/t1");
        assert_eq!(replace_database("postgres://u@h", "t1"), "postgres://u@h/t1");
        assert_eq!(
            replace_database("postgres://u@h/db?sslmode=disable", "t1"),
            "postgres://u@h/t1?sslmode=disable"
        );
    }
}
