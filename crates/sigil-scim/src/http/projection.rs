//! `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5 and §3.9):
//! which attributes of a resource a response carries. Attributes returned
//! `always` (`id`, `schemas`) stay whatever is asked.

use scim_filter_parser::parse_attr_path;
use serde_json::{Map, Value};

use crate::ScimError;

/// One attribute named in the parameter.
#[derive(Debug, Clone)]
struct Selector {
    /// The extension schema it belongs to; `None` for core attributes.
    extension: Option<String>,
    name: String,
    sub: Option<String>,
}

/// What a request asked to see.
#[derive(Debug, Clone, Default)]
pub(crate) struct Projection {
    include: Option<Vec<Selector>>,
    exclude: Vec<Selector>,
}

const ALWAYS: &[&str] = &["id", "schemas"];

fn selectors(list: &str, core_schemas: &[&str]) -> Result<Vec<Selector>, ScimError> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| {
            let path = parse_attr_path(item)
                .map_err(|e| ScimError::InvalidValue(format!("`{item}` is not an attribute path: {e}")))?;
            let extension = path
                .urn
                .as_ref()
                .map(|u| u.as_str().to_owned())
                .filter(|u| !core_schemas.iter().any(|c| c.eq_ignore_ascii_case(u)));
            Ok(Selector {
                extension,
                name: path.name.as_str().to_owned(),
                sub: path.sub_attr.as_ref().map(|s| s.as_str().to_owned()),
            })
        })
        .collect()
}

impl Projection {
    /// Reads the two parameters; `core_schemas` are the URNs whose
    /// attributes sit at the top level of the resource.
    pub(crate) fn new(
        attributes: Option<&str>,
        excluded: Option<&str>,
        core_schemas: &[&str],
    ) -> Result<Self, ScimError> {
        Ok(Self {
            include: attributes.map(|a| selectors(a, core_schemas)).transpose()?,
            exclude: excluded.map(|e| selectors(e, core_schemas)).transpose()?.unwrap_or_default(),
        })
    }

    /// `resource` with only what was asked for.
    pub(crate) fn apply(&self, resource: Value) -> Value {
        let Value::Object(object) = resource else { return resource };
        let mut out = Map::new();
        for (key, value) in object {
            if ALWAYS.contains(&key.as_str()) {
                out.insert(key, value);
                continue;
            }
            let is_extension = key.starts_with("urn:");
            let kept =
                if is_extension { self.extension(&key, value) } else { self.attribute(None, &key, value) };
            if let Some(kept) = kept {
                out.insert(key, kept);
            }
        }
        Value::Object(out)
    }

    /// Whether a response shows any of the core attribute `name` (so
    /// whether it is worth reading).
    pub(crate) fn keeps(&self, name: &str) -> bool {
        self.attribute(None, name, Value::Null).is_some()
    }

    fn matching<'s>(list: &'s [Selector], extension: Option<&str>, name: &str) -> Vec<&'s Selector> {
        list.iter()
            .filter(|s| {
                s.name.eq_ignore_ascii_case(name)
                    && match (s.extension.as_deref(), extension) {
                        (None, None) => true,
                        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                        // Extension attributes may be named without their URN.
                        (None, Some(_)) => true,
                        (Some(_), None) => false,
                    }
            })
            .collect()
    }

    /// An attribute (of the core schema, or inside `extension`).
    fn attribute(&self, extension: Option<&str>, name: &str, value: Value) -> Option<Value> {
        let value = match &self.include {
            None => value,
            Some(include) => {
                let chosen = Self::matching(include, extension, name);
                if chosen.is_empty() {
                    return None;
                }
                if chosen.iter().any(|s| s.sub.is_none()) {
                    value
                } else {
                    let subs: Vec<&str> = chosen.iter().filter_map(|s| s.sub.as_deref()).collect();
                    keep_subs(value, &subs)
                }
            }
        };
        let excluded = Self::matching(&self.exclude, extension, name);
        if excluded.iter().any(|s| s.sub.is_none()) {
            return None;
        }
        let subs: Vec<&str> = excluded.iter().filter_map(|s| s.sub.as_deref()).collect();
        Some(if subs.is_empty() { value } else { drop_subs(value, &subs) })
    }

    /// An extension object: its attributes one by one.
    fn extension(&self, urn: &str, value: Value) -> Option<Value> {
        let Value::Object(members) = value else { return Some(value) };
        let mut out = Map::new();
        for (name, value) in members {
            if let Some(kept) = self.attribute(Some(urn), &name, value) {
                out.insert(name, kept);
            }
        }
        (!out.is_empty()).then_some(Value::Object(out))
    }
}

fn each_object(value: Value, f: &dyn Fn(Map<String, Value>) -> Map<String, Value>) -> Value {
    match value {
        Value::Object(o) => Value::Object(f(o)),
        Value::Array(items) => Value::Array(items.into_iter().map(|v| each_object(v, f)).collect()),
        other => other,
    }
}

fn keep_subs(value: Value, subs: &[&str]) -> Value {
    each_object(value, &|o| {
        o.into_iter().filter(|(k, _)| subs.iter().any(|s| s.eq_ignore_ascii_case(k))).collect()
    })
}

fn drop_subs(value: Value, subs: &[&str]) -> Value {
    each_object(value, &|o| {
        o.into_iter().filter(|(k, _)| !subs.iter().any(|s| s.eq_ignore_ascii_case(k))).collect()
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const CORE: &[&str] = &["urn:ietf:params:scim:schemas:core:2.0:User"];
    const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    fn user() -> Value {
        json!({
            "schemas": ["s"], "id": "1", "userName": "bjensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "a@x", "type": "work"}, {"value": "b@x", "type": "home"}],
            ENT: {"department": "Tours", "costCenter": "4130"},
            "meta": {"version": "W/\"1\""},
        })
    }

    #[test]
    fn attributes_keeps_what_is_named_and_what_is_always_returned() {
        let p = Projection::new(Some("userName, name.givenName,emails.value"), None, CORE).unwrap();
        assert_eq!(
            p.apply(user()),
            json!({"schemas": ["s"], "id": "1", "userName": "bjensen", "name": {"givenName": "Barbara"},
                   "emails": [{"value": "a@x"}, {"value": "b@x"}]})
        );
        let p = Projection::new(Some(&format!("{ENT}:department")), None, CORE).unwrap();
        assert_eq!(p.apply(user()), json!({"schemas": ["s"], "id": "1", ENT: {"department": "Tours"}}));
        let p =
            Projection::new(Some("urn:ietf:params:scim:schemas:core:2.0:User:userName"), None, CORE).unwrap();
        assert_eq!(p.apply(user()), json!({"schemas": ["s"], "id": "1", "userName": "bjensen"}));
    }

    #[test]
    fn excluded_attributes_drops_what_is_named_but_never_id() {
        let p = Projection::new(None, Some("emails,name.familyName,id,meta,costCenter"), CORE).unwrap();
        assert_eq!(
            p.apply(user()),
            json!({"schemas": ["s"], "id": "1", "userName": "bjensen", "name": {"givenName": "Barbara"},
                   ENT: {"department": "Tours"}})
        );
    }

    #[test]
    fn keeps_tells_whether_an_attribute_is_shown_at_all() {
        let keeps = |attributes: Option<&str>, excluded: Option<&str>| {
            Projection::new(attributes, excluded, CORE).unwrap().keeps("members")
        };
        assert!(keeps(None, None));
        assert!(keeps(Some("members.value"), None));
        assert!(keeps(None, Some("members.display")));
        assert!(!keeps(None, Some("Members")));
        assert!(!keeps(Some("displayName"), None));
        assert!(!keeps(Some("members"), Some("members")));
    }

    #[test]
    fn malformed_paths_are_invalid_values() {
        assert!(matches!(Projection::new(Some("user name"), None, CORE), Err(ScimError::InvalidValue(_))));
    }
}
