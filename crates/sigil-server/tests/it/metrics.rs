//! `/metrics` read by a parser nobody on the project wrote: the official
//! Prometheus Python client's, through `conformance/prometheus/parse.py`,
//! which also checks what a scraper relies on (a TYPE per family, no
//! duplicate series, cumulative histogram buckets). Counters are compared
//! before and after requests the test makes, so each must move by exactly
//! what was done.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;
use sigil_testkit::process::Server;
use sigil_testkit::{Backend, TestDb, backend_tests};
use url::Url;

use crate::oidc::{PASSWORD, RP, browser, setup, sign_in};

backend_tests!(counters_move_with_the_requests_made);

/// A Python interpreter with the Prometheus client installed.
fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let requirements = crate::python::conformance("prometheus").join("requirements.txt");
        crate::python::venv("prometheus-venv", &requirements).join("python")
    })
}

/// One scrape, parsed: family name → `{type, samples: [[name, labels, value]]}`.
pub(crate) struct Scrape {
    pub(crate) text: String,
    families: Value,
}

impl Scrape {
    /// The sum of `sample`'s values whose labels include `labels`; 0 when
    /// there are none (a counter not yet incremented is not exported).
    pub(crate) fn value(&self, family: &str, sample: &str, labels: &[(&str, &str)]) -> f64 {
        let Some(samples) = self.families[family]["samples"].as_array() else { return 0.0 };
        samples
            .iter()
            .filter(|s| s[0] == sample)
            .filter(|s| labels.iter().all(|(k, v)| s[1][*k] == *v))
            .map(|s| s[2].as_f64().unwrap())
            .sum()
    }

    /// A counter's value.
    pub(crate) fn counter(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        if let Some(kind) = self.families[name]["type"].as_str() {
            assert_eq!(kind, "counter", "{name}");
        }
        self.value(name, name, labels)
    }

    /// How many samples a histogram holds.
    fn observations(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        if let Some(kind) = self.families[name]["type"].as_str() {
            assert_eq!(kind, "histogram", "{name}");
        }
        self.value(name, &format!("{name}_count"), labels)
    }

    /// A gauge's value; it must be there.
    fn gauge(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        assert_eq!(self.families[name]["type"], "gauge", "{name} in {}", self.text);
        self.value(name, name, labels)
    }
}

/// Reads `url` and parses it with the Prometheus client (failing the test
/// on anything the parser or the checks refuse).
pub(crate) fn scrape(url: &str) -> Scrape {
    let response = reqwest::blocking::Client::new().get(url).timeout(Duration::from_secs(10)).send().unwrap();
    assert_eq!(response.status(), 200, "{url}");
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    let text = response.text().unwrap();
    let mut parser = Command::new(python())
        .arg(crate::python::conformance("prometheus").join("parse.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    parser.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = parser.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the parser refused /metrics: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    Scrape { text, families: serde_json::from_slice(&out.stdout).unwrap() }
}

fn get(url: &str) -> u16 {
    reqwest::blocking::Client::new().get(url).send().unwrap().status().as_u16()
}

fn counters_move_with_the_requests_made(db: &TestDb) {
    setup(db);
    let server = Server::start(crate::bin(), db, &[]);
    let metrics = server.url("/metrics");
    let before = scrape(&metrics);
    for family in ["process_resident_memory_bytes", "process_open_fds", "process_start_time_seconds"] {
        assert!(before.gauge(family, &[]) > 0.0, "{family}");
    }
    assert!(before.counter("process_cpu_seconds_total", &[]) >= 0.0);
    assert!(before.gauge("sigil_store_pool_max_connections", &[]) >= 1.0);

    assert_eq!(get(&server.url("/healthz")), 200);
    assert_eq!(get(&server.url("/healthz")), 200);
    // Two ids, one route: the label is the pattern, not the path.
    let ids = ["7d0b5c0e-metrics-id-one", "c1a2b3d4-metrics-id-two"];
    for id in ids {
        assert_eq!(get(&server.url(&format!("/scim/v2/Users/{id}"))), 401);
    }
    assert_eq!(get(&server.url("/no/such/path/a1")), 404);
    assert_eq!(get(&server.url("/no/such/path/b2")), 404);
    let token = crate::scim::token(db, &server, "metrics-provisioner", "scim:read");
    let listed = reqwest::blocking::Client::new()
        .get(server.url("/scim/v2/Users"))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .status();
    assert_eq!(listed, 200);
    let params = [("client_id", "web"), ("redirect_uri", RP), ("response_type", "code"), ("scope", "openid")];
    let authorize = Url::parse_with_params(&server.url("/authorize"), &params).unwrap();
    assert_eq!(sign_in(&server, &browser(), authorize.as_str(), "not the password").status(), 200);
    let signed_in = sign_in(&server, &browser(), authorize.as_str(), PASSWORD);
    assert_eq!(signed_in.status(), 302, "signed in and sent to the client");

    let after = scrape(&metrics);
    let moved =
        |name: &str, labels: &[(&str, &str)]| after.counter(name, labels) - before.counter(name, labels);
    let requests = "sigil_http_requests_total";
    assert_eq!(moved(requests, &[("route", "/healthz"), ("method", "GET"), ("status", "200")]), 2.0);
    assert_eq!(moved(requests, &[("route", "/scim/v2/Users/{id}"), ("status", "401")]), 2.0);
    assert_eq!(moved(requests, &[("route", "unmatched"), ("status", "404")]), 2.0);
    assert_eq!(moved(requests, &[("route", "/token"), ("method", "POST"), ("status", "200")]), 1.0);
    assert_eq!(moved(requests, &[("route", "/login"), ("method", "POST")]), 2.0);
    for raw in ids.iter().chain(&["/no/such/path"]) {
        assert!(!after.text.contains(raw), "a raw path became a label: {raw}");
    }
    let latency = "sigil_http_request_duration_seconds";
    let healthz = [("route", "/healthz"), ("method", "GET")];
    assert_eq!(after.observations(latency, &healthz) - before.observations(latency, &healthz), 2.0);
    assert_eq!(moved("sigil_tokens_issued_total", &[("grant_type", "client_credentials")]), 1.0);
    assert_eq!(moved("sigil_tokens_issued_total", &[("grant_type", "authorization_code")]), 0.0);
    assert_eq!(moved("sigil_sign_ins_total", &[("outcome", "failure")]), 1.0);
    assert_eq!(moved("sigil_sign_ins_total", &[("outcome", "success")]), 1.0);
    assert_eq!(moved("sigil_sign_ins_total", &[("outcome", "locked")]), 0.0);
    let scim = "sigil_scim_operations_total";
    assert_eq!(moved(scim, &[("resource", "User"), ("operation", "search"), ("outcome", "success")]), 1.0);
    assert_eq!(moved(scim, &[("resource", "User"), ("operation", "read"), ("outcome", "client_error")]), 2.0);
    let store = "sigil_store_call_duration_seconds";
    // A sign-in writes (the throttle, the session); the token endpoint reads.
    let write = [("call", "write")];
    assert!(after.observations(store, &write) > before.observations(store, &write));
    let reads = after.observations(store, &[]) - after.observations(store, &write);
    assert!(reads > before.observations(store, &[]) - before.observations(store, &write));
    assert!(after.gauge("sigil_store_pool_connections", &[("state", "idle")]) >= 0.0);
    assert!(after.gauge("sigil_store_pool_connections", &[("state", "in_use")]) >= 0.0);
    if db.backend() == Backend::Sqlite {
        assert!(moved("sigil_store_writer_writes_total", &[]) >= 2.0, "the sign-ins went through the writer");
        assert!(moved("sigil_store_writer_batches_total", &[]) >= 1.0);
        assert_eq!(after.gauge("sigil_store_writer_queue_depth", &[]), 0.0, "nothing is being written now");
    } else {
        assert!(!after.text.contains("sigil_store_writer_"), "PostgreSQL has no single writer");
    }
}

/// With `metrics.listen`, `/metrics` leaves the main listener for its own,
/// which still counts the main listener's requests.
#[test]
fn metrics_can_have_a_listener_of_their_own_or_none() {
    let db = TestDb::sqlite();
    let server = Server::start(crate::bin(), &db, &[("SIGIL_METRICS_LISTEN", "127.0.0.1:0")]);
    let own = server.metrics_addr.expect("the metrics listener's address is printed");
    assert_ne!(own, server.addr);
    assert_eq!(get(&server.url("/metrics")), 404, "not on the main listener");
    assert_eq!(get(&server.url("/healthz")), 200);
    let scraped = scrape(&format!("http://{own}/metrics"));
    assert_eq!(scraped.counter("sigil_http_requests_total", &[("route", "/healthz")]), 1.0);
    assert_eq!(scraped.counter("sigil_http_requests_total", &[("route", "/metrics")]), 0.0);
    assert_eq!(get(&format!("http://{own}/healthz")), 404, "the metrics listener serves metrics only");
    drop(server);

    let off = Server::start(crate::bin(), &db, &[("SIGIL_METRICS_ENABLED", "false")]);
    assert_eq!(get(&off.url("/metrics")), 404);
    assert!(off.metrics_addr.is_none());
}
