//! Pins the text transcript of every scenario under `sims/` at seed 42. A change in TCP
//! behaviour shows up here as a reviewed diff (`cargo insta review`).

mod common;

#[test]
fn transcripts_of_every_scenario() {
    for path in common::sims() {
        let name = common::sim_name(&path).replace('/', "__");
        let run = tcpsim::transcript(&common::load(&path), 42);
        insta::with_settings!({
            snapshot_path => "../snapshots",
            prepend_module_to_snapshot => false,
            description => format!("tcpsim {} --seed 42", common::sim_name(&path)),
            omit_expression => true,
        }, {
            insta::assert_snapshot!(name, run.text);
        });
    }
}
