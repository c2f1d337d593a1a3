//! JSON lines: one object per event with `t_ns` and `kind`, per the output contract.

use serde_json::{Value, json};

use super::{AppEvent, CallError, Cause, Event, EventKind, Names, TcpNote};
use crate::tcp::{Phase, Segment};

fn cause(n: &Names, c: Cause) -> String {
    match c {
        Cause::Loss => "loss".into(),
        Cause::QueueFull => "queue_full".into(),
        Cause::LinkDown(f) => format!("link_down:{}", n.fault(f)),
        Cause::Fault(f) => format!("fault:{}", n.fault(f)),
        Cause::Reorder => "reorder".into(),
        Cause::Duplication => "duplication".into(),
        Cause::NoRoute => "no_route".into(),
        Cause::HostDown(f) => format!("host_down:{}", n.fault(f)),
    }
}

fn app_name(what: AppEvent) -> (&'static str, Option<u64>) {
    match what {
        AppEvent::Listen { port } => ("listen", Some(port as u64)),
        AppEvent::Connect => ("connect", None),
        AppEvent::Accept => ("accept", None),
        AppEvent::Send { bytes } => ("send", Some(bytes)),
        AppEvent::Receive { bytes } => ("receive", Some(bytes as u64)),
        AppEvent::Read { bytes } => ("read", Some(bytes)),
        AppEvent::Eof => ("eof", None),
        AppEvent::Shutdown => ("shutdown", None),
        AppEvent::Close => ("close", None),
        AppEvent::Abort { .. } => ("abort", None),
        AppEvent::Skipped { call, .. } => ("skipped", call.bytes()),
        AppEvent::Refused => ("refused", None),
        AppEvent::Reset => ("reset", None),
        AppEvent::TimedOut => ("timed_out", None),
        AppEvent::PortUnavailable { port } => ("port_unavailable", Some(port as u64)),
        AppEvent::BacklogFull { port } => ("backlog_full", Some(port as u64)),
    }
}

/// The header fields of a segment, under `kind`; `sack` (absolute [left, right] pairs,
/// a D-SACK first) only when the segment carries blocks.
fn segment(n: &Names, seg: &Segment, kind: &str) -> Value {
    let mut v = header(n, seg, kind);
    if !seg.sack.is_empty() {
        let blocks: Vec<[u32; 2]> = seg.sack.iter().map(|(l, r)| [l.0, r.0]).collect();
        v["sack"] = json!(blocks);
    }
    v
}

fn header(n: &Names, seg: &Segment, kind: &str) -> Value {
    json!({
        "kind": kind,
        "src": n.endpoint(seg.src),
        "dst": n.endpoint(seg.dst),
        "flags": seg.flags.long_names(),
        "seq": seg.seq.0,
        "ack": seg.ack.0,
        "len": seg.len,
        "win": seg.wnd,
        "mss": seg.mss,
    })
}

/// The event as a JSON value (serialize with `to_string` for one line).
pub fn event(n: &Names, e: &Event) -> Value {
    let mut v = match e.kind {
        EventKind::Segment {
            seg,
            from,
            to,
            fate,
        } => {
            let mut v = segment(n, &seg, "segment");
            v["link"] = json!(n.link(from, to));
            v["hop"] = json!(n.hop(&seg, from, to, &fate));
            v["fate"] = json!(fate.word());
            v["dropped_by"] = json!(fate.dropped.map(|c| cause(n, c)));
            v["duplicated_by"] = json!(fate.duplicated.map(|c| cause(n, c)));
            v["delayed_ns"] = json!(fate.delayed.map(|(d, _)| d));
            v["delayed_by"] = json!(fate.delayed.map(|(_, c)| cause(n, c)));
            v
        }
        EventKind::State { conn, from, to, .. } => json!({
            "kind": "state",
            "host": n.node(conn.host),
            "conn": n.endpoint(conn.local),
            "peer": n.endpoint(conn.remote),
            "from": from.name(),
            "to": to.name(),
        }),
        EventKind::Tcp { conn, note } => {
            let mut v = json!({
                "kind": if note.is_timer() { "timer" } else { "tcp" },
                "host": n.node(conn.host),
                "conn": n.endpoint(conn.local),
            });
            let name = match note {
                TcpNote::Retransmit { attempt, rto } => {
                    v["attempt"] = json!(attempt);
                    v["rto_ns"] = json!(rto);
                    "retransmit"
                }
                TcpNote::TimeWaitExpired => "time_wait_expired",
                TcpNote::FinWait2Timeout => "fin_wait_2_timeout",
                TcpNote::TimeWaitRestart { .. } => "time_wait_restart",
                TcpNote::ResetInState(state) => {
                    v["state"] = json!(state.name());
                    "reset_quietly"
                }
                TcpNote::PawsRejected => "paws_rejected",
                TcpNote::ChallengeAck { suppressed } => {
                    v["suppressed"] = json!(suppressed);
                    "challenge_ack"
                }
                TcpNote::RstIgnored => "rst_ignored",
                TcpNote::Reopened => "reopened",
                TcpNote::TimeWaitReused => "time_wait_reused",
                TcpNote::Congestion {
                    phase,
                    cwnd,
                    ssthresh,
                } => {
                    v["cwnd"] = json!(cwnd);
                    v["ssthresh"] = json!(ssthresh);
                    match phase {
                        Phase::FastRetransmit => "fast_retransmit",
                        Phase::RecoveryEnd => "recovery_end",
                        Phase::RackRecovery => "rack_recovery",
                        Phase::Timeout => "cwnd_timeout",
                        Phase::IdleRestart => "idle_restart",
                    }
                }
                TcpNote::WindowProbe { .. } => "window_probe",
            };
            v[if note.is_timer() { "timer" } else { "note" }] = json!(name);
            v
        }
        EventKind::App { host, conn, what } => {
            let (name, value) = app_name(what);
            let mut v = json!({
                "kind": "app",
                "host": n.node(host),
                "conn": conn.map(|c| n.endpoint(c.local)),
                "peer": conn.map(|c| n.endpoint(c.remote)),
                "event": name,
                "value": value,
            });
            if let AppEvent::Skipped { call, error } = what {
                v["call"] = json!(call.verb());
                v["error"] = json!(match error {
                    CallError::NoConnection => "no_connection",
                    CallError::Closing => "connection_closing",
                });
            }
            v
        }
        EventKind::Link {
            from,
            to,
            up,
            fault,
        } => json!({
            "kind": "link",
            "link": n.link(from, to),
            "up": up,
            "fault": n.fault(fault),
        }),
        EventKind::Integrity { conn, offset, len } => json!({
            "kind": "integrity",
            "host": n.node(conn.host),
            "conn": n.endpoint(conn.local),
            "peer": n.endpoint(conn.remote),
            "offset": offset,
            "len": len,
        }),
        EventKind::Budget { limit } => json!({ "kind": "budget", "limit": limit }),
        EventKind::Host { host, up, fault } => json!({
            "kind": "host", "host": n.node(host), "up": up, "fault": n.fault(fault),
        }),
        EventKind::Inject { index, seg, from } => {
            let mut v = match seg {
                Some(seg) => segment(n, &seg, "inject"),
                None => json!({ "kind": "inject", "sent": false }),
            };
            v["index"] = json!(index + 1);
            v["from"] = json!(n.node(from));
            v
        }
        EventKind::Invariant { conn, what } => json!({
            "kind": "invariant", "conn": n.endpoint(conn.local), "peer": n.endpoint(conn.remote),
            "what": match what { crate::trace::Invariant::DuplicateFourTuple => "duplicate_four_tuple" },
        }),
    };
    v["t_ns"] = json!(e.t);
    if let Some((rule, source)) = super::text::why(&e.kind) {
        v["why"] = json!(format!("{rule} ({source})"));
    }
    v
}
