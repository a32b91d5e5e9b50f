//! Moving a whole store: [`copy`] writes every row of the configured
//! database into another, empty one (SQLite to PostgreSQL, or any other
//! way round), and [`backup`] writes a SQLite database's online backup.
//!
//! The source is read on one snapshot (`db::snapshot_transaction`: a
//! SQLite read transaction, a REPEATABLE READ, READ ONLY one on
//! PostgreSQL), so a server still writing cannot tear the copy; the target
//! is migrated first, then written in one transaction, so it ends with
//! all of the copy or none of it. Rows are moved value by value with the
//! types `schema.rs` gives their columns, so ids, versions, digests,
//! hashes, timestamps, folded columns, server secrets and signing keys
//! arrive as they were: a copied server signs with the same keys and
//! accepts the tokens the old one issued.
//!
//! [`TABLES`] is the one list of what is copied, in foreign-key order (a
//! table after those it refers to). Each entry names only the table and
//! its primary key; the columns come from `schema.rs`, and the compiler
//! checks the key against it. The store's tests fail when a table of the
//! migrated database, or of `schema.rs`, is missing from the list, or
//! when the order breaks a foreign key.

use std::path::Path;

use crate::Store;
use crate::db::rows::{self, Columns};
use crate::db::{self, AnyConnection, DatabaseUrl, Lock, catalogue};
use crate::error::StoreError;
use crate::schema;

pub use crate::db::catalogue::{ForeignKey, MIGRATIONS_TABLE};
pub use crate::db::rows::{ColumnSpec, Kind, Value};

/// Rows read from the source per query: a page, keyed by primary key,
/// so a large store is never held in memory whole.
const PAGE_ROWS: usize = 500;

/// Most values bound in one INSERT: under SQLite's oldest default limit
/// (999), so any library the binary is linked against takes it.
const MAX_BINDS: usize = 900;

type ReadPage =
    fn(&mut AnyConnection, &str, &[&str], Option<&[Value]>, usize) -> Result<Vec<Vec<Value>>, StoreError>;

/// One table [`copy`] moves.
#[derive(Debug)]
pub struct Table {
    /// Its name in SQL.
    pub name: &'static str,
    /// Its columns, from `schema.rs`.
    pub columns: &'static [ColumnSpec],
    /// Its primary key's columns, the order pages are read in.
    pub key: &'static [&'static str],
    /// Columns referring to the same table (a user's manager): written
    /// empty with the rows, then set once every row is in, since a row
    /// may refer to one that comes after it.
    pub self_references: &'static [&'static str],
    read_page: ReadPage,
}

macro_rules! tables {
    ($($table:ident ($($key:ident),+) $(self_references ($($own:ident),+))?),+ $(,)?) => {
        /// Every table of the store, in foreign-key order.
        pub const TABLES: &[Table] = &[$(Table {
            name: stringify!($table),
            columns: <<schema::$table::table as diesel::Table>::AllColumns as Columns>::COLUMNS,
            key: &[$(<schema::$table::$key as diesel::Column>::NAME),+],
            self_references: &[$($(<schema::$table::$own as diesel::Column>::NAME),+)?],
            read_page: rows::read_page::<schema::$table::table>,
        }),+];

        // The key named above is the table's primary key in `schema.rs`:
        // this does not compile otherwise.
        const _: fn() = || {
            $(let _: <schema::$table::table as diesel::Table>::PrimaryKey = ($(schema::$table::$key),+);)+
        };
    };
}

tables! {
    users (id) self_references (manager_id),
    user_values (user_id, attribute, position),
    user_addresses (user_id, position),
    user_search_terms (user_id, attribute),
    groups (id),
    group_members (group_id, member_id),
    clients (id),
    signing_keys (kid),
    sessions (id_hash),
    authorization_codes (code_hash),
    refresh_tokens (token_hash),
    consents (user_id, client_id),
    revoked_tokens (jti),
    throttle (throttle_key),
    roles (id),
    role_grants (role_id, holder_id),
    admin_grants (role, holder),
    server_secrets (purpose),
    api_tokens (id),
    audit_events (id),
    password_resets (token_hash),
}

/// What [`copy`] wrote: rows per table, in [`TABLES`] order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// Each table's name and how many rows it received.
    pub tables: Vec<(&'static str, u64)>,
}

/// Copies every row of `source` into the database at `target`, which is
/// migrated first and must hold no row in any table of the store.
///
/// Refused, before anything is written, when `target` is the source
/// itself or is not empty; the error names the target (without its
/// password). The copy is one transaction on the target: a failure
/// leaves it migrated and empty.
pub fn copy(source: &Store, target: &DatabaseUrl) -> Result<Copied, StoreError> {
    if same_database(source.url(), target) {
        return Err(StoreError::Invalid(format!(
            "{target} is the configured database itself; copy to another"
        )));
    }
    let mut to = db::establish(target)?;
    refuse_non_empty(&mut to, target)?;
    db::write_transaction(&mut to, |c| {
        db::lock(c, Lock::Migrations)?;
        db::run_migrations(c)
    })?;
    let mut from = source.pool.get()?;
    db::snapshot_transaction(&mut from, |from| {
        db::write_transaction(&mut to, |to| {
            // Again inside the write: a writer may have come first.
            refuse_non_empty(to, target)?;
            let mut copied = Vec::with_capacity(TABLES.len());
            for table in TABLES {
                copied.push((table.name, copy_table(from, to, table)?));
            }
            for table in TABLES.iter().filter(|t| !t.self_references.is_empty()) {
                restore_self_references(from, to, table)?;
            }
            for table in TABLES {
                catalogue::advance_sequences(to, table.name, table.columns)?;
            }
            Ok(Copied { tables: copied })
        })
    })
}

/// Whether two URLs name the same database as far as can be told
/// without connecting: the same SQLite file, or the same PostgreSQL URL.
fn same_database(a: &DatabaseUrl, b: &DatabaseUrl) -> bool {
    match (a, b) {
        (DatabaseUrl::Sqlite(a), DatabaseUrl::Sqlite(b)) => {
            let canonical = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
            canonical(a) == canonical(b)
        }
        (DatabaseUrl::Postgres(a), DatabaseUrl::Postgres(b)) => a == b,
        _ => false,
    }
}

/// Fails when any table of the store that exists at `target` has a row.
fn refuse_non_empty(conn: &mut AnyConnection, target: &DatabaseUrl) -> Result<(), StoreError> {
    let present = catalogue::table_names(conn)?;
    for table in TABLES.iter().filter(|t| present.iter().any(|p| p == t.name)) {
        if rows::has_rows(conn, table.name)? {
            return Err(StoreError::Invalid(format!(
                "{target} is not empty (table {} has rows); copy only into an empty database",
                table.name
            )));
        }
    }
    Ok(())
}

/// Copies one table page by page and returns how many rows it moved.
fn copy_table(from: &mut AnyConnection, to: &mut AnyConnection, table: &Table) -> Result<u64, StoreError> {
    let key_positions = positions(table, table.key)?;
    let own_positions = positions(table, table.self_references)?;
    let rows_per_insert = (MAX_BINDS / table.columns.len()).max(1);
    let mut after: Option<Vec<Value>> = None;
    let mut count = 0u64;
    loop {
        let mut page = (table.read_page)(from, table.name, table.key, after.as_deref(), PAGE_ROWS)?;
        let Some(last) = page.last() else { break };
        after = Some(key_positions.iter().map(|&i| last[i].clone()).collect());
        for row in &mut page {
            for &i in &own_positions {
                row[i] = Value::Null;
            }
        }
        for chunk in page.chunks(rows_per_insert) {
            rows::insert_rows(to, table.name, table.columns, chunk)?;
        }
        count += page.len() as u64;
        if page.len() < PAGE_ROWS {
            break;
        }
    }
    Ok(count)
}

/// Sets the self-referring columns [`copy_table`] left empty, reading the
/// source again page by page (on the same snapshot).
fn restore_self_references(
    from: &mut AnyConnection,
    to: &mut AnyConnection,
    table: &Table,
) -> Result<(), StoreError> {
    let key_positions = positions(table, table.key)?;
    let key_columns: Vec<ColumnSpec> = key_positions.iter().map(|&i| table.columns[i]).collect();
    let own_positions = positions(table, table.self_references)?;
    let mut after: Option<Vec<Value>> = None;
    loop {
        let page = (table.read_page)(from, table.name, table.key, after.as_deref(), PAGE_ROWS)?;
        let Some(last) = page.last() else { break };
        after = Some(key_positions.iter().map(|&i| last[i].clone()).collect());
        for row in &page {
            let key: Vec<Value> = key_positions.iter().map(|&i| row[i].clone()).collect();
            for &i in &own_positions {
                if row[i] != Value::Null {
                    rows::update_column(
                        to,
                        table.name,
                        table.columns[i],
                        row[i].clone(),
                        &key_columns,
                        &key,
                    )?;
                }
            }
        }
        if page.len() < PAGE_ROWS {
            break;
        }
    }
    Ok(())
}

/// Where each of `names` is among the table's columns.
fn positions(table: &Table, names: &[&str]) -> Result<Vec<usize>, StoreError> {
    names
        .iter()
        .map(|name| {
            table
                .columns
                .iter()
                .position(|c| c.name == *name)
                .ok_or_else(|| StoreError::Other(format!("{}: no column {name}", table.name)))
        })
        .collect()
}

/// Writes an online backup of a SQLite store to a new file at `path`:
/// one consistent snapshot, taken while a server goes on writing.
/// Refused when `path` exists, and on PostgreSQL, whose own tools
/// (`pg_dump`) do this.
pub fn backup(store: &Store, path: &Path) -> Result<(), StoreError> {
    if let DatabaseUrl::Postgres(_) = store.url() {
        return Err(StoreError::Invalid(format!(
            "{} is PostgreSQL: back it up with pg_dump (see docs/operations.md, \"Backup and restore\")",
            store.url()
        )));
    }
    // `symlink_metadata`: a dangling link is there too.
    if path.symlink_metadata().is_ok() {
        return Err(StoreError::Invalid(format!("{} exists; a backup goes to a new file", path.display())));
    }
    let shown = path.display().to_string();
    let path =
        path.to_str().ok_or_else(|| StoreError::Invalid(format!("the backup path {shown} is not UTF-8")))?;
    let mut conn = store.pool.get()?;
    catalogue::vacuum_into(&mut conn, path)
}

/// Every table of the database `store` is on but diesel's bookkeeping
/// ([`MIGRATIONS_TABLE`]), sorted by name: what [`TABLES`] must cover.
pub fn database_tables(store: &Store) -> Result<Vec<String>, StoreError> {
    let mut conn = store.pool.get()?;
    let mut names = catalogue::table_names(&mut conn)?;
    names.retain(|n| n != MIGRATIONS_TABLE);
    Ok(names)
}

/// Every foreign key of the database `store` is on.
pub fn foreign_keys(store: &Store) -> Result<Vec<ForeignKey>, StoreError> {
    let mut conn = store.pool.get()?;
    catalogue::foreign_keys(&mut conn)
}

/// Every row of one of [`TABLES`], in primary-key order, read page by page
/// on one snapshot: for comparing two stores.
pub fn read_table(store: &Store, name: &str) -> Result<Vec<Vec<Value>>, StoreError> {
    let table = TABLES
        .iter()
        .find(|t| t.name == name)
        .ok_or_else(|| StoreError::Invalid(format!("{name} is not a table of the store")))?;
    let key_positions = positions(table, table.key)?;
    let mut conn = store.pool.get()?;
    db::snapshot_transaction(&mut conn, |conn| {
        let mut all = Vec::new();
        loop {
            let after: Option<Vec<Value>> =
                all.last().map(|last: &Vec<Value>| key_positions.iter().map(|&i| last[i].clone()).collect());
            let page = (table.read_page)(conn, table.name, table.key, after.as_deref(), PAGE_ROWS)?;
            let done = page.len() < PAGE_ROWS;
            all.extend(page);
            if done {
                return Ok(all);
            }
        }
    })
}
