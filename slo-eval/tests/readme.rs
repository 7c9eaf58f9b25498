//! The README tells the whole truth: every command it shows runs, against
//! real servers where it names one, and its Commands table names every flag
//! of every command.
//!
//! Commands are read from the README itself (```sh blocks, `$ ` lines of
//! text blocks, and inline `slo-eval ...` spans without placeholders), so a
//! command added to the README is run here without touching this file, and
//! a command this test does not know how to run fails it.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use clap::CommandFactory;
use support::{Alertmanager, Prometheus, Receiver};

/// Commands the README shows that this test does not run, and why. Anything
/// else that is not `slo-eval` fails the test.
const NOT_RUN: &[(&str, &str)] = &[
    ("cargo test", "the test suite itself"),
    ("cargo bench", "benchmarks are measured, not tested"),
    ("cargo install", "installs into the user's cargo home"),
    ("bash .ci/run", "CI itself (runs this test)"),
    (
        MODULE_GRAPH,
        "a shell pipeline: the_module_graph_the_readme_prints_has_no_cycle runs it",
    ),
];

/// How the README's module-graph check starts.
const MODULE_GRAPH: &str = "cd slo-core/src && for f in";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or_else(|| panic!("no workspace root"))
        .to_path_buf()
}

fn readme() -> String {
    std::fs::read_to_string(repo_root().join("README.md"))
        .unwrap_or_else(|e| panic!("README.md: {e}"))
}

/// A word that stands for something the reader fills in (`FILE`, `URL`,
/// `FILE_OR_DIR...`, `[--json]`), so the span is a synopsis, not a command.
fn has_placeholder(cmd: &str) -> bool {
    cmd.contains("...")
        || cmd.contains('[')
        || cmd.contains('|')
        || cmd.split_whitespace().any(|w| {
            let w = w.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_');
            !w.is_empty() && w.chars().all(|c| c.is_ascii_uppercase() || c == '_')
        })
}

/// The commands the README shows, in order, with their line numbers.
fn commands(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut block: Option<String> = None;
    let mut pending = String::new();
    let mut pending_line = 0;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if let Some(rest) = line.strip_prefix("```") {
            block = if block.is_some() {
                None
            } else {
                Some(rest.trim().to_owned())
            };
            continue;
        }
        match block.as_deref() {
            Some("sh") => {
                let code = strip_comment(line);
                if code.trim().is_empty() {
                    continue;
                }
                if pending.is_empty() {
                    pending_line = n;
                }
                if let Some(cont) = code.trim_end().strip_suffix('\\') {
                    pending.push_str(cont.trim());
                    pending.push(' ');
                } else {
                    pending.push_str(code.trim());
                    out.push((pending_line, std::mem::take(&mut pending)));
                }
            }
            Some("text") => {
                if let Some(cmd) = line.strip_prefix("$ ") {
                    out.push((n, cmd.trim().to_owned()));
                }
            }
            Some(_) => {}
            None => {
                // Inline spans in prose (not the Commands table's synopses).
                for span in line.split('`').skip(1).step_by(2) {
                    if span.starts_with("slo-eval ") && !has_placeholder(span) {
                        out.push((n, span.to_owned()));
                    }
                }
            }
        }
    }
    out
}

/// `cmd  # comment` -> `cmd`; a whole-line comment -> empty.
fn strip_comment(line: &str) -> &str {
    let t = line.trim_start();
    if t.starts_with('#') {
        return "";
    }
    match line.find(" #") {
        Some(i) => &line[..i],
        None => line,
    }
}

/// Splits a command line into words (no quoting is used in the README's
/// commands; a quote would fail the test rather than be misread).
fn words(cmd: &str) -> Vec<String> {
    assert!(
        !cmd.contains(['\'', '"', '$', '>', '<', ';', '&']),
        "README command needs a shell this test does not emulate: {cmd}"
    );
    cmd.split_whitespace().map(str::to_owned).collect()
}

/// The slo-eval arguments of a README command, or `None` for one in
/// [`NOT_RUN`]; panics on anything else.
fn slo_eval_args(line: usize, cmd: &str) -> Option<Vec<String>> {
    if NOT_RUN.iter().any(|(prefix, _)| cmd.starts_with(prefix)) {
        return None;
    }
    let w = words(cmd);
    if w.first().map(String::as_str) == Some("slo-eval") {
        return Some(w[1..].to_vec());
    }
    if w.len() > 4 && w[..4] == ["cargo", "run", "-p", "slo-eval"] && w[4] == "--" {
        return Some(w[5..].to_vec());
    }
    panic!(
        "README.md:{line}: `{cmd}` is a command this test cannot run; run it here or add it to NOT_RUN with a reason"
    );
}

/// The example shop's history (2026-11-02 to 2026-11-05) in a real
/// Prometheus, for the README's commands against 127.0.0.1:9090.
fn shop_prometheus() -> Prometheus {
    let data = std::fs::read_to_string(repo_root().join("examples/data/shop.om"))
        .unwrap_or_else(|e| panic!("shop.om: {e}"));
    Prometheus::start(&data, &[])
}

/// A scratch folder where the README's relative paths (`examples/...`) work
/// and its output files (`shop.svg`, `slo-rules.yml`) land.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    copy_dir(&repo_root().join("examples"), &dir.path().join("examples"));
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("mkdir {}: {e}", to.display()));
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.unwrap_or_else(|e| panic!("read_dir: {e}"));
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target)
                .unwrap_or_else(|e| panic!("copy {}: {e}", entry.path().display()));
        }
    }
}

struct Servers {
    prometheus: Option<Prometheus>,
    alertmanager: Option<(Alertmanager, Receiver)>,
}

impl Servers {
    fn prometheus(&mut self) -> &str {
        &self.prometheus.get_or_insert_with(shop_prometheus).url
    }

    fn alertmanager(&mut self) -> &str {
        let (am, _) = self.alertmanager.get_or_insert_with(|| {
            let receiver = Receiver::start();
            (Alertmanager::start(&receiver.url), receiver)
        });
        &am.url
    }
}

/// The daemon of `run --config FILE`, pointed at the real servers: it must
/// become ready and stop cleanly on SIGTERM.
fn run_daemon(line: usize, dir: &Path, config: &str, servers: &mut Servers) {
    let path = dir.join(config);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("README.md:{line}: {config}: {e}"));
    let port = support::free_port();
    let text = text
        .replace("http://127.0.0.1:9090", servers.prometheus())
        .replace("http://127.0.0.1:9093", servers.alertmanager())
        .replace("127.0.0.1:9099", &format!("127.0.0.1:{port}"));
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("write: {e}"));
    let child = Command::new(env!("CARGO_BIN_EXE_slo-eval"))
        .args(["run", "--config", config])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    let ready = support::eventually(Duration::from_secs(60), || {
        support::get(&format!("http://127.0.0.1:{port}/readyz")).filter(|(code, _)| *code == 200)
    });
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("wait: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        ready.is_some(),
        "README.md:{line}: `slo-eval run --config {config}` was not ready within 60 s:\n{stderr}"
    );
    assert!(
        out.status.success(),
        "README.md:{line}: the daemon did not stop cleanly on SIGTERM ({}):\n{stderr}",
        out.status
    );
}

#[test]
fn every_command_the_readme_shows_runs() {
    let text = readme();
    let cmds = commands(&text);
    assert!(
        cmds.len() >= 8,
        "found only {} commands in the README",
        cmds.len()
    );
    let dir = workdir();
    let mut servers = Servers {
        prometheus: None,
        alertmanager: None,
    };
    let mut ran = 0;
    for (line, cmd) in &cmds {
        let Some(mut args) = slo_eval_args(*line, cmd) else {
            continue;
        };
        if args.first().map(String::as_str) == Some("run") {
            let config = args
                .iter()
                .skip_while(|a| *a != "--config")
                .nth(1)
                .cloned()
                .unwrap_or_else(|| panic!("README.md:{line}: run without --config"));
            run_daemon(*line, dir.path(), &config, &mut servers);
            ran += 1;
            continue;
        }
        for a in &mut args {
            if a == "http://127.0.0.1:9090" {
                *a = servers.prometheus().to_owned();
            }
        }
        let out = Command::new(env!("CARGO_BIN_EXE_slo-eval"))
            .args(&args)
            .current_dir(dir.path())
            .output()
            .unwrap_or_else(|e| panic!("spawn: {e}"));
        assert!(
            out.status.success(),
            "README.md:{line}: `{cmd}` exited with {}:\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !out.stdout.is_empty() || args.iter().any(|a| a == "-o" || a == "--output"),
            "README.md:{line}: `{cmd}` printed nothing"
        );
        // Files the command says it writes exist.
        for (flag, file) in args.iter().zip(args.iter().skip(1)) {
            if matches!(flag.as_str(), "-o" | "--output" | "--plot" | "--html") {
                let written = dir.path().join(file);
                let len = std::fs::metadata(&written).map(|m| m.len()).unwrap_or(0);
                assert!(len > 0, "README.md:{line}: `{cmd}` did not write {file}");
            }
        }
        ran += 1;
    }
    assert!(ran >= 8, "ran only {ran} README commands");
}

/// A flag's long form and its short one, if any.
type Flag = (String, Option<String>);

/// Every flag of every command, as clap knows them: the long form, and the
/// short one, which the table may use instead (`-o`).
fn flags() -> Vec<(String, BTreeSet<Flag>)> {
    let cli = slo_eval::cli::Cli::command();
    cli.get_subcommands()
        .map(|sub| {
            let flags = sub
                .get_arguments()
                .filter_map(|a| Some((a.get_long()?, a.get_short())))
                .filter(|(l, _)| !matches!(*l, "help" | "version"))
                .map(|(l, s)| (format!("--{l}"), s.map(|s| format!("-{s}"))))
                .collect();
            (sub.get_name().to_owned(), flags)
        })
        .collect()
}

#[test]
fn the_commands_table_names_every_flag() {
    let text = readme();
    let mut missing = Vec::new();
    for (name, flags) in flags() {
        let row_start = format!("| `slo-eval {name}");
        let rows: Vec<&str> = text.lines().filter(|l| l.starts_with(&row_start)).collect();
        if rows.is_empty() {
            missing.push(format!("no Commands table row for `slo-eval {name}`"));
            continue;
        }
        // `[CONNECTION]` in a row stands for the flags the paragraph that
        // starts with `CONNECTION` lists.
        let connection = text
            .split("\n\n")
            .find(|p| p.starts_with("`CONNECTION`"))
            .unwrap_or("");
        let rows: Vec<&str> = rows
            .into_iter()
            .flat_map(|r| {
                let extra = r.contains("[CONNECTION]").then_some(connection);
                std::iter::once(r).chain(extra)
            })
            .collect();
        for (flag, short) in flags {
            let named = rows.iter().any(|r| {
                std::iter::once(&flag).chain(&short).any(|f| {
                    r.match_indices(f.as_str()).any(|(i, _)| {
                        // `--to` must not be found inside `--tolerance`.
                        !r[i + f.len()..]
                            .starts_with(|c: char| c.is_ascii_alphanumeric() || c == '-')
                    })
                })
            });
            if !named {
                missing.push(format!("`slo-eval {name}` row does not name {flag}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "README Commands table:\n{}",
        missing.join("\n")
    );
}

#[test]
fn placeholders_are_told_apart_from_commands() {
    assert!(has_placeholder("slo-eval convert FILE..."));
    assert!(has_placeholder(
        "slo-eval eval --prometheus URL examples/specs"
    ));
    assert!(!has_placeholder(
        "slo-eval generate examples/specs/ -o slo-rules.yml"
    ));
    assert!(!has_placeholder("slo-eval eval --at 2026-11-04T14:10:00Z"));
    let cmds = commands(
        "```sh\n# c\nslo-eval a \\\n  --b c   # why\n```\n`slo-eval d e` and `slo-eval F`\n",
    );
    assert_eq!(
        cmds,
        vec![
            (3, "slo-eval a --b c".to_owned()),
            (6, "slo-eval d e".to_owned())
        ]
    );
}

/// The keys serde accepts at one level of the daemon's config, read from
/// its own "unknown field, expected one of" error.
fn config_keys(yaml: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, yaml).unwrap_or_else(|e| panic!("write: {e}"));
    let err = match slo_eval::config::Config::load(&path) {
        Ok(_) => panic!("`{yaml}` was accepted"),
        Err(e) => e.to_string(),
    };
    let (_, expected) = err
        .split_once("expected one of")
        .unwrap_or_else(|| panic!("no key list in: {err}"));
    let keys: Vec<String> = expected
        .split(',')
        .map(|k| k.trim().trim_matches('`').to_owned())
        .filter(|k| !k.is_empty())
        .collect();
    assert!(keys.len() > 1, "no keys in: {err}");
    keys
}

#[test]
fn the_daemon_section_names_every_config_key() {
    let text = readme();
    let section = text
        .split("### The daemon")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .unwrap_or_else(|| panic!("README has no daemon section"));
    let mut missing = Vec::new();
    for (yaml, prefix) in [
        ("zzz: 1\n", ""),
        ("notify: {zzz: 1}\n", "notify."),
        ("prometheus: {zzz: 1}\n", ""),
        ("notify: {webhooks: [{zzz: 1}]}\n", ""),
    ] {
        for key in config_keys(yaml) {
            let named = format!("`{prefix}{key}`");
            if !section.contains(&named) {
                missing.push(named);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "config keys the README's daemon section does not document: {}",
        missing.join(", ")
    );
}

/// The README's module-graph command, run as written from the repository
/// root: it prints "no cycle", and it does find a cycle when there is one.
#[test]
fn the_module_graph_the_readme_prints_has_no_cycle() {
    let text = readme();
    let cmd = commands(&text)
        .into_iter()
        .map(|(_, c)| c)
        .find(|c| c.starts_with(MODULE_GRAPH))
        .unwrap_or_else(|| panic!("the README shows no module-graph command"));
    let run = |root: &Path| {
        let out = Command::new("bash")
            .args(["-c", &cmd])
            .current_dir(root)
            .output()
            .unwrap_or_else(|e| panic!("bash: {e}"));
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, stdout, stderr) = run(&repo_root());
    assert!(ok && stdout.trim() == "no cycle", "{stdout}{stderr}");
    // A copy of the crate's sources with a cycle added: the check fails.
    let dir = workdir();
    copy_dir(
        &repo_root().join("slo-core/src"),
        &dir.path().join("slo-core/src"),
    );
    let duration = dir.path().join("slo-core/src/duration.rs");
    let src = std::fs::read_to_string(&duration).unwrap_or_default();
    std::fs::write(&duration, format!("use crate::policy::Policy;\n{src}"))
        .unwrap_or_else(|e| panic!("{e}"));
    let (ok, stdout, _) = run(dir.path());
    assert!(
        !ok && !stdout.contains("no cycle"),
        "a cycle was not found: {stdout}"
    );
}
