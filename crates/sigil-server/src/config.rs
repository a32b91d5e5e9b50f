//! Configuration: defaults in code, then a TOML file (`--config`), then
//! `SIGIL_*` environment variables, each later source overriding the
//! earlier. The raw sources are checked here, once, into a [`Config`] that
//! the rest of the program receives; a bad value stops start-up with one
//! line naming the key and where it came from.
//!
//! `config/sigil.reference.toml` documents every key.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::TimeDelta;
use sigil_oidc::trusted::TrustedIssuer;
use sigil_oidc::{GroupsClaim, Lifetimes};
use sigil_scim::rights::Right;
use sigil_store::password::{MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, PasswordPolicy};
use sigil_store::{DatabaseUrl, PoolOptions};
use tracing_subscriber::EnvFilter;
use url::Url;

use crate::proxies::{Network, TrustedProxies};
use crate::tls::TlsFiles;

/// Where a log line goes and how it looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Limits on HTTP connections and the time a client may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HttpLimits {
    /// How long a request body may take to arrive after its head (408 after).
    pub(crate) body_timeout: Duration,
    /// How long an idle connection is kept open for the next request; zero
    /// closes it after each response.
    pub(crate) keep_alive: Duration,
    /// How long a client may take to send a request's head (408 after).
    pub(crate) client_request_timeout: Duration,
    /// Most connections open at once, over all workers.
    pub(crate) max_connections: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            body_timeout: Duration::from_secs(10),
            keep_alive: Duration::from_secs(5),
            client_request_timeout: Duration::from_secs(5),
            max_connections: 800,
        }
    }
}

/// Where `/metrics` is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MetricsConfig {
    /// Off: no `/metrics` anywhere, and nothing recorded.
    pub(crate) enabled: bool,
    /// A listener of its own for `/metrics` (then the main listener does
    /// not serve it); `None` serves it on the main listener.
    pub(crate) listen: Option<SocketAddr>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self { enabled: true, listen: None }
    }
}

/// The checked configuration.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// The issuer identifier; `None` means `http://<bound address>`.
    pub(crate) issuer: Option<Url>,
    pub(crate) bind: SocketAddr,
    pub(crate) database_url: DatabaseUrl,
    pub(crate) pool: PoolOptions,
    pub(crate) log_format: LogFormat,
    pub(crate) log_level: String,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) http: HttpLimits,
    pub(crate) lifetimes: Lifetimes,
    pub(crate) scim_rights: Vec<Right>,
    pub(crate) trusted_issuers: Vec<TrustedIssuer>,
    pub(crate) groups_claim: GroupsClaim,
    /// What a password set over SCIM or by `sigil user add` must be.
    pub(crate) passwords: PasswordPolicy,
    pub(crate) metrics: MetricsConfig,
    /// TLS on the main listener; `None` serves plain HTTP.
    pub(crate) tls: Option<TlsFiles>,
    /// Proxies whose forwarding header names the client.
    pub(crate) proxies: TrustedProxies,
    /// How long audit records are kept; `None` keeps them forever.
    pub(crate) audit_retention: Option<chrono::TimeDelta>,
}

/// Audit records are kept this many days unless configured otherwise.
pub(crate) const DEFAULT_AUDIT_RETENTION_DAYS: i64 = 365;

impl Default for Config {
    fn default() -> Self {
        Self {
            issuer: None,
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: DatabaseUrl::Sqlite("sigil.db".into()),
            pool: PoolOptions::default(),
            log_format: LogFormat::Text,
            log_level: "info".into(),
            shutdown_timeout: Duration::from_secs(30),
            http: HttpLimits::default(),
            lifetimes: Lifetimes::default(),
            scim_rights: Vec::new(),
            trusted_issuers: Vec::new(),
            groups_claim: GroupsClaim::default(),
            passwords: PasswordPolicy::default(),
            metrics: MetricsConfig::default(),
            tls: None,
            proxies: TrustedProxies::default(),
            audit_retention: Some(chrono::TimeDelta::days(DEFAULT_AUDIT_RETENTION_DAYS)),
        }
    }
}

/// A value that could not be used, with the key it was given for.
#[derive(Debug)]
pub(crate) struct ConfigError {
    key: String,
    origin: String,
    message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "configuration error in {}: {}", self.origin, self.message)
        } else {
            write!(
                f,
                "invalid configuration value for `{}` (from {}): {}",
                self.key, self.origin, self.message
            )
        }
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    /// A bad value for `key`, which `origin` (a file or a variable) gave.
    pub(crate) fn new(key: &str, origin: &str, message: impl Into<String>) -> Self {
        Self { key: key.to_owned(), origin: origin.to_owned(), message: message.into() }
    }
}

/// A value as one source gave it.
enum Raw<'a> {
    Toml(&'a toml::Value),
    Env(&'a str),
}

impl Raw<'_> {
    fn string(&self) -> Result<String, String> {
        match self {
            Raw::Toml(toml::Value::String(s)) => Ok(s.clone()),
            Raw::Toml(other) => Err(format!("expected a string, found {}", other.type_str())),
            Raw::Env(s) => Ok((*s).to_owned()),
        }
    }

    fn boolean(&self) -> Result<bool, String> {
        match self {
            Raw::Toml(toml::Value::Boolean(b)) => Ok(*b),
            Raw::Toml(other) => Err(format!("expected a boolean, found {}", other.type_str())),
            Raw::Env(s) => match s.trim() {
                "true" => Ok(true),
                "false" => Ok(false),
                other => Err(format!("`{other}` is neither `true` nor `false`")),
            },
        }
    }

    fn integer(&self, min: u64, max: u64) -> Result<u64, String> {
        let value = match self {
            Raw::Toml(toml::Value::Integer(n)) => {
                u64::try_from(*n).map_err(|_| format!("{n} is negative"))?
            }
            Raw::Toml(other) => return Err(format!("expected an integer, found {}", other.type_str())),
            Raw::Env(s) => s.trim().parse().map_err(|_| format!("`{s}` is not a whole number"))?,
        };
        if (min..=max).contains(&value) {
            Ok(value)
        } else {
            Err(format!("{value} is outside {min}..={max}"))
        }
    }
}

/// The levels a `log.level` directive may name.
const LOG_LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

/// `log.level`: a level, or a tracing filter such as `info,sigil=debug`
/// whose every directive names a level. EnvFilter alone would take a bare
/// word like `loud` as a target to log everything of, so a typo would
/// silently turn logging off for everything else.
fn check_log_filter(value: &str) -> Result<(), String> {
    let refused = || {
        format!(
            "`{value}` is not a log level (error, warn, info, debug, trace or off) or a filter like info,sigil=debug"
        )
    };
    if value.trim().is_empty() {
        return Err(refused());
    }
    for directive in value.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let level = directive.rsplit_once('=').map_or(directive, |(_, level)| level);
        if !LOG_LEVELS.iter().any(|known| known.eq_ignore_ascii_case(level.trim())) {
            return Err(refused());
        }
    }
    EnvFilter::try_new(value).map_err(|e| format!("`{value}` is not a log filter ({e})"))?;
    Ok(())
}

/// One setting: its file key, its environment variable, and how it applies.
struct Setting {
    key: &'static str,
    env: &'static str,
    apply: fn(&mut Config, &Raw<'_>) -> Result<(), String>,
}

const SETTINGS: &[Setting] = &[
    Setting {
        key: "issuer",
        env: "SIGIL_ISSUER",
        apply: |c, raw| {
            c.issuer = Some(parse_issuer(&raw.string()?)?);
            Ok(())
        },
    },
    Setting {
        key: "bind",
        env: "SIGIL_BIND",
        apply: |c, raw| {
            let value = raw.string()?;
            c.bind = value
                .trim()
                .parse()
                .map_err(|_| format!("`{value}` is not an address like 127.0.0.1:8080"))?;
            Ok(())
        },
    },
    Setting {
        key: "database.url",
        env: "SIGIL_DATABASE_URL",
        apply: |c, raw| {
            let value = raw.string()?;
            c.database_url = DatabaseUrl::parse(&value).map_err(|e| format!("the database URL {e}"))?;
            Ok(())
        },
    },
    Setting {
        key: "database.pool_size",
        env: "SIGIL_DATABASE_POOL_SIZE",
        apply: |c, raw| {
            c.pool.max_size = u32::try_from(raw.integer(1, 1024)?).unwrap_or(1024);
            Ok(())
        },
    },
    Setting {
        key: "database.connect_timeout_seconds",
        env: "SIGIL_DATABASE_CONNECT_TIMEOUT_SECONDS",
        apply: |c, raw| {
            c.pool.connection_timeout = Duration::from_secs(raw.integer(1, 3600)?);
            Ok(())
        },
    },
    Setting {
        key: "log.format",
        env: "SIGIL_LOG_FORMAT",
        apply: |c, raw| {
            c.log_format = match raw.string()?.as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                other => return Err(format!("`{other}` is neither `text` nor `json`")),
            };
            Ok(())
        },
    },
    Setting {
        key: "log.level",
        env: "SIGIL_LOG_LEVEL",
        apply: |c, raw| {
            let value = raw.string()?;
            check_log_filter(&value)?;
            c.log_level = value;
            Ok(())
        },
    },
    // Access and ID tokens are capped at a day: a retired signing key stays
    // published for that long, so nothing it signed can outlive it.
    Setting {
        key: "tokens.access_token_lifetime_seconds",
        env: "SIGIL_TOKENS_ACCESS_TOKEN_LIFETIME_SECONDS",
        apply: |c, raw| {
            c.lifetimes.access_token = seconds(raw.integer(10, 86_400)?);
            Ok(())
        },
    },
    Setting {
        key: "tokens.id_token_lifetime_seconds",
        env: "SIGIL_TOKENS_ID_TOKEN_LIFETIME_SECONDS",
        apply: |c, raw| {
            c.lifetimes.id_token = seconds(raw.integer(10, 86_400)?);
            Ok(())
        },
    },
    Setting {
        key: "tokens.refresh_token_lifetime_seconds",
        env: "SIGIL_TOKENS_REFRESH_TOKEN_LIFETIME_SECONDS",
        apply: |c, raw| {
            c.lifetimes.refresh_token = seconds(raw.integer(60, 366 * 86_400)?);
            Ok(())
        },
    },
    // RFC 6749 §4.1.2: a code lives ten minutes at most (RECOMMENDED);
    // under ten seconds a person on a slow link could not use it.
    Setting {
        key: "tokens.authorization_code_lifetime_seconds",
        env: "SIGIL_TOKENS_AUTHORIZATION_CODE_LIFETIME_SECONDS",
        apply: |c, raw| {
            c.lifetimes.authorization_code = seconds(raw.integer(10, 600)?);
            Ok(())
        },
    },
    Setting {
        key: "tokens.groups_claim",
        env: "SIGIL_TOKENS_GROUPS_CLAIM",
        apply: |c, raw| {
            let name = raw.string()?;
            let valid =
                !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-:.".contains(&b));
            if !valid
                || ["sub", "iss", "aud", "exp", "iat", "scope", "client_id", "jti"].contains(&name.as_str())
            {
                return Err(format!("`{name}` cannot name the groups claim"));
            }
            c.groups_claim.name = name;
            Ok(())
        },
    },
    Setting {
        key: "tokens.groups_claim_values",
        env: "SIGIL_TOKENS_GROUPS_CLAIM_VALUES",
        apply: |c, raw| {
            c.groups_claim.ids = match raw.string()?.as_str() {
                "names" => false,
                "ids" => true,
                other => return Err(format!("`{other}` is neither `names` nor `ids`")),
            };
            Ok(())
        },
    },
    Setting {
        key: "exchange.trusted_issuers",
        env: "SIGIL_EXCHANGE_TRUSTED_ISSUERS",
        apply: |c, raw| {
            c.trusted_issuers = parse_trusted_issuers(raw)?;
            Ok(())
        },
    },
    Setting {
        key: "scim.rights",
        env: "SIGIL_SCIM_RIGHTS",
        apply: |c, raw| {
            c.scim_rights = parse_rights(raw)?;
            Ok(())
        },
    },
    // NIST SP 800-63B §5.1.1.2: at least 8 characters; a policy may ask
    // for more, never less.
    Setting {
        key: "passwords.min_length",
        env: "SIGIL_PASSWORDS_MIN_LENGTH",
        apply: |c, raw| {
            let min = raw.integer(MIN_PASSWORD_CHARS as u64, MAX_PASSWORD_CHARS as u64)?;
            let min = usize::try_from(min).map_err(|_| format!("{min} is too large"))?;
            c.passwords = PasswordPolicy::new(min, c.passwords.refuses_common())?;
            Ok(())
        },
    },
    Setting {
        key: "passwords.refuse_common",
        env: "SIGIL_PASSWORDS_REFUSE_COMMON",
        apply: |c, raw| {
            c.passwords = PasswordPolicy::new(c.passwords.min_chars(), raw.boolean()?)?;
            Ok(())
        },
    },
    Setting {
        key: "shutdown_timeout_seconds",
        env: "SIGIL_SHUTDOWN_TIMEOUT_SECONDS",
        apply: |c, raw| {
            c.shutdown_timeout = Duration::from_secs(raw.integer(0, 3600)?);
            Ok(())
        },
    },
    Setting {
        key: "http.body_timeout_seconds",
        env: "SIGIL_HTTP_BODY_TIMEOUT_SECONDS",
        apply: |c, raw| {
            c.http.body_timeout = Duration::from_secs(raw.integer(1, 3600)?);
            Ok(())
        },
    },
    Setting {
        key: "http.keep_alive_seconds",
        env: "SIGIL_HTTP_KEEP_ALIVE_SECONDS",
        apply: |c, raw| {
            c.http.keep_alive = Duration::from_secs(raw.integer(0, 3600)?);
            Ok(())
        },
    },
    Setting {
        key: "http.client_request_timeout_seconds",
        env: "SIGIL_HTTP_CLIENT_REQUEST_TIMEOUT_SECONDS",
        apply: |c, raw| {
            c.http.client_request_timeout = Duration::from_secs(raw.integer(1, 3600)?);
            Ok(())
        },
    },
    Setting {
        key: "http.trusted_proxies",
        env: "SIGIL_HTTP_TRUSTED_PROXIES",
        apply: |c, raw| {
            c.proxies.networks =
                string_list(raw)?.iter().map(|n| n.parse::<Network>()).collect::<Result<_, _>>()?;
            Ok(())
        },
    },
    Setting {
        key: "http.trusted_proxy_header",
        env: "SIGIL_HTTP_TRUSTED_PROXY_HEADER",
        apply: |c, raw| {
            c.proxies.header = raw.string()?.parse()?;
            Ok(())
        },
    },
    Setting {
        key: "metrics.enabled",
        env: "SIGIL_METRICS_ENABLED",
        apply: |c, raw| {
            c.metrics.enabled = raw.boolean()?;
            Ok(())
        },
    },
    Setting {
        key: "metrics.listen",
        env: "SIGIL_METRICS_LISTEN",
        apply: |c, raw| {
            let value = raw.string()?;
            c.metrics.listen = Some(
                value
                    .trim()
                    .parse()
                    .map_err(|_| format!("`{value}` is not an address like 127.0.0.1:9090"))?,
            );
            Ok(())
        },
    },
    Setting {
        key: "audit.retention_days",
        env: "SIGIL_AUDIT_RETENTION_DAYS",
        apply: |c, raw| {
            // 0 keeps records forever; at most a hundred years.
            let days = i64::try_from(raw.integer(0, 36_500)?).unwrap_or(0);
            c.audit_retention = (days > 0).then(|| chrono::TimeDelta::days(days));
            Ok(())
        },
    },
    Setting {
        key: "tls.cert_file",
        env: "SIGIL_TLS_CERT_FILE",
        apply: |c, raw| {
            tls_files(c).cert_file = file_path(raw)?;
            Ok(())
        },
    },
    Setting {
        key: "tls.key_file",
        env: "SIGIL_TLS_KEY_FILE",
        apply: |c, raw| {
            tls_files(c).key_file = file_path(raw)?;
            Ok(())
        },
    },
    Setting {
        key: "http.max_connections",
        env: "SIGIL_HTTP_MAX_CONNECTIONS",
        apply: |c, raw| {
            let max = raw.integer(1, 1_000_000)?;
            c.http.max_connections = usize::try_from(max).map_err(|_| format!("{max} is too large"))?;
            Ok(())
        },
    },
];

/// The TLS files being configured, the other one perhaps still unset.
fn tls_files(c: &mut Config) -> &mut TlsFiles {
    c.tls.get_or_insert_with(|| TlsFiles {
        cert_file: PathBuf::new(),
        key_file: PathBuf::new(),
        cert_origin: String::new(),
        key_origin: String::new(),
    })
}

/// A path to a file; whether it is there is checked where it is read.
fn file_path(raw: &Raw<'_>) -> Result<PathBuf, String> {
    let value = raw.string()?;
    if value.trim().is_empty() {
        return Err("expected a path to a file".into());
    }
    Ok(PathBuf::from(value))
}

/// A list of strings: a TOML array, or comma-separated in the environment.
fn string_list(raw: &Raw<'_>) -> Result<Vec<String>, String> {
    match raw {
        Raw::Toml(toml::Value::Array(list)) => list
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| "expected an array of strings".to_owned()))
            .collect(),
        Raw::Toml(other) => Err(format!("expected an array of strings, found {}", other.type_str())),
        Raw::Env(text) => {
            Ok(text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
        }
    }
}

/// An array of tables, from the file, or from the environment where the
/// same array is written inline in TOML.
fn table_array(raw: &Raw<'_>, shape: &str) -> Result<Vec<toml::Value>, String> {
    let value = match raw {
        Raw::Toml(value) => (*value).clone(),
        Raw::Env(text) => {
            let table: toml::Table = format!("list = {text}").parse().map_err(|e: toml::de::Error| {
                format!("not a TOML array of tables: {}", e.message().trim())
            })?;
            table.get("list").cloned().unwrap_or(toml::Value::Array(Vec::new()))
        }
    };
    match value {
        toml::Value::Array(list) => Ok(list),
        _ => Err(format!("expected an array of {shape} tables")),
    }
}

/// `exchange.trusted_issuers`: `{ issuer, jwks_uri | jwks, audience?,
/// user_claim?, scopes?, audiences? }` tables.
fn parse_trusted_issuers(raw: &Raw<'_>) -> Result<Vec<TrustedIssuer>, String> {
    table_array(raw, "{ issuer, jwks_uri }")?
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            let entry = entry.as_table().ok_or_else(|| format!("entry {} is not a table", i + 1))?;
            let text = |name: &str| entry.get(name).and_then(toml::Value::as_str).map(str::to_owned);
            let issuer = text("issuer").ok_or_else(|| format!("entry {} needs `issuer`", i + 1))?;
            let (jwks_uri, jwks) = (text("jwks_uri"), text("jwks"));
            if jwks_uri.is_none() == jwks.is_none() {
                return Err(format!("entry {} needs one of `jwks_uri` and `jwks`", i + 1));
            }
            let trusted = TrustedIssuer {
                issuer,
                jwks_uri,
                jwks,
                audience: text("audience"),
                user_claim: text("user_claim").unwrap_or_else(|| "preferred_username".to_owned()),
                scopes: texts(entry, "scopes").map_err(|why| format!("entry {}: {why}", i + 1))?,
                audiences: texts(entry, "audiences").map_err(|why| format!("entry {}: {why}", i + 1))?,
            };
            trusted.check().map_err(|why| format!("entry {}: {why}", i + 1))?;
            Ok(trusted)
        })
        .collect()
}

/// An optional array of strings in `entry`.
fn texts(entry: &toml::Table, name: &str) -> Result<Vec<String>, String> {
    match entry.get(name) {
        None => Ok(Vec::new()),
        Some(toml::Value::Array(list)) => list
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| format!("`{name}` must list strings")))
            .collect(),
        Some(_) => Err(format!("`{name}` must be an array of strings")),
    }
}

/// `scim.rights`: `{ group, resource, operations }` tables.
fn parse_rights(raw: &Raw<'_>) -> Result<Vec<Right>, String> {
    table_array(raw, "{ group, resource, operations }")?
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            let entry = entry.as_table().ok_or_else(|| format!("entry {} is not a table", i + 1))?;
            let text = |name: &str| {
                entry
                    .get(name)
                    .and_then(toml::Value::as_str)
                    .ok_or_else(|| format!("entry {} needs `{name}`", i + 1))
            };
            let operations = entry
                .get("operations")
                .and_then(toml::Value::as_array)
                .ok_or_else(|| format!("entry {} needs `operations`", i + 1))?
                .iter()
                .map(|op| op.as_str().ok_or_else(|| "operations are strings".to_owned())?.parse())
                .collect::<Result<Vec<_>, String>>()?;
            Ok(Right { group: text("group")?.to_owned(), kind: text("resource")?.parse()?, operations })
        })
        .collect()
}

/// A bounded number of seconds as a duration.
fn seconds(n: u64) -> TimeDelta {
    TimeDelta::seconds(i64::try_from(n).unwrap_or(i64::MAX))
}

/// OpenID Connect Discovery 1.0 §3: the issuer is a URL using the https
/// scheme, with no query or fragment. Plain http is accepted so Sigil can
/// run on a developer's machine; the server warns about it at start-up.
fn parse_issuer(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw.trim()).map_err(|e| format!("`{raw}` is not an absolute URL ({e})"))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(format!("`{raw}` must use https (or http for local development)"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("`{raw}` must not have a query or fragment (OpenID Connect Discovery 1.0 §3)"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{raw}` has no host"));
    }
    Ok(url)
}

impl Config {
    /// Builds the configuration from the defaults, the file at `path` (if
    /// given) and the environment `env` (name/value pairs).
    pub(crate) fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(Self, Vec<String>), ConfigError> {
        let mut config = Self::default();
        let mut warnings = Vec::new();
        let mut origins = HashMap::new();
        if let Some(path) = path {
            let origin = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
                key: String::new(),
                origin: origin.clone(),
                message: format!("cannot read the file: {e}"),
            })?;
            let table: toml::Table = text.parse().map_err(|e: toml::de::Error| ConfigError {
                key: String::new(),
                origin: origin.clone(),
                message: match e.span() {
                    Some(span) => format!(
                        "not valid TOML at line {}: {}",
                        text[..span.start.min(text.len())].matches('\n').count() + 1,
                        e.message().trim()
                    ),
                    None => format!("not valid TOML: {}", e.message().trim()),
                },
            })?;
            config.apply_file(&table, "", &origin, &mut origins)?;
        }
        for (name, value) in env {
            if !name.starts_with("SIGIL_") {
                continue;
            }
            match SETTINGS.iter().find(|s| s.env == name) {
                Some(setting) => {
                    (setting.apply)(&mut config, &Raw::Env(&value)).map_err(|message| ConfigError {
                        key: setting.key.into(),
                        origin: name.clone(),
                        message,
                    })?;
                    origins.insert(setting.key, name.clone());
                }
                None if name.starts_with("SIGIL_TEST_") => {}
                None => warnings.push(format!("ignoring unknown environment variable {name}")),
            }
        }
        config.check_together(&origins)?;
        Ok((config, warnings))
    }

    /// What no single key can check: keys that only make sense together.
    fn check_together(&mut self, origins: &HashMap<&'static str, String>) -> Result<(), ConfigError> {
        let origin = |key: &str| origins.get(key).cloned().unwrap_or_default();
        if let Some(tls) = &mut self.tls {
            for (key, path) in [("tls.cert_file", &tls.cert_file), ("tls.key_file", &tls.key_file)] {
                if path.as_os_str().is_empty() {
                    let other = if key == "tls.cert_file" { "tls.key_file" } else { "tls.cert_file" };
                    return Err(ConfigError::new(
                        key,
                        &origin(other),
                        format!("`{other}` needs `{key}` too"),
                    ));
                }
            }
            tls.cert_origin = origin("tls.cert_file");
            tls.key_origin = origin("tls.key_file");
            // Discovery names the issuer; with TLS on it must be the https
            // URL clients reach.
            if let Some(issuer) = self.issuer.as_ref().filter(|i| i.scheme() != "https") {
                return Err(ConfigError::new(
                    "issuer",
                    &origin("issuer"),
                    format!("`{issuer}` must use https when TLS is on (`tls.cert_file`)"),
                ));
            }
        }
        if let Some(listen) = self.metrics.listen
            && listen == self.bind
            && listen.port() != 0
        {
            return Err(ConfigError::new(
                "metrics.listen",
                &origin("metrics.listen"),
                format!(
                    "{listen} is the main listener's address (`bind`); leave `metrics.listen` unset to serve /metrics there"
                ),
            ));
        }
        Ok(())
    }

    fn apply_file(
        &mut self,
        table: &toml::Table,
        prefix: &str,
        origin: &str,
        origins: &mut HashMap<&'static str, String>,
    ) -> Result<(), ConfigError> {
        for (name, value) in table {
            let key = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
            if let toml::Value::Table(inner) = value
                && SETTINGS.iter().any(|s| s.key.starts_with(&format!("{key}.")))
            {
                self.apply_file(inner, &key, origin, origins)?;
                continue;
            }
            let Some(setting) = SETTINGS.iter().find(|s| s.key == key) else {
                return Err(ConfigError {
                    key: key.clone(),
                    origin: origin.into(),
                    message: "unknown key (see config/sigil.reference.toml)".into(),
                });
            };
            (setting.apply)(self, &Raw::Toml(value)).map_err(|message| ConfigError {
                key,
                origin: origin.into(),
                message,
            })?;
            origins.insert(setting.key, origin.to_owned());
        }
        Ok(())
    }

    /// The issuer for a server bound to `bound`.
    pub(crate) fn issuer_for(&self, bound: SocketAddr) -> Url {
        if let Some(issuer) = &self.issuer {
            return issuer.clone();
        }
        let host = if bound.ip().is_unspecified() { "127.0.0.1".to_owned() } else { bound.ip().to_string() };
        let host = if bound.is_ipv6() && !bound.ip().is_unspecified() { format!("[{host}]") } else { host };
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        Url::parse(&format!("{scheme}://{host}:{}", bound.port())).unwrap_or_else(|_| {
            // Unreachable: the string is built from a socket address.
            Url::parse("http://127.0.0.1:8080").expect("static URL parses")
        })
    }
}

#[cfg(test)]
mod tests;
