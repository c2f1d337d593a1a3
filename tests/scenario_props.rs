//! Whole scenarios from a generator: TOML that is well formed, with every table the
//! format has, and values drawn from pools of good, borderline and bad ones (a duration
//! just past 100000h, a rate in bytes, a probability of 1.5, a port of 0, a segment one
//! byte too long for IPv4, a group larger than the host limit, ...). Each must either
//! load, then run without a panic and with its clock never going back, or give a located
//! error in the user's words (`tcpsim::fuzzing::scenario` checks both, as the fuzz target
//! does).

use proptest::prelude::*;
use proptest::sample::select;

/// A pool of values for one key: good ones most of the time, now and then a bad or
/// borderline one, so most scenarios load and run and every check is reached.
type Pool = (&'static [&'static str], &'static [&'static str]);

const DURATIONS: Pool = (
    &[
        "\"0\"",
        "\"1ms\"",
        "\"10ms\"",
        "\"200ms\"",
        "\"1s\"",
        "\"2min\"",
        "\"100000h\"",
    ],
    &[
        "\"100000.5h\"",
        "\"-1s\"",
        "5",
        "\"1.5\"",
        "\"9223372037s\"",
        "\"18446744073s\"",
    ],
);
const POSITIVE: Pool = (
    &[
        "\"1ms\"",
        "\"10ms\"",
        "\"200ms\"",
        "\"1s\"",
        "\"2min\"",
        "\"100000h\"",
    ],
    &["\"0\"", "\"100001h\""],
);
const RATES: Pool = (
    &["\"10Mbps\"", "\"9600bps\"", "\"1.5Gbps\"", "\"1000Gbps\""],
    &["\"1001Gbps\"", "\"10MBps\"", "\"0bps\"", "\"fast\"", "10"],
);
const PROBABILITIES: Pool = (
    &["0", "0.01", "0.1", "0.5", "1"],
    &["1.5", "-0.1", "nan", "\"x\""],
);
const SMALL: Pool = (
    &["1", "3", "10", "100"],
    &["0", "-1", "4294967296", "true", "1.5"],
);
const MSS: Pool = (
    &["536", "1460", "64", "9000", "65495"],
    &["63", "65496", "65535"],
);
const WINDOWS: Pool = (&["1", "4380", "65535"], &["0", "70000", "1073741824"]);
const RETRIES: Pool = (&["0", "3", "15", "255"], &["256", "4294967295"]);
const BYTES: Pool = (
    &["0", "100", "5000", "2147483647"],
    &["2147483648", "4294967295", "-5"],
);
const LEN: Pool = (
    &["0", "1", "1460", "65491", "65495"],
    &["65496", "4294967295"],
);
const PORTS: Pool = (&["80", "443"], &["0", "65536", "65535"]);
const BOOLS: Pool = (&["true", "false"], &["1", "\"yes\""]);
const STATES: Pool = (
    &["\"ESTABLISHED\"", "\"time-wait\"", "\"CLOSED\""],
    &["\"NOPE\""],
);
const ACTIONS: Pool = (
    &[
        "\"send 100\"",
        "\"send 5000\"",
        "\"recv 100\"",
        "\"recv_eof\"",
        "\"wait 10ms\"",
        "\"close\"",
        "\"shutdown\"",
        "\"abort\"",
        "\"at 5ms: close\"",
        "\"at 1s: send 10\"",
    ],
    &[
        "\"send 3000000000\"",
        "\"read\"",
        "\"at 200000h: abort\"",
        "\"fly\"",
    ],
);
const TCP_KEYS: &[(&str, Pool)] = &[
    ("msl", POSITIVE),
    ("rto_min", POSITIVE),
    ("rto_initial", POSITIVE),
    ("time_wait", POSITIVE),
    ("fin_wait_2_timeout", (&["\"none\"", "\"5s\""], &["\"0\""])),
    ("delayed_ack", (&["\"none\"", "\"40ms\""], &["\"500ms\""])),
    ("mss", MSS),
    ("window", WINDOWS),
    (
        "window_scale",
        (&["0", "7", "14", "\"none\""], &["15", "-1"]),
    ),
    ("initial_window", (&["1", "10", "1000"], &["0", "1001"])),
    ("retries", RETRIES),
    ("syn_retries", RETRIES),
    ("synack_retries", RETRIES),
    ("syn_linear_timeouts", RETRIES),
    ("hz", (&["100", "250", "1000"], &["0", "251"])),
    ("ack_policy", (&["\"rfc\"", "\"linux\""], &["\"quick\""])),
    ("sack", BOOLS),
    ("dsack", BOOLS),
    ("timer_wheel", BOOLS),
    ("timestamps", BOOLS),
    ("rfc5961", BOOLS),
    ("nagle", BOOLS),
    (
        "ephemeral_ports",
        (&["\"49152-65535\"", "\"40000-40001\""], &["\"2-1\""]),
    ),
];
const LINK_KEYS: &[(&str, Pool)] = &[
    ("delay", DURATIONS),
    ("jitter", DURATIONS),
    ("rate", RATES),
    ("queue", SMALL),
    ("loss", PROBABILITIES),
    ("duplicate", PROBABILITIES),
    ("reorder", PROBABILITIES),
    ("corrupt", PROBABILITIES),
];
const TOP_KEYS: &[(&str, Pool)] = &[
    ("duration", POSITIVE),
    (
        "max_events",
        (&["100", "20000", "50000000"], &["0", "1", "10000000001"]),
    ),
    ("max_hosts", (&["10", "1000000"], &["0", "4000001"])),
    ("seed", (&["0", "7", "9223372036854775807"], &["-1"])),
];

fn value(pool: Pool) -> BoxedStrategy<&'static str> {
    prop_oneof![40 => select(pool.0), 1 => select(pool.1)].boxed()
}

/// `key = value` lines for a table: a few distinct keys of `keys`, each from its pool.
fn lines(keys: &'static [(&'static str, Pool)], max: usize) -> BoxedStrategy<String> {
    proptest::sample::subsequence(keys, 0..=max.min(keys.len()))
        .prop_flat_map(|chosen| {
            let each: Vec<_> = (chosen.into_iter())
                .map(|(key, pool)| value(pool).prop_map(move |v| format!("{key} = {v}\n")))
                .collect();
            each.prop_map(|v| v.concat())
        })
        .boxed()
}

/// The chain h0 - h1 - h2 (some hosts may not exist) with random properties, and now and
/// then a link between other nodes.
fn links(hosts: usize) -> BoxedStrategy<String> {
    let pairs = [
        ("h0", "h1"),
        ("h1", "h2"),
        ("h1", "r0"),
        ("h2", "h2"),
        ("h0", "nowhere"),
    ];
    let chain = proptest::collection::vec(lines(LINK_KEYS, 3), 3);
    let extra = prop_oneof![6 => Just(2), 1 => 3..pairs.len()];
    (
        chain,
        proptest::collection::vec((extra, lines(LINK_KEYS, 2)), 0..2),
    )
        .prop_map(move |(props, extra)| {
            let mut s = String::new();
            for (i, p) in props.iter().enumerate().take(hosts.saturating_sub(1)) {
                let (a, b) = pairs[i];
                s += &format!("[[link]]\na = \"{a}\"\nb = \"{b}\"\n{p}");
            }
            for (i, p) in extra {
                let (a, b) = pairs[i];
                s += &format!("[[link]]\na = \"{a}\"\nb = \"{b}\"\n{p}");
            }
            s
        })
        .boxed()
}

fn server() -> impl Strategy<Value = String> {
    let keys: &'static [(&str, Pool)] = &[
        ("reply", BYTES),
        ("echo", BOOLS),
        ("backlog", SMALL),
        (
            "read",
            (&["\"100 every 10ms\"", "\"manual\""], &["\"0 every 1s\""]),
        ),
        (
            "close",
            (
                &["\"after_reply\"", "\"never\"", "\"peer_close\""],
                &["\"later\""],
            ),
        ),
    ];
    let timed = (
        &["\"at 5ms: close\"", "\"at 1s: send 10\"", "\"at 2s: read\""][..],
        &["\"send 1\""][..],
    );
    (
        value(PORTS),
        lines(keys, 2),
        proptest::collection::vec(value(timed), 0..2),
    )
        .prop_map(|(port, props, actions)| {
            format!(
                "[[server]]\nhost = \"h1\"\nport = {port}\n{props}actions = [{}]\n",
                actions.join(", ")
            )
        })
}

fn client() -> impl Strategy<Value = String> {
    let hosts = (&["\"h0\"", "\"h2\""][..], &["\"r0\"", "\"h9\""][..]);
    let connects = (
        &["\"h1:80\"", "\"h1:443\""][..],
        &["\"h1\"", "\"h1:0\""][..],
    );
    (
        value(hosts),
        value(connects),
        value(DURATIONS),
        proptest::collection::vec(value(ACTIONS), 0..4),
    )
        .prop_map(|(host, connect, start, actions)| {
            format!(
                "[[client]]\nhost = {host}\nconnect = {connect}\nstart = {start}\nactions = [{}]\n",
                actions.join(", ")
            )
        })
}

fn extras() -> impl Strategy<Value = String> {
    let fault = (value(DURATIONS), value(SMALL)).prop_map(|(delay, nth)| {
        format!(
            "[[fault]]\naction = \"delay\"\ndelay = {delay}\nnth = {nth}\nwith_flags = \"ACK\"\n"
        )
    });
    let partition = (value(DURATIONS), value(POSITIVE)).prop_map(|(s, e)| {
        format!(
            "[[fault]]\naction = \"partition\"\na = \"h0\"\nb = \"h1\"\nstart = {s}\nend = {e}\n"
        )
    });
    let inject = (value(DURATIONS), value(LEN), proptest::bool::ANY).prop_map(|(at, len, mss)| {
        let mss = if mss { "mss = 1000\n" } else { "" };
        format!("[[inject]]\nat = {at}\nsrc = \"h0:1\"\ndst = \"h1:80\"\nflags = \"ACK\"\nlen = {len}\n{mss}")
    });
    let expect = (value(STATES), value(DURATIONS))
        .prop_map(|(state, at)| format!("[[expect]]\nconn = \"*\"\nstate = {state}\nat = {at}\n"));
    let subnets = (
        &["\"10.9.0.0/16\"", "\"10.9.0.0/28\""][..],
        &["\"0.0.0.0/1\"", "\"10.9.0.1/16\"", "\"10.9.0.0/30\""][..],
    );
    let group = (value(SMALL), value(subnets)).prop_map(|(count, subnet)| {
        format!("[[group]]\nname = \"g\"\ncount = {count}\nsubnet = {subnet}\nlink_to = \"h1\"\n")
    });
    proptest::collection::vec(prop_oneof![fault, partition, inject, expect, group], 0..4)
        .prop_map(|v| v.concat())
}

fn scenario() -> impl Strategy<Value = String> {
    let hosts = prop_oneof![1 => Just(1usize), 1 => Just(2usize), 8 => Just(3usize)];
    let router = prop_oneof![4 => Just(true), 1 => Just(false)];
    (hosts, router).prop_flat_map(|(hosts, router)| {
        (
            lines(TOP_KEYS, 2),
            lines(TCP_KEYS, 4),
            links(hosts),
            proptest::collection::vec(server(), 0..2),
            proptest::collection::vec(client(), 0..3),
            extras(),
        )
            .prop_map(move |(top, tcp, links, servers, clients, extras)| {
                let mut s = format!("{top}[tcp]\n{tcp}");
                for h in 0..hosts {
                    s += &format!("[[host]]\nname = \"h{h}\"\n");
                }
                if router {
                    s += "[[router]]\nname = \"r0\"\n";
                }
                s + &links + &servers.concat() + &clients.concat() + &extras
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn generated_scenarios_load_or_fail_located_and_run_without_panic(text in scenario()) {
        if let Err(e) = tcpsim::scenario::load_str(&text, "generated.toml") {
            prop_assert!(e.line >= 1, "an error in a file points into it: {e}");
        }
        tcpsim::fuzzing::scenario(text.as_bytes());
    }
}
