//! `/admin/keys`: the signing key set, public data only, and rotation.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDateTime;
use serde_json::{Value, json};
use sigil_access::Operation;
use sigil_oidc::keys::{DEFAULT_RETIRED_KEY_RETENTION, NextKey, SigningAlg, rotate as rotate_keys};
use sigil_store::StoreError;

use crate::auth::authorize;
use crate::{AdminContext, AdminError, write};

fn time(t: Option<NaiveDateTime>) -> Value {
    t.map_or(Value::Null, |t| json!(t.and_utc().to_rfc3339()))
}

/// GET /admin/keys.
pub(crate) async fn list(ctx: web::Data<AdminContext>, req: HttpRequest) -> Result<HttpResponse, AdminError> {
    authorize(&ctx, &req, Operation::KeysRead).await?;
    let keys = ctx.store.read(sigil_store::keys::list).await?;
    // Never the private key: only what the JWKS already publishes.
    let keys: Vec<Value> = keys
        .iter()
        .map(|k| {
            json!({
                "kid": k.kid,
                "alg": k.alg,
                "state": k.state.as_str(),
                "created": time(Some(k.created)),
                "activated": time(k.activated_at),
                "retired": time(k.retired_at),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "keys": keys })))
}

/// POST /admin/keys/rotate: every algorithm's `next` key starts signing,
/// as `sigil keys rotate` does. Nodes pick the new key up within a second.
pub(crate) async fn rotate(
    ctx: web::Data<AdminContext>,
    req: HttpRequest,
) -> Result<HttpResponse, AdminError> {
    authorize(&ctx, &req, Operation::KeysRotate).await?;
    let now = ctx.store.now();
    // The new keys are made first, off the executor and outside the write.
    let fresh: Vec<(SigningAlg, NextKey)> = web::block(move || {
        SigningAlg::ALL
            .into_iter()
            .map(|alg| NextKey::generate(alg, now).map(|k| (alg, k)))
            .collect::<Result<Vec<_>, _>>()
    })
    .await
    .map_err(|e| AdminError::Store(StoreError::Other(format!("key generation failed: {e}"))))??;
    let rotations = write(&ctx.store, move |c| {
        let mut done = Vec::new();
        for (alg, next) in fresh {
            let rotation = rotate_keys(c, alg, next, DEFAULT_RETIRED_KEY_RETENTION, now)?;
            done.push(json!({
                "alg": alg.as_str(),
                "signing": rotation.activated,
                "retired": rotation.retired,
                "next": rotation.next,
                "removed": rotation.removed,
            }));
        }
        Ok(done)
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "rotated": rotations })))
}
