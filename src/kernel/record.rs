//! What a kernel run observed, turned into the simulator's output contract.
//!
//! The wire loop, the observers and the application threads each record what they see
//! with a wall-clock time; [`finish`] orders it all by time, numbers the connections in
//! order of first appearance (a 4-tuple reused after TIME_WAIT is a new connection, as
//! in the simulator) and produces the same [`Event`]s a simulated run would, plus the
//! raw packet bytes of every segment event for the pcap and the options column. The
//! connection records for the summary and `[[expect]]` come from the same events.

use std::collections::HashMap;
use std::sync::Arc;

use crate::sim::{ConnRecord, Outcome, RunStats};
use crate::tcp::{ConnStats, Endpoint, Flags, Segment, Seq, State, Why};
use crate::trace::{AppEvent, ConnRef, Event, EventKind, Names, TcpNote};

/// One observation, before connections are numbered.
#[derive(Debug, Clone)]
pub enum Rec {
    /// An event that names no connection (a segment's passage, a link going down or up,
    /// an injected segment), already as it will be reported, with the packet it carried.
    Ready {
        kind: EventKind,
        packet: Option<Arc<[u8]>>,
    },
    State {
        host: u32,
        local: Endpoint,
        remote: Endpoint,
        from: State,
        to: State,
        /// The 4-tuple starts a new incarnation here.
        new: bool,
    },
    Note {
        host: u32,
        local: Endpoint,
        remote: Endpoint,
        note: TcpNote,
    },
    App {
        host: u32,
        tuple: Option<(Endpoint, Endpoint)>,
        what: AppEvent,
    },
}

/// An observation and when it happened (ns since the run's start).
#[derive(Debug, Clone)]
pub struct Timed {
    pub t: u64,
    pub rec: Rec,
}

/// The finished trace: events in time order and, per event, the packet it carried.
pub struct Trace {
    pub events: Vec<Event>,
    pub packets: Vec<Option<Arc<[u8]>>>,
}

/// Numbers connections: the current incarnation of each 4-tuple, and the one a
/// connect() has opened but the kernel has not yet been seen to hold.
#[derive(Default)]
struct Numbering {
    current: HashMap<(Endpoint, Endpoint), u32>,
    pending: HashMap<(Endpoint, Endpoint), u32>,
    refs: Vec<ConnRef>,
}

impl Numbering {
    fn fresh(&mut self, host: u32, local: Endpoint, remote: Endpoint) -> ConnRef {
        let c = ConnRef {
            id: self.refs.len() as u32,
            host,
            local,
            remote,
        };
        self.refs.push(c);
        c
    }

    /// A state change; `new` starts the connection a pending connect() opened, or a new one.
    fn state(&mut self, host: u32, local: Endpoint, remote: Endpoint, new: bool) -> ConnRef {
        let key = (local, remote);
        if !new && let Some(&id) = self.current.get(&key) {
            return self.refs[id as usize];
        }
        let c = match self.pending.remove(&key) {
            Some(id) => self.refs[id as usize],
            None => self.fresh(host, local, remote),
        };
        self.current.insert(key, c.id);
        c
    }

    /// A connect(): a new connection, current once the kernel shows its first state (an
    /// old incarnation in TIME_WAIT keeps the 4-tuple until then).
    fn connect(&mut self, host: u32, local: Endpoint, remote: Endpoint) -> ConnRef {
        let c = self.fresh(host, local, remote);
        self.pending.insert((local, remote), c.id);
        c
    }

    /// Anything else about a 4-tuple: its current connection (or the pending one).
    fn any(&mut self, host: u32, local: Endpoint, remote: Endpoint) -> ConnRef {
        let key = (local, remote);
        match self.current.get(&key).or(self.pending.get(&key)) {
            Some(&id) => self.refs[id as usize],
            None => {
                let c = self.fresh(host, local, remote);
                self.current.insert(key, c.id);
                c
            }
        }
    }
}

/// Orders the observations and produces the events.
pub fn finish(mut recs: Vec<Timed>) -> Trace {
    recs.sort_by_key(|r| r.t);
    let mut numbering = Numbering::default();
    let mut events = Vec::with_capacity(recs.len());
    let mut packets = Vec::with_capacity(recs.len());
    for Timed { t, rec } in recs {
        let (kind, packet) = event_of(rec, &mut numbering);
        events.push(Event { t, kind });
        packets.push(packet);
    }
    Trace { events, packets }
}

fn event_of(rec: Rec, n: &mut Numbering) -> (EventKind, Option<Arc<[u8]>>) {
    let kind = match rec {
        Rec::Ready { kind, packet } => return (kind, packet),
        Rec::State {
            host,
            local,
            remote,
            from,
            to,
            new,
        } => {
            let conn = n.state(host, local, remote, new);
            let why = Why::Unexplained;
            EventKind::State {
                conn,
                from,
                to,
                why,
            }
        }
        Rec::Note {
            host,
            local,
            remote,
            note,
        } => EventKind::Tcp {
            conn: n.any(host, local, remote),
            note,
        },
        Rec::App { host, tuple, what } => {
            let conn = tuple.map(|(local, remote)| match what {
                AppEvent::Connect => n.connect(host, local, remote),
                _ => n.any(host, local, remote),
            });
            EventKind::App { host, conn, what }
        }
    };
    (kind, None)
}

/// A connection's record while the events are read.
struct Building {
    record: ConnRecord,
    /// The highest sequence number sent so far (SEG.SEQ + SEG.LEN), for retransmissions.
    snd_max: Option<Seq>,
    isn: Option<Seq>,
    /// The peer's highest acknowledgment of this side's data.
    acked: Option<Seq>,
}

/// The connection records (for the summary and `[[expect]]`) and the run's figures,
/// from the events: states and application events by connection; segments sent,
/// retransmissions (a segment starting below the highest sequence number already sent)
/// and bytes acknowledged from what the wire carried.
pub fn outcome(
    trace: &Trace,
    names: &Names,
    links: Vec<(u32, u32, crate::net::LinkStats)>,
    end_time: u64,
) -> Outcome {
    let mut conns: Vec<Building> = Vec::new();
    let mut by_tuple: HashMap<(Endpoint, Endpoint), usize> = HashMap::new();
    let mut stats = RunStats::default();
    for e in &trace.events {
        stats.events += 1;
        if let Some(c) = conn_of(&e.kind) {
            let i = c.id as usize;
            if i >= conns.len() {
                conns.resize_with(i + 1, || new_building(c));
            }
            by_tuple.insert((c.local, c.remote), i);
            apply_event(&mut conns[i].record, e);
        }
        match e.kind {
            EventKind::App {
                what: AppEvent::PortUnavailable { .. },
                ..
            } => stats.no_port += 1,
            EventKind::App {
                what: AppEvent::BacklogFull { .. },
                ..
            } => stats.backlog_full += 1,
            _ => {}
        }
        if let EventKind::Segment {
            seg, from, fate, ..
        } = e.kind
            && names.node_of_addr(seg.src.addr) == Some(from)
            && seg.why != Why::Injected
        {
            stats.segments += u64::from(fate.dropped.is_none());
            if let Some(&i) = by_tuple.get(&(seg.src, seg.dst)) {
                sent(&mut conns[i], &seg);
            }
            if let Some(&i) = by_tuple.get(&(seg.dst, seg.src)) {
                acked(&mut conns[i], &seg);
            }
        }
    }
    stats.connections = conns.len() as u64;
    Outcome {
        end_time,
        conns: conns.into_iter().map(|b| b.record).collect(),
        links,
        integrity_failures: 0,
        invariant_failures: 0,
        budget_exhausted: false,
        // The kernel run ends when its hosts fall quiet or at its time limit; what the
        // kernel would have done later is not known either way, as in a finished run.
        cut_short: false,
        stats,
    }
}

fn new_building(c: ConnRef) -> Building {
    Building {
        record: ConnRecord {
            host: c.host,
            local: c.local,
            remote: c.remote,
            history: crate::sim::History::new(),
            stats: ConnStats::default(),
            eof: false,
            integrity_failures: 0,
        },
        snd_max: None,
        isn: None,
        acked: None,
    }
}

fn conn_of(kind: &EventKind) -> Option<ConnRef> {
    match *kind {
        EventKind::State { conn, .. } | EventKind::Tcp { conn, .. } => Some(conn),
        EventKind::App { conn, .. } => conn,
        _ => None,
    }
}

fn apply_event(r: &mut ConnRecord, e: &Event) {
    match e.kind {
        EventKind::State { to, .. } => r.history.push((e.t, to)),
        EventKind::App { what, .. } => match what {
            AppEvent::Send { bytes } => r.stats.bytes_written += bytes,
            AppEvent::Receive { bytes } => r.stats.bytes_delivered += u64::from(bytes),
            AppEvent::Read { bytes } => r.stats.bytes_delivered += bytes,
            AppEvent::Eof => r.eof = true,
            _ => {}
        },
        _ => {}
    }
}

/// A segment this side sent.
fn sent(b: &mut Building, seg: &Segment) {
    b.record.stats.segments_sent += 1;
    if seg.has(Flags::SYN) {
        b.isn = Some(seg.seq);
    }
    if seg.seg_len() == 0 {
        return;
    }
    let end = seg.seq + seg.seg_len();
    match b.snd_max {
        Some(max) if seg.seq.lt(max) => b.record.stats.retransmits += 1,
        _ => {}
    }
    if b.snd_max.is_none_or(|max| max.lt(end)) {
        b.snd_max = Some(end);
    }
}

/// A segment the peer sent: its ACK covers this side's data up to `seg.ack`.
fn acked(b: &mut Building, seg: &Segment) {
    if !seg.has(Flags::ACK) {
        return;
    }
    if b.acked.is_none_or(|a| a.lt(seg.ack)) {
        b.acked = Some(seg.ack);
    }
    if let (Some(isn), Some(ack)) = (b.isn, b.acked) {
        let data = u64::from(ack.0.wrapping_sub(isn.0).saturating_sub(1));
        b.record.stats.bytes_acked = data.min(b.record.stats.bytes_written);
    }
}
