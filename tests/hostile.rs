//! Issue 14's reproducers, through the command line: each hostile input is an exit-2
//! error at its file, line and column naming the range (or the limit) it breaks, or a
//! correct run; never a panic, a wrapped clock, gigabytes or thousands of threads.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Two hosts, a server and a client that sends 100 bytes and closes; `extra` is appended
/// and `client_extra` goes into the `[[client]]` table: `top` is line 1, the client's
/// `actions` line 16, `client_extra` line 17, `extra` starts on line 18.
fn scenario(top: &str, client_extra: &str, extra: &str) -> String {
    format!(
        r#"{top}
[[host]]
name = "client"
[[host]]
name = "server"
[[link]]
a = "client"
b = "server"
delay = "10ms"
[[server]]
host = "server"
port = 80
[[client]]
host = "client"
connect = "server:80"
actions = ["send 100", "close"]
{client_extra}
{extra}"#
    )
}

/// A file in the temp directory, removed when dropped.
struct Temp(PathBuf);

impl Temp {
    fn new(name: &str, bytes: &[u8]) -> Temp {
        let path =
            std::env::temp_dir().join(format!("tcpsim-hostile-{}-{name}", std::process::id()));
        std::fs::File::create(&path)
            .and_then(|mut f| f.write_all(bytes))
            .expect("temp file");
        Temp(path)
    }
    fn arg(&self) -> &str {
        self.0.to_str().expect("utf-8 temp path")
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn tcpsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tcpsim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("tcpsim runs")
}

/// Runs `tcpsim FILE ARGS` on `text` and expects exit 2 with `fragments` on stderr.
#[track_caller]
fn rejects(name: &str, text: &[u8], args: &[&str], fragments: &[&str]) -> String {
    let file = Temp::new(name, text);
    let mut all = vec![file.arg()];
    all.extend(args);
    let out = tcpsim(&all);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{name}: {err}");
    assert!(out.stdout.is_empty(), "{name}: nothing runs");
    for f in fragments {
        assert!(err.contains(f), "{name}: missing {f:?} in\n{err}");
    }
    err
}

#[test]
fn times_beyond_the_duration_range_are_located_errors() {
    let msl = scenario("[tcp]\nmsl = \"9223372037s\"", "", "");
    rejects(
        "msl.toml",
        msl.as_bytes(),
        &[],
        &[
            ":2:7: ",
            "duration \"9223372037s\" is too large: durations are from 0 to 100000h",
        ],
    );
    let start = scenario("", "start = \"18446744073s\"", "");
    rejects(
        "start.toml",
        start.as_bytes(),
        &[],
        &[":17:9: ", "from 0 to 100000h"],
    );
    let until = tcpsim(&["sims/handshake.toml", "--until", "18446744073s"]);
    assert_eq!(until.status.code(), Some(2));
}

/// The longest durations allowed still give a clock that never goes back: TIME_WAIT of
/// 2 × 100000h after a start at 100000h.
#[test]
fn the_longest_durations_run_and_time_never_decreases() {
    let text = scenario("[tcp]\nmsl = \"100000h\"", "start = \"100000h\"", "");
    let file = Temp::new("longest.toml", text.as_bytes());
    let out = tcpsim(&[file.arg(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let times: Vec<u64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("JSON line");
            v["t_ns"].as_u64().expect("t_ns")
        })
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "time went back");
    let hour = 3_600_000_000_000u64;
    assert!(
        times.last() >= Some(&(300_000 * hour)),
        "TIME_WAIT ran its 2 x MSL"
    );
}

#[test]
fn injected_segments_larger_than_an_ipv4_packet_are_rejected_at_load() {
    let inject =
        "[[inject]]\nat = \"1s\"\nsrc = \"client:1\"\ndst = \"server:80\"\nlen = 4294967295\n";
    let text = scenario("", "", inject);
    for args in [&[][..], &["--pcap", "/dev/null"]] {
        rejects(
            "inject.toml",
            text.as_bytes(),
            args,
            &[":22:7: ", "`len` must be from 0 to 65495 bytes"],
        );
    }
    let with_mss = scenario("", "", &inject.replace("4294967295", "65495\nmss = 1000"));
    rejects(
        "mss.toml",
        with_mss.as_bytes(),
        &[],
        &["from 0 to 65491 bytes"],
    );
}

#[test]
fn a_huge_group_is_an_error_before_anything_is_allocated() {
    let group = "[[group]]\nname = \"c\"\ncount = 1000000000\nsubnet = \"0.0.0.0/1\"\nlink_to = \"server\"\n";
    let started = Instant::now();
    rejects(
        "group.toml",
        scenario("", "", group).as_bytes(),
        &[],
        &[
            ":20:9: ",
            "makes 1000000002 hosts in all, more than the 1000000 a scenario may have",
            "set `max_hosts`",
        ],
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    let raised = scenario("max_hosts = 5000000", "", group);
    rejects(
        "raised.toml",
        raised.as_bytes(),
        &[],
        &["`max_hosts` must be from 1 to 4000000"],
    );
}

#[test]
fn jobs_are_capped() {
    let out = tcpsim(&[
        "sweep",
        "sims/handshake.toml",
        "--seeds",
        "0..4",
        "--jobs",
        "100000",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("1..=256"));
}

/// 13,000 `[[expect]]` tables: the loader's line numbers are a binary search, not a scan
/// of the file for each (6 s before).
#[test]
fn thirteen_thousand_expectations_load_quickly() {
    let expects = "[[expect]]\nconn = \"client\"\nreaches = \"ESTABLISHED\"\n".repeat(13_000);
    let text = scenario("", "", &expects);
    let started = Instant::now();
    let sc = tcpsim::scenario::load_str(&text, "many.toml").expect("valid");
    assert_eq!(sc.expects.len(), 13_000);
    assert_eq!(sc.expects[12_999].line, 19 + 3 * 12_999);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn unreadable_files_name_the_file_and_where_the_encoding_breaks() {
    let bytes = b"[[host]]\nname = \"a\"\n[[host]]\nname = \"b\xe9\"\n";
    let err = rejects(
        "latin1.toml",
        bytes,
        &[],
        &[":4:10: ", "byte 0xE9", "not UTF-8"],
    );
    assert!(err.contains("4 | name = \"b\u{fffd}\""), "{err}");
    let dir = tcpsim(&["sims"]);
    assert_eq!(dir.status.code(), Some(2));
    let err = String::from_utf8_lossy(&dir.stderr);
    assert!(
        err.contains("error: sims: cannot read the scenario file: it is a directory"),
        "{err}"
    );
    let missing = tcpsim(&["no/such.toml"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("error: no/such.toml: cannot read"));
}

#[test]
fn an_empty_scenario_is_an_error_not_a_pass() {
    let out = tcpsim(&["/dev/null"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("PASS"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("error: /dev/null:1:1: this scenario defines no host"),
        "{err}"
    );
    rejects(
        "idle.toml",
        b"[[host]]\nname = \"a\"\n",
        &[],
        &["nothing in this scenario ever sends a segment"],
    );
    let sweep = tcpsim(&["sweep", "/dev/null", "--seeds", "0..2"]);
    assert_eq!(sweep.status.code(), Some(2));
}

#[test]
fn rates_in_bytes_are_rejected_with_the_rate_in_bits() {
    let text =
        scenario("", "", "").replace("delay = \"10ms\"", "delay = \"10ms\"\nrate = \"10MBps\"");
    rejects(
        "mbps.toml",
        text.as_bytes(),
        &[],
        &[":10:8: ", "bytes per second", "10MBps is \"80Mbps\""],
    );
}

#[test]
fn a_connection_writes_less_than_two_gibibytes() {
    let text = scenario("", "", "").replace("send 100", "send 2200000000");
    rejects(
        "big.toml",
        text.as_bytes(),
        &[],
        &[":16:12: ", "2200000000 bytes on one connection"],
    );
    let echo = scenario("", "", "")
        .replace(
            "port = 80\n",
            "port = 80\necho = true\nreply = 1000000000\n",
        )
        .replace("send 100", "send 1500000000");
    rejects(
        "echo.toml",
        echo.as_bytes(),
        &[],
        &["the echo server on `server:80`", "2500000000 bytes"],
    );
}

#[test]
fn rto_backoff_counts_segments_and_timeouts_apart() {
    let out = tcpsim(&["sims/transfer/rto_backoff.toml", "--quiet"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let client = text
        .lines()
        .find(|l| l.trim_start().starts_with("client:49152"))
        .expect("client line");
    assert!(
        client.ends_with("retransmits  21  timeouts   5"),
        "{client}"
    );
}

/// `tcpsim BAD 2>&1 | head -1`: stderr closed before the error is written is no panic
/// (exit 101), the exit code stays 2.
#[test]
fn a_closed_stderr_does_not_turn_an_error_into_a_panic() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tcpsim"))
        .arg("/dev/null")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("tcpsim starts");
    drop(child.stderr.take());
    assert_eq!(child.wait().expect("tcpsim ends").code(), Some(2));
}

/// serde's words for a value of the wrong kind, rebuilt in TOML's: no Rust type names
/// ("GroupLinkDef", "TcpSettings with 28 elements") and no toml internals.
#[test]
fn wrong_kinds_of_values_are_named_in_tomls_words() {
    let cases = [
        ("tcp = []", "", "", "expected a table of TCP settings"),
        (
            "",
            "",
            "[[group]]\nname = \"g\"\ncount = 2\nsubnet = \"10.9.0.0/24\"\nlink_to = \"server\"\nlink = 5\n",
            "expected a table of link properties, e.g. { delay = \"5ms\" }, found the integer 5",
        ),
        (
            "",
            "",
            "[[link]]\na = \"client\"\nb = \"x\"\na_to_b = 1979-05-27T07:32:00Z\n",
            "expected a table, found the date-time 1979-05-27T07:32:00Z",
        ),
        (
            "seed = -1",
            "",
            "",
            "expected an integer from 0 to 9223372036854775807, found the integer -1",
        ),
        (
            "",
            "local_port = [1]",
            "",
            "expected an integer from 0 to 65535, found an array",
        ),
        (
            "router = 3",
            "",
            "",
            "expected an array, found the integer 3",
        ),
    ];
    for (i, (top, client, extra, expected)) in cases.into_iter().enumerate() {
        let text = scenario(top, client, extra);
        let err = rejects(&format!("kind{i}.toml"), text.as_bytes(), &[], &[expected]);
        tcpsim::fuzzing::check_error(
            &tcpsim::scenario::load_str(&text, "t.toml").expect_err("rejected"),
            &text,
        );
        for word in [
            "struct",
            "Def",
            "TcpSettings",
            "elements",
            "$__toml",
            "sequence",
            "map,",
        ] {
            assert!(!err.contains(word), "{word:?} in {err}");
        }
    }
}

/// The estimate made before the run: a `max_events` below what the scenario needs at
/// least is an error at that key, not a run that stops.
#[test]
fn an_event_budget_below_the_estimate_is_an_error_before_the_run() {
    let text = scenario("max_events = 2", "", "");
    rejects(
        "budget.toml",
        text.as_bytes(),
        &[],
        &[
            ":1:14: ",
            "`max_events = 2` is too small for this scenario, which needs at least 3 events",
            "2 hosts, 1 links, at most 2 connections, at least 3 events",
        ],
    );
    let out = tcpsim(&["sims/handshake.toml", "--stats", "--quiet"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("stats: estimated before the run: 2 hosts, 1 links, at most 2 connections, at least 3 events"), "{err}");
}
