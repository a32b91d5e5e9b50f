//! HTTP wiring: the server's own routes (health, readiness) and their
//! state. Protocol endpoints live in their own crates and are mounted in
//! `serve`.

use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use serde_json::json;
use sigil_store::Store;

/// What every handler may use. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    pub(crate) store: Store,
}

/// How long `/readyz` waits for the database.
const READY_TIMEOUT: Duration = Duration::from_secs(3);

/// Mounts every route.
pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(healthz).service(readyz);
}

/// Liveness: the process is up and serving.
#[get("/healthz")]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Readiness: the store answers. A load balancer should send no traffic to a
/// node that answers 503 here.
#[get("/readyz")]
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match tokio::time::timeout(READY_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => HttpResponse::Ok().json(json!({ "status": "ready" })),
        Ok(Err(error)) => {
            tracing::warn!(%error, "store not ready");
            HttpResponse::ServiceUnavailable().json(json!({ "status": "unavailable" }))
        }
        Err(_) => {
            tracing::warn!("store did not answer within {READY_TIMEOUT:?}");
            HttpResponse::ServiceUnavailable().json(json!({ "status": "unavailable" }))
        }
    }
}
