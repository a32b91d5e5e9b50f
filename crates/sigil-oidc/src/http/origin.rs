//! Where a request came from, as plain values for the audit trail: the
//! client address and the request's id.
//!
//! The address is the peer's as the server sees it. When the peer is a
//! proxy the server trusts, the server has already put the client's
//! address there (its `proxies` middleware); nothing here reads a
//! forwarding header. The request id is the one the server's request log
//! assigned and wrote back into the request's `X-Request-Id`.

use actix_web::HttpRequest;

/// Where a request came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// The client address (an IP address, without the port).
    pub address: Option<String>,
    /// The request's id, when the server assigned one.
    pub request_id: Option<String>,
}

impl Origin {
    /// The origin of `req`.
    pub fn of(req: &HttpRequest) -> Self {
        Self {
            address: req.peer_addr().map(|a| a.ip().to_string()),
            request_id: req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .filter(|id| id.len() <= 64)
                .map(str::to_owned),
        }
    }
}
