//! Pins the text transcript of every scenario under `sims/` at seed 42. A change in TCP
//! behaviour shows up here as a reviewed diff (`cargo insta review`).
//!
//! Long transcripts (bulk transfers, many hosts) keep their first and last events, every
//! notable line in between (timers, `tcp:` decisions, state changes, link changes, lost or
//! damaged segments) and the whole summary, so the snapshot stays readable while still
//! pinning what matters.

mod common;

/// Events kept whole from each end of a transcript longer than `KEEP_HEAD + KEEP_TAIL`.
const KEEP_HEAD: usize = 150;
const KEEP_TAIL: usize = 60;

fn notable(line: &str) -> bool {
    [
        " timer: ",
        " tcp: ",
        " -> ",
        " link ",
        "!!",
        "INTEGRITY",
        "INVARIANT",
    ]
    .iter()
    .any(|m| line.contains(m))
}

fn abbreviate(text: &str) -> String {
    let (events, summary) = text.split_at(text.find("--- summary").unwrap_or(text.len()));
    let lines: Vec<&str> = events.lines().collect();
    if lines.len() <= KEEP_HEAD + KEEP_TAIL {
        return text.to_string();
    }
    let mut out = String::new();
    let mut omitted = 0;
    for (i, line) in lines.iter().enumerate() {
        if i < KEEP_HEAD || i >= lines.len() - KEEP_TAIL || notable(line) {
            if omitted > 0 {
                out.push_str(&format!("... {omitted} events omitted ...\n"));
                omitted = 0;
            }
            out.push_str(line);
            out.push('\n');
        } else {
            omitted += 1;
        }
    }
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
