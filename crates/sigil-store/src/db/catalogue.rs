//! What the database itself says about its tables, each backend asked in
//! its own words: the tables there are, the foreign keys between them,
//! sequences behind integer keys, and SQLite's online backup.

use diesel::sql_types::Text;
use diesel::{QueryableByName, RunQueryDsl};

use super::AnyConnection;
use super::rows::{ColumnSpec, Kind};
use crate::error::StoreError;

/// The bookkeeping table of diesel's migrations: not part of the store.
pub const MIGRATIONS_TABLE: &str = "__diesel_schema_migrations";

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

/// Every table of the database (in its current schema on PostgreSQL),
/// SQLite's internal ones left out, sorted by name.
pub(crate) fn table_names(conn: &mut AnyConnection) -> Result<Vec<String>, StoreError> {
    let sql = match conn {
        AnyConnection::Sqlite(_) => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        }
        AnyConnection::Postgres(_) => {
            "SELECT CAST(table_name AS TEXT) AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        }
    };
    let mut names: Vec<String> =
        diesel::sql_query(sql).load::<Name>(conn)?.into_iter().map(|n| n.name).collect();
    names.sort();
    Ok(names)
}

/// A foreign key column: `table.column` refers to `referenced`.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct ForeignKey {
    /// The table holding the reference.
    #[diesel(sql_type = Text)]
    pub table: String,
    /// The referring column.
    #[diesel(sql_type = Text)]
    pub column: String,
    /// The table referred to.
    #[diesel(sql_type = Text)]
    pub referenced: String,
}

/// Every foreign key column of the database's tables.
pub(crate) fn foreign_keys(conn: &mut AnyConnection) -> Result<Vec<ForeignKey>, StoreError> {
    let sql = match conn {
        AnyConnection::Sqlite(_) => {
            "SELECT m.name AS \"table\", f.\"from\" AS \"column\", f.\"table\" AS referenced \
             FROM sqlite_master m, pragma_foreign_key_list(m.name) f WHERE m.type = 'table'"
        }
        AnyConnection::Postgres(_) => {
            "SELECT CAST(CAST(c.conrelid AS regclass) AS TEXT) AS \"table\", \
                    CAST(a.attname AS TEXT) AS \"column\", \
                    CAST(CAST(c.confrelid AS regclass) AS TEXT) AS referenced \
             FROM pg_constraint c \
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey) \
             WHERE c.contype = 'f' AND c.connamespace = CAST(current_schema() AS regnamespace)"
        }
    };
    Ok(diesel::sql_query(sql).load(conn)?)
}

/// After rows were written with their own ids, moves any PostgreSQL
/// sequence behind an integer column of `table` (`SERIAL`, identity) past
/// the largest id, so the next row the database numbers does not collide
/// with a copied one. SQLite needs nothing: an explicit id moves its
/// `AUTOINCREMENT` counter by itself.
pub(crate) fn advance_sequences(
    conn: &mut AnyConnection,
    table: &str,
    columns: &[ColumnSpec],
) -> Result<(), StoreError> {
    let AnyConnection::Postgres(_) = conn else {
        return Ok(());
    };
    for column in columns.iter().filter(|c| matches!(c.kind, Kind::BigInt | Kind::Integer)) {
        let quoted_table = format!("\"{}\"", table.replace('"', "\"\""));
        let quoted_column = format!("\"{}\"", column.name.replace('"', "\"\""));
        diesel::sql_query(format!(
            "SELECT setval(q.s, q.m) FROM (SELECT pg_get_serial_sequence($1, $2) AS s, \
             (SELECT max({quoted_column}) FROM {quoted_table}) AS m) q \
             WHERE q.s IS NOT NULL AND q.m IS NOT NULL"
        ))
        .bind::<Text, _>(&quoted_table)
        .bind::<Text, _>(column.name)
        .execute(conn)?;
    }
    Ok(())
}

/// Writes a consistent copy of a SQLite database to a new file at `path`
/// with `VACUUM INTO`, which reads one snapshot while writers carry on.
/// SQLite itself refuses a `path` that exists and is not empty.
pub(crate) fn vacuum_into(conn: &mut AnyConnection, path: &str) -> Result<(), StoreError> {
    match conn {
        AnyConnection::Sqlite(_) => {
            diesel::sql_query("VACUUM INTO ?").bind::<Text, _>(path).execute(conn)?;
            Ok(())
        }
        AnyConnection::Postgres(_) => Err(StoreError::Invalid(
            "an online backup is a SQLite feature; back up PostgreSQL with pg_dump (see docs/operations.md)"
                .into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use diesel::sql_types::BigInt;
    use sigil_testkit::TestDb;

    use super::*;
    use crate::db::{DatabaseUrl, establish};

    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }

    /// No table of the store numbers its rows today; one that does (a
    /// serial or identity column) goes on numbering after the ids copied
    /// into it, on either backend.
    #[test]
    fn numbering_continues_after_copied_ids() {
        let postgres = TestDb::postgres();
        let sqlite = TestDb::sqlite();
        let id = ColumnSpec { name: "id", kind: Kind::BigInt, nullable: false };
        let tables: &[(&str, &str)] = match &postgres {
            Some(_) => &[
                ("serial_rows", "CREATE TABLE serial_rows (id BIGSERIAL PRIMARY KEY, note TEXT)"),
                (
                    "identity_rows",
                    "CREATE TABLE identity_rows (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, note TEXT)",
                ),
            ],
            None => &[],
        };
        let mut cases: Vec<(&TestDb, &str, &str)> =
            tables.iter().map(|(name, create)| (postgres.as_ref().unwrap(), *name, *create)).collect();
        cases.push((
            &sqlite,
            "auto_rows",
            "CREATE TABLE auto_rows (id INTEGER PRIMARY KEY AUTOINCREMENT, note TEXT)",
        ));
        for (db, table, create) in cases {
            let mut conn = establish(&DatabaseUrl::parse(db.url()).unwrap()).unwrap();
            diesel::sql_query(create).execute(&mut conn).unwrap();
            diesel::sql_query(format!("INSERT INTO {table} (id, note) VALUES (7, 'copied'), (41, 'copied')"))
                .execute(&mut conn)
                .unwrap();
            advance_sequences(&mut conn, table, &[id]).unwrap();
            let next: Id =
                diesel::sql_query(format!("INSERT INTO {table} (note) VALUES ('new') RETURNING id"))
                    .get_result(&mut conn)
                    .unwrap();
            assert_eq!(next.id, 42, "{table}");
        }
    }
}
