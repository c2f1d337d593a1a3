//! Tests of the connection state machine (RFC 9293 §3.10.7), in the smoltcp style:
//! fixtures reach each state through the public API, a `Peer` builds the remote side's
//! segments, and every test asserts the exact reply and the resulting state.
//!
//! `states.rs` goes state by state; `data_path.rs` covers delayed ACK, Nagle, congestion
//! control and two connections talking; `rfc_details.rs` the RFC rules that are easy to get
//! wrong (zero windows, the RTO after a lost SYN, Karn, data on a SYN, TIME_WAIT's fifth
//! step, reopening TIME_WAIT); `fuzz.rs` arbitrary segments in every state.

use super::closed::{ListenVerdict, listen_verdict, reset_for};
use super::*;

const ISS: Seq = Seq(1000);
const PEER_ISS: Seq = Seq(5000);
const MSL: u64 = 120 * SECOND;
const LOCAL: Endpoint = Endpoint {
    addr: 1,
    port: 49152,
};
const REMOTE: Endpoint = Endpoint { addr: 2, port: 80 };
/// The stream id of the bytes our side writes.
const STREAM: u32 = 1;
/// The stream id of the bytes the peer writes.
const PEER_STREAM: u32 = 2;

// ----- helpers ------------------------------------------------------------------------

/// The remote side as a pair of counters: the next sequence number it sends and the
/// acknowledgment it carries.
#[derive(Debug, Clone, Copy)]
struct Peer {
    nxt: Seq,
    ack: Seq,
}

impl Peer {
    /// A segment from the peer at its current seq/ack.
    fn seg(&self, flags: Flags) -> Segment {
        Segment {
            src: REMOTE,
            dst: LOCAL,
            seq: self.nxt,
            ack: if flags.contains(Flags::ACK) {
                self.ack
            } else {
                Seq(0)
            },
            flags,
            wnd: 65535,
            len: 0,
            tag: Tag::default(),
            mss: None,
            wscale: None,
            ts: None,
            why: Why::default(),
            ..Segment::default()
        }
    }
    fn ack(&self) -> Segment {
        self.seg(Flags::ACK)
    }
    /// `len` bytes of the peer's stream starting at `seq`.
    fn data_at(&self, seq: Seq, len: u32) -> Segment {
        // Modulo the tag's 40-bit offset space, so bytes "before" the stream still advance
        // into it when trimmed.
        let offset = (seq.diff(PEER_ISS + 1) as i64).rem_euclid(1 << 40) as u64;
        Segment {
            seq,
            len,
            tag: Tag::new(PEER_STREAM, offset),
            ..self.ack()
        }
    }
    fn at(&self, seq: Seq, flags: Flags) -> Segment {
        Segment {
            seq,
            ..self.seg(flags)
        }
    }
    fn acking(&self, ack: Seq) -> Segment {
        Segment { ack, ..self.ack() }
    }
}

/// The state-machine tests check RFC 9293's segment rules one segment at a time, so
/// they switch off what would hold segments back (delayed ACK, Nagle, congestion window);
/// `data_path` below tests those.
fn cfg() -> Config {
    Config {
        delayed_ack: None,
        nagle: false,
        congestion_control: false,
        ..Config::default()
    }
}

fn out(c: &mut Connection) -> Vec<Segment> {
    let mut v = Vec::new();
    c.drain_transmit(&mut v);
    v
}

fn events(c: &mut Connection) -> Vec<ConnEvent> {
    let mut v = Vec::new();
    c.drain_events(&mut v);
    v
}

/// Drains both outputs so a fixture hands over a quiet connection.
fn quiet(c: &mut Connection) {
    out(c);
    events(c);
}

/// Asserts exactly one segment was sent and returns it.
fn one(c: &mut Connection) -> Segment {
    let v = out(c);
    assert_eq!(v.len(), 1, "expected one segment, got {v:#?}");
    v[0]
}

fn assert_reply(c: &mut Connection, flags: Flags, seq: Seq, ack: Seq) -> Segment {
    let s = one(c);
    assert_eq!((s.flags, s.seq, s.ack), (flags, seq, ack), "reply {s:?}");
    assert_eq!((s.src, s.dst), (LOCAL, REMOTE));
    s
}

/// `<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>`
fn assert_ack(c: &mut Connection) -> Segment {
    let (seq, ack) = (c.snd_nxt(), c.rcv_nxt());
    assert_reply(c, Flags::ACK, seq, ack)
}

fn assert_silent(c: &mut Connection) {
    let v = out(c);
    assert!(v.is_empty(), "expected no segment, got {v:#?}");
}

fn feed(c: &mut Connection, seg: &Segment) {
    c.handle_segment(1, seg);
}

fn has_event(evs: &[ConnEvent], e: ConnEvent) -> bool {
    evs.contains(&e)
}

fn data_events(evs: &[ConnEvent]) -> Vec<(u32, Tag)> {
    evs.iter()
        .filter_map(|e| match e {
            ConnEvent::Data { len, tag } => Some((*len, *tag)),
            _ => None,
        })
        .collect()
}

// ----- fixtures -----------------------------------------------------------------------

fn syn_sent_with(cfg: &Config, iss: Seq) -> (Connection, Peer) {
    let mut c = Connection::connect(0, LOCAL, REMOTE, iss, cfg, STREAM);
    let syn = one(&mut c);
    assert_eq!(
        (syn.flags, syn.seq, syn.mss),
        (Flags::SYN, iss, Some(cfg.mss))
    );
    events(&mut c);
    (
        c,
        Peer {
            nxt: PEER_ISS,
            ack: iss + 1,
        },
    )
}

fn syn_sent() -> (Connection, Peer) {
    syn_sent_with(&cfg(), ISS)
}

/// Passive open: a listener accepted the peer's SYN.
fn syn_received() -> (Connection, Peer) {
    let peer = Peer {
        nxt: PEER_ISS,
        ack: Seq(0),
    };
    let syn = Segment {
        mss: Some(1460),
        ..peer.seg(Flags::SYN)
    };
    let mut c = Connection::accept(0, &syn, ISS, &cfg(), STREAM);
    let sa = one(&mut c);
    assert_eq!(
        (sa.flags, sa.seq, sa.ack),
        (Flags::SYN | Flags::ACK, ISS, PEER_ISS + 1)
    );
    events(&mut c);
    (
        c,
        Peer {
            nxt: PEER_ISS + 1,
            ack: ISS + 1,
        },
    )
}

fn established_with(
    cfg: &Config,
    iss: Seq,
    peer_mss: Option<u16>,
    peer_wnd: u16,
) -> (Connection, Peer) {
    let (mut c, mut p) = syn_sent_with(cfg, iss);
    let sa = Segment {
        mss: peer_mss,
        wnd: peer_wnd,
        ..p.seg(Flags::SYN | Flags::ACK)
    };
    feed(&mut c, &sa);
    p.nxt = p.nxt + 1;
    assert_eq!(c.state(), State::Established);
    quiet(&mut c);
    (c, p)
}

fn established() -> (Connection, Peer) {
    established_with(&cfg(), ISS, Some(1460), 65535)
}

/// Our FIN (at ISS+1) is outstanding.
fn fin_wait_1() -> (Connection, Peer) {
    let (mut c, p) = established();
    c.close(1);
    assert_reply(&mut c, Flags::FIN | Flags::ACK, ISS + 1, PEER_ISS + 1);
    assert_eq!(c.state(), State::FinWait1);
    events(&mut c);
    (c, p)
}

fn fin_wait_2() -> (Connection, Peer) {
    let (mut c, mut p) = fin_wait_1();
    p.ack = ISS + 2;
    feed(&mut c, &p.ack());
    assert_eq!(c.state(), State::FinWait2);
    quiet(&mut c);
    (c, p)
}

/// The peer's FIN (at PEER_ISS+1) was received.
fn close_wait() -> (Connection, Peer) {
    let (mut c, mut p) = established();
    feed(&mut c, &p.seg(Flags::FIN | Flags::ACK));
    p.nxt = p.nxt + 1;
    assert_eq!(c.state(), State::CloseWait);
    quiet(&mut c);
    (c, p)
}

/// Both FINs crossed: ours is not yet acknowledged.
fn closing() -> (Connection, Peer) {
    let (mut c, mut p) = fin_wait_1();
    feed(&mut c, &p.seg(Flags::FIN | Flags::ACK));
    p.nxt = p.nxt + 1;
    assert_eq!(c.state(), State::Closing);
    quiet(&mut c);
    (c, p)
}

fn last_ack() -> (Connection, Peer) {
    let (mut c, p) = close_wait();
    c.close(1);
    assert_reply(&mut c, Flags::FIN | Flags::ACK, ISS + 1, PEER_ISS + 2);
    assert_eq!(c.state(), State::LastAck);
    events(&mut c);
    (c, p)
}

/// Entered at t=1 from FIN_WAIT_2.
fn time_wait() -> (Connection, Peer) {
    let (mut c, mut p) = fin_wait_2();
    feed(&mut c, &p.seg(Flags::FIN | Flags::ACK));
    p.nxt = p.nxt + 1;
    assert_eq!(c.state(), State::TimeWait);
    quiet(&mut c);
    (c, p)
}

/// Sends `len` bytes and returns the segments that went out.
fn write(c: &mut Connection, now: u64, len: u64) -> Vec<Segment> {
    let offset = c.send_buffer().written();
    assert!(c.send(now, len, Tag::new(STREAM, offset)));
    out(c)
}

/// Moves segments both ways until neither side has anything to say.
fn exchange(a: &mut Connection, b: &mut Connection, now: u64) {
    loop {
        let (from_a, from_b) = (out(a), out(b));
        if from_a.is_empty() && from_b.is_empty() {
            return;
        }
        for s in &from_a {
            b.handle_segment(now, s);
        }
        for s in &from_b {
            a.handle_segment(now, s);
        }
    }
}

/// Runs RST/SYN/ACK/FIN/data checks that are identical in every synchronized state.
mod common {
    use super::*;

    /// RFC 9293 §3.10.7.4 first check: a RST that is not acceptable is dropped.
    pub fn rst_out_of_window(fixture: fn() -> (Connection, Peer)) {
        let (mut c, p) = fixture();
        let before = c.state();
        for seq in [c.rcv_nxt() + 70_000, c.rcv_nxt() - 1] {
            feed(&mut c, &p.at(seq, Flags::RST));
            assert_silent(&mut c);
            assert_eq!(c.state(), before);
        }
        assert!(events(&mut c).is_empty());
    }

    /// RFC 9293 §3.10.7.4 second check (RFC 5961 not applied): an in-window RST closes.
    pub fn rst_resets(fixture: fn() -> (Connection, Peer), offset: u32, reported: bool) {
        let (mut c, p) = fixture();
        let rst = p.at(c.rcv_nxt() + offset, Flags::RST);
        feed(&mut c, &rst);
        assert_silent(&mut c);
        assert_eq!(c.state(), State::Closed);
        assert_eq!(c.poll_timeout(), None, "CLOSED keeps no timer");
        let evs = events(&mut c);
        assert_eq!(
            has_event(&evs, ConnEvent::Reset { refused: false }),
            reported,
            "{evs:?}"
        );
    }

    /// RFC 9293 §3.10.7.4 fourth check, RFC 793 behaviour: an in-window SYN is an error,
    /// "send a reset" <SEQ=SND.NXT><CTL=RST> and enter CLOSED.
    pub fn syn_in_window(fixture: fn() -> (Connection, Peer)) {
        let (mut c, p) = fixture();
        let snd_nxt = c.snd_nxt();
        let syn = p.at(c.rcv_nxt() + 10, Flags::SYN);
        feed(&mut c, &syn);
        assert_reply(&mut c, Flags::RST, snd_nxt, Seq(0));
        assert_eq!(c.state(), State::Closed);
        assert!(has_event(
            &events(&mut c),
            ConnEvent::Reset { refused: false }
        ));
    }

    /// RFC 9293 §3.10.7.4 first check: an old SYN is unacceptable →
    /// <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, state unchanged.
    pub fn syn_old(fixture: fn() -> (Connection, Peer)) {
        let (mut c, p) = fixture();
        let before = c.state();
        feed(&mut c, &p.at(PEER_ISS, Flags::SYN));
        assert_ack(&mut c);
        assert_eq!(c.state(), before);
    }

    /// RFC 9293 §3.10.7.4 first check: data outside the window (beyond it or wholly old)
    /// draws <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and is dropped.
    pub fn data_out_of_window(fixture: fn() -> (Connection, Peer)) {
        let (mut c, p) = fixture();
        let before = c.state();
        for seq in [c.rcv_nxt() + 65535, c.rcv_nxt() - 200] {
            feed(&mut c, &p.data_at(seq, 100));
            assert_ack(&mut c);
            assert_eq!(c.state(), before);
        }
        assert!(data_events(&events(&mut c)).is_empty());
    }

    /// RFC 9293 §3.10.7.4 fifth check: "If the ACK is a duplicate (SEG.ACK < SND.UNA), it
    /// can be ignored" — no reply, no state change.
    pub fn ack_old(fixture: fn() -> (Connection, Peer)) {
        let (mut c, p) = fixture();
        let before = c.state();
        feed(&mut c, &p.acking(ISS));
        assert_silent(&mut c);
        assert_eq!(c.state(), before);
    }

    /// RFC 9293 §3.10.7.4 fifth check: "If the ACK acks something not yet sent (SEG.ACK >
    /// SND.NXT), then send an ACK, drop the segment, and return."
    pub fn ack_unsent(fixture: fn() -> (Connection, Peer)) {
        let (mut c, p) = fixture();
        let before = c.state();
        let ack = p.acking(c.snd_nxt() + 1);
        feed(&mut c, &ack);
        assert_ack(&mut c);
        assert_eq!(c.state(), before);
    }

    /// After the peer's FIN: a retransmission of it lies below RCV.NXT, is unacceptable
    /// and is ACKed (RFC 9293 §3.10.7.4 first check).
    pub fn fin_retransmitted(fixture: fn() -> (Connection, Peer)) {
        let (mut c, p) = fixture();
        let before = c.state();
        let fin = p.at(c.rcv_nxt() - 1, Flags::FIN | Flags::ACK);
        feed(&mut c, &fin);
        assert_ack(&mut c);
        assert_eq!(c.state(), before);
    }
}

mod data_path;
mod fuzz;
mod rfc_details;
mod sack;
mod states;
