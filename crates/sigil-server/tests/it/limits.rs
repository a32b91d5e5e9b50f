//! Limits that keep one node standing: a deadline on request bodies, and
//! start-up that does no needless work on an existing database.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use sigil_testkit::process::{Server, run, sigil};
use sigil_testkit::{TestDb, backend_tests};

backend_tests!(a_second_start_creates_no_signing_keys, a_stalled_body_is_answered_408);

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
