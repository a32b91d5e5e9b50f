//! `sigil group ...`: groups and their user members. Group names, like user
//! names, are compared regardless of letter case. Each command is one write
//! transaction; a refusal rolls it back.

use anyhow::{anyhow, bail};
use sigil_store::groups::{self, Group, Member};
use sigil_store::users::{self, User};
use sigil_store::{AnyConnection, StoreError, Unique, text};

use serde_json::{Value, json};

use crate::cli::{GroupMember, Output};
use crate::commands::{open_store, print_json, print_table};
use crate::config::Config;

/// Reports a refusal (a missing group or user) as itself, anything else as
/// the store error it is.
fn refused(e: StoreError) -> anyhow::Error {
    match e {
        StoreError::Invalid(message) => anyhow!(message),
        other => anyhow!(other),
    }
}

fn group_named(conn: &mut AnyConnection, name: &str) -> Result<Group, StoreError> {
    groups::find_by_display_name(conn, name)?
        .ok_or_else(|| StoreError::Invalid(format!("there is no group `{name}`")))
}

fn user_named(conn: &mut AnyConnection, name: &str) -> Result<User, StoreError> {
    users::find_by_user_name(conn, name)?
        .ok_or_else(|| StoreError::Invalid(format!("there is no user `{name}`")))
}

/// `sigil group add`.
pub(crate) fn add(config: &Config, name: &str) -> anyhow::Result<()> {
    text::check_name("group name", name).map_err(|e| anyhow!(e))?;
    let store = open_store(config)?;
    let now = store.now();
    let group = Group::new(name);
    match store.write_blocking(move |conn| groups::insert(conn, group, now)) {
        Ok(group) => println!("created group {} ({})", group.display_name, group.id),
        Err(StoreError::Conflict(Unique::GroupDisplayName)) => {
            bail!("a group named `{name}` already exists (group names are compared regardless of case)")
        }
        Err(other) => return Err(refused(other)),
    }
    Ok(())
}

/// A group's direct members: user names, and names of member groups.
fn member_names(conn: &mut AnyConnection, group: &Group) -> Result<(Vec<String>, Vec<String>), StoreError> {
    let (mut users_in, mut groups_in) = (Vec::new(), Vec::new());
    for member in groups::members(conn, &group.id)? {
        match member {
            Member::User(id) => users_in.push(users::get(conn, &id)?.user_name),
            Member::Group(id) => groups_in.push(groups::get(conn, &id)?.display_name),
        }
    }
    Ok((users_in, groups_in))
}

/// `sigil group list`.
pub(crate) fn list(config: &Config, output: Output) -> anyhow::Result<()> {
    let store = open_store(config)?;
    let listed = store.read_blocking(|conn| {
        groups::list(conn, 0, i64::MAX)?
            .into_iter()
            .map(|group| {
                let members = member_names(conn, &group)?;
                Ok((group, members))
            })
            .collect::<Result<Vec<_>, StoreError>>()
    })?;
    if output.json {
        let shown = listed.into_iter().map(|(group, (users_in, groups_in))| {
            json!({"id": group.id, "name": group.display_name, "users": users_in, "groups": groups_in})
        });
        return print_json(&Value::Array(shown.collect()));
    }
    let rows: Vec<Vec<String>> = listed
        .into_iter()
        .map(|(group, (users_in, groups_in))| {
            let members = users_in.into_iter().chain(groups_in.into_iter().map(|g| format!("group:{g}")));
            vec![group.id, group.display_name, members.collect::<Vec<_>>().join(",")]
        })
        .collect();
    print_table(&["ID", "NAME", "MEMBERS"], &rows);
    Ok(())
}

/// `sigil group show`: the group, its direct members and the groups it
/// is directly a member of.
pub(crate) fn show(config: &Config, name: &str, output: Output) -> anyhow::Result<()> {
    let store = open_store(config)?;
    let target = name.to_owned();
    let (group, (users_in, groups_in), parents) = store
        .read_blocking(move |conn| {
            let group = group_named(conn, &target)?;
            let members = member_names(conn, &group)?;
            let parents = groups::list(conn, 0, i64::MAX)?
                .into_iter()
                .filter_map(|other| match groups::members(conn, &other.id) {
                    Ok(members) => {
                        members.contains(&Member::Group(group.id.clone())).then_some(Ok(other.display_name))
                    }
                    Err(e) => Some(Err(e)),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((group, members, parents))
        })
        .map_err(refused)?;
    let shown = json!({
        "id": group.id,
        "name": group.display_name,
        "external_id": group.external_id,
        "users": users_in,
        "groups": groups_in,
        "member_of": parents,
        "created": crate::commands::time_text(group.meta.created),
        "last_modified": crate::commands::time_text(group.meta.last_modified),
    });
    if output.json {
        return print_json(&shown);
    }
    for key in ["id", "name", "external_id", "users", "groups", "member_of", "created", "last_modified"] {
        let text = match &shown[key] {
            Value::String(s) => s.clone(),
            Value::Array(items) => {
                items.iter().map(|i| i.as_str().unwrap_or_default()).collect::<Vec<_>>().join(",")
            }
            _ => String::new(),
        };
        println!("{:<15}{text}", format!("{}:", key.replace('_', " ")));
    }
    Ok(())
}

/// `sigil group remove`.
pub(crate) fn remove(config: &Config, name: &str) -> anyhow::Result<()> {
    let store = open_store(config)?;
    let now = store.now();
    let target = name.to_owned();
    let group = store
        .write_blocking(move |conn| {
            let group = group_named(conn, &target)?;
            groups::delete(conn, &group.id, now)?;
            Ok(group)
        })
        .map_err(refused)?;
    println!("removed group {} ({})", group.display_name, group.id);
    Ok(())
}

/// `sigil group member add`.
pub(crate) fn member_add(config: &Config, args: &GroupMember) -> anyhow::Result<()> {
    let store = open_store(config)?;
    let now = store.now();
    let (group_name, user_name) = (args.group.clone(), args.user.clone());
    let (group, user, added) = store
        .write_blocking(move |conn| {
            let group = group_named(conn, &group_name)?;
            let user = user_named(conn, &user_name)?;
            let added = groups::add_member(conn, &group.id, &Member::User(user.id.clone()), now)?;
            Ok((group, user, added))
        })
        .map_err(refused)?;
    if added {
        println!("added {} to group {}", user.user_name, group.display_name);
    } else {
        println!("{} is already a member of group {}", user.user_name, group.display_name);
    }
    Ok(())
}

/// `sigil group member remove`.
pub(crate) fn member_remove(config: &Config, args: &GroupMember) -> anyhow::Result<()> {
    let store = open_store(config)?;
    let now = store.now();
    let (group_name, user_name) = (args.group.clone(), args.user.clone());
    let (group, user) = store
        .write_blocking(move |conn| {
            let group = group_named(conn, &group_name)?;
            let user = user_named(conn, &user_name)?;
            if !groups::remove_member(conn, &group.id, &user.id, now)? {
                return Err(StoreError::Invalid(format!(
                    "`{}` is not a member of group `{}`",
                    user.user_name, group.display_name
                )));
            }
            Ok((group, user))
        })
        .map_err(refused)?;
    println!("removed {} from group {}", user.user_name, group.display_name);
    Ok(())
}
