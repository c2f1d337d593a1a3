//! Host groups: `[[group]]`, clients on a group with spread starts, "group*" selectors,
//! `count_in_state`, the summary aggregated per group, and the benchmarks in `sims/bench/`.

mod common;

use tcpsim::scenario::load_str;
use tcpsim::scenario::model::{
    Check, Client, ConnSelector, Group, NodeKind, Scenario, SpreadMode, client_starts,
};
use tcpsim::tcp::State;
use tcpsim::trace::{AppEvent, EventKind, Names};

const MS: u64 = 1_000_000;
const SECOND: u64 = 1_000 * MS;

fn load(src: &str) -> Scenario {
    load_str(src, "t.toml").unwrap_or_else(|e| panic!("{e}"))
}

fn addr(sc: &Scenario, id: usize) -> std::net::Ipv4Addr {
    match sc.nodes[id].kind {
        NodeKind::Host { addr, .. } => addr.into(),
        NodeKind::Router => panic!("{} is a router", sc.nodes[id].name),
    }
}

/// `n` clients in group "c" behind router r1, a server; each client sends 1000 bytes
/// and closes first (so it ends in TIME_WAIT for 2 × 1 s, then CLOSED).
fn star(n: u32, client_extra: &str, expects: &str) -> String {
    format!(
        r#"
[tcp]
msl = "1s"
[[host]]
name = "server"
[[router]]
name = "r1"
[[link]]
a = "r1"
b = "server"
delay = "1ms"
[[group]]
name = "c"
count = {n}
subnet = "10.1.0.0/16"
link_to = "r1"
link = {{ delay = "2ms" }}
[[server]]
host = "server"
port = 80
[[client]]
group = "c"
connect = "server:80"
actions = ["send 1000", "close"]
{client_extra}
{expects}
"#
    )
}

#[test]
fn group_hosts_are_named_addressed_and_linked_after_explicit_nodes() {
    let sc = load(
        r#"
[[host]]
name = "a"                  # auto: 10.0.0.0/24 is the group's, so 10.0.1.0
[[router]]
name = "r1"
[[host]]
name = "b"
addr = "10.9.0.1"
[[link]]
a = "a"
b = "r1"
[[link]]
a = "b"
b = "r1"
[[group]]
name = "web"
count = 3
subnet = "10.0.0.0/24"
link_to = "r1"
tcp = { mss = 536 }
[group.link]
delay = "5ms"
rate = "100Mbps"
a_to_b = { loss = 0.5 }
[[client]]                  # something must run (a scenario that sends nothing is an error)
host = "a"
connect = "b:80"
"#,
    );
    let names: Vec<&str> = sc.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "r1", "web1", "web2", "web3"]);
    assert_eq!(addr(&sc, 0), std::net::Ipv4Addr::new(10, 0, 1, 0));
    assert_eq!(addr(&sc, 1), std::net::Ipv4Addr::new(10, 9, 0, 1));
    for (i, id) in (3..6).enumerate() {
        assert_eq!(
            addr(&sc, id),
            std::net::Ipv4Addr::new(10, 0, 0, 1 + i as u8)
        );
        let NodeKind::Host { tcp, .. } = &sc.nodes[id].kind else {
            panic!()
        };
        assert_eq!(tcp.mss, 536);
    }
    assert_eq!(
        sc.groups,
        [Group {
            name: "web".into(),
            nodes: 3..6,
            links: 2..5,
        }]
    );
    for (l, host) in sc.links[2..].iter().zip(3..) {
        assert_eq!((l.a, l.b), (host, 2));
        assert_eq!(l.a_to_b.delay, 5 * MS);
        assert_eq!(l.a_to_b.rate_bps, Some(100_000_000));
        assert_eq!((l.a_to_b.loss, l.b_to_a.loss), (0.5, 0.0));
    }
}

fn starts(mode: &str, seed: u64) -> Vec<u64> {
    let sc = load(&star(
        20,
        &format!("start = \"1s\"\nspread = \"2s\"\nspread_mode = \"{mode}\""),
        "",
    ));
    client_starts(&sc.clients, seed)
}

#[test]
fn spread_modes() {
    let step = starts("step", 0);
    assert_eq!(
        step,
        (0..20).map(|i| SECOND + i * 100 * MS).collect::<Vec<_>>()
    );
    assert_eq!(step, starts("step", 9), "step does not depend on the seed");

    let uniform = starts("uniform", 0);
    assert!(uniform.iter().all(|&t| (SECOND..3 * SECOND).contains(&t)));
    assert_eq!(uniform, starts("uniform", 0));
    assert_ne!(uniform, starts("uniform", 1));

    let exp = starts("exponential", 0);
    assert_eq!(exp[0], SECOND, "the first arrival is at `start`");
    assert!(exp.windows(2).all(|w| w[0] <= w[1]), "{exp:?}");
    assert_eq!(exp, starts("exponential", 0));
    assert_ne!(exp, starts("exponential", 1));
    // Mean gap spread/count = 100 ms: over seeds the 20th arrival averages 1 s + 1.9 s.
    let mean_last = (0..200).map(|s| starts("exponential", s)[19]).sum::<u64>() / 200;
    assert!(
        (2_600 * MS..3_200 * MS).contains(&mean_last),
        "mean last start {mean_last}"
    );
}

#[test]
fn clients_connect_at_their_drawn_starts() {
    let sc = load(&star(10, "spread = \"1s\"\nspread_mode = \"uniform\"", ""));
    assert!(
        sc.clients
            .iter()
            .all(|c: &Client| c.spread.is_some_and(|s| s.mode == SpreadMode::Uniform))
    );
    let expected = client_starts(&sc.clients, 5);
    let mut connects = vec![None; sc.nodes.len()];
    let report = tcpsim::run(&sc, 5, None, &mut |e| {
        if let EventKind::App {
            host,
            what: AppEvent::Connect,
            ..
        } = e.kind
        {
            connects[host as usize].get_or_insert(e.t);
        }
    });
    assert!(report.passed(), "{:?}", report.failures());
    let seen: Vec<u64> = sc
        .clients
        .iter()
        .map(|c| connects[c.host].unwrap())
        .collect();
    assert_eq!(seen, expected);
}

#[test]
fn group_selectors() {
    let sc = load(&star(
        5,
        "",
        r#"
[[expect]]
conn = "c*"
final = "CLOSED"
reaches = "TIME_WAIT"
[[expect]]
conn = "c*:49152"
sends = "FIN,ACK"
[[expect]]
conn = "server"
never = "TIME_WAIT"
delivered = 1000
"#,
    ));
    assert_eq!(
        sc.expects[0].conn,
        ConnSelector::Hosts {
            first: 2,
            end: 7,
            port: None
        }
    );
    let report = tcpsim::run(&sc, 0, None, &mut |_| {});
    assert!(report.passed(), "{:?}", report.failures());
    let c3 = ConnSelector::Hosts {
        first: 2,
        end: 7,
        port: Some(49152),
    };
    assert!(c3.matches(4, 49152) && !c3.matches(4, 80) && !c3.matches(0, 49152));
}

fn count_check(bounds: &str, at: &str) -> tcpsim::report::Report {
    let sc = load(&star(
        60,
        "spread = \"100ms\"",
        &format!("[[expect]]\nconn = \"c*\"\ncount_in_state = \"TIME_WAIT\"\n{at}\n{bounds}\n"),
    ));
    assert!(matches!(
        sc.expects[0].checks[0],
        Check::CountInState {
            state: State::TimeWait,
            ..
        }
    ));
    tcpsim::run(&sc, 0, None, &mut |_| {})
}

#[test]
fn count_in_state() {
    // Every client is in TIME_WAIT 1 s in (they closed within ~0.1 s; TIME_WAIT is 2 s).
    assert!(count_check("min = 60", "at = \"1s\"").passed());
    assert!(count_check("max = 0", "at = \"5s\"").passed());
    assert!(count_check("max = 0", "").passed(), "none at the end");
    let failed = count_check("max = 5", "at = \"1s\"");
    let e = &failed.expectations[0];
    assert_eq!(e.what, "c* at most 5 in TIME_WAIT at 1.000000");
    assert_eq!(
        e.failures,
        [
            "60 of 60 selected connections in TIME_WAIT at 1.000000 (first: c1:49152, c2:49152, c3:49152, c4:49152, c5:49152)"
        ]
    );
    let e = &count_check("min = 1\nmax = 2", "at = \"30s\"").expectations[0];
    assert_eq!(e.what, "c* 1 to 2 in TIME_WAIT at 30.000000");
    assert_eq!(
        e.failures,
        ["0 of 60 selected connections in TIME_WAIT at 30.000000"]
    );
}

#[test]
fn many_failures_are_counted_and_the_first_five_named() {
    let sc = load(&star(
        60,
        "",
        "[[expect]]\nconn = \"c*\"\nfinal = \"TIME_WAIT\"\n",
    ));
    let report = tcpsim::run(&sc, 0, None, &mut |_| {});
    let f = &report.expectations[0].failures;
    assert_eq!(f.len(), 6, "{f:?}");
    assert_eq!(f[0], "60 of 60 selected connections fail, the first 5");
    assert_eq!(f[1], "c1:49152: ended in CLOSED");
}

#[test]
fn summary_is_aggregated_per_group_above_fifty_connections() {
    // 30 clients: 60 connections, so totals per group.
    let sc = load(&star(30, "spread = \"30ms\"", ""));
    let run = tcpsim::transcript(&sc, 3);
    let summary = &run.text[run.text.find("--- summary").unwrap()..];
    assert!(
        summary.contains("connections: 60 (more than 50: totals per group)"),
        "{summary}"
    );
    assert!(summary.contains("group c (30 hosts)"), "{summary}");
    assert!(
        summary.contains("sent 30000  acked 30000  delivered 0"),
        "{summary}"
    );
    assert!(summary.contains("explicit hosts"), "{summary}");
    assert!(
        summary.contains("sent 0  acked 0  delivered 30000"),
        "{summary}"
    );
    assert!(summary.contains("group c: host->r1"), "{summary}");
    assert!(
        !summary.contains("<->"),
        "no line per connection:\n{summary}"
    );

    // Connection times (first state change to last) from the events themselves.
    let mut spans: std::collections::HashMap<(u32, u16), (u64, u64)> = Default::default();
    for e in &run.events {
        if let EventKind::State { conn, .. } = e.kind
            && (2..32).contains(&conn.host)
        {
            let s = spans
                .entry((conn.host, conn.local.port))
                .or_insert((e.t, e.t));
            s.1 = e.t;
        }
    }
    let mut times: Vec<u64> = spans.values().map(|(a, b)| b - a).collect();
    times.sort_unstable();
    let line = format!(
        "connection time  min {}  median {}  p99 {}  max {}",
        tcpsim::trace::text::time(times[0]),
        tcpsim::trace::text::time(times[14]),
        tcpsim::trace::text::time(times[29]),
        tcpsim::trace::text::time(times[29]),
    );
    assert!(summary.contains(&line), "{line} in\n{summary}");

    let names = Names::new(&sc);
    let json = run.report.summary_json(&names);
    let kinds = |k: &str| json.iter().filter(|v| v["kind"] == k).count();
    assert_eq!(kinds("conn_summary"), 60, "per-connection objects stay");
    let groups: Vec<_> = json
        .iter()
        .filter(|v| v["kind"] == "group_summary")
        .collect();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0]["group"], "c");
    assert_eq!(groups[0]["hosts"], 30);
    assert_eq!(groups[0]["final"]["CLOSED"], 30);
    assert_eq!(groups[0]["bytes_sent"], 30000);
    assert_eq!(groups[1]["group"], serde_json::Value::Null);
    assert_eq!(groups[1]["bytes_delivered"], 30000);
}

#[test]
fn summary_keeps_a_line_per_connection_up_to_fifty() {
    let sc = load(&star(25, "", ""));
    let run = tcpsim::transcript(&sc, 0);
    assert_eq!(run.text.matches("<->").count(), 50);
    assert!(!run.text.contains("totals per group"));
}

#[test]
fn every_bench_scenario_loads_and_the_small_ones_pass() {
    let bench = common::bench_sims();
    let names: Vec<String> = bench.iter().map(|p| common::sim_name(p)).collect();
    assert_eq!(
        names,
        [
            "bench/bulk_100mb",
            "bench/bulk_10mb",
            "bench/bulk_1gb",
            "bench/many_100k",
            "bench/many_10k",
            "bench/many_1k",
            "bench/many_1m"
        ]
    );
    assert!(common::sims().iter().all(|p| !bench.contains(p)));
    for path in &bench {
        let text = std::fs::read_to_string(path).unwrap();
        assert!(
            text.starts_with('#') && text.contains("ns-3"),
            "{}",
            path.display()
        );
        let name = common::sim_name(path);
        if name == "bench/many_1m" {
            // A million hosts take seconds and about 1.5 GB to load even in a release build
            // (scripts/bench.sh runs it); here only its header is checked.
            continue;
        }
        let sc = common::load(path);
        assert!(!sc.expects.is_empty(), "{}", path.display());
        if name == "bench/many_1k" || name == "bench/bulk_10mb" {
            let report = tcpsim::run(&sc, 0, None, &mut |_| {});
            assert!(report.passed(), "{name}: {:?}", report.failures());
        }
    }
}
