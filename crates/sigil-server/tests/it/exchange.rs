//! OAuth 2.0 Token Exchange (RFC 8693) at the running server: the CERN
//! seed's delegation case (an application exchanges its signed-in user's
//! token for one whose audience is an API), actor chains, every error of
//! §2.2.2, scope narrowing, and revocation of exchanged tokens.

use serde_json::{Value, json};
use sigil_testkit::process::Server;
use sigil_testkit::{TestDb, backend_tests};

use crate::cli;
use crate::lifecycle::Rp;
use crate::oidc::{RP, browser, rp_http, setup};

backend_tests!(
    an_application_exchanges_its_users_token_for_an_api,
    exchange_errors_and_policy_follow_rfc8693,
    tokens_of_a_trusted_issuer_are_subject_tokens,
);

const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS: &str = "urn:ietf:params:oauth:token-type:access_token";
const REFRESH: &str = "urn:ietf:params:oauth:token-type:refresh_token";
const ID: &str = "urn:ietf:params:oauth:token-type:id_token";
const API_B: &str = "https://api-b.example.com";
const API_C: &str = "https://api-c.example.com";

fn secret_of(out: &str) -> String {
    out.lines().find_map(|l| l.strip_prefix("client_secret: ")).unwrap().to_owned()
}

/// The claims of a JWT, unverified (the server's own tests check signatures).
fn claims(jwt: &str) -> Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap())
        .unwrap()
}

/// Registers app-a, an application that signs users in and may exchange
/// their tokens for API B; returns its secret.
fn application(db: &TestDb, id: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "client",
        "add",
        "--id",
        id,
        "--redirect-uri",
        RP,
        "--skip-consent",
        "--grant-type",
        "authorization_code",
        "--grant-type",
        "refresh_token",
        "--grant-type",
        EXCHANGE,
        "--exchange-audience",
        API_B,
    ];
    args.extend_from_slice(extra);
    secret_of(&cli(db, &args))
}

fn exchange(rp: &Rp<'_>, form: &[(&str, &str)]) -> (u16, Value) {
    let mut all = vec![("grant_type", EXCHANGE)];
    all.extend_from_slice(form);
    rp.post("/token", &all)
}

fn an_application_exchanges_its_users_token_for_an_api(db: &TestDb) {
    setup(db);
    let secret = application(db, "app-a", &["--exchange-audience", API_C]);
    let svc = secret_of(&cli(
        db,
        &[
            "client",
            "add",
            "--id",
            "svc-b",
            "--grant-type",
            "client_credentials",
            "--grant-type",
            EXCHANGE,
            "--exchange-audience",
            API_C,
            "--scope",
            "api.read",
        ],
    ));
    let server = Server::start(crate::bin(), db, &[]);
    let app = Rp { server: &server, http: rp_http(), id: "app-a", secret };
    let (_, tokens) = app.tokens(&browser(), "openid profile offline_access");
    let user_token = tokens["access_token"].as_str().unwrap().to_owned();
    let user = claims(&user_token);

    // Delegation: the exchanged token is the user's, for API B, and names
    // the application as its actor.
    let (status, answer) = exchange(
        &app,
        &[("subject_token", &user_token), ("subject_token_type", ACCESS), ("audience", API_B)],
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!((&answer["issued_token_type"], &answer["token_type"]), (&json!(ACCESS), &json!("Bearer")));
    let exchanged = answer["access_token"].as_str().unwrap().to_owned();
    let got = claims(&exchanged);
    assert_eq!((&got["sub"], &got["aud"], &got["client_id"]), (&user["sub"], &json!(API_B), &json!("app-a")));
    assert_eq!(got["act"], json!({ "sub": "app-a", "client_id": "app-a" }), "§4.1");
    assert_eq!(got["scope"], "openid profile offline_access");
    assert_ne!(got["jti"], user["jti"]);
    // API B can use it as the user's token, and introspection shows the
    // chain; it is not a token for UserInfo (its audience is API B only).
    assert_eq!(app.userinfo(&exchanged), 401, "RFC 9068 §4: aud names another API");
    let (_, introspected) = app.post("/introspect", &[("token", &exchanged)]);
    assert_eq!((&introspected["active"], &introspected["act"]["sub"]), (&json!(true), &json!("app-a")));

    // Scope only narrows.
    let (status, narrowed) = exchange(
        &app,
        &[
            ("subject_token", &user_token),
            ("subject_token_type", ACCESS),
            ("resource", API_B),
            ("scope", "openid"),
        ],
    );
    assert_eq!((status, &narrowed["scope"]), (200, &json!("openid")));

    // A second hop with an actor token: svc-b acts on the delegated token;
    // the new act nests the earlier one.
    let svc_token = rp_http()
        .post(server.url("/token"))
        .basic_auth("svc-b", Some(&svc))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .unwrap()
        .json::<Value>()
        .unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let svc_rp = Rp { server: &server, http: rp_http(), id: "svc-b", secret: svc };
    let (status, hop) = exchange(
        &svc_rp,
        &[
            ("subject_token", &exchanged),
            ("subject_token_type", ACCESS),
            ("actor_token", &svc_token),
            ("actor_token_type", ACCESS),
            ("audience", API_C),
        ],
    );
    assert_eq!(status, 200, "{hop}");
    let chained = claims(hop["access_token"].as_str().unwrap());
    assert_eq!(chained["act"], json!({ "sub": "svc-b", "act": { "sub": "app-a", "client_id": "app-a" } }));
    assert_eq!(chained["sub"], user["sub"]);

    // A refresh token and an ID token are subject tokens too; an ID token
    // can be asked for.
    let (status, from_refresh) = exchange(
        &app,
        &[
            ("subject_token", tokens["refresh_token"].as_str().unwrap()),
            ("subject_token_type", REFRESH),
            ("audience", API_B),
        ],
    );
    assert_eq!(status, 200, "{from_refresh}");
    let (status, id) = exchange(
        &app,
        &[
            ("subject_token", tokens["id_token"].as_str().unwrap()),
            ("subject_token_type", ID),
            ("audience", API_B),
            ("requested_token_type", ID),
        ],
    );
    assert_eq!(
        (status, &id["issued_token_type"], &id["token_type"]),
        (200, &json!(ID), &json!("N_A")),
        "{id}"
    );
    assert_eq!(claims(id["access_token"].as_str().unwrap())["aud"], "app-a");

    // Exchanged tokens are revocable: by their own jti, and with the grant
    // they came from.
    let (status, _) = app.post("/revoke", &[("token", &exchanged)]);
    assert_eq!(status, 200);
    assert_eq!(app.post("/introspect", &[("token", &exchanged)]).1["active"], false);
    let refreshed_token = from_refresh["access_token"].as_str().unwrap().to_owned();
    let active = |token: &str| app.post("/introspect", &[("token", token)]).1["active"].clone();
    assert_eq!(active(&refreshed_token), true);
    let (status, _) = app.post("/revoke", &[("token", tokens["refresh_token"].as_str().unwrap())]);
    assert_eq!(status, 200);
    assert_eq!(active(&refreshed_token), false, "revoking the grant revokes what was exchanged from it");
}

/// (what, form, expected error)
type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);

fn exchange_errors_and_policy_follow_rfc8693(db: &TestDb) {
    let web_secret = setup(db);
    let secret = application(db, "app-a", &[]);
    let refresher = application(db, "app-r", &["--exchange-refresh-tokens", "--exchange-impersonation"]);
    let server = Server::start(crate::bin(), db, &[]);
    let app = Rp { server: &server, http: rp_http(), id: "app-a", secret };
    let (_, tokens) = app.tokens(&browser(), "openid profile");
    let user_token = tokens["access_token"].as_str().unwrap().to_owned();

    let cases: Vec<Case<'_>> = vec![
        ("no subject_token", vec![("subject_token_type", ACCESS)], "invalid_request"),
        ("no subject_token_type", vec![("subject_token", &user_token)], "invalid_request"),
        (
            "unsupported type",
            vec![("subject_token", &user_token), ("subject_token_type", "urn:x:saml")],
            "invalid_request",
        ),
        // RFC 8693 §2.2.2: an invalid subject token is invalid_request.
        (
            "forged subject",
            vec![("subject_token", "eyJ.eyJ.sig"), ("subject_token_type", ACCESS)],
            "invalid_request",
        ),
        (
            "actor without type",
            vec![
                ("subject_token", &user_token),
                ("subject_token_type", ACCESS),
                ("actor_token", &user_token),
            ],
            "invalid_request",
        ),
        (
            "audience not allowed",
            vec![
                ("subject_token", &user_token),
                ("subject_token_type", ACCESS),
                ("audience", "https://evil.example.com"),
            ],
            "invalid_target",
        ),
        (
            "wider scope",
            vec![("subject_token", &user_token), ("subject_token_type", ACCESS), ("scope", "openid email")],
            "invalid_scope",
        ),
        (
            "refresh not allowed",
            vec![
                ("subject_token", &user_token),
                ("subject_token_type", ACCESS),
                ("requested_token_type", REFRESH),
            ],
            "invalid_request",
        ),
        (
            "unknown requested type",
            vec![
                ("subject_token", &user_token),
                ("subject_token_type", ACCESS),
                ("requested_token_type", "urn:x:y"),
            ],
            "invalid_request",
        ),
    ];
    for (what, form, error) in cases {
        let (status, body) = exchange(&app, &form);
        assert_eq!((status, body["error"].as_str()), (400, Some(error)), "{what}: {body}");
    }
    // A client without the grant: unauthorized_client.
    let web = Rp { server: &server, http: rp_http(), id: "web", secret: web_secret };
    let (status, body) = exchange(&web, &[("subject_token", &user_token), ("subject_token_type", ACCESS)]);
    assert_eq!((status, body["error"].as_str()), (400, Some("unauthorized_client")), "{body}");

    // Policy: refresh tokens by exchange, and impersonation (no act).
    let other = Rp { server: &server, http: rp_http(), id: "app-r", secret: refresher };
    let (status, issued) = exchange(
        &other,
        &[("subject_token", &user_token), ("subject_token_type", ACCESS), ("requested_token_type", REFRESH)],
    );
    assert_eq!((status, &issued["issued_token_type"]), (200, &json!(REFRESH)), "{issued}");
    let (status, used) = other.post(
        "/token",
        &[("grant_type", "refresh_token"), ("refresh_token", issued["access_token"].as_str().unwrap())],
    );
    assert_eq!(status, 200, "the exchanged refresh token works for its client: {used}");
    let (status, impersonated) =
        exchange(&other, &[("subject_token", &user_token), ("subject_token_type", ACCESS)]);
    assert_eq!(status, 200, "{impersonated}");
    assert!(claims(impersonated["access_token"].as_str().unwrap()).get("act").is_none());

    // Registration rules.
    let mut command = sigil_testkit::process::sigil(crate::bin(), db);
    command.args([
        "client",
        "add",
        "--id",
        "x",
        "--grant-type",
        "client_credentials",
        "--exchange-audience",
        API_B,
    ]);
    let ran = sigil_testkit::process::run(command);
    assert!(!ran.status.success() && ran.stderr.contains("token exchange grant"), "{}", ran.stderr);
    let metadata: Value =
        rp_http().get(server.url("/.well-known/oauth-authorization-server")).send().unwrap().json().unwrap();
    assert!(metadata["grant_types_supported"].as_array().unwrap().contains(&json!(EXCHANGE)));
}

/// A JWT from an issuer the operator trusts (its keys configured inline)
/// is a subject token; its `preferred_username` names the local user.
fn tokens_of_a_trusted_issuer_are_subject_tokens(db: &TestDb) {
    use josekit::jws::{ES256, JwsHeader};
    use josekit::jwt::JwtPayload;
    use std::time::{Duration, SystemTime};

    setup(db);
    let secret =
        application(db, "app-a", &["--exchange-audience", API_C, "--scope", "openid profile scim:read"]);
    let pair = ES256.generate_key_pair().unwrap();
    let mut public = josekit::jwk::KeyPair::to_jwk_public_key(&pair);
    public.set_key_id("idp-1");
    let jwks = json!({ "keys": [public.as_ref()] }).to_string();
    let trusted = format!(
        r#"[{{ issuer = "https://idp.example.com", jwks = '{jwks}', scopes = ["openid", "scim:read"], audiences = ["{API_B}"] }}]"#
    );
    let server = Server::start(crate::bin(), db, &[("SIGIL_EXCHANGE_TRUSTED_ISSUERS", &trusted)]);
    let here = format!("http://{}", server.addr);
    let mut private = josekit::jwk::KeyPair::to_jwk_key_pair(&pair);
    private.set_key_id("idp-1");
    // `extra` claims are set on top (a null removes one).
    let sign_with = |iss: &str, aud: &str, user: &str, lifetime: i64, extra: Value| {
        let mut claims = JwtPayload::new();
        claims.set_issuer(iss);
        claims.set_subject("external-42");
        claims.set_audience(vec![aud]);
        claims.set_claim("preferred_username", Some(json!(user))).unwrap();
        claims.set_claim("scope", Some(json!("openid admin scim:read"))).unwrap();
        for (name, value) in extra.as_object().into_iter().flatten() {
            claims.set_claim(name, (!value.is_null()).then(|| value.clone())).unwrap();
        }
        let when = if lifetime > 0 {
            SystemTime::now() + Duration::from_secs(lifetime.unsigned_abs())
        } else {
            SystemTime::now() - Duration::from_secs(lifetime.unsigned_abs())
        };
        claims.set_expires_at(&when);
        josekit::jwt::encode_with_signer(
            &claims,
            &JwsHeader::new(),
            &ES256.signer_from_jwk(&private).unwrap(),
        )
        .unwrap()
    };
    let sign =
        |iss: &str, aud: &str, user: &str, lifetime: i64| sign_with(iss, aud, user, lifetime, json!({}));
    let may_act = |actor: &str| json!({ "may_act": { "sub": actor } });
    let app = Rp { server: &server, http: rp_http(), id: "app-a", secret };
    let jwt = "urn:ietf:params:oauth:token-type:jwt";
    let good = sign("https://idp.example.com", &here, "alice", 60);
    let (status, answer) =
        exchange(&app, &[("subject_token", &good), ("subject_token_type", jwt), ("audience", API_B)]);
    assert_eq!(status, 200, "{answer}");
    let got = claims(answer["access_token"].as_str().unwrap());
    assert_eq!((&got["aud"], &got["act"]["sub"]), (&json!(API_B), &json!("app-a")));
    assert_eq!(answer["issued_token_type"], ACCESS);
    // Only what the token carries and the operator listed: not admin.
    assert_eq!(got["scope"], "openid scim:read", "{got}");
    let (_, introspected) = app.post("/introspect", &[("token", answer["access_token"].as_str().unwrap())]);
    assert_eq!(introspected["active"], true, "the user it names, by exact user name: {introspected}");
    let named = sign_with("https://idp.example.com", &here, "alice", 60, may_act("app-a"));
    let (status, answer) =
        exchange(&app, &[("subject_token", &named), ("subject_token_type", jwt), ("audience", API_B)]);
    assert_eq!(status, 200, "may_act naming this client admits it: {answer}");

    // Fail closed: no scope claim, no scope; another system's `act` is not
    // ours to vouch for; only the audiences listed for the issuer.
    let bare = sign_with("https://idp.example.com", &here, "alice", 60, json!({ "scope": null }));
    let (status, answer) =
        exchange(&app, &[("subject_token", &bare), ("subject_token_type", jwt), ("audience", API_B)]);
    assert_eq!(status, 200, "{answer}");
    assert!(
        answer.get("scope").is_none()
            && claims(answer["access_token"].as_str().unwrap()).get("scope").is_none(),
        "{answer}"
    );
    let acted = sign_with("https://idp.example.com", &here, "alice", 60, json!({ "act": { "sub": "root" } }));
    let (_, answer) =
        exchange(&app, &[("subject_token", &acted), ("subject_token_type", jwt), ("audience", API_B)]);
    assert_eq!(
        claims(answer["access_token"].as_str().unwrap())["act"],
        json!({ "sub": "app-a", "client_id": "app-a" })
    );
    let scim = server.url("/scim/v2");
    for target in [API_C, scim.as_str()] {
        // Sigil's own APIs too: the scope would imply SCIM, the operator's
        // list for the issuer does not name it.
        let (status, body) =
            exchange(&app, &[("subject_token", &good), ("subject_token_type", jwt), ("audience", target)]);
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_target")), "{target}: {body}");
    }

    for (what, token) in [
        (
            "another audience",
            sign("https://idp.example.com", "https://someone-else.example.com", "alice", 60),
        ),
        ("expired", sign("https://idp.example.com", &here, "alice", -120)),
        ("no such user", sign("https://idp.example.com", &here, "mallory", 60)),
        ("a user name in another case", sign("https://idp.example.com", &here, "ALICE", 60)),
        ("untrusted issuer", sign("https://evil.example.com", &here, "alice", 60)),
        // RFC 8693 §4.4: may_act admits only the actor it names.
        (
            "may_act names another actor",
            sign_with("https://idp.example.com", &here, "alice", 60, may_act("app-z")),
        ),
    ] {
        let (status, body) =
            exchange(&app, &[("subject_token", &token), ("subject_token_type", jwt), ("audience", API_B)]);
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "{what}: {body}");
    }
}
