//! `/admin/keys`: the signing key set, public data only, and rotation.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDateTime;
use serde::Serialize;
use sigil_access::Operation;
use sigil_oidc::keys::{DEFAULT_RETIRED_KEY_RETENTION, NextKey, SigningAlg, rotate as rotate_keys};
use sigil_store::StoreError;
use utoipa::ToSchema;

use crate::auth::authorize;
use crate::{AdminContext, AdminError, write};

fn time(t: NaiveDateTime) -> String {
    t.and_utc().to_rfc3339()
}

/// A signing key: what the JWKS publishes about it, and its state.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct KeyView {
    kid: String,
    alg: String,
    /// `next`, `active` or `retired`.
    state: String,
    #[schema(format = DateTime)]
    created: String,
    #[schema(format = DateTime)]
    activated: Option<String>,
    #[schema(format = DateTime)]
    retired: Option<String>,
}

/// GET /admin/keys.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct KeyList {
    keys: Vec<KeyView>,
}

/// What one algorithm's rotation did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RotationView {
    alg: String,
    /// The kid that now signs.
    signing: String,
    /// The kid that stopped signing, if any.
    retired: Option<String>,
    /// The new `next` kid.
    next: String,
    /// How many retired keys left the set.
    removed: usize,
}

/// POST /admin/keys/rotate.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Rotated {
    rotated: Vec<RotationView>,
}

/// GET /admin/keys.
#[utoipa::path(get, path = "/admin/keys", tag = "keys", operation_id = "keys_list",
    extensions(("x-sigil-operation" = json!("admin.keys.read"))),
    responses((status = 200, description = "The signing keys, public data only", body = KeyList),
        crate::openapi::Refusals))]
pub(crate) async fn list(ctx: web::Data<AdminContext>, req: HttpRequest) -> Result<HttpResponse, AdminError> {
    authorize(&ctx, &req, Operation::KeysRead).await?;
    let keys = ctx.store.read(sigil_store::keys::list).await?;
    // Never the private key: only what the JWKS already publishes.
    let keys = keys
        .iter()
        .map(|k| KeyView {
            kid: k.kid.clone(),
            alg: k.alg.clone(),
            state: k.state.as_str().to_owned(),
            created: time(k.created),
            activated: k.activated_at.map(time),
            retired: k.retired_at.map(time),
        })
        .collect();
    Ok(HttpResponse::Ok().json(KeyList { keys }))
}

/// POST /admin/keys/rotate: every algorithm's `next` key starts signing,
/// as `sigil keys rotate` does. Nodes pick the new key up within a second.
#[utoipa::path(post, path = "/admin/keys/rotate", tag = "keys", operation_id = "keys_rotate",
    extensions(("x-sigil-operation" = json!("admin.keys.rotate"))),
    responses((status = 200, description = "What each algorithm's rotation did", body = Rotated),
        crate::openapi::Refusals))]
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
            done.push(RotationView {
                alg: alg.as_str().to_owned(),
                signing: rotation.activated,
                retired: rotation.retired,
                next: rotation.next,
                removed: rotation.removed,
            });
        }
        Ok(done)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Rotated { rotated: rotations }))
}
