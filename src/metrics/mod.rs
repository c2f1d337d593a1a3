//! `--metrics`: a time series of connection counts, ports and traffic, sampled from the
//! run's typed event stream (never from simulator internals), plus per-connection latency
//! distributions for the summary.
//!
//! The [`Sampler`] is built only when `--metrics` (or a plot) asks for it, so a run
//! without it pays one `Option` check per event and nothing else.
//!
//! Sampling rule: the sample at time `T = k × interval` (k = 1, 2, …) counts every event
//! with `(T − interval) < t ≤ T` (the first interval also takes `t = 0`), and its state
//! columns are the counts after every event at `t ≤ T`. An event exactly at a sample time
//! is therefore in that sample, not the next.

pub mod latency;
pub mod plot;
pub mod rows;
pub mod write;

use rustc_hash::FxHashMap;

use crate::scenario::model::Scenario;
use crate::tcp::{Phase, State};
use crate::trace::{AppEvent, Event, EventKind, Names, TcpNote};
pub use latency::{Dist, Latencies};
pub use rows::Rows;

/// The per-interval counters of one row (reset after each sample).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// New connections (active opens and passive ones leaving LISTEN).
    pub opened: u64,
    pub established: u64,
    /// `PortUnavailable` plus connections that reached CLOSED without being ESTABLISHED.
    pub failed: u64,
    /// Connections closed by a RST they received.
    pub reset: u64,
    /// Segments the row's hosts sent (first hop only, not each router they crossed).
    pub segments: u64,
    /// Retransmission timeouts plus fast retransmits.
    pub retransmits: u64,
    /// Payload bytes delivered to the row's applications.
    pub bytes: u64,
}

/// One row of the time series: a plain host or a whole `[[group]]` at one sample time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// Sample time, ns.
    pub t: u64,
    /// Index into [`Rows`].
    pub row: u32,
    /// Connections per state, in [`State::ALL`] order (LISTEN counts listeners).
    pub states: [u64; 11],
    /// Ephemeral ports of the row's range(s) not held by any of its connections.
    pub ports_free: u64,
    pub counters: Counters,
}

/// What the sampler remembers of one connection (by its trace id).
#[derive(Debug, Clone, Copy, Default)]
struct Track {
    live: bool,
    /// Ever ESTABLISHED.
    established: bool,
    /// Opened by a local connect (CLOSED → SYN_SENT), the side latencies are measured on.
    active: bool,
    /// Holds an ephemeral port of its host (counted in `held`).
    holds_port: bool,
    got_byte: bool,
    state: u8,
    node: u32,
    port: u16,
    opened_at: u64,
}

/// Consumes events and produces [`Sample`]s every `interval` ns.
pub struct Sampler {
    interval: u64,
    next_t: u64,
    rows: Rows,
    states: Vec<[u64; 11]>,
    held: Vec<u64>,
    counters: Vec<Counters>,
    conns: Vec<Track>,
    /// How many connections of a host hold each local port (ports shared by connections
    /// to different peers count once). Only looked up, never iterated.
    ports: FxHashMap<(u32, u16), u32>,
    /// Listeners per node, to forget them when their host crashes.
    listeners: Vec<u32>,
    /// Which node owns an address, for a segment's sending host.
    names: Names,
    samples: Vec<Sample>,
    pub latencies: Latencies,
}

impl Sampler {
    /// A sampler for `sc`'s hosts and groups; `interval` must be > 0.
    pub fn new(sc: &Scenario, interval: u64) -> Self {
        let rows = Rows::new(sc);
        let n = rows.len();
        Sampler {
            interval,
            next_t: interval,
            states: vec![[0; 11]; n],
            held: vec![0; n],
            counters: vec![Counters::default(); n],
            conns: Vec::new(),
            ports: FxHashMap::default(),
            listeners: vec![0; sc.nodes.len()],
            names: Names::new(sc),
            samples: Vec::new(),
            latencies: Latencies::default(),
            rows,
        }
    }

    /// Takes one event of the run (events arrive in time order).
    pub fn observe(&mut self, e: &Event) {
        while e.t > self.next_t {
            self.sample();
        }
        match e.kind {
            EventKind::State { conn, from, to, .. } => {
                self.on_state(e.t, conn.id, conn.host, conn.local.port, from, to)
            }
            EventKind::App { host, conn, what } => self.on_app(e.t, host, conn.map(|c| c.id), what),
            EventKind::Tcp { conn, note } => self.on_note(conn.host, note),
            EventKind::Segment { seg, from, .. }
                if self.names.node_of_addr(seg.src.addr) == Some(from) =>
            {
                self.count(from, |c| c.segments += 1);
            }
            EventKind::Host {
                host, up: false, ..
            } => self.on_crash(host),
            _ => {}
        }
    }

    /// Ends the series at `end` ns (the run's stop time, or its last event): samples up to
    /// the first sample time at or after it. Returns the rows and the samples.
    pub fn finish(mut self, end: u64) -> (Rows, Vec<Sample>, Latencies) {
        loop {
            let t = self.next_t;
            self.sample();
            if t >= end {
                break;
            }
        }
        (self.rows, self.samples, self.latencies)
    }

    /// Records the sample at `next_t` for every row and starts the next interval.
    fn sample(&mut self) {
        for row in 0..self.rows.len() {
            self.samples.push(Sample {
                t: self.next_t,
                row: row as u32,
                states: self.states[row],
                ports_free: self.rows.range(row).saturating_sub(self.held[row]),
                counters: std::mem::take(&mut self.counters[row]),
            });
        }
        self.next_t += self.interval;
    }

    /// Adds to the interval counters of `node`'s row (routers have none).
    fn count(&mut self, node: u32, f: impl FnOnce(&mut Counters)) {
        if let Some(row) = self.rows.of(node) {
            f(&mut self.counters[row]);
        }
    }

    /// A state change: the first one of a connection opens it, CLOSED ends it.
    fn on_state(&mut self, t: u64, id: u32, node: u32, port: u16, from: State, to: State) {
        let Some(row) = self.rows.of(node) else {
            return;
        };
        let i = id as usize;
        if self.conns.len() <= i {
            self.conns.resize(i + 1, Track::default());
        }
        let mut c = self.conns[i];
        if c.live {
            self.states[row][c.state as usize] -= 1;
        } else {
            c = self.open(t, node, port, from == State::Closed && to == State::SynSent);
            self.counters[row].opened += 1;
        }
        if to == State::Established && !c.established {
            c.established = true;
            self.counters[row].established += 1;
            if c.active {
                self.latencies.connect.push(t - c.opened_at);
            }
        }
        if to == State::Closed {
            self.close(&mut c);
            if !c.established {
                self.counters[row].failed += 1;
            }
            if c.active {
                self.latencies.completion.push(t - c.opened_at);
            }
        } else {
            self.states[row][state_index(to)] += 1;
            c.state = state_index(to) as u8;
        }
        self.conns[i] = c;
    }

    /// A new live connection, holding its local port if that is in its host's range.
    fn open(&mut self, t: u64, node: u32, port: u16, active: bool) -> Track {
        let (lo, hi) = self.rows.ephemeral(node);
        let holds_port = (lo..=hi).contains(&port);
        if holds_port {
            let n = self.ports.entry((node, port)).or_insert(0);
            *n += 1;
            if *n == 1 {
                self.held[self.rows.of(node).unwrap_or(0)] += 1;
            }
        }
        Track {
            live: true,
            active,
            holds_port,
            node,
            port,
            opened_at: t,
            ..Track::default()
        }
    }

    /// The connection is gone: its port (if the last holder) is free again.
    fn close(&mut self, c: &mut Track) {
        c.live = false;
        if !std::mem::take(&mut c.holds_port) {
            return;
        }
        if let Some(n) = self.ports.get_mut(&(c.node, c.port)) {
            *n -= 1;
            if *n == 0 {
                self.ports.remove(&(c.node, c.port));
                if let Some(row) = self.rows.of(c.node) {
                    self.held[row] -= 1;
                }
            }
        }
    }

    /// Application events: listeners, refused opens, resets, delivered bytes.
    fn on_app(&mut self, t: u64, node: u32, id: Option<u32>, what: AppEvent) {
        match what {
            AppEvent::Listen { .. } => {
                if let Some(row) = self.rows.of(node) {
                    self.states[row][state_index(State::Listen)] += 1;
                    self.listeners[node as usize] += 1;
                }
            }
            AppEvent::PortUnavailable { .. } => self.count(node, |c| c.failed += 1),
            AppEvent::Reset => self.count(node, |c| c.reset += 1),
            AppEvent::Receive { bytes } => {
                self.count(node, |c| c.bytes += u64::from(bytes));
                self.first_byte(t, id);
            }
            _ => {}
        }
    }

    /// The first bytes an actively opened connection received.
    fn first_byte(&mut self, t: u64, id: Option<u32>) {
        let Some(c) = id.and_then(|i| self.conns.get_mut(i as usize)) else {
            return;
        };
        if c.active && c.live && !c.got_byte {
            c.got_byte = true;
            self.latencies.first_byte.push(t - c.opened_at);
        }
    }

    /// Retransmissions and resets the application was not told about.
    fn on_note(&mut self, node: u32, note: TcpNote) {
        match note {
            TcpNote::Retransmit { .. }
            | TcpNote::Congestion {
                phase: Phase::FastRetransmit,
                ..
            } => self.count(node, |c| c.retransmits += 1),
            TcpNote::ResetInState(_) => self.count(node, |c| c.reset += 1),
            _ => {}
        }
    }

    /// A crashed host loses every connection and listener without state events.
    fn on_crash(&mut self, node: u32) {
        let Some(row) = self.rows.of(node) else {
            return;
        };
        for i in 0..self.conns.len() {
            let mut c = self.conns[i];
            if c.live && c.node == node {
                self.states[row][c.state as usize] -= 1;
                self.close(&mut c);
                self.conns[i] = c;
            }
        }
        let listen = std::mem::take(&mut self.listeners[node as usize]);
        self.states[row][state_index(State::Listen)] -= u64::from(listen);
    }
}

/// A state's column: its position in [`State::ALL`].
pub fn state_index(s: State) -> usize {
    State::ALL.iter().position(|&x| x == s).unwrap_or(0)
}

#[cfg(test)]
mod tests;
