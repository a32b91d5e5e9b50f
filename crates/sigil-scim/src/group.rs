//! The SCIM Group resource (RFC 7643 §4.2) as JSON, and a Group received
//! in a POST or PUT body.
//!
//! Members are users or groups (nested); a member's `type` says which, and
//! when a client leaves it out the id decides. Microsoft Entra ID's own
//! schema URI in `schemas` is accepted beside the core one.

use serde_json::{Map, Value, json};
use sigil_store::groups::{Group, Member, NamedMember};
use sigil_store::roles::Role;
use sigil_store::{AnyConnection, groups};

use crate::ScimError;
use crate::filter::GROUP_SCHEMA;
use crate::user::{date_time, etag};

/// Sigil's extension of the Group resource: the application roles granted
/// to the group (its members, nested ones too, hold them). Read-only: roles
/// are granted through the admin API or `sigil role grant`.
pub const GROUP_ROLES_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:sigil:2.0:Group";

/// Schemas Microsoft Entra ID puts beside the core Group schema.
const TOLERATED_SCHEMAS: &[&str] =
    &["http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"];

/// Where PATCH finds the attributes of a Group.
pub(crate) fn patch_layout() -> crate::patch::Layout<'static> {
    crate::patch::Layout {
        schema: crate::filter::group_schema(),
        extensions: &[(GROUP_ROLES_SCHEMA, &["roles"])],
        read_only: &["id", "meta", "schemas"],
    }
}

/// Renders `group` with its direct `members` and the application `roles`
/// granted to it; `base` is the service's base URL.
pub fn render(group: &Group, members: &[NamedMember], roles: &[Role], base: &str) -> Value {
    let mut object = Map::new();
    if roles.is_empty() {
        object.insert("schemas".into(), json!([GROUP_SCHEMA]));
    } else {
        object.insert("schemas".into(), json!([GROUP_SCHEMA, GROUP_ROLES_SCHEMA]));
        let roles: Vec<Value> = roles.iter().map(crate::user::application_role).collect();
        object.insert(GROUP_ROLES_SCHEMA.into(), json!({ "roles": roles }));
    }
    object.insert("id".into(), json!(group.id));
    if let Some(external_id) = &group.external_id {
        object.insert("externalId".into(), json!(external_id));
    }
    object.insert("displayName".into(), json!(group.display_name));
    if !members.is_empty() {
        // Built field by field rather than with `json!`: a group may have
        // tens of thousands of members, each one object.
        let list: Vec<Value> = members
            .iter()
            .map(|m| {
                let (kind, endpoint) = match &m.member {
                    Member::User(_) => ("User", "Users"),
                    Member::Group(_) => ("Group", "Groups"),
                };
                let id = m.member.id();
                let mut item = Map::with_capacity(4);
                item.insert("value".into(), Value::String(id.to_owned()));
                item.insert("$ref".into(), Value::String(format!("{base}/{endpoint}/{id}")));
                item.insert("display".into(), Value::String(m.display.clone()));
                item.insert("type".into(), Value::String(kind.to_owned()));
                Value::Object(item)
            })
            .collect();
        object.insert("members".into(), Value::Array(list));
    }
    object.insert(
        "meta".into(),
        json!({
            "resourceType": "Group",
            "created": date_time(group.meta.created),
            "lastModified": date_time(group.meta.last_modified),
            "location": format!("{base}/Groups/{}", group.id),
            "version": etag(group.meta.version),
        }),
    );
    Value::Object(object)
}

/// A member as a client named it: its id and, maybe, its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MemberRef {
    pub(crate) id: String,
    pub(crate) kind: Option<MemberKind>,
}

/// `members.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MemberKind {
    User,
    Group,
}

/// A Group from a request body.
#[derive(Debug, Clone)]
pub(crate) struct GroupInput {
    pub(crate) display_name: String,
    pub(crate) external_id: Option<String>,
    pub(crate) members: Vec<MemberRef>,
}

fn member<'v>(object: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    object.get(name).or_else(|| object.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

/// One `members` value: `{value, type?, $ref?, display?}`; `$ref` may be
/// null (Okta), `display` is ignored (it is computed).
pub(crate) fn member_ref(item: &Value) -> Result<MemberRef, ScimError> {
    let Some(item) = item.as_object() else {
        return Err(ScimError::InvalidValue("each member must be an object with a `value`".into()));
    };
    let Some(Value::String(id)) = member(item, "value") else {
        return Err(ScimError::InvalidValue("each member needs a string `value`".into()));
    };
    let kind = match member(item, "type") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) if t.eq_ignore_ascii_case("user") => Some(MemberKind::User),
        Some(Value::String(t)) if t.eq_ignore_ascii_case("group") => Some(MemberKind::Group),
        Some(other) => {
            return Err(ScimError::InvalidValue(format!("member type {other} is neither User nor Group")));
        }
    };
    Ok(MemberRef { id: id.clone(), kind })
}

/// Reads a full Group resource (POST, PUT).
pub(crate) fn parse(body: &Value) -> Result<GroupInput, ScimError> {
    let Some(body) = body.as_object() else {
        return Err(ScimError::InvalidSyntax("the request body must be a JSON object".into()));
    };
    if let Some(schemas) = member(body, "schemas") {
        let Some(schemas) = schemas.as_array() else {
            return Err(ScimError::InvalidValue("`schemas` must be an array".into()));
        };
        for schema in schemas {
            let known = schema.as_str().is_some_and(|s| {
                s.eq_ignore_ascii_case(GROUP_SCHEMA)
                    || s.eq_ignore_ascii_case(GROUP_ROLES_SCHEMA)
                    || TOLERATED_SCHEMAS.iter().any(|t| t.eq_ignore_ascii_case(s))
            });
            if !known {
                return Err(ScimError::InvalidValue(format!("unknown schema {schema} for a Group")));
            }
        }
    }
    let display_name = match member(body, "displayName") {
        Some(Value::String(name)) if !name.trim().is_empty() => name.clone(),
        _ => return Err(ScimError::InvalidValue("displayName is required (RFC 7643 §4.2)".into())),
    };
    let external_id = match member(body, "externalId") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) => Some(id.clone()),
        Some(_) => return Err(ScimError::InvalidValue("`externalId` must be a string".into())),
    };
    let members = match member(body, "members") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(member_ref).collect::<Result<_, _>>()?,
        Some(_) => return Err(ScimError::InvalidValue("`members` must be an array".into())),
    };
    Ok(GroupInput { display_name, external_id, members })
}

/// The stored members `references` name, in order: each by its type if
/// given, else as whichever kind of resource has that id (a user first).
/// Two queries per thousand references; the first that names nothing is
/// RFC 7644 §3.12's `invalidValue`.
pub(crate) fn resolve_members(
    conn: &mut AnyConnection,
    references: &[&MemberRef],
) -> Result<Vec<Member>, ScimError> {
    let ids: Vec<&str> = references.iter().map(|r| r.id.as_str()).collect();
    let existing = groups::existing_ids(conn, &ids)?;
    references
        .iter()
        .map(|reference| {
            let (user, group) =
                (existing.users.contains(&reference.id), existing.groups.contains(&reference.id));
            let member = match reference.kind {
                Some(MemberKind::User) if user => Some(Member::User(reference.id.clone())),
                Some(MemberKind::Group) if group => Some(Member::Group(reference.id.clone())),
                Some(_) => None,
                None if user => Some(Member::User(reference.id.clone())),
                None if group => Some(Member::Group(reference.id.clone())),
                None => None,
            };
            member.ok_or_else(|| {
                ScimError::InvalidValue(format!("no user or group has the id `{}`", reference.id))
            })
        })
        .collect()
}
