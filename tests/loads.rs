//! `[[load]]` workloads and the server policies they meet: arrival times, scripts,
//! keep-alive replies, close policies, linger 0, port exhaustion and backlog drops;
//! their errors; and the numbers each `sims/production/` scenario states in its header.

mod common;

use tcpsim::scenario::model::{Action, Scenario, ServerClose, client_starts};
use tcpsim::scenario::{ScenarioError, load_file, load_str};
use tcpsim::tcp::State;
use tcpsim::trace::{AppEvent, EventKind};

const MS: u64 = 1_000_000;
const SECOND: u64 = 1_000 * MS;

/// A client host and a server host on one 1 ms link; `server` and `load` are the bodies
/// of the `[[server]]` on b:80 and of the `[[load]]` from a to it.
fn pair(tcp: &str, server: &str, load: &str) -> String {
    format!(
        "[tcp]\n{tcp}\n[[host]]\nname = \"a\"\n[[host]]\nname = \"b\"\n[[link]]\na = \"a\"\nb = \"b\"\ndelay = \"1ms\"\n\
         [[server]]\nhost = \"b\"\nport = 80\n{server}\n[[load]]\nfrom = \"a\"\nconnect = \"b:80\"\n{load}\n"
    )
}

fn load(src: &str) -> Scenario {
    load_str(src, "t.toml").unwrap_or_else(|e| panic!("{e}"))
}

fn error(src: &str) -> ScenarioError {
    load_str(src, "t.toml").expect_err("an error")
}

#[test]
fn constant_arrivals_are_evenly_spaced_from_start() {
    let sc = load(&pair(
        "",
        "",
        "rate = \"4/s\"\nduration = \"1s\"\nstart = \"2s\"",
    ));
    let starts = client_starts(&sc.clients, 7);
    assert_eq!(
        starts,
        [2 * SECOND, 2250 * MS, 2500 * MS, 2750 * MS],
        "rate × duration connections, 1/rate apart"
    );
    assert!(sc.clients.iter().all(|c| c.local_port.is_none()));
}

#[test]
fn poisson_arrivals_are_seeded_and_average_the_rate() {
    let sc = load(&pair(
        "",
        "",
        "rate = \"1000/s\"\nduration = \"10s\"\narrivals = \"poisson\"",
    ));
    assert_eq!(sc.clients.len(), 10_000);
    let a = client_starts(&sc.clients, 1);
    assert_eq!(a, client_starts(&sc.clients, 1), "same seed, same arrivals");
    assert_ne!(
        a,
        client_starts(&sc.clients, 2),
        "another seed, other arrivals"
    );
    assert!(a.windows(2).all(|w| w[0] <= w[1]), "arrivals in order");
    let mean_gap = a[a.len() - 1] as f64 / (a.len() - 1) as f64;
    assert!(
        (0.95e6..1.05e6).contains(&mean_gap),
        "mean gap {mean_gap} ns, not 1 ms"
    );
}

#[test]
fn a_group_takes_turns() {
    let src = "[[router]]\nname = \"r\"\n[[host]]\nname = \"s\"\n[[link]]\na = \"s\"\nb = \"r\"\n\
               [[group]]\nname = \"c\"\ncount = 3\nsubnet = \"10.1.0.0/24\"\nlink_to = \"r\"\n\
               [[server]]\nhost = \"s\"\nport = 80\n\
               [[load]]\nfrom = \"c\"\nconnect = \"s:80\"\nrate = \"7/s\"\nduration = \"1s\"\n";
    let sc = load(src);
    let first = sc.groups[0].nodes.start;
    let hosts: Vec<usize> = sc.clients.iter().map(|c| c.host - first).collect();
    assert_eq!(hosts, [0, 1, 2, 0, 1, 2, 0]);
}

#[test]
fn the_script_is_built_from_requests_and_close() {
    let sc = load(&pair(
        "",
        "",
        "rate = \"1/s\"\nduration = \"1s\"\nrequests = 2\nrequest = 10\nresponse = 50\nthink = \"5ms\"\nclose = \"server\"",
    ));
    assert_eq!(
        &*sc.clients[0].actions,
        [
            Action::Send(10),
            Action::Recv(50),
            Action::Wait(5 * MS),
            Action::Send(10),
            Action::Recv(100),
            Action::RecvEof,
            Action::Close
        ]
    );
    let abort = load(&pair(
        "",
        "",
        "rate = \"1/s\"\nduration = \"1s\"\nclose = \"abort\"",
    ));
    assert_eq!(
        &*abort.clients[0].actions,
        [Action::Send(100), Action::Abort]
    );
    let never = load(&pair(
        "",
        "",
        "rate = \"1/s\"\nduration = \"1s\"\nclose = \"never\"",
    ));
    assert_eq!(&*never.clients[0].actions, [Action::Send(100)]);
}

#[test]
fn server_keys_are_read() {
    let sc = load(&pair(
        "",
        "reply = 100\nrequest = 10\nclose_after = 3\nlinger = 0",
        "rate = \"1/s\"\nduration = \"1s\"",
    ));
    let s = &sc.servers[0];
    assert_eq!(
        (s.request, s.close, s.close_after, s.linger_zero),
        (Some(10), ServerClose::AfterReply, 3, true)
    );
}

#[test]
fn load_errors_point_at_the_key() {
    let cases: [(&str, &str, &str, &[&str]); 9] = [
        ("", "rate = \"800\"\nduration = \"1s\"", "rate", &["800/s"]),
        ("", "rate = \"0/s\"\nduration = \"1s\"", "rate", &["zero"]),
        (
            "",
            "rate = \"1/s\"\nduration = \"1ms\"",
            "duration",
            &["no connection arrives"],
        ),
        (
            "",
            "rate = \"1000000/us\"\nduration = \"1h\"",
            "rate",
            &["at most 1000000"],
        ),
        (
            "",
            "rate = \"1/s\"\nduration = \"1s\"\narrivals = \"burst\"",
            "arrivals",
            &["poisson"],
        ),
        (
            "",
            "rate = \"1/s\"\nduration = \"1s\"\nclose = \"later\"",
            "close",
            &["\"server\"", "\"abort\""],
        ),
        (
            "",
            "rate = \"1/s\"\nduration = \"1s\"\nrequests = 0",
            "requests",
            &["from 1 to"],
        ),
        (
            "",
            "rate = \"1/s\"\nduration = \"1s\"\nrequests = 2\nactions = [\"send 1\"]",
            "actions",
            &["one or the other"],
        ),
        (
            "linger = 5",
            "rate = \"1/s\"\nduration = \"1s\"",
            "linger",
            &["only `linger = 0`"],
        ),
    ];
    for (server, body, key, words) in cases {
        let e = error(&pair("", server, body));
        assert_eq!(e.key.as_deref(), Some(key), "{e}");
        for w in words {
            assert!(e.to_string().contains(w), "{e} lacks {w}");
        }
    }
    let e = error(&pair(
        "",
        "request = 10",
        "rate = \"1/s\"\nduration = \"1s\"",
    ));
    assert!(e.to_string().contains("needs `reply`"), "{e}");
    let e = error(&pair(
        "",
        "close = \"never\"\nclose_after = 2\nreply = 1",
        "rate = \"1/s\"\nduration = \"1s\"",
    ));
    assert_eq!(e.key.as_deref(), Some("close_after"), "{e}");
    let mut two = pair("", "", "name = \"x\"\nrate = \"1/s\"\nduration = \"1s\"");
    two.push_str("[[load]]\nname = \"x\"\nfrom = \"a\"\nconnect = \"b:80\"\nrate = \"1/s\"\nduration = \"1s\"\n");
    assert!(error(&two).to_string().contains("already named `x`"));
}

/// Connections to b:80 that the server side took, and how many of them ended how.
fn run(src: &str) -> tcpsim::Run {
    tcpsim::transcript(&load(src), 1)
}

#[test]
fn keep_alive_servers_answer_each_request_and_close_after_the_last() {
    let r = run(&pair(
        "",
        "reply = 300\nrequest = 100\nclose_after = 3",
        "rate = \"1/s\"\nduration = \"1s\"\nrequests = 3\nrequest = 100\nresponse = 300\nclose = \"server\"",
    ));
    let conns = &r.report.outcome.conns;
    let client = conns.iter().find(|c| c.local.port != 80).unwrap();
    let server = conns.iter().find(|c| c.local.port == 80).unwrap();
    assert_eq!(client.stats.bytes_delivered, 900, "three replies of 300");
    assert_eq!(server.stats.bytes_delivered, 300, "three requests of 100");
    assert!(
        server.history.iter().any(|&(_, s)| s == State::TimeWait),
        "the server closed first"
    );
    assert!(!client.history.iter().any(|&(_, s)| s == State::TimeWait));
    assert!(r.report.passed());
}

#[test]
fn linger_zero_servers_abort_instead_of_closing() {
    let r = run(&pair(
        "",
        "reply = 10\nclose_after = 1\nlinger = 0",
        "rate = \"1/s\"\nduration = \"1s\"\nresponse = 10\nclose = \"server\"",
    ));
    let aborts = r.events.iter().filter(|e| {
        matches!(
            e.kind,
            EventKind::App {
                what: AppEvent::Abort { rst: true },
                ..
            }
        )
    });
    assert_eq!(aborts.count(), 1);
    assert!(
        r.report
            .outcome
            .conns
            .iter()
            .all(|c| !c.history.iter().any(|&(_, s)| s == State::TimeWait))
    );
}

#[test]
fn ports_run_out_at_the_rate_the_range_and_time_wait_predict() {
    // 100 ports held 2 s each by TIME_WAIT sustain 50/s; at 200/s they are gone after
    // 0.5 s and stay gone until the first TIME_WAIT ends at 2 s.
    let r = run(&pair(
        "msl = \"1s\"\nephemeral_ports = \"40000-40099\"",
        "reply = 10",
        "rate = \"200/s\"\nduration = \"4s\"\nresponse = 10",
    ));
    let stats = r.report.outcome.stats;
    let failed_at: Vec<u64> = (r.events.iter())
        .filter(|e| {
            matches!(
                e.kind,
                EventKind::App {
                    what: AppEvent::PortUnavailable { .. },
                    ..
                }
            )
        })
        .map(|e| e.t)
        .collect();
    assert_eq!(
        failed_at.first(),
        Some(&500_000_000),
        "port 101 is wanted at 0.5 s"
    );
    assert_eq!(stats.no_port, failed_at.len() as u64);
    let opened = 800 - stats.no_port;
    // 100 in the first 0.5 s, then the ports TIME_WAIT frees after 2 s: 100 more
    // between 2.0 and 2.5 s (those of 0..0.5 s), and so on.
    assert_eq!(opened, 200, "{} failed", stats.no_port);
    assert!(
        r.report
            .summary_text(&tcpsim::trace::Names::new(&load(&pair(
                "msl = \"1s\"\nephemeral_ports = \"40000-40099\"",
                "reply = 10",
                "rate = \"200/s\"\nduration = \"4s\"\nresponse = 10",
            ))))
            .contains("refused: 600 connects found no free local port")
    );
}

#[test]
fn tw_reuse_lets_a_load_through_that_time_wait_would_stop() {
    // 100 ports: TIME_WAIT (2 s) sustains 50/s; tw_reuse, which takes a port over once
    // its TIME_WAIT is 1 s old, sustains 100/s. At 80/s only tw_reuse gets through.
    let at = |tw_reuse: bool| {
        let tcp = format!(
            "msl = \"1s\"\nephemeral_ports = \"40000-40099\"\ntimestamps = true\ntw_reuse = {tw_reuse}"
        );
        run(&pair(
            &tcp,
            "reply = 10",
            "rate = \"80/s\"\nduration = \"4s\"\nresponse = 10",
        ))
        .report
        .outcome
        .stats
        .no_port
    };
    assert!(at(false) > 0);
    assert_eq!(at(true), 0);
}

#[test]
fn a_full_backlog_drops_syns_and_counts_them() {
    let r = run(&pair(
        "",
        "backlog = 2",
        "rate = \"10/ms\"\nduration = \"1ms\"\nclose = \"client\"",
    ));
    assert_eq!(
        r.report.outcome.stats.backlog_full, 20,
        "10 SYNs within one RTT, room for 2; the 8 dropped come back after their RTO, and so on: 8 + 6 + 4 + 2"
    );
}

#[test]
fn production_scenarios_state_their_question_and_hold_their_numbers() {
    for path in common::production_sims() {
        let text = std::fs::read_to_string(&path).unwrap();
        for part in ["— ", "# The question:", "# The number it shows:"] {
            assert!(text.contains(part), "{} lacks {part:?}", path.display());
        }
        let sc = load_file(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !sc.expects.is_empty(),
            "{} has no [[expect]]",
            path.display()
        );
        let report = tcpsim::run(&sc, 0, None, &mut |_| {});
        assert!(
            report.passed(),
            "{}: {:?}",
            path.display(),
            report.failures()
        );
        let st = report.outcome.stats;
        let name = common::sim_name(&path);
        match name.as_str() {
            "production/port_exhaustion" => {
                assert_eq!((st.no_port, st.connections), (39_536, 112_928))
            }
            "production/syn_burst" => assert_eq!(st.backlog_full, 13_552),
            _ => assert_eq!((st.no_port, st.backlog_full), (0, 0), "{name}"),
        }
    }
}

#[test]
fn refused_expectations_count_by_host_and_port() {
    let base = pair(
        "msl = \"1s\"\nephemeral_ports = \"40000-40099\"",
        "reply = 10\nbacklog = 1000",
        "rate = \"200/s\"\nduration = \"4s\"\nresponse = 10",
    );
    let with = |expect: &str| format!("{base}[[expect]]\n{expect}\n");
    let held = |expect: &str| tcpsim::transcript(&load(&with(expect)), 1).report;
    assert!(held("conn = \"a\"\nrefused = \"no_port\"\nmin = 600\nmax = 600").passed());
    assert!(held("conn = \"b:80\"\nrefused = \"backlog_full\"\nmax = 0").passed());
    let failed = held("conn = \"a\"\nrefused = \"no_port\"\nmax = 0");
    assert_eq!(
        failed.failures(),
        [
            "expectation at line 24 failed: a at most 0 connects that found no free local port: 600 connects that found no free local port"
        ]
    );
    for (bad, words) in [
        ("conn = \"a\"\nrefused = \"ports\"\nmax = 0", "\"no_port\""),
        (
            "conn = \"a\"\nrefused = \"no_port\"",
            "needs `min` and/or `max`",
        ),
        (
            "conn = \"a\"\nrefused = \"no_port\"\ncount_in_state = \"CLOSED\"\nmax = 0",
            "two [[expect]] entries",
        ),
        (
            "conn = \"a\"\nrefused = \"no_port\"\nmin = 2\nmax = 1",
            "must not be less",
        ),
    ] {
        let e = error(&with(bad));
        assert!(e.to_string().contains(words), "{e}");
    }
}
