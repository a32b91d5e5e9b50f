//! The documents run: every `sh` block of `docs/*.md` that an operator
//! pastes is executed, in order, against a fresh server and database, so a
//! pasted quickstart cannot break silently.
//!
//! A block is marked by the HTML comment on the line before its fence,
//! which GitHub does not show:
//! - `<!-- runnable -->`: run as written, with the server's address in
//!   place of `127.0.0.1:8080`;
//! - `<!-- runnable: browser-sign-in USER PASSWORD -->`: the block is what a
//!   reader does by hand in a browser; the test does it instead (opens
//!   `$AUTH_URL`, signs in as USER, allows access if asked) and sets `CODE`
//!   to the code the browser is sent back with;
//! - `<!-- not run: why -->`: left out, for the reason given.
//!
//! A `sh` block with none of these fails the test, so a new block is run or
//! left out on purpose. The documents of a session run in one `bash` (with
//! `set -euo pipefail`, stderr into stdout, the built `sigil` first on
//! `PATH`), so variables carry from block to block and from one document
//! to the next, as in a reader's terminal. Where a block's comments show
//! JSON output (`# {"active":true,...}`), the output must contain it, `...`
//! standing for anything.

use std::io::{BufRead, BufReader, Write};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

use sigil_testkit::process::{self, Server};
use sigil_testkit::{TestDb, backend_tests};

use crate::oidc::{browser, code_from, field, follow, sign_in_as};

/// Documents read one after the other in one terminal: a later one starts
/// where the earlier left off (alice exists after the quickstart; the
/// `hr-sync` client and its `$SECRET` after scim.md).
const SESSIONS: &[&[&str]] = &[
    &["quickstart.md", "token-exchange.md"],
    &["quickstart.md", "authorization.md"],
    &["quickstart.md", "operations.md"],
    &["scim.md", "tokens.md"],
    &["provisioning-entra.md"],
    &["provisioning-okta.md"],
];

backend_tests!(
    quickstart_then_token_exchange,
    quickstart_then_authorization,
    quickstart_then_operations,
    scim_then_tokens,
    provisioning_entra,
    provisioning_okta,
);

fn quickstart_then_token_exchange(db: &TestDb) {
    run_session(db, SESSIONS[0]);
}

fn quickstart_then_authorization(db: &TestDb) {
    run_session(db, SESSIONS[1]);
}

fn quickstart_then_operations(db: &TestDb) {
    run_session(db, SESSIONS[2]);
}

fn scim_then_tokens(db: &TestDb) {
    run_session(db, SESSIONS[3]);
}

fn provisioning_entra(db: &TestDb) {
    run_session(db, SESSIONS[4]);
}

fn provisioning_okta(db: &TestDb) {
    run_session(db, SESSIONS[5]);
}

/// How long one block may run.
const BLOCK_TIMEOUT: Duration = Duration::from_secs(120);
/// The line the shell prints after each block: it finished.
const DONE: &str = "@@sigil-docs block done@@";
/// The line the shell's ERR trap prints before `set -e` ends it.
const FAILED: &str = "@@sigil-docs failed at line ";

fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs")
}

/// Starts a fresh server on `db`, then runs each document's blocks in one shell.
fn run_session(db: &TestDb, docs: &[&str]) {
    let server = Server::start(crate::bin(), db, &[]);
    // SQLite: the reader's directory holds `./sigil.db`, as the quickstart says.
    let scratch = tempfile::tempdir().unwrap();
    let dir = db.dir().unwrap_or_else(|| scratch.path().to_path_buf());
    let mut shell = Shell::start(&dir, Some(db));
    for doc in docs {
        let text = std::fs::read_to_string(docs_dir().join(doc)).unwrap();
        if let Err(failure) = run_doc(&mut shell, Some(&server), doc, &text) {
            panic!("{failure}\n--- server log ---\n{}", server.logs());
        }
    }
}

/// What the comment before a block says to do with it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Marker {
    Run,
    /// A step done by hand elsewhere (a browser), which the test performs.
    Hook(String),
    NotRun,
}

/// A fenced `sh` block.
#[derive(Debug)]
struct Block {
    /// The document's line number of the block's first line.
    line: usize,
    marker: Option<Marker>,
    text: String,
}

fn marker(comment: &str) -> Option<Marker> {
    let inner = comment.trim().strip_prefix("<!--")?.strip_suffix("-->")?.trim();
    if inner == "runnable" {
        return Some(Marker::Run);
    }
    if let Some(hook) = inner.strip_prefix("runnable:") {
        return Some(Marker::Hook(hook.trim().to_owned()));
    }
    inner.strip_prefix("not run:").filter(|why| !why.trim().is_empty()).map(|_| Marker::NotRun)
}

/// The `sh` blocks of a Markdown text, with the marker each carries.
fn blocks(markdown: &str) -> Vec<Block> {
    let mut found = Vec::new();
    let mut lines = markdown.lines().enumerate();
    let mut previous = "";
    while let Some((i, line)) = lines.next() {
        let Some(info) = line.trim_start().strip_prefix("```") else {
            if !line.trim().is_empty() {
                previous = line;
            }
            continue;
        };
        let mut text = String::new();
        for (_, inner) in lines.by_ref() {
            if inner.trim_start().starts_with("```") {
                break;
            }
            text.push_str(inner);
            text.push('\n');
        }
        if matches!(info.trim(), "sh" | "bash" | "shell") {
            found.push(Block { line: i + 2, marker: marker(previous), text });
        }
        previous = "";
    }
    found
}

/// The JSON a block's comments show as output: runs of comment lines that
/// start with `# {` or `# [`, continued by lines starting `#  `.
fn shown_outputs(block: &str) -> Vec<String> {
    let mut shown: Vec<String> = Vec::new();
    let mut open = false;
    for line in block.lines().map(str::trim) {
        if let Some(json) = line.strip_prefix("# ").filter(|j| j.starts_with('{') || j.starts_with('[')) {
            shown.push(json.trim().to_owned());
            open = true;
        } else if let (true, Some(more)) = (open, line.strip_prefix("#  ")) {
            shown.last_mut().unwrap().push_str(more.trim());
        } else {
            open = false;
        }
    }
    shown
}

/// Whether `output` contains `shown`'s pieces between its `...`s, in order;
/// the rest of the output after them.
fn shows<'a>(output: &'a str, shown: &str) -> Option<&'a str> {
    let mut rest = output;
    for piece in shown.split("...").filter(|p| !p.is_empty()) {
        let at = rest.find(piece)?;
        rest = &rest[at + piece.len()..];
    }
    Some(rest)
}

/// One `bash` for a session, fed a block at a time.
struct Shell {
    child: Child,
    stdin: ChildStdin,
    out: Receiver<String>,
    /// Where blocks are written to be sourced (not the reader's directory).
    scripts: tempfile::TempDir,
    count: usize,
}

impl Shell {
    /// `bash` in `dir`; with `db`, as `sigil` commands are run against it.
    fn start(dir: &Path, db: Option<&TestDb>) -> Self {
        let mut command = Command::new("bash");
        command.args(["--noprofile", "--norc"]);
        if let Some(db) = db {
            process::aim_at(&mut command, db);
        }
        let bin_dir = crate::bin().parent().unwrap();
        let path = std::env::join_paths(
            std::iter::once(bin_dir.to_path_buf())
                .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
        )
        .unwrap();
        command.env("PATH", path).current_dir(dir);
        let mut child =
            command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, out) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut shell = Self { child, stdin, out, scripts: tempfile::tempdir().unwrap(), count: 0 };
        let prelude =
            format!("exec 2>&1\nset -euo pipefail\ntrap 'printf \"\\n{FAILED}%s@@\\n\" \"$LINENO\"' ERR\n");
        writeln!(shell.stdin, "{prelude}").unwrap();
        shell
    }

    /// Runs `script` as a sourced file; its output, or the output so far and
    /// the script's line that failed.
    fn run(&mut self, script: &str) -> Result<String, (String, Option<usize>)> {
        self.count += 1;
        let file = self.scripts.path().join(format!("block-{}.sh", self.count));
        std::fs::write(&file, script).unwrap();
        // stdin from /dev/null: a command reading its input must not eat the
        // shell's own.
        let sent = writeln!(self.stdin, "source '{}' < /dev/null\nprintf '\\n{DONE}\\n'", file.display())
            .and_then(|()| self.stdin.flush());
        let mut output = String::new();
        loop {
            match self.out.recv_timeout(BLOCK_TIMEOUT) {
                Ok(line) if line == DONE => {
                    sent.expect("the shell takes its input");
                    // The newline printed before the sentinel.
                    if output.ends_with("\n\n") || output == "\n" {
                        output.pop();
                    }
                    return Ok(output);
                }
                Ok(line) => {
                    if let Some(n) = line.strip_prefix(FAILED).and_then(|l| l.strip_suffix("@@")) {
                        return Err((output, n.parse().ok()));
                    }
                    output.push_str(&line);
                    output.push('\n');
                }
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    output.push_str(&format!("(no end after {BLOCK_TIMEOUT:?})\n"));
                    return Err((output, None));
                }
                Err(RecvTimeoutError::Disconnected) => return Err((output, None)),
            }
        }
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `doc`'s blocks in `shell`; a failure names the document's line.
fn run_doc(shell: &mut Shell, server: Option<&Server>, doc: &str, markdown: &str) -> Result<(), String> {
    let found = blocks(markdown);
    if !found.iter().any(|b| matches!(b.marker, Some(Marker::Run))) {
        return Err(format!("{doc}: no block is marked <!-- runnable -->"));
    }
    for block in found {
        let text = match server {
            Some(server) => block
                .text
                .replace("127.0.0.1:8080", &server.addr.to_string())
                .replace("127.0.0.1%3A8080", &format!("127.0.0.1%3A{}", server.addr.port())),
            None => block.text.clone(),
        };
        let report = |line: usize, what: &str, output: &str| {
            format!("{doc}:{line}: {what}\n--- block ---\n{text}--- output ---\n{output}")
        };
        match &block.marker {
            None => {
                return Err(report(
                    block.line,
                    "an sh block needs <!-- runnable --> or <!-- not run: why --> before it",
                    "",
                ));
            }
            Some(Marker::NotRun) => {}
            Some(Marker::Hook(hook)) => {
                let server = server.ok_or_else(|| report(block.line, "a hook needs a server", ""))?;
                let code = match hook.split_once(' ') {
                    // The browser's checks assert; a failed one still names the block.
                    Some(("browser-sign-in", who)) => {
                        std::panic::catch_unwind(AssertUnwindSafe(|| browser_sign_in(shell, server, who)))
                            .unwrap_or_else(|_| Err("a check failed (above)".into()))
                            .map_err(|why| report(block.line, &format!("browser-sign-in: {why}"), ""))?
                    }
                    _ => return Err(report(block.line, &format!("unknown hook `{hook}`"), "")),
                };
                shell
                    .run(&format!("CODE='{code}'\n"))
                    .map_err(|(out, _)| report(block.line, "CODE", &out))?;
            }
            Some(Marker::Run) => {
                let output = shell.run(&text).map_err(|(output, line)| {
                    let at = line.map_or(block.line, |l| block.line + l - 1);
                    report(at, "failed", &output)
                })?;
                // Shown with --nocapture, and with a later failure of the test.
                println!("--- {doc}:{} ---\n{output}", block.line);
                // Each shown output after the one before, as the commands ran.
                let mut rest = output.as_str();
                for shown in shown_outputs(&text) {
                    rest = shows(rest, &shown).ok_or_else(|| {
                        report(block.line, &format!("the output does not show {shown}"), &output)
                    })?;
                }
            }
        }
    }
    Ok(())
}

/// What a reader does in the browser: opens `$AUTH_URL`, signs in as the
/// user `who` names (`USER PASSWORD`), allows access when asked; returns
/// the `code` the browser is sent back with.
fn browser_sign_in(shell: &mut Shell, server: &Server, who: &str) -> Result<String, String> {
    let (user, password) = who.split_once(' ').ok_or("needs USER PASSWORD")?;
    let url =
        shell.run("printf '%s\\n' \"$AUTH_URL\"\n").map_err(|(out, _)| format!("no $AUTH_URL: {out}"))?;
    let browser = browser();
    let mut landed = sign_in_as(server, &browser, url.trim(), user, password);
    if landed.status() == 200 {
        let html = landed.text().unwrap();
        if !html.contains("name=\"decision\"") {
            return Err(format!("neither a redirect nor a consent page: {html}"));
        }
        let form = [
            ("csrf", field(&html, "csrf")),
            ("request", field(&html, "request")),
            ("decision", "allow".into()),
        ];
        let allowed = browser.post(server.url("/consent")).form(&form).send().unwrap();
        landed = browser.get(follow(server, "/consent", &allowed)).send().unwrap();
    }
    if landed.status() != 302 {
        return Err(format!("the browser was not sent back: {}", landed.status()));
    }
    let code = code_from(&landed);
    if code.contains('\'') {
        return Err(format!("unexpected code {code:?}"));
    }
    Ok(code)
}

// The harness itself, on small documents, without a server.

fn run_text(markdown: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let mut shell = Shell::start(dir.path(), None);
    run_doc(&mut shell, None, "synthetic.md", markdown)
}

#[test]
fn a_failing_block_fails_the_run_naming_its_line_and_output() {
    let doc = "# T\n\n<!-- runnable -->\n```sh\nX=41\n```\n\ntext\n\n<!-- runnable -->\n```sh\n\
               echo \"answer $((X + 1))\"\nfalse\necho never\n```\n";
    let err = run_text(doc).unwrap_err();
    assert!(err.starts_with("synthetic.md:13: failed"), "{err}");
    assert!(err.contains("answer 42") && !err.contains("\nnever"), "{err}");
    // A failing command inside a pipe or a substitution fails it too.
    for failing in ["false | cat", "X=$(false)", "echo \"$UNSET_VARIABLE\""] {
        let doc = format!("<!-- runnable -->\n```sh\necho ok\n{failing}\n```\n");
        let err = run_text(&doc).unwrap_err();
        assert!(err.starts_with("synthetic.md:"), "{failing}: {err}");
    }
}

#[test]
fn shown_json_output_is_checked() {
    let doc = "<!-- runnable -->\n```sh\necho '{\"a\":1,\"b\":\"x\",\"c\":[2]}'\n\
               # {\"a\":1,...,\n#  \"c\":[2]}\n```\n";
    run_text(doc).unwrap();
    let wrong = doc.replace("\"c\":[2]}\n```", "\"c\":[3]}\n```");
    let err = run_text(&wrong).unwrap_err();
    assert!(err.contains("does not show {\"a\":1,...,\"c\":[3]}"), "{err}");
    assert_eq!(shows("{\"sub\":\"x\",\"n\":1} tail", "{\"sub\":\"...\",\"n\":1}"), Some(" tail"));
    assert_eq!(shows("{\"n\":1,\"sub\":\"x\"}", "{\"sub\":\"...\",\"n\":1}"), None, "order counts");
    // Two outputs shown are two outputs printed, in that order.
    let twice =
        "<!-- runnable -->\n```sh\necho '{\"n\":1}'\n# {\"n\":1}\necho '{\"n\":2}'\n# {\"n\":1}\n```\n";
    let err = run_text(twice).unwrap_err();
    assert!(err.contains("does not show {\"n\":1}"), "{err}");
    run_text(&twice.replacen("# {\"n\":1}\n```", "# {\"n\":2}\n```", 1)).unwrap();
}

#[test]
fn every_sh_block_is_run_or_left_out_on_purpose() {
    let err = run_text("<!-- runnable -->\n```sh\ntrue\n```\n\n```sh\nrm -rf /\n```\n").unwrap_err();
    assert!(err.starts_with("synthetic.md:7: an sh block needs"), "{err}");
    let err = run_text("<!-- not run: needs a browser -->\n```sh\nfalse\n```\n").unwrap_err();
    assert!(err.contains("no block is marked"), "{err}");
    // Blocks of other languages are not shell.
    run_text("<!-- runnable -->\n```sh\ntrue\n```\n```toml\nx = 1\n```\n").unwrap();
}

/// Every `sh` block of every document is run or left out for a reason,
/// and every document with a runnable block is in a session.
#[test]
fn every_document_is_run_or_its_blocks_say_why_not() {
    let listed: Vec<&str> = SESSIONS.iter().flat_map(|s| s.iter().copied()).collect();
    let mut seen = 0;
    for entry in std::fs::read_dir(docs_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let found = blocks(&std::fs::read_to_string(&path).unwrap());
        for block in &found {
            assert!(block.marker.is_some(), "{name}:{}: an sh block without a marker", block.line);
        }
        let runs = found.iter().any(|b| matches!(b.marker, Some(Marker::Run)));
        assert_eq!(runs, listed.contains(&name.as_str()), "{name}: runnable blocks and SESSIONS disagree");
        seen += usize::from(runs);
    }
    assert_eq!(seen, 8, "the documents with runnable blocks");
}
