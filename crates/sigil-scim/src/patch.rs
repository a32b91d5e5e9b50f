//! PATCH (RFC 7644 §3.5.2): `add`, `remove` and `replace` operations
//! applied to a resource's JSON, all of them or none.
//!
//! The operations run on the resource as the client sees it; the result is
//! then read back through the same checks as a PUT body, so a PATCH can
//! never store what a PUT could not. What real clients send is forgiven:
//! operation names in any letter case (`Replace`), a path-less `value`
//! whose keys are dotted (`name.givenName`) or URN-qualified
//! (`urn:...:enterprise:2.0:User:department`), `id` or `meta` inside such a
//! value (ignored), adding a value that is already there, removing values
//! by `path: "members"` with a `value` array, and `add`/`replace` through a
//! filter like `emails[type eq "work"].value` when no value matches yet
//! (a value of that type is created, as Microsoft Entra ID expects).

use scim_filter_parser::{AttrPath, CompareOp, CompareValue, Filter, Matcher, PatchPath, Schema, parse_path};
use serde_json::{Map, Value};

use crate::ScimError;
use crate::group::{MemberRef, member_ref};

/// A PATCH operation's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Remove,
    Replace,
}

/// Where the resource keeps the attributes of a schema.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout<'a> {
    /// The schema the paths are resolved in.
    pub(crate) schema: &'a Schema,
    /// The extension schemas, whose attributes sit in an object under the
    /// schema's URN; with the names of their attributes.
    pub(crate) extensions: &'a [(&'a str, &'a [&'a str])],
    /// Attributes clients may not write (`id`, `meta`, computed ones).
    pub(crate) read_only: &'a [&'a str],
}

/// Where an operation points.
#[derive(Debug)]
enum Place {
    /// An attribute path (RFC 7644 §3.10).
    Path(PatchPath),
    /// A whole extension, named by its URN alone: not in the RFC's path
    /// grammar, but sent by clients (and scim2-tester) for extension objects.
    Extension(String),
}

/// One operation: what, where, with which value.
type Operation = (Op, Option<Place>, Option<Value>);

/// The message body of a PATCH request, checked.
fn operations(body: &Value, layout: Layout<'_>) -> Result<Vec<Operation>, ScimError> {
    let Some(body) = body.as_object() else {
        return Err(ScimError::InvalidSyntax("a PATCH body must be a JSON object".into()));
    };
    let declared = body.get("schemas").and_then(Value::as_array).is_some_and(|s| {
        s.iter().any(|v| {
            v.as_str()
                .is_some_and(|v| v.eq_ignore_ascii_case("urn:ietf:params:scim:api:messages:2.0:PatchOp"))
        })
    });
    if !declared {
        return Err(ScimError::InvalidSyntax("a PATCH body must declare the PatchOp schema".into()));
    }
    let Some(list) =
        body.iter().find(|(k, _)| k.eq_ignore_ascii_case("Operations")).and_then(|(_, v)| v.as_array())
    else {
        return Err(ScimError::InvalidSyntax("a PATCH body needs an `Operations` array".into()));
    };
    list.iter()
        .map(|operation| {
            let Some(operation) = operation.as_object() else {
                return Err(ScimError::InvalidSyntax("each operation must be an object".into()));
            };
            let field =
                |name: &str| operation.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v);
            let op = match field("op").and_then(Value::as_str).map(str::to_ascii_lowercase).as_deref() {
                Some("add") => Op::Add,
                Some("remove") => Op::Remove,
                Some("replace") => Op::Replace,
                other => {
                    return Err(ScimError::InvalidSyntax(format!(
                        "op must be add, remove or replace, not {}",
                        other.unwrap_or("missing")
                    )));
                }
            };
            let path = match field("path") {
                None | Some(Value::Null) => None,
                Some(Value::String(p)) if p.trim().is_empty() => None,
                Some(Value::String(p)) => {
                    match layout.extensions.iter().find(|(urn, _)| urn.eq_ignore_ascii_case(p.trim())) {
                        Some((urn, _)) => Some(Place::Extension((*urn).to_owned())),
                        None => {
                            Some(Place::Path(parse_path(p).map_err(|e| ScimError::InvalidPath(e.detail()))?))
                        }
                    }
                }
                Some(_) => return Err(ScimError::InvalidPath("path must be a string".into())),
            };
            let value = field("value").cloned();
            if op == Op::Remove && path.is_none() {
                return Err(ScimError::NoTarget("remove needs a path (RFC 7644 §3.5.2.2)".into()));
            }
            if op != Op::Remove && value.is_none() {
                return Err(ScimError::InvalidValue("add and replace need a value".into()));
            }
            Ok((op, path, value))
        })
        .collect()
}

/// Applies the PATCH `body` to `resource` in memory.
pub(crate) fn apply(resource: &mut Value, layout: Layout<'_>, body: &Value) -> Result<(), ScimError> {
    for (op, path, value) in operations(body, layout)? {
        match path {
            Some(Place::Path(path)) => apply_at(resource, layout, op, &path, value.as_ref())?,
            Some(Place::Extension(urn)) => {
                // The extension object as a whole: remove drops it, replace
                // starts it afresh, add merges into it.
                if matches!(op, Op::Remove | Op::Replace)
                    && let Some(root) = resource.as_object_mut()
                {
                    root.retain(|k, _| !k.eq_ignore_ascii_case(&urn));
                }
                if op != Op::Remove {
                    let Some(Value::Object(members)) = value else {
                        return Err(ScimError::InvalidValue(format!(
                            "the value for `{urn}` must be an object"
                        )));
                    };
                    for (key, value) in members {
                        if !key.eq_ignore_ascii_case("schemas") {
                            apply_key(resource, layout, op, &format!("{urn}:{key}"), value)?;
                        }
                    }
                }
            }
            None => {
                // RFC 7644 §3.5.2.1/3: without a path, the value is a set of
                // attributes; each key is applied as if it were a path.
                let Some(Value::Object(members)) = value else {
                    return Err(ScimError::InvalidValue(
                        "without a path, the value must be an object".into(),
                    ));
                };
                for (key, value) in members {
                    apply_key(resource, layout, op, &key, value)?;
                }
            }
        }
    }
    Ok(())
}

/// Keys of a path-less value that are ignored, whatever the resource.
const IGNORED_KEYS: [&str; 3] = ["id", "meta", "schemas"];

/// One operation of a PATCH that only adds or removes members of a group
/// named by id: what [`apply`] would do to the `members` list, told
/// without the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MemberChange {
    /// `add` to `members` (§3.5.2.1): each member not there yet at this
    /// point is appended, in order.
    Add(Vec<MemberRef>),
    /// `remove` of `members[value eq "id"]` (§3.5.2.2): the member goes;
    /// when it is not there at this point, the PATCH fails with
    /// `noTarget` and this detail, as [`apply`] words it.
    RemoveMatching {
        /// The member's id.
        id: String,
        /// The `noTarget` detail.
        no_target: String,
    },
    /// `remove` of `members` with a list of values (Entra ID without its
    /// compliance flag): those that are members go, the others are ignored.
    RemoveValues(Vec<String>),
}

/// What `body` does to a group, when every operation only adds or removes
/// members named by id (`add` with path `members`, a path-less `add` of
/// `members` alone, `remove` of `members[value eq "id"]`, `remove` of
/// `members` with values). `None` for any other body, and for one whose
/// operations [`apply`] would refuse or a member value it would not read
/// back: those take the path through [`apply`], which reaches the outcome
/// itself. A body given here has the same outcome either way.
pub(crate) fn member_changes(body: &Value, layout: Layout<'_>) -> Option<Vec<MemberChange>> {
    let list = operations(body, layout).ok()?;
    if list.is_empty() {
        return None;
    }
    let mut changes = Vec::with_capacity(list.len());
    for (op, place, value) in list {
        match (op, place, value) {
            (Op::Add, None, Some(Value::Object(attributes))) => {
                for (key, value) in attributes {
                    if IGNORED_KEYS.iter().any(|k| k.eq_ignore_ascii_case(&key)) {
                        continue;
                    }
                    let path = parse_path(&key).ok()?;
                    if path.filter.is_some() || !names_members(layout, &path) {
                        return None;
                    }
                    changes.push(MemberChange::Add(added(&value)?));
                }
            }
            (op, Some(Place::Path(path)), value) if names_members(layout, &path) => {
                match (op, &path.filter, value) {
                    (Op::Add, None, Some(value)) => changes.push(MemberChange::Add(added(&value)?)),
                    (Op::Remove, None, Some(value)) => {
                        changes.push(MemberChange::RemoveValues(removed(&value)?));
                    }
                    // A value beside a filter is ignored by `apply` too.
                    (Op::Remove, Some(filter), _) => changes.push(MemberChange::RemoveMatching {
                        id: value_equal_to(filter)?,
                        no_target: format!("no value of `{}` matches `{filter}`", path.attr),
                    }),
                    _ => return None,
                }
            }
            _ => return None,
        }
    }
    Some(changes)
}

/// Whether `path` is `members` itself (maybe with a filter), not one of
/// its sub-attributes.
fn names_members(layout: Layout<'_>, path: &PatchPath) -> bool {
    resolve(layout, path).is_ok_and(|target| {
        target.name == "members" && target.multi && target.extension.is_none() && target.sub.is_none()
    })
}

/// The members an `add` names, when `apply` would compare each by its
/// `value` alone (so a member already there, or named twice, is skipped
/// whatever else its value says) and read each back.
fn added(value: &Value) -> Option<Vec<MemberRef>> {
    listed(value)?
        .iter()
        .map(|item| {
            item.get("value").filter(|v| v.is_string())?;
            member_ref(item).ok()
        })
        .collect()
}

/// The ids a `remove` with values names, when each is compared by its
/// `value` alone.
fn removed(value: &Value) -> Option<Vec<String>> {
    listed(value)?.iter().map(|item| item.get("value")?.as_str().map(str::to_owned)).collect()
}

/// The values of an operation on `members`, as [`values_of`] takes them;
/// `None` for a `null` or a single value that is not an object.
fn listed(value: &Value) -> Option<Vec<Value>> {
    match value {
        Value::Array(items) => Some(items.clone()),
        Value::Object(_) => Some(vec![value.clone()]),
        _ => None,
    }
}

/// `id` in a filter `value eq "id"` (the `value` sub-attribute of members
/// is case-exact, so the filter matches that id alone).
fn value_equal_to(filter: &Filter) -> Option<String> {
    match filter {
        Filter::Compare { path, op: CompareOp::Eq, value: CompareValue::String(id) }
            if path.urn.is_none()
                && path.sub_attr.is_none()
                && path.name.as_str().eq_ignore_ascii_case("value") =>
        {
            Some(id.clone())
        }
        _ => None,
    }
}

fn apply_key(
    resource: &mut Value,
    layout: Layout<'_>,
    op: Op,
    key: &str,
    value: Value,
) -> Result<(), ScimError> {
    if IGNORED_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key)) {
        return Ok(());
    }
    // An extension's object: apply each of its members under its URN.
    if let Some((urn, _)) = layout.extensions.iter().find(|(urn, _)| urn.eq_ignore_ascii_case(key)) {
        let Value::Object(members) = value else {
            return Err(ScimError::InvalidValue(format!("`{key}` must be an object")));
        };
        for (name, value) in members {
            apply_key(resource, layout, op, &format!("{urn}:{name}"), value)?;
        }
        return Ok(());
    }
    let path = parse_path(key).map_err(|e| ScimError::InvalidPath(format!("`{key}`: {}", e.detail())))?;
    apply_at(resource, layout, op, &path, Some(&value))
}

/// A path resolved against the layout.
struct Target {
    /// The URN of the extension object holding the attribute, if any.
    extension: Option<String>,
    name: String,
    multi: bool,
    sub: Option<String>,
}

fn resolve(layout: Layout<'_>, path: &PatchPath) -> Result<Target, ScimError> {
    let not_found = || ScimError::InvalidPath(format!("`{path}` names no attribute of this resource"));
    let (attr, sub) = layout.schema.find(&path.attr).ok_or_else(not_found)?;
    if layout.read_only.iter().any(|r| r.eq_ignore_ascii_case(&attr.name)) {
        return Err(ScimError::Mutability(format!("`{}` is read-only", attr.name)));
    }
    let extension = layout
        .extensions
        .iter()
        .find(|(urn, names)| {
            names.iter().any(|n| n.eq_ignore_ascii_case(&attr.name))
                && path.attr.urn.as_ref().is_none_or(|u| u.as_str().eq_ignore_ascii_case(urn))
        })
        .map(|(urn, _)| (*urn).to_owned());
    let sub = match (&path.sub_attr, sub) {
        (Some(s), _) => Some(attr.sub_attribute(s.as_str()).map(|a| a.name.clone()).ok_or_else(not_found)?),
        (None, Some(s)) => Some(s.name.clone()),
        (None, None) => None,
    };
    Ok(Target { extension, name: attr.name.clone(), multi: attr.multi_valued, sub })
}

/// The object that holds the target attribute, created on demand.
fn container<'r>(
    resource: &'r mut Value,
    target: &Target,
    create: bool,
) -> Option<&'r mut Map<String, Value>> {
    let root = resource.as_object_mut()?;
    match &target.extension {
        None => Some(root),
        Some(urn) => {
            if create && !root.contains_key(urn) {
                root.insert(urn.clone(), Value::Object(Map::new()));
            }
            root.get_mut(urn)?.as_object_mut()
        }
    }
}

fn values_of(value: Option<&Value>) -> Vec<Value> {
    match value {
        Some(Value::Array(items)) => items.clone(),
        Some(Value::Null) | None => Vec::new(),
        Some(one) => vec![one.clone()],
    }
}

fn same_value(a: &Value, b: &Value) -> bool {
    match (a.get("value"), b.get("value")) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn apply_at(
    resource: &mut Value,
    layout: Layout<'_>,
    op: Op,
    path: &PatchPath,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let target = resolve(layout, path)?;
    if let Some(filter) = &path.filter {
        return apply_filtered(resource, layout, op, &target, &path.attr, filter, value);
    }
    let Some(object) = container(resource, &target, op != Op::Remove) else {
        return Ok(());
    };
    let current = object.iter().find(|(k, _)| k.eq_ignore_ascii_case(&target.name)).map(|(k, _)| k.clone());
    let key = current.unwrap_or_else(|| target.name.clone());
    match (op, target.multi, &target.sub) {
        // A sub-attribute of a single complex attribute (`name.givenName`).
        (Op::Remove, false, Some(sub)) => {
            if let Some(Value::Object(inner)) = object.get_mut(&key) {
                inner.retain(|k, _| !k.eq_ignore_ascii_case(sub));
            }
        }
        (_, false, Some(sub)) => {
            let entry = object.entry(key).or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            if let Some(inner) = entry.as_object_mut() {
                inner.retain(|k, _| !k.eq_ignore_ascii_case(sub));
                inner.insert(sub.clone(), value.cloned().unwrap_or(Value::Null));
            }
        }
        // A sub-attribute of every value of a multi-valued attribute.
        (op, true, Some(sub)) => {
            if let Some(Value::Array(items)) = object.get_mut(&key) {
                for item in items.iter_mut().filter_map(Value::as_object_mut) {
                    item.retain(|k, _| !k.eq_ignore_ascii_case(sub));
                    if op != Op::Remove {
                        item.insert(sub.clone(), value.cloned().unwrap_or(Value::Null));
                    }
                }
            }
        }
        // RFC 7644 §3.5.2.2; `remove` with a value removes those values only
        // (what Entra ID without its compliance flag and authentik send).
        (Op::Remove, true, None) if value.is_some() => {
            let gone = values_of(value);
            if let Some(Value::Array(items)) = object.get_mut(&key) {
                items.retain(|item| !gone.iter().any(|g| same_value(item, g)));
            }
        }
        (Op::Remove, _, None) => {
            object.remove(&key);
        }
        // §3.5.2.1: add to a multi-valued attribute appends what is new.
        (Op::Add, true, None) => {
            let entry = object.entry(key).or_insert_with(|| Value::Array(Vec::new()));
            if !entry.is_array() {
                *entry = Value::Array(Vec::new());
            }
            if let Some(items) = entry.as_array_mut() {
                for new in values_of(value) {
                    if !items.iter().any(|item| same_value(item, &new)) {
                        items.push(new);
                    }
                }
            }
        }
        // §3.5.2.1: add to a complex attribute merges; to a simple one, sets.
        (Op::Add, false, None) => match (object.get_mut(&key), value) {
            (Some(Value::Object(existing)), Some(Value::Object(new))) => {
                for (k, v) in new {
                    existing.insert(k.clone(), v.clone());
                }
            }
            _ => {
                object.insert(key, value.cloned().unwrap_or(Value::Null));
            }
        },
        (Op::Replace, true, None) => {
            object.insert(key, Value::Array(values_of(value)));
        }
        (Op::Replace, false, None) => {
            object.insert(key, value.cloned().unwrap_or(Value::Null));
        }
    }
    Ok(())
}

/// `attr[filter]` and `attr[filter].sub`.
fn apply_filtered(
    resource: &mut Value,
    layout: Layout<'_>,
    op: Op,
    target: &Target,
    attr: &AttrPath,
    filter: &Filter,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    if !target.multi {
        return Err(ScimError::InvalidPath(format!(
            "`{}` is not multi-valued; it cannot be filtered",
            target.name
        )));
    }
    // Each value is tested as the resource `{attr: [value]}` against
    // `attr[filter]`, with the same evaluator as searches.
    let value_path = Filter::value_path(AttrPath::new(target.name.as_str()), filter.clone());
    let matcher = Matcher::new(&value_path, layout.schema).map_err(|e| ScimError::InvalidPath(e.detail()))?;
    let Some(object) = container(resource, target, op != Op::Remove) else {
        return Err(ScimError::NoTarget(format!("no value of `{attr}` matches")));
    };
    let key = object
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(&target.name))
        .map_or_else(|| target.name.clone(), |(k, _)| k.clone());
    let items = object.entry(key.clone()).or_insert_with(|| Value::Array(Vec::new()));
    let Some(items) = items.as_array_mut() else {
        return Err(ScimError::InvalidValue(format!("`{key}` is not an array")));
    };
    let matches: Vec<usize> = (0..items.len())
        .filter(|&i| {
            matcher.matches(&Value::Object(Map::from_iter([(
                target.name.clone(),
                Value::Array(vec![items[i].clone()]),
            )])))
        })
        .collect();
    if matches.is_empty() {
        // Entra ID and Okta set `emails[type eq "work"].value` on users who
        // have no work email yet: create the value the filter describes.
        if op != Op::Remove
            && let Some(mut created) = described_value(filter)
        {
            match (&target.sub, value) {
                (Some(sub), Some(v)) => {
                    created.insert(sub.clone(), v.clone());
                }
                (None, Some(Value::Object(v))) => created.extend(v.clone()),
                _ => return Err(ScimError::NoTarget(format!("no value of `{attr}` matches `{filter}`"))),
            }
            items.push(Value::Object(created));
            return Ok(());
        }
        return Err(ScimError::NoTarget(format!("no value of `{attr}` matches `{filter}`")));
    }
    match (op, &target.sub) {
        (Op::Remove, None) => {
            let mut index = 0;
            items.retain(|_| {
                let keep = !matches.contains(&index);
                index += 1;
                keep
            });
        }
        (Op::Remove, Some(sub)) => {
            for &i in &matches {
                if let Some(item) = items[i].as_object_mut() {
                    item.retain(|k, _| !k.eq_ignore_ascii_case(sub));
                }
            }
        }
        (_, Some(sub)) => {
            for &i in &matches {
                if let Some(item) = items[i].as_object_mut() {
                    item.retain(|k, _| !k.eq_ignore_ascii_case(sub));
                    item.insert(sub.clone(), value.cloned().unwrap_or(Value::Null));
                }
            }
        }
        (Op::Replace, None) => {
            for &i in &matches {
                items[i] = value.cloned().unwrap_or(Value::Null);
            }
        }
        (Op::Add, None) => {
            for &i in &matches {
                if let (Some(item), Some(Value::Object(new))) = (items[i].as_object_mut(), value) {
                    item.extend(new.clone());
                }
            }
        }
    }
    Ok(())
}

/// The value a filter made only of `sub eq "literal"` conjunctions
/// describes, such as `{"type": "work"}` for `type eq "work"`.
fn described_value(filter: &Filter) -> Option<Map<String, Value>> {
    match filter {
        Filter::Compare { path, op: CompareOp::Eq, value }
            if path.sub_attr.is_none() && path.urn.is_none() =>
        {
            let literal = match value {
                CompareValue::String(s) => Value::String(s.clone()),
                CompareValue::Bool(b) => Value::Bool(*b),
                _ => return None,
            };
            Some(Map::from_iter([(path.name.as_str().to_owned(), literal)]))
        }
        Filter::And(a, b) => {
            let mut left = described_value(a)?;
            left.extend(described_value(b)?);
            Some(left)
        }
        _ => None,
    }
}
