//! The limits a scenario must stay within, and an estimate of what it will cost, checked
//! before the run so that a typo is an error at its line instead of gigabytes allocated,
//! thousands of threads, or a counter that wraps.
//!
//! Every value a scenario can set has a range (README, "Scenario format reference"); the
//! constants here are the ones not implied by a key's integer type.

use super::ScenarioError;
use super::model::{Action, Call, FaultKind, Scenario, TimedStep};

/// The largest scenario file read (64 MiB): far above any hand-written scenario (groups
/// describe many hosts in a few lines), and it keeps `/dev/zero` from filling memory.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// Hosts a scenario may have unless it sets `max_hosts`: up to about 2.4 KB each in a run
/// (sims/bench/many_100k.toml: 228 MB for 100,000; many_1m.toml 1.34 GB for a million).
pub const DEFAULT_MAX_HOSTS: u64 = 1_000_000;
/// The most `max_hosts` may allow: about 10 GB, within the 24 GB of the machines here.
pub const MAX_MAX_HOSTS: u64 = 4_000_000;

/// Clients (each `[[load]]` connection is one) a scenario may start: with the records
/// of both ends kept for the report, a run takes about 1 KB per client
/// (sims/production/port_exhaustion.toml: 96 MB for 96,000), so about 1 GB at most.
pub const MAX_CLIENTS: u64 = 1_000_000;

/// The largest event budget (`max_events`): ten billion events, half an hour or more.
pub const MAX_MAX_EVENTS: u64 = 10_000_000_000;

/// The most bytes one connection's application may write in all: sequence numbers are
/// compared modulo 2^32 (RFC 9293 §3.4), so the end of what is written must stay less
/// than 2^31 ahead of where sending starts.
pub const MAX_STREAM_BYTES: u64 = (1 << 31) - 1;

/// The largest TCP payload of an IPv4 packet without options: 65535 bytes less the IPv4
/// and TCP headers (20 each). An option (an injected segment's MSS, a data segment's
/// timestamps) takes its bytes from the same 65535.
pub const MAX_IPV4_PAYLOAD: u32 = 65_535 - 40;

/// The largest MSS: a data segment carries at most MSS bytes of payload and options
/// together (RFC 6691), so MSS bytes plus 40 of headers must fit an IPv4 packet.
pub const MAX_MSS: u16 = MAX_IPV4_PAYLOAD as u16;

/// `retries` and `syn_retries` at most: 255 (Linux's `tcp_retries2` has the same limit),
/// by which time any RTO has long reached `rto_max`.
pub const MAX_RETRIES: u32 = 255;

/// `initial_window` at most, in segments: a hundred times RFC 6928's 10.
pub const MAX_INITIAL_WINDOW: u32 = 1000;

/// `--jobs` at most: threads beyond the cores only cost memory, and a typo (`--jobs
/// 100000`) must not start thousands of them.
pub const MAX_JOBS: u32 = 256;

/// A scenario to run must send something: a client that connects or an injected
/// segment (hosts, servers and faults alone wait for ever, and a run of nothing would
/// pass). The loader accepts such a file, which can still describe a topology or TCP
/// settings to a program; `tcpsim` and `tcpsim sweep` refuse to run it.
pub fn check_runnable(sc: &Scenario) -> Result<(), ScenarioError> {
    if sc.clients.is_empty() && sc.injects.is_empty() {
        return Err(ScenarioError::whole_file(
            &sc.origin,
            "nothing in this scenario ever sends a segment, so there is nothing to run: add a [[client]] (it connects to a server) or an [[inject]]".into(),
        ));
    }
    Ok(())
}

/// The bytes an application writes with these steps (saturating: the caller compares the
/// sum with [`MAX_STREAM_BYTES`]).
pub fn written(actions: &[Action], timed: &[TimedStep]) -> u64 {
    let script = actions.iter().filter_map(|a| match a {
        Action::Send(n) => Some(*n),
        _ => None,
    });
    let steps = timed.iter().filter_map(|s| match s.call {
        Call::Send(n) => Some(n),
        _ => None,
    });
    script.chain(steps).fold(0, u64::saturating_add)
}

/// What a scenario will take, worked out from the file alone before the run: the hosts
/// and links it builds, at most how many connections, and at least how many events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Estimate {
    pub hosts: u64,
    pub links: u64,
    /// Each client makes one connection and the server it reaches one more.
    pub connections: u64,
    /// A lower bound: a client's start and the arrival of its SYN and the answer, each
    /// injected segment, each link state change and crash or restart.
    pub events: u64,
}

/// Events a client needs at least: its start, its SYN's arrival, the arrival of the
/// SYN,ACK (or RST) that answers it.
const EVENTS_PER_CLIENT: u64 = 3;

impl Estimate {
    pub fn of(sc: &Scenario) -> Estimate {
        let hosts = sc
            .nodes
            .iter()
            .filter(|n| matches!(n.kind, super::model::NodeKind::Host { .. }))
            .count() as u64;
        let faults: u64 = (sc.faults.iter())
            .map(|f| match f.kind {
                FaultKind::Partition { a_to_b, b_to_a, .. } => 2 * (a_to_b as u64 + b_to_a as u64),
                FaultKind::Crash { end, .. } => 1 + end.is_some() as u64,
                FaultKind::Segment { .. } => 0,
            })
            .sum();
        let clients = sc.clients.len() as u64;
        Estimate {
            hosts,
            links: sc.links.len() as u64,
            connections: 2 * clients,
            events: EVENTS_PER_CLIENT * clients + sc.injects.len() as u64 + faults,
        }
    }
}

impl std::fmt::Display for Estimate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} hosts, {} links, at most {} connections, at least {} events",
            self.hosts, self.links, self.connections, self.events
        )
    }
}
