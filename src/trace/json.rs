//! JSON lines: one object per event with `t_ns` and `kind`, per the output contract.

use serde_json::{Value, json};

use super::{AppEvent, Cause, Event, EventKind, Names, TimerEvent};

fn cause(n: &Names, c: Cause) -> String {
    match c {
        Cause::Loss => "loss".into(),
        Cause::QueueFull => "queue_full".into(),
        Cause::LinkDown(f) => format!("link_down:{}", n.fault(f)),
        Cause::Fault(f) => format!("fault:{}", n.fault(f)),
        Cause::Reorder => "reorder".into(),
        Cause::Duplication => "duplication".into(),
        Cause::NoRoute => "no_route".into(),
    }
}

fn app_name(what: AppEvent) -> (&'static str, Option<u64>) {
    match what {
        AppEvent::Listen { port } => ("listen", Some(port as u64)),
        AppEvent::Connect => ("connect", None),
        AppEvent::Accept => ("accept", None),
        AppEvent::Send { bytes } => ("send", Some(bytes)),
        AppEvent::Receive { bytes } => ("receive", Some(bytes as u64)),
        AppEvent::Eof => ("eof", None),
        AppEvent::Shutdown => ("shutdown", None),
        AppEvent::Close => ("close", None),
        AppEvent::Abort => ("abort", None),
        AppEvent::Refused => ("refused", None),
        AppEvent::Reset => ("reset", None),
        AppEvent::TimedOut => ("timed_out", None),
        AppEvent::PortUnavailable { port } => ("port_unavailable", Some(port as u64)),
        AppEvent::BacklogFull { port } => ("backlog_full", Some(port as u64)),
    }
}

/// The event as a JSON value (serialize with `to_string` for one line).
pub fn event(n: &Names, e: &Event) -> Value {
    let mut v = match e.kind {
        EventKind::Segment {
            seg,
            from,
            to,
            fate,
        } => json!({
            "kind": "segment",
            "src": n.endpoint(seg.src),
            "dst": n.endpoint(seg.dst),
            "flags": seg.flags.long_names(),
            "seq": seg.seq.0,
            "ack": seg.ack.0,
            "len": seg.len,
            "win": seg.wnd,
            "mss": seg.mss,
            "link": n.link(from, to),
            "fate": fate.word(),
            "dropped_by": fate.dropped.map(|c| cause(n, c)),
            "duplicated_by": fate.duplicated.map(|c| cause(n, c)),
            "delayed_ns": fate.delayed.map(|(d, _)| d),
            "delayed_by": fate.delayed.map(|(_, c)| cause(n, c)),
        }),
        EventKind::State { conn, from, to } => json!({
            "kind": "state",
            "host": n.node(conn.host),
            "conn": n.endpoint(conn.local),
            "peer": n.endpoint(conn.remote),
            "from": from.name(),
            "to": to.name(),
        }),
        EventKind::Timer { conn, timer } => {
            let (name, attempt, rto) = match timer {
                TimerEvent::Retransmit { attempt, rto } => ("retransmit", Some(attempt), Some(rto)),
                TimerEvent::TimeWaitExpired => ("time_wait_expired", None, None),
                TimerEvent::TimeWaitRestart => ("time_wait_restart", None, None),
            };
            json!({
                "kind": "timer",
                "host": n.node(conn.host),
                "conn": n.endpoint(conn.local),
                "timer": name,
                "attempt": attempt,
                "rto_ns": rto,
            })
        }
        EventKind::App { host, conn, what } => {
            let (name, value) = app_name(what);
            json!({
                "kind": "app",
                "host": n.node(host),
                "conn": conn.map(|c| n.endpoint(c.local)),
                "peer": conn.map(|c| n.endpoint(c.remote)),
                "event": name,
                "value": value,
            })
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
    };
    v["t_ns"] = json!(e.t);
    v
}
