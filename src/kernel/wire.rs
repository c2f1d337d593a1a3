//! The wire between the namespaces: tcpsim's own network model (`src/net/`: links with
//! delay, jitter, rate and queue, loss, duplication, reordering, corruption; routers;
//! targeted faults; partitions) driven by the wall clock instead of the virtual one.
//!
//! One thread runs it. It reads every IP packet a host's kernel sends on its TUN device,
//! decodes it (`src/wire.rs`), reports it and hands it to the model at the current time;
//! the model answers with arrival times, which wait in a timer queue until the packet is
//! written, unchanged (or with a broken checksum when the link corrupted it), into the
//! destination's TUN. Hand-made `[[inject]]` segments are encoded and sent the same way.
//! Around every packet the host's sockets are dumped (`observe.rs`), so state changes
//! land between the segments that caused them and the ones they caused.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, ppoll};
use nix::sys::time::TimeSpec;

use super::Clock;
use super::apps::AppMsg;
use super::observe::{Change, Observer, PERIOD_NS};
use super::record::{Rec, Timed};
use super::tun::Tun;
use crate::net::{Driver, Network};
use crate::scenario::model::{ConnSelector, FaultKind, Inject, Scenario, SeqExpr, SeqVar};
use crate::tcp::{Endpoint, Flags, Segment, Seq, State, Tag, Why};
use crate::trace::{EventKind, Fate};
use crate::wire;

/// One host as the wire sees it.
pub struct HostIo {
    pub addr: u32,
    pub tun: Tun,
    pub observer: Observer,
    pub mtu: u32,
    /// When its sockets were last dumped (stamps never go back in time).
    last_poll: u64,
}

impl HostIo {
    pub fn new(addr: u32, tun: Tun, observer: Observer, mtu: u32) -> Self {
        HostIo {
            addr,
            tun,
            observer,
            mtu,
            last_poll: 0,
        }
    }
}

/// What waits in the timer queue.
enum Pending {
    Arrive {
        from: u32,
        node: u32,
        seg: Segment,
        corrupt: bool,
        packet: Arc<[u8]>,
    },
    Enter {
        node: u32,
        seg: Segment,
        packet: Arc<[u8]>,
    },
    Link {
        dir: u32,
        fault: u32,
        up: bool,
    },
    Inject(u32),
}

/// A wall-clock timer queue: (due, insertion order) → what is due.
#[derive(Default)]
struct Queue {
    heap: BinaryHeap<Reverse<(u64, u64)>>,
    items: HashMap<u64, Pending>,
    seq: u64,
}

impl Queue {
    fn push(&mut self, at: u64, p: Pending) {
        self.seq += 1;
        self.heap.push(Reverse((at, self.seq)));
        self.items.insert(self.seq, p);
    }

    fn next_due(&self) -> Option<u64> {
        self.heap.peek().map(|Reverse((t, _))| *t)
    }

    fn pop_due(&mut self, now: u64) -> Option<(u64, Pending)> {
        let &Reverse((t, seq)) = self.heap.peek().filter(|Reverse((t, _))| *t <= now)?;
        self.heap.pop();
        self.items.remove(&seq).map(|p| (t, p))
    }
}

/// Each direction's sequence numbers as the wire saw them, for `[[inject]]` values.
#[derive(Debug, Clone, Copy, Default)]
struct DirSeq {
    isn: Seq,
    snd_max: Seq,
    last_ack: Seq,
}

/// Figures about the wire itself, for stderr and the README.
#[derive(Debug, Clone, Default)]
pub struct WireStats {
    pub read: u64,
    pub written: u64,
    /// How late each packet was written, against the model's arrival time (ns).
    pub lateness: Vec<u64>,
    /// Packets that were not IPv4/TCP (ignored).
    pub ignored: u64,
    /// Packets longer than the interface MTU (there should be none: no offloads).
    pub oversize: u64,
    pub largest: usize,
}

/// Why the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// No packet in flight, no retransmission pending, no application work scheduled,
    /// for [`QUIET_NS`].
    Quiet,
    /// `--until`, or the scenario's `duration`.
    Time,
    /// The safety limit without `--until`.
    Limit,
}

/// Packets due this close together are one burst for the applications (the spread of a
/// burst a Linux sender emits at once is tens of µs).
const BURST_NS: u64 = 300_000;

/// How long everything must be idle before a run ends on its own.
pub const QUIET_NS: u64 = 500_000_000;

/// The wire and everything it has recorded.
pub struct Wire<'a> {
    sc: &'a Scenario,
    net: Network,
    pub hosts: Vec<Option<HostIo>>,
    queue: Queue,
    pub recs: Vec<Timed>,
    clock: Clock,
    seqs: HashMap<(Endpoint, Endpoint), DirSeq>,
    /// Live connections in order of creation (node, local, remote), for inject targets.
    live: Vec<(u32, Endpoint, Endpoint)>,
    pub stats: WireStats,
    last_activity: u64,
    buf: Vec<u8>,
    softirq: Arc<RwLock<()>>,
}

/// Feeds the model's verdicts into the wall-clock queue and the records.
struct KDriver<'q> {
    now: u64,
    queue: &'q mut Queue,
    recs: &'q mut Vec<Timed>,
    packet: Arc<[u8]>,
}

impl Driver for KDriver<'_> {
    fn emit(&mut self, seg: &Segment, from: u32, to: u32, fate: Fate) {
        let kind = EventKind::Segment {
            seg: *seg,
            from,
            to,
            fate,
        };
        let rec = Rec::Ready {
            kind,
            packet: Some(self.packet.clone()),
        };
        self.recs.push(Timed { t: self.now, rec });
    }

    fn arrive(&mut self, at: u64, from: u32, node: u32, seg: &Segment, corrupt: bool) {
        let (seg, packet) = (*seg, self.packet.clone());
        let p = Pending::Arrive {
            from,
            node,
            seg,
            corrupt,
            packet,
        };
        self.queue.push(at, p);
    }

    fn enter(&mut self, at: u64, node: u32, seg: &Segment) {
        let p = Pending::Enter {
            node,
            seg: *seg,
            packet: self.packet.clone(),
        };
        self.queue.push(at, p);
    }

    fn wire_len(&self, _seg: &Segment) -> u32 {
        self.packet.len() as u32
    }
}

impl<'a> Wire<'a> {
    /// `softirq`: held while a burst is written (see `apps::Outbox::softirq`).
    pub fn new(
        sc: &'a Scenario,
        seed: u64,
        hosts: Vec<Option<HostIo>>,
        clock: Clock,
        softirq: Arc<RwLock<()>>,
    ) -> Self {
        let mut w = Wire {
            softirq,
            sc,
            net: Network::new(sc, seed),
            hosts,
            queue: Queue::default(),
            recs: Vec::new(),
            clock,
            seqs: HashMap::new(),
            live: Vec::new(),
            stats: WireStats::default(),
            last_activity: 0,
            buf: vec![0; 65536],
        };
        w.schedule_setup();
        w
    }

    /// Injects and partitions, at their times.
    fn schedule_setup(&mut self) {
        for (i, inj) in self.sc.injects.iter().enumerate() {
            self.queue.push(inj.at, Pending::Inject(i as u32));
        }
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
                        let fault = i as u32;
                        self.queue.push(
                            start,
                            Pending::Link {
                                dir,
                                fault,
                                up: false,
                            },
                        );
                        self.queue.push(
                            end,
                            Pending::Link {
                                dir,
                                fault,
                                up: true,
                            },
                        );
                    }
                }
            }
        }
    }

    pub fn links(&self) -> Vec<(u32, u32, crate::net::LinkStats)> {
        self.net.link_stats()
    }

    /// Runs until the traffic is over (or `until`, or `limit`); `apps` reports the
    /// applications' calls, `busy` whether an application has work scheduled.
    pub fn run(
        &mut self,
        apps: &Receiver<AppMsg>,
        wake: &UnixStream,
        busy: &dyn Fn() -> bool,
        until: Option<u64>,
        limit: u64,
    ) -> Result<End, String> {
        let mut next_period = 0;
        loop {
            self.write_burst()?;
            let now = self.clock.now();
            if now >= next_period {
                self.poll_all()?;
                next_period = now + PERIOD_NS;
            }
            if let Some(end) = self.ended(now, until, limit, busy) {
                self.poll_all()?;
                return Ok(end);
            }
            let next = [self.queue.next_due(), Some(next_period), until]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(now + PERIOD_NS);
            self.wait(next.saturating_sub(self.clock.now()), wake)?;
            self.drain_apps(apps)?;
        }
    }

    /// Hands the kernel everything due, and what follows within [`BURST_NS`], with the
    /// applications held off (`softirq`): a burst the simulation delivers at one instant
    /// reaches the stack a few µs apart here, and its applications act after all of it.
    fn write_burst(&mut self) -> Result<(), String> {
        let gate = Arc::clone(&self.softirq);
        let _burst = gate.write().unwrap_or_else(|e| e.into_inner());
        loop {
            let now = self.clock.now();
            while let Some((due, p)) = self.queue.pop_due(now) {
                self.due(due, p)?;
            }
            match self.queue.next_due() {
                Some(t) if t <= self.clock.now() + BURST_NS => {
                    std::thread::sleep(Duration::from_nanos(t.saturating_sub(self.clock.now())));
                }
                _ => return Ok(()),
            }
        }
    }

    fn ended(
        &self,
        now: u64,
        until: Option<u64>,
        limit: u64,
        busy: &dyn Fn() -> bool,
    ) -> Option<End> {
        if let Some(u) = until {
            return (now >= u).then_some(End::Time);
        }
        if self.sc.duration.is_some_and(|d| now >= d) {
            return Some(End::Time);
        }
        if now >= limit {
            return Some(End::Limit);
        }
        let kernel_busy = self.hosts.iter().flatten().any(|h| h.observer.busy());
        let quiet = self.queue.next_due().is_none()
            && !kernel_busy
            && !busy()
            && now.saturating_sub(self.last_activity) >= QUIET_NS;
        quiet.then_some(End::Quiet)
    }

    /// Sleeps until a TUN has a packet, an application reports, or `ns` passed.
    fn wait(&mut self, ns: u64, wake: &UnixStream) -> Result<(), String> {
        let nodes: Vec<usize> = (0..self.hosts.len())
            .filter(|&i| self.hosts[i].is_some())
            .collect();
        let mut fds: Vec<PollFd> = nodes
            .iter()
            .filter_map(|&i| self.hosts[i].as_ref())
            .map(|h| {
                // SAFETY: the TUN descriptor outlives this poll (the host owns it).
                let fd = unsafe { BorrowedFd::borrow_raw(h.tun.raw_fd()) };
                PollFd::new(fd, PollFlags::POLLIN)
            })
            .collect();
        fds.push(PollFd::new(wake.as_fd(), PollFlags::POLLIN));
        let timeout = TimeSpec::from(Duration::from_nanos(ns.max(1)));
        match ppoll(&mut fds, Some(timeout), None) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(format!("poll failed: {e}")),
        }
        let ready: Vec<usize> = (nodes.iter().zip(&fds))
            .filter(|(_, f)| f.revents().is_some_and(|r| !r.is_empty()))
            .map(|(&i, _)| i)
            .collect();
        drop(fds);
        let mut sink = [0u8; 256];
        while matches!((&*wake).read(&mut sink), Ok(n) if n > 0) {}
        for node in ready {
            self.read_host(node as u32)?;
        }
        Ok(())
    }

    /// Reads every packet waiting on a host's TUN.
    fn read_host(&mut self, node: u32) -> Result<(), String> {
        loop {
            let mut buf = std::mem::take(&mut self.buf);
            let got = match self.hosts[node as usize].as_mut() {
                Some(h) => h.tun.read(&mut buf),
                None => Ok(None),
            };
            self.buf = buf;
            match got {
                Ok(Some(n)) => {
                    let packet: Arc<[u8]> = Arc::from(&self.buf[..n]);
                    self.sent_by_host(node, packet)?;
                }
                Ok(None) => return Ok(()),
                Err(e) => return Err(format!("reading a TUN device failed: {e}")),
            }
        }
    }

    /// A packet a host's kernel sent: its socket states first, then the segment.
    fn sent_by_host(&mut self, node: u32, packet: Arc<[u8]>) -> Result<(), String> {
        let now = self.clock.now();
        self.last_activity = now;
        self.stats.read += 1;
        self.stats.largest = self.stats.largest.max(packet.len());
        let mtu = self.hosts[node as usize].as_ref().map_or(0, |h| h.mtu);
        if packet.len() > mtu as usize {
            self.stats.oversize += 1;
        }
        let Ok(decoded) = wire::decode(&packet) else {
            self.stats.ignored += 1;
            return Ok(());
        };
        let seg = decoded.seg;
        self.poll(node, now)?;
        self.track(&seg);
        let mut d = KDriver {
            now,
            queue: &mut self.queue,
            recs: &mut self.recs,
            packet,
        };
        self.net.transmit(now, node, &seg, &mut d);
        Ok(())
    }

    fn track(&mut self, seg: &Segment) {
        let d = self.seqs.entry((seg.src, seg.dst)).or_default();
        if seg.has(Flags::SYN) {
            *d = DirSeq {
                isn: seg.seq,
                snd_max: seg.seq,
                last_ack: d.last_ack,
            };
        }
        let end = seg.seq + seg.seg_len();
        if d.snd_max.lt(end) {
            d.snd_max = end;
        }
        if seg.has(Flags::ACK) {
            d.last_ack = seg.ack;
        }
    }

    /// Something in the timer queue is due (scheduled for `due`).
    fn due(&mut self, due: u64, p: Pending) -> Result<(), String> {
        let now = self.clock.now();
        match p {
            Pending::Arrive {
                from,
                node,
                seg,
                corrupt,
                packet,
            } => {
                self.stats.lateness.push(now.saturating_sub(due));
                self.arrive(now, from, node, &seg, corrupt, packet)?;
            }
            Pending::Enter { node, seg, packet } => {
                let mut d = KDriver {
                    now,
                    queue: &mut self.queue,
                    recs: &mut self.recs,
                    packet,
                };
                self.net
                    .route_from(now, node, &seg, Fate::default(), false, &mut d);
            }
            Pending::Link { dir, fault, up } => {
                let d = self.net.dir_mut(dir);
                d.set_down_by((!up).then_some(fault));
                let (from, to) = (self.net.from_of(dir), self.net.dir(dir).to);
                let kind = EventKind::Link {
                    from,
                    to,
                    up,
                    fault,
                };
                let rec = Rec::Ready { kind, packet: None };
                self.recs.push(Timed { t: now, rec });
            }
            Pending::Inject(index) => self.inject(now, index)?,
        }
        Ok(())
    }

    /// A copy reaches `node`: a router forwards it, a host's kernel gets it.
    fn arrive(
        &mut self,
        now: u64,
        from: u32,
        node: u32,
        seg: &Segment,
        corrupt: bool,
        packet: Arc<[u8]>,
    ) -> Result<(), String> {
        let Some(host) = self.hosts[node as usize].as_mut() else {
            let _ = from;
            let mut d = KDriver {
                now,
                queue: &mut self.queue,
                recs: &mut self.recs,
                packet,
            };
            self.net
                .route_from(now, node, seg, Fate::default(), false, &mut d);
            return Ok(());
        };
        if host.addr != seg.dst.addr {
            return Ok(());
        }
        let written = if corrupt {
            host.tun.write(&broken_checksum(&packet))
        } else {
            host.tun.write(&packet)
        };
        // A full TUN queue or a packet the stack refused is a loss the kernel saw.
        let _ = written;
        self.stats.written += 1;
        self.last_activity = now;
        self.poll(node, self.clock.now())?;
        // The stack answered during the write: read the answer now, so its time is the
        // time it was sent, not the time the loop next looks.
        self.read_host(node)
    }

    /// Dumps one host's sockets and records what changed, stamped `at` (never earlier
    /// than its previous dump).
    pub fn poll(&mut self, node: u32, at: u64) -> Result<(), String> {
        let Some(host) = self.hosts[node as usize].as_mut() else {
            return Ok(());
        };
        let at = at.max(host.last_poll);
        host.last_poll = at;
        let mut changes = Vec::new();
        host.observer
            .poll(at, &mut changes)
            .map_err(|e| format!("sock_diag dump failed: {e}"))?;
        for c in changes {
            self.record_change(node, at, c);
        }
        Ok(())
    }

    /// Dumps every host; what changed is stamped with the time of its dump (a change
    /// found by the periodic dump happened at most one period before).
    fn poll_all(&mut self) -> Result<(), String> {
        for node in 0..self.hosts.len() as u32 {
            let now = self.clock.now();
            self.poll(node, now)?;
        }
        Ok(())
    }

    fn record_change(&mut self, host: u32, t: u64, c: Change) {
        let rec = match c {
            Change::State {
                local,
                remote,
                from,
                to,
                new,
            } => {
                if new {
                    self.live.push((host, local, remote));
                }
                if to == State::Closed
                    && let Some(i) =
                        (self.live.iter()).position(|&(_, l, r)| (l, r) == (local, remote))
                {
                    self.live.remove(i);
                }
                Rec::State {
                    host,
                    local,
                    remote,
                    from,
                    to,
                    new,
                }
            }
            Change::Note {
                local,
                remote,
                note,
            } => Rec::Note {
                host,
                local,
                remote,
                note,
            },
        };
        self.recs.push(Timed { t, rec });
    }

    /// Application reports: recorded, then the host's sockets dumped.
    fn drain_apps(&mut self, apps: &Receiver<AppMsg>) -> Result<(), String> {
        while let Ok(m) = apps.try_recv() {
            self.last_activity = self.clock.now();
            let rec = Rec::App {
                host: m.host,
                tuple: m.tuple,
                what: m.what,
            };
            self.recs.push(Timed { t: m.t, rec });
            self.poll(m.host, m.done)?;
        }
        Ok(())
    }

    /// Sends an `[[inject]]` segment, as the simulator does: built from its target's
    /// sequence variables (as the wire saw them), entering the network at its node.
    fn inject(&mut self, now: u64, index: u32) -> Result<(), String> {
        let inj: &Inject = &self.sc.injects[index as usize];
        let from = inj.from as u32;
        let target = inj.target.and_then(|sel| self.find_live(sel));
        if inj.target.is_some() && target.is_none() {
            let kind = EventKind::Inject {
                index,
                seg: None,
                from,
            };
            let rec = Rec::Ready { kind, packet: None };
            self.recs.push(Timed { t: now, rec });
            return Ok(());
        }
        let seg = self.injected_segment(inj, target);
        let mut bytes = Vec::new();
        wire::encode(&seg, false, &mut bytes);
        let packet: Arc<[u8]> = Arc::from(bytes);
        let kind = EventKind::Inject {
            index,
            seg: Some(seg),
            from,
        };
        let rec = Rec::Ready {
            kind,
            packet: Some(packet.clone()),
        };
        self.recs.push(Timed { t: now, rec });
        let own = self.hosts[from as usize]
            .as_ref()
            .is_some_and(|h| h.addr == seg.dst.addr);
        if own {
            return self.arrive(now, from, from, &seg, false, packet);
        }
        let mut d = KDriver {
            now,
            queue: &mut self.queue,
            recs: &mut self.recs,
            packet,
        };
        self.net
            .route_from(now, from, &seg, Fate::default(), false, &mut d);
        Ok(())
    }

    /// The first live connection `sel` selects, in order of creation: (local, remote).
    fn find_live(&self, sel: ConnSelector) -> Option<(Endpoint, Endpoint)> {
        (self.live.iter())
            .find(|&&(node, local, _)| sel.matches(node as usize, local.port))
            .map(|&(_, l, r)| (l, r))
    }

    fn injected_segment(&self, inj: &Inject, target: Option<(Endpoint, Endpoint)>) -> Segment {
        let dir = |a: Endpoint, b: Endpoint| self.seqs.get(&(a, b)).copied().unwrap_or_default();
        let value = |e: SeqExpr| match (e, target) {
            (SeqExpr::Absolute(n), _) => Seq(n),
            (SeqExpr::Relative(var, off), Some((local, remote))) => {
                let (out, back) = (dir(local, remote), dir(remote, local));
                let base = match var {
                    SeqVar::RcvNxt => out.last_ack,
                    SeqVar::SndNxt => out.snd_max,
                    SeqVar::SndUna => back.last_ack,
                    SeqVar::Iss => out.isn,
                    SeqVar::Irs => back.isn,
                };
                Seq(base.0.wrapping_add(off as u32))
            }
            (SeqExpr::Relative(..), None) => Seq(0),
        };
        let addr = |node: usize| self.hosts[node].as_ref().map_or(0, |h| h.addr);
        let endpoint = |(node, port): (usize, u16)| Endpoint {
            addr: addr(node),
            port,
        };
        Segment {
            src: inj
                .src
                .map(endpoint)
                .or(target.map(|t| t.1))
                .unwrap_or_default(),
            dst: inj
                .dst
                .map(endpoint)
                .or(target.map(|t| t.0))
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
        }
    }
}

/// The packet with its TCP checksum spoiled, as a bit error on the link would leave it.
fn broken_checksum(packet: &[u8]) -> Vec<u8> {
    let mut p = packet.to_vec();
    let ihl = usize::from(p.first().map_or(5, |b| b & 0x0f)) * 4;
    if let Some(sum) = p.get_mut(ihl + 16..ihl + 18) {
        sum[0] ^= 0x55;
        sum[1] ^= 0x55;
    }
    p
}
