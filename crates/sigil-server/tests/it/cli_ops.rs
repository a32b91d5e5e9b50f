//! `sigil --version` and the day-to-day operator commands: showing,
//! disabling, enabling, removing users and setting their passwords, and
//! managing groups. Refusals print one line and change nothing.

use std::process::Command;

#[test]
fn version_prints_the_workspace_version() {
    let output = Command::new(crate::bin()).arg("--version").output().unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(stdout.trim(), format!("sigil {}", env!("CARGO_PKG_VERSION")));
    assert_ne!(env!("CARGO_PKG_VERSION"), "0.0.0", "the workspace has a real version");
}
