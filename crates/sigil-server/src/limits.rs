//! The body-read deadline. actix-web gives a client a deadline for its
//! request head (`http.client_request_timeout_seconds`) but none for the
//! body: a POST that stalls after its headers would hold its connection,
//! and a descriptor, for as long as the client likes. Every request body
//! here must arrive within `http.body_timeout_seconds` of its head; a body
//! that does not is answered 408 Request Timeout and its connection closed,
//! whatever the handler made of the failed read.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use actix_web::{Error, HttpMessage, HttpResponse};
use futures_util::Stream;
use tokio::time::{Instant, Sleep};

/// How long a request's body may take to arrive, from the moment its head
/// was read. Kept as app data for [`body_deadline`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyTimeout(pub(crate) Duration);

/// Puts a deadline on reading the request body; answers 408 when it passes.
pub(crate) async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    // A request without Content-Length or Transfer-Encoding has no body
    // (RFC 9112 §6.3) and needs no deadline.
    let has_body =
        req.headers().contains_key(CONTENT_LENGTH) || req.headers().contains_key(TRANSFER_ENCODING);
    let timeout = req.app_data::<web::Data<BodyTimeout>>().map(|t| t.0);
    let Some(timeout) = timeout.filter(|_| has_body) else {
        return next.call(req).await.map(ServiceResponse::map_into_left_body);
    };
    let expired = Arc::new(AtomicBool::new(false));
    let payload = Deadline {
        inner: req.take_payload(),
        sleep: Box::pin(tokio::time::sleep_until(Instant::now() + timeout)),
        expired: Arc::clone(&expired),
        done: false,
    };
    let boxed: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> = Box::pin(payload);
    req.set_payload(Payload::from(boxed));
    let response = next.call(req).await?;
    if expired.load(Ordering::Acquire) {
        tracing::info!(timeout_seconds = timeout.as_secs(), "the request body did not arrive in time");
        let timed_out = HttpResponse::RequestTimeout().force_close().finish();
        return Ok(response.into_response(timed_out).map_into_right_body());
    }
    Ok(response.map_into_left_body())
}

/// A request body that fails once its deadline has passed.
struct Deadline {
    inner: Payload,
    sleep: Pin<Box<Sleep>>,
    expired: Arc<AtomicBool>,
    done: bool,
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        // What has arrived is passed on even when the deadline has just
        // passed: only waiting for more is cut short.
        if let Poll::Ready(item) = Pin::new(&mut self.inner).poll_next(cx) {
            if item.is_none() {
                self.done = true;
            }
            return Poll::Ready(item);
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            self.done = true;
            self.expired.store(true, Ordering::Release);
            return Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the request body did not arrive in time",
            )))));
        }
        Poll::Pending
    }
}
