//! Limits that keep one node standing: a deadline on request bodies,
//! start-up that does no needless work on an existing database, and JSON
//! bodies whose meaning does not depend on the parser (no repeated members),
//! and an error log that clients cannot fill.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{Value, json};
use sigil_testkit::process::{Server, run, sigil};
use sigil_testkit::{TestDb, backend_tests};

use crate::oidc::rp_http;
use crate::scim::{Scim, assert_error, token};

backend_tests!(
    a_second_start_creates_no_signing_keys,
    a_stalled_body_is_answered_408,
    scim_refuses_repeated_json_members,
);

/// Sends a request head promising 100 bytes of body, and only a few of
/// them; returns the connection, left open.
fn stall(server: &Server, head: &str) -> TcpStream {
    let mut stream = TcpStream::connect(server.addr).unwrap();
    write!(stream, "{head}Host: {}\r\nContent-Length: 100\r\n\r\n{{\"a", server.addr).unwrap();
    stream.flush().unwrap();
    stream
}

/// The status code of the response on `stream`, read with a generous
/// timeout (the server answers once its body deadline has passed).
fn status_of(mut stream: TcpStream) -> String {
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut response = Vec::new();
    let mut buf = [0u8; 1024];
    while !response.windows(2).any(|w| w == b"\r\n") {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => response.extend_from_slice(&buf[..n]),
            Err(e) => panic!("no response: {e}"),
        }
    }
    let text = String::from_utf8_lossy(&response).into_owned();
    text.split(' ').nth(1).unwrap_or_else(|| panic!("not an HTTP response: {text:?}")).to_owned()
}

/// A client that sends its headers and then stalls in the body does not
/// hold its connection: with `http.body_timeout_seconds` it is answered 408,
/// and the server keeps answering others meanwhile.
fn a_stalled_body_is_answered_408(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[("SIGIL_HTTP_BODY_TIMEOUT_SECONDS", "1")]);
    let token = crate::scim::token(db, &server, "provisioner", "scim:write");
    let form = stall(&server, "POST /token HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n");
    let scim = stall(
        &server,
        &format!(
            "POST /scim/v2/Users HTTP/1.1\r\nContent-Type: application/scim+json\r\n\
             Authorization: Bearer {token}\r\n"
        ),
    );
    let ready = reqwest::blocking::Client::new()
        .get(server.url("/readyz"))
        .timeout(Duration::from_secs(30))
        .send()
        .unwrap();
    assert_eq!(ready.status(), 200, "/readyz answers while bodies stall");
    assert_eq!(status_of(form), "408");
    assert_eq!(status_of(scim), "408");
    let logs = server.logs();
    assert!(!logs.contains("ERROR"), "a client's stall is not a server fault: {logs}");
}

/// Keys are generated only when missing: a restart on an existing key set
/// generates none (RSA keys cost hundreds of milliseconds each) and says so.
fn a_second_start_creates_no_signing_keys(db: &TestDb) {
    let keys = || {
        let mut command = sigil(crate::bin(), db);
        command.args(["keys", "list"]);
        run(command).stdout
    };
    let first = Server::start(crate::bin(), db, &[]);
    let logs = logs_with(&first, "signing keys");
    assert!(logs.contains("created signing keys"), "{logs}");
    drop(first);
    let listed = keys();
    let second = Server::start(crate::bin(), db, &[]);
    let logs = logs_with(&second, "signing keys");
    assert!(logs.contains("signing keys in place, none created"), "{logs}");
    assert!(!logs.contains("created signing keys"), "{logs}");
    drop(second);
    assert_eq!(keys(), listed, "a restart keeps the key set as it was");
}

/// The server's log once it holds `text` (stderr is read by another thread,
/// so a line written before start-up finished may arrive a moment later).
fn logs_with(server: &Server, text: &str) -> String {
    for _ in 0..250 {
        let logs = server.logs();
        if logs.contains(text) {
            return logs;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    server.logs()
}

/// `body` sent as is (a `serde_json::Value` cannot repeat a member).
fn send_raw(scim: &Scim<'_>, method: &str, path: &str, body: &str) -> (u16, Value) {
    let method = openidconnect::reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let response = scim
        .http
        .request(method, scim.url(path))
        .bearer_auth(&scim.token)
        .header("content-type", "application/scim+json")
        .body(body.to_owned())
        .send()
        .unwrap();
    let status = response.status().as_u16();
    (status, serde_json::from_str(&response.text().unwrap()).unwrap_or(Value::Null))
}

/// RFC 7644 §3.12: a body naming one member twice (at any depth, in any
/// letter case) is `invalidSyntax`, and nothing is written: which of the
/// two values would win is up to the parser.
fn scim_refuses_repeated_json_members(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    let scim =
        Scim { server: &server, http: rp_http(), token: token(db, &server, "provisioner", "scim:write") };
    const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
    for body in [
        format!(r#"{{"schemas":["{USER}"],"userName":"alice","userName":"mallory"}}"#),
        format!(r#"{{"schemas":["{USER}"],"userName":"alice","username":"mallory"}}"#),
        format!(r#"{{"schemas":["{USER}"],"userName":"alice","name":{{"givenName":"A","givenName":"M"}}}}"#),
    ] {
        let (status, answer) = send_raw(&scim, "POST", "/Users", &body);
        assert_error(status, &answer, 400, Some("invalidSyntax"));
        assert!(answer["detail"].as_str().unwrap().contains("appears twice"), "{answer}");
    }
    assert_eq!(scim.list(&[])["totalResults"], 0, "nothing was created");

    let (status, _, created) =
        scim.send("POST", "/Users", Some(&json!({ "schemas": [USER], "userName": "bob" })), &[]);
    assert_eq!(status, 201, "{created}");
    let path = format!("/Users/{}", created["id"].as_str().unwrap());
    let patch = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations":[{"op":"replace","path":"displayName","value":"Bob","value":"Eve"}]}"#;
    let (status, answer) = send_raw(&scim, "PATCH", &path, patch);
    assert_error(status, &answer, 400, Some("invalidSyntax"));
    let (status, _, after) = scim.get(&path);
    assert_eq!(status, 200);
    assert_eq!(after, created, "the PATCH changed nothing");
}

/// What a client gets wrong is its fault, not the server's: a chunked body
/// that does not parse and a SCIM body that is not JSON are answered 400 and
/// logged below ERROR.
#[test]
fn client_faults_are_not_logged_as_errors() {
    let db = TestDb::sqlite();
    let server = Server::start(crate::bin(), &db, &[("SIGIL_LOG_LEVEL", "debug")]);
    let mut stream = TcpStream::connect(server.addr).unwrap();
    write!(
        stream,
        "POST /token HTTP/1.1\r\nHost: {}\r\nTransfer-Encoding: chunked\r\n\
         Content-Type: application/x-www-form-urlencoded\r\n\r\nzz\r\nabc\r\n",
        server.addr
    )
    .unwrap();
    assert_eq!(status_of(stream), "400");
    let scim =
        Scim { server: &server, http: rp_http(), token: token(&db, &server, "provisioner", "scim:write") };
    let (status, answer) = send_raw(&scim, "POST", "/Users", "{not json");
    assert_error(status, &answer, 400, Some("invalidSyntax"));
    let logs = logs_with(&server, "SCIM request refused");
    assert!(logs.contains("SCIM request refused"), "{logs}");
    assert!(!logs.contains("ERROR"), "a client's mistake logged as an error: {logs}");
}
