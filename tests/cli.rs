//! The command line's contract: exit codes, output formats, errors naming file:line:col.

use std::io::Write;
use std::process::{Command, Output};

fn tcpsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tcpsim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("tcpsim runs")
}

fn scenario_file(text: &str) -> tempfile_path::TempToml {
    tempfile_path::TempToml::new(text)
}

/// A tiny self-deleting temp file (std only).
mod tempfile_path {
    use super::*;
    pub struct TempToml(pub std::path::PathBuf);
    impl TempToml {
        pub fn new(text: &str) -> Self {
            static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let path =
                std::env::temp_dir().join(format!("tcpsim-cli-{}-{n}.toml", std::process::id()));
            std::fs::File::create(&path)
                .and_then(|mut f| f.write_all(text.as_bytes()))
                .expect("temp file");
            TempToml(path)
        }
        pub fn arg(&self) -> &str {
            self.0.to_str().expect("utf-8 temp path")
        }
    }
    impl Drop for TempToml {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn lossy_fin_seed_42_shows_the_whole_story_and_exits_0() {
    let out = tcpsim(&["sims/lossy_fin.toml", "--seed", "42"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    for needle in [
        "[S]",
        "[S.]",
        "SYN_SENT -> ESTABLISHED",
        "retransmission timeout",
        "[F.]",
        "TIME_WAIT expired",
        "TIME_WAIT -> CLOSED",
        "result: PASS",
    ] {
        assert!(t.contains(needle), "missing {needle:?}");
    }
    let again = tcpsim(&["sims/lossy_fin.toml", "--seed", "42"]);
    assert_eq!(out.stdout, again.stdout, "byte-identical on a second run");
    let other = tcpsim(&["sims/lossy_fin.toml", "--seed", "43"]);
    assert_ne!(
        out.stdout, other.stdout,
        "another seed loses other segments"
    );
}

#[test]
fn json_lines_follow_the_output_contract() {
    let out = tcpsim(&["sims/handshake.toml", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let mut kinds = std::collections::BTreeSet::new();
    for line in text(&out.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("each line is JSON");
        assert!(v["t_ns"].is_u64(), "{line}");
        let kind = v["kind"].as_str().expect("kind").to_string();
        match kind.as_str() {
            "segment" => {
                for key in ["src", "dst", "flags", "fate"] {
                    assert!(v[key].is_string(), "{key} in {line}");
                }
                for key in ["seq", "ack", "len", "win"] {
                    assert!(v[key].is_u64(), "{key} in {line}");
                }
                assert!(v["src"].as_str().unwrap().contains(':'));
            }
            "state" => {
                for key in ["host", "conn", "from", "to"] {
                    assert!(v[key].is_string(), "{key} in {line}");
                }
            }
            _ => {}
        }
        kinds.insert(kind);
    }
    for k in [
        "segment",
        "state",
        "app",
        "timer",
        "conn_summary",
        "link_summary",
        "expect",
        "result",
    ] {
        assert!(kinds.contains(k), "no {k} event");
    }
    assert!(text(&out.stdout).contains(r#""flags":"SYN,ACK""#));
    assert!(text(&out.stdout).contains(r#""to":"TIME_WAIT""#));
}

#[test]
fn quiet_prints_only_the_summary_and_stats_go_to_stderr() {
    let out = tcpsim(&["sims/handshake.toml", "--quiet", "--stats"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).starts_with("--- summary"));
    assert!(text(&out.stderr).contains("events"));
}

#[test]
fn until_stops_the_run_early() {
    let out = tcpsim(&["sims/handshake.toml", "--until", "30ms"]);
    let t = text(&out.stdout);
    assert!(t.contains("ended at 0.030000"), "{t}");
    assert!(!t.contains("-> TIME_WAIT"));
    assert_eq!(
        out.status.code(),
        Some(1),
        "expectations about the end cannot hold"
    );
}

#[test]
fn failed_expectation_exits_1_and_says_why() {
    let f = scenario_file(
        "[[host]]\nname = \"a\"\n[[host]]\nname = \"b\"\n[[link]]\na = \"a\"\nb = \"b\"\n\
         [[client]]\nhost = \"a\"\nconnect = \"b:80\"\n[[expect]]\nconn = \"a\"\nreaches = \"ESTABLISHED\"\n",
    );
    let out = tcpsim(&[f.arg()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("expectation at line 12 failed"),
        "{}",
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("connection refused"));
}

#[test]
fn unknown_key_exits_2_naming_file_line_col() {
    let f = scenario_file("[[host]]\nname = \"a\"\nadress = \"10.0.0.1\"\n");
    let out = tcpsim(&[f.arg()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains(&format!("{}:3:1", f.arg())), "{err}");
    assert!(err.contains("adress"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn missing_host_exits_2_naming_file_line_col() {
    let f = scenario_file(
        "[[host]]\nname = \"a\"\n[[client]]\nhost = \"a\"\nconnect = \"nowhere:80\"\n",
    );
    let out = tcpsim(&[f.arg()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains(&format!("{}:5:", f.arg())), "{err}");
    assert!(err.contains("nowhere"), "{err}");
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    assert_eq!(tcpsim(&[]).status.code(), Some(2));
    assert_eq!(
        tcpsim(&["sims/handshake.toml", "--seed", "x"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        tcpsim(&["sims/handshake.toml", "--until", "soon"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(tcpsim(&["does/not/exist.toml"]).status.code(), Some(2));
    let help = tcpsim(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(text(&help.stdout).contains("--seed"));
}

#[test]
fn explain_appends_the_rule_to_segments_and_state_changes() {
    let out = tcpsim(&["sims/handshake.toml", "--explain"]);
    assert_eq!(out.status.code(), Some(0));
    let t = text(&out.stdout);
    let line = t
        .lines()
        .find(|l| l.contains("FIN_WAIT_2 -> TIME_WAIT"))
        .expect("a TIME_WAIT line");
    assert!(
        line.contains("# FIN received: enter TIME_WAIT") && line.contains("RFC 9293 §3.10.7.4"),
        "{line}"
    );
    let json = tcpsim(&["sims/handshake.toml", "--format", "json"]);
    assert!(text(&json.stdout).contains(r#""why":"active OPEN"#));
}

#[test]
fn pcap_file_is_written_and_deterministic() {
    let dir = std::env::temp_dir();
    let (a, b) = (
        dir.join(format!("tcpsim-{}-a.pcapng", std::process::id())),
        dir.join(format!("tcpsim-{}-b.pcapng", std::process::id())),
    );
    for p in [&a, &b] {
        let out = tcpsim(&[
            "sims/lossy_fin.toml",
            "--seed",
            "42",
            "--quiet",
            "--pcap",
            p.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    let (x, y) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let _ = (std::fs::remove_file(&a), std::fs::remove_file(&b));
    assert!(x.len() > 1000);
    assert_eq!(x, y, "same seed, same bytes");
    assert_eq!(
        tcpsim(&["sims/handshake.toml", "--pcap", "/nonexistent/dir/x.pcapng"])
            .status
            .code(),
        Some(2)
    );
}
