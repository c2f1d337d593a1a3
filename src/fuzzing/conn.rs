//! The connection fuzz target: two connections, `a` (the active opener) and `b` (a
//! listener's child, or a second active opener for a simultaneous open), and between them
//! a network that the fuzzer's bytes script. Any segment may be rewritten on the way
//! (sequence and acknowledgment numbers, flags, window, length), so every state sees
//! segments no correct peer would send; after every step the invariants hold.

use std::collections::VecDeque;

use crate::tcp::closed::{ListenVerdict, listen_verdict, reset_for};
use crate::tcp::{
    Config, ConnEvent, Connection, Endpoint, Flags, Profile, SECOND, Segment, Seq, State, Tag,
};

const A: Endpoint = Endpoint {
    addr: 0x0a00_0001,
    port: 49152,
};
const B: Endpoint = Endpoint {
    addr: 0x0a00_0002,
    port: 80,
};
/// Streams and initial sequence numbers of the two sides; B's ISS is close to the top of
/// the sequence space, so its numbers wrap during a run.
const STREAMS: [u32; 2] = [1, 2];
const ISS: [Seq; 2] = [Seq(1000), Seq(u32::MAX - 3000)];
/// Steps per case and segments in flight, so a case stays short.
const MAX_STEPS: usize = 2000;
const MAX_IN_FLIGHT: usize = 64;

/// One side: its connection (None before a listener's child exists, or once deleted)
/// and how many bytes its application has been delivered since the peer's SYN.
#[derive(Default)]
struct Side {
    conn: Option<Connection>,
    delivered: u64,
}

struct Net {
    sides: [Side; 2],
    /// Segments in flight and the side that sent them (0: a, 1: b).
    flight: VecDeque<(usize, Segment)>,
    now: u64,
    /// b is a listener's child (else b opened actively too).
    passive: bool,
    cfg: Config,
}

/// Runs the script `data`: the first two bytes choose the settings, each following pair
/// is one step (an operation and its argument).
pub fn connection(data: &[u8]) {
    let (Some(&mode), Some(&knobs)) = (data.first(), data.get(1)) else {
        return;
    };
    let mut net = Net::new(mode, knobs);
    for step in data[2..].chunks(2).take(MAX_STEPS) {
        let arg = step.get(1).copied().unwrap_or(0);
        net.step(step[0], arg);
        net.check_quiet();
    }
}

/// The settings a case runs with: the profile and the switches that change the rules the
/// invariants rely on least (timestamps, window scaling, RFC 5961, Nagle, delayed ACK).
fn config(mode: u8, knobs: u8) -> Config {
    let profile = if mode & 1 == 0 {
        Profile::Rfc9293
    } else {
        Profile::Linux
    };
    let mut cfg = profile.config();
    cfg.timestamps = knobs & 1 != 0;
    cfg.tw_reuse &= cfg.timestamps;
    cfg.window_scale = (knobs & 2 != 0).then_some(knobs >> 5);
    cfg.window = cfg.window.min(cfg.max_window());
    cfg.rfc5961 = knobs & 4 != 0;
    cfg.nagle = knobs & 8 != 0;
    cfg.delayed_ack = (knobs & 16 == 0).then_some(SECOND / 5);
    cfg.mss = [536, 1460, 100, 9000][(mode >> 1) as usize % 4];
    cfg.msl = SECOND;
    cfg
}

impl Net {
    fn new(mode: u8, knobs: u8) -> Net {
        let cfg = config(mode, knobs);
        let passive = mode & 0x80 == 0;
        let mut net = Net {
            sides: [Side::default(), Side::default()],
            flight: VecDeque::new(),
            now: 1,
            passive,
            cfg,
        };
        net.sides[0].conn = Some(Connection::connect(1, A, B, ISS[0], &net.cfg, STREAMS[0]));
        if !passive {
            net.sides[1].conn = Some(Connection::connect(1, B, A, ISS[1], &net.cfg, STREAMS[1]));
        }
        net.settle(0, None);
        net.settle(1, None);
        net
    }

    fn step(&mut self, op: u8, arg: u8) {
        let side = (arg & 1) as usize;
        match op % 16 {
            0 => self.deliver_front(),
            1 => {
                if let Some(last) = self.flight.pop_back() {
                    self.flight.push_front(last);
                    self.deliver_front();
                }
            }
            2 => drop(self.flight.pop_front()),
            3 => {
                if let Some(&front) = self.flight.front() {
                    self.flight.push_back(front);
                }
            }
            4..=8 => self.rewrite(op % 16, arg),
            9 | 10 => self.app(side, |c, now| {
                // This side's next bytes: its stream at the offset written so far.
                let tag = Tag::new(STREAMS[side], c.send_buffer().written());
                c.send(now, u64::from(arg) * 97 + 1, tag);
            }),
            11 => self.app(side, |c, now| c.close(now)),
            12 if arg.is_multiple_of(8) => self.app(side, |c, _| {
                c.abort();
            }),
            12 => {}
            13 => self.app(side, |c, now| {
                c.read(now, u64::from(arg) * 100);
            }),
            14 => self.advance(u64::from(arg) * 10_000_000),
            _ => self.advance_to_timer(),
        }
    }

    /// Rewrites a field of the next segment to be delivered, as a broken or hostile
    /// network would.
    fn rewrite(&mut self, op: u8, arg: u8) {
        let Some((_, seg)) = self.flight.front_mut() else {
            return;
        };
        let delta = (arg as i8 as i32) * 257;
        match op {
            4 => seg.seq = seg.seq + delta as u32,
            5 => seg.ack = seg.ack + delta as u32,
            6 => seg.flags = Flags(arg & 0x3f),
            7 => seg.wnd = u16::from(arg) * 257,
            _ => seg.len = seg.len.min(u32::from(arg) * 37),
        }
    }

    /// An application call on `side`, then its outputs.
    fn app(&mut self, side: usize, call: impl FnOnce(&mut Connection, u64)) {
        let now = self.now;
        let Some(c) = self.sides[side].conn.as_mut() else {
            return;
        };
        call(c, now);
        self.settle(side, None);
    }

    /// The next segment in flight reaches its receiver: its connection, or the listener
    /// (b) that creates one, or the CLOSED rules that answer with a RST.
    fn deliver_front(&mut self) {
        let Some((from, mut seg)) = self.flight.pop_front() else {
            return;
        };
        let to = 1 - from;
        seg.tag = tag_for(from, &seg);
        trace(|| format!("{} deliver {from}->{to} {seg:?}", self.now));
        match self.sides[to].conn.as_mut() {
            Some(c) => {
                let before = (c.rcv_nxt(), c.state().is_synchronized());
                c.handle_segment(self.now, &seg);
                check_rcv_nxt(c, before);
                self.settle(to, Some(&seg));
            }
            None if to == 1 && self.passive && listen_verdict(&seg) == ListenVerdict::Accept => {
                let c = Connection::accept(self.now, &seg, ISS[1], &self.cfg, STREAMS[1]);
                self.sides[1] = Side {
                    conn: Some(c),
                    delivered: 0,
                };
                self.settle(1, Some(&seg));
            }
            None => {
                if let Some(rst) = reset_for(&seg) {
                    self.push(to, rst);
                }
            }
        }
    }

    fn advance(&mut self, by: u64) {
        self.now = self.now.saturating_add(by);
        for side in 0..2 {
            self.fire_due(side);
        }
    }

    /// Jumps to the earliest deadline of either side and fires it.
    fn advance_to_timer(&mut self) {
        let next = (self.sides.iter())
            .filter_map(|s| s.conn.as_ref().and_then(Connection::poll_timeout))
            .min();
        if let Some(t) = next {
            self.now = self.now.max(t);
            self.advance(0);
        }
    }

    /// Fires `side`'s timer if it is due. A timer that fired must be re-armed later or
    /// stopped: one still due would fire again at once, for ever.
    fn fire_due(&mut self, side: usize) {
        let now = self.now;
        let Some(c) = self.sides[side].conn.as_mut() else {
            return;
        };
        if c.poll_timeout().is_some_and(|t| t <= now) {
            c.handle_timeout(now);
            let next = c.poll_timeout();
            assert!(
                next.is_none_or(|t| t > now),
                "timer due again at once ({next:?} <= {now})"
            );
            self.settle(side, None);
        }
    }

    fn push(&mut self, from: usize, seg: Segment) {
        if self.flight.len() >= MAX_IN_FLIGHT {
            self.flight.pop_front();
        }
        self.flight.push_back((from, seg));
    }

    /// Takes `side`'s outputs, checks them, sends its segments, and deletes the
    /// connection once it is CLOSED (or a listener's child back in LISTEN).
    fn settle(&mut self, side: usize, input: Option<&Segment>) {
        let Some(c) = self.sides[side].conn.as_mut() else {
            return;
        };
        let (mut sent, mut events) = (Vec::new(), Vec::new());
        c.drain_transmit(&mut sent);
        c.drain_events(&mut events);
        trace(|| {
            format!(
                "  side {side} {:?} sends {sent:?} events {events:?}",
                c.state()
            )
        });
        check_output(c, &self.cfg, input, &sent);
        // The peer's byte at RCV.NXT right after its SYN: IRS + 1, whatever the (possibly
        // rewritten) SYN said; delivered bytes run on from there.
        let peer = 1 - side;
        let syn = Segment {
            seq: c.irs(),
            flags: Flags::SYN,
            ..Segment::default()
        };
        let first = tag_for(peer, &syn);
        check_events(&events, first, &mut self.sides[side].delivered);
        let c = self.sides[side].conn.as_ref().expect("checked above");
        assert!(c.snd_una().le(c.snd_nxt()), "SND.UNA beyond SND.NXT");
        if matches!(c.state(), State::Closed | State::Listen) {
            assert_eq!(c.poll_timeout(), None, "a dead connection keeps no timer");
            self.sides[side].conn = None;
        }
        for seg in sent {
            self.push(side, seg);
        }
    }

    /// Between steps nothing is left undrained.
    fn check_quiet(&mut self) {
        for side in 0..2 {
            self.settle(side, None);
        }
    }
}

/// The tag of a segment's first payload byte: the sender's stream at the offset its
/// sequence number gives (past a SYN), so a rewritten sequence number carries the bytes
/// that belong there, modulo the tag's 40-bit offset.
fn tag_for(from: usize, seg: &Segment) -> Tag {
    let first = seg.seq + seg.has(Flags::SYN) as u32;
    let offset = (first.diff(ISS[from] + 1) as i64).rem_euclid(1 << 40) as u64;
    Tag::new(STREAMS[from], offset)
}

/// RCV.NXT never moves back while the connection stays synchronized.
fn check_rcv_nxt(c: &Connection, (before, synced): (Seq, bool)) {
    if synced && c.state().is_synchronized() {
        assert!(c.rcv_nxt().ge(before), "RCV.NXT moved back");
    }
}

/// Every segment a connection emits is one it could legitimately send.
fn check_output(c: &Connection, cfg: &Config, input: Option<&Segment>, sent: &[Segment]) {
    if let Some(seg) = input.filter(|s| s.has(Flags::RST) && !cfg.rfc5961) {
        assert!(
            sent.is_empty(),
            "RFC 9293 §3.10.7: a RST is never answered: {seg:?} → {sent:?}"
        );
    }
    let data_end = c.iss() + 1 + c.send_buffer().written() as u32;
    for s in sent {
        assert_eq!((s.src, s.dst), (c.local, c.remote));
        if s.has(Flags::RST) {
            assert!(
                !s.has(Flags::SYN) && !s.has(Flags::FIN) && s.len == 0,
                "{s:?}"
            );
            continue;
        }
        assert!(
            s.has(Flags::ACK) || s.seq == c.iss(),
            "only the first SYN lacks ACK: {s:?}"
        );
        if s.has(Flags::SYN) {
            assert_eq!((s.seq, s.len), (c.iss(), 0), "{s:?}");
            assert!(s.mss.is_some());
            continue;
        }
        assert!(s.mss.is_none() && s.len <= u32::from(cfg.mss), "{s:?}");
        if s.len > 0 {
            let offset = (s.seq - (c.iss() + 1)) as u64;
            assert!(
                s.seq.gt(c.iss()) && (s.seq + s.len).le(data_end),
                "no data beyond what was written: {s:?}"
            );
            assert_eq!(
                s.tag,
                c.send_buffer().tag_at(offset),
                "bytes carry their own tags"
            );
        }
        if s.has(Flags::FIN) {
            assert_eq!(s.seq + s.len, data_end, "FIN follows the last byte: {s:?}");
        }
    }
}

/// Delivered bytes come in order and exactly once from the peer's first byte after its
/// SYN (`first`), each the peer's byte at that place.
fn check_events(events: &[ConnEvent], first: Tag, delivered: &mut u64) {
    for e in events {
        if let ConnEvent::Data { len, tag } = *e {
            assert!(len > 0);
            assert_eq!(tag, first.advance(*delivered), "in order, exactly once");
            *delivered += u64::from(len);
        }
    }
}

/// With `TCPSIM_FUZZ_TRACE` set, what happens step by step (for triaging a crash).
fn trace(line: impl FnOnce() -> String) {
    if std::env::var_os("TCPSIM_FUZZ_TRACE").is_some() {
        eprintln!("{}", line());
    }
}
