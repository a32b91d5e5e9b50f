//! The audit record of every SCIM write (POST, PUT, PATCH, DELETE on
//! Users and Groups, and each `/Bulk` operation): who (the token's
//! subject and client), from where (the client address as the server
//! resolved it, the request id), what (operation, resource type and id,
//! method) and how it ended. Never the body, the token or a password.
//!
//! A write that succeeds records itself inside its own transaction
//! (`write::Actor::record`), so the record costs one INSERT and no second
//! commit, and a write rolled back leaves no record of success. A write
//! that fails is recorded afterwards, in a write of its own. A request
//! without a valid token (401) names no one and is not recorded.

use std::cell::OnceCell;
use std::future::Future;

use actix_web::{HttpRequest, HttpResponse};
use sigil_store::audit::{self, Kind as EventKind, NewEvent};

use super::auth::{authenticate, permit, table_operation};
use super::wire::error_response;
use super::{ScimContext, Token, write};
use crate::ScimError;
use crate::rights::{Kind, Operation};

/// One SCIM write being audited.
#[derive(Debug)]
pub(crate) struct Audit {
    kind: Kind,
    operation: Operation,
    /// The record, but for who wrote.
    event: NewEvent,
    /// The token's subject and client, once the token is checked.
    by: OnceCell<(String, String)>,
}

impl Audit {
    /// The write `req` asks for: `operation` on `kind`, on the resource
    /// `id` when the path names one.
    pub(crate) fn new(req: &HttpRequest, kind: Kind, operation: Operation, id: Option<&str>) -> Self {
        Self::of(req, req.method().as_str(), kind, operation, id)
    }

    /// One operation of a `/Bulk` request: its own method and resource, the
    /// request's origin.
    pub(crate) fn of(
        req: &HttpRequest,
        method: &str,
        kind: Kind,
        operation: Operation,
        id: Option<&str>,
    ) -> Self {
        let address = req.peer_addr().map(|a| a.ip().to_string());
        let request_id = req
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|id| id.len() <= 64)
            .map(str::to_owned);
        let resource_type = match kind {
            Kind::User => "User",
            Kind::Group => "Group",
        };
        let event = NewEvent {
            address,
            resource_type: Some(resource_type.into()),
            resource_id: id.map(str::to_owned),
            method: Some(method.to_owned()),
            request_id,
            ..NewEvent::new(EventKind::ScimWrite, table_operation(kind, operation).right().name)
        };
        Self { kind, operation, event, by: OnceCell::new() }
    }

    /// Records who `token` acts for as the writer.
    pub(crate) fn by(&self, token: &Token) {
        let _ = self.by.set((token.subject.clone(), token.client_id.clone()));
    }

    /// The token of `req`, once it may do this write (as
    /// `auth::authorize_for`); a refusal names its principal here.
    pub(crate) async fn authorize(&self, ctx: &ScimContext, req: &HttpRequest) -> Result<Token, ScimError> {
        let token = authenticate(ctx, req).await?;
        self.by(&token);
        permit(ctx, &token, self.kind, self.operation)?;
        Ok(token)
    }

    /// The writer behind `token`, carrying this record to write with its
    /// change.
    pub(crate) fn actor(&self, ctx: &ScimContext, token: &Token) -> write::Actor {
        self.by(token);
        write::Actor::of(ctx, token).audited(self.event())
    }

    /// The record as far as it is known: the writer, when known, and the
    /// outcome `success`.
    fn event(&self) -> NewEvent {
        let mut event = self.event.clone();
        if let Some((subject, client)) = self.by.get() {
            event.actor = Some(subject.clone());
            event.client_id = Some(client.clone());
        }
        event
    }

    /// Answers `result`, or its error in the RFC 7644 §3.12 shape after
    /// recording the failure.
    pub(crate) async fn answer(
        &self,
        ctx: &ScimContext,
        result: impl Future<Output = Result<HttpResponse, ScimError>>,
    ) -> HttpResponse {
        match result.await {
            Ok(response) => response,
            Err(error) => {
                self.failed(ctx, &error).await;
                error_response(&error)
            }
        }
    }

    /// Records that the write failed with `error`, in a write of its own.
    /// A failure to record is logged, and the client still gets its answer.
    pub(crate) async fn failed(&self, ctx: &ScimContext, error: &ScimError) {
        if self.by.get().is_none() {
            return;
        }
        let (event, now) = (self.event().with_outcome(outcome(error)), ctx.store.now());
        if let Err(e) = ctx.store.write(move |c| audit::record(c, event, now)).await {
            tracing::warn!(error = %e, "a failed SCIM write could not be recorded");
        }
    }
}

/// The audit outcome of a failed write: a reason code, never the detail
/// (which may quote the body).
pub(crate) fn outcome(error: &ScimError) -> &'static str {
    match error {
        ScimError::Unauthorized { .. } => "unauthorized",
        ScimError::Forbidden { scope: Some(_), .. } => "insufficient_scope",
        ScimError::Forbidden { scope: None, .. } => "denied",
        ScimError::PreconditionFailed => "precondition_failed",
        ScimError::Uniqueness(_) => "conflict",
        ScimError::NotFound(_) => "not_found",
        ScimError::Store(_) => "error",
        ScimError::InvalidFilter(_)
        | ScimError::InvalidPath(_)
        | ScimError::InvalidSyntax(_)
        | ScimError::InvalidValue(_)
        | ScimError::Mutability(_)
        | ScimError::NoTarget(_)
        | ScimError::TooMany(_)
        | ScimError::InvalidCursor(_)
        | ScimError::BadRequest(_)
        | ScimError::MethodNotAllowed(_)
        | ScimError::PayloadTooLarge(_)
        | ScimError::NotImplemented(_) => "invalid",
    }
}
