//! TLS on Sigil's own listener: certificates made for the test by a test
//! CA (rcgen), checked by a client on a different TLS stack (reqwest over
//! OpenSSL, trusting only that CA), replaced on disk and reloaded by a
//! SIGHUP sent to the running server.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use serde_json::Value;
use sigil_testkit::TestDb;
use sigil_testkit::process::{Server, run, sigil};

/// A CA and a server certificate it issued for 127.0.0.1 and localhost.
struct Pki {
    ca_pem: String,
    cert_pem: String,
    cert_der: Vec<u8>,
    key_pem: String,
}

fn pki(name: &str) -> Pki {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.distinguished_name.push(DnType::CommonName, format!("{name} test CA"));
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    leaf.distinguished_name.push(DnType::CommonName, format!("{name} server"));
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate().unwrap();
    let cert = leaf.signed_by(&key, &ca).unwrap();
    Pki {
        ca_pem: ca.pem(),
        cert_pem: cert.pem(),
        cert_der: cert.der().to_vec(),
        key_pem: key.serialize_pem(),
    }
}

/// Replaces a file the way certificate renewal tools do: a new file
/// renamed over the old one.
fn replace(path: &Path, contents: &str) {
    let next = path.with_extension("next");
    std::fs::write(&next, contents).unwrap();
    std::fs::rename(&next, path).unwrap();
}

/// A new client (so a new connection and handshake) trusting only `ca`.
fn client(ca: &str) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).unwrap())
        .tls_info(true)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// The certificate the server presented for `url`, if the client trusting
/// `ca` accepted it.
fn presented(ca: &str, url: &str) -> Result<Vec<u8>, reqwest::Error> {
    let response = client(ca).get(url).send()?;
    assert_eq!(response.status(), 200);
    let info = response.extensions().get::<reqwest::tls::TlsInfo>().expect("TLS info was asked for");
    Ok(info.peer_certificate().expect("the server presents a certificate").to_vec())
}

fn hangup(server: &Server) {
    let sent = Command::new("kill").args(["-HUP", &server.pid().to_string()]).status().unwrap();
    assert!(sent.success());
}

/// Waits (up to 30 s) until `done` holds.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn serves_https_and_reloads_its_certificate_on_sighup() {
    let db = TestDb::sqlite();
    let dir = db.dir().unwrap();
    let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
    let (first, second) = (pki("first"), pki("second"));
    std::fs::write(&cert_file, &first.cert_pem).unwrap();
    std::fs::write(&key_file, &first.key_pem).unwrap();
    let server = Server::start(
        crate::bin(),
        &db,
        &[
            ("SIGIL_TLS_CERT_FILE", cert_file.to_str().unwrap()),
            ("SIGIL_TLS_KEY_FILE", key_file.to_str().unwrap()),
        ],
    );
    assert_eq!(server.scheme, "https");
    let health = server.url("/healthz");
    assert_eq!(presented(&first.ca_pem, &health).unwrap(), first.cert_der);
    assert!(presented(&second.ca_pem, &health).is_err(), "a client that does not trust the CA refuses");
    assert!(
        reqwest::blocking::get(format!("http://{}/healthz", server.addr)).is_err(),
        "no plain HTTP on the TLS port"
    );
    // Discovery names the https issuer the client reached.
    let discovery: Value = client(&first.ca_pem)
        .get(server.url("/.well-known/openid-configuration"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let issuer = discovery["issuer"].as_str().unwrap();
    assert!(issuer.starts_with(&format!("https://{}", server.addr)), "{issuer}");
    assert!(discovery["token_endpoint"].as_str().unwrap().starts_with("https://"), "{discovery}");

    // Renewal: new files, then SIGHUP. New handshakes get the new certificate.
    replace(&key_file, &second.key_pem);
    replace(&cert_file, &second.cert_pem);
    hangup(&server);
    eventually("the second certificate is served", || presented(&second.ca_pem, &health).is_ok());
    assert_eq!(presented(&second.ca_pem, &health).unwrap(), second.cert_der);
    assert!(presented(&first.ca_pem, &health).is_err(), "the first certificate is gone");
    eventually("the reload is logged", || server.logs().contains("reloaded the TLS certificate"));

    // A renewal that does not load leaves the working certificate in place.
    replace(&cert_file, "not a certificate\n");
    hangup(&server);
    eventually("the failed reload is logged", || server.logs().contains("kept the previous TLS certificate"));
    assert_eq!(presented(&second.ca_pem, &health).unwrap(), second.cert_der);
}

/// A certificate or key that does not load stops start-up like any other
/// bad configuration value: exit status 2 and one line naming the key.
#[test]
fn unusable_certificate_files_stop_start_up_naming_the_key() {
    let db = TestDb::sqlite();
    let dir = db.dir().unwrap();
    let (one, other) = (pki("one"), pki("other"));
    let write = |name: &str, contents: &str| {
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let (cert, key, other_key) = (
        write("cert.pem", &one.cert_pem),
        write("key.pem", &one.key_pem),
        write("other.pem", &other.key_pem),
    );
    let missing = dir.join("missing.pem").to_str().unwrap().to_owned();
    for (cert_file, key_file, expected) in [
        (missing.as_str(), key.as_str(), "`tls.cert_file` (from SIGIL_TLS_CERT_FILE)"),
        (cert.as_str(), missing.as_str(), "`tls.key_file` (from SIGIL_TLS_KEY_FILE)"),
        (key.as_str(), key.as_str(), "`tls.cert_file` (from SIGIL_TLS_CERT_FILE)"),
        (cert.as_str(), cert.as_str(), "`tls.key_file` (from SIGIL_TLS_KEY_FILE)"),
        (cert.as_str(), other_key.as_str(), "does not fit the certificate"),
    ] {
        let mut command = sigil(crate::bin(), &db);
        command
            .arg("serve")
            .env("SIGIL_BIND", "127.0.0.1:0")
            .env("SIGIL_TLS_CERT_FILE", cert_file)
            .env("SIGIL_TLS_KEY_FILE", key_file);
        let ran = run(command);
        assert_eq!(ran.status.code(), Some(2), "{cert_file} {key_file}: {}", ran.stderr);
        assert_eq!(ran.stderr.trim_end().lines().count(), 1, "{:?}", ran.stderr);
        assert!(ran.stderr.contains(expected), "{expected}: {}", ran.stderr);
    }
}
