//! The token endpoint, JWKS and metadata, driven by the `oauth2` crate as a
//! real client and by raw requests for every error of RFC 6749 §5.2.

use std::time::Duration;

use josekit::jwk::Jwk;
use josekit::jws::RS256;
use oauth2::basic::BasicClient;
use oauth2::{AuthType, ClientId, ClientSecret, Scope, TokenResponse, TokenUrl};
use serde_json::Value;
use sigil_testkit::process::Server;
use sigil_testkit::{TestDb, backend_tests};

use crate::cli;

backend_tests!(
    client_credentials_token_is_an_rfc9068_jwt_verifiable_with_the_jwks,
    token_endpoint_errors_follow_rfc6749,
    rotation_is_picked_up_without_a_restart,
    private_key_jwt_authenticates_once_per_assertion,
);

const API: &str = "https://api.example.com";

/// Registers a service client and returns its generated secret.
fn service_client(db: &TestDb, id: &str) -> String {
    service_client_with(db, id, &[])
}

/// [`service_client`], with more `sigil client add` arguments.
fn service_client_with(db: &TestDb, id: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "client",
        "add",
        "--id",
        id,
        "--grant-type",
        "client_credentials",
        "--scope",
        "api.read api.write",
    ];
    args.extend_from_slice(&["--audience", API]);
    args.extend_from_slice(extra);
    let out = cli(db, &args);
    out.lines().find_map(|l| l.strip_prefix("client_secret: ")).expect("secret printed").to_owned()
}

fn http() -> oauth2::reqwest::blocking::Client {
    oauth2::reqwest::blocking::Client::builder()
        .redirect(oauth2::reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .pool_idle_timeout(crate::oidc::CLIENT_IDLE)
        .build()
        .unwrap()
}

/// Verifies `token` against the server's JWKS; returns (header kid, claims).
fn verify(server: &Server, token: &str) -> (String, Value) {
    let set: Value = http().get(server.url("/jwks")).send().unwrap().json().unwrap();
    let header = josekit::jwt::decode_header(token).unwrap();
    let kid = header.claim("kid").and_then(Value::as_str).expect("kid").to_owned();
    assert_eq!(header.claim("typ").and_then(Value::as_str), Some("at+jwt"), "RFC 9068 §2.1");
    assert_eq!(header.claim("alg").and_then(Value::as_str), Some("RS256"));
    let jwk =
        set["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid.as_str()).expect("kid published");
    assert!(jwk.get("d").is_none() && jwk.get("p").is_none(), "no private part in the JWKS");
    let jwk = Jwk::from_map(jwk.as_object().unwrap().clone()).unwrap();
    let verifier = RS256.verifier_from_jwk(&jwk).unwrap();
    let (payload, _) = josekit::jwt::decode_with_verifier(token, &verifier).expect("signature verifies");
    (kid, Value::Object(payload.claims_set().clone()))
}

fn client_credentials_token_is_an_rfc9068_jwt_verifiable_with_the_jwks(db: &TestDb) {
    let secret = service_client(db, "reports");
    let server = Server::start(crate::bin(), db, &[]);
    let issuer = format!("http://{}", server.addr);

    let metadata: Value =
        http().get(server.url("/.well-known/oauth-authorization-server")).send().unwrap().json().unwrap();
    assert_eq!(metadata["issuer"], issuer.as_str(), "RFC 8414 §3.3");
    assert_eq!(metadata["token_endpoint"], format!("{issuer}/token"));
    assert_eq!(metadata["jwks_uri"], format!("{issuer}/jwks"));

    let client = BasicClient::new(ClientId::new("reports".into()))
        .set_client_secret(ClientSecret::new(secret.clone()))
        .set_token_uri(TokenUrl::new(metadata["token_endpoint"].as_str().unwrap().into()).unwrap());
    let token = client
        .exchange_client_credentials()
        .add_scope(Scope::new("api.read".into()))
        .request(&http())
        .expect("the oauth2 client gets a token");
    assert_eq!(
        token.scopes().map(|s| s.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
        Some(vec!["api.read".into()])
    );
    assert_eq!(token.expires_in(), Some(Duration::from_secs(300)));
    let (_, claims) = verify(&server, token.access_token().secret());
    assert_eq!(claims["iss"], issuer.as_str());
    assert_eq!(claims["sub"], "reports", "RFC 9068 §2.2: the client itself");
    assert_eq!(claims["client_id"], "reports");
    assert_eq!(claims["aud"], API);
    assert_eq!(claims["scope"], "api.read");
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 300);
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));

    // A client registered for client_secret_basic keeps to it: the same
    // secret in the body is refused.
    let client = client.set_auth_type(AuthType::RequestBody);
    assert!(client.exchange_client_credentials().request(&http()).is_err());
    // A client registered for client_secret_post gets its token that way,
    // and without a scope it gets all of its (non-user) scopes.
    let post_secret =
        service_client_with(db, "reports-post", &["--token-endpoint-auth-method", "client_secret_post"]);
    let post = BasicClient::new(ClientId::new("reports-post".into()))
        .set_client_secret(ClientSecret::new(post_secret))
        .set_token_uri(TokenUrl::new(metadata["token_endpoint"].as_str().unwrap().into()).unwrap())
        .set_auth_type(AuthType::RequestBody)
        .exchange_client_credentials()
        .request(&http())
        .unwrap();
    let (_, claims) = verify(&server, post.access_token().secret());
    assert_eq!(claims["scope"], "api.read api.write");
    assert!(!server.logs().contains(&secret), "the client secret reached the log");
}

/// POSTs a form to /token; returns (status, headers, body).
fn token_request(
    server: &Server,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (u16, oauth2::reqwest::header::HeaderMap, Value) {
    let mut request = http().post(server.url("/token")).form(form);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.json().unwrap())
}

/// (what, Basic credentials, form, expected status, expected error code)
type Case<'a> = (&'a str, Option<(&'a str, &'a str)>, Vec<(&'a str, &'a str)>, u16, &'a str);

fn token_endpoint_errors_follow_rfc6749(db: &TestDb) {
    let secret = service_client(db, "svc");
    cli(
        db,
        &[
            "client",
            "add",
            "--id",
            "web",
            "--secret",
            "Zq7xV2mN9pR4tL8wK3sD6fH1jG5bC0yE_aUoIeXr-Tn",
            "--redirect-uri",
            "https://app.example.com/cb",
        ],
    );
    let server = Server::start(crate::bin(), db, &[]);
    let cc = ("grant_type", "client_credentials");
    let good = Some(("svc", secret.as_str()));
    let cases: Vec<Case<'_>> = vec![
        ("wrong secret", Some(("svc", "nope")), vec![cc], 401, "invalid_client"),
        ("unknown client", Some(("ghost", "nope")), vec![cc], 401, "invalid_client"),
        (
            "unknown client in body",
            None,
            vec![cc, ("client_id", "ghost"), ("client_secret", "x")],
            401,
            "invalid_client",
        ),
        ("no client authentication", None, vec![cc], 401, "invalid_client"),
        ("missing grant_type", good, vec![], 400, "invalid_request"),
        ("unknown grant_type", good, vec![("grant_type", "password")], 400, "unsupported_grant_type"),
        (
            "repeated parameter",
            good,
            vec![cc, ("scope", "api.read"), ("scope", "api.write")],
            400,
            "invalid_request",
        ),
        ("scope beyond the client's", good, vec![cc, ("scope", "api.read admin")], 400, "invalid_scope"),
        (
            "audience beyond the client's",
            good,
            vec![cc, ("audience", "https://other.example.com")],
            400,
            "invalid_target",
        ),
        (
            "resource beyond the client's",
            good,
            vec![cc, ("resource", "https://other.example.com")],
            400,
            "invalid_target",
        ),
        (
            "grant not allowed for the client",
            Some(("web", "Zq7xV2mN9pR4tL8wK3sD6fH1jG5bC0yE_aUoIeXr-Tn")),
            vec![cc],
            400,
            "unauthorized_client",
        ),
    ];
    for (what, basic, form, status, error) in cases {
        let (got, headers, body) = token_request(&server, basic, &form);
        assert_eq!((got, body["error"].as_str()), (status, Some(error)), "{what}: {body}");
        assert_eq!(headers["cache-control"], "no-store", "{what}");
        assert!(body["error_description"].is_string(), "{what}");
        let challenged = headers.get("www-authenticate").map(|v| v.to_str().unwrap().to_owned());
        if status == 401 && basic.is_some() {
            assert_eq!(challenged.as_deref(), Some("Basic realm=\"sigil\""), "{what}: RFC 6749 §5.2");
        }
    }
    let json_body = http()
        .post(server.url("/token"))
        .basic_auth("svc", Some(&secret))
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .unwrap();
    assert_eq!(json_body.status(), 400);
    assert_eq!(json_body.json::<Value>().unwrap()["error"], "invalid_request");
    let (status, headers, body) = token_request(&server, good, &[cc, ("audience", API)]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["cache-control"], "no-store", "RFC 6749 §5.1");
    assert_eq!(body["token_type"], "Bearer");
}

fn rotation_is_picked_up_without_a_restart(db: &TestDb) {
    let secret = service_client(db, "svc");
    let server = Server::start(crate::bin(), db, &[]);
    let get_token = || {
        let (status, _, body) =
            token_request(&server, Some(("svc", secret.as_str())), &[("grant_type", "client_credentials")]);
        assert_eq!(status, 200, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    };
    let before = get_token();
    let (old_kid, _) = verify(&server, &before);
    let jwks = || -> Vec<String> {
        let set: Value = http().get(server.url("/jwks")).send().unwrap().json().unwrap();
        set["keys"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["alg"] == "RS256")
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    };
    let published = jwks();
    assert_eq!(published.len(), 2, "RS256 active and next: {published:?}");
    let next_kid = published.iter().find(|k| **k != old_kid).unwrap().clone();

    cli(db, &["keys", "rotate"]);
    // A node reuses its key list for up to a second when signing; the old
    // key stays published, so what it signs in that second still verifies.
    let meanwhile = get_token();
    verify(&server, &meanwhile);
    std::thread::sleep(Duration::from_millis(1100));
    let after = get_token();
    let (new_kid, _) = verify(&server, &after);
    assert_eq!(new_kid, next_kid, "the key published in advance signs after rotation");
    let published = jwks();
    assert!(published.contains(&old_kid), "the retired key stays published");
    assert_eq!(published.len(), 3, "retired, active and a new next key: {published:?}");
    verify(&server, &before);
}

fn private_key_jwt_authenticates_once_per_assertion(db: &TestDb) {
    use josekit::jws::{ES256, JwsHeader};
    use josekit::jwt::JwtPayload;

    let pair = ES256.generate_key_pair().unwrap();
    let mut public = josekit::jwk::KeyPair::to_jwk_public_key(&pair);
    public.set_key_id("k1");
    let dir = db.dir().unwrap_or_else(std::env::temp_dir);
    let jwks = dir.join(format!("jwks-{}.json", std::process::id()));
    std::fs::write(&jwks, serde_json::json!({ "keys": [public.as_ref()] }).to_string()).unwrap();
    let private_file = dir.join(format!("private-{}.json", std::process::id()));
    let mut private = josekit::jwk::KeyPair::to_jwk_key_pair(&pair);
    private.set_key_id("k1");
    std::fs::write(&private_file, serde_json::json!({ "keys": [private.as_ref()] }).to_string()).unwrap();

    // Private key material is refused at registration.
    let mut refused = sigil_testkit::process::sigil(crate::bin(), db);
    refused.args([
        "client",
        "add",
        "--id",
        "leaky",
        "--grant-type",
        "client_credentials",
        "--token-endpoint-auth-method",
        "private_key_jwt",
        "--jwks-file",
        private_file.to_str().unwrap(),
    ]);
    let ran = sigil_testkit::process::run(refused);
    assert!(!ran.status.success() && ran.stderr.contains("public keys only"), "{}", ran.stderr);

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
            "--jwks-file",
            jwks.to_str().unwrap(),
        ],
    );
    let server = Server::start(crate::bin(), db, &[]);
    let token_endpoint = server.url("/token");
    let signer = ES256.signer_from_jwk(&private).unwrap();
    let assertion = |aud: &str, jti: &str| {
        let mut header = JwsHeader::new();
        header.set_key_id("k1");
        let mut claims = JwtPayload::new();
        claims.set_issuer("signer");
        claims.set_subject("signer");
        claims.set_audience(vec![aud]);
        claims.set_jwt_id(jti);
        claims.set_expires_at(&(std::time::SystemTime::now() + Duration::from_secs(60)));
        josekit::jwt::encode_with_signer(&claims, &header, &signer).unwrap()
    };
    let send = |jwt: &str| {
        token_request(
            &server,
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                ("client_assertion", jwt),
            ],
        )
    };
    let first = assertion(&token_endpoint, "jti-1");
    let (status, _, body) = send(&first);
    assert_eq!(status, 200, "{body}");
    assert_eq!(verify(&server, body["access_token"].as_str().unwrap()).1["client_id"], "signer");
    let (status, _, body) = send(&first);
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "a replayed assertion: {body}"
    );
    let (status, _, body) = send(&assertion("https://elsewhere.example.com/token", "jti-2"));
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "wrong audience: {body}");
    let (status, _, body) =
        token_request(&server, Some(("signer", "a-guessed-secret")), &[("grant_type", "client_credentials")]);
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "no fallback to secrets: {body}"
    );
}
