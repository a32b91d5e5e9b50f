//! `sigil serve`: migrate, make sure signing keys exist, bind, serve until
//! SIGTERM or SIGINT, then drain in-flight requests and stop. With TLS
//! configured the main listener speaks HTTPS and SIGHUP reloads its
//! certificate; `/metrics` is served on the main listener or, with
//! `metrics.listen`, on a listener of its own.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::http::KeepAlive;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use sigil_admin::AdminContext;
use sigil_oidc::keys::{SigningAlg, ensure_key_set};
use sigil_oidc::{Api, Provider};
use sigil_scim::http::ScimContext;
use sigil_store::Store;

use crate::commands::create_store;
use crate::config::Config;
use crate::http::{AppState, routes};
use crate::limits::{BodyTimeout, body_deadline};
use crate::metrics::{Exporter, RecordRequests};
use crate::proxies::resolve_client;
use crate::scim::ProviderTokens;
use crate::telemetry::log_requests;
use crate::tls::Reloader;

/// What `run` prepared before the runtime starts.
struct Listeners {
    main: TcpListener,
    tls: Option<(rustls::ServerConfig, Reloader)>,
    metrics: Option<TcpListener>,
}

/// Runs the server until it is told to stop.
pub(crate) fn run(config: &Config) -> anyhow::Result<()> {
    // A certificate that does not load is a configuration error, reported
    // before anything else happens.
    let tls = config.tls.as_ref().map(crate::tls::server_config).transpose()?;
    let store = create_store(config)?;
    // Bind before building the app so the issuer can name the real port
    // (`SIGIL_BIND=127.0.0.1:0` picks a free one).
    let listener =
        TcpListener::bind(config.bind).with_context(|| format!("cannot listen on {}", config.bind))?;
    let bound = listener.local_addr()?;
    let issuer = config.issuer_for(bound);
    if issuer.scheme() != "https" && !is_loopback(&issuer) {
        tracing::warn!(%issuer, "the issuer is not https: tokens and cookies cross the network in the clear");
    }
    let metrics = match config.metrics.listen.filter(|_| config.metrics.enabled) {
        Some(address) => Some(
            TcpListener::bind(address).with_context(|| format!("cannot listen on {address} for metrics"))?,
        ),
        None => None,
    };
    let listeners = Listeners { main: listener, tls, metrics };
    actix_web::rt::System::new().block_on(serve(store, listeners, issuer, config.clone()))
}

async fn serve(store: Store, listeners: Listeners, issuer: url::Url, config: Config) -> anyhow::Result<()> {
    let Listeners { main: listener, tls, metrics: metrics_listener } = listeners;
    let exporter = if config.metrics.enabled { Some(crate::metrics::install(store.clone())?) } else { None };
    let mut created = Vec::new();
    for alg in SigningAlg::ALL {
        created.extend(ensure_key_set(&store, alg).await.context("cannot prepare signing keys")?);
    }
    if created.is_empty() {
        tracing::info!("signing keys in place, none created");
    } else {
        tracing::info!(keys = ?created, "created signing keys");
    }
    let bound = listener.local_addr()?;
    let state = web::Data::new(AppState { store: store.clone() });
    let oidc = web::Data::new(
        Provider::new(store.clone(), issuer.as_str(), config.lifetimes)
            .with_trusted_issuers(config.trusted_issuers.clone())
            .with_groups_claim(config.groups_claim.clone())
            .with_password_policy(config.passwords)
            // A scope that admits a token to an API makes the API its audience.
            .with_api(Api::Scim, sigil_access::Scopes::ScimRead.any_of())
            .with_api(Api::Admin, sigil_access::Scopes::Admin.any_of()),
    );
    let issuer = oidc.issuer().to_owned();
    let tokens = Arc::new(ProviderTokens { oidc: oidc.get_ref().clone(), store: store.clone() });
    let admin = web::Data::new(AdminContext::new(store.clone(), oidc.get_ref().clone()));
    let scim = web::Data::new(
        ScimContext::new(store.clone(), &issuer, tokens)
            .with_rights(config.scim_rights.clone())
            .with_password_policy(config.passwords),
    );
    let openapi = web::Data::new(crate::openapi::Document::new(&issuer));
    let limits = config.http;
    let body_timeout = web::Data::new(BodyTimeout(limits.body_timeout));
    let proxies = web::Data::new(config.proxies.clone());
    // On the main listener only when it has no listener of its own.
    let public_metrics = exporter.clone().filter(|_| metrics_listener.is_none()).map(web::Data::new);
    let counting = exporter.is_some();
    // actix-web counts connections per worker: the cap is shared out.
    let workers = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let server = HttpServer::new(move || {
        let mut app = App::new()
            .app_data(state.clone())
            .app_data(oidc.clone())
            .app_data(scim.clone())
            .app_data(admin.clone())
            .app_data(body_timeout.clone())
            .app_data(proxies.clone())
            .app_data(openapi.clone());
        if counting {
            app = app.app_data(web::Data::new(RecordRequests));
        }
        if let Some(exporter) = &public_metrics {
            app = app.app_data(exporter.clone()).configure(crate::metrics::routes);
        }
        app.wrap(from_fn(body_deadline))
            .wrap(from_fn(log_requests))
            // Outermost: the log and every handler see the client's address.
            .wrap(from_fn(resolve_client))
            .configure(routes)
            .configure(crate::openapi::routes)
            .configure(sigil_oidc::http::configure)
            .configure(sigil_scim::http::configure)
            .configure(sigil_admin::configure)
    })
    .workers(workers)
    .max_connections(limits.max_connections.div_ceil(workers))
    .keep_alive(if limits.keep_alive.is_zero() {
        KeepAlive::Disabled
    } else {
        KeepAlive::Timeout(limits.keep_alive)
    })
    .client_request_timeout(limits.client_request_timeout)
    .shutdown_timeout(config.shutdown_timeout.as_secs());
    let (server, scheme) = match tls {
        Some((tls_config, reloader)) => {
            crate::tls::reload_on_sighup(Some(reloader)).context("cannot handle SIGHUP")?;
            (server.listen_rustls_0_23(listener, tls_config)?.run(), "https")
        }
        None => {
            crate::tls::reload_on_sighup(None).context("cannot handle SIGHUP")?;
            (server.listen(listener)?.run(), "http")
        }
    };
    let metrics_server = match (&exporter, metrics_listener) {
        (Some(exporter), Some(listener)) => Some(metrics_server(exporter, listener, &config)?),
        _ => None,
    };
    if let Some(exporter) = &exporter {
        exporter.keep_up();
    }
    if let Some(retention) = config.audit_retention {
        actix_web::rt::spawn(forget_old_audit_records(store.clone(), retention));
    }
    tracing::info!(address = %bound, %issuer, store = %store.url(), "sigil listening");
    // Plain lines on stdout, for scripts and tests waiting for the ports:
    // the metrics listener's first, so the main line comes last.
    if let Some((address, _)) = &metrics_server {
        println!("sigil metrics on http://{address}/metrics");
    }
    println!("sigil listening on {scheme}://{bound}");
    match metrics_server {
        Some((_, metrics)) => {
            futures_util::future::try_join(server, metrics).await?;
        }
        None => server.await?,
    }
    tracing::info!("sigil stopped");
    Ok(())
}

/// `/metrics` alone, in plain HTTP, on a listener of its own: meant for a
/// private address the monitoring system reaches and clients do not.
fn metrics_server(
    exporter: &Exporter,
    listener: TcpListener,
    config: &Config,
) -> anyhow::Result<(std::net::SocketAddr, actix_web::dev::Server)> {
    let address = listener.local_addr()?;
    let exporter = web::Data::new(exporter.clone());
    let server =
        HttpServer::new(move || App::new().app_data(exporter.clone()).configure(crate::metrics::routes))
            .workers(1)
            .shutdown_timeout(config.shutdown_timeout.as_secs())
            .listen(listener)
            .with_context(|| format!("cannot serve metrics on {address}"))?
            .run();
    Ok((address, server))
}

/// How often the audit trail's old records are deleted.
const AUDIT_PURGE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

/// Deletes audit records older than `retention`, at start and then hourly:
/// one DELETE over the time index. Every node does it; a second DELETE of
/// the same range finds nothing.
async fn forget_old_audit_records(store: Store, retention: chrono::TimeDelta) {
    loop {
        let before = store.now() - retention;
        match store.write(move |c| sigil_store::audit::purge(c, before)).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "old audit records deleted"),
            Err(e) => tracing::warn!(error = %e, "old audit records could not be deleted"),
        }
        actix_web::rt::time::sleep(AUDIT_PURGE_INTERVAL).await;
    }
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    }
}
