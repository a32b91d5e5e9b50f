//! `sigil group ...`: groups and their user members. Group names, like user
//! names, are compared regardless of letter case. Each command is one write
//! transaction; a refusal rolls it back.

use anyhow::{anyhow, bail};
use sigil_store::groups::{self, Group, Member};
use sigil_store::users::{self, User};
use sigil_store::{AnyConnection, StoreError, Unique, text};

use crate::cli::GroupMember;
use crate::commands::{open_store, print_table};
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

/// `sigil group list`.
pub(crate) fn list(config: &Config) -> anyhow::Result<()> {
    let store = open_store(config)?;
    let rows = store.read_blocking(|conn| {
        groups::list(conn, 0, i64::MAX)?
            .into_iter()
            .map(|group| {
                let members = groups::members(conn, &group.id)?
                    .into_iter()
                    .map(|member| match member {
                        Member::User(id) => users::get(conn, &id).map(|u| u.user_name),
                        Member::Group(id) => {
                            groups::get(conn, &id).map(|g| format!("group:{}", g.display_name))
                        }
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(vec![group.id, group.display_name, members.join(",")])
            })
            .collect::<Result<Vec<_>, StoreError>>()
    })?;
    print_table(&["ID", "NAME", "MEMBERS"], &rows);
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
