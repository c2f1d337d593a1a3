//! The README's transcript excerpt is the real output of its command, kept current.

mod common;

#[test]
fn readme_transcript_is_current() {
    let readme = include_str!("../README.md");
    let block = readme
        .split("## A transcript")
        .nth(1)
        .and_then(|rest| rest.split("```\n").nth(1))
        .expect("README has a transcript block");
    let sc =
        common::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sims/lossy_fin.toml"));
    let text = tcpsim::transcript(&sc, 42).text;
    let events: String = text
        .lines()
        .take_while(|l| !l.starts_with("---"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        block, events,
        "regenerate the README excerpt from `tcpsim sims/lossy_fin.toml --seed 42`"
    );
}
