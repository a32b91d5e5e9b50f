//! `sigil token ...`: API tokens, the long-lived bearer tokens a client
//! presents to SCIM or the admin API. The rules are the OIDC layer's
//! (`sigil_oidc::api_tokens`), the same the admin API applies.

use anyhow::{anyhow, bail};
use chrono::{NaiveDateTime, TimeDelta};
use sigil_oidc::api_tokens::{self, Request};
use sigil_store::StoreError;
use sigil_store::api_tokens as stored;

use serde_json::{Value, json};

use crate::cli::{Output, TokenCreate};
use crate::commands::{open_store, print_json, print_table, write_oidc};
use crate::config::Config;

/// A lifetime such as `90d`, `12h`, `30m` or `3600s`.
pub(crate) fn parse_lifetime(text: &str) -> anyhow::Result<TimeDelta> {
    let usage = || anyhow!("--expires-in takes a number and a unit (s, m, h or d), e.g. 90d; not `{text}`");
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(usage)?;
    let (number, unit) = text.split_at(split);
    let number: i64 = number.parse().map_err(|_| usage())?;
    let lifetime = match unit {
        "s" => TimeDelta::try_seconds(number),
        "m" => TimeDelta::try_minutes(number),
        "h" => TimeDelta::try_hours(number),
        "d" => TimeDelta::try_days(number),
        _ => None,
    };
    lifetime.ok_or_else(usage)
}

fn time(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `sigil token create`.
pub(crate) fn create(config: &Config, args: TokenCreate) -> anyhow::Result<()> {
    let request = Request {
        client_id: args.client,
        scopes: args.scope.split_whitespace().map(str::to_owned).collect(),
        lifetime: args.expires_in.as_deref().map(parse_lifetime).transpose()?,
        name: args.name,
    };
    // Refuse what needs no database before opening it.
    api_tokens::check(&request, sigil_access::API_SCOPES)?;
    let store = open_store(config)?;
    let now = store.now();
    let (token, secret) =
        write_oidc(&store, move |conn| api_tokens::create(conn, request, sigil_access::API_SCOPES, now))?;
    println!("created API token {} for client {}", token.id, token.client_id);
    println!("scope: {}", token.scope);
    println!("expires: {}", time(token.expires_at));
    println!("token: {}", secret.expose());
    println!("(shown once: Sigil keeps only its SHA-256 digest)");
    Ok(())
}

/// `sigil token list`.
pub(crate) fn list(config: &Config, client: Option<&str>, output: Output) -> anyhow::Result<()> {
    let store = open_store(config)?;
    let wanted = client.map(str::to_owned);
    let tokens = store.read_blocking(move |c| stored::list(c, wanted.as_deref()))?;
    let now = store.now();
    if output.json {
        // Never the token nor its digest: only what identifies and dates it.
        let shown = tokens.iter().map(|t| {
            let state = match (t.revoked_at, t.expires_at <= now) {
                (Some(_), _) => "revoked",
                (None, true) => "expired",
                (None, false) => "active",
            };
            json!({
                "id": t.id,
                "client": t.client_id,
                "scopes": t.scope.split_whitespace().collect::<Vec<_>>(),
                "created": time(t.created),
                "expires": time(t.expires_at),
                "last_used": t.last_used_at.map(time),
                "revoked": t.revoked_at.map(time),
                "state": state,
                "name": t.name,
            })
        });
        return print_json(&Value::Array(shown.collect()));
    }
    let rows: Vec<Vec<String>> = tokens
        .into_iter()
        .map(|t| {
            let state = match (t.revoked_at, t.expires_at <= now) {
                (Some(_), _) => "revoked",
                (None, true) => "expired",
                (None, false) => "active",
            };
            vec![
                t.id,
                t.client_id,
                t.scope.replace(' ', ","),
                time(t.created),
                time(t.expires_at),
                t.last_used_at.map(time).unwrap_or_else(|| "never".into()),
                t.revoked_at.map(time).unwrap_or_default(),
                state.to_owned(),
                t.name.unwrap_or_default(),
            ]
        })
        .collect();
    print_table(
        &["ID", "CLIENT", "SCOPE", "CREATED", "EXPIRES", "LAST USED", "REVOKED", "STATE", "NAME"],
        &rows,
    );
    Ok(())
}

/// `sigil token revoke`.
pub(crate) fn revoke(config: &Config, id: &str) -> anyhow::Result<()> {
    let store = open_store(config)?;
    let (target, now) = (id.to_owned(), store.now());
    match store.write_blocking(move |c| stored::revoke(c, &target, now)) {
        Ok(true) => println!("revoked API token {id}"),
        Ok(false) => println!("API token {id} was already revoked"),
        Err(StoreError::NotFound) => bail!("there is no API token `{id}`"),
        Err(other) => return Err(other.into()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_take_a_number_and_a_unit() {
        assert_eq!(parse_lifetime("90d").unwrap(), TimeDelta::days(90));
        assert_eq!(parse_lifetime("12h").unwrap(), TimeDelta::hours(12));
        assert_eq!(parse_lifetime("30m").unwrap(), TimeDelta::minutes(30));
        assert_eq!(parse_lifetime("3600s").unwrap(), TimeDelta::hours(1));
        for bad in
            ["", "90", "d", "90 d", "-1d", "1.5d", "90y", "99999999999999999999d", "9223372036854775807d"]
        {
            assert!(parse_lifetime(bad).is_err(), "{bad}");
        }
    }
}
