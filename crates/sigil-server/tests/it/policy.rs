//! Per-client token policy and configured lifetimes: the access token's
//! signing algorithm, refresh tokens without `offline_access`, and
//! `private_key_jwt` with keys the client publishes at its `jwks_uri`.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use josekit::jwk::{Jwk, KeyPair};
use josekit::jws::{ES256, EdDSA, JwsHeader, PS256, RS256};
use josekit::jwt::JwtPayload;
use serde_json::{Value, json};
use sigil_testkit::process::Server;
use sigil_testkit::{TestDb, backend_tests};

use crate::cli;
use crate::lifecycle::Rp;
use crate::oidc::{browser, rp_http, setup};

backend_tests!(
    access_tokens_use_the_client_algorithm_and_the_configured_lifetime,
    refresh_tokens_without_offline_access_by_client_policy,
    private_key_jwt_keys_come_from_the_jwks_uri_and_follow_rotation,
);

/// Checks `token` against the server's JWKS under the algorithm its header
/// names, which must be `alg`; returns its claims.
fn verify_as(server: &Server, token: &str, alg: &str) -> Value {
    let set: Value = rp_http().get(server.url("/jwks")).send().unwrap().json().unwrap();
    let header = josekit::jwt::decode_header(token).unwrap();
    assert_eq!(header.claim("alg").and_then(Value::as_str), Some(alg));
    assert_eq!(header.claim("typ").and_then(Value::as_str), Some("at+jwt"));
    let kid = header.claim("kid").and_then(Value::as_str).unwrap();
    let jwk = set["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid).expect("kid published");
    assert_eq!(jwk["alg"], alg, "the published key is for {alg}");
    let jwk = Jwk::from_map(jwk.as_object().unwrap().clone()).unwrap();
    let decoded = match alg {
        "RS256" => josekit::jwt::decode_with_verifier(token, &RS256.verifier_from_jwk(&jwk).unwrap()),
        "PS256" => josekit::jwt::decode_with_verifier(token, &PS256.verifier_from_jwk(&jwk).unwrap()),
        "ES256" => josekit::jwt::decode_with_verifier(token, &ES256.verifier_from_jwk(&jwk).unwrap()),
        "EdDSA" => josekit::jwt::decode_with_verifier(token, &EdDSA.verifier_from_jwk(&jwk).unwrap()),
        other => panic!("unexpected alg {other}"),
    };
    let (payload, _) = decoded.expect("signature verifies");
    Value::Object(payload.claims_set().clone())
}

fn access_tokens_use_the_client_algorithm_and_the_configured_lifetime(db: &TestDb) {
    let algs = ["RS256", "PS256", "ES256", "EdDSA"];
    let mut secrets = Vec::new();
    for alg in algs {
        let id = format!("svc-{alg}");
        let out = cli(
            db,
            &[
                "client",
                "add",
                "--id",
                &id,
                "--grant-type",
                "client_credentials",
                "--scope",
                "api.read",
                "--access-token-signed-response-alg",
                alg,
            ],
        );
        secrets.push(out.lines().find_map(|l| l.strip_prefix("client_secret: ")).unwrap().to_owned());
    }
    let server = Server::start(crate::bin(), db, &[("SIGIL_TOKENS_ACCESS_TOKEN_LIFETIME_SECONDS", "60")]);
    for (alg, secret) in algs.iter().zip(&secrets) {
        let id = format!("svc-{alg}");
        let rp = Rp { server: &server, http: rp_http(), id: &id, secret: secret.clone() };
        let (status, body) = rp.post("/token", &[("grant_type", "client_credentials")]);
        assert_eq!(status, 200, "{alg}: {body}");
        assert_eq!(body["expires_in"], 60, "the configured lifetime");
        let token = body["access_token"].as_str().unwrap();
        let claims = verify_as(&server, token, alg);
        assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 60);
        assert_eq!(claims["client_id"], id.as_str());
        // Sigil itself accepts the token whatever its algorithm.
        let (status, introspection) = rp.post("/introspect", &[("token", token)]);
        assert_eq!((status, &introspection["active"]), (200, &json!(true)), "{alg}: {introspection}");
    }

    // A bad lifetime stops the server before it starts.
    let mut command = sigil_testkit::process::sigil(crate::bin(), db);
    command.args(["serve"]).env("SIGIL_TOKENS_ACCESS_TOKEN_LIFETIME_SECONDS", "172800");
    let ran = sigil_testkit::process::run(command);
    assert_eq!(ran.status.code(), Some(2), "{}", ran.stderr);
    assert!(ran.stderr.contains("tokens.access_token_lifetime_seconds"), "{}", ran.stderr);
    // So does an unknown algorithm at registration.
    let mut command = sigil_testkit::process::sigil(crate::bin(), db);
    command.args(["client", "add", "--id", "bad", "--access-token-signed-response-alg", "HS256"]);
    let ran = sigil_testkit::process::run(command);
    assert!(!ran.status.success() && ran.stderr.contains("HS256"), "{}", ran.stderr);
}

fn refresh_tokens_without_offline_access_by_client_policy(db: &TestDb) {
    let secret = setup(db);
    let server = Server::start(crate::bin(), db, &[]);
    let rp = Rp { server: &server, http: rp_http(), id: "web", secret };
    let browser = browser();
    let (_, body) = rp.tokens(&browser, "openid");
    assert!(body.get("refresh_token").is_none(), "no offline_access, no refresh token: {body}");
    let (_, body) = rp.tokens(&browser, "openid offline_access");
    assert!(body["refresh_token"].is_string(), "{body}");

    // The running server sees the changed policy at once.
    cli(db, &["client", "update", "--id", "web", "--refresh-without-offline-access", "true"]);
    let (_, body) = rp.tokens(&browser, "openid");
    let refresh = body["refresh_token"].as_str().expect("a refresh token by client policy");
    let (status, refreshed) =
        rp.post("/token", &[("grant_type", "refresh_token"), ("refresh_token", refresh)]);
    assert_eq!(status, 200, "{refreshed}");
    assert_eq!(refreshed["scope"], "openid");
}

/// A JWK Set served over plain HTTP on loopback, as a client would publish
/// it; the document can be swapped and requests are counted.
struct KeyServer {
    url: String,
    document: Arc<Mutex<String>>,
    hits: Arc<AtomicUsize>,
}

impl KeyServer {
    fn start(document: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        let document = Arc::new(Mutex::new(document));
        let hits = Arc::new(AtomicUsize::new(0));
        let (doc, count) = (Arc::clone(&document), Arc::clone(&hits));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    line.clear();
                }
                count.fetch_add(1, Ordering::SeqCst);
                let body = doc.lock().unwrap().clone();
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Self { url, document, hits }
    }
}

fn key_pair(kid: &str) -> (Jwk, Jwk) {
    let pair = ES256.generate_key_pair().unwrap();
    let mut public = pair.to_jwk_public_key();
    public.set_key_id(kid);
    let mut private = pair.to_jwk_key_pair();
    private.set_key_id(kid);
    (public, private)
}

fn private_key_jwt_keys_come_from_the_jwks_uri_and_follow_rotation(db: &TestDb) {
    let (public1, private1) = key_pair("k1");
    let (public2, private2) = key_pair("k2");
    let keys = KeyServer::start(json!({ "keys": [public1.as_ref()] }).to_string());

    // Only https is fetched, except on loopback.
    let mut command = sigil_testkit::process::sigil(crate::bin(), db);
    command.args([
        "client",
        "add",
        "--id",
        "plain",
        "--grant-type",
        "client_credentials",
        "--token-endpoint-auth-method",
        "private_key_jwt",
        "--jwks-uri",
        "http://keys.example.com/jwks.json",
    ]);
    let ran = sigil_testkit::process::run(command);
    assert!(!ran.status.success() && ran.stderr.contains("https"), "{}", ran.stderr);

    cli(
        db,
        &[
            "client",
            "add",
            "--id",
            "signer",
            "--grant-type",
            "client_credentials",
            "--token-endpoint-auth-method",
            "private_key_jwt",
            "--jwks-uri",
            &keys.url,
        ],
    );
    let server = Server::start(crate::bin(), db, &[]);
    let token_endpoint = server.url("/token");
    let assertion = |private: &Jwk, kid: &str, jti: &str| {
        let mut header = JwsHeader::new();
        header.set_key_id(kid);
        let mut claims = JwtPayload::new();
        claims.set_issuer("signer");
        claims.set_subject("signer");
        claims.set_audience(vec![token_endpoint.as_str()]);
        claims.set_jwt_id(jti);
        claims.set_expires_at(&(SystemTime::now() + Duration::from_secs(60)));
        josekit::jwt::encode_with_signer(&claims, &header, &ES256.signer_from_jwk(private).unwrap()).unwrap()
    };
    let send = |jwt: &str| {
        let response = rp_http()
            .post(server.url("/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                ("client_assertion", jwt),
            ])
            .send()
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json::<Value>().unwrap())
    };

    let (status, body) = send(&assertion(&private1, "k1", "a"));
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(&assertion(&private1, "k1", "b"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(keys.hits.load(Ordering::SeqCst), 1, "the key set is cached between requests");

    // The client rotates: it publishes k2 and drops k1. Sigil fetches again
    // when it sees a kid it does not know.
    *keys.document.lock().unwrap() = json!({ "keys": [public2.as_ref()] }).to_string();
    std::thread::sleep(Duration::from_millis(2100));
    let (status, body) = send(&assertion(&private2, "k2", "c"));
    assert_eq!(status, 200, "the new key is picked up: {body}");
    assert_eq!(keys.hits.load(Ordering::SeqCst), 2);
    // An assertion signed with a key the client no longer publishes, or
    // with a kid nobody published, fails without a flood of fetches.
    let (status, body) = send(&assertion(&private1, "k1", "d"));
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{body}");
    // (josekit writes the signing key's own kid into the header.)
    let mut forged = private2.clone();
    forged.set_key_id("forged");
    for n in 0..5 {
        let (status, _) = send(&assertion(&forged, "forged", &format!("e{n}")));
        assert_eq!(status, 401);
    }
    assert!(keys.hits.load(Ordering::SeqCst) <= 3, "unknown kids are rate-limited");
}
