//! The bodies of the fuzz targets in `fuzz/`, here so that `cargo test` replays the
//! committed corpus through the same code (`tests/fuzz_corpus.rs`) on any toolchain,
//! and the proptest generators of whole scenarios (`tests/scenario_props.rs`) check the
//! same things. Each function takes arbitrary bytes and panics only on a bug.
//!
//! - [`scenario`]: the loader, and a short run of what it accepts;
//! - [`wire`]: the IPv4/TCP decoder, and encoding what it decodes;
//! - [`connection`]: two connections and a network the bytes script (deliver, drop,
//!   duplicate, reorder, rewrite a field, application calls, timers), which reaches every
//!   state; after every step the invariants of `src/tcp/tests/fuzz.rs` are checked.

mod conn;

pub use conn::connection;

use crate::scenario::limits::Estimate;
use crate::scenario::{ScenarioError, load_str};
use crate::trace::pcap::PcapWriter;
use crate::trace::{Names, TextRenderer, json};

/// Scenarios larger than this are only loaded, not run: a fuzz case must take
/// milliseconds, and the limits themselves are checked by loading.
const RUN_MAX_HOSTS: u64 = 64;
/// The event budget of a fuzzed run.
const RUN_MAX_EVENTS: u64 = 20_000;

/// Loads `data` as a scenario. An error must be located and worded for users; a scenario
/// that loads must run (briefly) without a panic, its clock never going back, and every
/// event must render as text, JSON and pcapng.
pub fn scenario(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut sc = match load_str(text, "fuzz.toml") {
        Ok(sc) => sc,
        Err(e) => return check_error(&e, text),
    };
    if Estimate::of(&sc).hosts > RUN_MAX_HOSTS || sc.nodes.len() as u64 > 2 * RUN_MAX_HOSTS {
        return;
    }
    sc.max_events = sc.max_events.min(RUN_MAX_EVENTS);
    let names = Names::new(&sc);
    let mut renderer = TextRenderer::new(&names).explained(true);
    let mut pcap = PcapWriter::new(Vec::new(), &sc).expect("pcap header into memory");
    let mut last = 0;
    let report = crate::run(&sc, 1, None, &mut |e| {
        assert!(e.t >= last, "time went back from {last} to {}", e.t);
        last = e.t;
        renderer.line(e);
        json::event(&names, e);
        pcap.observe(e).expect("pcap into memory");
    });
    assert!(report.outcome.end_time >= last);
    report.summary_text(&names);
    report.summary_json(&names);
}

/// A scenario error points at a line and column of the text (or at the file as a whole),
/// and its message names no Rust type: every CamelCase word in it is one the user wrote.
pub fn check_error(e: &ScenarioError, src: &str) {
    if e.line > 0 {
        // An error at the very end (an unclosed string) is on the line after the last newline.
        let lines = src.matches('\n').count() + 1;
        assert!(e.col >= 1 && e.line <= lines, "{e}");
    }
    let shown = e.to_string();
    for word in shown.split(|c: char| !c.is_alphanumeric() && c != '$' && c != '_') {
        let camel = word
            .char_indices()
            .skip(1)
            .any(|(i, c)| c.is_uppercase() && word[..i].chars().any(char::is_lowercase));
        let rust =
            word.starts_with("$__") || ["u8", "u16", "u32", "u64", "i64", "f64"].contains(&word);
        assert!(
            !(camel || rust) || word == "NaN" || src.contains(word),
            "the message shows `{word}`, which the file does not contain: {shown}"
        );
    }
    for phrase in ["struct ", "enum ", " elements", "invalid type", "sequence,"] {
        assert!(
            !shown.contains(phrase) || src.contains(phrase),
            "serde's words ({phrase:?}) in: {shown}"
        );
    }
}

/// Decodes `data` as an IPv4/TCP packet; what decodes must encode to a packet that
/// decodes to the same segment.
pub fn wire(data: &[u8]) {
    let Ok(d) = crate::wire::decode(data) else {
        return;
    };
    let mut bytes = Vec::new();
    crate::wire::encode(&d.seg, false, &mut bytes);
    let again = crate::wire::decode(&bytes).expect("what was decoded encodes validly");
    assert_eq!(again.seg, d.seg);
    assert_eq!(again.payload.len(), d.payload.len());
}
