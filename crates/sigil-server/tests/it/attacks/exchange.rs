//! Token exchange (RFC 8693) as a way up. Client A may exchange tokens;
//! client B is an ordinary application whose user was granted powerful
//! scopes. A holds B's tokens (as a stolen or leaked token would be held)
//! and tries to turn them into more than it was ever given.

use serde_json::{Value, json};
use sigil_testkit::process::Server;
use sigil_testkit::{TestDb, backend_tests};

use super::{claims, relying_party};
use crate::cli;
use crate::lifecycle::Rp;
use crate::oidc::{browser, rp_http, setup};

backend_tests!(
    another_clients_refresh_token_and_scopes_are_out_of_reach,
    id_tokens_and_actors_belong_to_the_caller,
    exchanged_tokens_never_outlive_or_outrun_their_subject,
    signing_out_revokes_what_was_exchanged_from_the_session,
);

const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS: &str = "urn:ietf:params:oauth:token-type:access_token";
const REFRESH: &str = "urn:ietf:params:oauth:token-type:refresh_token";
const ID: &str = "urn:ietf:params:oauth:token-type:id_token";
const API_B: &str = "https://api-b.example.com";
const POWERFUL: &str = "openid profile offline_access scim:write admin";

struct World<'a> {
    /// The exchanging client, registered for `openid profile offline_access`.
    a: Rp<'a>,
    /// An exchanging client trusted to impersonate, with refresh tokens.
    i: Rp<'a>,
    /// The application whose tokens A holds.
    b: Rp<'a>,
    /// Alice's tokens at B, with every powerful scope.
    b_tokens: Value,
}

/// Registers A and B (and alice, who may do anything: a token that
/// reaches further than it should shows at once); returns their secrets.
fn register(db: &TestDb) -> (String, String, String) {
    setup(db);
    let a = relying_party(
        db,
        "app-a",
        "openid profile offline_access",
        &[
            "--grant-type",
            EXCHANGE,
            "--grant-type",
            "client_credentials",
            "--exchange-audience",
            API_B,
            "--exchange-refresh-tokens",
        ],
    );
    let i = relying_party(
        db,
        "app-i",
        "openid profile offline_access",
        &[
            "--grant-type",
            EXCHANGE,
            "--exchange-audience",
            API_B,
            "--exchange-refresh-tokens",
            "--exchange-impersonation",
        ],
    );
    let b = relying_party(db, "app-b", POWERFUL, &["--grant-type", "client_credentials"]);
    cli(db, &["admin", "grant", "platform-operator", "--user", "alice"]);
    (a, b, i)
}

fn world(server: &Server, (a, b, i): (String, String, String)) -> World<'_> {
    let a = Rp { server, http: rp_http(), id: "app-a", secret: a };
    let i = Rp { server, http: rp_http(), id: "app-i", secret: i };
    let b = Rp { server, http: rp_http(), id: "app-b", secret: b };
    let (_, b_tokens) = b.tokens(&browser(), POWERFUL);
    World { a, i, b, b_tokens }
}

fn exchange(rp: &Rp<'_>, form: &[(&str, &str)]) -> (u16, Value) {
    let mut all = vec![("grant_type", EXCHANGE)];
    all.extend_from_slice(form);
    rp.post("/token", &all)
}

fn text<'v>(value: &'v Value, name: &str) -> &'v str {
    value[name].as_str().unwrap_or_else(|| panic!("no {name} in {value}"))
}

/// Finding 1: B's refresh token is B's alone, and A gets nothing beyond
/// its own registration, whatever the subject token carries.
fn another_clients_refresh_token_and_scopes_are_out_of_reach(db: &TestDb) {
    let secrets = register(db);
    let server = Server::start(crate::bin(), db, &[]);
    let w = world(&server, secrets);
    let b_refresh = text(&w.b_tokens, "refresh_token");
    let b_access = text(&w.b_tokens, "access_token");

    // RFC 6749 §6: a refresh token only for the client it was issued to.
    for requested in [ACCESS, REFRESH] {
        let (status, body) = exchange(
            &w.a,
            &[
                ("subject_token", b_refresh),
                ("subject_token_type", REFRESH),
                ("audience", API_B),
                ("requested_token_type", requested),
            ],
        );
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "{body}");
    }
    // Nor is it spent by the attempt: B still refreshes with it.
    let (status, refreshed) =
        w.b.post("/token", &[("grant_type", "refresh_token"), ("refresh_token", b_refresh)]);
    assert_eq!(status, 200, "{refreshed}");

    // B's access token carries scim:write and admin; A is registered for
    // neither, so the exchange gives only what both allow.
    let (status, got) =
        exchange(&w.a, &[("subject_token", b_access), ("subject_token_type", ACCESS), ("audience", API_B)]);
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["scope"], "openid profile offline_access", "{got}");
    for wider in ["admin", "scim:write", "openid admin"] {
        let (status, body) = exchange(
            &w.a,
            &[
                ("subject_token", b_access),
                ("subject_token_type", ACCESS),
                ("audience", API_B),
                ("scope", wider),
            ],
        );
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")), "{wider}: {body}");
    }
    // Nor can A name Sigil's own APIs as the audience without their scope.
    let scim = server.url("/scim/v2");
    let (status, body) =
        exchange(&w.a, &[("subject_token", b_access), ("subject_token_type", ACCESS), ("resource", &scim)]);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_target")), "{body}");

    // A refresh token by exchange records no actor, so a delegating client
    // gets none: it would be impersonation at its first use.
    let (status, body) = exchange(
        &w.a,
        &[
            ("subject_token", b_access),
            ("subject_token_type", ACCESS),
            ("audience", API_B),
            ("requested_token_type", REFRESH),
        ],
    );
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "{body}");
    // A client trusted to impersonate gets one that lives no longer than
    // the subject token, whose access tokens live no longer than it, and
    // that belongs to the subject's grant: B revoking its grant kills it.
    let (status, issued) = exchange(
        &w.i,
        &[
            ("subject_token", b_access),
            ("subject_token_type", ACCESS),
            ("audience", API_B),
            ("requested_token_type", REFRESH),
        ],
    );
    assert_eq!(status, 200, "{issued}");
    let i_refresh = text(&issued, "access_token").to_owned();
    let (_, introspected) = w.i.post("/introspect", &[("token", &i_refresh)]);
    assert_eq!(introspected["active"], true, "{introspected}");
    let subject_exp = claims(b_access)["exp"].as_i64().unwrap();
    assert!(introspected["exp"].as_i64().unwrap() <= subject_exp, "{introspected} outlives {subject_exp}");
    let (status, used) =
        w.i.post("/token", &[("grant_type", "refresh_token"), ("refresh_token", &i_refresh)]);
    assert_eq!(status, 200, "{used}");
    assert!(claims(text(&used, "access_token"))["exp"].as_i64().unwrap() <= subject_exp, "{used}");
    assert_eq!(w.b.post("/revoke", &[("token", text(&refreshed, "refresh_token"))]).0, 200);
    let (_, introspected) = w.i.post("/introspect", &[("token", text(&used, "refresh_token"))]);
    assert_eq!(introspected["active"], false, "revoking B's grant revokes what came from it");
}

/// Findings 3 and 4: an ID token is a subject only for the client it was
/// issued to, and the actor is the caller (or whom `may_act` names).
fn id_tokens_and_actors_belong_to_the_caller(db: &TestDb) {
    let secrets = register(db);
    let server = Server::start(crate::bin(), db, &[]);
    let w = world(&server, secrets);
    let b_id = text(&w.b_tokens, "id_token");
    let b_access = text(&w.b_tokens, "access_token");

    for requested in [ACCESS, ID] {
        let (status, body) = exchange(
            &w.a,
            &[
                ("subject_token", b_id),
                ("subject_token_type", ID),
                ("audience", API_B),
                ("requested_token_type", requested),
            ],
        );
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "B's ID token: {body}");
    }
    // An access token is not an ID token, whatever the client calls it.
    let (status, body) =
        exchange(&w.a, &[("subject_token", b_access), ("subject_token_type", ID), ("audience", API_B)]);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "{body}");

    // A's own sign-in: its ID token is a subject for A.
    let (_, a_tokens) = w.a.tokens(&browser(), "openid profile offline_access");
    let a_id = text(&a_tokens, "id_token");
    let (status, from_id) =
        exchange(&w.a, &[("subject_token", a_id), ("subject_token_type", ID), ("audience", API_B)]);
    assert_eq!(status, 200, "{from_id}");

    // Actors: another client's own token, the user's tokens: refused.
    let b_service = w.b.post("/token", &[("grant_type", "client_credentials"), ("scope", "openid")]).1;
    let user_access = text(&a_tokens, "access_token");
    for (what, actor, kind) in [
        ("B's client token", text(&b_service, "access_token"), ACCESS),
        ("the user's ID token", a_id, ID),
        ("the user's access token", user_access, ACCESS),
    ] {
        let (status, body) = exchange(
            &w.a,
            &[
                ("subject_token", user_access),
                ("subject_token_type", ACCESS),
                ("actor_token", actor),
                ("actor_token_type", kind),
                ("audience", API_B),
            ],
        );
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "{what}: {body}");
    }
    // A's own client token is an actor A may name.
    let a_service = w.a.post("/token", &[("grant_type", "client_credentials"), ("scope", "openid")]).1;
    let (status, acted) = exchange(
        &w.a,
        &[
            ("subject_token", user_access),
            ("subject_token_type", ACCESS),
            ("actor_token", text(&a_service, "access_token")),
            ("actor_token_type", ACCESS),
            ("audience", API_B),
        ],
    );
    assert_eq!(status, 200, "{acted}");
    assert_eq!(claims(text(&acted, "access_token"))["act"]["sub"], "app-a");

    // What came from the ID token keeps its grant: A signing out of that
    // grant (revoking its refresh token) revokes the exchanged token.
    let exchanged = text(&from_id, "access_token").to_owned();
    assert_eq!(w.a.post("/introspect", &[("token", &exchanged)]).1["active"], true);
    assert_eq!(w.a.post("/revoke", &[("token", text(&a_tokens, "refresh_token"))]).0, 200);
    assert_eq!(w.a.post("/introspect", &[("token", &exchanged)]).1["active"], false);
}

/// Finding 3: chaining exchanges never extends `exp` past the subject's.
fn exchanged_tokens_never_outlive_or_outrun_their_subject(db: &TestDb) {
    let secrets = register(db);
    let server = Server::start(crate::bin(), db, &[]);
    let w = world(&server, secrets);
    let (_, a_tokens) = w.a.tokens(&browser(), "openid profile");
    let mut subject = text(&a_tokens, "access_token").to_owned();
    let first_exp = claims(&subject)["exp"].as_i64().unwrap();
    for hop in 0..3 {
        // A second apart, so an uncapped token would expire later.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let (status, next) = exchange(
            &w.a,
            &[("subject_token", &subject), ("subject_token_type", ACCESS), ("audience", API_B)],
        );
        assert_eq!(status, 200, "hop {hop}: {next}");
        subject = text(&next, "access_token").to_owned();
        let exp = claims(&subject)["exp"].as_i64().unwrap();
        assert!(exp <= first_exp, "hop {hop}: {exp} > {first_exp}");
        assert!(next["expires_in"].as_i64().unwrap() < 300, "capped by the first token: {next}");
    }
    assert_eq!(json!(claims(&subject)["sub"]), claims(text(&a_tokens, "access_token"))["sub"]);
}

/// Finding 3: what is exchanged keeps the subject's grant, so signing out
/// (RP-Initiated Logout) ends it too; an `offline_access` grant was asked
/// for to outlive the session, and does.
fn signing_out_revokes_what_was_exchanged_from_the_session(db: &TestDb) {
    let secrets = register(db);
    let server = Server::start(crate::bin(), db, &[]);
    let w = world(&server, secrets);
    let alice = browser();
    let (_, online) = w.a.tokens(&alice, "openid profile");
    let (_, offline) = w.a.tokens(&alice, "openid profile offline_access");
    let exchange_for_b = |tokens: &Value| {
        let (status, body) = exchange(
            &w.a,
            &[
                ("subject_token", text(tokens, "access_token")),
                ("subject_token_type", ACCESS),
                ("audience", API_B),
            ],
        );
        assert_eq!(status, 200, "{body}");
        text(&body, "access_token").to_owned()
    };
    let (online_b, offline_b) = (exchange_for_b(&online), exchange_for_b(&offline));
    let active = |token: &str| w.a.post("/introspect", &[("token", token)]).1["active"].clone();
    assert_eq!((active(&online_b), active(&offline_b)), (json!(true), json!(true)));

    let logout = url::Url::parse_with_params(
        &server.url("/logout"),
        &[("id_token_hint", text(&online, "id_token")), ("client_id", "app-a")],
    )
    .unwrap();
    let signed_out = alice.get(logout.as_str()).send().unwrap();
    assert!(
        signed_out.status().is_success() || signed_out.status().is_redirection(),
        "{}",
        signed_out.status()
    );
    assert_eq!(active(text(&online, "access_token")), false, "the session's grant ended");
    assert_eq!(active(&online_b), false, "and what was exchanged from it");
    assert_eq!(active(&offline_b), true, "offline_access outlives the session");
}
