//! The fuzz corpus as regression tests: every input committed under `fuzz/seeds/TARGET/`
//! (hand-written), `fuzz/corpus/TARGET/` (what campaigns kept) and
//! `fuzz/regressions/TARGET/` (inputs that once failed) goes through the fuzz target's
//! body, `tcpsim::fuzzing::TARGET`, on the ordinary toolchain and build.
//! `scripts/fuzz.sh` is what finds new ones.

use std::path::{Path, PathBuf};

fn inputs(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut out = Vec::new();
    for dir in ["seeds", "corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        out.extend(entries.map(|e| e.expect("readable entry").path()));
    }
    out.sort();
    out
}

fn replay(target: &str, body: fn(&[u8])) {
    let files = inputs(target);
    assert!(!files.is_empty(), "no corpus for {target}");
    for path in files {
        let data = std::fs::read(&path).expect("readable input");
        let outcome = std::panic::catch_unwind(|| body(&data));
        assert!(outcome.is_ok(), "{} fails", path.display());
    }
}

#[test]
fn scenario_corpus() {
    replay("scenario", tcpsim::fuzzing::scenario);
}

#[test]
fn wire_corpus() {
    replay("wire", tcpsim::fuzzing::wire);
    // The hand-made seeds are valid packets, so the round trip is exercised.
    for name in ["syn_options", "data", "fin_ack", "rst"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/seeds/wire")
            .join(name);
        let bytes = std::fs::read(&path).expect("seed");
        assert!(tcpsim::wire::decode(&bytes).is_ok(), "{name} decodes");
    }
}

#[test]
fn connection_corpus() {
    replay("connection", tcpsim::fuzzing::connection);
}
