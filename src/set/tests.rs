//! `--set` paths, values and errors.

use super::*;

const SRC: &str = "# top\n[tcp]\ntw_reuse = false # comment kept\n\n[[load]]\nname = \"proxy\"\nrate = \"800/s\"\n\n[[server]]\nport = 80\n";

fn set(text: &str) -> Result<String, String> {
    apply(SRC, &[Set::parse(text)?])
}

#[test]
fn values_are_toml_or_strings() {
    let out = set("tcp.tw_reuse=true").unwrap();
    assert!(out.contains("tw_reuse = true # comment kept\n"), "{out}");
    let out = set("load.0.rate=100/s").unwrap();
    assert!(out.contains("rate = \"100/s\"\n"), "{out}");
    let out = set("server.0.backlog=64").unwrap();
    assert!(out.contains("port = 80\nbacklog = 64\n"), "{out}");
}

#[test]
fn arrays_of_tables_by_name_and_new_tables() {
    let out = set("load.proxy.rate=5/s").unwrap();
    assert!(out.contains("rate = \"5/s\""), "{out}");
    let out = apply(
        "[[host]]\nname = \"a\"\n",
        &[Set::parse("tcp.time_wait=30s").unwrap()],
    )
    .unwrap();
    assert!(
        out.starts_with("[[host]]\nname = \"a\"\n"),
        "untouched lines stay: {out}"
    );
    assert!(out.contains("[tcp]\ntime_wait = \"30s\""), "{out}");
}

#[test]
fn bad_paths_name_the_set() {
    let e = set("load.3.rate=1/s").unwrap_err();
    assert!(
        e.starts_with("error: --set load.3.rate=1/s: [[load]] has 1 tables, so no index 3"),
        "{e}"
    );
    let e = set("load.web.rate=1/s").unwrap_err();
    assert!(e.contains("no [[load]] has name = \"web\""), "{e}");
    let e = set("tcp.tw_reuse.x=1").unwrap_err();
    assert!(e.contains("`tcp.tw_reuse` is a value"), "{e}");
    let e = set("load.0=1").unwrap_err();
    assert!(e.contains("whole table"), "{e}");
    assert!(Set::parse("noequals").is_err());
    assert!(Set::parse("a..b=1").is_err());
}
