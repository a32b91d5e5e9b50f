//! The systemd unit in `deploy/`, checked by systemd's own
//! `systemd-analyze verify` (unknown keys, bad values, a command that does
//! not exist) with `ExecStart` pointed at the binary under test.

use std::path::Path;
use std::process::Command;

#[test]
fn the_systemd_unit_verifies_and_keeps_its_hardening() {
    let unit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/sigil.service");
    let text = std::fs::read_to_string(&unit).unwrap();
    for line in [
        "ExecStart=/usr/local/bin/sigil --config /etc/sigil/sigil.toml serve",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "User=sigil",
        "StateDirectory=sigil",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "SystemCallFilter=@system-service",
    ] {
        assert!(text.lines().any(|l| l == line), "the unit lost `{line}`");
    }
    let Ok(version) = Command::new("systemd-analyze").arg("--version").output() else {
        // .ci/run installs systemd; a developer machine may not have it.
        println!(
            "SKIPPED the_systemd_unit_verifies_and_keeps_its_hardening: systemd-analyze is not installed"
        );
        return;
    };
    assert!(version.status.success());
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("sigil.service");
    std::fs::write(&copy, text.replace("/usr/local/bin/sigil", crate::bin().to_str().unwrap())).unwrap();
    let out = Command::new("systemd-analyze").arg("verify").arg(&copy).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "systemd-analyze verify failed: {stderr}");
    // It warns about unknown keys and bad values without failing.
    assert!(stderr.trim().is_empty(), "systemd-analyze verify warned: {stderr}");
}
