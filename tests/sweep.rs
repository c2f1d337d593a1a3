//! `tcpsim sweep`: the report does not depend on `--jobs`, shards merge into the full run,
//! failures are grouped and replayable, and bad input exits 2.

use std::path::PathBuf;
use std::process::{Command, Output};

fn tcpsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tcpsim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("tcpsim runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A file in the temp directory, deleted when dropped.
struct Temp(PathBuf);

impl Temp {
    fn new(name: &str, text: &str) -> Temp {
        let path = std::env::temp_dir().join(format!("tcpsim-sweep-{}-{name}", std::process::id()));
        std::fs::write(&path, text).expect("temp file");
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

const LOSSY: &str = "sims/lossy_fin.toml";

#[test]
fn report_is_the_same_whatever_the_number_of_jobs() {
    for format in ["text", "json"] {
        let run = |jobs: &str| {
            let o = tcpsim(&[
                "sweep", LOSSY, "--seeds", "0..200", "--jobs", jobs, "--format", format, "--quiet",
            ]);
            assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
            stdout(&o)
        };
        assert_eq!(run("1"), run("2"), "--format {format}");
    }
    // Without --quiet the wall-time line goes to stderr; stdout is the same report.
    let quiet = tcpsim(&["sweep", LOSSY, "--seeds", "0..200", "--quiet"]);
    assert_eq!(stderr(&quiet), "");
    let quiet = stdout(&quiet);
    for format in ["text", "json"] {
        let timed = |jobs: &str| {
            tcpsim(&[
                "sweep", LOSSY, "--seeds", "0..200", "--jobs", jobs, "--format", format,
            ])
        };
        let (one, two) = (timed("1"), timed("2"));
        assert_eq!(stdout(&one), stdout(&two), "--format {format}");
        if format == "text" {
            assert_eq!(stdout(&two), quiet);
        }
        let wall = stderr(&two);
        assert!(
            wall.starts_with("wall: ") && wall.contains("seeds/s, --jobs 2"),
            "{wall}"
        );
    }
    assert!(
        quiet.contains("seeds: 200 run, 200 passed, 0 failed"),
        "{quiet}"
    );
    assert!(quiet.contains("time in TIME_WAIT (s)"), "{quiet}");
    assert!(
        quiet.contains("final states (connections, all seeds): CLOSED 400"),
        "{quiet}"
    );
}

#[test]
fn shards_merge_into_the_report_of_the_full_run() {
    let shard = |k: &str| {
        let o = tcpsim(&[
            "sweep", LOSSY, "--seeds", "0..=200", "--shard", k, "--format", "json",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        Temp::new(&format!("shard{}.json", &k[..1]), &stdout(&o))
    };
    let (a, b) = (shard("0/2"), shard("1/2"));
    for format in ["text", "json"] {
        let full = tcpsim(&[
            "sweep", LOSSY, "--seeds", "0..=200", "--format", format, "--quiet",
        ]);
        // Either order: the merge sorts by seed.
        let merged = tcpsim(&["sweep", "--merge", b.arg(), a.arg(), "--format", format]);
        assert_eq!(merged.status.code(), Some(0), "{}", stderr(&merged));
        assert_eq!(stdout(&merged), stdout(&full), "--format {format}");
    }
    // One shard alone says which it is; a shard given twice is refused.
    let half = stdout(&tcpsim(&["sweep", "--merge", a.arg()]));
    assert!(
        half.contains("shard 0 of 2") && half.contains("101 run"),
        "{half}"
    );
    let twice = tcpsim(&["sweep", "--merge", a.arg(), a.arg()]);
    assert_eq!(twice.status.code(), Some(2));
    assert!(
        stderr(&twice).contains("appears twice"),
        "{}",
        stderr(&twice)
    );
}

/// lossy_fin with one more check that fails whenever the client never retransmits, and
/// the line of that check's `conn` key.
fn failing_scenario() -> (Temp, usize) {
    let base =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(LOSSY))
            .expect("lossy_fin.toml");
    // `shutdown` rather than `close`: under the linux profile a client that closes stops
    // reading, and the server's reply draws a RST (half-duplex close).
    let base = base.replace("\"close\"]", "\"shutdown\"]");
    let text = format!("{base}\n[[expect]]\nconn = \"client\"\nmin_retransmits = 1\n");
    let line = text.lines().count() - 1;
    (Temp::new("failing.toml", &text), line)
}

#[test]
fn failures_are_grouped_and_their_replay_commands_reproduce_them() {
    let (sc, check_line) = failing_scenario();
    let o = tcpsim(&[
        "sweep",
        sc.arg(),
        "--seeds",
        "0..200",
        "--profile",
        "linux",
        "--quiet",
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
    let line = out
        .lines()
        .find(|l| {
            l.contains(&format!(
                "expectation at line {check_line}: client at least 1 retransmissions"
            ))
        })
        .unwrap_or_else(|| panic!("the failing kind is listed:\n{out}"));
    let seeds: u64 = line.split_whitespace().next().unwrap().parse().unwrap();
    assert!(seeds > 0 && seeds < 200, "{line}");
    assert!(out.contains(&format!("{seeds} failed")), "{out}");
    // The first failing seed: its message, then the command that replays it.
    let mut lines = out.lines().skip_while(|l| !l.starts_with("failing seeds"));
    lines.next();
    let (seed_line, replay) = (lines.next().unwrap(), lines.next().unwrap());
    let message = seed_line.split_once(": ").unwrap().1;
    let cmd = replay
        .trim()
        .strip_prefix("replay: tcpsim ")
        .expect("a replay command");
    assert!(cmd.ends_with("--profile linux"), "{cmd}");
    let args: Vec<&str> = cmd.split_whitespace().collect();
    let replayed = tcpsim(&args);
    assert_eq!(replayed.status.code(), Some(1));
    assert!(
        stderr(&replayed).contains(message),
        "replaying `{cmd}` should fail with `{message}`:\n{}",
        stderr(&replayed)
    );
}

#[test]
fn bad_input_exits_2() {
    for args in [
        &["sweep", LOSSY, "--seeds", "5..5"][..],
        &["sweep", LOSSY, "--seeds", "9..=3"],
        &["sweep", LOSSY, "--seeds", "ten"],
        &["sweep", LOSSY, "--seeds", "0..10", "--shard", "2/2"],
        &["sweep", LOSSY, "--seeds", "0..10", "--shard", "1"],
        &["sweep", LOSSY, "--seeds", "0..10", "--jobs", "0"],
        &["sweep", LOSSY],
        &["sweep", "does/not/exist.toml", "--seeds", "0..10"],
        &["sweep", "--merge", LOSSY],
        &["sweep", "--merge", "nothing.json"],
    ] {
        let o = tcpsim(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stdout(&o).is_empty(), "{args:?}");
        assert!(stderr(&o).contains("error"), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn help_names_the_sweep_and_single_runs_still_work() {
    let help = stdout(&tcpsim(&["--help"]));
    assert!(help.contains("sweep") && help.contains("--seed"), "{help}");
    let help = stdout(&tcpsim(&["sweep", "--help"]));
    assert!(
        help.contains("--shard") && help.contains("--merge"),
        "{help}"
    );
    assert_eq!(
        tcpsim(&[LOSSY, "--seed", "42", "--quiet"]).status.code(),
        Some(0)
    );
}

/// The library side: one seed's record against its report.
#[test]
fn seed_result_sums_over_connections() {
    let sc =
        tcpsim::scenario::load_file(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(LOSSY))
            .unwrap();
    let report = tcpsim::run(&sc, 42, None, &mut |_| {});
    let r = tcpsim::sweep::SeedResult::from_report(&report);
    assert!(r.passed && r.failures.is_empty());
    // The README's transcript: TIME_WAIT from 4.32 s to 11.32 s, ended at 11.32 s.
    assert_eq!(r.time_wait_ns, 7_000_000_000);
    assert_eq!(r.end_ns, 11_320_000_000);
    let retransmits: u64 = report
        .outcome
        .conns
        .iter()
        .map(|c| c.stats.retransmits)
        .sum();
    assert_eq!(r.retransmits, retransmits);
    assert_eq!(r.final_states[0], 2, "both ends CLOSED");
}
