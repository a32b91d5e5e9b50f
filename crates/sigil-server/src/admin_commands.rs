//! `sigil admin ...`: who holds Sigil's built-in roles. The CLI needs no
//! token: whoever can run it on the machine already holds the store, so it
//! is also how the first platform operator is made.

use anyhow::{anyhow, bail};
use sigil_access::Role;
use sigil_store::admin_grants::{self, Grantee};
use sigil_store::{AnyConnection, StoreError, clients, groups, users};

use crate::cli::AdminGrant;
use serde_json::{Value, json};

use crate::cli::Output;
use crate::commands::{open_store, print_json, print_table};
use crate::config::Config;

/// The grantee `args` names, looked up by name.
fn grantee(conn: &mut AnyConnection, args: &AdminGrant) -> Result<Grantee, StoreError> {
    let missing = |what: &str, name: &str| StoreError::Invalid(format!("there is no {what} `{name}`"));
    match (&args.user, &args.group, &args.client) {
        (Some(user), _, _) => users::find_by_user_name(conn, user)?
            .map(|u| Grantee::User(u.id))
            .ok_or_else(|| missing("user", user)),
        (_, Some(group), _) => groups::find_by_display_name(conn, group)?
            .map(|g| Grantee::Group(g.id))
            .ok_or_else(|| missing("group", group)),
        (_, _, Some(client)) => match clients::get(conn, client) {
            Ok(c) => Ok(Grantee::Client(c.id)),
            Err(StoreError::NotFound) => Err(missing("client", client)),
            Err(other) => Err(other),
        },
        _ => Err(StoreError::Invalid("name --user, --group or --client".into())),
    }
}

fn who(args: &AdminGrant) -> String {
    match (&args.user, &args.group, &args.client) {
        (Some(user), _, _) => format!("user {user}"),
        (_, Some(group), _) => format!("group {group}"),
        (_, _, Some(client)) => format!("client {client}"),
        _ => String::new(),
    }
}

/// `sigil admin grant`.
pub(crate) fn grant(config: &Config, args: AdminGrant) -> anyhow::Result<()> {
    let role: Role = args.role.parse().map_err(|e: String| anyhow!(e))?;
    let store = open_store(config)?;
    let now = store.now();
    let shown = who(&args);
    let new = store.write_blocking(move |c| {
        let grantee = grantee(c, &args)?;
        admin_grants::grant(c, role.as_str(), &grantee, now)
    })?;
    if new {
        println!("granted {role} to {shown}");
    } else {
        println!("{shown} already holds {role}");
    }
    Ok(())
}

/// `sigil admin revoke`.
pub(crate) fn revoke(config: &Config, args: AdminGrant) -> anyhow::Result<()> {
    let role: Role = args.role.parse().map_err(|e: String| anyhow!(e))?;
    let store = open_store(config)?;
    let shown = who(&args);
    let removed = store.write_blocking(move |c| {
        let grantee = grantee(c, &args)?;
        admin_grants::revoke(c, role.as_str(), &grantee)
    })?;
    if !removed {
        bail!("{shown} does not hold {role}");
    }
    println!("revoked {role} from {shown}");
    Ok(())
}

/// `sigil admin list`.
pub(crate) fn list(config: &Config, output: Output) -> anyhow::Result<()> {
    let store = open_store(config)?;
    let rows: Vec<Vec<String>> = store
        .read_blocking(admin_grants::list)?
        .into_iter()
        .map(|g| {
            let (kind, id) = match g.grantee {
                Grantee::User(id) => ("user", id),
                Grantee::Group(id) => ("group", id),
                Grantee::Client(id) => ("client", id),
            };
            vec![g.role, kind.to_owned(), g.grantee_name, id]
        })
        .collect();
    if output.json {
        let shown = rows.iter().map(|r| json!({"role": r[0], "kind": r[1], "name": r[2], "id": r[3]}));
        return print_json(&Value::Array(shown.collect()));
    }
    print_table(&["ROLE", "KIND", "NAME", "ID"], &rows);
    Ok(())
}
