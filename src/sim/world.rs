//! The run loop: pops events in (time, insertion) order and routes them between the
//! network, the hosts' TCP connections and the applications, reporting every step as a
//! typed [`Event`].

use std::sync::Arc;

use rustc_hash::FxHashMap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use smallvec::SmallVec;

use super::Scheduler;
use super::app::{App, Wait, close_is_error};
use super::prefetch::prefetch;
use super::tcb::Tcb;
use crate::net::{Driver, Network, Route};
use crate::rng;
use crate::scenario::model::{
    Action, Call, ConnSelector, FaultKind, Inject, NodeKind, Scenario, SeqExpr, SeqVar,
    ServerClose, ServerRead, TimedStep, client_starts,
};
use crate::tcp::closed::{ListenVerdict, listen_verdict, reset_for};
use crate::tcp::{
    Config, ConnEvent, ConnStats, Connection, Endpoint, IsnMode, Reopen, Segment, SendBuffer, Seq,
    State, Tag, TimeWait, Why,
};
use crate::trace::{
    AppEvent, CallError, Cause, ConnRef, Event, EventKind, Fate, Invariant, TcpNote,
};

/// Linux's gap between an old incarnation's SND.NXT and a new one's ISS (tcp_twsk_unique:
/// tw_snd_nxt + 65535 + 2), used when a 4-tuple is reused from TIME_WAIT.
const REUSE_SEQ_GAP: u32 = 65_537;

/// What the scheduler holds.
#[derive(Debug, Clone, Copy)]
enum Ev {
    /// A segment reaches `node` over the link from `from`.
    Arrive {
        from: u32,
        node: u32,
        seg: Segment,
        corrupt: bool,
        hint: Hint,
    },
    /// A segment held back by a delay fault enters the network from its host.
    Enter {
        node: u32,
        seg: Segment,
    },
    /// A connection's deadline; stale when `generation` no longer matches.
    ConnTimer {
        conn: u32,
        generation: u32,
    },
    ClientStart {
        client: u32,
    },
    AppWake {
        conn: u32,
    },
    LinkState {
        dir: u32,
        fault: u32,
        up: bool,
    },
    HostState {
        host: u32,
        fault: u32,
        up: bool,
    },
    Inject {
        index: u32,
    },
    /// A slow reader's next read.
    AppRead {
        conn: u32,
    },
    /// With `app_after_softirq`: what a segment delivered, for the application once every
    /// segment arriving at this instant has been through the TCP.
    AppNotify {
        conn: u32,
        ev: ConnEvent,
    },
    /// Timed step `step` of the application on connection `conn`.
    TimedStep {
        conn: u32,
        step: u32,
    },
    /// Timed step `step` of a client that could not open its connection.
    UnopenedTimedStep {
        client: u32,
        step: u32,
    },
}

/// Drives the network on the virtual clock: reports go to the trace at `now`, arrivals
/// and re-entries become queued events (in the order the network asks for them, so the
/// run is the same as when the world carried segments itself).
struct SimDriver<'s, 'a> {
    now: u64,
    /// Goes with every copy the network delivers.
    hint: Hint,
    queue: &'s mut Scheduler<Ev>,
    sink: &'s mut (dyn FnMut(&Event) + 'a),
    segments: &'s mut u64,
}

impl Driver for SimDriver<'_, '_> {
    fn emit(&mut self, seg: &Segment, from: u32, to: u32, fate: Fate) {
        let kind = EventKind::Segment {
            seg: *seg,
            from,
            to,
            fate,
        };
        (self.sink)(&Event { t: self.now, kind });
    }

    fn arrive(&mut self, at: u64, from: u32, node: u32, seg: &Segment, corrupt: bool) {
        let seg = *seg;
        self.queue.push(
            at,
            Ev::Arrive {
                from,
                node,
                seg,
                corrupt,
                hint: self.hint,
            },
        );
    }

    fn enter(&mut self, at: u64, node: u32, seg: &Segment) {
        self.queue.push(at, Ev::Enter { node, seg: *seg });
    }

    fn carried(&mut self) {
        *self.segments += 1;
    }
}

/// A connection's states with their times. A whole handshake and teardown (SYN_SENT to
/// CLOSED) is six entries, kept inline: no allocation per connection for its history.
pub type History = SmallVec<[(u64, State); 6]>;

/// Which connection a segment is likely for, carried with it so that its arrival can skip
/// the 4-tuple table (a cache miss per segment in a 100,000-host run). The receiver checks
/// the guess against the segment's endpoints, so a wrong or stale hint costs one table
/// lookup and never changes what happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hint {
    /// The sending connection's slot (`u32::MAX`: not sent by a connection).
    sender: u32,
    /// The slot the sender last heard from (`u32::MAX`: none yet).
    receiver: u32,
}

impl Hint {
    const NONE: Hint = Hint {
        sender: u32::MAX,
        receiver: u32::MAX,
    };
}

/// What a connection left behind, kept for the summary and the expectations.
#[derive(Debug, Clone)]
pub struct ConnRecord {
    pub host: u32,
    pub local: Endpoint,
    pub remote: Endpoint,
    /// Every state entered, with its time (the initial CLOSED/LISTEN is implied).
    pub history: History,
    pub stats: ConnStats,
    pub eof: bool,
    /// Deliveries that failed the integrity check.
    pub integrity_failures: u32,
}

impl ConnRecord {
    pub fn final_state(&self) -> State {
        self.history.last().map_or(State::Closed, |&(_, s)| s)
    }

    /// State at virtual time `t` (CLOSED before the first change).
    pub fn state_at(&self, t: u64) -> State {
        self.history
            .iter()
            .take_while(|&&(at, _)| at <= t)
            .last()
            .map_or(State::Closed, |&(_, s)| s)
    }
}

struct Slot {
    tcp: Option<Tcb>,
    /// What the application wrote, kept after the connection ended.
    /// (Boxed: 8 bytes in each of up to two million slots, where the buffer is 40.)
    sent: Option<Box<SendBuffer>>,
    host: u32,
    app: App,
    timer_at: Option<u64>,
    timer_gen: u32,
    /// The listener this connection counts against while in SYN_RECEIVED.
    listener: Option<Endpoint>,
    /// The connection at the other end, once seen (for the integrity check).
    peer: Option<u32>,
    /// The slot that last sent this connection a segment: most likely the one its own
    /// segments are for (see [`Hint`]).
    peer_hint: u32,
    /// Bytes of generated (not echoed) data written so far.
    generated: u64,
    /// The way to the remote address, looked up once for all the connection's segments
    /// (per-segment address and route lookups miss the cache in a million-host run).
    route: Route,
}

/// A host's run-time state: small, because a run may have a million hosts. The settings
/// are the scenario's (never copied), and the random stream for `isn = "random"` is made
/// on the first draw, so hosts that never draw pay nothing for it.
struct HostState<'a> {
    addr: u32,
    cfg: &'a Arc<Config>,
    isn_rng: Option<Box<ChaCha8Rng>>,
    next_port: u16,
    /// Crashed and not yet restarted.
    down: bool,
}

struct Listener {
    server: u32,
    pending: u32,
}

/// Figures about the run itself.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RunStats {
    pub events: u64,
    /// Segment passages over link directions.
    pub segments: u64,
    pub connections: u64,
    /// Active opens that found no free local port (ephemeral ports exhausted, or the
    /// bound port in use with the same peer).
    pub no_port: u64,
    /// SYNs a listener dropped because its backlog was full.
    pub backlog_full: u64,
}

/// Everything the run leaves for summaries and expectations.
pub struct Outcome {
    pub end_time: u64,
    pub conns: Vec<ConnRecord>,
    pub links: Vec<(u32, u32, crate::net::LinkStats)>,
    pub integrity_failures: u64,
    pub invariant_failures: u64,
    pub budget_exhausted: bool,
    /// The run stopped at `end_time` with events still to come (its duration, `--until`,
    /// or the event budget), so nothing after `end_time` is known; a run that ends because
    /// nothing is left to happen stays in its final state for ever.
    pub cut_short: bool,
    pub stats: RunStats,
}

pub struct World<'a> {
    sc: &'a Scenario,
    sink: &'a mut dyn FnMut(&Event),
    now: u64,
    queue: Scheduler<Ev>,
    net: Network,
    hosts: Vec<Option<HostState<'a>>>,
    slots: Vec<Slot>,
    /// What each connection leaves behind, beside its slot (same index) so that the
    /// outcome takes the records without copying them while the slots still exist.
    records: Vec<ConnRecord>,
    /// Whether a [`Hint`] that names a live connection with the segment's endpoints may be
    /// trusted: true until two live connections ever share a 4-tuple (an invariant
    /// failure), when the table's choice and the hint's could differ.
    hints_valid: bool,
    /// Lookups only (never iterated for output), so a fast non-cryptographic hash is safe.
    tuples: FxHashMap<(Endpoint, Endpoint), u32>,
    /// How many 4-tuples have been freed so far: a scan of the ephemeral range that
    /// found none free stays true until this moves.
    tuples_freed: u64,
    /// Per host, the peer for which the last scan found no free port and `tuples_freed`
    /// then (only hosts that ran out have an entry; looked up, never iterated).
    ports_exhausted: FxHashMap<u32, (Endpoint, u64)>,
    listeners: FxHashMap<Endpoint, Listener>,
    seg_scratch: Vec<Segment>,
    ev_scratch: Vec<ConnEvent>,
    stats: RunStats,
    integrity_failures: u64,
    invariant_failures: u64,
    /// The run stopped at its end time with events still queued.
    cut_short: bool,
    /// The run's seed, keying RFC 6528's ISN hash.
    seed: u64,
}

/// Runs `sc` with `seed` until `until` (or the scenario's duration, or until no event is
/// left), passing every event to `sink` as it happens.
pub fn run(sc: &Scenario, seed: u64, until: Option<u64>, sink: &mut dyn FnMut(&Event)) -> Outcome {
    let mut world = World::new(sc, seed, sink);
    let end = until.or(sc.duration).unwrap_or(u64::MAX);
    let budget_exhausted = world.run_until(end);
    world.finish(budget_exhausted)
}

impl<'a> World<'a> {
    fn new(sc: &'a Scenario, seed: u64, sink: &'a mut dyn FnMut(&Event)) -> Self {
        let hosts = sc
            .nodes
            .iter()
            .map(|n| match &n.kind {
                NodeKind::Host { addr, tcp } => Some(HostState {
                    addr: *addr,
                    cfg: tcp,
                    isn_rng: None,
                    next_port: tcp.ephemeral_ports.0,
                    down: false,
                }),
                NodeKind::Router => None,
            })
            .collect();
        let mut w = World {
            sc,
            sink,
            now: 0,
            queue: Scheduler::default(),
            net: Network::new(sc, seed),
            hosts,
            slots: Vec::new(),
            records: Vec::new(),
            hints_valid: true,
            tuples: FxHashMap::default(),
            tuples_freed: 0,
            ports_exhausted: FxHashMap::default(),
            listeners: FxHashMap::default(),
            seg_scratch: Vec::new(),
            ev_scratch: Vec::new(),
            stats: RunStats::default(),
            integrity_failures: 0,
            invariant_failures: 0,
            cut_short: false,
            seed,
        };
        w.schedule_setup();
        w
    }

    fn schedule_setup(&mut self) {
        for node in 0..self.hosts.len() as u32 {
            if self.hosts[node as usize].is_some() {
                self.start_servers(node);
            }
        }
        for (i, inject) in self.sc.injects.iter().enumerate() {
            self.queue.push(inject.at, Ev::Inject { index: i as u32 });
        }
        let starts = client_starts(&self.sc.clients, self.seed)
            .into_iter()
            .enumerate();
        self.queue.push_all(
            starts
                .map(|(i, t)| (t, Ev::ClientStart { client: i as u32 }))
                .collect(),
        );
        for (i, f) in self.sc.faults.iter().enumerate() {
            if let FaultKind::Partition {
                link,
                a_to_b,
                b_to_a,
                start,
                end,
            } = f.kind
            {
                for (dir, on) in [(2 * link as u32, a_to_b), (2 * link as u32 + 1, b_to_a)] {
                    if on {
                        self.queue.push(
                            start,
                            Ev::LinkState {
                                dir,
                                fault: i as u32,
                                up: false,
                            },
                        );
                        self.queue.push(
                            end,
                            Ev::LinkState {
                                dir,
                                fault: i as u32,
                                up: true,
                            },
                        );
                    }
                }
            }
            if let FaultKind::Crash { host, start, end } = f.kind {
                let (host, fault) = (host as u32, i as u32);
                self.queue.push(
                    start,
                    Ev::HostState {
                        host,
                        fault,
                        up: false,
                    },
                );
                if let Some(end) = end {
                    self.queue.push(
                        end,
                        Ev::HostState {
                            host,
                            fault,
                            up: true,
                        },
                    );
                }
            }
        }
    }

    /// Opens the listening sockets of every `[[server]]` on `node`.
    fn start_servers(&mut self, node: u32) {
        let addr = self.host(node).addr;
        for (i, s) in self
            .sc
            .servers
            .iter()
            .enumerate()
            .filter(|(_, s)| s.host as u32 == node)
        {
            let ep = Endpoint { addr, port: s.port };
            self.listeners.insert(
                ep,
                Listener {
                    server: i as u32,
                    pending: 0,
                },
            );
            self.emit(EventKind::App {
                host: node,
                conn: None,
                what: AppEvent::Listen { port: s.port },
            });
        }
    }

    /// Returns true when the event budget ran out.
    fn run_until(&mut self, end: u64) -> bool {
        while let Some(t) = self.queue.peek_time() {
            // A time that saturated at 2^64 - 1 ns lies past the end of the clock: such an
            // event never happens, and the clock stays at the last one that did.
            if t == u64::MAX {
                self.cut_short = true;
                break;
            }
            if t > end {
                self.now = end;
                self.cut_short = true;
                break;
            }
            if self.stats.events >= self.sc.max_events {
                self.emit(EventKind::Budget {
                    limit: self.sc.max_events,
                });
                return true;
            }
            let Some((t, ev)) = self.queue.pop() else {
                break;
            };
            if self.timer_not_due(t, &ev) {
                continue;
            }
            self.now = t;
            self.stats.events += 1;
            self.dispatch(ev);
        }
        false
    }

    /// A timer entry with nothing due: superseded by an earlier one, its connection gone,
    /// or its deadline moved later (then it is queued again for the new deadline). It is
    /// skipped without moving the clock, so the run ends at its last real event.
    fn timer_not_due(&mut self, t: u64, ev: &Ev) -> bool {
        let Ev::ConnTimer { conn, generation } = *ev else {
            return false;
        };
        let slot = &mut self.slots[conn as usize];
        let Some(tcp) = slot.tcp.as_ref().filter(|_| slot.timer_gen == generation) else {
            return true;
        };
        match tcp.poll_timeout() {
            Some(due) if due <= t => false,
            later => {
                slot.timer_at = later;
                if let Some(due) = later {
                    self.queue.push(due, Ev::ConnTimer { conn, generation });
                }
                true
            }
        }
    }

    fn dispatch(&mut self, ev: Ev) {
        match ev {
            Ev::Arrive {
                from,
                node,
                seg,
                corrupt,
                hint,
            } => self.on_arrive(from, node, seg, corrupt, hint),
            Ev::Enter { node, seg } => self.route_from(node, seg, Fate::default(), false),
            Ev::ConnTimer { conn, .. } => {
                let slot = &mut self.slots[conn as usize];
                if let Some(tcp) = slot.tcp.as_mut() {
                    slot.timer_at = None;
                    tcp.handle_timeout(self.now, &mut self.ev_scratch);
                    self.after_conn(conn);
                }
            }
            Ev::ClientStart { client } => self.start_client(client),
            Ev::AppNotify { conn, ev } => {
                self.notify_app(conn, ev);
                self.after_conn(conn);
            }
            Ev::AppWake { conn } => {
                if let App::Client { wait, .. } = &mut self.slots[conn as usize].app {
                    *wait = Wait::Running;
                }
                self.run_client(conn);
                self.after_conn(conn);
            }
            Ev::LinkState { dir, fault, up } => {
                let d = self.net.dir_mut(dir);
                d.set_down_by((!up).then_some(fault));
                let (from, to) = (self.net.from_of(dir), self.net.dir(dir).to);
                self.emit(EventKind::Link {
                    from,
                    to,
                    up,
                    fault,
                });
            }
            Ev::HostState { host, fault, up } => {
                if up {
                    self.restart_host(host, fault);
                } else {
                    self.crash_host(host, fault);
                }
            }
            Ev::Inject { index } => self.inject(index),
            Ev::AppRead { conn } => {
                self.on_app_read(conn);
                self.after_conn(conn);
            }
            Ev::TimedStep { conn, step } => self.on_timed_step(conn, step),
            Ev::UnopenedTimedStep { client, step } => self.on_unopened_timed_step(client, step),
        }
    }

    // ----- network ----------------------------------------------------------------------

    fn on_arrive(&mut self, from: u32, node: u32, seg: Segment, corrupt: bool, hint: Hint) {
        // The host, the hinted slot and its record are three independent cache misses in a
        // large run: started together here, they overlap.
        if let Some(host) = self.hosts.get(node as usize) {
            prefetch(host);
        }
        if let Some(slot) = self.slots.get(hint.receiver as usize) {
            prefetch(slot);
            prefetch(&self.records[hint.receiver as usize]);
        }
        match self.hosts[node as usize].as_ref() {
            // The receiver's checksum check discards a corrupted segment (reported at the link).
            Some(_) if corrupt => {}
            Some(h) if h.down => {
                let fault = self.crash_fault_of(node);
                self.emit_segment(seg, from, node, Fate::dropped(Cause::HostDown(fault)));
            }
            Some(h) if h.addr == seg.dst.addr => self.deliver(node, seg, hint),
            Some(_) => {}
            None => {
                let (net, mut driver) = self.driver(hint);
                net.route_from(driver.now, node, &seg, Fate::default(), false, &mut driver);
            }
        }
    }

    /// A host sends a segment: the network's fault chain, then its links (`net::carry`).
    fn transmit(&mut self, node: u32, seg: Segment) {
        let (net, mut driver) = self.driver(Hint::NONE);
        net.transmit(driver.now, node, &seg, &mut driver);
    }

    /// Puts `seg` on the next link from `node` towards its destination (`net::carry`).
    fn route_from(&mut self, node: u32, seg: Segment, extra: Fate, always: bool) {
        let (net, mut driver) = self.driver(Hint::NONE);
        net.route_from(driver.now, node, &seg, extra, always, &mut driver);
    }

    /// The network and the driver that feeds its verdicts into this run's queue and trace.
    fn driver(&mut self, hint: Hint) -> (&mut Network, SimDriver<'_, 'a>) {
        let driver = SimDriver {
            now: self.now,
            hint,
            queue: &mut self.queue,
            sink: &mut *self.sink,
            segments: &mut self.stats.segments,
        };
        (&mut self.net, driver)
    }

    // ----- hosts ------------------------------------------------------------------------

    fn host(&self, node: u32) -> &HostState<'a> {
        self.hosts[node as usize]
            .as_ref()
            .expect("scenario validation guarantees a host")
    }

    fn host_mut(&mut self, node: u32) -> &mut HostState<'a> {
        self.hosts[node as usize]
            .as_mut()
            .expect("scenario validation guarantees a host")
    }

    /// A segment for this host: its connection, else a listener, else the CLOSED rules.
    fn deliver(&mut self, node: u32, seg: Segment, hint: Hint) {
        let mut reopening = None;
        if let Some(id) = self.conn_for(&seg, hint) {
            let Some(tcp) = self.slots[id as usize].tcp.as_mut() else {
                return;
            };
            match tcp.time_wait_reopen(&seg) {
                // RFC 1122 §4.2.2.13 / RFC 6191: the new incarnation's ISS must lie above
                // every sequence number of the old one; the old record comes back if the
                // SYN proves an old duplicate. (The listener is looked up only here, not
                // for every segment.)
                Reopen::Accept if self.listeners.contains_key(&seg.dst) => {
                    let floor = tcp.variables().0 + REUSE_SEQ_GAP;
                    reopening = tcp.time_wait_record().map(|tw| (floor, tw));
                    self.end_conn(id, TcpNote::Reopened);
                }
                Reopen::Drop => return,
                _ => {
                    tcp.handle_segment(self.now, &seg, &mut self.seg_scratch, &mut self.ev_scratch);
                    self.after_conn(id);
                    return;
                }
            }
        }
        if let Some(listener) = self.listeners.get(&seg.dst) {
            match listen_verdict(&seg) {
                ListenVerdict::Ignore => {}
                ListenVerdict::Reset(rst) => self.transmit(node, rst),
                ListenVerdict::Accept => {
                    let server = listener.server;
                    if listener.pending >= self.sc.servers[server as usize].backlog {
                        self.stats.backlog_full += 1;
                        let what = AppEvent::BacklogFull { port: seg.dst.port };
                        self.emit(EventKind::App {
                            host: node,
                            conn: None,
                            what,
                        });
                        return;
                    }
                    self.accept(node, server, seg, reopening);
                }
            }
            return;
        }
        if let Some(rst) = reset_for(&seg) {
            self.transmit(node, rst);
        }
    }

    /// The live connection a segment is for: the one the sender's hint names if its
    /// endpoints match, else the 4-tuple table's; the connection learns the sender's id as
    /// its own hint for the way back.
    fn conn_for(&mut self, seg: &Segment, hint: Hint) -> Option<u32> {
        let tuple = (seg.dst, seg.src);
        let hinted = self.hints_valid
            && self.slots.get(hint.receiver as usize).is_some_and(|slot| {
                // What the segment and the reply will touch next, before the compare waits.
                if let Some(first) = slot.route.first() {
                    prefetch(self.net.dir(first));
                }
                let tcp = slot.tcp.as_ref();
                tcp.inspect(|tcp| tcp.prefetch())
                    .is_some_and(|tcp| tcp.endpoints() == tuple)
            });
        let id = if hinted {
            hint.receiver
        } else {
            *self.tuples.get(&tuple)?
        };
        let slot = &mut self.slots[id as usize];
        if hint.sender != Hint::NONE.sender && slot.peer_hint != hint.sender {
            slot.peer_hint = hint.sender;
        }
        Some(id)
    }

    /// A listener takes `syn`; `reopening` is the ISS floor and the record of the TIME_WAIT
    /// connection whose 4-tuple the SYN reopens.
    fn accept(&mut self, node: u32, server: u32, syn: Segment, reopening: Option<(Seq, TimeWait)>) {
        let id = self.slots.len() as u32;
        let floor = reopening.as_ref().map(|(floor, _)| *floor);
        let iss = self.initial_seq(node, syn.dst, syn.src, floor);
        let cfg = self.host(node).cfg;
        let tcp = match reopening {
            Some((_, old)) => {
                Connection::accept_reopening(self.now, &syn, iss, cfg, stream_of(id), old)
            }
            None => Connection::accept(self.now, &syn, iss, cfg, stream_of(id)),
        };
        if let Some(l) = self.listeners.get_mut(&syn.dst) {
            l.pending += 1;
        }
        self.add_conn(
            node,
            tcp,
            App::Server {
                server,
                replies: 0,
                reading: false,
                closed: false,
            },
            Some(syn.dst),
        );
        let steps = &self.sc.servers[server as usize].actions;
        self.schedule_timed(steps, |step| Ev::TimedStep { conn: id, step });
    }

    /// The client's active OPEN, which its timed steps are timed from (when it cannot
    /// open, they report that there is no connection).
    fn start_client(&mut self, client: u32) {
        let c = &self.sc.clients[client as usize];
        let unopened = |step| Ev::UnopenedTimedStep { client, step };
        let node = c.host as u32;
        if self.host(node).down {
            self.schedule_timed(&c.timed, unopened);
            return;
        }
        let remote = Endpoint {
            addr: self.host(c.remote as u32).addr,
            port: c.remote_port,
        };
        let addr = self.host(node).addr;
        let port = match c.local_port {
            Some(p) => self
                .port_free(Endpoint { addr, port: p }, remote)
                .then_some(p),
            None => self.ephemeral_port(node, remote),
        };
        let Some(port) = port else {
            self.stats.no_port += 1;
            let what = AppEvent::PortUnavailable {
                port: c.local_port.unwrap_or(0),
            };
            self.emit(EventKind::App {
                host: node,
                conn: None,
                what,
            });
            self.schedule_timed(&c.timed, unopened);
            return;
        };
        let id = self.slots.len() as u32;
        let local = Endpoint { addr, port };
        let iss_floor = self.take_over_time_wait(local, remote);
        let iss = self.initial_seq(node, local, remote, iss_floor);
        let tcp = Connection::connect(
            self.now,
            local,
            remote,
            iss,
            self.host(node).cfg,
            stream_of(id),
        );
        let conn = ConnRef {
            id,
            host: node,
            local,
            remote,
        };
        self.emit(EventKind::App {
            host: node,
            conn: Some(conn),
            what: AppEvent::Connect,
        });
        self.add_conn(
            node,
            tcp,
            App::Client {
                client,
                step: 0,
                wait: Wait::Established,
            },
            None,
        );
        self.schedule_timed(&c.timed, |step| Ev::TimedStep { conn: id, step });
    }

    /// The next usable port of the host's ephemeral range for a connection to `remote`,
    /// scanning on from the last one handed out. Once a scan has found none, the next
    /// attempt fails at once until some 4-tuple is freed (a port exhausted by TIME_WAIT
    /// would otherwise cost a scan of the whole range per attempt); with tw_reuse, whether
    /// a port is free depends on the time, so every attempt scans.
    fn ephemeral_port(&mut self, node: u32, remote: Endpoint) -> Option<u16> {
        let (lo, hi) = self.host(node).cfg.ephemeral_ports;
        let memo = !self.host(node).cfg.tw_reuse;
        if memo && self.ports_exhausted.get(&node) == Some(&(remote, self.tuples_freed)) {
            return None;
        }
        let addr = self.host(node).addr;
        for _ in lo..=hi {
            let host = self.host_mut(node);
            let port = host.next_port;
            host.next_port = if port >= hi { lo } else { port + 1 };
            if self.port_free(Endpoint { addr, port }, remote) {
                return Some(port);
            }
        }
        if memo {
            self.ports_exhausted
                .insert(node, (remote, self.tuples_freed));
        }
        None
    }

    /// A local endpoint can connect to `remote` unless a listener holds the port or a
    /// connection holds the 4-tuple (TIME_WAIT included, unless tcp_tw_reuse lets the
    /// new connection take it over).
    fn port_free(&self, local: Endpoint, remote: Endpoint) -> bool {
        if self.listeners.contains_key(&local) {
            return false;
        }
        let Some(&id) = self.tuples.get(&(local, remote)) else {
            return true;
        };
        let tcp = self.slots[id as usize].tcp.as_ref();
        tcp.is_some_and(|t| t.reusable_from_time_wait(self.now))
    }

    /// Ends a TIME_WAIT connection whose 4-tuple a new connect() takes over, returning
    /// the floor for the new ISS (Linux: the old SND.NXT + 65535 + 2).
    fn take_over_time_wait(&mut self, local: Endpoint, remote: Endpoint) -> Option<Seq> {
        let &id = self.tuples.get(&(local, remote))?;
        let floor = self.slots[id as usize].tcp.as_ref()?.variables().0 + REUSE_SEQ_GAP;
        self.end_conn(id, TcpNote::TimeWaitReused);
        Some(floor)
    }

    /// The ISS for a new connection: RFC 6528's clock plus keyed hash, or random; above
    /// `floor` when a previous incarnation of the 4-tuple left one.
    fn initial_seq(
        &mut self,
        node: u32,
        local: Endpoint,
        remote: Endpoint,
        floor: Option<Seq>,
    ) -> Seq {
        let (now, seed, sc) = (self.now, self.seed, self.sc);
        let host = self.host_mut(node);
        let iss = match host.cfg.isn {
            // RFC 6528 §3: ISN = M + F(localip, localport, remoteip, remoteport, secretkey),
            // M a timer ticking every 4 microseconds.
            // Linux's secure_tcp_seq: the same with a 64 ns clock.
            IsnMode::Rfc6528 | IsnMode::Linux => {
                let mut tuple = [0u8; 12];
                tuple[..4].copy_from_slice(&local.addr.to_be_bytes());
                tuple[4..6].copy_from_slice(&local.port.to_be_bytes());
                tuple[6..10].copy_from_slice(&remote.addr.to_be_bytes());
                tuple[10..].copy_from_slice(&remote.port.to_be_bytes());
                let clock = if host.cfg.isn == IsnMode::Linux {
                    now >> 6
                } else {
                    now / 4_000
                };
                Seq(clock as u32) + rng::keyed_hash(seed, "isn-secret", &tuple)
            }
            IsnMode::Random => {
                let name = &sc.nodes[node as usize].name;
                let rng = host
                    .isn_rng
                    .get_or_insert_with(|| Box::new(rng::stream(seed, &format!("isn:{name}"))));
                Seq(rng.random())
            }
        };
        match floor {
            // tcp_twsk_unique / tcp_timewait_state_process: exactly there (0 becomes 1).
            Some(f) if host.cfg.isn == IsnMode::Linux => {
                if f == Seq(0) {
                    Seq(1)
                } else {
                    f
                }
            }
            Some(f) if iss.lt(f) => f,
            _ => iss,
        }
    }

    fn add_conn(&mut self, node: u32, tcp: Connection, app: App, listener: Option<Endpoint>) {
        let id = self.slots.len() as u32;
        let (local, remote) = (tcp.local, tcp.remote);
        if let Some(old) = self.tuples.insert((local, remote), id) {
            // Invariant: no two live connections share a 4-tuple.
            self.invariant_failures += 1;
            self.hints_valid = false;
            let conn = ConnRef {
                id: old,
                host: node,
                local,
                remote,
            };
            self.emit(EventKind::Invariant {
                conn,
                what: Invariant::DuplicateFourTuple,
            });
        }
        self.stats.connections += 1;
        self.records.push(ConnRecord {
            host: node,
            local,
            remote,
            history: History::new(),
            stats: ConnStats::default(),
            eof: false,
            integrity_failures: 0,
        });
        self.slots.push(Slot {
            tcp: Some(Tcb::Open(Box::new(tcp))),
            sent: None,
            host: node,
            app,
            timer_at: None,
            timer_gen: 0,
            listener,
            peer: None,
            peer_hint: Hint::NONE.receiver,
            generated: 0,
            route: self.net.route(node, remote.addr),
        });
        self.after_conn(id);
    }

    fn conn_ref(&self, id: u32) -> ConnRef {
        let r = &self.records[id as usize];
        ConnRef {
            id,
            host: r.host,
            local: r.local,
            remote: r.remote,
        }
    }

    /// Drains a connection's outputs until it is quiet: reports its events, sends its
    /// segments, then lets the application react (which may queue more); then re-arms
    /// its timer or retires it.
    fn after_conn(&mut self, id: u32) {
        let mut segs = std::mem::take(&mut self.seg_scratch);
        let mut evs = std::mem::take(&mut self.ev_scratch);
        let (node, route) = {
            let slot = &self.slots[id as usize];
            (slot.host, slot.route)
        };
        while let Some(tcp) = self.slots[id as usize].tcp.as_mut() {
            tcp.drain(&mut segs, &mut evs);
            if evs.is_empty() && segs.is_empty() {
                break;
            }
            for &ev in &evs {
                self.report_conn_event(id, ev);
            }
            let hint = Hint {
                sender: id,
                receiver: self.slots[id as usize].peer_hint,
            };
            for seg in segs.drain(..) {
                let (net, mut driver) = self.driver(hint);
                net.transmit_via(driver.now, node, route, &seg, &mut driver);
            }
            for ev in evs.drain(..) {
                self.react_to_conn_event(id, ev);
            }
        }
        self.seg_scratch = segs;
        self.ev_scratch = evs;
        self.settle(id);
    }

    /// Re-arms the connection's timer when its deadline came earlier than the queued one;
    /// retires it once CLOSED. A deadline that moved later (an RTO restarted by each ACK)
    /// keeps the queued entry: it fires early, finds nothing due and re-arms, which costs
    /// far fewer queue operations than a new entry per ACK.
    fn settle(&mut self, id: u32) {
        let slot = &mut self.slots[id as usize];
        let Some(tcp) = slot.tcp.as_mut() else { return };
        if matches!(tcp.state(), State::Closed | State::Listen) {
            self.retire(id);
            return;
        }
        // A connection in TIME_WAIT with nothing left for its application to read keeps
        // only its compact record; the full control block is freed.
        if let Tcb::Open(conn) = tcp
            && let Some(tw) = conn.time_wait().filter(|_| conn.unread() == 0).cloned()
        {
            let mut base = conn.stats();
            base.segments_sent -= tw.segments_sent as u64;
            self.records[id as usize].stats = base;
            let Some(Tcb::Open(conn)) = slot.tcp.replace(Tcb::TimeWait(Box::new(tw))) else {
                return;
            };
            slot.sent = Some(Box::new(conn.into_send_buffer()));
        }
        let Some(next) = slot.tcp.as_ref().and_then(Tcb::poll_timeout) else {
            return;
        };
        if slot.timer_at.is_none_or(|queued| next < queued) {
            slot.timer_at = Some(next);
            slot.timer_gen = slot.timer_gen.wrapping_add(1);
            self.queue.push(
                next,
                Ev::ConnTimer {
                    conn: id,
                    generation: slot.timer_gen,
                },
            );
        }
    }

    /// Removes a connection from the host's tables, keeping its record and what its
    /// application wrote (for the integrity check of data still in flight).
    fn retire(&mut self, id: u32) {
        let slot = &mut self.slots[id as usize];
        let Some(tcp) = slot.tcp.take() else { return };
        self.records[id as usize].stats = tcp.stats(self.records[id as usize].stats);
        let (local, remote) = tcp.endpoints();
        if let Tcb::Open(conn) = tcp {
            slot.sent = Some(Box::new(conn.into_send_buffer()));
        }
        if self.tuples.get(&(local, remote)) == Some(&id) {
            self.tuples.remove(&(local, remote));
            self.tuples_freed += 1;
        }
        // With both ends retired no more data is delivered on either, so neither's record
        // of what it sent is needed for the integrity check any longer.
        if let Some(peer) = self.slots[id as usize].peer
            && self.slots[peer as usize].tcp.is_none()
        {
            self.slots[id as usize].sent = None;
            self.slots[peer as usize].sent = None;
        }
    }

    // ----- crashes and injected segments -----------------------------------------------

    fn crash_fault_of(&self, node: u32) -> u32 {
        let crash =
            |f: &FaultKind| matches!(f, FaultKind::Crash { host, .. } if *host as u32 == node);
        self.sc
            .faults
            .iter()
            .position(|f| crash(&f.kind))
            .unwrap_or(0) as u32
    }

    /// The host loses every connection and listener without sending anything.
    fn crash_host(&mut self, node: u32, fault: u32) {
        self.host_mut(node).down = true;
        self.emit(EventKind::Host {
            host: node,
            up: false,
            fault,
        });
        let addr = self.host(node).addr;
        self.listeners.retain(|ep, _| ep.addr != addr);
        for id in 0..self.slots.len() as u32 {
            let slot = &self.slots[id as usize];
            if slot.tcp.is_some() && slot.host == node {
                self.force_closed(id, Why::HostCrash);
            }
        }
    }

    /// Reports `note`, then deletes the connection (a new incarnation takes its 4-tuple).
    fn end_conn(&mut self, id: u32, note: TcpNote) {
        let conn = self.conn_ref(id);
        self.emit(EventKind::Tcp { conn, note });
        let why = if note == TcpNote::Reopened {
            Why::TimeWaitReopen
        } else {
            Why::TimeWaitReuse
        };
        self.force_closed(id, why);
    }

    /// Deletes a connection from outside its state machine (a crash, a reused 4-tuple).
    fn force_closed(&mut self, id: u32, why: Why) {
        let Some(from) = self.slots[id as usize].tcp.as_ref().map(Tcb::state) else {
            return;
        };
        self.records[id as usize]
            .history
            .push((self.now, State::Closed));
        let conn = self.conn_ref(id);
        self.emit(EventKind::State {
            conn,
            from,
            to: State::Closed,
            why,
        });
        self.retire(id);
    }

    /// The host comes back with no connections; its servers listen again.
    fn restart_host(&mut self, node: u32, fault: u32) {
        let host = self.host_mut(node);
        host.down = false;
        host.next_port = host.cfg.ephemeral_ports.0;
        self.emit(EventKind::Host {
            host: node,
            up: true,
            fault,
        });
        self.start_servers(node);
    }

    /// The first live connection `sel` selects, in creation order.
    fn find_live(&self, sel: ConnSelector) -> Option<&Tcb> {
        self.slots
            .iter()
            .filter_map(|s| s.tcp.as_ref().map(|t| (s, t)))
            .find_map(|(s, t)| {
                sel.matches(s.host as usize, t.endpoints().0.port)
                    .then_some(t)
            })
    }

    /// Sends an `[[inject]]` segment into the network from its node.
    fn inject(&mut self, index: u32) {
        let inj: &Inject = &self.sc.injects[index as usize];
        let from = inj.from as u32;
        let target = inj.target.and_then(|sel| self.find_live(sel));
        if inj.target.is_some() && target.is_none() {
            self.emit(EventKind::Inject {
                index,
                seg: None,
                from,
            });
            return;
        }
        let value = |e: SeqExpr| match (e, target) {
            (SeqExpr::Absolute(n), _) => Seq(n),
            (SeqExpr::Relative(var, off), Some(t)) => {
                let (snd_nxt, snd_una, rcv_nxt, iss, irs) = t.variables();
                let base = match var {
                    SeqVar::RcvNxt => rcv_nxt,
                    SeqVar::SndNxt => snd_nxt,
                    SeqVar::SndUna => snd_una,
                    SeqVar::Iss => iss,
                    SeqVar::Irs => irs,
                };
                Seq(base.0.wrapping_add(off as u32))
            }
            // The loader requires `conn` for relative values.
            (SeqExpr::Relative(..), None) => Seq(0),
        };
        let endpoint = |(node, port): (usize, u16)| Endpoint {
            addr: self.host(node as u32).addr,
            port,
        };
        let seg = Segment {
            src: inj
                .src
                .map(endpoint)
                .or(target.map(|t| t.endpoints().1))
                .unwrap_or_default(),
            dst: inj
                .dst
                .map(endpoint)
                .or(target.map(|t| t.endpoints().0))
                .unwrap_or_default(),
            seq: value(inj.seq),
            ack: value(inj.ack),
            flags: inj.flags,
            wnd: inj.window,
            len: inj.len,
            tag: Tag::default(),
            mss: inj.mss,
            wscale: None,
            ts: None,
            why: Why::Injected,
            ..Segment::default()
        };
        self.emit(EventKind::Inject {
            index,
            seg: Some(seg),
            from,
        });
        if self.hosts[from as usize]
            .as_ref()
            .is_some_and(|h| h.addr == seg.dst.addr)
        {
            self.deliver(from, seg, Hint::NONE);
        } else {
            self.route_from(from, seg, Fate::default(), false);
        }
    }

    /// Records and reports what the connection said (first, for a whole batch, so the
    /// transcript shows the TCP's view before the application's reaction).
    fn report_conn_event(&mut self, id: u32, ev: ConnEvent) {
        let conn = self.conn_ref(id);
        let tcp = |note| EventKind::Tcp { conn, note };
        let app_event = |what| EventKind::App {
            host: conn.host,
            conn: Some(conn),
            what,
        };
        let kind = match ev {
            ConnEvent::StateChange { from, to, why } => {
                self.records[id as usize].history.push((self.now, to));
                self.emit(EventKind::State {
                    conn,
                    from,
                    to,
                    why,
                });
                if from == State::SynReceived
                    && let Some(l) = self.slots[id as usize].listener
                    && let Some(l) = self.listeners.get_mut(&l)
                {
                    l.pending = l.pending.saturating_sub(1);
                }
                let server = matches!(self.slots[id as usize].app, App::Server { .. });
                if to == State::Established && server {
                    app_event(AppEvent::Accept)
                } else {
                    return;
                }
            }
            ConnEvent::Data { len, tag } => {
                self.check_integrity(id, len, tag);
                self.records[id as usize].stats.bytes_delivered += len as u64;
                app_event(AppEvent::Receive { bytes: len })
            }
            ConnEvent::Eof => {
                self.records[id as usize].eof = true;
                app_event(AppEvent::Eof)
            }
            ConnEvent::Reset { refused: true } => app_event(AppEvent::Refused),
            ConnEvent::Reset { refused: false } => app_event(AppEvent::Reset),
            ConnEvent::TimedOut => app_event(AppEvent::TimedOut),
            ConnEvent::Retransmit { rto, attempt } => tcp(TcpNote::Retransmit { attempt, rto }),
            ConnEvent::ResetQuietly { state } => tcp(TcpNote::ResetInState(state)),
            ConnEvent::TimeWaitExpired => tcp(TcpNote::TimeWaitExpired),
            ConnEvent::TimeWaitRestart { fin } => tcp(TcpNote::TimeWaitRestart { fin }),
            ConnEvent::PawsRejected => tcp(TcpNote::PawsRejected),
            ConnEvent::ChallengeAck { suppressed } => tcp(TcpNote::ChallengeAck { suppressed }),
            ConnEvent::RstIgnored => tcp(TcpNote::RstIgnored),
            ConnEvent::FinWait2Timeout => tcp(TcpNote::FinWait2Timeout),
            ConnEvent::Congestion {
                phase,
                cwnd,
                ssthresh,
            } => tcp(TcpNote::Congestion {
                phase,
                cwnd,
                ssthresh,
            }),
            ConnEvent::WindowProbe { old_seq } => tcp(TcpNote::WindowProbe { old_seq }),
        };
        self.emit(kind);
    }

    /// The application's reaction to what the connection said: now, or with
    /// `app_after_softirq` once the segments of this instant are through.
    fn react_to_conn_event(&mut self, id: u32, ev: ConnEvent) {
        let for_app = matches!(
            ev,
            ConnEvent::Data { .. }
                | ConnEvent::Eof
                | ConnEvent::StateChange {
                    to: State::Established,
                    ..
                }
        );
        if for_app && self.app_after_softirq(id) {
            self.queue.push(self.now, Ev::AppNotify { conn: id, ev });
        } else {
            self.notify_app(id, ev);
        }
    }

    fn notify_app(&mut self, id: u32, ev: ConnEvent) {
        match ev {
            ConnEvent::StateChange {
                to: State::Established,
                ..
            } => {
                if let App::Client { wait, .. } = &mut self.slots[id as usize].app {
                    *wait = Wait::Running;
                    self.run_client(id);
                }
            }
            ConnEvent::Data { len, tag } => self.on_app_data(id, len, tag),
            ConnEvent::Eof => self.on_app_eof(id),
            _ => {}
        }
    }

    /// Whether the host runs its applications after the segments of an instant (Linux:
    /// the softirq handles a burst of packets before the woken process runs).
    fn app_after_softirq(&self, id: u32) -> bool {
        let node = self.slots[id as usize].host;
        self.host(node).cfg.app_after_softirq
    }

    // ----- integrity --------------------------------------------------------------------

    /// Delivered bytes must be exactly what the peer's application wrote at this offset.
    fn check_integrity(&mut self, id: u32, len: u32, tag: Tag) {
        let offset = self.records[id as usize].stats.bytes_delivered;
        let peer = match self.slots[id as usize].peer {
            Some(p) => Some(p),
            None => {
                let r = &self.records[id as usize];
                let p = self.tuples.get(&(r.remote, r.local)).copied();
                self.slots[id as usize].peer = p;
                // Both ways, so whichever end retires last can free both send records.
                if let Some(p) = p {
                    self.slots[p as usize].peer.get_or_insert(id);
                }
                p
            }
        };
        let Some(peer) = peer else { return };
        let slot = &self.slots[peer as usize];
        let Some(sent) = slot
            .tcp
            .as_ref()
            .and_then(|t| match t {
                Tcb::Open(c) => Some(c.send_buffer()),
                Tcb::TimeWait(_) => None,
            })
            .or(slot.sent.as_deref())
        else {
            return;
        };
        if sent.tag_at(offset) != tag || sent.run_len_at(offset) < len {
            self.integrity_failures += 1;
            self.records[id as usize].integrity_failures += 1;
            let conn = self.conn_ref(id);
            self.emit(EventKind::Integrity { conn, offset, len });
        }
    }

    // ----- applications -----------------------------------------------------------------

    /// Reports what the application on connection `id` did or was told.
    fn emit_app(&mut self, id: u32, what: AppEvent) {
        let conn = self.conn_ref(id);
        self.emit(EventKind::App {
            host: conn.host,
            conn: Some(conn),
            what,
        });
    }

    /// SEND; false when the connection refused it (after CLOSE, or not open).
    fn app_send(&mut self, id: u32, bytes: u64, tag: Option<Tag>) -> bool {
        let slot = &mut self.slots[id as usize];
        let tag = tag.unwrap_or_else(|| Tag::new(stream_of(id), slot.generated));
        let Some(tcp) = slot.tcp.as_mut().and_then(Tcb::open_mut) else {
            return false;
        };
        if !tcp.send(self.now, bytes, tag) {
            return false;
        }
        if tag.stream() == stream_of(id) {
            slot.generated += bytes;
        }
        self.emit_app(id, AppEvent::Send { bytes });
        true
    }

    /// Makes `call` on the open connection `id` and reports it, as script steps, timed
    /// steps and servers all do. False when nothing happened and nothing was reported: no
    /// open connection, or a SEND the connection refused.
    fn app_do(&mut self, id: u32, call: Call) -> bool {
        let slot = &mut self.slots[id as usize];
        let Some(tcp) = slot.tcp.as_mut().and_then(Tcb::open_mut) else {
            return false;
        };
        let what = match call {
            Call::Send(n) => return self.app_send(id, n, None),
            Call::Read(max) => {
                let bytes = tcp.read(self.now, max.unwrap_or(u64::MAX));
                self.emit_app(id, AppEvent::Read { bytes });
                self.close_when_read_to_eof(id);
                return true;
            }
            Call::Abort => {
                let rst = tcp.abort();
                AppEvent::Abort { rst }
            }
            Call::Shutdown | Call::Close => {
                if call == Call::Close {
                    tcp.close_and_stop_reading(self.now);
                } else {
                    tcp.close(self.now);
                }
                if let App::Server { closed, .. } = &mut slot.app {
                    *closed = true;
                }
                if call == Call::Close {
                    AppEvent::Close
                } else {
                    AppEvent::Shutdown
                }
            }
        };
        self.emit_app(id, what);
        true
    }

    /// Queues `steps` for the application that has just opened its connection: each runs
    /// its DUR from now, and same-time steps in written order (the queue keeps insertion
    /// order within an instant).
    fn schedule_timed(&mut self, steps: &[TimedStep], ev: impl Fn(u32) -> Ev) {
        for (i, step) in steps.iter().enumerate() {
            self.queue
                .push(self.now.saturating_add(step.at), ev(i as u32));
        }
    }

    /// A timed step of connection `id`'s application, in whatever state it is: RFC 9293
    /// §3.10.2–3.10.5 say what each call does in each state.
    fn on_timed_step(&mut self, id: u32, step: u32) {
        let call = match self.slots[id as usize].app {
            App::Client { client, .. } => self.sc.clients[client as usize].timed[step as usize],
            App::Server { server, .. } => self.sc.servers[server as usize].actions[step as usize],
        }
        .call;
        let skipped = |error| AppEvent::Skipped { call, error };
        match self.slots[id as usize].tcp.as_ref() {
            None => self.emit_app(id, skipped(CallError::NoConnection)),
            // The compact record: "CLOSING, LAST-ACK, TIME-WAIT: respond with ok and delete
            // the TCB" (ABORT, §3.10.5); any other call gets "error: connection closing".
            Some(Tcb::TimeWait(_)) if call == Call::Abort => {
                self.emit_app(id, AppEvent::Abort { rst: false });
                self.force_closed(id, Why::AbortSilently);
            }
            Some(Tcb::TimeWait(_)) => self.emit_app(id, skipped(CallError::Closing)),
            Some(tcp @ Tcb::Open(_)) => {
                let closing =
                    matches!(call, Call::Close | Call::Shutdown) && close_is_error(tcp.state());
                if closing || !self.app_do(id, call) {
                    self.emit_app(id, skipped(CallError::Closing));
                }
                self.after_conn(id);
            }
        }
    }

    /// A timed step of a client that never got a connection (no free port, host down).
    fn on_unopened_timed_step(&mut self, client: u32, step: u32) {
        let c = &self.sc.clients[client as usize];
        let what = AppEvent::Skipped {
            call: c.timed[step as usize].call,
            error: CallError::NoConnection,
        };
        self.emit(EventKind::App {
            host: c.host as u32,
            conn: None,
            what,
        });
    }

    fn on_app_data(&mut self, id: u32, len: u32, tag: Tag) {
        match self.slots[id as usize].app {
            App::Server {
                server, reading, ..
            } => {
                let s = &self.sc.servers[server as usize];
                let (echo, reply) = (s.echo, s.reply);
                match s.read {
                    ServerRead::AtOnce => {
                        self.app_read(id, u64::MAX);
                    }
                    ServerRead::Paced { every, .. } if !reading => {
                        self.queue
                            .push(self.now.saturating_add(every), Ev::AppRead { conn: id });
                        if let App::Server { reading, .. } = &mut self.slots[id as usize].app {
                            *reading = true;
                        }
                    }
                    ServerRead::Paced { .. } | ServerRead::Manual => {}
                }
                if echo {
                    self.app_send(id, len as u64, Some(tag));
                }
                if reply > 0 {
                    self.reply_to_requests(id, server);
                }
            }
            App::Client { wait, .. } => {
                self.app_read(id, u64::MAX);
                if let Wait::Recv(n) = wait
                    && self.records[id as usize].stats.bytes_delivered >= n
                {
                    self.resume_client(id);
                }
            }
        }
    }

    /// A server with `reply` answers each request that has arrived whole (every
    /// `request` bytes; without `request`, the first data is the one request), and with
    /// `close = "after_reply"` closes after the `close_after`-th reply.
    fn reply_to_requests(&mut self, id: u32, server: u32) {
        let s = &self.sc.servers[server as usize];
        let (reply, close_after) = (s.reply, s.close_after);
        let closes = s.close == ServerClose::AfterReply;
        let delivered = self.records[id as usize].stats.bytes_delivered;
        let due = s.request.map_or(1, |n| delivered / n);
        loop {
            let App::Server {
                replies, closed, ..
            } = &mut self.slots[id as usize].app
            else {
                return;
            };
            if *closed || u64::from(*replies) >= due {
                return;
            }
            *replies += 1;
            let last = closes && *replies >= close_after;
            self.app_send(id, reply, None);
            if last {
                self.server_close(id, server);
            }
        }
    }

    /// The server application's own CLOSE: an ABORT under SO_LINGER 0 (`linger = 0`).
    fn server_close(&mut self, id: u32, server: u32) {
        let call = if self.sc.servers[server as usize].linger_zero {
            Call::Abort
        } else {
            Call::Close
        };
        if call == Call::Abort
            && let App::Server { closed, .. } = &mut self.slots[id as usize].app
        {
            *closed = true;
        }
        self.app_do(id, call);
    }

    /// The application takes up to `max` bytes from the connection's receive buffer.
    fn app_read(&mut self, id: u32, max: u64) -> u64 {
        self.slots[id as usize]
            .tcp
            .as_mut()
            .and_then(Tcb::open_mut)
            .map_or(0, |tcp| tcp.read(self.now, max))
    }

    /// Bytes delivered to connection `id` and not yet read by its application.
    fn unread(&self, id: u32) -> u64 {
        match self.slots[id as usize].tcp.as_ref() {
            Some(Tcb::Open(c)) => c.unread(),
            _ => 0,
        }
    }

    /// A slow reader's periodic read; once the buffer is empty it waits for more data.
    fn on_app_read(&mut self, id: u32) {
        let App::Server { server, .. } = self.slots[id as usize].app else {
            return;
        };
        let ServerRead::Paced { bytes, every } = self.sc.servers[server as usize].read else {
            return;
        };
        let bytes = self.app_read(id, bytes);
        self.emit_app(id, AppEvent::Read { bytes });
        let more = self.unread(id) > 0;
        if more {
            self.queue
                .push(self.now.saturating_add(every), Ev::AppRead { conn: id });
        }
        if let App::Server { reading, .. } = &mut self.slots[id as usize].app {
            *reading = more;
        }
        self.close_when_read_to_eof(id);
    }

    /// `close = "peer_close"`: the server closes once it has read everything up to the
    /// peer's FIN, which for a slow or manual reader may be long after the FIN arrived.
    /// A slow reader with a read still queued leaves it to that read.
    fn close_when_read_to_eof(&mut self, id: u32) {
        let App::Server {
            server,
            reading: false,
            closed: false,
            ..
        } = self.slots[id as usize].app
        else {
            return;
        };
        let passive = self.sc.servers[server as usize].close == ServerClose::PeerClose;
        if passive && self.records[id as usize].eof && self.unread(id) == 0 {
            self.server_close(id, server);
        }
    }

    fn on_app_eof(&mut self, id: u32) {
        match self.slots[id as usize].app {
            App::Server { .. } => self.close_when_read_to_eof(id),
            App::Client {
                wait: Wait::Eof, ..
            } => self.resume_client(id),
            App::Client { .. } => {}
        }
    }

    fn resume_client(&mut self, id: u32) {
        if let App::Client { wait, .. } = &mut self.slots[id as usize].app {
            *wait = Wait::Running;
        }
        self.run_client(id);
    }

    /// Runs the client's script from its current step until it has to wait.
    fn run_client(&mut self, id: u32) {
        loop {
            let slot = &self.slots[id as usize];
            let App::Client {
                client,
                step,
                wait: Wait::Running,
            } = slot.app
            else {
                return;
            };
            if slot.tcp.is_none() {
                return;
            }
            let Some(&action) = self.sc.clients[client as usize].actions.get(step as usize) else {
                self.slots[id as usize].app = App::Client {
                    client,
                    step,
                    wait: Wait::Done,
                };
                return;
            };
            let next_wait = match action {
                Action::Wait(d) => {
                    let at = self.now.saturating_add(d);
                    self.queue.push(at, Ev::AppWake { conn: id });
                    Wait::Timer
                }
                Action::Recv(n) if self.records[id as usize].stats.bytes_delivered < n => {
                    Wait::Recv(n)
                }
                Action::RecvEof if !self.records[id as usize].eof => Wait::Eof,
                Action::Recv(_) | Action::RecvEof => Wait::Running,
                Action::Send(_) | Action::Shutdown | Action::Close | Action::Abort => {
                    if let Some(call) = Call::of_action(action) {
                        self.app_do(id, call);
                    }
                    Wait::Running
                }
            };
            let step = if matches!(next_wait, Wait::Recv(_) | Wait::Eof) {
                step
            } else {
                step + 1
            };
            self.slots[id as usize].app = App::Client {
                client,
                step,
                wait: next_wait,
            };
        }
    }

    // ----- output -----------------------------------------------------------------------

    fn emit(&mut self, kind: EventKind) {
        (self.sink)(&Event { t: self.now, kind });
    }

    /// A segment's passage from node `from` towards node `to`, with what befell it.
    fn emit_segment(&mut self, seg: Segment, from: u32, to: u32, fate: Fate) {
        self.emit(EventKind::Segment {
            seg,
            from,
            to,
            fate,
        });
    }

    fn finish(mut self, budget_exhausted: bool) -> Outcome {
        for (slot, record) in self.slots.iter().zip(&mut self.records) {
            if let Some(tcp) = &slot.tcp {
                record.stats = tcp.stats(record.stats);
            }
        }
        // The slots (and the buffers they hold) go before the records are handed over.
        self.slots = Vec::new();
        let conns = std::mem::take(&mut self.records);
        let links = self.net.link_stats();
        Outcome {
            end_time: self.now,
            conns,
            links,
            integrity_failures: self.integrity_failures,
            invariant_failures: self.invariant_failures,
            budget_exhausted,
            cut_short: self.cut_short || budget_exhausted,
            stats: self.stats,
        }
    }
}

/// The stream id carried in the tags of connection `id`'s generated data.
fn stream_of(id: u32) -> u32 {
    (id + 1) & 0x00ff_ffff
}
