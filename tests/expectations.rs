//! Every scenario under `sims/` meets its `[[expect]]` checks (and the integrity check)
//! on seeds 0..100, so its header comment is true whatever the loss pattern.

mod common;

#[test]
fn every_scenario_holds_on_seeds_0_to_100() {
    let mut failures = Vec::new();
    for path in common::sims() {
        let sc = common::load(&path);
        for seed in 0..100 {
            let report = tcpsim::run(&sc, seed, None, &mut |_| {});
            if !report.passed() {
                failures.push(format!(
                    "{} --seed {seed}: {}",
                    common::sim_name(&path),
                    report.failures().join("; ")
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing runs:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_scenario_has_expectations_and_a_header_comment() {
    for path in common::sims() {
        let text = std::fs::read_to_string(&path).expect("readable");
        assert!(
            text.starts_with('#'),
            "{} must start with a comment saying what it shows",
            path.display()
        );
        assert!(
            !common::load(&path).expects.is_empty(),
            "{} has no [[expect]]",
            path.display()
        );
    }
}

/// A client that closes at once: the run drains by 2.05 s (TIME_WAIT of 2 s) unless a
/// `duration` stops it first.
const SHORT: &str = r#"
    DURATION
    [tcp]
    msl = "1s"
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
    actions = ["close"]
    [[expect]]
    conn = "client"
    state = "CLOSED"
    at = "10s"
    [[expect]]
    conn = "client"
    sends = "RST"
    count = 0
    before = "20s"
"#;

/// An `at` after a run that stopped at its `duration` cannot be known, so it fails with
/// that reason; after a run that ran out of events the final state holds for ever.
#[test]
fn a_time_beyond_the_end_of_a_cut_run_fails_with_that_reason() {
    let cut = SHORT.replace("DURATION", r#"duration = "1s""#);
    let sc = tcpsim::scenario::load_str(&cut, "cut.toml").expect("valid");
    let report = tcpsim::run(&sc, 0, None, &mut |_| {});
    let failures = report.failures();
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(
        failures[0].contains(
            "10.000000 lies beyond the end of the run, which stopped at 1.000000 (raise `duration`, `--until` or `max_events`)"
        ),
        "{failures:?}"
    );
    assert!(
        failures[1].contains("20.000000 lies beyond"),
        "{failures:?}"
    );

    let drained = SHORT.replace("DURATION", "");
    let sc = tcpsim::scenario::load_str(&drained, "drained.toml").expect("valid");
    let report = tcpsim::run(&sc, 0, None, &mut |_| {});
    assert!(report.passed(), "{:?}", report.failures());
    assert!(report.outcome.end_time < 10_000_000_000);
}
