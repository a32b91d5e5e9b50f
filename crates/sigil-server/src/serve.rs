//! `sigil serve`: migrate, make sure signing keys exist, bind, serve until
//! SIGTERM or SIGINT, then drain in-flight requests and stop.

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
use crate::scim::ProviderTokens;
use crate::telemetry::log_requests;

/// Runs the server until it is told to stop.
pub(crate) fn run(config: &Config) -> anyhow::Result<()> {
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
    actix_web::rt::System::new().block_on(serve(store, listener, issuer, config.clone()))
}

async fn serve(store: Store, listener: TcpListener, issuer: url::Url, config: Config) -> anyhow::Result<()> {
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
    let limits = config.http;
    let body_timeout = web::Data::new(BodyTimeout(limits.body_timeout));
    // actix-web counts connections per worker: the cap is shared out.
    let workers = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(oidc.clone())
            .app_data(scim.clone())
            .app_data(admin.clone())
            .app_data(body_timeout.clone())
            .wrap(from_fn(body_deadline))
            .wrap(from_fn(log_requests))
            .configure(routes)
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
    .shutdown_timeout(config.shutdown_timeout.as_secs())
    .listen(listener)?
    .run();
    tracing::info!(address = %bound, %issuer, store = %store.url(), "sigil listening");
    // A plain line on stdout, for scripts and tests waiting for the port.
    println!("sigil listening on http://{bound}");
    server.await?;
    tracing::info!("sigil stopped");
    Ok(())
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    }
}
