//! Logging: a `tracing` subscriber writing to stderr (stdout is kept for
//! command output), and the middleware that logs every HTTP request with
//! its request id, client address, method, path, status and latency, and
//! counts it for `/metrics` when metrics are on.
//!
//! ERROR is for the server's own faults (a 5xx). What a client got wrong
//! (a 4xx, a request that could not even be parsed) is logged at INFO or
//! DEBUG, so a client cannot fill the error log, or page anyone.
//!
//! Query strings and bodies are never logged: they can carry codes,
//! passwords and tokens.

use std::fmt;
use std::io::IsTerminal;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, web};
use tracing::field::{Field, Visit};
use tracing::{Event, Instrument, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{Config, LogFormat};
use crate::metrics::{RecordRequests, observe_request};

/// The header that carries a request's id in and out.
pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Installs the global subscriber. Commands other than `serve` log only
/// warnings, so their output stays readable.
pub(crate) fn init(config: &Config, serving: bool) {
    let level = if serving { config.log_level.as_str() } else { "warn" };
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = match config.log_format {
        LogFormat::Text => builder.finish().with(ClientFaults).try_init(),
        LogFormat::Json => {
            builder.json().flatten_event(true).with_current_span(true).finish().with(ClientFaults).try_init()
        }
    };
}

/// actix-web's HTTP/1 dispatcher logs, at ERROR, every connection that
/// ended in an error, most of them the client's doing: a request head or
/// chunked body that does not parse, a head sent too slowly, a connection
/// reset. Those lines are dropped and logged again at DEBUG; the
/// dispatcher's other errors (the service's, the response body's) stay.
#[derive(Debug, Clone, Copy)]
struct ClientFaults;

/// How the dispatcher's client-caused errors begin (`DispatchError`'s
/// messages, after its "stream error: ").
const CLIENT_FAULTS: [&str; 5] = [
    "request parse error",
    "I/O error",
    "request did not complete within the specified timeout",
    "connection shutdown timeout",
    "handler dropped payload before reading EOF",
];

impl<S: Subscriber> Layer<S> for ClientFaults {
    fn event_enabled(&self, event: &Event<'_>, _: Context<'_, S>) -> bool {
        let meta = event.metadata();
        if *meta.level() != Level::ERROR || meta.target() != "actix_http::h1::dispatcher" {
            return true;
        }
        let mut message = Message(String::new());
        event.record(&mut message);
        let Some(error) = message.0.strip_prefix("stream error: ") else { return true };
        if !CLIENT_FAULTS.iter().any(|fault| error.starts_with(fault)) {
            return true;
        }
        tracing::debug!(%error, "a connection ended on the client's error");
        false
    }
}

/// The `message` of an event.
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

/// Reuses a caller's request id when it is short and plain, so a request can
/// be followed through a proxy; otherwise makes one.
fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|id| {
            !id.is_empty()
                && id.len() <= 64
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
        .map_or_else(sigil_store::new_id, str::to_owned)
}

/// Logs one line per request, inside a span that every log line of the
/// handler inherits, and echoes the request id in the response. The client
/// address is the peer's, or the one a trusted proxy named
/// (`proxies::resolve_client` runs first).
pub(crate) async fn log_requests(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = request_id(&req);
    // The handlers read the id from the request (the audit trail records
    // it): the caller's, when plain enough to keep, or the one made here.
    if let Ok(value) = HeaderValue::from_str(&id) {
        req.headers_mut().insert(REQUEST_ID, value);
    }
    let client = req.peer_addr().map(|a| a.ip());
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        client = client.map(tracing::field::display),
        method = %req.method(),
        path = %req.path(),
    );
    let counting = req.app_data::<web::Data<RecordRequests>>().is_some();
    let method = req.method().clone();
    let started = Instant::now();
    let result = next.call(req).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    let _entered = span.enter();
    match result {
        Ok(mut response) => {
            let status = response.status().as_u16();
            if counting {
                observe_request(response.request().match_pattern().as_deref(), &method, status, elapsed);
            }
            if status >= 500 {
                tracing::error!(status, latency_ms, "request failed");
            } else {
                tracing::info!(status, latency_ms, "request");
            }
            if let Ok(value) = HeaderValue::from_str(&id) {
                response.headers_mut().insert(REQUEST_ID, value);
            }
            Ok(response)
        }
        Err(error) => {
            let status = error.as_response_error().status_code().as_u16();
            if counting {
                observe_request(None, &method, status, elapsed);
            }
            if status >= 500 {
                tracing::error!(status, latency_ms, %error, "request failed");
            } else {
                tracing::info!(status, latency_ms, %error, "request");
            }
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tracing_subscriber::Registry;

    use super::*;

    /// Counts the events that get through.
    struct Count(Arc<AtomicUsize>);

    impl<S: Subscriber> Layer<S> for Count {
        fn on_event(&self, _: &Event<'_>, _: Context<'_, S>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn the_dispatchers_client_faults_are_not_errors() {
        let seen = Arc::new(AtomicUsize::new(0));
        let subscriber = Registry::default().with(ClientFaults).with(Count(Arc::clone(&seen)));
        tracing::subscriber::with_default(subscriber, || {
            let passed = |emit: &dyn Fn()| {
                let before = seen.load(Ordering::SeqCst);
                emit();
                seen.load(Ordering::SeqCst) > before
            };
            let dispatcher = |error: &str| {
                let error = error.to_owned();
                move || tracing::error!(target: "actix_http::h1::dispatcher", "stream error: {error}")
            };
            assert!(!passed(&dispatcher("request parse error: invalid Header provided")));
            assert!(!passed(&dispatcher("I/O error: connection reset by peer")));
            assert!(passed(&dispatcher("service error")), "a server fault stays an error");
            assert!(passed(&dispatcher("internal error")));
            assert!(passed(&|| tracing::error!("stream error: request parse error: from elsewhere")));
            assert!(passed(&|| {
                tracing::info!(target: "actix_http::h1::dispatcher", "stream error: request parse error");
            }));
        });
    }
}
