//! The signing ceiling: how many access tokens one core can sign per second
//! with each algorithm Sigil offers, with the key sizes Sigil generates
//! (RSA 2048, P-256, Ed25519) and an RFC 9068 claim set of the size the
//! token endpoint issues. The token endpoint cannot beat these figures; the
//! load test in `bench/token-endpoint.sh` shows how close it gets.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use josekit::jwk::alg::ed::EdCurve;
use josekit::jws::{ES256, EdDSA, JwsHeader, JwsSigner, PS256, RS256};
use josekit::jwt::{self, JwtPayload};
use serde_json::{Map, Value, json};

fn claims() -> Map<String, Value> {
    let value = json!({
        "iss": "https://id.example.com",
        "sub": "reports",
        "aud": "https://api.example.com",
        "client_id": "reports",
        "iat": 1_795_000_000,
        "exp": 1_795_000_300,
        "jti": "0b8f3c2e-6f1d-4a47-9a43-0f6f1b2d9c11",
        "scope": "api.read",
    });
    value.as_object().cloned().unwrap_or_default()
}

fn signers() -> Vec<(&'static str, Box<dyn JwsSigner>)> {
    let pem = |pair: &dyn josekit::jwk::KeyPair| pair.to_pem_private_key();
    let rsa = RS256.generate_key_pair(2048).unwrap();
    let pss = PS256.generate_key_pair(2048).unwrap();
    let ec = ES256.generate_key_pair().unwrap();
    let ed = EdDSA.generate_key_pair(EdCurve::Ed25519).unwrap();
    vec![
        ("RS256", Box::new(RS256.signer_from_pem(pem(&rsa)).unwrap())),
        ("PS256", Box::new(PS256.signer_from_pem(pem(&pss)).unwrap())),
        ("ES256", Box::new(ES256.signer_from_pem(pem(&ec)).unwrap())),
        ("EdDSA", Box::new(EdDSA.signer_from_pem(pem(&ed)).unwrap())),
    ]
}

fn sign_access_token(c: &mut Criterion) {
    let mut group = c.benchmark_group("sign_access_token");
    group.throughput(Throughput::Elements(1));
    let claims = claims();
    for (alg, signer) in signers() {
        group.bench_function(alg, |b| {
            b.iter(|| {
                let mut header = JwsHeader::new();
                header.set_token_type("at+jwt");
                header.set_key_id("k");
                let payload = JwtPayload::from_map(claims.clone()).unwrap();
                jwt::encode_with_signer(&payload, &header, signer.as_ref()).unwrap()
            });
        });
    }
    group.finish();
}

criterion_group!(benches, sign_access_token);
criterion_main!(benches);
