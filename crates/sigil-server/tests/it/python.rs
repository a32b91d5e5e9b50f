//! Python tools the tests run against the server (an independent relying
//! party, SCIM compliance testers), each installed from its pinned
//! `requirements.txt` into a virtual environment under the build directory
//! and rebuilt whenever the pins change.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A directory under `conformance/`.
pub(crate) fn conformance(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conformance").join(dir)
}

/// The `bin` directory of a virtual environment named `name` with
/// `requirements` installed.
pub(crate) fn venv(name: &str, requirements: &Path) -> PathBuf {
    let pins = std::fs::read_to_string(requirements).unwrap();
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let bin = venv.join("bin");
    let stamp = venv.join("requirements.installed");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(pins.as_str()) {
        return bin;
    }
    let _ = std::fs::remove_dir_all(&venv);
    let run = |command: &mut Command| {
        let out = command.output().unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
        assert!(
            out.status.success(),
            "{command:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(Command::new("python3").args(["-m", "venv"]).arg(&venv));
    run(Command::new(bin.join("python"))
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(requirements));
    std::fs::write(&stamp, pins).unwrap();
    bin
}
