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

/// One page of a search, with the number of users the condition selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The users on this page, in order.
    pub users: Vec<User>,
    /// How many users match in all.
    pub total: i64,
}

/// Users selected by the condition `condition()` builds (every user when it
/// builds `None`), ordered by `order` (then by id, so pages never overlap),
/// skipping `offset` and returning at most `limit`. Users without a value
/// for the order column come last in either direction (RFC 7644 §3.4.2.3).
///
/// `condition` is called twice, for the count and for the page: a boxed
/// diesel expression cannot be cloned. `window` applies to the page only,
/// so a cursor can pick the page while `total` counts every match.
pub fn search(
    conn: &mut AnyConnection,
    condition: &dyn Fn() -> Option<UserCondition>,
    window: Option<UserCondition>,
    order: UserOrder,
    descending: bool,
    offset: i64,
    limit: i64,
) -> Result<Page, StoreError> {
    let mut count = users::table.into_boxed::<Backend>().select(diesel::dsl::count_star());
    if let Some(condition) = condition() {
        count = count.filter(condition);
    }
    let total: i64 = count.first(conn)?;

    let mut query = users::table.into_boxed::<Backend>();
    if let Some(condition) = condition() {
        query = query.filter(condition);
    }
    // The window narrows the page, not the count (cursor paging).
    if let Some(window) = window {
        query = query.filter(window);
    }
    query = match (order, descending) {
        (UserOrder::UserName, false) => query.order((users::user_name_folded.asc(), users::id.asc())),
        (UserOrder::UserName, true) => query.order((users::user_name_folded.desc(), users::id.desc())),
        (UserOrder::DisplayName, false) => {
            query.order((users::display_name.is_null().asc(), users::display_name.asc(), users::id.asc()))
        }
        (UserOrder::DisplayName, true) => {
            query.order((users::display_name.is_null().asc(), users::display_name.desc(), users::id.desc()))
        }
        (UserOrder::FamilyName, false) => {
            query.order((users::family_name.is_null().asc(), users::family_name.asc(), users::id.asc()))
        }
        (UserOrder::FamilyName, true) => {
            query.order((users::family_name.is_null().asc(), users::family_name.desc(), users::id.desc()))
        }
        (UserOrder::GivenName, false) => {
            query.order((users::given_name.is_null().asc(), users::given_name.asc(), users::id.asc()))
        }
        (UserOrder::GivenName, true) => {
            query.order((users::given_name.is_null().asc(), users::given_name.desc(), users::id.desc()))
        }
        (UserOrder::ExternalId, false) => {
            query.order((users::external_id.is_null().asc(), users::external_id.asc(), users::id.asc()))
        }
        (UserOrder::ExternalId, true) => {
            query.order((users::external_id.is_null().asc(), users::external_id.desc(), users::id.desc()))
        }
        (UserOrder::Title, false) => {
            query.order((users::title.is_null().asc(), users::title.asc(), users::id.asc()))
        }
        (UserOrder::Title, true) => {
            query.order((users::title.is_null().asc(), users::title.desc(), users::id.desc()))
        }
        (UserOrder::Created, false) => query.order((users::created.asc(), users::id.asc())),
        (UserOrder::Created, true) => query.order((users::created.desc(), users::id.desc())),
        (UserOrder::LastModified, false) => query.order((users::last_modified.asc(), users::id.asc())),
        (UserOrder::LastModified, true) => query.order((users::last_modified.desc(), users::id.desc())),
        (UserOrder::Id, false) => query.order(users::id.asc()),
        (UserOrder::Id, true) => query.order(users::id.desc()),
    };
    let rows: Vec<UserRow> = query.offset(offset).limit(limit).select(UserRow::as_select()).load(conn)?;
    let mut page: Vec<User> = rows.into_iter().map(UserRow::into_user).collect();
    load_children_of(conn, &mut page)?;
    Ok(Page { users: page, total })
}

/// Fills in the multi-valued attributes of `page` with one query per table.
fn load_children_of(conn: &mut AnyConnection, page: &mut [User]) -> Result<(), StoreError> {
    if page.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = page.iter().map(|u| u.id.as_str()).collect();
    let values: Vec<ValueRow> = user_values::table
        .filter(user_values::user_id.eq_any(&ids))
        .order((user_values::user_id.asc(), user_values::attribute.asc(), user_values::position.asc()))
        .select(ValueRow::as_select())
        .load(conn)?;
    let addresses: Vec<AddressRow> = user_addresses::table
        .filter(user_addresses::user_id.eq_any(&ids))
        .order((user_addresses::user_id.asc(), user_addresses::position.asc()))
        .select(AddressRow::as_select())
        .load(conn)?;
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
