//! `sigil user reset-link`: a one-time link at which a user sets their own
//! password, for a user who forgot theirs or never had one (provisioned
//! through SCIM). The store keeps only the link token's digest
//! (`sigil_store::password_resets`); the page behind the link is
//! `sigil-oidc`'s (`http::reset`).

use anyhow::{anyhow, bail};
use chrono::TimeDelta;
use serde_json::json;
use sigil_store::secret::PlainSecret;
use sigil_store::{StoreError, password_resets, users};

use crate::cli::UserResetLink;
use crate::commands::{open_store, print_json};
use crate::config::Config;
use crate::token_commands::parse_lifetime;

/// How long a link works unless told otherwise.
const DEFAULT_LIFETIME: TimeDelta = TimeDelta::hours(1);
/// The shortest lifetime: time enough to pass the link on.
const MIN_LIFETIME: TimeDelta = TimeDelta::minutes(5);
/// The longest: a link is a password until it is used.
const MAX_LIFETIME: TimeDelta = TimeDelta::days(7);

/// What a refused issue ended with.
enum Refused {
    Unknown,
    Disabled,
}

/// `sigil user reset-link`.
pub(crate) fn reset_link(config: &Config, args: &UserResetLink) -> anyhow::Result<()> {
    let lifetime = args.expires_in.as_deref().map(parse_lifetime).transpose()?.unwrap_or(DEFAULT_LIFETIME);
    if !(MIN_LIFETIME..=MAX_LIFETIME).contains(&lifetime) {
        bail!("--expires-in must be between 5m and 7d");
    }
    let token = PlainSecret::generate()?;
    let hash = token.hash();
    let store = open_store(config)?;
    let now = store.now();
    let name = args.username.clone();
    let issued = store.write_blocking(move |conn| {
        let Some(user) = users::find_by_user_name(conn, &name)? else { return Ok(Err(Refused::Unknown)) };
        users::lock(conn, &user.id)?;
        // Read again under the lock: a user disabled meanwhile gets no link.
        if users::is_active(conn, &user.id)? != Some(true) {
            return Ok(Err(Refused::Disabled));
        }
        password_resets::issue(conn, &user.id, &hash, now + lifetime, now).map(Ok)
    });
    let reset = match issued.map_err(|e: StoreError| anyhow!(e))? {
        Ok(reset) => reset,
        Err(Refused::Unknown) => bail!("there is no user `{}`", args.username),
        Err(Refused::Disabled) => {
            bail!("user `{}` is disabled: enable them first (`sigil user enable`)", args.username)
        }
    };
    // The page is served under the issuer, as every other page is.
    let issuer = config.issuer_for(config.bind);
    let url = format!("{}/reset?token={}", issuer.as_str().trim_end_matches('/'), token.expose());
    let expires = reset.expires_at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    if args.output.json {
        return print_json(&json!({ "url": url, "expires": expires }));
    }
    println!("{url}");
    Ok(())
}
