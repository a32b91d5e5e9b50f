//! Rows as values: reading and writing any table's rows without a Rust
//! type per table, for moving a whole store from one database to another
//! (`crate::copy`).
//!
//! A table's columns and their SQL types come from `schema.rs`
//! ([`Columns`], implemented for the tuple of a table's columns), so the
//! statements here name exactly the columns diesel knows, and each value
//! is read and bound with its column's own type: a timestamp stays a
//! timestamp and a boolean a boolean whichever backend it goes to, and
//! a `NULL` is bound typed as its column (PostgreSQL refuses a text
//! `NULL` for a `BIGINT` column). Statements are built as text with bind
//! parameters, written through diesel's `AstPass`, which writes each
//! backend's placeholders, so the same code runs on both backends.

use std::marker::PhantomData;

use chrono::NaiveDateTime;
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, QueryableByName};
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::row::NamedRow;
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Bool, HasSqlType, Integer, Nullable, Text, Timestamp, Untyped};
use diesel::{QueryResult, RunQueryDsl};

use super::AnyConnection;
use crate::error::StoreError;

/// The SQL type of a column, as far as moving its values needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `TEXT`.
    Text,
    /// `BIGINT`.
    BigInt,
    /// `INTEGER`.
    Integer,
    /// `BOOLEAN`.
    Bool,
    /// `TIMESTAMP` (UTC, microseconds).
    Timestamp,
}

/// One column of a table, as `schema.rs` declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnSpec {
    /// The column's name in SQL.
    pub name: &'static str,
    /// Its type.
    pub kind: Kind,
    /// Whether it may hold `NULL`.
    pub nullable: bool,
}

/// One value of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// SQL `NULL`.
    Null,
    /// A text value.
    Text(String),
    /// A `BIGINT`.
    BigInt(i64),
    /// An `INTEGER`.
    Integer(i32),
    /// A boolean.
    Bool(bool),
    /// A timestamp.
    Timestamp(NaiveDateTime),
}

/// A SQL type a column may have, known by its [`Kind`].
pub(crate) trait KindOf {
    /// The kind.
    const KIND: Kind;
    /// Whether the type is `Nullable<_>`.
    const NULLABLE: bool;
}

macro_rules! kind_of {
    ($($sql:ident => $kind:ident),*) => {$(
        impl KindOf for $sql {
            const KIND: Kind = Kind::$kind;
            const NULLABLE: bool = false;
        }
    )*};
}
kind_of!(Text => Text, BigInt => BigInt, Integer => Integer, Bool => Bool, Timestamp => Timestamp);

impl<T: KindOf + diesel::sql_types::SqlType + diesel::sql_types::SingleValue> KindOf for Nullable<T> {
    const KIND: Kind = T::KIND;
    const NULLABLE: bool = true;
}

/// The columns of a table: implemented for the tuple of diesel columns a
/// table's `all_columns` is, so a table's list is read from `schema.rs`.
/// A column whose SQL type has no [`Kind`] does not compile here.
pub(crate) trait Columns {
    /// Every column, in `schema.rs` order.
    const COLUMNS: &'static [ColumnSpec];
}

macro_rules! columns_for_tuples {
    ($($name:ident)+) => {
        impl<$($name),+> Columns for ($($name,)+)
        where
            $($name: diesel::Column, <$name as diesel::Expression>::SqlType: KindOf,)+
        {
            const COLUMNS: &'static [ColumnSpec] = &[$(ColumnSpec {
                name: $name::NAME,
                kind: <<$name as diesel::Expression>::SqlType as KindOf>::KIND,
                nullable: <<$name as diesel::Expression>::SqlType as KindOf>::NULLABLE,
            }),+];
        }
    };
}

macro_rules! columns_for_all_tuples {
    ($first:ident $($rest:ident)*) => {
        columns_for_tuples!($first $($rest)*);
        columns_for_all_tuples!($($rest)*);
    };
    () => {};
}
columns_for_all_tuples!(
    C32 C31 C30 C29 C28 C27 C26 C25 C24 C23 C22 C21 C20 C19 C18 C17
    C16 C15 C14 C13 C12 C11 C10 C9 C8 C7 C6 C5 C4 C3 C2 C1
);

/// One row of a table `T` (a `schema.rs` table), its values in the order
/// of [`Columns::COLUMNS`].
#[derive(Debug)]
pub(crate) struct DynRow<T>(pub(crate) Vec<Value>, PhantomData<T>);

impl<T, DB> QueryableByName<DB> for DynRow<T>
where
    T: diesel::Table,
    T::AllColumns: Columns,
    DB: Backend,
    String: FromSql<Text, DB>,
    i64: FromSql<BigInt, DB>,
    i32: FromSql<Integer, DB>,
    bool: FromSql<Bool, DB>,
    NaiveDateTime: FromSql<Timestamp, DB>,
{
    fn build<'a>(row: &impl NamedRow<'a, DB>) -> deserialize::Result<Self> {
        fn get<'a, DB: Backend, ST, V: FromSql<ST, DB>>(
            row: &impl NamedRow<'a, DB>,
            name: &str,
            nullable: bool,
            wrap: fn(V) -> Value,
        ) -> deserialize::Result<Value>
        where
            Option<V>: FromSql<Nullable<ST>, DB>,
        {
            if nullable {
                Ok(NamedRow::get::<Nullable<ST>, Option<V>>(row, name)?.map_or(Value::Null, wrap))
            } else {
                Ok(wrap(NamedRow::get::<ST, V>(row, name)?))
            }
        }
        let values = <T::AllColumns as Columns>::COLUMNS
            .iter()
            .map(|c| match c.kind {
                Kind::Text => get::<DB, Text, String>(row, c.name, c.nullable, Value::Text),
                Kind::BigInt => get::<DB, BigInt, i64>(row, c.name, c.nullable, Value::BigInt),
                Kind::Integer => get::<DB, Integer, i32>(row, c.name, c.nullable, Value::Integer),
                Kind::Bool => get::<DB, Bool, bool>(row, c.name, c.nullable, Value::Bool),
                Kind::Timestamp => {
                    get::<DB, Timestamp, NaiveDateTime>(row, c.name, c.nullable, Value::Timestamp)
                }
            })
            .collect::<deserialize::Result<Vec<_>>>()?;
        Ok(Self(values, PhantomData))
    }
}

/// A statement built at run time: SQL text and the values bound in it,
/// each with its column's type.
#[derive(Debug, Default)]
struct Statement {
    parts: Vec<Part>,
}

#[derive(Debug)]
enum Part {
    Sql(String),
    Bind(Kind, Value),
}

impl Statement {
    fn sql(&mut self, sql: &str) -> &mut Self {
        self.parts.push(Part::Sql(sql.to_owned()));
        self
    }

    fn bind(&mut self, kind: Kind, value: Value) -> &mut Self {
        self.parts.push(Part::Bind(kind, value));
        self
    }
}

impl<DB> QueryFragment<DB> for Statement
where
    DB: Backend
        + HasSqlType<Text>
        + HasSqlType<BigInt>
        + HasSqlType<Integer>
        + HasSqlType<Bool>
        + HasSqlType<Timestamp>,
    String: ToSql<Text, DB>,
    i64: ToSql<BigInt, DB>,
    i32: ToSql<Integer, DB>,
    bool: ToSql<Bool, DB>,
    NaiveDateTime: ToSql<Timestamp, DB>,
    Option<String>: ToSql<Nullable<Text>, DB>,
    Option<i64>: ToSql<Nullable<BigInt>, DB>,
    Option<i32>: ToSql<Nullable<Integer>, DB>,
    Option<bool>: ToSql<Nullable<Bool>, DB>,
    Option<NaiveDateTime>: ToSql<Nullable<Timestamp>, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        // A typed NULL borrowed for the statement's lifetime.
        static NO_TEXT: Option<String> = None;
        for part in &self.parts {
            match part {
                Part::Sql(sql) => out.push_sql(sql),
                Part::Bind(_, Value::Text(v)) => out.push_bind_param::<Text, _>(v)?,
                Part::Bind(_, Value::BigInt(v)) => out.push_bind_param::<BigInt, _>(v)?,
                Part::Bind(_, Value::Integer(v)) => out.push_bind_param::<Integer, _>(v)?,
                Part::Bind(_, Value::Bool(v)) => out.push_bind_param::<Bool, _>(v)?,
                Part::Bind(_, Value::Timestamp(v)) => out.push_bind_param::<Timestamp, _>(v)?,
                Part::Bind(Kind::Text, Value::Null) => out.push_bind_param::<Nullable<Text>, _>(&NO_TEXT)?,
                Part::Bind(Kind::BigInt, Value::Null) => {
                    out.push_bind_param::<Nullable<BigInt>, Option<i64>>(&None)?;
                }
                Part::Bind(Kind::Integer, Value::Null) => {
                    out.push_bind_param::<Nullable<Integer>, Option<i32>>(&None)?;
                }
                Part::Bind(Kind::Bool, Value::Null) => {
                    out.push_bind_param::<Nullable<Bool>, Option<bool>>(&None)?;
                }
                Part::Bind(Kind::Timestamp, Value::Null) => {
                    out.push_bind_param::<Nullable<Timestamp>, Option<NaiveDateTime>>(&None)?;
                }
            }
        }
        Ok(())
    }
}

impl QueryId for Statement {
    type QueryId = ();
    // Every statement is new text: not one for diesel's statement cache.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Statement {
    type SqlType = Untyped;
}

impl RunQueryDsl<AnyConnection> for Statement {}

/// A name quoted as an SQL identifier (the same on both backends).
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn column_list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names.into_iter().map(quoted).collect::<Vec<_>>().join(", ")
}

/// Up to `limit` rows of `table` (a `schema.rs` table named `name`) in the
/// order of `key` (its primary key), starting after the row whose key is
/// `after`: paging by key, so each page is one indexed range read
/// whatever the table's size.
pub(crate) fn read_page<T>(
    conn: &mut AnyConnection,
    name: &str,
    key: &[&str],
    after: Option<&[Value]>,
    limit: usize,
) -> Result<Vec<Vec<Value>>, StoreError>
where
    T: diesel::Table + 'static,
    T::AllColumns: Columns,
{
    let columns = <T::AllColumns as Columns>::COLUMNS;
    let mut statement = Statement::default();
    statement.sql(&format!("SELECT {} FROM {}", column_list(columns.iter().map(|c| c.name)), quoted(name)));
    if let Some(after) = after {
        // Row-value comparison, `(a, b) > (?, ?)`: the same order as the
        // ORDER BY below, on both backends.
        statement.sql(&format!(" WHERE ({}) > (", column_list(key.iter().copied())));
        for (i, (column, value)) in key.iter().zip(after).enumerate() {
            if i > 0 {
                statement.sql(", ");
            }
            statement.bind(kind_of(columns, column)?, value.clone());
        }
        statement.sql(")");
    }
    statement.sql(&format!(" ORDER BY {} LIMIT {limit}", column_list(key.iter().copied())));
    let rows: Vec<DynRow<T>> = statement.load(conn)?;
    Ok(rows.into_iter().map(|row| row.0).collect())
}

fn kind_of(columns: &[ColumnSpec], name: &str) -> Result<Kind, StoreError> {
    columns
        .iter()
        .find(|c| c.name == name)
        .map(|c| c.kind)
        .ok_or_else(|| StoreError::Other(format!("no column {name}")))
}

/// Inserts `rows` into `table` in one statement, each value bound with its
/// column's type.
pub(crate) fn insert_rows(
    conn: &mut AnyConnection,
    table: &str,
    columns: &[ColumnSpec],
    rows: &[Vec<Value>],
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut statement = Statement::default();
    statement.sql(&format!(
        "INSERT INTO {} ({}) VALUES ",
        quoted(table),
        column_list(columns.iter().map(|c| c.name))
    ));
    for (r, row) in rows.iter().enumerate() {
        statement.sql(if r == 0 { "(" } else { ", (" });
        for (i, (column, value)) in columns.iter().zip(row).enumerate() {
            if i > 0 {
                statement.sql(", ");
            }
            statement.bind(column.kind, value.clone());
        }
        statement.sql(")");
    }
    statement.execute(conn)?;
    Ok(())
}

/// Sets `column` of the row of `table` whose `key` columns hold `key_values`.
pub(crate) fn update_column(
    conn: &mut AnyConnection,
    table: &str,
    column: ColumnSpec,
    value: Value,
    key: &[ColumnSpec],
    key_values: &[Value],
) -> Result<(), StoreError> {
    let mut statement = Statement::default();
    statement.sql(&format!("UPDATE {} SET {} = ", quoted(table), quoted(column.name)));
    statement.bind(column.kind, value);
    for (i, (k, v)) in key.iter().zip(key_values).enumerate() {
        statement.sql(&format!("{} {} = ", if i == 0 { " WHERE" } else { " AND" }, quoted(k.name)));
        statement.bind(k.kind, v.clone());
    }
    let updated = statement.execute(conn)?;
    if updated == 1 {
        Ok(())
    } else {
        Err(StoreError::Other(format!("{table}: {updated} rows matched one key")))
    }
}

/// Whether `table` holds any row.
pub(crate) fn has_rows(conn: &mut AnyConnection, table: &str) -> Result<bool, StoreError> {
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = Integer)]
        #[allow(dead_code)]
        one: i32,
    }
    let found: Vec<Found> =
        diesel::sql_query(format!("SELECT 1 AS one FROM {} LIMIT 1", quoted(table))).load(conn)?;
    Ok(!found.is_empty())
}
