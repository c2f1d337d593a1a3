//! Checks on the transfer scenarios that a snapshot cannot make by itself.

mod common;

use std::path::Path;

use tcpsim::trace::{AppEvent, EventKind};

/// RFC-style loss-limited throughput (Mathis et al. 1997): MSS/RTT × 1.22/√p, in bit/s.
fn mathis(mss: f64, rtt_s: f64, p: f64) -> f64 {
    mss * 8.0 / rtt_s * 1.22 / p.sqrt()
}

#[test]
fn bulk_lossy_goodput_is_within_a_factor_of_two_of_mathis() {
    let sc =
        common::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("sims/transfer/bulk_lossy.toml"));
    for seed in [1, 2, 3, 42] {
        let (mut first, mut last, mut bytes) = (None, 0, 0u64);
        let report = tcpsim::run(&sc, seed, None, &mut |e| {
            if let EventKind::App {
                host: 1,
                what: AppEvent::Receive { bytes: n },
                ..
            } = e.kind
            {
                first.get_or_insert(e.t);
                last = e.t;
                bytes += n as u64;
            }
        });
        assert!(report.passed(), "{:?}", report.failures());
        let goodput = bytes as f64 * 8.0 / ((last - first.unwrap()) as f64 / 1e9);
        // RTT = 2 × 20 ms plus serialization; p = 1 %.
        let predicted = mathis(1460.0, 0.040, 0.01);
        let ratio = goodput / predicted;
        assert!(
            (0.5..=2.0).contains(&ratio),
            "seed {seed}: {goodput:.0} bit/s vs Mathis {predicted:.0} (×{ratio:.2})"
        );
    }
}
