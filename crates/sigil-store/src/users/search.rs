//! Searching users with a condition built by the caller.
//!
//! The store does not know what a SCIM filter is. It takes a diesel
//! expression over the tables of [`crate::schema`] (the SCIM layer compiles
//! filters into one), counts and pages the users it selects in the database,
//! and loads the page whole, with the multi-valued attributes of every user
//! on the page fetched in one query per table rather than one per user.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::{Bool, Nullable};

use super::{AddressRow, User, UserRow, ValueRow, attach_children};
use crate::db::AnyConnection;
use crate::error::StoreError;
use crate::keyset::{self, Seek, SortColumn, SortKey};
use crate::schema::{user_addresses, user_values, users};

/// The query backend of [`AnyConnection`], for building expressions outside
/// the store.
pub type Backend = <AnyConnection as diesel::Connection>::Backend;

/// A condition on the `users` table; subqueries on the other tables are
/// written as `users::id.eq_any(...)`.
pub type UserCondition = Box<dyn BoxableExpression<users::table, Backend, SqlType = Nullable<Bool>>>;

/// A column users can be ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserOrder {
    /// `userName`, case-insensitively.
    UserName,
    /// `displayName`.
    DisplayName,
    /// `name.familyName`.
    FamilyName,
    /// `name.givenName`.
    GivenName,
    /// `externalId`.
    ExternalId,
    /// `title`.
    Title,
    /// `meta.created` (the default: the order users were added).
    Created,
    /// `meta.lastModified`.
    LastModified,
    /// `id`.
    Id,
}

impl UserOrder {
    /// The column, as keyset paging sees it.
    fn column(self) -> SortColumn<users::table> {
        match self {
            Self::UserName => SortColumn::Text(|| Box::new(users::user_name_folded)),
            Self::DisplayName => SortColumn::OptionalText(|| Box::new(users::display_name)),
            Self::FamilyName => SortColumn::OptionalText(|| Box::new(users::family_name)),
            Self::GivenName => SortColumn::OptionalText(|| Box::new(users::given_name)),
            Self::ExternalId => SortColumn::OptionalText(|| Box::new(users::external_id)),
            Self::Title => SortColumn::OptionalText(|| Box::new(users::title)),
            Self::Created => SortColumn::Time(|| Box::new(users::created)),
            Self::LastModified => SortColumn::Time(|| Box::new(users::last_modified)),
            Self::Id => SortColumn::Id,
        }
    }

    /// Whether `key` can be a user's value in this column (a position
    /// taken in another order cannot).
    pub fn admits(self, key: &SortKey) -> bool {
        self.column().admits(key)
    }

    /// `row`'s value in this column, as stored.
    fn key_of(self, row: &UserRow) -> SortKey {
        let text = |value: &Option<String>| value.clone().map_or(SortKey::Absent, SortKey::Text);
        match self {
            Self::UserName => SortKey::Text(row.user_name_folded.clone()),
            Self::DisplayName => text(&row.display_name),
            Self::FamilyName => text(&row.family_name),
            Self::GivenName => text(&row.given_name),
            Self::ExternalId => text(&row.external_id),
            Self::Title => text(&row.title),
            Self::Created => SortKey::Time(row.created),
            Self::LastModified => SortKey::Time(row.last_modified),
            Self::Id => SortKey::Absent,
        }
    }
}

/// One page of a search, with the number of users the condition selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The users on this page, in order.
    pub users: Vec<User>,
    /// Each user's value in the order column, as stored: what a [`Seek`]
    /// from that user carries.
    pub keys: Vec<SortKey>,
    /// How many users match in all.
    pub total: i64,
}

/// Users selected by the condition `condition()` builds (every user when it
/// builds `None`), ordered by `order` (then by id, so pages never overlap),
/// skipping `offset` and returning at most `limit`. Users without a value
/// for the order column come last in either direction (RFC 7644 §3.4.2.3).
///
/// With `seek`, the page holds the users right after (or right before) the
/// user it names, still in `order` (keyset paging, see [`crate::keyset`]);
/// `total` still counts every match. `condition` is called twice, for the
/// count and for the page: a boxed diesel expression cannot be cloned.
pub fn search(
    conn: &mut AnyConnection,
    condition: &dyn Fn() -> Option<UserCondition>,
    seek: Option<&Seek>,
    order: UserOrder,
    descending: bool,
    offset: i64,
    limit: i64,
) -> Result<Page, StoreError> {
    let mut query = users::table.into_boxed::<Backend>();
    if let Some(condition) = condition() {
        query = query.filter(condition);
    }
    let (query, reversed) =
        keyset::arrange(query, &order.column(), || Box::new(users::id), descending, seek)?;
    let mut rows: Vec<UserRow> = query.offset(offset).limit(limit).select(UserRow::as_select()).load(conn)?;
    if reversed {
        rows.reverse();
    }
    let total = match crate::keyset::total_from_page(seek.is_some(), offset, limit, rows.len()) {
        Some(total) => total,
        None => {
            let mut count = users::table.into_boxed::<Backend>().select(diesel::dsl::count_star());
            if let Some(condition) = condition() {
                count = count.filter(condition);
            }
            count.first(conn)?
        }
    };
    let keys = rows.iter().map(|row| order.key_of(row)).collect();
    let mut page: Vec<User> = rows.into_iter().map(UserRow::into_user).collect();
    load_children_of(conn, &mut page)?;
    Ok(Page { users: page, keys, total })
}

/// Fills in the multi-valued attributes of `page` with one query per table.
fn load_children_of(conn: &mut AnyConnection, page: &mut [User]) -> Result<(), StoreError> {
    if page.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = page.iter().map(|u| u.id.as_str()).collect();
    let values: Vec<ValueRow> = crate::db::on_backend!(conn, |c| {
        user_values::table
            .filter(crate::db::any_of(user_values::user_id, &ids))
            .order((user_values::user_id.asc(), user_values::attribute.asc(), user_values::position.asc()))
            .select(ValueRow::as_select())
            .load(c)
    })?;
    let addresses: Vec<AddressRow> = crate::db::on_backend!(conn, |c| {
        user_addresses::table
            .filter(crate::db::any_of(user_addresses::user_id, &ids))
            .order((user_addresses::user_id.asc(), user_addresses::position.asc()))
            .select(AddressRow::as_select())
            .load(c)
    })?;
    let mut values_of: HashMap<String, Vec<ValueRow>> = HashMap::new();
    for row in values {
        values_of.entry(row.user_id.clone()).or_default().push(row);
    }
    let mut addresses_of: HashMap<String, Vec<AddressRow>> = HashMap::new();
    for row in addresses {
        addresses_of.entry(row.user_id.clone()).or_default().push(row);
    }
    for user in page.iter_mut() {
        let values = values_of.remove(&user.id).unwrap_or_default();
        let addresses = addresses_of.remove(&user.id).unwrap_or_default();
        attach_children(user, values, addresses)?;
    }
    Ok(())
}
