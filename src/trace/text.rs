//! The text transcript: one line per event, tcpdump-like segments with sequence numbers
//! relative to each side's ISN.

use rustc_hash::FxHashMap;
use std::fmt::Write;

use super::digits::push_decimal;
use super::{AppEvent, CallError, Cause, Event, EventKind, Fate, Invariant, Names, TcpNote};
use crate::tcp::{Endpoint, Flags, Phase, Segment, State, Why};

/// Seconds with six decimals, from integer nanoseconds.
pub fn time(t: u64) -> String {
    format!("{}.{:06}", t / 1_000_000_000, (t % 1_000_000_000) / 1_000)
}

/// Appends [`time`] of `t` to `s`.
pub(crate) fn push_time(s: &mut String, t: u64) {
    push_decimal(s, t / 1_000_000_000);
    s.push('.');
    let micros = (t % 1_000_000_000) / 1_000;
    for unit in [100_000, 10_000, 1_000, 100, 10, 1] {
        s.push(char::from(b'0' + (micros / unit % 10) as u8));
    }
}

/// A duration for humans: "200ms", "2s", "1.500s".
pub fn duration(ns: u64) -> String {
    if ns.is_multiple_of(1_000_000_000) {
        format!("{}s", ns / 1_000_000_000)
    } else if ns.is_multiple_of(1_000_000) {
        format!("{}ms", ns / 1_000_000)
    } else {
        format!("{}us", ns / 1_000)
    }
}

/// Renders events one at a time; remembers each direction's ISN (from its SYN) to print
/// relative sequence numbers, as tcpdump does.
pub struct TextRenderer<'a> {
    names: &'a Names,
    isn: FxHashMap<(Endpoint, Endpoint), u32>,
    explain: bool,
}

impl<'a> TextRenderer<'a> {
    pub fn new(names: &'a Names) -> Self {
        TextRenderer {
            names,
            isn: FxHashMap::default(),
            explain: false,
        }
    }

    /// `--explain`: end each segment and state-change line with the rule behind it.
    pub fn explained(mut self, on: bool) -> Self {
        self.explain = on;
        self
    }

    /// One line, without the trailing newline.
    pub fn line(&mut self, e: &Event) -> String {
        self.line_with_options(e, None)
    }

    /// [`Self::line`], with a segment's options shown as `options` (tcpdump's list, as a
    /// real packet carries them) instead of the `<mss N>` a simulated segment shows.
    pub fn line_with_options(&mut self, e: &Event, options: Option<&str>) -> String {
        let mut s = String::new();
        self.write_line(&mut s, e, options);
        s
    }

    /// Appends [`Self::line_with_options`] to `s`: the CLI reuses one buffer for every
    /// line instead of a `String` per event.
    pub fn write_line(&mut self, s: &mut String, e: &Event, options: Option<&str>) {
        let n = self.names;
        push_time(s, e.t);
        s.push(' ');
        match e.kind {
            EventKind::Segment {
                seg,
                from,
                to,
                fate,
            } => {
                if let Some(hop) = n.hop(&seg, from, to, &fate) {
                    let _ = write!(s, "at {hop}: ");
                }
                self.segment(s, &seg, from, to, &fate, options)
            }
            EventKind::State { conn, from, to, .. } => {
                let _ = write!(s, "{} {} -> {}", n.endpoint_name(conn.local), from, to);
            }
            EventKind::Tcp { conn, note } => {
                let label = if note.is_timer() { "timer" } else { "tcp" };
                let _ = write!(s, "{} {label}: ", n.endpoint_name(conn.local));
                tcp_note(s, note);
            }
            EventKind::App { host, conn, what } => {
                match conn {
                    Some(c) => {
                        let _ = write!(s, "{}", n.endpoint_name(c.local));
                    }
                    None => s.push_str(n.node(host)),
                }
                s.push_str(" app: ");
                app(s, n, what, conn.map(|c| c.remote));
            }
            EventKind::Link {
                from,
                to,
                up,
                fault,
            } => {
                let state = if up { "up" } else { "DOWN" };
                let _ = write!(s, "link {} {state} ({})", n.link(from, to), n.fault(fault));
            }
            EventKind::Integrity { conn, offset, len } => {
                let _ = write!(
                    s,
                    "{} INTEGRITY VIOLATION: bytes {offset}..{} delivered to the application are not what {} sent there",
                    n.endpoint(conn.local),
                    offset + len as u64,
                    n.endpoint(conn.remote)
                );
            }
            EventKind::Host { host, up, fault } => {
                let _ = if up {
                    write!(
                        s,
                        "{} restarted ({}): its servers listen again, it has no connections",
                        n.node(host),
                        n.fault(fault)
                    )
                } else {
                    write!(
                        s,
                        "{} CRASHED ({}): every connection and listener is lost",
                        n.node(host),
                        n.fault(fault)
                    )
                };
            }
            EventKind::Inject { index, seg, from } => {
                let _ = write!(s, "inject #{} at {}: ", index + 1, n.node(from));
                match seg {
                    Some(seg) => self.segment(s, &seg, from, from, &Fate::default(), None),
                    None => s.push_str("its connection does not exist, nothing sent"),
                }
            }
            EventKind::Invariant {
                conn,
                what: Invariant::DuplicateFourTuple,
            } => {
                let _ = write!(
                    s,
                    "INVARIANT BROKEN: two live connections share {} <-> {}",
                    n.endpoint(conn.local),
                    n.endpoint(conn.remote)
                );
            }
            EventKind::Budget { limit } => {
                let _ = write!(
                    s,
                    "STOP: event budget of {limit} events exhausted (raise `max_events`)"
                );
            }
        }
        if self.explain
            && let Some((rule, source)) = why(&e.kind)
        {
            let _ = write!(s, "  # {rule} ({source})");
        }
    }

    fn segment(
        &mut self,
        s: &mut String,
        seg: &Segment,
        from: u32,
        to: u32,
        fate: &Fate,
        options: Option<&str>,
    ) {
        let n = self.names;
        if seg.flags.contains(Flags::SYN) {
            self.isn.insert((seg.src, seg.dst), seg.seq.0);
        }
        let rel = |base: Option<&u32>, v: u32| base.map_or(v, |b| v.wrapping_sub(*b));
        let seq = rel(self.isn.get(&(seg.src, seg.dst)), seg.seq.0);
        // The line every segment has, in pieces rather than through `write!`.
        n.push_endpoint(s, seg.src);
        s.push_str(" > ");
        n.push_endpoint(s, seg.dst);
        let _ = write!(s, " [{}] seq=", seg.flags);
        push_decimal(s, seq.into());
        if seg.flags.contains(Flags::ACK) {
            s.push_str(" ack=");
            push_decimal(s, rel(self.isn.get(&(seg.dst, seg.src)), seg.ack.0).into());
        }
        s.push_str(" win=");
        push_decimal(s, seg.wnd.into());
        s.push_str(" len=");
        push_decimal(s, seg.len.into());
        match options {
            Some("") => {}
            Some(list) => {
                let _ = write!(s, " <{list}>");
            }
            None => {
                if let Some(mss) = seg.mss {
                    let _ = write!(s, " <mss {mss}>");
                }
                if !seg.sack.is_empty() {
                    // tcpdump's form, numbered like the ACK field.
                    let base = self.isn.get(&(seg.dst, seg.src));
                    let _ = write!(s, " <sack {} ", seg.sack.len());
                    for (l, r) in seg.sack.iter() {
                        let _ = write!(s, "{{{}:{}}}", rel(base, l.0), rel(base, r.0));
                    }
                    s.push('>');
                }
            }
        }
        if !fate.is_pass() {
            for (marker, phrase) in fate_phrases(n, from, to, fate) {
                let _ = write!(s, "  {marker} {phrase}");
            }
        }
    }
}

/// What the network did to a segment on the link direction `from -> to`, one phrase per
/// effect with the transcript's marker (`!!` lost or damaged, `++` duplicated, `~~`
/// delayed). The text transcript, the pcap comments and the ladders all word it this way.
pub fn fate_phrases(n: &Names, from: u32, to: u32, fate: &Fate) -> Vec<(&'static str, String)> {
    let link = n.link(from, to);
    let cause = |c: Cause| match c {
        Cause::Loss => format!("random loss on {link}"),
        Cause::QueueFull => format!("queue full on {link}"),
        Cause::LinkDown(f) => format!("link {link} down, {}", n.fault(f)),
        Cause::Fault(f) => n.fault(f).to_string(),
        Cause::Reorder => format!("reordered on {link}"),
        Cause::Duplication => format!("random duplicate on {link}"),
        Cause::NoRoute => "no route".to_string(),
        Cause::HostDown(f) => format!("{} is down, {}", n.node(to), n.fault(f)),
    };
    let mut out = Vec::new();
    if let Some(c) = fate.dropped {
        out.push(("!!", format!("dropped: {}", cause(c))));
    }
    if fate.corrupted {
        out.push((
            "!!",
            format!("corrupted on {link}: the receiver's checksum check discards it"),
        ));
    }
    if let Some(c) = fate.duplicated {
        out.push(("++", format!("duplicated: {}", cause(c))));
    }
    if let Some((d, c)) = fate.delayed {
        out.push(("~~", format!("delayed +{}: {}", duration(d), cause(c))));
    }
    out
}

fn app(s: &mut String, n: &Names, what: AppEvent, remote: Option<Endpoint>) {
    let peer = remote.map(|r| n.endpoint(r)).unwrap_or_default();
    let _ = match what {
        AppEvent::Listen { port } => write!(s, "listen on port {port}"),
        AppEvent::Connect => write!(s, "connect to {peer}"),
        AppEvent::Accept => write!(s, "accepted connection from {peer}"),
        AppEvent::Send { bytes } => write!(s, "send {bytes} bytes"),
        AppEvent::Receive { bytes } => write!(s, "received {bytes} bytes"),
        AppEvent::Read { bytes } => write!(s, "read {bytes} bytes"),
        AppEvent::Eof => write!(s, "end of stream (peer sent FIN)"),
        AppEvent::Shutdown => write!(s, "shutdown: CLOSE, keep reading"),
        AppEvent::Close => write!(s, "close"),
        AppEvent::Abort { rst: true } => write!(s, "abort (RST)"),
        AppEvent::Abort { rst: false } => write!(s, "abort: delete the TCB, nothing sent"),
        AppEvent::Skipped {
            call,
            error: CallError::NoConnection,
        } => write!(s, "skipped \"{call}\": no connection"),
        AppEvent::Skipped {
            call,
            error: CallError::Closing,
        } => write!(s, "skipped \"{call}\": error: connection closing"),
        AppEvent::Refused => write!(s, "connection refused"),
        AppEvent::Reset => write!(s, "connection reset by peer"),
        AppEvent::TimedOut => write!(s, "connection timed out: retransmissions exhausted"),
        AppEvent::PortUnavailable { port: 0 } => {
            write!(s, "connect failed: no free ephemeral port")
        }
        AppEvent::PortUnavailable { port } => write!(s, "connect failed: local port {port} in use"),
        AppEvent::BacklogFull { port } => {
            write!(s, "listener on port {port}: backlog full, SYN dropped")
        }
    };
}

fn tcp_note(s: &mut String, note: TcpNote) {
    let _ = match note {
        TcpNote::Retransmit { attempt, rto } => {
            write!(
                s,
                "retransmission timeout #{attempt}, RTO backed off to {}",
                duration(rto)
            )
        }
        TcpNote::TimeWaitExpired => write!(s, "TIME_WAIT expired"),
        TcpNote::TimeWaitRestart { fin: true } => write!(
            s,
            "FIN retransmitted into TIME_WAIT: ACK it, restart the TIME_WAIT timer"
        ),
        TcpNote::TimeWaitRestart { fin: false } => write!(
            s,
            "acceptable segment in TIME_WAIT, taken for the FIN (RFC 9293 §3.10.7.4 fifth step): ACK it, restart the TIME_WAIT timer"
        ),
        TcpNote::ResetInState(State::TimeWait) => {
            write!(
                s,
                "RST accepted in TIME_WAIT: TIME_WAIT cut short (the RFC 1337 hazard)"
            )
        }
        TcpNote::ResetInState(state) => write!(s, "RST accepted in {state}: connection closed"),
        TcpNote::PawsRejected => write!(
            s,
            "old duplicate rejected by PAWS (timestamp older than TS.Recent): ACK and drop"
        ),
        TcpNote::ChallengeAck { suppressed: false } => write!(s, "challenge ACK (RFC 5961)"),
        TcpNote::ChallengeAck { suppressed: true } => write!(
            s,
            "challenge ACK suppressed by the rate limit (RFC 5961 §7)"
        ),
        TcpNote::RstIgnored => write!(s, "RST ignored in TIME_WAIT (RFC 1337)"),
        TcpNote::FinWait2Timeout => write!(s, "FIN_WAIT_2 timeout: connection deleted"),
        TcpNote::Reopened => write!(
            s,
            "new SYN in TIME_WAIT reopens the 4-tuple (RFC 1122 4.2.2.13, RFC 6191)"
        ),
        TcpNote::TimeWaitReused => {
            write!(
                s,
                "a new connect() takes this 4-tuple over from TIME_WAIT (tw_reuse, as Linux's tcp_tw_reuse)"
            )
        }
        TcpNote::Congestion {
            phase,
            cwnd,
            ssthresh,
        } => {
            let what = match phase {
                Phase::FastRetransmit => {
                    "3 duplicate ACKs: fast retransmit, fast recovery (RFC 5681 §3.2)"
                }
                Phase::RecoveryEnd => "full ACK: fast recovery ends (RFC 6582 §3.2)",
                Phase::RackRecovery => {
                    "RACK: a segment sent before one SACKed is lost: fast recovery, cwnd by PRR (RFC 8985 §6.2, RFC 6937)"
                }
                Phase::Timeout => "timeout: cwnd back to one segment (RFC 5681 §3.1)",
                Phase::IdleRestart => {
                    "idle for longer than an RTO: cwnd restarts from min(IW, cwnd) (RFC 5681 §4.1)"
                }
            };
            write!(s, "{what}; cwnd={cwnd} ssthresh={ssthresh}")
        }
        TcpNote::WindowProbe { old_seq: false } => write!(
            s,
            "zero window: probe with the next octet, or the FIN (RFC 9293 §3.8.6.1)"
        ),
        TcpNote::WindowProbe { old_seq: true } => write!(
            s,
            "zero window: probe with a bare ACK at SND.UNA-1, which the receiver answers (Linux tcp_xmit_probe_skb)"
        ),
    };
}

/// The rule behind a segment or a state change, when the TCP reported one.
pub fn why(kind: &EventKind) -> Option<(&'static str, &'static str)> {
    let why = match *kind {
        EventKind::Segment { seg, .. } => seg.why,
        EventKind::Inject { seg: Some(seg), .. } => seg.why,
        EventKind::State { why, .. } => why,
        _ => return None,
    };
    (why != Why::Unexplained).then(|| why.explain())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_time_equals_time() {
        for t in [0, 999, 1_000, 1_234_567_890, 59_000_001_000, u64::MAX] {
            let mut s = String::from("x");
            push_time(&mut s, t);
            assert_eq!(s, format!("x{}", time(t)));
        }
    }
}
