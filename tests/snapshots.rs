//! Pins the text transcript of every scenario under `sims/` at seed 42. A change in TCP
//! behaviour shows up here as a reviewed diff (`cargo insta review`).
//!
//! Long transcripts (bulk transfers, many hosts) keep their first and last events and the
//! whole summary, so the snapshot stays readable while still pinning the start, the end
//! and every total.

mod common;

/// Events kept from each end of a transcript longer than `KEEP_HEAD + KEEP_TAIL` lines.
const KEEP_HEAD: usize = 150;
const KEEP_TAIL: usize = 60;

fn abbreviate(text: &str) -> String {
    let (events, summary) = text.split_at(text.find("--- summary").unwrap_or(text.len()));
    let lines: Vec<&str> = events.lines().collect();
    if lines.len() <= KEEP_HEAD + KEEP_TAIL {
        return text.to_string();
    }
    let omitted = lines.len() - KEEP_HEAD - KEEP_TAIL;
    let mut out = lines[..KEEP_HEAD].join("\n");
    out.push_str(&format!("\n... {omitted} events omitted ...\n"));
    out.push_str(&lines[lines.len() - KEEP_TAIL..].join("\n"));
    out.push('\n');
    out.push_str(summary);
    out
}

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
            insta::assert_snapshot!(name, abbreviate(&run.text));
        });
    }
}
