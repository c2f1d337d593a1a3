//! Property tests over whole runs: whatever the links do and whatever hostile segments
//! are injected, nothing panics, the invariants hold, and the bytes an application
//! receives are the bytes its peer sent (or the transfer ends with a reported reason).

use proptest::prelude::*;
use tcpsim::scenario::load_str;
use tcpsim::trace::{AppEvent, EventKind};

/// A client sending `bytes` to a server over one link with the given impairments. The
/// run may last 20,000 s: at 30 % loss both ways with RTOs backed off to 60 s a transfer
/// can still be making progress after 1,500 s (a case the regressions file keeps).
fn transfer(link: &str, faults: &str, bytes: u32, extra: &str) -> String {
    format!(
        r#"
duration = "20000s"
[tcp]
msl = "1s"
{extra}
[[host]]
name = "client"
[[host]]
name = "server"
[[host]]
name = "attacker"
[[router]]
name = "r"
[[link]]
a = "client"
b = "r"
{link}
[[link]]
a = "r"
b = "server"
[[link]]
a = "attacker"
b = "r"
[[server]]
host = "server"
port = 80
reply = 3000
[[client]]
host = "client"
connect = "server:80"
actions = ["send {bytes}", "recv 3000", "close"]
{faults}
"#
    )
}

fn link_params() -> impl Strategy<Value = String> {
    (
        0.0..0.3f64,
        0.0..0.2f64,
        0.0..0.2f64,
        0.0..0.1f64,
        0u64..20,
        0u64..5,
        prop::option::of(1u64..100),
    )
        .prop_map(|(loss, dup, reorder, corrupt, delay, jitter, rate)| {
            let rate = rate
                .map(|r| format!("rate = \"{r}Mbps\"\nqueue = 20\n"))
                .unwrap_or_default();
            format!(
                "delay = \"{delay}ms\"\njitter = \"{jitter}ms\"\nloss = {loss}\nduplicate = {dup}\n\
                 reorder = {reorder}\ncorrupt = {corrupt}\n{rate}"
            )
        })
}

fn fault() -> impl Strategy<Value = String> {
    let action = prop_oneof![
        Just("action = \"drop\"".to_string()),
        (1u64..3000).prop_map(|d| format!("action = \"delay\"\ndelay = \"{d}ms\"")),
        (0u64..5000).prop_map(|d| format!("action = \"duplicate\"\ndelay = \"{d}ms\"")),
    ];
    let flags = prop_oneof![
        Just(""),
        Just("with_flags = \"SYN\""),
        Just("with_flags = \"FIN\""),
        Just("flags = \"ACK\"")
    ];
    let from = prop_oneof![
        Just("from = \"client\""),
        Just("from = \"server\""),
        Just("")
    ];
    (action, flags, from, prop::option::of(1u32..6)).prop_map(|(a, f, from, nth)| {
        let nth = nth.map(|n| format!("nth = {n}")).unwrap_or_default();
        format!("[[fault]]\n{a}\n{f}\n{from}\n{nth}\n")
    })
}

fn injection() -> impl Strategy<Value = String> {
    let seq = prop_oneof![
        any::<u32>().prop_map(|n| n.to_string()),
        (-70_000i64..70_000).prop_map(|d| format!("\"rcv_nxt{d:+}\"")),
        (-70_000i64..70_000).prop_map(|d| format!("\"snd_una{d:+}\"")),
    ];
    let ack = prop_oneof![
        any::<u32>().prop_map(|n| n.to_string()),
        (-70_000i64..70_000).prop_map(|d| format!("\"snd_nxt{d:+}\"")),
    ];
    let flags = prop::sample::subsequence(vec!["SYN", "FIN", "RST", "PSH", "ACK", "URG"], 0..=6);
    let target = prop_oneof![Just("client"), Just("server:80")];
    (0u64..4000, seq, ack, flags, 0u32..3000, any::<u16>(), target).prop_map(|(at, seq, ack, flags, len, window, conn)| {
        format!(
            "[[inject]]\nat = \"{at}ms\"\nfrom = \"attacker\"\nconn = \"{conn}\"\nflags = \"{}\"\n\
             seq = {seq}\nack = {ack}\nlen = {len}\nwindow = {window}\n",
            flags.join(",")
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Random links and fault lists: integrity always holds, and every transfer either
    /// completes or ends with a reported reason within the run.
    #[test]
    fn faulty_links_never_break_integrity(
        link in link_params(),
        faults in prop::collection::vec(fault(), 0..4),
        bytes in 1u32..40_000,
        seed in any::<u64>(),
    ) {
        let sc = load_str(&transfer(&link, &faults.concat(), bytes, ""), "prop.toml").unwrap();
        let mut gave_up = std::collections::BTreeSet::new();
        let report = tcpsim::run(&sc, seed, None, &mut |e| {
            if let EventKind::App { conn: Some(c), what: AppEvent::Refused | AppEvent::Reset | AppEvent::TimedOut, .. } = e.kind {
                gave_up.insert(c.id as usize);
            }
        });
        prop_assert_eq!(report.outcome.integrity_failures, 0);
        prop_assert_eq!(report.outcome.invariant_failures, 0);
        prop_assert!(!report.outcome.budget_exhausted);
        // Every sender either saw all its bytes acknowledged or was told why not. (A side
        // that only waits to receive has no timer, as in RFC 9293 without keep-alives.)
        for (id, c) in report.outcome.conns.iter().enumerate() {
            prop_assert!(c.stats.bytes_acked == c.stats.bytes_written || gave_up.contains(&id),
                "{:?}: {} of {} bytes acknowledged, no reason given", c.local, c.stats.bytes_acked, c.stats.bytes_written);
        }
    }

    /// Hostile segments aimed at live connections in whatever state they are: no panic,
    /// no broken invariant, under both profiles and with RFC 5961 on or off.
    #[test]
    fn injected_segments_never_break_a_host(
        injections in prop::collection::vec(injection(), 1..12),
        extra in prop_oneof![Just(""), Just("rfc5961 = true\nrfc1337 = true"), Just("timestamps = true\nwindow_scale = 7")],
        seed in any::<u64>(),
    ) {
        let src = transfer("delay = \"5ms\"\nloss = 0.1", &injections.concat(), 20_000, extra);
        let sc = load_str(&src, "prop.toml").unwrap();
        let report = tcpsim::run(&sc, seed, None, &mut |_| {});
        prop_assert_eq!(report.outcome.invariant_failures, 0);
        prop_assert!(!report.outcome.budget_exhausted);
    }
}
