//! Administrative commands: migrate, users, clients, keys. Each opens the
//! store (migrating it first, so a store an older release wrote works), does
//! one thing in one transaction, and prints the outcome on stdout. Only
//! `serve` and `migrate` create a SQLite database that is not there: any
//! other command refuses, so one run from the wrong directory does not
//! quietly work on a new empty `./sigil.db`.

use std::io::BufRead;

use anyhow::{Context, anyhow, bail};
use sigil_oidc::OidcError;
use sigil_oidc::clients::{Changes, Credentials, ExchangePolicy, Registration, register, update};
use sigil_oidc::keys::{DEFAULT_RETIRED_KEY_RETENTION, NextKey, SigningAlg, rotate};
use sigil_store::groups::{self, Member};
use sigil_store::secret::PlainSecret;
use sigil_store::users::{self, Address, MultiValue, User};
use sigil_store::{AnyConnection, DatabaseUrl, Store, StoreError, Unique, clients, keys, password, text};

use serde_json::{Value, json};

use crate::cli::{ClientAdd, ClientUpdate, Output, UserAdd, UserUpdate};
use crate::config::Config;

/// Opens the existing store named by the configuration and brings its
/// schema up to date; a SQLite file that is not there is refused, naming
/// the path it was looked for at.
pub(crate) fn open_store(config: &Config) -> anyhow::Result<Store> {
    if let DatabaseUrl::Sqlite(path) = &config.database_url
        && !path.exists()
    {
        let shown = std::path::absolute(path).unwrap_or_else(|_| path.clone());
        bail!(
            "there is no database at {} (`sigil migrate` or `sigil serve` creates one; set database.url or SIGIL_DATABASE_URL to use another)",
            shown.display()
        );
    }
    create_store(config)
}

/// Opens the store named by the configuration, creating a SQLite file
/// that is not there yet, and brings its schema up to date: for `serve`.
pub(crate) fn create_store(config: &Config) -> anyhow::Result<Store> {
    let store = Store::open(&config.database_url, &config.pool)?;
    let applied = store.migrate().context("cannot migrate the store")?;
    if !applied.is_empty() {
        tracing::info!(?applied, "applied migrations");
    }
    Ok(store)
}

pub(crate) fn migrate(config: &Config) -> anyhow::Result<()> {
    let store = Store::open(&config.database_url, &config.pool)?;
    let applied = store.migrate()?;
    if applied.is_empty() {
        println!("{} is up to date", store.url());
    } else {
        println!("applied {} migration(s) to {}: {}", applied.len(), store.url(), applied.join(", "));
    }
    Ok(())
}

pub(crate) fn user_add(config: &Config, args: UserAdd) -> anyhow::Result<()> {
    // Check everything that needs no database before touching it.
    text::check_name("username", &args.username).map_err(|e| anyhow!(e))?;
    for email in &args.emails {
        text::check_email(email).map_err(|e| anyhow!(e))?;
    }
    for group in &args.groups {
        text::check_name("group name", group).map_err(|e| anyhow!(e))?;
    }
    let password = match args.password {
        Some(password) => password,
        None => stdin_line("password")?,
    };
    config.passwords.check(&password, &args.username).map_err(|e| anyhow!(e))?;
    let mut user = User::new(&args.username);
    user.password_hash = Some(password::hash_password(&password)?);
    user.name.given_name = args.given_name.clone();
    user.name.family_name = args.family_name.clone();
    user.display_name = args.display_name.or_else(|| match (&args.given_name, &args.family_name) {
        (Some(given), Some(family)) => Some(format!("{given} {family}")),
        _ => None,
    });
    user.nick_name = args.nickname.clone();
    user.locale = args.locale.clone();
    user.timezone = args.zoneinfo.clone();
    user.phone_numbers = args
        .phone_number
        .iter()
        .map(|phone| MultiValue { primary: true, kind: Some("work".into()), ..MultiValue::new(phone) })
        .collect();
    let address = Address {
        street_address: args.street_address.clone(),
        locality: args.locality.clone(),
        region: args.region.clone(),
        postal_code: args.postal_code.clone(),
        country: args.country.clone(),
        kind: Some("work".into()),
        primary: true,
        formatted: None,
    };
    if address != (Address { kind: Some("work".into()), primary: true, ..Address::default() }) {
        user.addresses = vec![address];
    }
    user.emails = args
        .emails
        .iter()
        .enumerate()
        .map(|(i, email)| MultiValue { primary: i == 0, ..MultiValue::new(email) })
        .collect();

    let store = open_store(config)?;
    let now = store.now();
    let group_names = args.groups;
    let user = store
        .write_blocking(move |conn| {
            let user = users::insert(conn, user, now)?;
            for name in &group_names {
                let group = groups::find_or_create(conn, name, now)?;
                groups::add_member(conn, &group.id, &Member::User(user.id.clone()), now)?;
            }
            Ok(user)
        })
        .map_err(|e| match e {
            StoreError::Conflict(Unique::UserName) => {
                anyhow!(
                    "a user named `{}` already exists (user names are compared regardless of case)",
                    args.username
                )
            }
            other => anyhow!(other),
        })?;
    println!("created user {} ({})", user.user_name, user.id);
    Ok(())
}

pub(crate) fn user_list(config: &Config, output: Output) -> anyhow::Result<()> {
    let store = open_store(config)?;
    let listed = store.read_blocking(|conn| {
        let all = users::list(conn, 0, i64::MAX)?;
        all.into_iter()
            .map(|user| {
                let groups = groups::groups_of_user(conn, &user.id)?;
                Ok((user, groups))
            })
            .collect::<Result<Vec<_>, StoreError>>()
    })?;
    if output.json {
        let users: Vec<Value> = listed
            .iter()
            .map(|(user, groups)| {
                json!({
                    "id": user.id,
                    "username": user.user_name,
                    "display_name": user.display_name,
                    "emails": user.emails.iter().map(|e| &e.value).collect::<Vec<_>>(),
                    "groups": groups.iter().map(|g| &g.display_name).collect::<Vec<_>>(),
                    "active": user.active,
                })
            })
            .collect();
        return print_json(&Value::Array(users));
    }
    let rows: Vec<Vec<String>> = listed
        .into_iter()
        .map(|(user, groups)| {
            vec![
                user.id.clone(),
                user.user_name.clone(),
                user.display_name.clone().unwrap_or_default(),
                user.emails.iter().map(|e| e.value.as_str()).collect::<Vec<_>>().join(","),
                groups.iter().map(|g| g.display_name.as_str()).collect::<Vec<_>>().join(","),
                if user.active { "yes" } else { "no" }.to_owned(),
            ]
        })
        .collect();
    print_table(&["ID", "USERNAME", "DISPLAY NAME", "EMAILS", "GROUPS", "ACTIVE"], &rows);
    Ok(())
}

pub(crate) fn user_show(config: &Config, user_name: &str, output: Output) -> anyhow::Result<()> {
    let store = open_store(config)?;
    let name = user_name.to_owned();
    let found = store.read_blocking(move |conn| {
        let Some(user) = users::find_by_user_name(conn, &name)? else { return Ok::<_, StoreError>(None) };
        let groups = groups::groups_of_user(conn, &user.id)?;
        Ok(Some((user, groups)))
    })?;
    let Some((user, groups)) = found else { bail!("there is no user `{user_name}`") };
    if output.json {
        let values = |values: &[MultiValue]| values.iter().map(|v| v.value.clone()).collect::<Vec<_>>();
        return print_json(&json!({
            "id": user.id,
            "username": user.user_name,
            "display_name": user.display_name,
            "given_name": user.name.given_name,
            "family_name": user.name.family_name,
            "nickname": user.nick_name,
            "emails": values(&user.emails),
            "phone_numbers": values(&user.phone_numbers),
            "locale": user.locale,
            "zoneinfo": user.timezone,
            "groups": groups.iter().map(|g| &g.display_name).collect::<Vec<_>>(),
            "active": user.active,
            "password_set": user.password_hash.is_some(),
            "created": time_text(user.meta.created),
            "last_modified": time_text(user.meta.last_modified),
        }));
    }
    let values =
        |values: &[MultiValue]| values.iter().map(|v| v.value.as_str()).collect::<Vec<_>>().join(",");
    let time = |t: chrono::NaiveDateTime| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let rows = [
        ("id", user.id.clone()),
        ("username", user.user_name.clone()),
        ("display name", user.display_name.clone().unwrap_or_default()),
        ("given name", user.name.given_name.clone().unwrap_or_default()),
        ("family name", user.name.family_name.clone().unwrap_or_default()),
        ("nickname", user.nick_name.clone().unwrap_or_default()),
        ("emails", values(&user.emails)),
        ("phone numbers", values(&user.phone_numbers)),
        ("locale", user.locale.clone().unwrap_or_default()),
        ("zoneinfo", user.timezone.clone().unwrap_or_default()),
        ("groups", groups.iter().map(|g| g.display_name.as_str()).collect::<Vec<_>>().join(",")),
        ("active", if user.active { "yes" } else { "no" }.to_owned()),
        ("password", if user.password_hash.is_some() { "set" } else { "none" }.to_owned()),
        ("created", time(user.meta.created)),
        ("last modified", time(user.meta.last_modified)),
    ];
    for (key, value) in rows {
        println!("{:<14}{}", format!("{key}:"), value);
    }
    Ok(())
}

/// Changes the user named `user_name` under its row lock, in one write
/// transaction; `Ok(None)` when there is no such user.
fn change_user(store: &Store, user_name: &str, change: impl FnOnce(&mut User)) -> anyhow::Result<User> {
    let name = user_name.to_owned();
    let now = store.now();
    let changed = store.write_blocking(move |conn| {
        let Some(found) = users::find_by_user_name(conn, &name)? else { return Ok::<_, StoreError>(None) };
        users::lock(conn, &found.id)?;
        // Read again under the lock, so no concurrent change is lost.
        let mut user = users::get(conn, &found.id)?;
        change(&mut user);
        users::update(conn, user, None, now).map(Some)
    })?;
    changed.ok_or_else(|| anyhow!("there is no user `{user_name}`"))
}

/// `sigil user update`: every option given replaces its attribute, an
/// empty value clears it; everything is checked before the store opens.
pub(crate) fn user_update(config: &Config, args: UserUpdate) -> anyhow::Result<()> {
    let cleared = |value: Option<String>| value.map(|v| Some(v).filter(|v| !v.is_empty()));
    let emails: Option<Vec<String>> =
        args.emails.map(|emails| emails.into_iter().filter(|e| !e.is_empty()).collect());
    for email in emails.iter().flatten() {
        text::check_email(email).map_err(|e| anyhow!(e))?;
    }
    let (display_name, given_name, family_name) =
        (cleared(args.display_name), cleared(args.given_name), cleared(args.family_name));
    let (nickname, locale, zoneinfo) = (cleared(args.nickname), cleared(args.locale), cleared(args.zoneinfo));
    let phone = cleared(args.phone_number);
    let store = open_store(config)?;
    let user = change_user(&store, &args.username, move |user| {
        if let Some(value) = display_name {
            user.display_name = value;
        }
        if let Some(value) = given_name {
            user.name.given_name = value;
        }
        if let Some(value) = family_name {
            user.name.family_name = value;
        }
        if let Some(value) = nickname {
            user.nick_name = value;
        }
        if let Some(value) = locale {
            user.locale = value;
        }
        if let Some(value) = zoneinfo {
            user.timezone = value;
        }
        if let Some(value) = phone {
            user.phone_numbers = value
                .iter()
                .map(|phone| MultiValue {
                    primary: true,
                    kind: Some("work".into()),
                    ..MultiValue::new(phone)
                })
                .collect();
        }
        if let Some(emails) = emails {
            user.emails = emails
                .iter()
                .enumerate()
                .map(|(i, email)| MultiValue { primary: i == 0, ..MultiValue::new(email) })
                .collect();
        }
    })?;
    println!("updated user {}", user.user_name);
    Ok(())
}

pub(crate) fn user_set_active(config: &Config, user_name: &str, active: bool) -> anyhow::Result<()> {
    let store = open_store(config)?;
    // users::update revokes a disabled user's sessions, refresh tokens and
    // grants in the same transaction.
    let user = change_user(&store, user_name, move |user| {
        user.active = active;
        user.active_assigned = true;
    })?;
    println!("{} user {}", if active { "enabled" } else { "disabled" }, user.user_name);
    Ok(())
}

pub(crate) fn user_remove(config: &Config, user_name: &str) -> anyhow::Result<()> {
    let store = open_store(config)?;
    let now = store.now();
    let name = user_name.to_owned();
    // users::delete revokes the user's sessions, tokens and grants with it.
    let removed = store.write_blocking(move |conn| {
        let Some(user) = users::find_by_user_name(conn, &name)? else { return Ok::<_, StoreError>(None) };
        users::delete(conn, &user.id, now)?;
        Ok(Some(user))
    })?;
    let Some(user) = removed else { bail!("there is no user `{user_name}`") };
    println!("removed user {} ({})", user.user_name, user.id);
    Ok(())
}

pub(crate) fn user_set_password(config: &Config, user_name: &str) -> anyhow::Result<()> {
    let password = stdin_line("password")?;
    config.passwords.check(&password, user_name).map_err(|e| anyhow!(e))?;
    // Hash before the transaction: argon2id takes a while on purpose.
    let hash = password::hash_password(&password)?;
    let store = open_store(config)?;
    let user = change_user(&store, user_name, move |user| user.password_hash = Some(hash))?;
    println!("set the password of user {}", user.user_name);
    Ok(())
}

pub(crate) fn client_add(config: &Config, args: ClientAdd) -> anyhow::Result<()> {
    let method = args.token_endpoint_auth_method.as_deref();
    let keys = match (&args.jwks_file, &args.jwks_uri) {
        (Some(path), _) => Some(Credentials::PrivateKeyJwt(
            std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?,
        )),
        (None, Some(uri)) => Some(Credentials::PrivateKeyJwtUri(uri.clone())),
        (None, None) => None,
    };
    let secret = if args.secret_stdin { Some(stdin_line("client secret")?) } else { args.secret };
    let credentials = match (method, args.public, secret, keys) {
        (Some("none") | None, true, None, None) | (Some("none"), false, None, None) => Credentials::Public,
        (Some("private_key_jwt"), false, None, Some(keys)) => keys,
        (Some("private_key_jwt"), _, _, None) => {
            bail!("private_key_jwt needs the client's public keys: --jwks-file or --jwks-uri")
        }
        (_, _, _, Some(_)) => {
            bail!("--jwks-file and --jwks-uri go with --token-endpoint-auth-method private_key_jwt")
        }
        (Some("client_secret_basic" | "client_secret_post") | None, false, Some(secret), None) => {
            Credentials::ChosenSecret(PlainSecret::new(secret))
        }
        (Some("client_secret_basic" | "client_secret_post") | None, false, None, None) => {
            Credentials::GeneratedSecret
        }
        (Some(other), _, _, _)
            if !["none", "private_key_jwt", "client_secret_basic", "client_secret_post"].contains(&other) =>
        {
            bail!(
                "unknown token endpoint auth method `{other}` (client_secret_basic, client_secret_post, private_key_jwt, none)"
            )
        }
        _ => bail!("--public, --secret and --token-endpoint-auth-method contradict each other"),
    };
    let registration = Registration {
        id: args.id,
        name: args.name,
        credentials,
        redirect_uris: args.redirect_uris,
        post_logout_redirect_uris: args.post_logout_redirect_uris,
        grant_types: args.grant_types,
        scopes: args.scope.map(|s| s.split_whitespace().map(str::to_owned).collect()).unwrap_or_default(),
        audiences: args.audiences,
        skip_consent: args.skip_consent,
        require_pkce: args.require_pkce,
        id_token_alg: args.id_token_alg.parse()?,
        access_token_alg: args.access_token_alg.parse()?,
        refresh_without_offline_access: args.refresh_without_offline_access,
        exchange: ExchangePolicy {
            audiences: args.exchange_audiences,
            impersonation: args.exchange_impersonation,
            refresh_tokens: args.exchange_refresh_tokens,
        },
        always_groups_claim: args.always_groups_claim,
        secret_in_body: method == Some("client_secret_post"),
    };
    // Validate before opening the store, so a bad value never needs a database.
    sigil_oidc::clients::check(&registration)?;
    let store = open_store(config)?;
    let now = store.now();
    let (client, secret) = write_oidc(&store, move |conn| register(conn, registration, now))?;
    println!("registered client {}", client.id);
    if let Some(secret) = secret {
        println!("client_secret: {}", secret.expose());
        println!("(shown once: Sigil keeps only its SHA-256 digest)");
    }
    Ok(())
}

pub(crate) fn client_update(config: &Config, args: ClientUpdate) -> anyhow::Result<()> {
    let changes = Changes {
        name: args.name,
        redirect_uris: args.redirect_uris,
        post_logout_redirect_uris: args.post_logout_redirect_uris,
        grant_types: args.grant_types,
        scopes: args.scope.map(|s| s.split_whitespace().map(str::to_owned).collect()),
        audiences: args.audiences,
        skip_consent: args.skip_consent,
        require_pkce: args.require_pkce,
        id_token_alg: args.id_token_alg.map(|alg| alg.parse()).transpose()?,
        access_token_alg: args.access_token_alg.map(|alg| alg.parse()).transpose()?,
        refresh_without_offline_access: args.refresh_without_offline_access,
        exchange: None,
        always_groups_claim: args.always_groups_claim,
        rotate_secret: args.rotate_secret,
    };
    let mut changes = changes;
    let exchange_changed = args.exchange_audiences.is_some()
        || args.exchange_impersonation.is_some()
        || args.exchange_refresh_tokens.is_some();
    let store = open_store(config)?;
    let now = store.now();
    let id = args.id;
    if exchange_changed {
        let current_id = id.clone();
        let current = store.read_blocking(move |conn| sigil_store::clients::get(conn, &current_id))?;
        changes.exchange = Some(ExchangePolicy {
            audiences: args.exchange_audiences.unwrap_or(current.exchange_audiences),
            impersonation: args.exchange_impersonation.unwrap_or(current.exchange_impersonation),
            refresh_tokens: args.exchange_refresh_tokens.unwrap_or(current.exchange_refresh_tokens),
        });
    }
    let (client, secret) = write_oidc(&store, move |conn| update(conn, &id, changes, now))?;
    println!("updated client {}", client.id);
    if let Some(secret) = secret {
        println!("client_secret: {}", secret.expose());
        println!("(shown once: Sigil keeps only its SHA-256 digest; the old secret no longer works)");
    }
    Ok(())
}

pub(crate) fn client_remove(config: &Config, id: &str) -> anyhow::Result<()> {
    let store = open_store(config)?;
    let target = id.to_owned();
    if !store.write_blocking(move |conn| clients::delete(conn, &target))? {
        bail!("there is no client `{id}`");
    }
    println!("removed client {id}");
    Ok(())
}

/// A client as `--json` shows it: its settings, never its secret's digest
/// (its public keys only as whether it has some).
fn client_json(c: &clients::Client) -> Value {
    json!({
        "id": c.id,
        "name": c.name,
        "type": if c.is_public { "public" } else { "confidential" },
        "token_endpoint_auth_method": c.token_endpoint_auth_method,
        "redirect_uris": c.redirect_uris,
        "post_logout_redirect_uris": c.post_logout_redirect_uris,
        "grant_types": c.grant_types,
        "scopes": c.scopes,
        "audiences": c.audiences,
        "skip_consent": c.skip_consent,
        "require_pkce": c.require_pkce,
        "id_token_signed_response_alg": c.id_token_signed_response_alg,
        "access_token_signed_response_alg": c.access_token_signed_response_alg,
        "jwks": c.jwks.is_some(),
        "jwks_uri": c.jwks_uri,
        "refresh_without_offline_access": c.refresh_without_offline_access,
        "exchange_audiences": c.exchange_audiences,
        "exchange_impersonation": c.exchange_impersonation,
        "exchange_refresh_tokens": c.exchange_refresh_tokens,
        "always_groups_claim": c.always_groups_claim,
        "created": time_text(c.created),
        "last_modified": time_text(c.last_modified),
    })
}

/// `sigil client show`.
pub(crate) fn client_show(config: &Config, id: &str, output: Output) -> anyhow::Result<()> {
    let store = open_store(config)?;
    let target = id.to_owned();
    let client = match store.read_blocking(move |conn| clients::get(conn, &target)) {
        Ok(client) => client,
        Err(StoreError::NotFound) => bail!("there is no client `{id}`"),
        Err(other) => return Err(other.into()),
    };
    let shown = client_json(&client);
    if output.json {
        return print_json(&shown);
    }
    for (key, value) in shown.as_object().into_iter().flatten() {
        let text = match value {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            Value::Array(items) => {
                items.iter().map(|i| i.as_str().unwrap_or_default()).collect::<Vec<_>>().join(",")
            }
            other => other.to_string(),
        };
        println!("{:<34}{text}", format!("{key}:"));
    }
    Ok(())
}

pub(crate) fn client_list(config: &Config, output: Output) -> anyhow::Result<()> {
    let store = open_store(config)?;
    let listed = store.read_blocking(clients::list)?;
    if output.json {
        return print_json(&Value::Array(listed.iter().map(client_json).collect()));
    }
    let rows: Vec<Vec<String>> = listed
        .into_iter()
        .map(|c| {
            vec![
                c.id,
                if c.is_public { "public" } else { "confidential" }.to_owned(),
                c.grant_types.join(","),
                c.redirect_uris.join(","),
                c.scopes.join(" "),
                if c.skip_consent { "skip" } else { "ask" }.to_owned(),
            ]
        })
        .collect();
    print_table(&["CLIENT ID", "TYPE", "GRANT TYPES", "REDIRECT URIS", "SCOPES", "CONSENT"], &rows);
    Ok(())
}

pub(crate) fn keys_rotate(config: &Config) -> anyhow::Result<()> {
    let store = open_store(config)?;
    let now = store.now();
    for alg in SigningAlg::ALL {
        let next = NextKey::generate(alg, now)?;
        let rotation =
            write_oidc(&store, move |conn| rotate(conn, alg, next, DEFAULT_RETIRED_KEY_RETENTION, now))?;
        println!("{alg}: signing with {}", rotation.activated);
        if let Some(retired) = rotation.retired {
            println!("{alg}: retired {retired} (published until tokens it signed have expired)");
        }
        println!("{alg}: published next key {}", rotation.next);
        if rotation.removed > 0 {
            println!("{alg}: removed {} expired retired key(s)", rotation.removed);
        }
    }
    Ok(())
}

pub(crate) fn keys_list(config: &Config, output: Output) -> anyhow::Result<()> {
    let store = open_store(config)?;
    let listed = store.read_blocking(keys::list)?;
    if output.json {
        // Key material stays out: the public halves are at the JWKS endpoint.
        let keys: Vec<Value> = listed
            .iter()
            .map(|k| {
                json!({
                    "kid": k.kid,
                    "alg": k.alg,
                    "state": k.state.as_str(),
                    "created": time_text(k.created),
                    "activated": k.activated_at.map(time_text),
                    "retired": k.retired_at.map(time_text),
                })
            })
            .collect();
        return print_json(&Value::Array(keys));
    }
    let time = |t: Option<chrono::NaiveDateTime>| t.map(time_text).unwrap_or_default();
    let rows: Vec<Vec<String>> = listed
        .into_iter()
        .map(|k| {
            vec![
                k.kid,
                k.alg,
                k.state.as_str().to_owned(),
                time(Some(k.created)),
                time(k.activated_at),
                time(k.retired_at),
            ]
        })
        .collect();
    print_table(&["KID", "ALG", "STATE", "CREATED", "ACTIVATED", "RETIRED"], &rows);
    Ok(())
}

/// The first line of standard input, without its line ending: how a
/// password or secret reaches a command without showing on its command
/// line.
fn stdin_line(what: &str) -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .with_context(|| format!("cannot read the {what} from stdin"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Runs an OIDC-layer operation in one write transaction. A refusal rolls
/// the transaction back just as a store error does, and is reported as
/// itself.
pub(crate) fn write_oidc<T>(
    store: &Store,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, OidcError>,
) -> anyhow::Result<T> {
    let mut refusal = None;
    let result = store.write_blocking(|conn| {
        f(conn).map_err(|e| match e {
            OidcError::Store(store) => store,
            other => {
                refusal = Some(other);
                StoreError::Other("refused".into())
            }
        })
    });
    match (result, refusal) {
        (Ok(value), _) => Ok(value),
        (Err(_), Some(refusal)) => Err(anyhow!(refusal)),
        (Err(store), None) => Err(anyhow!(store)),
    }
}

/// A time as the CLI prints it, in both text and JSON: RFC 3339 in UTC.
pub(crate) fn time_text(t: chrono::NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Prints `--json` output: one JSON document, pretty-printed.
pub(crate) fn print_json(value: &Value) -> anyhow::Result<()> {
    use std::io::Write;
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    std::io::stdout().lock().write_all(text.as_bytes()).context("cannot write to stdout")
}

/// Prints rows under a header in aligned columns.
pub(crate) fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}
