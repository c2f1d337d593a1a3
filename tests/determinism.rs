//! Same seed, same bytes; another seed, other faults; one link's randomness never
//! depends on what else the scenario contains.

mod common;

use tcpsim::scenario::load_str;
use tcpsim::trace::{EventKind, Names, json};

fn json_lines(sc: &tcpsim::scenario::Scenario, seed: u64) -> String {
    let names = Names::new(sc);
    let mut out = String::new();
    tcpsim::run(sc, seed, None, &mut |e| {
        out.push_str(&json::event(&names, e).to_string());
        out.push('\n');
    });
    out
}

#[test]
fn same_seed_gives_identical_text_and_json() {
    for path in common::sims() {
        let sc = common::load(&path);
        assert_eq!(
            tcpsim::transcript(&sc, 7).text,
            tcpsim::transcript(&sc, 7).text,
            "{}",
            path.display()
        );
        assert_eq!(json_lines(&sc, 7), json_lines(&sc, 7), "{}", path.display());
    }
}

#[test]
fn another_seed_changes_a_lossy_run() {
    let sc =
        common::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sims/lossy_fin.toml"));
    assert_ne!(
        tcpsim::transcript(&sc, 42).text,
        tcpsim::transcript(&sc, 43).text
    );
}

const TWO_HOSTS: &str = r#"
[[host]]
name = "client"
[[host]]
name = "server"
[[link]]
a = "client"
b = "server"
delay = "10ms"
loss = 0.3
[[server]]
host = "server"
port = 80
[[client]]
host = "client"
connect = "server:80"
actions = ["send 20000", "close"]
"#;

/// The segments dropped on client->server, as (time, seq) pairs.
fn drops_on_client_link(src: &str) -> Vec<(u64, u32)> {
    let sc = load_str(src, "test.toml").unwrap();
    let mut drops = Vec::new();
    tcpsim::run(&sc, 5, None, &mut |e| {
        if let EventKind::Segment {
            seg, from: 0, fate, ..
        } = e.kind
            && fate.dropped.is_some()
        {
            drops.push((e.t, seg.seq.0));
        }
    });
    drops
}

#[test]
fn adding_a_host_and_link_elsewhere_does_not_change_drops() {
    let extended = format!(
        "{TWO_HOSTS}\n[[host]]\nname = \"bystander\"\n[[link]]\na = \"bystander\"\nb = \"server\"\nloss = 0.5\n"
    );
    let base = drops_on_client_link(TWO_HOSTS);
    assert!(!base.is_empty(), "30% loss must drop something");
    assert_eq!(base, drops_on_client_link(&extended));
}
