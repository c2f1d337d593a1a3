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
