//! JSON lines: one object per event with `t_ns` and `kind`, per the output contract.
//!
//! [`write_event`] formats a line straight into a reused buffer through
//! [`super::jsonw`]; [`event`] parses that line back into a `serde_json::Value` for the
//! callers that want to look inside it.

use std::fmt;

use serde_json::Value;

use super::jsonw::{Object, Val};
use super::{AppEvent, CallError, Cause, Event, EventKind, Names, TcpNote};
use crate::tcp::{Phase, SackBlocks};

/// A cause in the contract's words: "loss", "link_down:<fault>", ...
struct CauseWord<'a>(&'a Names, Cause);

impl fmt::Display for CauseWord<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        match self.1 {
            Cause::Loss => f.write_str("loss"),
            Cause::QueueFull => f.write_str("queue_full"),
            Cause::LinkDown(x) => write!(f, "link_down:{}", n.fault(x)),
            Cause::Fault(x) => write!(f, "fault:{}", n.fault(x)),
            Cause::Reorder => f.write_str("reorder"),
            Cause::Duplication => f.write_str("duplication"),
            Cause::NoRoute => f.write_str("no_route"),
            Cause::HostDown(x) => write!(f, "host_down:{}", n.fault(x)),
        }
    }
}

/// SACK blocks as the array of absolute [left, right] pairs.
struct SackArray<'a>(&'a SackBlocks);

impl fmt::Display for SackArray<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, (l, r)) in self.0.iter().enumerate() {
            let sep = if i > 0 { "," } else { "" };
            write!(f, "{sep}[{},{}]", l.0, r.0)?;
        }
        f.write_str("]")
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

/// The name of a TCP note and the fields it adds.
fn tcp_note(o: &mut Object, note: TcpNote) -> &'static str {
    match note {
        TcpNote::Retransmit { attempt, rto } => {
            o.set("attempt", attempt);
            o.set("rto_ns", rto);
            "retransmit"
        }
        TcpNote::TimeWaitExpired => "time_wait_expired",
        TcpNote::FinWait2Timeout => "fin_wait_2_timeout",
        TcpNote::TimeWaitRestart { .. } => "time_wait_restart",
        TcpNote::ResetInState(state) => {
            o.set("state", state.name());
            "reset_quietly"
        }
        TcpNote::PawsRejected => "paws_rejected",
        TcpNote::ChallengeAck { suppressed } => {
            o.set("suppressed", suppressed);
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
            o.set("cwnd", cwnd);
            o.set("ssthresh", ssthresh);
            match phase {
                Phase::FastRetransmit => "fast_retransmit",
                Phase::RecoveryEnd => "recovery_end",
                Phase::RackRecovery => "rack_recovery",
                Phase::Timeout => "cwnd_timeout",
                Phase::IdleRestart => "idle_restart",
            }
        }
        TcpNote::WindowProbe { .. } => "window_probe",
    }
}

/// A cause as a string value, or null.
fn cause_val<'a>(c: &'a Option<CauseWord>) -> Val<'a> {
    c.as_ref().map_or(Val::Null, |c| Val::Text(c))
}

/// Appends the event's JSON object (no newline) to `out`.
pub fn write_event(out: &mut String, n: &Names, e: &Event) {
    // The names and words of the line, made on the stack so the object can point at them.
    let seg = match e.kind {
        EventKind::Segment { seg, .. } | EventKind::Inject { seg: Some(seg), .. } => Some(seg),
        _ => None,
    };
    let flags = seg.map(|s| s.flags.long());
    let sack = seg.map(|s| s.sack);
    let sack = sack.as_ref().map(SackArray);
    let conn = match e.kind {
        EventKind::State { conn, .. }
        | EventKind::Tcp { conn, .. }
        | EventKind::Integrity { conn, .. }
        | EventKind::Invariant { conn, .. }
        | EventKind::App {
            conn: Some(conn), ..
        } => Some(conn),
        _ => None,
    };
    // "a->b", as `Names::link` writes it.
    let link = match e.kind {
        EventKind::Segment { from, to, .. } | EventKind::Link { from, to, .. } => {
            Some([n.node(from), "->", n.node(to)])
        }
        _ => None,
    };
    let fate = match e.kind {
        EventKind::Segment { fate, .. } => Some(fate),
        _ => None,
    };
    let causes = fate.map(|f| {
        let word = |c: Option<Cause>| c.map(|c| CauseWord(n, c));
        let delayed_by = word(f.delayed.map(|(_, c)| c));
        (word(f.dropped), word(f.duplicated), delayed_by)
    });
    // "rule (source)".
    let why = super::text::why(&e.kind).map(|(rule, source)| [rule, " (", source, ")"]);

    let mut o = Object::default();
    if let (Some(seg), Some(flags)) = (seg, &flags) {
        o.set("src", Val::Endpoint(n, seg.src));
        o.set("dst", Val::Endpoint(n, seg.dst));
        o.set("flags", Val::Text(flags));
        o.set("seq", seg.seq.0);
        o.set("ack", seg.ack.0);
        o.set("len", seg.len);
        o.set("win", seg.wnd);
        o.set("mss", seg.mss);
        if let Some(sack) = sack.as_ref().filter(|_| !seg.sack.is_empty()) {
            o.set("sack", Val::Raw(sack));
        }
    }
    if let Some(l) = &link {
        o.set("link", Val::Pieces(l));
    }
    if let Some(c) = conn {
        o.set("conn", Val::Endpoint(n, c.local));
        // A TCP note names only its local end.
        if !matches!(e.kind, EventKind::Tcp { .. }) {
            o.set("peer", Val::Endpoint(n, c.remote));
        }
    }
    if let (Some(fate), Some((dropped, duplicated, delayed))) = (fate, &causes) {
        o.set("fate", fate.word());
        o.set("dropped_by", cause_val(dropped));
        o.set("duplicated_by", cause_val(duplicated));
        o.set("delayed_ns", fate.delayed.map(|(d, _)| d));
        o.set("delayed_by", cause_val(delayed));
    }
    kind_fields(&mut o, n, e);
    o.set("t_ns", e.t);
    if let Some(why) = &why {
        o.set("why", Val::Pieces(why));
    }
    o.write(out);
}

/// `kind` and the fields that only one kind of event has.
fn kind_fields<'a>(o: &mut Object<'a>, n: &'a Names, e: &Event) {
    match e.kind {
        EventKind::Segment {
            seg,
            from,
            to,
            fate,
        } => {
            o.set("kind", "segment");
            o.set("hop", n.hop(&seg, from, to, &fate));
        }
        EventKind::State { conn, from, to, .. } => {
            o.set("kind", "state");
            o.set("host", n.node(conn.host));
            o.set("from", from.name());
            o.set("to", to.name());
        }
        EventKind::Tcp { conn, note } => {
            let timer = note.is_timer();
            o.set("kind", if timer { "timer" } else { "tcp" });
            o.set("host", n.node(conn.host));
            let name = tcp_note(o, note);
            o.set(if timer { "timer" } else { "note" }, name);
        }
        EventKind::App { host, conn, what } => app_fields(o, n, host, conn.is_some(), what),
        EventKind::Link { up, fault, .. } => {
            o.set("kind", "link");
            o.set("up", up);
            o.set("fault", n.fault(fault));
        }
        EventKind::Integrity { conn, offset, len } => {
            o.set("kind", "integrity");
            o.set("host", n.node(conn.host));
            o.set("offset", offset);
            o.set("len", len);
        }
        EventKind::Budget { limit } => {
            o.set("kind", "budget");
            o.set("limit", limit);
        }
        EventKind::Host { host, up, fault } => {
            o.set("kind", "host");
            o.set("host", n.node(host));
            o.set("up", up);
            o.set("fault", n.fault(fault));
        }
        EventKind::Inject { index, seg, from } => {
            o.set("kind", "inject");
            if seg.is_none() {
                o.set("sent", false);
            }
            o.set("index", u64::from(index) + 1);
            o.set("from", n.node(from));
        }
        EventKind::Invariant { what, .. } => {
            o.set("kind", "invariant");
            o.set(
                "what",
                match what {
                    crate::trace::Invariant::DuplicateFourTuple => "duplicate_four_tuple",
                },
            );
        }
    }
}

/// The fields of an application event: `conn` and `peer` are null without a connection.
fn app_fields<'a>(o: &mut Object<'a>, n: &'a Names, host: u32, has_conn: bool, what: AppEvent) {
    let (name, value) = app_name(what);
    o.set("kind", "app");
    o.set("host", n.node(host));
    if !has_conn {
        o.set("conn", Val::Null);
        o.set("peer", Val::Null);
    }
    o.set("event", name);
    o.set("value", value);
    if let AppEvent::Skipped { call, error } = what {
        o.set("call", call.verb());
        o.set(
            "error",
            match error {
                CallError::NoConnection => "no_connection",
                CallError::Closing => "connection_closing",
            },
        );
    }
}

/// The event as a JSON value, for callers that look inside it (the CLI writes lines with
/// [`write_event`]).
pub fn event(n: &Names, e: &Event) -> Value {
    let mut line = String::new();
    write_event(&mut line, n, e);
    serde_json::from_str(&line).expect("write_event writes valid JSON")
}
