//! `--explain`: every segment and every state change of every scenario carries the rule
//! that caused it, as reported by the TCP core.

mod common;

use tcpsim::trace::{EventKind, Names, TextRenderer, text};

#[test]
fn every_segment_and_state_change_has_a_rule() {
    for path in common::sims() {
        let sc = common::load(&path);
        let run = tcpsim::transcript(&sc, 42);
        let names = Names::new(&sc);
        let mut renderer = TextRenderer::new(&names).explained(true);
        for e in &run.events {
            let line = renderer.line(e);
            if matches!(e.kind, EventKind::Segment { .. } | EventKind::State { .. }) {
                assert!(
                    text::why(&e.kind).is_some(),
                    "{}: no rule for: {line}",
                    path.display()
                );
                assert!(line.contains("  # "), "{line}");
            }
        }
    }
}

#[test]
fn explained_lines_cite_the_rfc() {
    let sc = common::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sims/lost_last_ack.toml"),
    );
    let run = tcpsim::transcript(&sc, 42);
    let names = Names::new(&sc);
    let mut r = TextRenderer::new(&names).explained(true);
    let lines: Vec<String> = run.events.iter().map(|e| r.line(e)).collect();
    let find = |needle: &str| {
        lines
            .iter()
            .find(|l| l.contains(needle))
            .cloned()
            .unwrap_or_default()
    };
    assert!(find("FIN_WAIT_2 -> TIME_WAIT").contains("RFC 9293 §3.10.7.4 eighth step"));
    assert!(find("CLOSE_WAIT -> LAST_ACK").contains("RFC 9293 §3.10.4"));
    assert!(find("[S] seq=0").contains("active OPEN"));
    assert!(find("RTO backed off").is_empty() || find("[F.] seq=1 ack=102").contains("#"));
}

#[test]
fn fast_retransmit_is_told_from_a_timeout() {
    let sc = common::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("sims/transfer/fast_retransmit.toml"),
    );
    let run = tcpsim::transcript(&sc, 42);
    let names = Names::new(&sc);
    let mut r = TextRenderer::new(&names).explained(true);
    let resent: Vec<String> = run
        .events
        .iter()
        .map(|e| r.line(e))
        .filter(|l| l.contains("client:49152 > server:80 [.] seq=4381"))
        .collect();
    assert_eq!(resent.len(), 2, "{resent:?}");
    assert!(resent[0].contains("!! dropped"));
    assert!(
        resent[1].contains("third duplicate ACK") && resent[1].contains("RFC 5681 §3.2"),
        "{}",
        resent[1]
    );
}
