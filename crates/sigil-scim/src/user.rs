//! The SCIM User resource (RFC 7643 §4.1, with the enterprise extension of
//! §4.3) as JSON, written from the store's `User`.
//!
//! Unassigned attributes are left out (§2.5); `password` never appears
//! (§4.1.1, `returned: never`); `meta.version` is a weak ETag of the
//! store's record version (RFC 7644 §3.14).

use std::collections::HashMap;

use chrono::{NaiveDateTime, SecondsFormat};
use serde_json::{Map, Value, json};
use sigil_store::groups::{Group, memberships_of_users};
use sigil_store::roles::{self, Role};
use sigil_store::users::{Address, MultiValue, User, ValueKind};
use sigil_store::{AnyConnection, StoreError};

/// The core User schema.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The enterprise User extension.
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// Where PATCH finds the attributes of a User.
pub(crate) fn patch_layout() -> crate::patch::Layout<'static> {
    crate::patch::Layout {
        schema: crate::filter::user_schema(),
        extensions: &[(
            ENTERPRISE_SCHEMA,
            &["employeeNumber", "costCenter", "organization", "division", "department", "manager"],
        )],
        read_only: &["id", "meta", "groups", "schemas"],
    }
}

/// An `xsd:dateTime` in UTC, with as many fractional digits as the store kept.
pub(crate) fn date_time(time: NaiveDateTime) -> String {
    time.and_utc().to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The weak entity tag of a record version.
pub(crate) fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

fn put(object: &mut Map<String, Value>, name: &str, value: Option<&String>) {
    if let Some(value) = value {
        object.insert(name.into(), json!(value));
    }
}

fn multi_value(value: &MultiValue) -> Value {
    let mut object = Map::new();
    object.insert("value".into(), json!(value.value));
    put(&mut object, "display", value.display.as_ref());
    put(&mut object, "type", value.kind.as_ref());
    // Always written, so that `primary eq false` means what it says.
    object.insert("primary".into(), json!(value.primary));
    Value::Object(object)
}

fn address(address: &Address) -> Value {
    let mut object = Map::new();
    put(&mut object, "formatted", address.formatted.as_ref());
    put(&mut object, "streetAddress", address.street_address.as_ref());
    put(&mut object, "locality", address.locality.as_ref());
    put(&mut object, "region", address.region.as_ref());
    put(&mut object, "postalCode", address.postal_code.as_ref());
    put(&mut object, "country", address.country.as_ref());
    put(&mut object, "type", address.kind.as_ref());
    object.insert("primary".into(), json!(address.primary));
    Value::Object(object)
}

/// The JSON name of each multi-valued attribute kept in `user_values`.
pub(crate) fn values_attribute(kind: ValueKind) -> &'static str {
    kind.as_str()
}

/// What a User resource shows that the user's own record does not hold.
#[derive(Debug, Clone, Default)]
pub struct Related {
    /// The groups it belongs to, directly or through nesting (`true` when
    /// direct).
    pub groups: Vec<(Group, bool)>,
    /// The application roles it holds, granted to it or to any of those
    /// groups.
    pub roles: Vec<Role>,
}

impl Related {
    /// Loads what is related to the user `user_id`.
    pub fn load(conn: &mut AnyConnection, user_id: &str) -> Result<Self, StoreError> {
        Ok(Self::load_many(conn, &[user_id.to_owned()])?.pop().unwrap_or_default())
    }

    /// What is related to each of `user_ids`, in their order, in a number
    /// of queries that does not grow with the number of users (a page of
    /// users costs what one costs).
    pub fn load_many(conn: &mut AnyConnection, user_ids: &[String]) -> Result<Vec<Self>, StoreError> {
        let mut groups = memberships_of_users(conn, user_ids)?;
        let group_ids: HashMap<String, Vec<String>> = user_ids
            .iter()
            .map(|user| {
                let ids = groups.get(user).into_iter().flatten().map(|(g, _)| g.id.clone()).collect();
                (user.clone(), ids)
            })
            .collect();
        let mut roles = roles::held_by_users(conn, &group_ids)?;
        Ok(user_ids
            .iter()
            .map(|user| Self {
                groups: groups.remove(user).unwrap_or_default(),
                roles: roles.remove(user).unwrap_or_default(),
            })
            .collect())
    }
}

/// An application role as an entry of `roles`: `value` is its name, `type`
/// the application's client_id. These entries are computed from grants,
/// so they are read-only: a write that sends them back changes nothing.
pub(crate) fn application_role(role: &Role) -> Value {
    json!({ "value": role.name, "type": role.client_id })
}

/// Renders `user` as a SCIM User with what is `related` to it; `base` is
/// the service's base URL, such as `https://id.example.com/scim/v2`.
pub fn render(user: &User, related: &Related, base: &str) -> Value {
    let groups = &related.groups;
    let mut object = Map::new();
    let has_enterprise = {
        let e = &user.enterprise;
        [&e.employee_number, &e.cost_center, &e.organization, &e.division, &e.department, &e.manager_id]
            .iter()
            .any(|v| v.is_some())
    };
    let mut schemas = vec![USER_SCHEMA];
    if has_enterprise {
        schemas.push(ENTERPRISE_SCHEMA);
    }
    object.insert("schemas".into(), json!(schemas));
    object.insert("id".into(), json!(user.id));
    put(&mut object, "externalId", user.external_id.as_ref());
    object.insert("userName".into(), json!(user.user_name));
    let mut name = Map::new();
    put(&mut name, "formatted", user.name.formatted.as_ref());
    put(&mut name, "familyName", user.name.family_name.as_ref());
    put(&mut name, "givenName", user.name.given_name.as_ref());
    put(&mut name, "middleName", user.name.middle_name.as_ref());
    put(&mut name, "honorificPrefix", user.name.honorific_prefix.as_ref());
    put(&mut name, "honorificSuffix", user.name.honorific_suffix.as_ref());
    if !name.is_empty() {
        object.insert("name".into(), Value::Object(name));
    }
    put(&mut object, "displayName", user.display_name.as_ref());
    put(&mut object, "nickName", user.nick_name.as_ref());
    put(&mut object, "profileUrl", user.profile_url.as_ref());
    put(&mut object, "title", user.title.as_ref());
    put(&mut object, "userType", user.user_type.as_ref());
    put(&mut object, "preferredLanguage", user.preferred_language.as_ref());
    put(&mut object, "locale", user.locale.as_ref());
    put(&mut object, "timezone", user.timezone.as_ref());
    // RFC 7643 §2.5: an unassigned attribute is left out.
    if user.active_assigned {
        object.insert("active".into(), json!(user.active));
    }
    for kind in ValueKind::ALL {
        let values = user.values(kind);
        if !values.is_empty() {
            object.insert(values_attribute(kind).into(), values.iter().map(multi_value).collect());
        }
    }
    if !related.roles.is_empty() {
        let entries = object.entry("roles").or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(entries) = entries {
            entries.extend(related.roles.iter().map(application_role));
        }
    }
    if !user.addresses.is_empty() {
        object.insert("addresses".into(), user.addresses.iter().map(address).collect());
    }
    if !groups.is_empty() {
        let list: Vec<Value> = groups
            .iter()
            .map(|(group, direct)| {
                json!({
                    "value": group.id,
                    "$ref": format!("{base}/Groups/{}", group.id),
                    "display": group.display_name,
                    "type": if *direct { "direct" } else { "indirect" },
                })
            })
            .collect();
        object.insert("groups".into(), Value::Array(list));
    }
    if has_enterprise {
        let e = &user.enterprise;
        let mut enterprise = Map::new();
        put(&mut enterprise, "employeeNumber", e.employee_number.as_ref());
        put(&mut enterprise, "costCenter", e.cost_center.as_ref());
        put(&mut enterprise, "organization", e.organization.as_ref());
        put(&mut enterprise, "division", e.division.as_ref());
        put(&mut enterprise, "department", e.department.as_ref());
        if let Some(manager) = &e.manager_id {
            enterprise.insert(
                "manager".into(),
                json!({ "value": manager, "$ref": format!("{base}/Users/{manager}") }),
            );
        }
        object.insert(ENTERPRISE_SCHEMA.into(), Value::Object(enterprise));
    }
    object.insert(
        "meta".into(),
        json!({
            "resourceType": "User",
            "created": date_time(user.meta.created),
            "lastModified": date_time(user.meta.last_modified),
            "location": format!("{base}/Users/{}", user.id),
            "version": etag(user.meta.version),
        }),
    );
    Value::Object(object)
}
