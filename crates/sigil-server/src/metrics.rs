//! Prometheus metrics at `/metrics`, on the main listener or on one of its
//! own (`metrics.listen`).
//!
//! Everything is counted through the `metrics` facade: the domain crates
//! count what only they see (tokens issued by grant type in `sigil-oidc`'s
//! grants, sign-in outcomes in its sign-in handler, the time of store calls
//! in `sigil-store`) without knowing who exports it, and this module
//! installs the one recorder, `metrics-exporter-prometheus`, which writes
//! the text format. What HTTP shows is counted here, from the outcome of
//! each request: requests by route and status with their latency, and SCIM
//! operations, told by route and method. State that already lives
//! somewhere (the store's pool, the SQLite writer, the process) is read at
//! scrape time rather than updated on every request.
//!
//! Route labels are route patterns (`/scim/v2/Users/{id}`), never raw
//! paths, and unmatched requests share one label, so a client cannot grow
//! the number of series. Histograms are fixed buckets.

use std::time::Duration;

use actix_web::http::Method;
use actix_web::{HttpResponse, web};
use anyhow::Context;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use sigil_store::Store;

/// Latency buckets in seconds, from a cached read to a slow write.
const BUCKETS: &[f64] =
    &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// How often histogram samples are folded into their buckets when nobody
/// scrapes, so memory stays bounded.
const UPKEEP: Duration = Duration::from_secs(5);

/// Present in an app's data when its requests are to be counted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordRequests;

/// The installed recorder and what is read at scrape time.
#[derive(Debug, Clone)]
pub(crate) struct Exporter {
    handle: PrometheusHandle,
    process: metrics_process::Collector,
    store: Store,
}

/// Installs the process-wide recorder. Called once, before anything is
/// counted; without it every count is a no-op.
pub(crate) fn install(store: Store) -> anyhow::Result<Exporter> {
    let handle = PrometheusBuilder::new()
        .set_buckets(BUCKETS)
        .context("cannot set the metrics' buckets")?
        .install_recorder()
        .context("cannot install the metrics recorder")?;
    let process = metrics_process::Collector::default();
    process.describe();
    describe();
    Ok(Exporter { handle, process, store })
}

/// Help texts, written once next to the names.
fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "sigil_http_requests_total",
        "HTTP requests answered, by route pattern, method and status."
    );
    describe_histogram!(
        "sigil_http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer an HTTP request, by route pattern and method."
    );
    describe_counter!(
        "sigil_tokens_issued_total",
        "Token responses issued by the token endpoint, by grant type."
    );
    describe_counter!("sigil_sign_ins_total", "Sign-in attempts, by outcome (success, failure, locked).");
    describe_counter!(
        "sigil_scim_operations_total",
        "SCIM requests, by resource, operation and outcome (success, client_error, server_error)."
    );
    describe_histogram!(
        "sigil_store_call_duration_seconds",
        Unit::Seconds,
        "Time of a store call, waiting for a connection or the writer included, by kind of call."
    );
    describe_gauge!("sigil_store_pool_connections", "Pooled database connections, by state (idle, in_use).");
    describe_gauge!("sigil_store_pool_max_connections", "The most connections the pool opens.");
    describe_counter!("sigil_store_writer_writes_total", "Writes run by the SQLite writer.");
    describe_counter!(
        "sigil_store_writer_batches_total",
        "Transactions the SQLite writer committed or failed."
    );
    describe_gauge!(
        "sigil_store_writer_queue_depth",
        "Writes waiting for the SQLite writer or in its open batch."
    );
}

impl Exporter {
    /// Folds histogram samples into buckets now and then, until the server
    /// stops; scrapes do it too.
    pub(crate) fn keep_up(&self) {
        let handle = self.handle.clone();
        actix_web::rt::spawn(async move {
            let mut every = actix_web::rt::time::interval(UPKEEP);
            loop {
                every.tick().await;
                handle.run_upkeep();
            }
        });
    }

    /// The text exposition of every metric, after reading the state that
    /// is not counted as it changes.
    fn render(&self) -> String {
        self.process.collect();
        let pool = self.store.pool_state();
        let in_use = pool.open.saturating_sub(pool.idle);
        metrics::gauge!("sigil_store_pool_connections", "state" => "idle").set(pool.idle);
        metrics::gauge!("sigil_store_pool_connections", "state" => "in_use").set(in_use);
        metrics::gauge!("sigil_store_pool_max_connections").set(pool.max);
        if let Some(writer) = self.store.writer_counts() {
            metrics::counter!("sigil_store_writer_writes_total").absolute(writer.writes);
            metrics::counter!("sigil_store_writer_batches_total").absolute(writer.batches);
            metrics::gauge!("sigil_store_writer_queue_depth")
                .set(writer.queued.saturating_sub(writer.writes) as f64);
        }
        self.handle.render()
    }
}

/// `GET /metrics`: the Prometheus text format, version 0.0.4.
async fn scrape(exporter: web::Data<Exporter>) -> HttpResponse {
    // Reading /proc and rendering is blocking work: off the executor.
    let exporter = exporter.into_inner();
    match web::block(move || exporter.render()).await {
        Ok(text) => HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(text),
        Err(error) => {
            tracing::error!(%error, "cannot render metrics");
            HttpResponse::InternalServerError().finish()
        }
    }
}

/// Mounts `/metrics`.
pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(scrape));
}

/// Counts one answered request. `route` is the matched pattern, `None`
/// when nothing matched.
pub(crate) fn observe_request(route: Option<&str>, method: &Method, status: u16, elapsed: Duration) {
    let route = route.unwrap_or("unmatched").to_owned();
    let method = method_label(method);
    metrics::counter!(
        "sigil_http_requests_total",
        "route" => route.clone(),
        "method" => method,
        "status" => status_label(status),
    )
    .increment(1);
    metrics::histogram!("sigil_http_request_duration_seconds", "route" => route.clone(), "method" => method)
        .record(elapsed);
    if let Some((resource, operation)) = scim_operation(&route, method) {
        let outcome = match status {
            ..400 => "success",
            400..500 => "client_error",
            _ => "server_error",
        };
        metrics::counter!(
            "sigil_scim_operations_total",
            "resource" => resource,
            "operation" => operation,
            "outcome" => outcome,
        )
        .increment(1);
    }
}

/// Methods as labels; anything unusual is one label, not a new series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// Statuses as labels, without formatting a number per request.
fn status_label(status: u16) -> &'static str {
    const KNOWN: &[(u16, &str)] = &[
        (200, "200"),
        (201, "201"),
        (204, "204"),
        (302, "302"),
        (303, "303"),
        (304, "304"),
        (400, "400"),
        (401, "401"),
        (403, "403"),
        (404, "404"),
        (405, "405"),
        (408, "408"),
        (409, "409"),
        (412, "412"),
        (413, "413"),
        (415, "415"),
        (429, "429"),
        (500, "500"),
        (501, "501"),
        (503, "503"),
    ];
    match KNOWN.iter().find(|(code, _)| *code == status) {
        Some((_, label)) => label,
        None => match status {
            ..200 => "1xx",
            200..300 => "2xx",
            300..400 => "3xx",
            400..500 => "4xx",
            _ => "5xx",
        },
    }
}

/// The SCIM resource and operation (RFC 7644 §3) a route and method
/// stand for; `None` outside SCIM.
fn scim_operation(route: &str, method: &str) -> Option<(&'static str, &'static str)> {
    let path = route.strip_prefix(sigil_scim::http::PREFIX)?;
    let (resource, rest) = match path {
        p if p.starts_with("/Users") => ("User", &p["/Users".len()..]),
        p if p.starts_with("/Groups") => ("Group", &p["/Groups".len()..]),
        p if p.starts_with("/Me") => ("Me", &p["/Me".len()..]),
        "/Bulk" => return Some(("Bulk", "bulk")),
        "/.search" => return Some(("root", "search")),
        _ => return Some(("discovery", "read")),
    };
    let operation = match (rest, method) {
        ("", "POST") if resource != "Me" => "create",
        ("", "GET") if resource != "Me" => "search",
        ("/.search", "POST") => "search",
        ("/{id}" | "", "GET") => "read",
        ("/{id}" | "", "PUT") => "replace",
        ("/{id}" | "", "PATCH") => "patch",
        ("/{id}" | "", "DELETE") => "delete",
        _ => "other",
    };
    Some((resource, operation))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scim_routes_name_their_operation() {
        for (route, method, expected) in [
            ("/scim/v2/Users", "POST", Some(("User", "create"))),
            ("/scim/v2/Users", "GET", Some(("User", "search"))),
            ("/scim/v2/Users/.search", "POST", Some(("User", "search"))),
            ("/scim/v2/Users/{id}", "GET", Some(("User", "read"))),
            ("/scim/v2/Groups/{id}", "PATCH", Some(("Group", "patch"))),
            ("/scim/v2/Groups/{id}", "DELETE", Some(("Group", "delete"))),
            ("/scim/v2/Me", "PUT", Some(("Me", "replace"))),
            ("/scim/v2/Bulk", "POST", Some(("Bulk", "bulk"))),
            ("/scim/v2/.search", "POST", Some(("root", "search"))),
            ("/scim/v2/Schemas/{urn}", "GET", Some(("discovery", "read"))),
            ("/token", "POST", None),
        ] {
            assert_eq!(scim_operation(route, method), expected, "{method} {route}");
        }
    }

    #[test]
    fn labels_are_few() {
        assert_eq!(status_label(404), "404");
        assert_eq!(status_label(418), "4xx");
        assert_eq!(status_label(599), "5xx");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "OTHER");
    }
}
