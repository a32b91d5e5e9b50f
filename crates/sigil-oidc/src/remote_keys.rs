//! JWK Sets that others publish at a URL: a client's `jwks_uri` for
//! `private_key_jwt` (OpenID Connect Core §10.1.1).
//!
//! Sets are fetched when first needed and kept per node for a few minutes.
//! This is the one in-process cache of outside data, and it stays correct
//! across nodes because each node asks the publisher itself: a set is never
//! older than [`FRESH_FOR`], and a `kid` that the cached set lacks makes the
//! node fetch again (at most once per [`REFETCH_AFTER`] per URL, so a forged
//! `kid` cannot turn Sigil into a request amplifier), which is how a
//! client's key rotation is seen at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use josekit::jwk::JwkSet;

use crate::clients::check_public_jwks;

/// How long a fetched set is used without asking again.
const FRESH_FOR: Duration = Duration::from_secs(300);
/// The shortest interval between two fetches of one URL.
const REFETCH_AFTER: Duration = Duration::from_secs(2);
/// A key set larger than this is refused: it would be a mistake or an attack.
const MAX_BODY_BYTES: usize = 256 * 1024;

#[derive(Debug)]
struct Entry {
    set: Arc<JwkSet>,
    fetched: Instant,
}

/// Fetched key sets by URL; one per server, shared by its workers.
#[derive(Debug, Clone)]
pub(crate) struct RemoteKeySets {
    http: reqwest::Client,
    cache: Arc<Mutex<HashMap<String, Entry>>>,
}

impl Default for RemoteKeySets {
    fn default() -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            // A redirect could lead the server to a URL the operator never
            // registered.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("sigil/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Self { http, cache: Arc::default() }
    }
}

impl RemoteKeySets {
    /// The set published at `url`, fetched again when it is stale or lacks
    /// the key `kid`.
    pub(crate) async fn get(&self, url: &str, kid: Option<&str>) -> Result<Arc<JwkSet>, String> {
        let cached = self.cached(url);
        if let Some((set, age)) = &cached {
            let has_kid = kid.is_none_or(|kid| !set.get(kid).is_empty());
            if age < &FRESH_FOR && (has_kid || age < &REFETCH_AFTER) {
                return Ok(Arc::clone(set));
            }
        }
        match self.fetch(url).await {
            Ok(set) => {
                let set = Arc::new(set);
                let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
                cache.insert(url.to_owned(), Entry { set: Arc::clone(&set), fetched: Instant::now() });
                Ok(set)
            }
            // The publisher being down for a moment should not lock its
            // client out while the keys we hold are recent.
            Err(why) => match cached {
                Some((set, age)) if age < FRESH_FOR * 12 => {
                    tracing::warn!(%url, %why, "jwks_uri unreachable; using the keys fetched before");
                    Ok(set)
                }
                _ => Err(why),
            },
        }
    }

    fn cached(&self, url: &str) -> Option<(Arc<JwkSet>, Duration)> {
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache.get(url).map(|e| (Arc::clone(&e.set), e.fetched.elapsed()))
    }

    async fn fetch(&self, url: &str) -> Result<JwkSet, String> {
        let mut response = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/jwk-set+json, application/json")
            .send()
            .await
            .map_err(|e| format!("cannot fetch the client's jwks_uri: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("the client's jwks_uri answered {}", response.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) =
            response.chunk().await.map_err(|e| format!("cannot read the client's jwks_uri: {e}"))?
        {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err("the client's jwks_uri document is too large".into());
            }
            body.extend_from_slice(&chunk);
        }
        let text = String::from_utf8(body).map_err(|_| "the client's jwks_uri is not UTF-8".to_owned())?;
        let checked = check_public_jwks(&text).map_err(|e| e.to_string())?;
        JwkSet::from_bytes(checked.as_bytes()).map_err(|e| e.to_string())
    }
}
