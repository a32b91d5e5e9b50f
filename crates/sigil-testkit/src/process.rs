//! The `sigil` binary as a user runs it: commands with a database in their
//! environment, and a server started on an ephemeral port.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::TestDb;

/// How long a server may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A `sigil` command aimed at `db`, in a clean environment: no `SIGIL_*`
/// variable of the caller leaks in, and the working directory is `db`'s
/// temporary directory when it has one.
pub fn sigil(bin: &Path, db: &TestDb) -> Command {
    let mut command = Command::new(bin);
    aim_at(&mut command, db);
    command
}

/// Gives `command` (`sigil`, or a shell that runs it) the environment of
/// [`sigil`]: no `SIGIL_*` variable of the caller, `db` as the database, and
/// `db`'s temporary directory as the working directory when it has one.
pub fn aim_at(command: &mut Command, db: &TestDb) {
    for (name, _) in std::env::vars() {
        if name.starts_with("SIGIL_") || name == "RUST_LOG" {
            command.env_remove(name);
        }
    }
    command.env("SIGIL_DATABASE_URL", db.url());
    if let Some(dir) = db.dir() {
        command.current_dir(dir);
    }
}

/// What a finished command printed, as text.
#[derive(Debug)]
pub struct Ran {
    /// Exit status.
    pub status: ExitStatus,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs a command to completion.
pub fn run(mut command: Command) -> Ran {
    let Output { status, stdout, stderr } =
        command.stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    Ran {
        status,
        stdout: String::from_utf8_lossy(&stdout).into(),
        stderr: String::from_utf8_lossy(&stderr).into(),
    }
}

/// A running `sigil serve`, stopped when dropped.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// The address it listens on.
    pub addr: SocketAddr,
    /// `http`, or `https` when it serves TLS.
    pub scheme: &'static str,
    /// The address of its own metrics listener, when it has one.
    pub metrics_addr: Option<SocketAddr>,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `sigil serve` on `db`, on a free port, with extra environment.
    pub fn start(bin: &Path, db: &TestDb, env: &[(&str, &str)]) -> Self {
        let mut command = sigil(bin, db);
        command.arg("serve").env("SIGIL_BIND", "127.0.0.1:0");
        Self::start_command(command, env)
    }

    /// Starts a prepared `sigil serve` command.
    pub fn start_command(mut command: Command, env: &[(&str, &str)]) -> Self {
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().expect("stderr is piped");
        let sink = Arc::clone(&stderr);
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err_pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let (tx, rx) = mpsc::channel();
        let out = child.stdout.take().expect("stdout is piped");
        thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + START_TIMEOUT;
        let parse = |line: &str, rest: &str| -> SocketAddr {
            rest.trim().parse().unwrap_or_else(|e| panic!("bad address in {line:?}: {e}"))
        };
        let mut metrics_addr = None;
        let (addr, scheme) = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix("sigil listening on http://") {
                        break (parse(&line, rest), "http");
                    }
                    if let Some(rest) = line.strip_prefix("sigil listening on https://") {
                        break (parse(&line, rest), "https");
                    }
                    if let Some(rest) = line.strip_prefix("sigil metrics on http://") {
                        metrics_addr = Some(parse(&line, rest.trim_end_matches("/metrics")));
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    panic!("sigil serve did not start; stderr:\n{}", stderr.lock().unwrap());
                }
            }
        };
        Self { child, addr, scheme, metrics_addr, stderr }
    }

    /// `http://127.0.0.1:<port><path>` (`https` when it serves TLS).
    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme, self.addr)
    }

    /// Everything the server has logged so far.
    pub fn logs(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits (up to `timeout`) for the process to exit.
    pub fn terminate(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().is_ok_and(|s| s.success());
        assert!(sent, "could not send SIGTERM to {pid}");
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().ok().flatten() {
                return Some(status);
            }
            thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
