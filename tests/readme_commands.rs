//! The README's "Seeing a run" excerpts are the real output of their commands: the text
//! ladder of `tcpsim sims/lost_last_ack.toml --seed 42 --ladder` in full, and each line of
//! the `--explain` excerpts of `sims/handshake.toml` and `sims/lossy_fin.toml --seed 42`.

mod common;

use std::path::Path;

use tcpsim::trace::ladder::{self, ConnSel};
use tcpsim::trace::{Names, TextRenderer};

/// The code blocks of the README's "Seeing a run" section, in order.
fn blocks() -> Vec<String> {
    let readme = include_str!("../README.md");
    let section = readme
        .split("\n## Seeing a run\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("README has a \"Seeing a run\" section");
    section
        .split("```")
        .skip(1)
        .step_by(2)
        .map(|b| {
            b.trim_start_matches(|c| c != '\n')
                .trim_start_matches('\n')
                .to_string()
        })
        .collect()
}

fn block_after(marker: &str) -> String {
    let readme = include_str!("../README.md");
    let at = readme.find(marker).expect(marker);
    let block = readme[at..]
        .split("```")
        .nth(1)
        .expect("a code block after the marker");
    block
        .trim_start_matches(|c| c != '\n')
        .trim_start_matches('\n')
        .to_string()
}

fn explained(name: &str, seed: u64) -> Vec<String> {
    let sc = common::load(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("sims")
            .join(name),
    );
    let run = tcpsim::transcript(&sc, seed);
    let names = Names::new(&sc);
    let mut r = TextRenderer::new(&names).explained(true);
    run.events.iter().map(|e| r.line(e)).collect()
}

#[test]
fn readme_ladder_is_current() {
    let sc = common::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("sims/lost_last_ack.toml"));
    let run = tcpsim::transcript(&sc, 42);
    let text = ladder::text(&run.events, &Names::new(&sc), ConnSel::First).unwrap();
    assert_eq!(
        block_after("**A text ladder.**"),
        text,
        "regenerate the README ladder from `tcpsim sims/lost_last_ack.toml --seed 42 --ladder`"
    );
}

#[test]
fn readme_explain_lines_are_current() {
    let handshake = explained("handshake.toml", 0);
    let lossy = explained("lossy_fin.toml", 42);
    let blocks = blocks();
    let explain: Vec<&String> = blocks.iter().filter(|b| b.contains("  # ")).collect();
    assert_eq!(explain.len(), 2, "two --explain excerpts");
    for (block, lines) in explain.into_iter().zip([&handshake, &lossy]) {
        for line in block.lines() {
            assert!(
                lines.iter().any(|l| l == line),
                "not in the --explain output any more: {line}"
            );
        }
    }
}
