//! `sigil role ...`: roles that applications define, granted to users and
//! groups. Members of a group hold its roles, through nested groups too;
//! tokens whose audience is the application carry them in `roles`.

use anyhow::{Context, bail};
use sigil_store::roles::{self, Holder};
use sigil_store::{StoreError, Unique, clients, groups, users};

use serde_json::{Value, json};

use crate::cli::{Output, RoleGrant, RoleName};
use crate::commands::{open_store, print_json, print_table};
use crate::config::Config;

/// `sigil role add`.
pub(crate) fn add(config: &Config, args: &RoleName, description: Option<&str>) -> anyhow::Result<()> {
    let store = open_store(config)?;
    let now = store.now();
    let (client, name, description) =
        (args.client.clone(), args.name.clone(), description.map(str::to_owned));
    let added = store.write_blocking(move |c| {
        clients::get(c, &client)?;
        roles::define(c, &client, &name, description.as_deref(), now)
    });
    match added {
        Ok(role) => println!("added role {} to {}", role.name, role.client_id),
        Err(StoreError::NotFound) => bail!("there is no client `{}`", args.client),
        Err(StoreError::Conflict(Unique::RoleName)) => {
            bail!("{} already has a role `{}`", args.client, args.name)
        }
        Err(other) => return Err(other).context("cannot add the role"),
    }
    Ok(())
}

/// `sigil role remove`.
pub(crate) fn remove(config: &Config, args: &RoleName) -> anyhow::Result<()> {
    let store = open_store(config)?;
    let (client, name) = (args.client.clone(), args.name.clone());
    if !store.write_blocking(move |c| roles::remove(c, &client, &name))? {
        bail!("{} has no role `{}`", args.client, args.name);
    }
    println!("removed role {} from {}", args.name, args.client);
    Ok(())
}

/// The holder a grant names: a user by user name, or a group by name.
fn holder(conn: &mut sigil_store::AnyConnection, args: &RoleGrant) -> Result<Holder, StoreError> {
    match (&args.user, &args.group) {
        (Some(user), None) => users::find_by_user_name(conn, user)?
            .map(|u| Holder::User(u.id))
            .ok_or_else(|| StoreError::Invalid(format!("there is no user `{user}`"))),
        (None, Some(group)) => groups::find_by_display_name(conn, group)?
            .map(|g| Holder::Group(g.id))
            .ok_or_else(|| StoreError::Invalid(format!("there is no group `{group}`"))),
        _ => Err(StoreError::Invalid("name either --user or --group".into())),
    }
}

fn role_of(conn: &mut sigil_store::AnyConnection, args: &RoleName) -> Result<roles::Role, StoreError> {
    roles::get(conn, &args.client, &args.name).map_err(|e| match e {
        StoreError::NotFound => StoreError::Invalid(format!("{} has no role `{}`", args.client, args.name)),
        other => other,
    })
}

/// `sigil role grant`.
pub(crate) fn grant(config: &Config, args: RoleGrant) -> anyhow::Result<()> {
    let store = open_store(config)?;
    let now = store.now();
    let shown = args.clone();
    store.write_blocking(move |c| {
        let role = role_of(c, &args.role)?;
        let holder = holder(c, &args)?;
        roles::grant(c, &role.id, &holder, now)
    })?;
    let who = shown
        .user
        .map_or_else(|| format!("group {}", shown.group.unwrap_or_default()), |u| format!("user {u}"));
    println!("granted {} of {} to {who}", shown.role.name, shown.role.client);
    Ok(())
}

/// `sigil role revoke`.
pub(crate) fn revoke(config: &Config, args: RoleGrant) -> anyhow::Result<()> {
    let store = open_store(config)?;
    let shown = args.clone();
    let removed = store.write_blocking(move |c| {
        let role = role_of(c, &args.role)?;
        let holder = holder(c, &args)?;
        let id = match &holder {
            Holder::User(id) | Holder::Group(id) => id.clone(),
        };
        roles::revoke(c, &role.id, &id)
    })?;
    if !removed {
        bail!("that role was not granted there");
    }
    println!("revoked {} of {}", shown.role.name, shown.role.client);
    Ok(())
}

/// `sigil role list`.
pub(crate) fn list(config: &Config, client: Option<&str>, output: Output) -> anyhow::Result<()> {
    let store = open_store(config)?;
    let client = client.map(str::to_owned);
    let listed = store.read_blocking(move |c| roles::list(c, client.as_deref()))?;
    if output.json {
        let shown = listed
            .iter()
            .map(|r| json!({"client": r.client_id, "name": r.name, "description": r.description}));
        return print_json(&Value::Array(shown.collect()));
    }
    let rows: Vec<Vec<String>> =
        listed.into_iter().map(|r| vec![r.client_id, r.name, r.description.unwrap_or_default()]).collect();
    print_table(&["CLIENT", "ROLE", "DESCRIPTION"], &rows);
    Ok(())
}
