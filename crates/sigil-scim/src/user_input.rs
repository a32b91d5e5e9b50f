//! A User resource received in a POST or PUT body, checked and turned into
//! the store's `User` (RFC 7643 §4.1, RFC 7644 §3.3 and §3.5.1).
//!
//! Attribute names are matched in any letter case (RFC 7643 §2.1).
//! Read-only attributes (`id`, `meta`, `groups`) are ignored, as RFC 7644
//! §3.5.1 asks. Attributes Sigil does not know are ignored too, but a
//! `schemas` entry it does not know is refused. What real clients send is
//! forgiven: booleans as the strings `"True"`/`"false"` (Microsoft Entra
//! ID) and a manager given as a bare id.

use serde_json::{Map, Value};
use sigil_store::users::{Address, MultiValue, User, ValueKind};

use crate::ScimError;
use crate::user::{ENTERPRISE_SCHEMA, USER_SCHEMA};

/// A member of `object`, found in any letter case.
fn member<'v>(object: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    object.get(name).or_else(|| object.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

/// An optional string; `null` and absent are the same (RFC 7643 §2.5).
fn string(object: &Map<String, Value>, name: &str, path: &str) -> Result<Option<String>, ScimError> {
    match member(object, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(ScimError::InvalidValue(format!("`{path}` must be a string, not {other}"))),
    }
}

/// A boolean, also accepted as the string "true" or "false" in any case.
pub(crate) fn boolean(value: &Value, path: &str) -> Result<bool, ScimError> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(ScimError::InvalidValue(format!("`{path}` must be a boolean, not {other}"))),
    }
}

fn object<'v>(value: &'v Value, path: &str) -> Result<&'v Map<String, Value>, ScimError> {
    value.as_object().ok_or_else(|| ScimError::InvalidValue(format!("`{path}` must be an object")))
}

fn array<'v>(value: &'v Value, path: &str) -> Result<&'v [Value], ScimError> {
    match value {
        Value::Array(items) => Ok(items),
        other => Err(ScimError::InvalidValue(format!("`{path}` must be an array, not {other}"))),
    }
}

/// One value of a multi-valued attribute shaped `{value, display, type, primary}`.
pub(crate) fn multi_value(item: &Value, path: &str) -> Result<MultiValue, ScimError> {
    let item = object(item, path)?;
    let Some(value) = string(item, "value", &format!("{path}.value"))? else {
        return Err(ScimError::InvalidValue(format!("every value of `{path}` needs a `value`")));
    };
    Ok(MultiValue {
        value,
        display: string(item, "display", &format!("{path}.display"))?,
        kind: string(item, "type", &format!("{path}.type"))?,
        primary: member(item, "primary")
            .filter(|v| !v.is_null())
            .map(|v| boolean(v, &format!("{path}.primary")))
            .transpose()?
            .unwrap_or(false),
    })
}

pub(crate) fn address(item: &Value) -> Result<Address, ScimError> {
    let item = object(item, "addresses")?;
    Ok(Address {
        formatted: string(item, "formatted", "addresses.formatted")?,
        street_address: string(item, "streetAddress", "addresses.streetAddress")?,
        locality: string(item, "locality", "addresses.locality")?,
        region: string(item, "region", "addresses.region")?,
        postal_code: string(item, "postalCode", "addresses.postalCode")?,
        country: string(item, "country", "addresses.country")?,
        kind: string(item, "type", "addresses.type")?,
        primary: member(item, "primary")
            .filter(|v| !v.is_null())
            .map(|v| boolean(v, "addresses.primary"))
            .transpose()?
            .unwrap_or(false),
    })
}

/// RFC 7643 §2.4: at most one value of a multi-valued attribute is primary.
fn check_one_primary(primaries: usize, path: &str) -> Result<(), ScimError> {
    if primaries > 1 {
        return Err(ScimError::InvalidValue(format!("only one value of `{path}` may be primary")));
    }
    Ok(())
}

/// The password in the body, if any, still in the clear; the caller hashes
/// it (slowly) outside any transaction.
#[derive(Debug)]
pub(crate) struct UserInput {
    /// Every attribute but the password, on a `User` with a fresh id.
    pub(crate) user: User,
    /// The password, when the body sets one.
    pub(crate) password: Option<String>,
}

/// Reads a full User resource (POST, PUT).
pub(crate) fn parse(body: &Value) -> Result<UserInput, ScimError> {
    let body = body
        .as_object()
        .ok_or_else(|| ScimError::InvalidSyntax("the request body must be a JSON object".into()))?;
    if let Some(schemas) = member(body, "schemas") {
        for schema in array(schemas, "schemas")? {
            let known = schema.as_str().is_some_and(|s| {
                s.eq_ignore_ascii_case(USER_SCHEMA) || s.eq_ignore_ascii_case(ENTERPRISE_SCHEMA)
            });
            if !known {
                return Err(ScimError::InvalidValue(format!("unknown schema {schema} for a User")));
            }
        }
    }
    let Some(user_name) = string(body, "userName", "userName")?.filter(|n| !n.trim().is_empty()) else {
        return Err(ScimError::InvalidValue("userName is required (RFC 7643 §4.1.1)".into()));
    };
    let mut user = User::new(user_name);
    user.external_id = string(body, "externalId", "externalId")?;
    if let Some(name) = member(body, "name").filter(|v| !v.is_null()) {
        let name = object(name, "name")?;
        user.name.formatted = string(name, "formatted", "name.formatted")?;
        user.name.family_name = string(name, "familyName", "name.familyName")?;
        user.name.given_name = string(name, "givenName", "name.givenName")?;
        user.name.middle_name = string(name, "middleName", "name.middleName")?;
        user.name.honorific_prefix = string(name, "honorificPrefix", "name.honorificPrefix")?;
        user.name.honorific_suffix = string(name, "honorificSuffix", "name.honorificSuffix")?;
    }
    user.display_name = string(body, "displayName", "displayName")?;
    user.nick_name = string(body, "nickName", "nickName")?;
    user.profile_url = string(body, "profileUrl", "profileUrl")?;
    user.title = string(body, "title", "title")?;
    user.user_type = string(body, "userType", "userType")?;
    user.preferred_language = string(body, "preferredLanguage", "preferredLanguage")?;
    user.locale = string(body, "locale", "locale")?;
    user.timezone = string(body, "timezone", "timezone")?;
    user.active = match member(body, "active") {
        None | Some(Value::Null) => true,
        Some(value) => boolean(value, "active")?,
    };
    for kind in ValueKind::ALL {
        let name = kind.as_str();
        if let Some(values) = member(body, name).filter(|v| !v.is_null()) {
            let parsed = array(values, name)?
                .iter()
                .map(|item| multi_value(item, name))
                .collect::<Result<Vec<_>, _>>()?;
            check_one_primary(parsed.iter().filter(|v| v.primary).count(), name)?;
            *user.values_mut(kind) = parsed;
        }
    }
    if let Some(addresses) = member(body, "addresses").filter(|v| !v.is_null()) {
        user.addresses = array(addresses, "addresses")?.iter().map(address).collect::<Result<_, _>>()?;
        check_one_primary(user.addresses.iter().filter(|a| a.primary).count(), "addresses")?;
    }
    if let Some(enterprise) = member(body, ENTERPRISE_SCHEMA).filter(|v| !v.is_null()) {
        let e = object(enterprise, ENTERPRISE_SCHEMA)?;
        user.enterprise.employee_number = string(e, "employeeNumber", "employeeNumber")?;
        user.enterprise.cost_center = string(e, "costCenter", "costCenter")?;
        user.enterprise.organization = string(e, "organization", "organization")?;
        user.enterprise.division = string(e, "division", "division")?;
        user.enterprise.department = string(e, "department", "department")?;
        user.enterprise.manager_id = match member(e, "manager") {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) if !id.is_empty() => Some(id.clone()),
            Some(Value::String(_)) => None,
            Some(manager) => string(object(manager, "manager")?, "value", "manager.value")?,
        };
    }
    let password = match member(body, "password") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) if !p.is_empty() => Some(p.clone()),
        Some(_) => return Err(ScimError::InvalidValue("`password` must be a non-empty string".into())),
    };
    Ok(UserInput { user, password })
}
