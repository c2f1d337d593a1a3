//! `--metrics`, the plots and `--set` through the command line.

use std::path::PathBuf;
use std::process::{Command, Output};

fn tcpsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tcpsim"))
        .args(args)
        .output()
        .expect("tcpsim runs")
}

/// A fresh path in the target directory for this test's output.
fn out(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("metrics");
    std::fs::create_dir_all(&dir).expect("tmp dir");
    dir.join(name)
}

const HEADER: &str = "t_s,host,CLOSED,LISTEN,SYN_SENT,SYN_RECEIVED,ESTABLISHED,FIN_WAIT_1,FIN_WAIT_2,CLOSE_WAIT,CLOSING,LAST_ACK,TIME_WAIT,ports_free,opened,established,failed,reset,segments,retransmits,goodput_bps";

#[test]
fn csv_has_the_header_and_a_row_per_host_and_sample() {
    let path = out("keep_alive.csv");
    let o = tcpsim(&[
        "sims/apps/keep_alive_load.toml",
        "--quiet",
        "--metrics",
        path.to_str().unwrap(),
        "--metrics-interval",
        "100ms",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("latency (actively opened connections):"),
        "{stdout}"
    );
    let csv = std::fs::read_to_string(&path).expect("written");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], HEADER);
    // Two hosts; the run ends at 1.19 s (TIME_WAIT of 2 × 500 ms), so 12 samples.
    assert_eq!(lines.len() - 1, 2 * 12, "{csv}");
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.bind(|| insta::assert_snapshot!("metrics__keep_alive_load_csv", csv));
}

#[test]
fn port_exhaustion_counts_time_wait_and_runs_out_of_ports() {
    let path = out("pe.jsonl");
    let o = tcpsim(&[
        "sims/production/port_exhaustion.toml",
        "--quiet",
        "--metrics",
        path.to_str().unwrap(),
        "--metrics-interval",
        "10s",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&path).expect("written");
    let row = |t: u64| -> serde_json::Value {
        let line = (text.lines())
            .find(|l| l.starts_with(&format!("{{\"t_ns\":{t},\"host\":\"proxy\"")))
            .expect("the proxy's row");
        serde_json::from_str(line).expect("JSON")
    };
    // The scenario's own expectation: 23,900 to 24,000 in TIME_WAIT at 30 s.
    let tw = row(30_000_000_000)["TIME_WAIT"].as_u64().unwrap();
    assert!((23_900..=24_000).contains(&tw), "{tw}");
    let at50 = row(50_000_000_000);
    assert_eq!(at50["ports_free"], 0);
    assert!(at50["failed"].as_u64().unwrap() > 0);
}

#[test]
fn plots_are_svg_or_png_that_decodes() {
    let svg = out("states.svg");
    let png = out("ports.png");
    let o = tcpsim(&[
        "sims/apps/keep_alive_load.toml",
        "--quiet",
        "--plot-states",
        svg.to_str().unwrap(),
        "--plot-ports",
        png.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&svg).expect("svg");
    assert!(text.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(text.contains(">TIME_WAIT</text>") && text.contains(">time (s)</text>"));
    let bytes = std::fs::read(&png).expect("png");
    let pixmap = resvg::tiny_skia::Pixmap::decode_png(&bytes).expect("decodes");
    assert_eq!((pixmap.width(), pixmap.height()), (860, 440));
}

#[test]
fn set_changes_the_run_and_bad_sets_exit_2_naming_the_key() {
    let o = tcpsim(&[
        "sims/apps/keep_alive_load.toml",
        "--quiet",
        "--set",
        "load.0.requests=1",
    ]);
    // The expectations count three requests: one request makes them fail (exit 1).
    assert_eq!(o.status.code(), Some(1));
    for (set, says) in [
        (
            "load.7.rate=1/s",
            "--set load.7.rate=1/s: [[load]] has 1 tables",
        ),
        (
            "load.0.rate=banana",
            "--set load.0.rate=banana: error: sims/apps/keep_alive_load.toml:",
        ),
        ("tcp.no_such_key=1", "--set tcp.no_such_key=1: "),
        ("nokey", "--set"),
    ] {
        let o = tcpsim(&["sims/apps/keep_alive_load.toml", "--quiet", "--set", set]);
        assert_eq!(o.status.code(), Some(2), "{set}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(says), "{set}: {err}");
    }
}
