//! Users: the core and enterprise attributes of RFC 7643 §4.1 and §4.3 as
//! columns, multi-valued attributes as ordered rows beside them.
//!
//! Every attribute a directory client may search on is a column or an
//! indexed row, so a search becomes an indexed SQL query on either backend.
//! Case-insensitive values carry a folded copy (see [`crate::text::fold`]).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::AnyConnection;
use crate::error::StoreError;
use crate::schema::{user_addresses, user_search_terms, user_values, users};
use crate::text::{check_email, check_name, check_web_url, fold};
use crate::{Meta, new_id};

mod search;

pub use search::{Backend, Page, UserCondition, UserOrder, search};

/// The multi-valued attributes kept in `user_values`, all shaped
/// `{value, display, type, primary}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ValueKind {
    /// `emails`
    Emails,
    /// `phoneNumbers`
    PhoneNumbers,
    /// `ims`
    Ims,
    /// `photos`
    Photos,
    /// `entitlements`
    Entitlements,
    /// `roles`
    Roles,
    /// `x509Certificates`
    X509Certificates,
}

impl ValueKind {
    /// Every kind, in the order they are read and written.
    pub const ALL: [Self; 7] = [
        Self::Emails,
        Self::PhoneNumbers,
        Self::Ims,
        Self::Photos,
        Self::Entitlements,
        Self::Roles,
        Self::X509Certificates,
    ];

    /// The name stored in `user_values.attribute` (the RFC 7643 attribute name).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Emails => "emails",
            Self::PhoneNumbers => "phoneNumbers",
            Self::Ims => "ims",
            Self::Photos => "photos",
            Self::Entitlements => "entitlements",
            Self::Roles => "roles",
            Self::X509Certificates => "x509Certificates",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

/// One value of a multi-valued attribute.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MultiValue {
    /// The value itself (an address, a number, a URL, a base64 certificate…).
    pub value: String,
    /// A human-readable name for the value.
    pub display: Option<String>,
    /// Its label (`work`, `home`, …).
    pub kind: Option<String>,
    /// Whether it is the preferred value of its attribute.
    pub primary: bool,
}

impl MultiValue {
    /// A value with no display, type or primary flag.
    pub fn new(value: impl Into<String>) -> Self {
        Self { value: value.into(), ..Self::default() }
    }
}

/// A postal address (RFC 7643 §4.1.2 `addresses`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    /// The full address, formatted for display.
    pub formatted: Option<String>,
    /// House number, street, and so on.
    pub street_address: Option<String>,
    /// City or locality.
    pub locality: Option<String>,
    /// State or region.
    pub region: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Country (ISO 3166-1 alpha-2).
    pub country: Option<String>,
    /// Its label (`work`, `home`, …).
    pub kind: Option<String>,
    /// Whether it is the preferred address.
    pub primary: bool,
}

/// The parts of a user's name (RFC 7643 §4.1.1 `name`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Name {
    /// The full name, formatted for display.
    pub formatted: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Middle name(s).
    pub middle_name: Option<String>,
    /// Honorific prefix (`Ms.`).
    pub honorific_prefix: Option<String>,
    /// Honorific suffix (`III`).
    pub honorific_suffix: Option<String>,
}

/// The enterprise user extension (RFC 7643 §4.3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Enterprise {
    /// Employee number.
    pub employee_number: Option<String>,
    /// Cost center.
    pub cost_center: Option<String>,
    /// Organization.
    pub organization: Option<String>,
    /// Division.
    pub division: Option<String>,
    /// Department.
    pub department: Option<String>,
    /// The id of the user's manager, another user.
    pub manager_id: Option<String>,
}

/// A user as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Server-assigned id (a UUID).
    pub id: String,
    /// The unique login name; unique regardless of letter case.
    pub user_name: String,
    /// The provisioning client's own id for this user.
    pub external_id: Option<String>,
    /// Name parts.
    pub name: Name,
    /// Display name.
    pub display_name: Option<String>,
    /// Casual name.
    pub nick_name: Option<String>,
    /// Profile page URL.
    pub profile_url: Option<String>,
    /// Job title.
    pub title: Option<String>,
    /// Kind of user (`Employee`, `Contractor`, …).
    pub user_type: Option<String>,
    /// Preferred language (`en-US`).
    pub preferred_language: Option<String>,
    /// Locale for formatting (`en-US`).
    pub locale: Option<String>,
    /// IANA time zone (`Europe/Zurich`).
    pub timezone: Option<String>,
    /// Whether the user may log in.
    pub active: bool,
    /// Whether `active` was given a value; an unassigned `active` (a SCIM
    /// PATCH removed it) is stored as `false`.
    pub active_assigned: bool,
    /// argon2id hash in PHC form, if the user has a password.
    pub password_hash: Option<String>,
    /// Enterprise extension attributes.
    pub enterprise: Enterprise,
    /// `emails`
    pub emails: Vec<MultiValue>,
    /// `phoneNumbers`
    pub phone_numbers: Vec<MultiValue>,
    /// `ims`
    pub ims: Vec<MultiValue>,
    /// `photos`
    pub photos: Vec<MultiValue>,
    /// `entitlements`
    pub entitlements: Vec<MultiValue>,
    /// `roles`
    pub roles: Vec<MultiValue>,
    /// `x509Certificates`
    pub x509_certificates: Vec<MultiValue>,
    /// `addresses`
    pub addresses: Vec<Address>,
    /// Creation time, last change and version; set by the store.
    pub meta: Meta,
}

impl User {
    /// A new active user with a fresh id and nothing but a `userName`.
    pub fn new(user_name: impl Into<String>) -> Self {
        Self {
            id: new_id(),
            user_name: user_name.into(),
            external_id: None,
            name: Name::default(),
            display_name: None,
            nick_name: None,
            profile_url: None,
            title: None,
            user_type: None,
            preferred_language: None,
            locale: None,
            timezone: None,
            active: true,
            active_assigned: true,
            password_hash: None,
            enterprise: Enterprise::default(),
            emails: Vec::new(),
            phone_numbers: Vec::new(),
            ims: Vec::new(),
            photos: Vec::new(),
            entitlements: Vec::new(),
            roles: Vec::new(),
            x509_certificates: Vec::new(),
            addresses: Vec::new(),
            meta: Meta::default(),
        }
    }

    /// The values of one multi-valued attribute.
    pub fn values(&self, kind: ValueKind) -> &Vec<MultiValue> {
        match kind {
            ValueKind::Emails => &self.emails,
            ValueKind::PhoneNumbers => &self.phone_numbers,
            ValueKind::Ims => &self.ims,
            ValueKind::Photos => &self.photos,
            ValueKind::Entitlements => &self.entitlements,
            ValueKind::Roles => &self.roles,
            ValueKind::X509Certificates => &self.x509_certificates,
        }
    }

    /// The values of one multi-valued attribute, to change.
    pub fn values_mut(&mut self, kind: ValueKind) -> &mut Vec<MultiValue> {
        match kind {
            ValueKind::Emails => &mut self.emails,
            ValueKind::PhoneNumbers => &mut self.phone_numbers,
            ValueKind::Ims => &mut self.ims,
            ValueKind::Photos => &mut self.photos,
            ValueKind::Entitlements => &mut self.entitlements,
            ValueKind::Roles => &mut self.roles,
            ValueKind::X509Certificates => &mut self.x509_certificates,
        }
    }

    /// The case-insensitive single-valued string attributes that have a
    /// value, by RFC 7643 attribute path, as kept in `user_search_terms`.
    pub fn search_terms(&self) -> Vec<(&'static str, &str)> {
        let Self { name, enterprise: e, .. } = self;
        [
            ("displayName", &self.display_name),
            ("nickName", &self.nick_name),
            ("title", &self.title),
            ("userType", &self.user_type),
            ("preferredLanguage", &self.preferred_language),
            ("locale", &self.locale),
            ("timezone", &self.timezone),
            ("profileUrl", &self.profile_url),
            ("name.formatted", &name.formatted),
            ("name.familyName", &name.family_name),
            ("name.givenName", &name.given_name),
            ("name.middleName", &name.middle_name),
            ("name.honorificPrefix", &name.honorific_prefix),
            ("name.honorificSuffix", &name.honorific_suffix),
            ("employeeNumber", &e.employee_number),
            ("costCenter", &e.cost_center),
            ("organization", &e.organization),
            ("division", &e.division),
            ("department", &e.department),
        ]
        .into_iter()
        .filter_map(|(attribute, value)| value.as_deref().map(|v| (attribute, v)))
        .collect()
    }

    /// Checks what the store itself guarantees about a user.
    pub fn validate(&self) -> Result<(), StoreError> {
        check_name("userName", &self.user_name).map_err(StoreError::Invalid)?;
        for email in &self.emails {
            check_email(&email.value).map_err(StoreError::Invalid)?;
        }
        // Released as the `profile` and `picture` claims, which relying
        // parties follow and load: see `check_web_url`.
        if let Some(url) = &self.profile_url {
            check_web_url(url).map_err(|why| StoreError::Invalid(format!("profileUrl {why}")))?;
        }
        for photo in &self.photos {
            check_web_url(&photo.value).map_err(|why| StoreError::Invalid(format!("photos.value {why}")))?;
        }
        if self.enterprise.manager_id.as_deref() == Some(self.id.as_str()) {
            return Err(StoreError::Invalid("a user cannot be their own manager".into()));
        }
        Ok(())
    }
}

/// The `users` row: every single-valued attribute.
#[derive(Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = users, treat_none_as_null = true)]
struct UserRow {
    id: String,
    user_name: String,
    user_name_folded: String,
    external_id: Option<String>,
    name_formatted: Option<String>,
    family_name: Option<String>,
    given_name: Option<String>,
    middle_name: Option<String>,
    honorific_prefix: Option<String>,
    honorific_suffix: Option<String>,
    display_name: Option<String>,
    nick_name: Option<String>,
    profile_url: Option<String>,
    title: Option<String>,
    user_type: Option<String>,
    preferred_language: Option<String>,
    locale: Option<String>,
    timezone: Option<String>,
    active: bool,
    password_hash: Option<String>,
    employee_number: Option<String>,
    cost_center: Option<String>,
    organization: Option<String>,
    division: Option<String>,
    department: Option<String>,
    manager_id: Option<String>,
    created: NaiveDateTime,
    last_modified: NaiveDateTime,
    version: i64,
    active_assigned: bool,
}

impl UserRow {
    fn from_user(user: &User) -> Self {
        let User { name, enterprise, meta, .. } = user;
        Self {
            id: user.id.clone(),
            user_name: user.user_name.clone(),
            user_name_folded: fold(&user.user_name),
            external_id: user.external_id.clone(),
            name_formatted: name.formatted.clone(),
            family_name: name.family_name.clone(),
            given_name: name.given_name.clone(),
            middle_name: name.middle_name.clone(),
            honorific_prefix: name.honorific_prefix.clone(),
            honorific_suffix: name.honorific_suffix.clone(),
            display_name: user.display_name.clone(),
            nick_name: user.nick_name.clone(),
            profile_url: user.profile_url.clone(),
            title: user.title.clone(),
            user_type: user.user_type.clone(),
            preferred_language: user.preferred_language.clone(),
            locale: user.locale.clone(),
            timezone: user.timezone.clone(),
            active: user.active && user.active_assigned,
            active_assigned: user.active_assigned,
            password_hash: user.password_hash.clone(),
            employee_number: enterprise.employee_number.clone(),
            cost_center: enterprise.cost_center.clone(),
            organization: enterprise.organization.clone(),
            division: enterprise.division.clone(),
            department: enterprise.department.clone(),
            manager_id: enterprise.manager_id.clone(),
            created: meta.created,
            last_modified: meta.last_modified,
            version: meta.version,
        }
    }

    fn into_user(self) -> User {
        User {
            id: self.id,
            user_name: self.user_name,
            external_id: self.external_id,
            name: Name {
                formatted: self.name_formatted,
                family_name: self.family_name,
                given_name: self.given_name,
                middle_name: self.middle_name,
                honorific_prefix: self.honorific_prefix,
                honorific_suffix: self.honorific_suffix,
            },
            display_name: self.display_name,
            nick_name: self.nick_name,
            profile_url: self.profile_url,
            title: self.title,
            user_type: self.user_type,
            preferred_language: self.preferred_language,
            locale: self.locale,
            timezone: self.timezone,
            active: self.active,
            active_assigned: self.active_assigned,
            password_hash: self.password_hash,
            enterprise: Enterprise {
                employee_number: self.employee_number,
                cost_center: self.cost_center,
                organization: self.organization,
                division: self.division,
                department: self.department,
                manager_id: self.manager_id,
            },
            emails: Vec::new(),
            phone_numbers: Vec::new(),
            ims: Vec::new(),
            photos: Vec::new(),
            entitlements: Vec::new(),
            roles: Vec::new(),
            x509_certificates: Vec::new(),
            addresses: Vec::new(),
            meta: Meta { created: self.created, last_modified: self.last_modified, version: self.version },
        }
    }
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = user_values)]
struct ValueRow {
    user_id: String,
    attribute: String,
    position: i64,
    value: String,
    value_folded: String,
    display: Option<String>,
    value_type: Option<String>,
    is_primary: bool,
    display_folded: Option<String>,
    type_folded: Option<String>,
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = user_addresses)]
struct AddressRow {
    user_id: String,
    position: i64,
    formatted: Option<String>,
    street_address: Option<String>,
    locality: Option<String>,
    region: Option<String>,
    postal_code: Option<String>,
    country: Option<String>,
    address_type: Option<String>,
    is_primary: bool,
    formatted_folded: Option<String>,
    street_address_folded: Option<String>,
    locality_folded: Option<String>,
    region_folded: Option<String>,
    postal_code_folded: Option<String>,
    country_folded: Option<String>,
    type_folded: Option<String>,
}

/// Stores a new user. The store sets `meta` (version 1); the id is kept.
///
/// Fails with [`StoreError::Conflict`] when the `userName` is taken in any
/// letter case, and writes nothing.
pub fn insert(conn: &mut AnyConnection, mut user: User, now: NaiveDateTime) -> Result<User, StoreError> {
    user.validate()?;
    user.meta = Meta { created: now, last_modified: now, version: 1 };
    diesel::insert_into(users::table).values(UserRow::from_user(&user)).execute(conn)?;
    insert_children(conn, &user)?;
    Ok(user)
}

/// Replaces a stored user with `user` (same id), bumping its version.
///
/// With `expected_version`, the write happens only if the stored version is
/// still that one ([`StoreError::VersionMismatch`] otherwise): one conditional
/// UPDATE, so two writers cannot both win.
pub fn update(
    conn: &mut AnyConnection,
    mut user: User,
    expected_version: Option<i64>,
    now: NaiveDateTime,
) -> Result<User, StoreError> {
    user.validate()?;
    lock(conn, &user.id)?;
    let stored = users::table
        .find(&user.id)
        .select((users::created, users::version, users::password_hash))
        .first::<(NaiveDateTime, i64, Option<String>)>(conn)?;
    let (created, version, old_password) = stored;
    let new_password = user.password_hash.is_some() && user.password_hash != old_password;
    if expected_version.is_some_and(|expected| expected != version) {
        return Err(StoreError::VersionMismatch);
    }
    user.meta = Meta { created, last_modified: now, version: version + 1 };
    let changed = diesel::update(users::table.find(&user.id).filter(users::version.eq(version)))
        .set(UserRow::from_user(&user))
        .execute(conn)?;
    if changed == 0 {
        return Err(StoreError::VersionMismatch);
    }
    diesel::delete(user_values::table.filter(user_values::user_id.eq(&user.id))).execute(conn)?;
    diesel::delete(user_addresses::table.filter(user_addresses::user_id.eq(&user.id))).execute(conn)?;
    diesel::delete(user_search_terms::table.filter(user_search_terms::user_id.eq(&user.id))).execute(conn)?;
    insert_children(conn, &user)?;
    if !user.active || new_password {
        // A disabled user keeps no session or refresh token, in the same
        // transaction as the change; nor does one whose password was set
        // (a reset after a compromise must sign the intruder out).
        crate::tokens::revoke_user(conn, &user.id, now)?;
    }
    Ok(user)
}

/// Takes the user's row lock until the end of the transaction, so that
/// what the caller reads next (the version, the stored password, the
/// groups) stays true until commit: concurrent writers of one user queue
/// on PostgreSQL's READ COMMITTED as they do under SQLite's
/// `BEGIN IMMEDIATE`. Fails with [`StoreError::NotFound`] when there is no
/// such user.
pub fn lock(conn: &mut AnyConnection, id: &str) -> Result<(), StoreError> {
    // A no-op UPDATE: the one row lock both backends accept through one query.
    let locked =
        diesel::update(users::table.find(id)).set(users::version.eq(users::version)).execute(conn)?;
    if locked == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

fn insert_children(conn: &mut AnyConnection, user: &User) -> Result<(), StoreError> {
    // One statement per row: multi-row inserts do not compile through
    // diesel's multi-backend connection, and these run inside one transaction.
    for kind in ValueKind::ALL {
        for (position, value) in (0i64..).zip(user.values(kind)) {
            let row = ValueRow {
                user_id: user.id.clone(),
                attribute: kind.as_str().to_owned(),
                position,
                value: value.value.clone(),
                value_folded: fold(&value.value),
                display: value.display.clone(),
                value_type: value.kind.clone(),
                is_primary: value.primary,
                display_folded: value.display.as_deref().map(fold),
                type_folded: value.kind.as_deref().map(fold),
            };
            diesel::insert_into(user_values::table).values(row).execute(conn)?;
        }
    }
    for (attribute, value) in user.search_terms() {
        diesel::insert_into(user_search_terms::table)
            .values((
                user_search_terms::user_id.eq(&user.id),
                user_search_terms::attribute.eq(attribute),
                user_search_terms::value_folded.eq(fold(value)),
            ))
            .execute(conn)?;
    }
    for (position, address) in (0i64..).zip(&user.addresses) {
        let row = AddressRow {
            user_id: user.id.clone(),
            position,
            formatted: address.formatted.clone(),
            street_address: address.street_address.clone(),
            locality: address.locality.clone(),
            region: address.region.clone(),
            postal_code: address.postal_code.clone(),
            country: address.country.clone(),
            address_type: address.kind.clone(),
            is_primary: address.primary,
            formatted_folded: address.formatted.as_deref().map(fold),
            street_address_folded: address.street_address.as_deref().map(fold),
            locality_folded: address.locality.as_deref().map(fold),
            region_folded: address.region.as_deref().map(fold),
            postal_code_folded: address.postal_code.as_deref().map(fold),
            country_folded: address.country.as_deref().map(fold),
            type_folded: address.kind.as_deref().map(fold),
        };
        diesel::insert_into(user_addresses::table).values(row).execute(conn)?;
    }
    Ok(())
}

/// The user with this id.
pub fn get(conn: &mut AnyConnection, id: &str) -> Result<User, StoreError> {
    let row: UserRow =
        crate::db::on_backend!(conn, |c| users::table.find(id).select(UserRow::as_select()).first(c))?;
    load_children(conn, row.into_user())
}

/// Whether the user `id` is active; `None` when there is no such user. One
/// indexed read, for checks that need nothing else of the user.
pub fn is_active(conn: &mut AnyConnection, id: &str) -> Result<Option<bool>, StoreError> {
    Ok(crate::db::on_backend!(conn, |c| users::table.find(id).select(users::active).first(c).optional())?)
}

/// The user whose `userName` matches `user_name` in any letter case.
pub fn find_by_user_name(conn: &mut AnyConnection, user_name: &str) -> Result<Option<User>, StoreError> {
    let row = users::table
        .filter(users::user_name_folded.eq(fold(user_name)))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?;
    row.map(|row| load_children(conn, row.into_user())).transpose()
}

/// One page of users in creation order.
pub fn list(conn: &mut AnyConnection, offset: i64, limit: i64) -> Result<Vec<User>, StoreError> {
    let rows = users::table
        .order((users::created.asc(), users::id.asc()))
        .offset(offset)
        .limit(limit)
        .select(UserRow::as_select())
        .load(conn)?;
    rows.into_iter().map(|row| load_children(conn, row.into_user())).collect()
}

/// How many users there are.
pub fn count(conn: &mut AnyConnection) -> Result<i64, StoreError> {
    Ok(users::table.count().get_result(conn)?)
}

/// Deletes a user with everything that hangs off it (values, addresses,
/// memberships, sessions, grants); reports whether it existed.
pub fn delete(conn: &mut AnyConnection, id: &str, now: NaiveDateTime) -> Result<bool, StoreError> {
    crate::tokens::revoke_user(conn, id, now)?;
    crate::groups::touch_containers(conn, &crate::groups::Member::User(id.to_owned()), now)?;
    Ok(diesel::delete(users::table.find(id)).execute(conn)? > 0)
}

fn load_children(conn: &mut AnyConnection, mut user: User) -> Result<User, StoreError> {
    let values: Vec<ValueRow> = crate::db::on_backend!(conn, |c| {
        user_values::table
            .filter(user_values::user_id.eq(&user.id))
            .order((user_values::attribute.asc(), user_values::position.asc()))
            .select(ValueRow::as_select())
            .load(c)
    })?;
    let addresses: Vec<AddressRow> = crate::db::on_backend!(conn, |c| {
        user_addresses::table
            .filter(user_addresses::user_id.eq(&user.id))
            .order(user_addresses::position.asc())
            .select(AddressRow::as_select())
            .load(c)
    })?;
    attach_children(&mut user, values, addresses)?;
    Ok(user)
}

/// Puts a user's rows from `user_values` (in attribute, position order) and
/// `user_addresses` (in position order) into `user`.
fn attach_children(
    user: &mut User,
    values: Vec<ValueRow>,
    addresses: Vec<AddressRow>,
) -> Result<(), StoreError> {
    for row in values {
        let Some(kind) = ValueKind::parse(&row.attribute) else {
            return Err(StoreError::Other(format!("unknown multi-valued attribute `{}`", row.attribute)));
        };
        user.values_mut(kind).push(MultiValue {
            value: row.value,
            display: row.display,
            kind: row.value_type,
            primary: row.is_primary,
        });
    }
    user.addresses = addresses
        .into_iter()
        .map(|row| Address {
            formatted: row.formatted,
            street_address: row.street_address,
            locality: row.locality,
            region: row.region,
            postal_code: row.postal_code,
            country: row.country,
            kind: row.address_type,
            primary: row.is_primary,
        })
        .collect();
    Ok(())
}
