//! The configuration's sources, checks and error messages.

use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn from_file(text: &str) -> Result<Config, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sigil.toml");
    std::fs::write(&path, text).unwrap();
    Config::load(Some(&path), []).map(|(c, _)| c)
}

#[test]
fn defaults_need_nothing() {
    let (config, warnings) = Config::load(None, []).unwrap();
    assert_eq!(config.bind.to_string(), "127.0.0.1:8080");
    assert_eq!(config.database_url, DatabaseUrl::Sqlite("sigil.db".into()));
    assert_eq!(config.issuer_for(config.bind).as_str(), "http://127.0.0.1:8080/");
    assert!(warnings.is_empty());
}

#[test]
fn environment_overrides_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sigil.toml");
    std::fs::write(&path, "bind = \"127.0.0.1:9000\"\n[database]\nurl = \"a.db\"\npool_size = 4\n").unwrap();
    let (config, _) = Config::load(
        Some(&path),
        env(&[
            ("SIGIL_DATABASE_URL", "postgres://sigil@db/sigil"),
            ("SIGIL_ISSUER", "https://id.example.com"),
        ]),
    )
    .unwrap();
    assert_eq!(config.bind.port(), 9000);
    assert_eq!(config.pool.max_size, 4);
    assert_eq!(config.database_url.backend_name(), "postgres");
    assert_eq!(config.issuer_for(config.bind).as_str(), "https://id.example.com/");
}

#[test]
fn bad_values_name_their_key_and_source() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("SIGIL_BIND", "localhost")], "`bind` (from SIGIL_BIND)"),
        (&[("SIGIL_ISSUER", "https://id.example.com/?x=1")], "`issuer` (from SIGIL_ISSUER)"),
        (&[("SIGIL_ISSUER", "ftp://id.example.com")], "`issuer` (from SIGIL_ISSUER)"),
        (&[("SIGIL_DATABASE_URL", "mysql://x")], "`database.url` (from SIGIL_DATABASE_URL)"),
        (&[("SIGIL_DATABASE_POOL_SIZE", "0")], "`database.pool_size`"),
        (&[("SIGIL_DATABASE_POOL_SIZE", "many")], "`database.pool_size`"),
        (&[("SIGIL_LOG_FORMAT", "xml")], "`log.format`"),
        (&[("SIGIL_LOG_LEVEL", "loud")], "`log.level` (from SIGIL_LOG_LEVEL)"),
        (&[("SIGIL_LOG_LEVEL", "info,sigil=loud")], "`log.level` (from SIGIL_LOG_LEVEL)"),
        (&[("SIGIL_LOG_LEVEL", "")], "`log.level` (from SIGIL_LOG_LEVEL)"),
        (&[("SIGIL_HTTP_BODY_TIMEOUT_SECONDS", "0")], "`http.body_timeout_seconds`"),
        (&[("SIGIL_HTTP_KEEP_ALIVE_SECONDS", "soon")], "`http.keep_alive_seconds`"),
        (&[("SIGIL_HTTP_CLIENT_REQUEST_TIMEOUT_SECONDS", "0")], "`http.client_request_timeout_seconds`"),
        (&[("SIGIL_HTTP_MAX_CONNECTIONS", "0")], "`http.max_connections`"),
        (
            &[("SIGIL_TOKENS_AUTHORIZATION_CODE_LIFETIME_SECONDS", "9")],
            "`tokens.authorization_code_lifetime_seconds` (from SIGIL_TOKENS_AUTHORIZATION_CODE_LIFETIME_SECONDS)",
        ),
        (&[("SIGIL_TOKENS_AUTHORIZATION_CODE_LIFETIME_SECONDS", "601")], "601 is outside 10..=600"),
    ];
    for (vars, expected) in cases {
        let err = Config::load(None, env(vars)).unwrap_err().to_string();
        assert!(err.contains(expected), "{vars:?}: {err}");
        assert!(!err.contains('\n'), "one line: {err}");
    }
}

#[test]
fn bad_file_values_name_their_key() {
    let err = from_file("[database]\npool_size = \"eight\"\n").unwrap_err().to_string();
    assert!(err.contains("`database.pool_size`") && err.contains("expected an integer"), "{err}");
    let err = from_file("bindd = \"127.0.0.1:1\"\n").unwrap_err().to_string();
    assert!(err.contains("`bindd`") && err.contains("unknown key"), "{err}");
    let err = from_file("bind = \n").unwrap_err().to_string();
    assert!(err.contains("not valid TOML"), "{err}");
    assert!(from_file("[log]\nformat = \"json\"\nlevel = \"debug\"\n").is_ok());
    for level in ["error", "WARN", "trace", "off", "info,sigil=debug", "sigil_oidc=trace,actix_web=warn"] {
        assert!(Config::load(None, env(&[("SIGIL_LOG_LEVEL", level)])).is_ok(), "{level}");
    }
}

#[test]
fn scim_rights_come_from_the_file_or_the_environment() {
    let config = from_file(
        "[[scim.rights]]\ngroup = \"HR\"\nresource = \"User\"\noperations = [\"create\", \"read\"]\n",
    )
    .unwrap();
    assert_eq!(config.scim_rights.len(), 1);
    assert_eq!(config.scim_rights[0].group, "HR");
    let (config, _) = Config::load(
        None,
        env(&[("SIGIL_SCIM_RIGHTS", r#"[{ group = "A", resource = "Groups", operations = ["delete"] }]"#)]),
    )
    .unwrap();
    assert_eq!(config.scim_rights[0].operations, [sigil_scim::rights::Operation::Delete]);
    for bad in [r#"[{ group = "A", resource = "Robots", operations = [] }]"#, r#"[{ group = "A" }]"#, "nope"]
    {
        let err = Config::load(None, env(&[("SIGIL_SCIM_RIGHTS", bad)])).unwrap_err().to_string();
        assert!(err.contains("`scim.rights` (from SIGIL_SCIM_RIGHTS)"), "{bad}: {err}");
    }
}

#[test]
fn password_policy_comes_from_the_file_or_the_environment() {
    assert_eq!(Config::load(None, []).unwrap().0.passwords, PasswordPolicy::default());
    let config = from_file("[passwords]\nmin_length = 12\nrefuse_common = false\n").unwrap();
    assert_eq!(config.passwords, PasswordPolicy::new(12, false).unwrap());
    let (config, _) = Config::load(
        None,
        env(&[("SIGIL_PASSWORDS_MIN_LENGTH", "15"), ("SIGIL_PASSWORDS_REFUSE_COMMON", "true")]),
    )
    .unwrap();
    assert_eq!(config.passwords, PasswordPolicy::new(15, true).unwrap());
    for (vars, expected) in [
        (("SIGIL_PASSWORDS_MIN_LENGTH", "7"), "`passwords.min_length` (from SIGIL_PASSWORDS_MIN_LENGTH)"),
        (("SIGIL_PASSWORDS_MIN_LENGTH", "1025"), "`passwords.min_length`"),
        (("SIGIL_PASSWORDS_REFUSE_COMMON", "yes"), "`passwords.refuse_common`"),
    ] {
        let err = Config::load(None, env(&[vars])).unwrap_err().to_string();
        assert!(err.contains(expected), "{vars:?}: {err}");
    }
    let err = from_file("[passwords]\nrefuse_common = \"no\"\n").unwrap_err().to_string();
    assert!(err.contains("expected a boolean"), "{err}");
}

#[test]
fn http_limits_come_from_the_file_or_the_environment() {
    assert_eq!(Config::load(None, []).unwrap().0.http, HttpLimits::default());
    let config = from_file(
        "[http]\nbody_timeout_seconds = 3\nkeep_alive_seconds = 0\n\
         client_request_timeout_seconds = 7\nmax_connections = 100\n",
    )
    .unwrap();
    assert_eq!(
        config.http,
        HttpLimits {
            body_timeout: Duration::from_secs(3),
            keep_alive: Duration::ZERO,
            client_request_timeout: Duration::from_secs(7),
            max_connections: 100,
        }
    );
    let (config, _) = Config::load(None, env(&[("SIGIL_HTTP_BODY_TIMEOUT_SECONDS", "1")])).unwrap();
    assert_eq!(config.http.body_timeout, Duration::from_secs(1));
    let err = from_file("[http]\nmax_connections = -1\n").unwrap_err().to_string();
    assert!(err.contains("`http.max_connections`"), "{err}");
}

#[test]
fn tls_metrics_and_proxies_come_from_the_file_or_the_environment() {
    let config = from_file(
        "issuer = \"https://id.example.com\"\n[tls]\ncert_file = \"c.pem\"\nkey_file = \"k.pem\"\n\
         [metrics]\nlisten = \"127.0.0.1:9090\"\n[http]\ntrusted_proxies = [\"10.0.0.0/8\", \"::1\"]\n\
         trusted_proxy_header = \"forwarded\"\n",
    )
    .unwrap();
    let tls = config.tls.as_ref().unwrap();
    assert_eq!((tls.cert_file.to_str(), tls.key_file.to_str()), (Some("c.pem"), Some("k.pem")));
    assert!(tls.cert_origin.ends_with("sigil.toml"), "{}", tls.cert_origin);
    assert_eq!(
        config.metrics,
        MetricsConfig { enabled: true, listen: Some("127.0.0.1:9090".parse().unwrap()) }
    );
    assert_eq!(config.proxies.networks.len(), 2);
    assert_eq!(config.proxies.header, crate::proxies::ForwardedHeader::Forwarded);
    let (config, _) = Config::load(
        None,
        env(&[
            ("SIGIL_TLS_CERT_FILE", "c.pem"),
            ("SIGIL_TLS_KEY_FILE", "k.pem"),
            ("SIGIL_HTTP_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8"),
            ("SIGIL_METRICS_ENABLED", "false"),
        ]),
    )
    .unwrap();
    assert_eq!(config.issuer_for(config.bind).as_str(), "https://127.0.0.1:8080/", "TLS makes it https");
    assert_eq!(config.proxies.networks.len(), 2);
    assert!(!config.metrics.enabled);
    assert_eq!(config.tls.unwrap().key_origin, "SIGIL_TLS_KEY_FILE");
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("SIGIL_TLS_CERT_FILE", "c.pem")],
            "`tls.key_file` (from SIGIL_TLS_CERT_FILE): `tls.cert_file` needs",
        ),
        (&[("SIGIL_TLS_KEY_FILE", "k.pem")], "`tls.cert_file` (from SIGIL_TLS_KEY_FILE)"),
        (
            &[
                ("SIGIL_TLS_CERT_FILE", "c"),
                ("SIGIL_TLS_KEY_FILE", "k"),
                ("SIGIL_ISSUER", "http://id.example.com"),
            ],
            "`issuer` (from SIGIL_ISSUER): `http://id.example.com/` must use https",
        ),
        (&[("SIGIL_TLS_CERT_FILE", " ")], "`tls.cert_file`"),
        (&[("SIGIL_HTTP_TRUSTED_PROXIES", "10.0.0.0/8, proxy.local")], "`http.trusted_proxies`"),
        (&[("SIGIL_HTTP_TRUSTED_PROXIES", "10.0.0.1/8")], "did you mean 10.0.0.0/8"),
        (&[("SIGIL_HTTP_TRUSTED_PROXY_HEADER", "x-real-ip")], "`http.trusted_proxy_header`"),
        (&[("SIGIL_METRICS_LISTEN", "9090")], "`metrics.listen`"),
        (
            &[("SIGIL_METRICS_LISTEN", "127.0.0.1:8080")],
            "`metrics.listen` (from SIGIL_METRICS_LISTEN): 127.0.0.1:8080 is the main",
        ),
        (&[("SIGIL_METRICS_ENABLED", "yes")], "`metrics.enabled`"),
    ];
    for (vars, expected) in cases {
        let err = Config::load(None, env(vars)).unwrap_err().to_string();
        assert!(err.contains(expected), "{vars:?}: {err}");
    }
    let err = from_file("[http]\ntrusted_proxies = \"10.0.0.0/8\"\n").unwrap_err().to_string();
    assert!(err.contains("expected an array of strings"), "{err}");
}

#[test]
fn unknown_environment_variables_warn() {
    let (_, warnings) = Config::load(None, env(&[("SIGIL_DATABSE_URL", "x"), ("PATH", "/bin")])).unwrap();
    assert_eq!(warnings, ["ignoring unknown environment variable SIGIL_DATABSE_URL"]);
}

#[test]
fn the_code_lifetime_comes_from_the_file_or_the_environment() {
    let (config, _) = Config::load(None, []).unwrap();
    assert_eq!(config.lifetimes.authorization_code, TimeDelta::seconds(60), "the default");
    let config = from_file("[tokens]\nauthorization_code_lifetime_seconds = 600\n").unwrap();
    assert_eq!(config.lifetimes.authorization_code, TimeDelta::minutes(10));
    let (config, _) =
        Config::load(None, env(&[("SIGIL_TOKENS_AUTHORIZATION_CODE_LIFETIME_SECONDS", "10")])).unwrap();
    assert_eq!(config.lifetimes.authorization_code, TimeDelta::seconds(10));
    let err = from_file("[tokens]\nauthorization_code_lifetime_seconds = 3600\n").unwrap_err().to_string();
    assert!(
        err.contains("`tokens.authorization_code_lifetime_seconds`") && err.contains("10..=600"),
        "{err}"
    );
}

#[test]
fn audit_retention_comes_from_the_file_or_the_environment() {
    let (config, _) = Config::load(None, env(&[])).unwrap();
    assert_eq!(config.audit_retention, Some(chrono::TimeDelta::days(365)), "a year by default");
    let config = from_file("[audit]\nretention_days = 30\n").unwrap();
    assert_eq!(config.audit_retention, Some(chrono::TimeDelta::days(30)));
    let (config, _) = Config::load(None, env(&[("SIGIL_AUDIT_RETENTION_DAYS", "0")])).unwrap();
    assert_eq!(config.audit_retention, None, "0 keeps records forever");
    let err = from_file("[audit]\nretention_days = -1\n").unwrap_err().to_string();
    assert!(err.contains("`audit.retention_days`"), "{err}");
    let err = Config::load(None, env(&[("SIGIL_AUDIT_RETENTION_DAYS", "soon")])).unwrap_err().to_string();
    assert!(err.contains("`audit.retention_days`"), "{err}");
}
