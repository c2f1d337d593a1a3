//! Every kind of scenario error, checked through the public `load_str` / `load_file`:
//! position, key and the words that tell the user what was expected.

use std::path::Path;

use tcpsim::scenario::model::{
    Action, Call, Check, ConnSelector, FaultKind, Inject, LinkParams, NodeKind, Scenario,
    SegmentAction, SeqExpr, SeqVar, ServerClose, ServerRead, TimedStep,
};
use tcpsim::scenario::{ScenarioError, load_file, load_str, load_str_with};
use tcpsim::tcp::{
    Config, Flags, IsnMode, Profile, ReopenOldDuplicate, SECOND, State, SynData, TimeWaitInWindow,
};

/// Two linked hosts; tests append the part they get wrong. Lines 1-7.
const BASE: &str = r#"[[host]]
name = "a"
[[host]]
name = "b"
[[link]]
a = "a"
b = "b"
"#;

const MS: u64 = 1_000_000;

fn error_of(src: &str) -> ScenarioError {
    match load_str(src, "t.toml") {
        Ok(_) => panic!("expected an error for:\n{src}"),
        Err(e) => e,
    }
}

/// Asserts the error's position, key and that its message contains every fragment.
#[track_caller]
fn assert_error(src: &str, line: usize, col: usize, key: Option<&str>, fragments: &[&str]) {
    let e = error_of(src);
    let shown = e.to_string();
    assert_eq!((e.line, e.col), (line, col), "position of:\n{shown}");
    assert_eq!(e.key.as_deref(), key, "key of:\n{shown}");
    assert_eq!(e.file, "t.toml");
    for f in fragments {
        assert!(e.message.contains(f), "missing {f:?} in:\n{shown}");
    }
}

fn with_base(extra: &str) -> String {
    format!("{BASE}{extra}")
}

// ---- TOML and schema errors --------------------------------------------------------

#[test]
fn display_names_file_position_and_quotes_the_line() {
    let e = error_of(&with_base("lose = 0.1\n"));
    let expected =
        "error: t.toml:8:1: unknown key `lose` in [[link]]: expected one of `a`, `b`, `delay`";
    let shown = e.to_string();
    assert!(shown.starts_with(expected), "{shown}");
    assert!(
        shown.ends_with("\n  |\n8 | lose = 0.1\n  | ^^^^"),
        "{shown}"
    );
}

#[test]
fn unknown_key_at_top_level() {
    assert_error(
        "durations = \"1s\"\n",
        1,
        1,
        Some("durations"),
        &[
            "unknown key `durations` at the top level",
            "`duration`",
            "did you mean `duration`?",
        ],
    );
}

#[test]
fn unknown_key_in_link() {
    assert_error(
        &with_base("lose = 0.1\n"),
        8,
        1,
        Some("lose"),
        &[
            "unknown key `lose` in [[link]]",
            "expected one of",
            "`loss`",
            "did you mean `loss`?",
        ],
    );
}

#[test]
fn unknown_key_in_link_direction_table() {
    assert_error(
        &with_base("[link.a_to_b]\ndelay = \"1ms\"\nlose = 0.1\n"),
        10,
        1,
        Some("lose"),
        &["unknown key `lose` in [link.a_to_b]", "`reorder_delay`"],
    );
}

#[test]
fn unknown_key_in_inline_direction_table() {
    assert_error(
        &with_base("b_to_a = { delay = \"1ms\", lose = 0.1 }\n"),
        8,
        27,
        Some("lose"),
        &["unknown key `lose` in `b_to_a` of [[link]]"],
    );
}

#[test]
fn unknown_key_in_host_tcp() {
    assert_error(
        "[[host]]\nname = \"a\"\n[host.tcp]\nmsss = 536\n",
        4,
        1,
        Some("msss"),
        &[
            "unknown key `msss` in [host.tcp]",
            "`mss`",
            "`ephemeral_ports`",
        ],
    );
}

#[test]
fn wrong_type() {
    assert_error(
        "[tcp]\nmss = \"big\"\n",
        2,
        7,
        Some("mss"),
        &[
            "`mss` in [tcp]",
            "expected an integer from 0 to 65535, found the string \"big\"",
        ],
    );
}

#[test]
fn unknown_fault_action() {
    assert_error(
        &with_base("[[fault]]\naction = \"explode\"\n"),
        9,
        10,
        Some("action"),
        &[
            "`explode`",
            "`drop`",
            "`delay`",
            "`duplicate`",
            "`partition`",
        ],
    );
}

#[test]
fn bad_duration() {
    assert_error(
        &with_base("delay = \"2 parsecs\"\n"),
        8,
        9,
        Some("delay"),
        &[r#"expected a duration such as "200ms", "2s" or "2min", found "2 parsecs""#],
    );
}

#[test]
fn duration_without_unit() {
    assert_error(
        &with_base("delay = 5\n"),
        8,
        9,
        Some("delay"),
        &["found the number 5", "\"5ms\""],
    );
}

#[test]
fn bad_rate() {
    assert_error(
        &with_base("rate = \"10MB/s\"\n"),
        8,
        8,
        Some("rate"),
        &[r#"expected a rate such as "10Mbps""#, "found \"10MB/s\""],
    );
}

#[test]
fn missing_required_key_names_the_table_entry() {
    assert_error(
        &with_base("[[link]]\na = \"a\"\n"),
        8,
        1,
        Some("b"),
        &["[[link]] #2 is missing required key `b`"],
    );
}

#[test]
fn toml_syntax_error() {
    assert_error(
        "[[host]]\nname = = \"a\"\n",
        2,
        8,
        None,
        &["TOML syntax error"],
    );
}

#[test]
fn multibyte_text_gives_character_columns() {
    let e = error_of("[[host]]\nname = \"héllo\"\naddr = \"ü\"\n");
    assert_eq!((e.line, e.col, e.key.as_deref()), (3, 8, Some("addr")));
    assert_eq!(e.width, 3);
}

// ---- nodes --------------------------------------------------------------------------

#[test]
fn duplicate_host_name() {
    assert_error(
        &with_base("[[router]]\nname = \"a\"\n"),
        9,
        8,
        Some("name"),
        &["name `a` is already used", "line 2", "unique"],
    );
}

#[test]
fn bad_names() {
    assert_error(
        "[[host]]\nname = \"\"\n",
        2,
        8,
        Some("name"),
        &["must not be empty"],
    );
    assert_error(
        "[[host]]\nname = \"a:b\"\n",
        2,
        8,
        Some("name"),
        &["must not contain ':'"],
    );
}

#[test]
fn bad_and_duplicate_addresses() {
    assert_error(
        "[[host]]\nname = \"a\"\naddr = \"10.0.0.256\"\n",
        3,
        8,
        Some("addr"),
        &[
            "expected an IPv4 address such as \"10.0.0.1\"",
            "\"10.0.0.256\"",
        ],
    );
    assert_error(
        "[[host]]\nname = \"a\"\naddr = \"10.0.0.9\"\n[[host]]\nname = \"b\"\naddr = \"10.0.0.9\"\n",
        6,
        8,
        Some("addr"),
        &["10.0.0.9 is already used by host `a`"],
    );
}

// ---- TCP settings ---------------------------------------------------------------------

#[test]
fn tcp_values_out_of_range() {
    assert_error(
        "[tcp]\nmss = 10\n",
        2,
        7,
        Some("mss"),
        &["from 64 to 65495"],
    );
    assert_error(
        "[tcp]\nwindow = 0\n",
        2,
        10,
        Some("window"),
        &["`window` must be at least 1 bytes"],
    );
    assert_error(
        "[tcp]\nmsl = \"0s\"\n",
        2,
        7,
        Some("msl"),
        &["greater than 0"],
    );
    assert_error(
        "[tcp]\nephemeral_ports = \"5000-4000\"\n",
        2,
        19,
        Some("ephemeral_ports"),
        &["\"first-last\"", "\"5000-4000\""],
    );
}

#[test]
fn rto_min_above_rto_max_in_host_override() {
    assert_error(
        "[tcp]\nrto_min = \"2s\"\n[[host]]\nname = \"a\"\ntcp = { rto_max = \"1s\" }\n",
        5,
        19,
        Some("rto_max"),
        &["`rto_min` (2s) must not be larger than `rto_max` (1s)"],
    );
}

/// The `Config` of host `i` (panics for a router).
fn tcp_of(s: &Scenario, i: usize) -> Config {
    match &s.nodes[i].kind {
        NodeKind::Host { tcp, .. } => Config::clone(tcp),
        NodeKind::Router => panic!("node {i} should be a host"),
    }
}

#[test]
fn bad_profile_name() {
    assert_error(
        "profile = \"bsd\"\n",
        1,
        11,
        Some("profile"),
        &["unknown profile \"bsd\"", "\"rfc9293\"", "\"linux\""],
    );
    // `--profile` replaces the key, but a misspelt key is still reported.
    let e = load_str_with("profile = \"Linux\"\n", "t.toml", Some(Profile::Linux)).unwrap_err();
    assert_eq!((e.line, e.col, e.key.as_deref()), (1, 11, Some("profile")));
}

#[test]
fn bad_isn() {
    assert_error(
        "[tcp]\nisn = \"sequential\"\n",
        2,
        7,
        Some("isn"),
        &[
            "expected `isn` \"rfc6528\"",
            "\"random\"",
            "found \"sequential\"",
        ],
    );
}

#[test]
fn window_over_the_limit_without_window_scale() {
    assert_error(
        "[tcp]\nwindow = 70000\n",
        2,
        10,
        Some("window"),
        &[
            "`window` is 70000 bytes, too large",
            "no window scaling",
            "at most 65535 bytes",
            "`window_scale = S` raises the limit to 65535 << S",
        ],
    );
    // 65535 itself fits.
    let s = load_str("[[host]]\nname = \"a\"\n[host.tcp]\nwindow = 65535\n", "t").unwrap();
    assert_eq!(tcp_of(&s, 0).window, 65535);
}

#[test]
fn window_over_the_limit_with_window_scale() {
    assert_error(
        "[tcp]\nwindow_scale = 2\nwindow = 262141\n",
        3,
        10,
        Some("window"),
        &[
            "262141 bytes",
            "with `window_scale = 2`",
            "at most 262140 bytes",
        ],
    );
    let s = load_str(
        "[tcp]\nwindow_scale = 2\nwindow = 262140\n[[host]]\nname = \"a\"\n",
        "t",
    )
    .unwrap();
    assert_eq!(
        (tcp_of(&s, 0).window, tcp_of(&s, 0).window_scale),
        (262_140, Some(2))
    );
}

#[test]
fn host_window_scale_below_the_global_window() {
    assert_error(
        "[tcp]\nwindow_scale = 4\nwindow = 1000000\n[[host]]\nname = \"a\"\n[host.tcp]\nwindow_scale = \"none\"\n",
        7,
        16,
        Some("window_scale"),
        &[
            "`window` is 1000000 bytes (set on line 3)",
            "at most 65535 bytes",
            "lower `window` here too",
        ],
    );
}

#[test]
fn profile_window_shrinks_to_fit_a_smaller_scale() {
    // The Linux profile's 128 KiB buffer is a default, not the user's: without window
    // scaling it becomes 65535 rather than an error.
    let s = load_str(
        "profile = \"linux\"\n[tcp]\nwindow_scale = \"none\"\n[[host]]\nname = \"a\"\n",
        "t",
    )
    .unwrap();
    let cfg = tcp_of(&s, 0);
    assert_eq!((cfg.window, cfg.window_scale), (65535, None));
}

#[test]
fn window_scale_out_of_range() {
    assert_error(
        "[tcp]\nwindow_scale = 15\n",
        2,
        16,
        Some("window_scale"),
        &["from 0 to 14", "RFC 7323", "found 15"],
    );
    assert_error(
        "[tcp]\nwindow_scale = -1\n",
        2,
        16,
        Some("window_scale"),
        &["from 0 to 14", "found -1"],
    );
    assert_error(
        "[tcp]\nwindow_scale = \"off\"\n",
        2,
        16,
        Some("window_scale"),
        &["`window_scale` in [tcp]", "\"none\"", "found \"off\""],
    );
}

#[test]
fn tw_reuse_without_timestamps() {
    assert_error(
        "[tcp]\ntw_reuse = true\n",
        2,
        12,
        Some("tw_reuse"),
        &["`tw_reuse = true` needs `timestamps = true`", "RFC 7323"],
    );
    // Turning timestamps off under a tw_reuse written earlier points at `timestamps`.
    assert_error(
        "[tcp]\ntimestamps = true\ntw_reuse = true\n[[host]]\nname = \"a\"\ntcp = { timestamps = false }\n",
        6,
        22,
        Some("timestamps"),
        &["conflicts with `tw_reuse = true` (line 3)"],
    );
    // The Linux profile's own tw_reuse follows timestamps.
    let s = load_str(
        "profile = \"linux\"\n[tcp]\ntimestamps = false\n[[host]]\nname = \"a\"\n",
        "t",
    )
    .unwrap();
    assert_eq!(
        (tcp_of(&s, 0).timestamps, tcp_of(&s, 0).tw_reuse),
        (false, false)
    );
}

#[test]
fn new_tcp_values_out_of_range() {
    assert_error(
        "[tcp]\ntime_wait = \"0s\"\n",
        2,
        13,
        Some("time_wait"),
        &["`time_wait` must be greater than 0"],
    );
    assert_error(
        "[tcp]\nfin_wait_2_timeout = \"0\"\n",
        2,
        22,
        Some("fin_wait_2_timeout"),
        &["greater than 0", "\"none\""],
    );
    assert_error(
        "[tcp]\nfin_wait_2_timeout = \"never\"\n",
        2,
        22,
        Some("fin_wait_2_timeout"),
        &["found \"never\"", "(or \"none\")"],
    );
    assert_error(
        "[tcp]\nchallenge_ack_limit = 0\n",
        2,
        23,
        Some("challenge_ack_limit"),
        &["at least 1"],
    );
    assert_error(
        "[tcp]\nrfc5961 = \"yes\"\n",
        2,
        11,
        Some("rfc5961"),
        &["expected true or false, found the string \"yes\""],
    );
}

#[test]
fn every_new_tcp_key_is_applied() {
    let s = load_str(
        r#"[tcp]
time_wait = "30s"
fin_wait_2_timeout = "10s"
window_scale = 3
window = 400000
timestamps = true
rfc5961 = true
challenge_ack_limit = 10
rfc1337 = true
tw_reuse = true
isn = "random"
[[host]]
name = "a"
[[host]]
name = "b"
[host.tcp]
fin_wait_2_timeout = "none"
window_scale = "none"
window = 1000
[[link]]
a = "a"
b = "b"
"#,
        "t",
    )
    .unwrap();
    assert_eq!(s.profile, Profile::Rfc9293);
    let global = Config {
        time_wait: Some(30 * SECOND),
        fin_wait_2_timeout: Some(10 * SECOND),
        window_scale: Some(3),
        window: 400_000,
        window_is_sockopt: true,
        timestamps: true,
        rfc5961: true,
        challenge_ack_limit: 10,
        rfc1337: true,
        tw_reuse: true,
        isn: IsnMode::Random,
        ..Config::default()
    };
    assert_eq!(tcp_of(&s, 0), global);
    assert_eq!(
        tcp_of(&s, 1),
        Config {
            fin_wait_2_timeout: None,
            window_scale: None,
            window: 1000,
            ..global
        }
    );
}

#[test]
fn issue_10_tcp_keys_are_applied() {
    let s = load_str(
        r#"[tcp]
limited_transmit = false
restart_after_idle = false
rto_after_syn_loss = "none"
syn_data = "drop"
time_wait_in_window = "ignore"
reopen_old_duplicate = "listen"
[[host]]
name = "a"
[[host]]
name = "b"
tcp = { syn_data = "queue", rto_after_syn_loss = "2s", time_wait_in_window = "ack_restart" }
[[link]]
a = "a"
b = "b"
"#,
        "t",
    )
    .unwrap();
    let global = Config {
        limited_transmit: false,
        restart_after_idle: false,
        rto_after_syn_loss: None,
        syn_data: SynData::Drop,
        time_wait_in_window: TimeWaitInWindow::Ignore,
        reopen_old_duplicate: ReopenOldDuplicate::Listen,
        ..Config::default()
    };
    assert_eq!(tcp_of(&s, 0), global);
    assert_eq!(
        tcp_of(&s, 1),
        Config {
            syn_data: SynData::Queue,
            rto_after_syn_loss: Some(2 * SECOND),
            time_wait_in_window: TimeWaitInWindow::AckRestart,
            ..global
        }
    );
}

#[test]
fn issue_10_tcp_keys_reject_bad_values() {
    assert_error(
        "[tcp]\nsyn_data = \"keep\"\n",
        2,
        12,
        Some("syn_data"),
        &[
            "expected `syn_data` \"queue\"",
            "or \"drop\" (Linux without Fast Open)",
            "found \"keep\"",
        ],
    );
    assert_error(
        "[tcp]\ntime_wait_in_window = \"ack\"\n",
        2,
        23,
        Some("time_wait_in_window"),
        &["\"ack_restart\"", "\"ignore\"", "found \"ack\""],
    );
    assert_error(
        "[tcp]\nreopen_old_duplicate = \"closed\"\n",
        2,
        24,
        Some("reopen_old_duplicate"),
        &["\"time_wait\"", "\"listen\""],
    );
    assert_error(
        "[tcp]\nrto_after_syn_loss = \"0\"\n",
        2,
        22,
        Some("rto_after_syn_loss"),
        &["greater than 0", "RFC 6298 §5.7"],
    );
    assert_error(
        "[tcp]\nlimited_transmit = 1\n",
        2,
        20,
        Some("limited_transmit"),
        &["expected true or false, found the integer 1"],
    );
}

#[test]
fn linux_profile_under_tcp_overrides() {
    let s = load_str(
        "profile = \"linux\"\n[tcp]\nrto_min = \"300ms\"\n[[host]]\nname = \"a\"\n[[host]]\nname = \"b\"\ntcp = { rfc1337 = true }\n[[link]]\na = \"a\"\nb = \"b\"\n",
        "t",
    )
    .unwrap();
    assert_eq!(s.profile, Profile::Linux);
    let global = Config {
        rto_min: 300 * MS,
        ..Config::linux()
    };
    assert_eq!(tcp_of(&s, 0), global);
    assert_eq!(
        tcp_of(&s, 1),
        Config {
            rfc1337: true,
            ..global
        }
    );
}

#[test]
fn command_line_profile_overrides_the_file() {
    let src = "profile = \"rfc9293\"\n[tcp]\nmss = 536\n[[host]]\nname = \"a\"\n";
    let s = load_str_with(src, "t", Some(Profile::Linux)).unwrap();
    assert_eq!(s.profile, Profile::Linux);
    assert_eq!(
        tcp_of(&s, 0),
        Config {
            mss: 536,
            ..Config::linux()
        }
    );
    let s = load_str_with(src, "t", None).unwrap();
    assert_eq!(s.profile, Profile::Rfc9293);
    assert_eq!(
        tcp_of(&s, 0),
        Config {
            mss: 536,
            ..Config::default()
        }
    );
}

// ---- links ----------------------------------------------------------------------------

#[test]
fn link_to_missing_node() {
    assert_error(
        "[[host]]\nname = \"alpha\"\n[[link]]\na = \"alpha\"\nb = \"alpah\"\n",
        5,
        5,
        Some("b"),
        &[
            "no host or router named `alpah`",
            "did you mean `alpha`?",
            "`alpha`",
        ],
    );
}

#[test]
fn link_to_itself() {
    assert_error(
        "[[host]]\nname = \"a\"\n[[link]]\na = \"a\"\nb = \"a\"\n",
        5,
        5,
        Some("b"),
        &["two different nodes"],
    );
}

#[test]
fn duplicate_link_in_either_order() {
    assert_error(
        &with_base("[[link]]\na = \"b\"\nb = \"a\"\n"),
        9,
        5,
        Some("a"),
        &[
            "already a link between `b` and `a` (line 6)",
            "at most one link",
        ],
    );
}

#[test]
fn link_values_out_of_range() {
    assert_error(
        &with_base("loss = 1.5\n"),
        8,
        8,
        Some("loss"),
        &["between 0 and 1", "1.5"],
    );
    assert_error(
        &with_base("[link.b_to_a]\ncorrupt = -0.1\n"),
        9,
        11,
        Some("corrupt"),
        &["between 0 and 1"],
    );
    assert_error(
        &with_base("queue = 0\n"),
        8,
        9,
        Some("queue"),
        &["at least 1"],
    );
}

#[test]
fn unreachable_host() {
    assert_error(
        &with_base("[[host]]\nname = \"c\"\n"),
        9,
        8,
        Some("name"),
        &["host `c` cannot reach host `a`"],
    );
}

// ---- faults -----------------------------------------------------------------------

#[test]
fn fault_with_missing_host() {
    assert_error(
        &with_base("[[fault]]\naction = \"drop\"\nfrom = \"c\"\n"),
        10,
        8,
        Some("from"),
        &["no host or router named `c`"],
    );
}

#[test]
fn fault_from_a_router() {
    assert_error(
        &with_base("[[router]]\nname = \"r\"\n[[fault]]\naction = \"drop\"\nto = \"r\"\n"),
        12,
        6,
        Some("to"),
        &["`r`, which is a router", "routers run no TCP"],
    );
}

#[test]
fn bad_flags() {
    assert_error(
        &with_base("[[fault]]\naction = \"drop\"\nwith_flags = \"FIN,AKC\"\n"),
        10,
        14,
        Some("with_flags"),
        &[
            "unknown TCP flags \"FIN,AKC\"",
            "SYN, FIN, RST, PSH, URG and ACK",
        ],
    );
}

#[test]
fn nth_must_be_positive() {
    assert_error(
        &with_base("[[fault]]\naction = \"duplicate\"\nnth = 0\n"),
        10,
        7,
        Some("nth"),
        &["at least 1"],
    );
}

#[test]
fn delay_fault_needs_delay() {
    assert_error(
        &with_base("[[fault]]\naction = \"delay\"\n"),
        9,
        10,
        Some("delay"),
        &["a `delay` fault needs the key `delay`"],
    );
}

#[test]
fn fault_end_before_start() {
    assert_error(
        &with_base("[[fault]]\naction = \"drop\"\nstart = \"2s\"\nend = \"1s\"\n"),
        11,
        7,
        Some("end"),
        &["`end` (1s) must be later than `start` (2s)"],
    );
}

const PARTITION: &str = "[[fault]]\naction = \"partition\"\nstart = \"1s\"\nend = \"2s\"\n";

#[test]
fn partition_on_nonexistent_link() {
    let src = format!(
        "{BASE}[[host]]\nname = \"c\"\n[[link]]\na = \"b\"\nb = \"c\"\n{PARTITION}a = \"a\"\nb = \"c\"\n"
    );
    assert_error(&src, 17, 5, Some("a"), &["no [[link]] between `a` and `c`"]);
}

#[test]
fn partition_with_filter_key() {
    let src = format!("{BASE}{PARTITION}a = \"a\"\nb = \"b\"\nflags = \"SYN\"\n");
    assert_error(
        &src,
        14,
        9,
        Some("flags"),
        &[
            "key `flags` does not belong in a `partition` fault",
            "`direction`",
        ],
    );
}

#[test]
fn segment_fault_with_partition_key() {
    assert_error(
        &with_base("[[fault]]\naction = \"drop\"\ndirection = \"both\"\n"),
        10,
        13,
        Some("direction"),
        &[
            "key `direction` does not belong in a `drop` fault",
            "`with_flags`",
        ],
    );
}

#[test]
fn partition_missing_end_and_bad_direction() {
    let src =
        format!("{BASE}[[fault]]\naction = \"partition\"\na = \"a\"\nb = \"b\"\nstart = \"1s\"\n");
    assert_error(
        &src,
        9,
        10,
        Some("end"),
        &["a `partition` fault needs the key `end`"],
    );
    let src = format!("{BASE}{PARTITION}a = \"a\"\nb = \"b\"\ndirection = \"up\"\n");
    assert_error(
        &src,
        14,
        13,
        Some("direction"),
        &["\"both\", \"a_to_b\" or \"b_to_a\""],
    );
}

// ---- servers and clients ------------------------------------------------------------

#[test]
fn server_problems() {
    assert_error(
        &with_base("[[server]]\nhost = \"x\"\nport = 80\n"),
        9,
        8,
        Some("host"),
        &["no host or router named `x`"],
    );
    assert_error(
        &with_base("[[server]]\nhost = \"b\"\nport = 80\n[[server]]\nhost = \"b\"\nport = 80\n"),
        13,
        8,
        Some("port"),
        &["host `b` already has a [[server]] on port 80 (line 10)"],
    );
    assert_error(
        &with_base("[[server]]\nhost = \"b\"\nport = 80\nclose = \"soon\"\n"),
        11,
        9,
        Some("close"),
        &["\"peer_close\", \"after_reply\" or \"never\""],
    );
    assert_error(
        &with_base("[[server]]\nhost = \"b\"\nport = 80\nbacklog = 0\n"),
        11,
        11,
        Some("backlog"),
        &["at least 1"],
    );
}

#[test]
fn client_with_missing_host() {
    assert_error(
        &with_base("[[client]]\nhost = \"c\"\nconnect = \"b:80\"\n"),
        9,
        8,
        Some("host"),
        &["no host or router named `c`"],
    );
    assert_error(
        &with_base("[[client]]\nhost = \"a\"\nconnect = \"c:80\"\n"),
        10,
        11,
        Some("connect"),
        &["no host or router named `c`"],
    );
}

#[test]
fn client_connect_syntax() {
    assert_error(
        &with_base("[[client]]\nhost = \"a\"\nconnect = \"b\"\n"),
        10,
        11,
        Some("connect"),
        &["\"host:port\""],
    );
    assert_error(
        &with_base("[[client]]\nhost = \"a\"\nconnect = \"b:http\"\n"),
        10,
        11,
        Some("connect"),
        &["from 1 to 65535", "\"http\""],
    );
}

#[test]
fn bad_action() {
    assert_error(
        &with_base(
            "[[client]]\nhost = \"a\"\nconnect = \"b:80\"\nactions = [\"send 10\", \"sned 5\"]\n",
        ),
        11,
        23,
        Some("actions"),
        &[
            "unknown action \"sned 5\"",
            "\"send N\"",
            "\"recv_eof\"",
            "\"abort\"",
        ],
    );
    assert_error(
        &with_base("[[client]]\nhost = \"a\"\nconnect = \"b:80\"\nactions = [\"wait 5 yr\"]\n"),
        11,
        12,
        Some("actions"),
        &["expected a duration", "found \"5 yr\""],
    );
}

fn client_actions(actions: &str) -> String {
    with_base(&format!(
        "[[client]]\nhost = \"a\"\nconnect = \"b:80\"\nactions = {actions}\n"
    ))
}

fn server_actions(extra: &str) -> String {
    with_base(&format!("[[server]]\nhost = \"b\"\nport = 80\n{extra}\n"))
}

#[test]
fn malformed_timed_step() {
    for step in ["at 50ms close", "at 50ms:", "at"] {
        assert_error(
            &client_actions(&format!("[\"{step}\"]")),
            11,
            12,
            Some("actions"),
            &[
                r#"expected a timed step as "at DUR: ACTION""#,
                r#"e.g. "at 50ms: close""#,
                &format!("found \"{step}\""),
            ],
        );
    }
}

#[test]
fn timed_step_with_a_bad_duration() {
    assert_error(
        &client_actions(r#"["send 1", "at -5ms: close"]"#),
        11,
        22,
        Some("actions"),
        &["in \"at -5ms: close\"", "durations cannot be negative"],
    );
    assert_error(
        &client_actions(r#"["at 5 parsecs: close"]"#),
        11,
        12,
        Some("actions"),
        &["expected a duration", "found \"5 parsecs\""],
    );
    assert_error(
        &client_actions(r#"["at : close"]"#),
        11,
        12,
        Some("actions"),
        &["expected a duration"],
    );
}

#[test]
fn unknown_or_untimeable_timed_action() {
    assert_error(
        &client_actions(r#"["send 1", "at 5ms: sned 5"]"#),
        11,
        22,
        Some("actions"),
        &[
            "unknown timed action \"sned 5\" in \"at 5ms: sned 5\"",
            r#"expected one of "send N", "shutdown", "close" or "abort""#,
        ],
    );
    assert_error(
        &client_actions(r#"["at 5ms: wait 1s"]"#),
        11,
        12,
        Some("actions"),
        &[
            "\"wait 1s\" in \"at 5ms: wait 1s\" cannot be timed",
            "only untimed steps",
        ],
    );
    assert_error(
        &server_actions(r#"actions = ["at 1s: read all"]"#),
        11,
        12,
        Some("actions"),
        &[
            "unknown timed action \"read all\"",
            r#""abort", "read" or "read N""#,
        ],
    );
}

#[test]
fn read_is_a_server_action() {
    for actions in [r#"["at 1s: read"]"#, r#"["read 10"]"#] {
        assert_error(
            &client_actions(actions),
            11,
            12,
            Some("actions"),
            &["is a server action", "a client reads everything"],
        );
    }
}

#[test]
fn server_actions_must_be_timed() {
    assert_error(
        &server_actions(r#"actions = ["at 1s: read", "close"]"#),
        11,
        27,
        Some("actions"),
        &[
            "server actions must be timed",
            r#""at DUR: ACTION""#,
            "from the SYN that created the connection",
            "found \"close\"",
        ],
    );
    assert_error(
        &server_actions(r#"read = "sometimes""#),
        11,
        8,
        Some("read"),
        &[r#""N every DUR""#, r#""manual""#, "found \"sometimes\""],
    );
}

#[test]
fn timed_steps_resolve() {
    let s = load_str(
        &with_base(
            r#"[[server]]
host = "b"
port = 80
read = "manual"
actions = ["at 10min: read", "at 1s: read 100", "at 2s:shutdown", "at 2s : abort"]
[[client]]
host = "a"
connect = "b:80"
actions = ["send 5", "at 50ms: close", "recv_eof", "at 1.5s: send 1000", "at 0: abort"]
"#,
        ),
        "t.toml",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let step = |at, call| TimedStep { at, call };
    assert_eq!(s.servers[0].read, ServerRead::Manual);
    assert_eq!(
        s.servers[0].actions,
        [
            step(600 * SECOND, Call::Read(None)),
            step(SECOND, Call::Read(Some(100))),
            step(2 * SECOND, Call::Shutdown),
            step(2 * SECOND, Call::Abort),
        ]
    );
    let c = &s.clients[0];
    assert_eq!(*c.actions, [Action::Send(5), Action::RecvEof]);
    assert_eq!(
        *c.timed,
        [
            step(50 * MS, Call::Close),
            step(1_500 * MS, Call::Send(1000)),
            step(0, Call::Abort),
        ]
    );
    let paced =
        load_str(&server_actions(r#"read = "10 every 1s""#), "t.toml").map(|s| s.servers[0].read);
    assert_eq!(
        paced,
        Ok(ServerRead::Paced {
            bytes: 10,
            every: SECOND
        })
    );
}

// ---- expects and top level ------------------------------------------------------------

#[test]
fn expect_with_missing_host() {
    assert_error(
        &with_base("[[expect]]\nconn = \"c:80\"\nfinal = \"CLOSED\"\n"),
        9,
        8,
        Some("conn"),
        &["no host or router named `c`"],
    );
}

#[test]
fn bad_state_name() {
    assert_error(
        &with_base("[[expect]]\nconn = \"a\"\nreaches = \"TIME-WAITING\"\n"),
        10,
        11,
        Some("reaches"),
        &[
            "unknown TCP state \"TIME-WAITING\"",
            "SYN_RECEIVED",
            "FIN_WAIT_2",
            "TIME_WAIT",
        ],
    );
}

#[test]
fn state_and_at_go_together() {
    assert_error(
        &with_base("[[expect]]\nconn = \"a\"\nstate = \"CLOSED\"\n"),
        10,
        9,
        Some("state"),
        &["`state` needs `at`"],
    );
    assert_error(
        &with_base("[[expect]]\nconn = \"a\"\nat = \"1s\"\n"),
        10,
        6,
        Some("at"),
        &["`at` needs `state`"],
    );
}

#[test]
fn expect_without_checks() {
    assert_error(
        &with_base("[[expect]]\nconn = \"*\"\n"),
        9,
        8,
        Some("conn"),
        &["checks nothing"],
    );
}

#[test]
fn top_level_limits() {
    assert_error(
        "max_events = 0\n",
        1,
        14,
        Some("max_events"),
        &["from 1 to 10000000000 events"],
    );
    assert_error(
        "duration = \"0s\"\n",
        1,
        12,
        Some("duration"),
        &["greater than 0"],
    );
}

#[test]
fn missing_file_names_the_path() {
    let e = match load_file(Path::new("/nonexistent/dir/sim.toml")) {
        Ok(_) => panic!("a missing file must be an error"),
        Err(e) => e,
    };
    assert_eq!(e.file, "/nonexistent/dir/sim.toml");
    let shown = e.to_string();
    assert!(
        shown.starts_with("error: /nonexistent/dir/sim.toml: cannot read"),
        "{shown}"
    );
}

// ---- injected segments, crashes, sends ------------------------------------------------

#[test]
fn bad_inject_seq_expression() {
    assert_error(
        &with_base("[[inject]]\nat = \"1s\"\nconn = \"b\"\nseq = \"rcv_next+1\"\n"),
        11,
        7,
        Some("seq"),
        &[
            "cannot read `seq` \"rcv_next+1\"",
            "rcv_nxt, snd_nxt, snd_una, iss, irs",
        ],
    );
    assert_error(
        &with_base("[[inject]]\nat = \"1s\"\nconn = \"b\"\nack = -1\n"),
        11,
        7,
        Some("ack"),
        &["from 0 to 4294967295, found -1", "\"rcv_nxt-1\""],
    );
}

#[test]
fn relative_seq_without_conn() {
    assert_error(
        &with_base(
            "[[inject]]\nat = \"1s\"\nsrc = \"a:1000\"\ndst = \"b:80\"\nack = \"rcv_nxt\"\n",
        ),
        12,
        7,
        Some("ack"),
        &[
            "\"rcv_nxt\" refers to a connection's variables",
            "add `conn`",
        ],
    );
}

#[test]
fn inject_without_endpoints() {
    assert_error(
        &with_base("[[inject]]\nat = \"1s\"\ndst = \"b:80\"\n"),
        9,
        6,
        Some("src"),
        &["needs `src`", "or `conn`"],
    );
    assert_error(
        &with_base("[[inject]]\nat = \"1s\"\nfrom = \"a\"\nsrc = \"a:5\"\n"),
        9,
        6,
        Some("dst"),
        &["needs `dst`"],
    );
    assert_error(
        &with_base("[[inject]]\nat = \"1s\"\nsrc = \"a\"\ndst = \"b:80\"\n"),
        10,
        7,
        Some("src"),
        &["`src` needs \"host:port\""],
    );
    assert_error(
        &with_base("[[inject]]\nat = \"1s\"\nconn = \"*\"\n"),
        10,
        8,
        Some("conn"),
        &["aims at one connection"],
    );
}

#[test]
fn crash_without_host() {
    assert_error(
        &with_base("[[fault]]\naction = \"crash\"\nstart = \"1s\"\n"),
        9,
        10,
        Some("host"),
        &["a `crash` fault needs the key `host`"],
    );
    assert_error(
        &with_base("[[fault]]\naction = \"crash\"\nhost = \"b\"\n"),
        9,
        10,
        Some("start"),
        &["a `crash` fault needs the key `start`"],
    );
    assert_error(
        &with_base(
            "[[fault]]\naction = \"crash\"\nhost = \"b\"\nstart = \"1s\"\nflags = \"SYN\"\n",
        ),
        12,
        9,
        Some("flags"),
        &["does not belong in a `crash` fault", "`host`"],
    );
}

#[test]
fn crash_on_a_router() {
    assert_error(
        &with_base(
            "[[router]]\nname = \"r\"\n[[fault]]\naction = \"crash\"\nhost = \"r\"\nstart = \"1s\"\n",
        ),
        12,
        8,
        Some("host"),
        &["`r`, which is a router", "routers run no TCP"],
    );
}

#[test]
fn count_without_sends() {
    assert_error(
        &with_base("[[expect]]\nconn = \"a\"\nreaches = \"ESTABLISHED\"\ncount = 2\n"),
        11,
        9,
        Some("count"),
        &["`count` only applies to `sends`"],
    );
    assert_error(
        &with_base("[[expect]]\nconn = \"a\"\nreaches = \"ESTABLISHED\"\nafter = \"1s\"\n"),
        11,
        9,
        Some("after"),
        &["`after` only applies to `sends`"],
    );
    assert_error(
        &with_base("[[expect]]\nconn = \"a\"\nsends = \"RST\"\nafter = \"2s\"\nbefore = \"1s\"\n"),
        12,
        10,
        Some("before"),
        &["`before` (1s) must be later than `after` (2s)"],
    );
    assert_error(
        &with_base("[[expect]]\nconn = \"a\"\nsends = \"RTS\"\n"),
        10,
        9,
        Some("sends"),
        &["unknown TCP flags \"RTS\""],
    );
}

#[test]
fn injects_crashes_and_sends_resolve() {
    let s = load_str(
        &with_base(
            r#"[[fault]]
action = "crash"
host = "b"
start = "1s"
end = "2s"
[[fault]]
action = "duplicate"
from = "a"
flags = "SYN"
delay = "30s"
[[inject]]
at = "3s"
conn = "b:80"
flags = "RST"
seq = "rcv_nxt+10"
[[inject]]
at = "4s"
from = "a"
src = "a:1000"
dst = "b:80"
flags = "SYN"
seq = 7
window = 100
len = 5
mss = 536
[[expect]]
conn = "a"
sends = "RST,ACK"
count = 1
after = "1s"
before = "5s"
corrupted = false
"#,
        ),
        "t",
    )
    .unwrap();
    assert!(matches!(
        s.faults[0].kind,
        FaultKind::Crash {
            host: 1,
            start,
            end: Some(end),
        } if (start, end) == (SECOND, 2 * SECOND)
    ));
    assert!(matches!(
        s.faults[1].kind,
        FaultKind::Segment {
            action: SegmentAction::Duplicate(d),
            ..
        } if d == 30 * SECOND
    ));
    assert_eq!(
        s.injects[0],
        Inject {
            at: 3 * SECOND,
            from: 1,
            target: Some(ConnSelector::HostPort(1, 80)),
            src: None,
            dst: None,
            flags: Flags::RST,
            seq: SeqExpr::Relative(SeqVar::RcvNxt, 10),
            ack: SeqExpr::Absolute(0),
            window: 65535,
            len: 0,
            mss: None,
        }
    );
    assert_eq!(
        s.injects[1],
        Inject {
            at: 4 * SECOND,
            from: 0,
            target: None,
            src: Some((0, 1000)),
            dst: Some((1, 80)),
            flags: Flags::SYN,
            seq: SeqExpr::Absolute(7),
            ack: SeqExpr::Absolute(0),
            window: 100,
            len: 5,
            mss: Some(536),
        }
    );
    assert_eq!(
        s.expects[0].checks,
        [
            Check::Sends {
                flags: Flags::parse("RST,ACK").unwrap(),
                count: Some(1),
                after: SECOND,
                before: 5 * SECOND,
            },
            Check::Corrupted(false)
        ]
    );
}

// ---- a valid scenario ---------------------------------------------------------------

const VALID: &str = r#"
duration = "10s"
seed = 7

[tcp]
mss = 536
rto_min = "200ms"

[[host]]
name = "client"

[[host]]
name = "server"
addr = "10.0.0.1"
[host.tcp]
window = 8192
rto_min = "300ms"

[[host]]
name = "other"

[[router]]
name = "r1"

[[link]]
a = "client"
b = "r1"
delay = "10ms"
loss = 0.01
rate = "10Mbps"
[link.b_to_a]
delay = "20ms"

[[link]]
a = "r1"
b = "server"
a_to_b = { queue = 5 }

[[link]]
a = "other"
b = "r1"

[[fault]]
action = "drop"
from = "client"
with_flags = "FIN"
nth = 1

[[fault]]
name = "cut"
action = "partition"
a = "server"
b = "r1"
direction = "a_to_b"
start = "1s"
end = "2s"

[[server]]
host = "server"
port = 80
reply = 1000
close = "after_reply"

[[client]]
host = "client"
connect = "server:80"
start = "100ms"
actions = ["send 500", "recv 1000", "wait 1.5ms", "recv_eof", "close"]

[[client]]
host = "other"
connect = "server:81"

[[expect]]
conn = "client"
reaches = "ESTABLISHED"
final = "time-wait"

[[expect]]
conn = "server:80"
state = "CLOSED"
at = "5s"
delivered = 500

[[expect]]
conn = "*"
never = "CLOSING"
"#;

#[test]
fn valid_scenario_resolves() {
    let s = load_str(VALID, "valid.toml").expect("valid scenario");
    assert_eq!(s.origin, "valid.toml");
    assert_eq!(
        (s.duration, s.seed, s.max_events),
        (Some(10 * SECOND), Some(7), 50_000_000)
    );

    // Nodes: hosts in order, then routers; addresses skip the explicit 10.0.0.1.
    let names: Vec<&str> = s.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["client", "server", "other", "r1"]);
    let host = |i: usize| match &s.nodes[i].kind {
        NodeKind::Host { addr, tcp } => (*addr, Config::clone(tcp)),
        NodeKind::Router => panic!("node {i} should be a host"),
    };
    assert_eq!(host(0).0, 0x0A00_0002);
    assert_eq!(host(1).0, 0x0A00_0001);
    assert_eq!(host(2).0, 0x0A00_0003);
    assert!(matches!(s.nodes[3].kind, NodeKind::Router));

    // TCP: defaults <- [tcp] <- [host.tcp], key by key.
    let global = Config {
        mss: 536,
        rto_min: 200 * MS,
        ..Config::default()
    };
    assert_eq!(host(0).1, global);
    assert_eq!(
        host(1).1,
        Config {
            window: 8192,
            window_is_sockopt: true,
            rto_min: 300 * MS,
            ..global.clone()
        }
    );

    // Links: defaults <- both <- per direction.
    let base = LinkParams {
        queue: 100,
        reorder_delay: 10 * MS,
        ..LinkParams::default()
    };
    let l0 = &s.links[0];
    assert_eq!((l0.a, l0.b), (0, 3));
    let both = LinkParams {
        delay: 10 * MS,
        loss: 0.01,
        rate_bps: Some(10_000_000),
        ..base.clone()
    };
    assert_eq!(*l0.a_to_b, both);
    assert_eq!(
        *l0.b_to_a,
        LinkParams {
            delay: 20 * MS,
            ..both
        }
    );
    assert_eq!(
        *s.links[1].a_to_b,
        LinkParams {
            queue: 5,
            ..base.clone()
        }
    );
    assert_eq!(*s.links[1].b_to_a, base);

    // Faults: default name, filter, and partition direction mapped onto the link's ends.
    assert_eq!(s.faults[0].name, "fault#1");
    match &s.faults[0].kind {
        FaultKind::Segment {
            action,
            filter,
            nth,
        } => {
            assert_eq!(*action, SegmentAction::Drop);
            assert_eq!(filter.from, Some(0));
            assert_eq!(filter.flags_all, Some(Flags::FIN));
            assert_eq!(*nth, Some(1));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(s.faults[1].name, "cut");
    match s.faults[1].kind {
        FaultKind::Partition {
            link,
            a_to_b,
            b_to_a,
            start,
            end,
        } => {
            // The fault's server→r1 is the link's b→a.
            assert_eq!((link, a_to_b, b_to_a), (1, false, true));
            assert_eq!((start, end), (SECOND, 2 * SECOND));
        }
        ref other => panic!("unexpected {other:?}"),
    }

    let server = &s.servers[0];
    assert_eq!(
        (server.host, server.port, server.backlog, server.reply),
        (1, 80, 128, 1000)
    );
    assert_eq!(server.close, ServerClose::AfterReply);

    let c = &s.clients[0];
    assert_eq!(
        (c.host, c.remote, c.remote_port, c.start),
        (0, 1, 80, 100 * MS)
    );
    assert_eq!(
        *c.actions,
        [
            Action::Send(500),
            Action::Recv(1000),
            Action::Wait(1_500_000),
            Action::RecvEof,
            Action::Close
        ]
    );
    // A port without a server is allowed: it demonstrates RST from a closed port.
    assert_eq!((s.clients[1].remote, s.clients[1].remote_port), (1, 81));
    assert_eq!(s.clients[1].start, 0);

    let e = &s.expects;
    assert_eq!(e[0].conn, ConnSelector::Host(0));
    assert_eq!(
        e[0].checks,
        [
            Check::Reaches(State::Established),
            Check::Final(State::TimeWait)
        ]
    );
    assert_eq!(e[1].conn, ConnSelector::HostPort(1, 80));
    assert_eq!(e[1].conn_text, "server:80");
    assert_eq!(
        e[1].checks,
        [
            Check::Delivered(500),
            Check::StateAt(State::Closed, 5 * SECOND)
        ]
    );
    assert_eq!(e[2].conn, ConnSelector::All);
    let line = VALID
        .lines()
        .position(|l| l == "conn = \"*\"")
        .map(|i| i + 1);
    assert_eq!(Some(e[2].line), line);
}

#[test]
fn single_host_needs_no_link() {
    let s = load_str("[[host]]\nname = \"solo\"\n", "<string>").expect("valid");
    assert_eq!(s.nodes.len(), 1);
    assert_eq!(s.max_events, 50_000_000);
}

// ---- no input makes the loader panic ----------------------------------------------------

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    /// Cuts `VALID` at char boundaries near `at` and splices `insert` in.
    fn splice(at: usize, len: usize, insert: &str) -> String {
        let chars: Vec<char> = VALID.chars().collect();
        let at = at % chars.len();
        let end = (at + len).min(chars.len());
        chars[..at]
            .iter()
            .chain(insert.chars().collect::<Vec<_>>().iter())
            .chain(chars[end..].iter())
            .collect()
    }

    proptest! {
        #[test]
        fn arbitrary_text(src in "\\PC*") {
            if let Err(e) = load_str(&src, "p.toml") {
                let _ = e.to_string();
            }
        }

        #[test]
        fn damaged_valid_scenario(at in 0usize..4000, len in 0usize..40, insert in "[\\PC\n]{0,12}") {
            let src = splice(at, len, &insert);
            if let Err(e) = load_str(&src, "p.toml") {
                prop_assert!(e.line >= 1, "{}", e);
                let _ = e.to_string();
            }
        }
    }
}

#[test]
fn documented_example_loads() {
    let doc = include_str!("../README.md");
    let example = doc
        .split("### Complete example")
        .nth(1)
        .and_then(|rest| rest.split("```toml\n").nth(1))
        .and_then(|rest| rest.split("```").next())
        .expect("the reference ends with a TOML example");
    if let Err(e) = load_str(example, "README.md") {
        panic!("{e}");
    }
}

// ---- groups ---------------------------------------------------------------------------

/// `BASE` plus a group "c" of `count` hosts in `subnet`, each linked to host b; lines 1-12.
fn with_group(count: u32, subnet: &str, extra: &str) -> String {
    with_base(&format!(
        "[[group]]\nname = \"c\"\ncount = {count}\nsubnet = \"{subnet}\"\nlink_to = \"b\"\n{extra}"
    ))
}

#[test]
fn group_subnet_too_small_or_malformed() {
    assert_error(
        &with_group(300, "10.1.0.0/24", ""),
        11,
        10,
        Some("subnet"),
        &[
            "subnet 10.1.0.0/24 has 254 usable addresses, too few for `count = 300`",
            "/23",
        ],
    );
    assert_error(
        &with_group(2, "10.1.0.0/33", ""),
        11,
        10,
        Some("subnet"),
        &["such as \"10.1.0.0/16\""],
    );
    assert_error(
        &with_group(2, "10.1.0.7/24", ""),
        11,
        10,
        Some("subnet"),
        &["host bits set: did you mean 10.1.0.0/24?"],
    );
    assert_error(
        &with_group(0, "10.1.0.0/24", ""),
        10,
        9,
        Some("count"),
        &["at least 1"],
    );
}

#[test]
fn group_subnet_overlaps() {
    // An explicit host's written address inside the group's subnet.
    let src = "[[host]]\nname = \"a\"\naddr = \"10.1.0.9\"\n[[host]]\nname = \"b\"\n[[link]]\na = \"a\"\nb = \"b\"\n[[group]]\nname = \"c\"\ncount = 2\nsubnet = \"10.1.0.0/24\"\nlink_to = \"b\"\n";
    assert_error(
        src,
        12,
        10,
        Some("subnet"),
        &["subnet 10.1.0.0/24 contains address 10.1.0.9 of host `a` (line 2)"],
    );
    // Two groups' subnets.
    assert_error(
        &with_group(
            2,
            "10.1.0.0/16",
            "[[group]]\nname = \"d\"\ncount = 2\nsubnet = \"10.1.4.0/24\"\nlink_to = \"b\"\n",
        ),
        16,
        10,
        Some("subnet"),
        &["subnet 10.1.4.0/24 overlaps subnet 10.1.0.0/16 of [[group]] `c` (line 11)"],
    );
}

#[test]
fn group_link_to_and_names() {
    assert_error(
        &with_base(
            "[[group]]\nname = \"c\"\ncount = 2\nsubnet = \"10.1.0.0/24\"\nlink_to = \"r9\"\n",
        ),
        12,
        11,
        Some("link_to"),
        &["`link_to` refers to `r9`, but there is no host or router named `r9`"],
    );
    // Group "a" would name its first host `a1`; an explicit host is called that.
    let src = "[[host]]\nname = \"a1\"\n[[group]]\nname = \"a\"\ncount = 2\nsubnet = \"10.1.0.0/24\"\nlink_to = \"a1\"\n";
    assert_error(
        src,
        4,
        8,
        Some("name"),
        &[
            "host 1 of [[group]] `a` would be named `a1`, which the node defined on line 2 already uses",
        ],
    );
    assert_error(
        &with_group(
            2,
            "10.1.0.0/24",
            "[[group]]\nname = \"c\"\ncount = 1\nsubnet = \"10.2.0.0/24\"\nlink_to = \"b\"\n",
        ),
        14,
        8,
        Some("name"),
        &["there is already a [[group]] named `c` (line 9)"],
    );
    assert_error(
        &with_group(2, "10.1.0.0/24", "[[link]]\na = \"c2\"\nb = \"b\"\n"),
        14,
        5,
        Some("a"),
        &["[[group]] `c` (line 9) already links each of its hosts to `b`"],
    );
    assert_error(
        &with_group(2, "10.1.0.0/24", "link = { delay = \"1ms\", los = 0.1 }\n"),
        13,
        25,
        Some("los"),
        &["unknown key `los`", "did you mean `loss`?"],
    );
}

#[test]
fn group_clients() {
    assert_error(
        &with_group(
            2,
            "10.1.0.0/24",
            "[[client]]\nhost = \"a\"\ngroup = \"c\"\nconnect = \"b:80\"\n",
        ),
        15,
        9,
        Some("group"),
        &["`host` and `group` are mutually exclusive"],
    );
    assert_error(
        &with_group(2, "10.1.0.0/24", "[[client]]\nconnect = \"b:80\"\n"),
        14,
        11,
        Some("host"),
        &["needs `host`", "or `group`"],
    );
    assert_error(
        &with_group(
            2,
            "10.1.0.0/24",
            "[[client]]\ngroup = \"d\"\nconnect = \"b:80\"\n",
        ),
        14,
        9,
        Some("group"),
        &["no [[group]] named `d`", "defined are `c`"],
    );
    assert_error(
        &with_group(
            2,
            "10.1.0.0/24",
            "[[client]]\ngroup = \"c\"\nconnect = \"b:80\"\nspread = \"1s\"\nspread_mode = \"poisson\"\n",
        ),
        17,
        15,
        Some("spread_mode"),
        &[
            "\"step\"",
            "\"uniform\"",
            "\"exponential\"",
            "found \"poisson\"",
        ],
    );
    assert_error(
        &with_group(
            2,
            "10.1.0.0/24",
            "[[client]]\ngroup = \"c\"\nconnect = \"b:80\"\nspread_mode = \"uniform\"\n",
        ),
        16,
        15,
        Some("spread_mode"),
        &["`spread_mode` needs `spread`"],
    );
    assert_error(
        &with_base("[[client]]\nhost = \"a\"\nconnect = \"b:80\"\nspread = \"1s\"\n"),
        11,
        10,
        Some("spread"),
        &["`spread` only applies to a client on a `group`"],
    );
}

#[test]
fn group_selectors_and_count_in_state() {
    assert_error(
        &with_group(
            2,
            "10.1.0.0/24",
            "[[expect]]\nconn = \"d*\"\nfinal = \"CLOSED\"\n",
        ),
        14,
        8,
        Some("conn"),
        &["no [[group]] named `d`"],
    );
    assert_error(
        &with_group(2, "10.1.0.0/24", "[[inject]]\nat = \"1s\"\nconn = \"c*\"\n"),
        15,
        8,
        Some("conn"),
        &["aims at one connection", "not \"c*\""],
    );
    assert_error(
        &with_group(
            2,
            "10.1.0.0/24",
            "[[expect]]\nconn = \"c*\"\ncount_in_state = \"TIME_WAIT\"\n",
        ),
        15,
        18,
        Some("count_in_state"),
        &["needs `min` and/or `max`"],
    );
    assert_error(
        &with_group(
            2,
            "10.1.0.0/24",
            "[[expect]]\nconn = \"c*\"\nfinal = \"CLOSED\"\nmax = 3\n",
        ),
        16,
        7,
        Some("max"),
        &["`max` only applies to `count_in_state`"],
    );
    assert_error(
        &with_group(
            2,
            "10.1.0.0/24",
            "[[expect]]\nconn = \"c*\"\ncount_in_state = \"TIME_WAIT\"\nmin = 3\nmax = 2\n",
        ),
        17,
        7,
        Some("max"),
        &["`max` (2) must not be less than `min` (3)"],
    );
    assert_error(
        &with_group(
            2,
            "10.1.0.0/24",
            "[[expect]]\nconn = \"c*\"\ncount_in_state = \"TIME-WAITING\"\nmax = 1\n",
        ),
        15,
        18,
        Some("count_in_state"),
        &["unknown TCP state"],
    );
    let sc = load_str(
        &with_group(
            2,
            "10.1.0.0/24",
            "[[expect]]\nconn = \"c*:80\"\ncount_in_state = \"time-wait\"\nat = \"30s\"\nmax = 1\n",
        ),
        "t.toml",
    )
    .unwrap();
    assert_eq!(
        sc.expects[0].conn,
        ConnSelector::Hosts {
            first: 2,
            end: 4,
            port: Some(80)
        }
    );
    assert_eq!(
        sc.expects[0].checks,
        [Check::CountInState {
            state: State::TimeWait,
            at: Some(30 * SECOND),
            min: None,
            max: Some(1)
        }]
    );
}
