//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use tcpsim::scenario::{Scenario, load_file};

/// Every scenario under `sims/` (recursively) except the benchmarks in `sims/bench/` and
/// the kernel conformance cases in `sims/kernel/` (instruments for `tcpsim diff`, run by
/// `tests/kernel.rs`) and the production questions in `sims/production/` (run once each
/// by `tests/production.rs`), sorted so test order is stable.
pub fn sims() -> Vec<PathBuf> {
    let bench = sims_dir().join("bench");
    let kernel = sims_dir().join("kernel");
    let production = sims_dir().join("production");
    let mut out = Vec::new();
    collect(&sims_dir(), &mut out);
    out.retain(|p| {
        !p.starts_with(&bench) && !p.starts_with(&kernel) && !p.starts_with(&production)
    });
    out.sort();
    out
}

/// The kernel conformance cases in `sims/kernel/`, sorted.
pub fn kernel_sims() -> Vec<PathBuf> {
    let mut out = Vec::new();
    collect(&sims_dir().join("kernel"), &mut out);
    out.sort();
    out
}

/// The production questions in `sims/production/`, sorted: tens of thousands of
/// connections each, so `tests/production.rs` runs each once and checks its numbers.
pub fn production_sims() -> Vec<PathBuf> {
    let mut out = Vec::new();
    collect(&sims_dir().join("production"), &mut out);
    out.sort();
    out
}

/// The benchmark scenarios in `sims/bench/`, sorted: too large to run on 100 seeds or
/// snapshot, so `tests/groups.rs` loads them all and runs the small ones once.
pub fn bench_sims() -> Vec<PathBuf> {
    let mut out = Vec::new();
    collect(&sims_dir().join("bench"), &mut out);
    out.sort();
    out
}

fn sims_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sims")
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("sims/ exists") {
        let path = entry.expect("readable entry").path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}

/// The path relative to `sims/` without extension, e.g. "lossy_fin" or "time_wait/rst".
pub fn sim_name(path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sims");
    let rel = path.strip_prefix(&root).unwrap_or(path).with_extension("");
    rel.to_string_lossy()
        .replace(std::path::MAIN_SEPARATOR, "/")
}

pub fn load(path: &Path) -> Scenario {
    load_file(path).unwrap_or_else(|e| panic!("{e}"))
}
