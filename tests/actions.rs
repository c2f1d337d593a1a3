//! Application calls in every state (RFC 9293 §3.10.2–3.10.5): timed steps
//! ("at DUR: ACTION") of clients and servers run whatever state the connection is in,
//! timed from the moment the application opened it; `read = "manual"` servers read only
//! when told to.

use tcpsim::scenario::load_str;
use tcpsim::scenario::model::Call;
use tcpsim::sim::ConnRecord;
use tcpsim::tcp::{Flags, SECOND, Segment, State};
use tcpsim::trace::{AppEvent, CallError, EventKind, Names};

const MS: u64 = 1_000_000;
/// Node ids in every scenario below.
const CLIENT: u32 = 0;
const SERVER: u32 = 1;

/// A client and a server 10 ms apart; tests append servers, clients and faults.
const BASE: &str = r#"
[tcp]
msl = "1s"
[[host]]
name = "client"
[[host]]
name = "server"
[[link]]
a = "client"
b = "server"
delay = "10ms"
"#;

fn run(extra: &str) -> tcpsim::Run {
    let sc = load_str(&format!("{BASE}{extra}"), "actions.toml").unwrap_or_else(|e| panic!("{e}"));
    tcpsim::transcript(&sc, 42)
}

/// The segments `host` sent, with their times.
fn sent_by(run: &tcpsim::Run, host: u32) -> Vec<(u64, Segment)> {
    (run.events.iter())
        .filter_map(|e| match e.kind {
            EventKind::Segment { seg, from, .. } if from == host => Some((e.t, seg)),
            _ => None,
        })
        .collect()
}

/// What the applications on `host` did or were told, with the times.
fn app_events(run: &tcpsim::Run, host: u32) -> Vec<(u64, AppEvent)> {
    (run.events.iter())
        .filter_map(|e| match e.kind {
            EventKind::App { host: h, what, .. } if h == host => Some((e.t, what)),
            _ => None,
        })
        .collect()
}

/// The connections of `host`, in creation order.
fn conns(run: &tcpsim::Run, host: u32) -> Vec<&ConnRecord> {
    let all = &run.report.outcome.conns;
    all.iter().filter(|c| c.host == host).collect()
}

fn states(c: &ConnRecord) -> Vec<State> {
    c.history.iter().map(|&(_, s)| s).collect()
}

/// When `c` first entered `state`.
fn entered(c: &ConnRecord, state: State) -> u64 {
    let at = c.history.iter().find(|&&(_, s)| s == state);
    at.unwrap_or_else(|| panic!("never entered {state}: {:?}", c.history))
        .0
}

#[track_caller]
fn assert_passed(run: &tcpsim::Run) {
    assert!(
        run.report.passed(),
        "{:?}\n{}",
        run.report.failures(),
        run.text
    );
}

const SERVER_80: &str = "[[server]]\nhost = \"server\"\nport = 80\n";

// ---- clients before the handshake completes ------------------------------------------

#[test]
fn close_at_0_while_the_syn_is_lost_deletes_the_tcb_and_sends_nothing_more() {
    let run = run(&format!(
        r#"{SERVER_80}
[[client]]
host = "client"
connect = "server:80"
actions = ["at 0: close", "send 100"]
[[fault]]
action = "drop"
from = "client"
flags = "SYN"
[[expect]]
conn = "client"
final = "CLOSED"
never = "ESTABLISHED"
[[expect]]
conn = "client"
sends = "SYN"
count = 1
"#
    ));
    assert_passed(&run);
    let client = conns(&run, CLIENT);
    assert_eq!(states(client[0]), [State::SynSent, State::Closed]);
    assert_eq!(client[0].history[1].0, 0, "closed at once, at the open");
    // The SYN and nothing after it: no FIN, no retransmitted SYN, no data.
    let sent = sent_by(&run, CLIENT);
    assert_eq!(sent.len(), 1, "{}", run.text);
    assert_eq!(sent[0].1.flags, Flags::SYN);
    let calls: Vec<AppEvent> = app_events(&run, CLIENT).into_iter().map(|e| e.1).collect();
    assert_eq!(calls, [AppEvent::Connect, AppEvent::Close]);
    assert!(conns(&run, SERVER).is_empty());
}

#[test]
fn close_at_0_when_the_syn_ack_is_lost_sends_nothing_after_the_syn() {
    let run = run(&format!(
        r#"{SERVER_80}
[[client]]
host = "client"
connect = "server:80"
actions = ["at 0: close"]
[[fault]]
action = "drop"
from = "server"
flags = "SYN,ACK"
"#
    ));
    let client = conns(&run, CLIENT);
    assert_eq!(states(client[0]), [State::SynSent, State::Closed]);
    let sent = sent_by(&run, CLIENT);
    assert_eq!(sent.len(), 1, "only the SYN:\n{}", run.text);
    assert!(run.text.contains("SYN_SENT -> CLOSED"));
    // The server never gets an ACK: it retransmits its SYN,ACK until it gives up.
    let server = conns(&run, SERVER);
    assert_eq!(server[0].final_state(), State::Closed);
    assert!(server[0].stats.retransmits > 0);
}

#[test]
fn abort_in_syn_sent_sends_no_rst() {
    let run = run(&format!(
        r#"{SERVER_80}
[[client]]
host = "client"
connect = "server:80"
start = "1s"
actions = ["at 300ms: abort"]
[[fault]]
action = "drop"
from = "client"
flags = "SYN"
[[expect]]
conn = "client"
sends = "RST"
count = 0
[[expect]]
conn = "client"
state = "SYN_SENT"
at = "1299ms"
[[expect]]
conn = "client"
state = "CLOSED"
at = "1300ms"
"#
    ));
    assert_passed(&run);
    assert_eq!(
        app_events(&run, CLIENT).last(),
        Some(&(1300 * MS, AppEvent::Abort { rst: false }))
    );
    assert!(
        run.text
            .contains("app: abort: delete the TCB, nothing sent")
    );
    // Aborted before the SYN's 1 s retransmission timer: the lost SYN is all it sent.
    assert_eq!(sent_by(&run, CLIENT).len(), 1, "{}", run.text);
}

#[test]
fn timed_send_before_established_is_queued_and_sent_after_the_handshake() {
    let run = run(&format!(
        r#"{SERVER_80}
[[client]]
host = "client"
connect = "server:80"
actions = ["at 0: send 300", "at 5ms: send 200", "at 2s: close"]
[[fault]]
action = "drop"
from = "server"
flags = "SYN,ACK"
nth = 1
[[expect]]
conn = "server"
delivered = 500
[[expect]]
conn = "client"
state = "SYN_SENT"
at = "5ms"
"#
    ));
    assert_passed(&run);
    let sends: Vec<(u64, AppEvent)> = app_events(&run, CLIENT)
        .into_iter()
        .filter(|(_, e)| matches!(e, AppEvent::Send { .. }))
        .collect();
    assert_eq!(
        sends,
        [
            (0, AppEvent::Send { bytes: 300 }),
            (5 * MS, AppEvent::Send { bytes: 200 })
        ]
    );
    let established = entered(conns(&run, CLIENT)[0], State::Established);
    assert!(established > SECOND, "the SYN,ACK was lost: {established}");
    let first_data = sent_by(&run, CLIENT).into_iter().find(|(_, s)| s.len > 0);
    assert!(
        first_data.is_some_and(|(t, _)| t >= established),
        "{}",
        run.text
    );
}

#[test]
fn timed_steps_run_independently_of_the_untimed_script() {
    // The script waits for bytes that never come; the timed close still happens.
    let run = run(&format!(
        r#"{SERVER_80}
[[client]]
host = "client"
connect = "server:80"
actions = ["recv 1", "send 10", "at 100ms: close"]
"#
    ));
    let client = conns(&run, CLIENT)[0];
    assert_eq!(entered(client, State::FinWait1), 100 * MS);
    assert!(
        !app_events(&run, CLIENT)
            .iter()
            .any(|(_, e)| matches!(e, AppEvent::Send { .. }))
    );
}

// ---- servers -------------------------------------------------------------------------

/// A client that reads to the FIN and closes, and the server's first SYN,ACK lost; the
/// server's `[[server]]` table comes first.
const LOST_SYN_ACK: &str = r#"
[[client]]
host = "client"
connect = "server:80"
actions = ["recv_eof", "close"]
[[fault]]
action = "drop"
from = "server"
flags = "SYN,ACK"
nth = 1
"#;

/// When `host` sent a FIN.
fn fins_sent(run: &tcpsim::Run, host: u32) -> Vec<u64> {
    (sent_by(run, host).into_iter())
        .filter(|(_, s)| s.has(Flags::FIN))
        .map(|(t, _)| t)
        .collect()
}

#[test]
fn server_close_in_syn_received_sends_its_fin_at_once() {
    // RFC 9293 §3.10.4 SYN-RECEIVED: nothing was sent, so "form a FIN segment and send
    // it, and enter FIN-WAIT-1 state".
    let run = run(&format!(
        r#"{SERVER_80}actions = ["at 50ms: close"]
{LOST_SYN_ACK}
[[expect]]
conn = "server"
state = "FIN_WAIT_1"
at = "100ms"
[[expect]]
conn = "server"
final = "CLOSED"
"#
    ));
    assert_passed(&run);
    let server = conns(&run, SERVER)[0];
    // DUR counts from the SYN that created the connection (at 10 ms).
    assert_eq!(entered(server, State::SynReceived), 10 * MS);
    let close = app_events(&run, SERVER)
        .into_iter()
        .find(|(_, e)| *e == AppEvent::Close);
    assert_eq!(close, Some((60 * MS, AppEvent::Close)));
    assert_eq!(entered(server, State::FinWait1), 60 * MS);
    let fins = fins_sent(&run, SERVER);
    assert_eq!(fins.len(), 2, "{}", run.text);
    assert_eq!(fins[0], 60 * MS, "at once, before the handshake completes");
    assert!(fins[1] > SECOND, "again, once the SYN,ACK got through");
    // The passive close does not close a second time when the client's FIN arrives.
    let closes = app_events(&run, SERVER)
        .iter()
        .filter(|(_, e)| *e == AppEvent::Close)
        .count();
    assert_eq!(closes, 1);
}

#[test]
fn server_close_in_syn_received_after_a_send_waits_for_the_handshake() {
    // "...otherwise, queue for processing after entering ESTABLISHED state."
    let run = run(&format!(
        r#"{SERVER_80}actions = ["at 40ms: send 10", "at 50ms: close"]
{LOST_SYN_ACK}"#
    ));
    let server = conns(&run, SERVER)[0];
    let established = entered(server, State::Established);
    assert!(established > SECOND);
    assert_eq!(entered(server, State::FinWait1), established);
    assert_eq!(fins_sent(&run, SERVER), [established], "{}", run.text);
}

#[test]
fn server_abort_in_established_sends_rst() {
    let run = run(r#"
[[server]]
host = "server"
port = 80
actions = ["at 100ms: abort"]
[[client]]
host = "client"
connect = "server:80"
actions = ["send 100"]
[[expect]]
conn = "server"
sends = "RST"
count = 1
after = "110ms"
before = "111ms"
final = "CLOSED"
[[expect]]
conn = "client"
reaches = "ESTABLISHED"
final = "CLOSED"
never = "TIME_WAIT"
"#);
    assert_passed(&run);
    assert!(
        app_events(&run, SERVER).contains(&(110 * MS, AppEvent::Abort { rst: true })),
        "{}",
        run.text
    );
    assert!(app_events(&run, CLIENT).contains(&(120 * MS, AppEvent::Reset)));
}

#[test]
fn manual_reader_window_closes_and_reopens_at_its_timed_read() {
    let run = run(r#"
[[host]]
name = "reader"
tcp = { window = 5840 }
[[link]]
a = "client"
b = "reader"
delay = "10ms"
[[server]]
host = "reader"
port = 80
read = "manual"
actions = ["at 2s: read", "at 3s: read", "at 4s: read", "at 5s: read", "at 6s: read"]
[[client]]
host = "client"
connect = "reader:80"
actions = ["send 15000", "close"]
[[expect]]
conn = "reader"
delivered = 15000
final = "CLOSED"
"#);
    assert_passed(&run);
    const READER: u32 = 2;
    let opened = entered(conns(&run, READER)[0], State::SynReceived);
    let first_read = 2 * SECOND + opened;
    let reads: Vec<(u64, AppEvent)> = app_events(&run, READER)
        .into_iter()
        .filter(|(_, e)| matches!(e, AppEvent::Read { .. }))
        .collect();
    assert_eq!(reads[0], (first_read, AppEvent::Read { bytes: 5840 }));
    let acks = sent_by(&run, READER);
    let closed_at = acks.iter().find(|(_, s)| s.wnd == 0).map(|&(t, _)| t);
    assert!(closed_at.is_some_and(|t| t < SECOND), "{}", run.text);
    // Closed until the read, open right after it.
    assert!(
        acks.iter()
            .filter(|&&(t, _)| t > closed_at.unwrap_or(0) && t < first_read)
            .all(|(_, s)| s.wnd == 0),
        "{}",
        run.text
    );
    let after = acks.iter().find(|&&(t, _)| t >= first_read);
    assert_eq!(after.map(|&(t, s)| (t, s.wnd)), Some((first_read, 5840)));
    // peer_close: the reader closes once it has read up to the FIN, at one of its reads.
    let close = app_events(&run, READER)
        .into_iter()
        .find(|(_, e)| *e == AppEvent::Close);
    assert!(close.is_some_and(|(t, _)| reads.iter().any(|&(r, _)| r == t)));
}

#[test]
fn read_n_takes_at_most_n_bytes() {
    let run = run(r#"
[[server]]
host = "server"
port = 80
read = "manual"
actions = ["at 1s: read 300", "at 2s: read", "at 3s: read"]
[[client]]
host = "client"
connect = "server:80"
actions = ["send 1000", "close"]
"#);
    let reads: Vec<(u64, AppEvent)> = (app_events(&run, SERVER).into_iter())
        .filter(|(_, e)| matches!(e, AppEvent::Read { .. } | AppEvent::Skipped { .. }))
        .collect();
    // The last read comes after the passive close (at the second read) ended the
    // connection: DUR counts from the SYN, at 10 ms.
    assert_eq!(
        reads,
        [
            (SECOND + 10 * MS, AppEvent::Read { bytes: 300 }),
            (2 * SECOND + 10 * MS, AppEvent::Read { bytes: 700 }),
            (
                3 * SECOND + 10 * MS,
                AppEvent::Skipped {
                    call: Call::Read(None),
                    error: CallError::NoConnection
                }
            )
        ],
        "{}",
        run.text
    );
}

// ---- order, missing connections, TIME_WAIT -----------------------------------------

#[test]
fn same_time_steps_run_in_written_order() {
    let calls = |actions: &str| -> Vec<AppEvent> {
        let run = run(&format!(
            r#"
[[server]]
host = "server"
port = 80
actions = {actions}
[[client]]
host = "client"
connect = "server:80"
actions = ["recv_eof", "close"]
"#
        ));
        (app_events(&run, SERVER).into_iter())
            .filter(|&(t, _)| t == 110 * MS)
            .map(|(_, e)| e)
            .collect()
    };
    let closing = |call| AppEvent::Skipped {
        call,
        error: CallError::Closing,
    };
    assert_eq!(
        calls(r#"["at 100ms: send 10", "at 100ms: shutdown", "at 100ms: send 5"]"#),
        [
            AppEvent::Send { bytes: 10 },
            AppEvent::Shutdown,
            closing(Call::Send(5))
        ]
    );
    assert_eq!(
        calls(r#"["at 100ms: shutdown", "at 100ms: send 10", "at 100ms: close"]"#),
        [
            AppEvent::Shutdown,
            closing(Call::Send(10)),
            closing(Call::Close)
        ]
    );
}

#[test]
fn time_wait_abort_deletes_the_tcb_and_close_is_an_error() {
    // The client closes first and sits in TIME_WAIT (2 s) from about 40 ms.
    let run = run(&format!(
        r#"{SERVER_80}
[[client]]
host = "client"
connect = "server:80"
actions = ["close", "at 500ms: close", "at 500ms: send 1", "at 1s: abort", "at 1s: abort"]
"#
    ));
    let client = conns(&run, CLIENT)[0];
    assert_eq!(client.state_at(999 * MS), State::TimeWait);
    assert_eq!(client.history.last(), Some(&(SECOND, State::Closed)));
    let late: Vec<AppEvent> = (app_events(&run, CLIENT).into_iter())
        .filter(|&(t, _)| t >= 500 * MS)
        .map(|(_, e)| e)
        .collect();
    let skipped = |call, error| AppEvent::Skipped { call, error };
    assert_eq!(
        late,
        [
            skipped(Call::Close, CallError::Closing),
            skipped(Call::Send(1), CallError::Closing),
            AppEvent::Abort { rst: false },
            skipped(Call::Abort, CallError::NoConnection),
        ]
    );
    assert!(
        run.text
            .contains("skipped \"close\": error: connection closing")
    );
    assert!(run.text.contains("skipped \"abort\": no connection"));
    // Deleted, not expired: no segment, no TIME_WAIT expiry.
    assert!(sent_by(&run, CLIENT).iter().all(|&(t, _)| t < 500 * MS));
    assert!(!run.text.contains("TIME_WAIT expired"));
}

#[test]
fn steps_of_a_crashed_or_unopened_connection_report_no_connection() {
    let run = run(&format!(
        r#"{SERVER_80}
[[client]]
host = "client"
connect = "server:80"
local_port = 5000
actions = ["at 2s: send 10"]
[[client]]
host = "client"
connect = "server:80"
local_port = 5000
start = "10ms"
actions = ["at 1s: close"]
[[fault]]
action = "crash"
host = "client"
start = "1500ms"
"#
    ));
    let events = app_events(&run, CLIENT);
    // The second client finds its port taken: no connection, at 10 ms + 1 s.
    assert!(events.contains(&(10 * MS, AppEvent::PortUnavailable { port: 5000 })));
    assert!(events.contains(&(
        1010 * MS,
        AppEvent::Skipped {
            call: Call::Close,
            error: CallError::NoConnection
        }
    )));
    // The first one's host crashed at 1.5 s.
    assert!(events.contains(&(
        2 * SECOND,
        AppEvent::Skipped {
            call: Call::Send(10),
            error: CallError::NoConnection
        }
    )));
    assert!(
        run.text
            .contains("client app: skipped \"close\": no connection")
    );
    assert!(
        run.text
            .contains("client:5000 app: skipped \"send 10\": no connection")
    );
}

#[test]
fn group_clients_time_their_steps_from_their_own_start() {
    let sc = load_str(
        r#"
[[host]]
name = "server"
[[router]]
name = "r"
[[link]]
a = "server"
b = "r"
delay = "1ms"
[[group]]
name = "c"
count = 5
subnet = "10.1.0.0/24"
link_to = "r"
link = { delay = "2ms" }
[[server]]
host = "server"
port = 80
[[client]]
group = "c"
connect = "server:80"
spread = "1s"
spread_mode = "uniform"
actions = ["at 250ms: close"]
"#,
        "group.toml",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let run = tcpsim::transcript(&sc, 7);
    let mut connects = std::collections::HashMap::new();
    let mut checked = 0;
    for e in &run.events {
        match e.kind {
            EventKind::App {
                host,
                what: AppEvent::Connect,
                ..
            } => {
                connects.insert(host, e.t);
            }
            // The server's passive closes are not the clients' timed ones.
            EventKind::App {
                host,
                what: AppEvent::Close,
                ..
            } if connects.contains_key(&host) => {
                assert_eq!(e.t, connects[&host] + 250 * MS);
                checked += 1;
            }
            _ => {}
        }
    }
    assert_eq!(checked, 5, "{}", run.text);
}

// ---- determinism and JSON ------------------------------------------------------------

const LOSSY: &str = r#"
[[link]]
a = "client"
b = "far"
delay = "20ms"
loss = 0.2
[[host]]
name = "far"
[[server]]
host = "far"
port = 80
read = "manual"
actions = ["at 1s: read", "at 30ms: send 500", "at 2s: shutdown", "at 4s: read"]
[[client]]
host = "client"
connect = "far:80"
actions = ["send 3000", "at 10ms: send 100", "recv 500", "at 3s: shutdown", "at 9s: abort"]
"#;

#[test]
fn same_seed_same_transcript() {
    let sc = load_str(&format!("{BASE}{LOSSY}"), "lossy.toml").unwrap_or_else(|e| panic!("{e}"));
    for seed in [1, 2, 42] {
        let (a, b) = (tcpsim::transcript(&sc, seed), tcpsim::transcript(&sc, seed));
        assert_eq!(a.text, b.text, "seed {seed}");
        assert_eq!(a.events, b.events, "seed {seed}");
    }
}

#[test]
fn skipped_calls_keep_the_json_contract() {
    let sc = load_str(
        &format!(
            r#"{BASE}{SERVER_80}
[[client]]
host = "client"
connect = "server:80"
actions = ["at 0: close", "at 1s: send 7"]
"#
        ),
        "json.toml",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let run = tcpsim::transcript(&sc, 42);
    let names = Names::new(&sc);
    let skipped: Vec<serde_json::Value> = (run.events.iter())
        .map(|e| tcpsim::trace::json::event(&names, e))
        .filter(|v| v["event"] == "skipped")
        .collect();
    assert_eq!(skipped.len(), 1, "{}", run.text);
    let v = &skipped[0];
    assert_eq!(v["kind"], "app");
    assert_eq!(v["t_ns"], SECOND);
    assert_eq!(v["host"], "client");
    assert_eq!(v["conn"], "client:49152");
    assert_eq!(v["call"], "send");
    assert_eq!(v["value"], 7);
    assert_eq!(v["error"], "no_connection");
}

/// `app_after_softirq` (the linux profile's): a server sees a burst of segments that
/// arrive at one instant (the initial window: two) only after the TCP has taken all of
/// them, so the ACKs of the burst (quick ACKs at the start of a connection) go before its
/// reply, as on Linux; off, it replies to the first segment, and the reply carries that
/// segment's ACK.
#[test]
fn the_application_acts_after_the_segments_of_an_instant() {
    let scenario = |after: bool| {
        format!(
            r#"
[host.tcp]
ack_policy = "linux"
app_after_softirq = {after}
[[server]]
host = "server"
port = 80
reply = 1000
[[client]]
host = "client"
connect = "server:80"
actions = ["send 4000", "recv 1000", "close"]
"#
        )
    };
    for (after, acks_before_reply) in [(true, 2), (false, 1)] {
        let r = run(&scenario(after));
        let server = sent_by(&r, SERVER);
        let first_data = server.iter().position(|(_, s)| s.len > 0).expect("a reply");
        let acks = server[..first_data]
            .iter()
            .filter(|(_, s)| s.flags == Flags::ACK)
            .count();
        assert_eq!(
            acks, acks_before_reply,
            "app_after_softirq = {after}: {server:#?}"
        );
    }
}
