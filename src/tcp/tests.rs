//! Per-state tests of the connection state machine (RFC 9293 §3.10.7), in the smoltcp
//! style: fixtures reach each state through the public API, a `Peer` builds the remote
//! side's segments, and every test asserts the exact reply and the resulting state.

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

// ----- CLOSED and LISTEN --------------------------------------------------------------

mod closed_and_listen {
    use super::*;

    #[test]
    fn closed_connection_ignores_segments() {
        let (mut c, p) = syn_sent();
        c.close(1);
        assert_eq!(c.state(), State::Closed);
        assert_eq!(
            c.poll_timeout(),
            None,
            "RFC 9293 §3.10.4: CLOSE in SYN-SENT deletes the TCB"
        );
        c.handle_timeout(10 * SECOND);
        assert!(out(&mut c).is_empty());
        feed(&mut c, &p.seg(Flags::SYN | Flags::ACK));
        assert_silent(&mut c);
        assert_eq!(c.state(), State::Closed);
    }

    #[test]
    fn closed_port_resets() {
        let p = Peer {
            nxt: PEER_ISS,
            ack: ISS,
        };
        // RFC 9293 §3.10.7.1: ACK off → <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
        let r = reset_for(&p.data_at(PEER_ISS, 10).with(Flags::PSH)).unwrap();
        assert_eq!(
            (r.flags, r.seq, r.ack),
            (Flags::RST | Flags::ACK, Seq(0), PEER_ISS + 10)
        );
        let r = reset_for(&Segment {
            len: 10,
            ..p.seg(Flags::FIN)
        })
        .unwrap();
        assert_eq!(
            (r.flags, r.seq, r.ack),
            (Flags::RST | Flags::ACK, Seq(0), PEER_ISS + 11)
        );
        // ACK on → <SEQ=SEG.ACK><CTL=RST>
        let r = reset_for(&p.ack()).unwrap();
        assert_eq!(
            (r.flags, r.seq, (r.src, r.dst)),
            (Flags::RST, ISS, (LOCAL, REMOTE))
        );
        assert!(reset_for(&p.seg(Flags::RST | Flags::ACK)).is_none());
    }

    #[test]
    fn listen_rules() {
        let p = Peer {
            nxt: PEER_ISS,
            ack: ISS,
        };
        // RFC 9293 §3.10.7.2: RST ignored, ACK → <SEQ=SEG.ACK><CTL=RST>, SYN accepted.
        assert_eq!(listen_verdict(&p.seg(Flags::RST)), ListenVerdict::Ignore);
        assert!(
            matches!(listen_verdict(&p.seg(Flags::SYN | Flags::ACK)), ListenVerdict::Reset(r) if r.seq == ISS)
        );
        assert_eq!(listen_verdict(&p.seg(Flags::SYN)), ListenVerdict::Accept);
        assert_eq!(listen_verdict(&p.seg(Flags::FIN)), ListenVerdict::Ignore);
    }
}

// ----- SYN_SENT (RFC 9293 §3.10.7.3) ----------------------------------------------------

mod syn_sent {
    use super::*;

    #[test]
    fn syn_ack_establishes() {
        let (mut c, p) = syn_sent();
        feed(&mut c, &p.seg(Flags::SYN | Flags::ACK));
        // "form an ACK segment <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and send it"
        assert_reply(&mut c, Flags::ACK, ISS + 1, PEER_ISS + 1);
        assert_eq!(c.state(), State::Established);
        assert_eq!(
            c.poll_timeout(),
            None,
            "RFC 6298 §5.2: all data acknowledged stops the timer"
        );
        assert_eq!(
            events(&mut c),
            [ConnEvent::StateChange {
                from: State::SynSent,
                to: State::Established,
                why: Why::SynAckAccepted,
            }]
        );
    }

    #[test]
    fn syn_ack_with_fin_is_processed() {
        let (mut c, p) = syn_sent();
        let syn_ack_fin = Flags::SYN | Flags::FIN | Flags::ACK;
        feed(
            &mut c,
            &Segment {
                len: 10,
                tag: Tag::new(PEER_STREAM, 0),
                ..p.seg(syn_ack_fin)
            },
        );
        // "If there are other controls or text in the segment, then continue processing at
        // the sixth step": the 10 bytes and the FIN are taken in one ACK.
        assert_reply(&mut c, Flags::ACK, ISS + 1, PEER_ISS + 12);
        assert_eq!(c.state(), State::CloseWait);
        let evs = events(&mut c);
        assert_eq!(data_events(&evs), [(10, Tag::new(PEER_STREAM, 0))]);
        assert!(has_event(&evs, ConnEvent::Eof));
    }

    #[test]
    fn bare_syn_is_simultaneous_open() {
        let (mut c, p) = syn_sent();
        feed(&mut c, &p.seg(Flags::SYN));
        // "enter SYN-RECEIVED, form a SYN,ACK segment <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>"
        let sa = assert_reply(&mut c, Flags::SYN | Flags::ACK, ISS, PEER_ISS + 1);
        assert_eq!(sa.mss, Some(1460));
        assert_eq!(c.state(), State::SynReceived);
    }

    #[test]
    fn unacceptable_ack_draws_reset() {
        // "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset <SEQ=SEG.ACK><CTL=RST>"
        for bad in [ISS, ISS - 1000, ISS + 2] {
            let (mut c, p) = syn_sent();
            feed(
                &mut c,
                &Segment {
                    ack: bad,
                    ..p.seg(Flags::SYN | Flags::ACK)
                },
            );
            assert_reply(&mut c, Flags::RST, bad, Seq(0));
            assert_eq!(c.state(), State::SynSent);
        }
    }

    #[test]
    fn rst_with_acceptable_ack_refuses() {
        let (mut c, p) = syn_sent();
        feed(&mut c, &p.seg(Flags::RST | Flags::ACK));
        // "signal to the user 'error: connection reset', drop the segment, enter CLOSED"
        assert_silent(&mut c);
        assert_eq!(c.state(), State::Closed);
        assert!(has_event(
            &events(&mut c),
            ConnEvent::Reset { refused: true }
        ));
        assert_eq!(c.poll_timeout(), None);
    }

    #[test]
    fn rst_without_ack_or_with_bad_ack_is_dropped() {
        // "Otherwise (no ACK), drop the segment"; bad ACK with RST: "drop the segment".
        for rst in [Flags::RST, Flags::RST | Flags::ACK] {
            let (mut c, p) = syn_sent();
            feed(
                &mut c,
                &Segment {
                    ack: ISS + 7,
                    ..p.seg(rst)
                },
            );
            assert_silent(&mut c);
            assert_eq!(c.state(), State::SynSent);
        }
    }

    #[test]
    fn ack_fin_or_data_without_syn_is_dropped() {
        // "Fifth, if neither of the SYN or RST bits is set, then drop the segment and return."
        let (mut c, p) = syn_sent();
        for seg in [
            p.ack(),
            p.seg(Flags::FIN | Flags::ACK),
            p.data_at(PEER_ISS, 100),
            p.seg(Flags::FIN),
        ] {
            feed(&mut c, &seg);
            assert_silent(&mut c);
            assert_eq!(c.state(), State::SynSent);
        }
    }

    #[test]
    fn syn_retransmits_with_backoff_then_times_out() {
        let (mut c, _) = syn_sent();
        let mut deadline = c.poll_timeout().unwrap();
        assert_eq!(deadline, SECOND, "RFC 6298 §2.1: initial RTO 1 s");
        for attempt in 1..=6 {
            c.handle_timeout(deadline);
            assert_reply(&mut c, Flags::SYN, ISS, Seq(0));
            let rto = (SECOND << attempt).min(60 * SECOND); // RFC 6298 §5.5 double, §2.5 max
            assert_eq!(events(&mut c), [ConnEvent::Retransmit { rto, attempt }]);
            assert_eq!(
                c.poll_timeout(),
                Some(deadline + rto),
                "RFC 6298 §5.6: restart the timer"
            );
            deadline += rto;
        }
        c.handle_timeout(deadline);
        assert_silent(&mut c);
        assert_eq!(c.state(), State::Closed);
        assert!(has_event(&events(&mut c), ConnEvent::TimedOut));
        assert_eq!(c.stats().retransmits, 6);
    }

    #[test]
    fn data_queued_before_establishment_follows_the_ack() {
        let (mut c, p) = syn_sent();
        assert!(
            write(&mut c, 0, 100).is_empty(),
            "nothing but the SYN before ESTABLISHED"
        );
        feed(&mut c, &p.seg(Flags::SYN | Flags::ACK));
        let v = out(&mut c);
        assert_eq!(v.len(), 2);
        assert_eq!((v[0].flags, v[0].seq), (Flags::ACK, ISS + 1));
        assert_eq!(
            (v[1].seq, v[1].len, v[1].tag),
            (ISS + 1, 100, Tag::new(STREAM, 0))
        );
    }
}

impl Segment {
    fn with(self, flags: Flags) -> Segment {
        Segment { flags, ..self }
    }
}

// ----- SYN_RECEIVED ---------------------------------------------------------------------

mod syn_received {
    use super::*;

    #[test]
    fn acceptable_ack_establishes() {
        let (mut c, p) = syn_received();
        // Fifth check: "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED state"
        feed(&mut c, &p.ack());
        assert_silent(&mut c);
        assert_eq!(c.state(), State::Established);
        assert_eq!(c.poll_timeout(), None);
        assert_eq!(c.stats().bytes_acked, 0, "the SYN is not payload");
    }

    #[test]
    fn unacceptable_ack_draws_reset() {
        // "If the segment acknowledgment is not acceptable, form a reset segment
        // <SEQ=SEG.ACK><CTL=RST> and send it."
        for bad in [ISS, ISS + 2, ISS + 100_000] {
            let (mut c, p) = syn_received();
            feed(&mut c, &p.acking(bad));
            assert_reply(&mut c, Flags::RST, bad, Seq(0));
            assert_eq!(c.state(), State::SynReceived);
        }
    }

    #[test]
    fn segment_without_ack_is_dropped() {
        // "if the ACK bit is off, drop the segment and return"
        let (mut c, p) = syn_received();
        feed(&mut c, &p.data_at(p.nxt, 10).with(Flags::PSH));
        assert_silent(&mut c);
        assert_eq!(c.state(), State::SynReceived);
    }

    #[test]
    fn fin_with_ack_establishes_then_closes_wait() {
        let (mut c, p) = syn_received();
        feed(&mut c, &p.seg(Flags::FIN | Flags::ACK));
        assert_reply(&mut c, Flags::ACK, ISS + 1, PEER_ISS + 2);
        assert_eq!(c.state(), State::CloseWait);
    }

    #[test]
    fn out_of_order_fin_waits() {
        let (mut c, p) = syn_received();
        feed(&mut c, &p.at(p.nxt + 50, Flags::FIN | Flags::ACK));
        assert_reply(&mut c, Flags::ACK, ISS + 1, PEER_ISS + 1);
        assert_eq!(c.state(), State::Established);
    }

    #[test]
    fn retransmitted_syn_is_acked() {
        // First check: the SYN lies below RCV.NXT → <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.
        let (mut c, p) = syn_received();
        feed(&mut c, &p.at(PEER_ISS, Flags::SYN));
        assert_reply(&mut c, Flags::ACK, ISS + 1, PEER_ISS + 1);
        assert_eq!(c.state(), State::SynReceived);
    }

    #[test]
    fn in_window_syn_returns_passive_open_to_listen() {
        // Fourth check: "If the SYN bit is set ... SYN-RECEIVED from a passive OPEN: return
        // this connection to the LISTEN state and return."
        let (mut c, p) = syn_received();
        feed(&mut c, &p.at(p.nxt + 5, Flags::SYN));
        assert_silent(&mut c);
        assert_eq!(c.state(), State::Listen);
        assert_eq!(c.poll_timeout(), None);
    }

    #[test]
    fn rst_returns_passive_open_to_listen() {
        // Second check: "If this connection was initiated with a passive OPEN, then return
        // this connection to the LISTEN state".
        for offset in [0, 100] {
            let (mut c, p) = syn_received();
            feed(&mut c, &p.at(p.nxt + offset, Flags::RST));
            assert_silent(&mut c);
            assert_eq!(c.state(), State::Listen);
            assert_eq!(c.poll_timeout(), None);
        }
    }

    #[test]
    fn rst_out_of_window_is_dropped() {
        common::rst_out_of_window(syn_received);
    }

    #[test]
    fn data_out_of_window_is_acked() {
        common::data_out_of_window(syn_received);
    }

    #[test]
    fn rst_refuses_active_open() {
        // "If this connection was initiated with an active OPEN (i.e., came from SYN-SENT
        // state), then the connection was refused".
        let (mut c, p) = simultaneous();
        feed(&mut c, &p.seg(Flags::RST));
        assert_eq!(c.state(), State::Closed);
        assert!(has_event(
            &events(&mut c),
            ConnEvent::Reset { refused: true }
        ));
    }

    #[test]
    fn in_window_syn_resets_active_open() {
        let (mut c, p) = simultaneous();
        feed(&mut c, &p.at(p.nxt + 5, Flags::SYN));
        assert_reply(&mut c, Flags::RST, ISS + 1, Seq(0));
        assert_eq!(c.state(), State::Closed);
    }

    #[test]
    fn syn_ack_retransmits_then_times_out() {
        let (mut c, _) = syn_received();
        let mut t = c.poll_timeout().unwrap();
        for attempt in 1..=6 {
            c.handle_timeout(t);
            let sa = assert_reply(&mut c, Flags::SYN | Flags::ACK, ISS, PEER_ISS + 1);
            assert_eq!(sa.mss, Some(1460));
            let rto = (SECOND << attempt).min(60 * SECOND);
            assert!(has_event(
                &events(&mut c),
                ConnEvent::Retransmit { rto, attempt }
            ));
            t = c.poll_timeout().unwrap();
        }
        c.handle_timeout(t);
        assert_eq!(c.state(), State::Closed);
        assert!(has_event(&events(&mut c), ConnEvent::TimedOut));
    }

    #[test]
    fn close_sends_fin_once_established() {
        // RFC 9293 §3.10.4 SYN-RECEIVED: "queue for processing after entering ESTABLISHED".
        let (mut c, p) = syn_received();
        c.close(1);
        assert_silent(&mut c);
        assert!(
            !c.send(1, 10, Tag::new(STREAM, 0)),
            "SEND after CLOSE: connection closing"
        );
        feed(&mut c, &p.ack());
        assert_reply(&mut c, Flags::FIN | Flags::ACK, ISS + 1, PEER_ISS + 1);
        assert_eq!(c.state(), State::FinWait1);
        feed(&mut c, &p.acking(ISS + 2));
        assert_eq!(c.state(), State::FinWait2);
    }

    #[test]
    fn peers_syn_ack_completes_simultaneous_open() {
        // RFC 9293 §3.5 Figure 8 line 4: SYN-RECEIVED + <SEQ=IRS><ACK=ISS+1><CTL=SYN,ACK>
        // → ESTABLISHED, with nothing more to send.
        let (mut c, p) = simultaneous();
        feed(&mut c, &p.at(PEER_ISS, Flags::SYN | Flags::ACK));
        assert_eq!(c.state(), State::Established);
        assert_silent(&mut c);
    }

    /// SYN_SENT that received a bare SYN (simultaneous open): an active SYN_RECEIVED.
    fn simultaneous() -> (Connection, Peer) {
        let (mut c, mut p) = syn_sent();
        feed(&mut c, &p.seg(Flags::SYN));
        quiet(&mut c);
        p.nxt = p.nxt + 1;
        (c, p)
    }
}

// ----- ESTABLISHED -------------------------------------------------------------------

mod established {
    use super::*;

    #[test]
    fn in_order_data_is_delivered_and_acked() {
        let (mut c, p) = established();
        feed(&mut c, &p.data_at(p.nxt, 100));
        // Seventh step: "send an acknowledgment of the form <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>"
        assert_reply(&mut c, Flags::ACK, ISS + 1, PEER_ISS + 101);
        assert_eq!(
            data_events(&events(&mut c)),
            [(100, Tag::new(PEER_STREAM, 0))]
        );
    }

    #[test]
    fn acceptable_ack_advances_snd_una() {
        let (mut c, p) = established();
        write(&mut c, 1, 1000);
        assert!(c.poll_timeout().is_some());
        feed(&mut c, &p.acking(ISS + 401));
        assert_silent(&mut c);
        assert_eq!(c.snd_una(), ISS + 401);
        assert_eq!(c.stats().bytes_acked, 400);
        feed(&mut c, &p.acking(ISS + 1001));
        assert_eq!(c.stats().bytes_acked, 1000);
        assert_eq!(c.poll_timeout(), None, "RFC 6298 §5.2");
    }

    #[test]
    fn old_ack_is_ignored() {
        common::ack_old(established);
    }

    #[test]
    fn old_ack_still_carries_data() {
        // "If the ACK is a duplicate, it can be ignored" — the ACK, not the text.
        let (mut c, p) = established();
        feed(
            &mut c,
            &Segment {
                ack: ISS,
                ..p.data_at(p.nxt, 10)
            },
        );
        assert_reply(&mut c, Flags::ACK, ISS + 1, PEER_ISS + 11);
    }

    #[test]
    fn ack_of_unsent_data_is_acked() {
        common::ack_unsent(established);
    }

    #[test]
    fn fin_in_order_closes_wait() {
        let (mut c, p) = established();
        feed(&mut c, &p.seg(Flags::FIN | Flags::ACK));
        // Eighth step: "advance RCV.NXT over the FIN, and send an acknowledgment for the FIN"
        assert_reply(&mut c, Flags::ACK, ISS + 1, PEER_ISS + 2);
        assert_eq!(c.state(), State::CloseWait);
        assert!(has_event(&events(&mut c), ConnEvent::Eof));
    }

    #[test]
    fn fin_out_of_order_waits_for_the_gap() {
        let (mut c, p) = established();
        feed(&mut c, &p.at(p.nxt + 100, Flags::FIN | Flags::ACK));
        assert_reply(&mut c, Flags::ACK, ISS + 1, PEER_ISS + 1);
        assert_eq!(c.state(), State::Established);
        feed(&mut c, &p.data_at(p.nxt, 100));
        assert_reply(&mut c, Flags::ACK, ISS + 1, PEER_ISS + 102);
        assert_eq!(c.state(), State::CloseWait);
        let evs = events(&mut c);
        assert_eq!(data_events(&evs), [(100, Tag::new(PEER_STREAM, 0))]);
        assert!(has_event(&evs, ConnEvent::Eof));
    }

    #[test]
    fn rst_in_window_resets() {
        common::rst_resets(established, 100, true);
    }

    #[test]
    fn rst_at_rcv_nxt_resets() {
        common::rst_resets(established, 0, true);
    }

    #[test]
    fn rst_out_of_window_is_dropped() {
        common::rst_out_of_window(established);
    }

    #[test]
    fn syn_in_window_resets() {
        common::syn_in_window(established);
    }

    #[test]
    fn old_syn_is_acked() {
        common::syn_old(established);
    }

    #[test]
    fn data_out_of_window_is_acked() {
        common::data_out_of_window(established);
    }

    #[test]
    fn data_straddling_rcv_nxt_is_trimmed() {
        // "If a segment's contents straddle the boundary between old and new, only the new
        // parts are processed."
        let (mut c, p) = established();
        feed(&mut c, &p.data_at(p.nxt, 100));
        quiet(&mut c);
        feed(&mut c, &p.data_at(p.nxt + 50, 100));
        assert_reply(&mut c, Flags::ACK, ISS + 1, PEER_ISS + 151);
        assert_eq!(
            data_events(&events(&mut c)),
            [(50, Tag::new(PEER_STREAM, 100))]
        );
    }

    #[test]
    fn data_beyond_the_window_is_trimmed() {
        let mut small = cfg();
        small.window = 1000;
        let (mut c, p) = established_with(&small, ISS, Some(1460), 65535);
        feed(&mut c, &p.data_at(p.nxt, 1400));
        assert_reply(&mut c, Flags::ACK, ISS + 1, PEER_ISS + 1001);
        assert_eq!(
            data_events(&events(&mut c)),
            [(1000, Tag::new(PEER_STREAM, 0))]
        );
    }

    #[test]
    fn unread_data_closes_the_window_and_reading_reopens_it() {
        let mut small = cfg();
        small.window = 4000;
        let (mut c, p) = established_with(&small, ISS, Some(1460), 65535);
        feed(&mut c, &p.data_at(p.nxt, 1000));
        assert_eq!(
            assert_reply(&mut c, Flags::ACK, ISS + 1, PEER_ISS + 1001).wnd,
            3000
        );
        // Reading 1000 bytes would move the right edge by less than min(buffer/2, MSS):
        // RFC 1122 §4.2.3.3 keeps it where it is (no silly window), and nothing is sent.
        assert_eq!(c.read(1, 1000), 1000);
        assert_silent(&mut c);
        feed(&mut c, &p.data_at(p.nxt + 1000, 1000));
        assert_eq!(
            assert_reply(&mut c, Flags::ACK, ISS + 1, PEER_ISS + 2001).wnd,
            2000
        );
        // Now a whole MSS fits: the edge moves, announced with the next ACK.
        assert_eq!(c.read(2, 1000), 1000);
        assert_silent(&mut c);
        feed(&mut c, &p.data_at(p.nxt + 2000, 500));
        assert_eq!(
            assert_reply(&mut c, Flags::ACK, ISS + 1, PEER_ISS + 2501).wnd,
            3500
        );
    }

    #[test]
    fn fin_just_beyond_the_window_is_not_taken() {
        // First check: the FIN occupies SEG.SEQ+SEG.LEN; at RCV.NXT+RCV.WND it lies outside
        // the window, so the right-edge trim removes it with the excess text.
        let mut small = cfg();
        small.window = 1000;
        let (mut c, p) = established_with(&small, ISS, Some(1460), 65535);
        feed(
            &mut c,
            &p.data_at(p.nxt, 1000).with(Flags::FIN | Flags::ACK),
        );
        assert_reply(&mut c, Flags::ACK, ISS + 1, PEER_ISS + 1001);
        assert_eq!(c.state(), State::Established);
        // The window is full until the application reads; reading reopens it and, since
        // the sender was stalled, announces it (RFC 1122 §4.2.3.3).
        assert_eq!(c.read(1, u64::MAX), 1000);
        let update = assert_reply(&mut c, Flags::ACK, ISS + 1, PEER_ISS + 1001);
        assert_eq!(update.wnd, 1000);
        feed(&mut c, &p.at(p.nxt + 1000, Flags::FIN | Flags::ACK));
        assert_reply(&mut c, Flags::ACK, ISS + 1, PEER_ISS + 1002);
        assert_eq!(c.state(), State::CloseWait);
    }

    #[test]
    fn duplicate_out_of_order_segments_are_delivered_once() {
        let (mut c, p) = established();
        for _ in 0..3 {
            feed(&mut c, &p.data_at(p.nxt + 100, 100));
        }
        feed(&mut c, &p.data_at(p.nxt, 150));
        feed(&mut c, &p.data_at(p.nxt, 200));
        assert_eq!(
            data_events(&events(&mut c)),
            [
                (150, Tag::new(PEER_STREAM, 0)),
                (50, Tag::new(PEER_STREAM, 150))
            ]
        );
        assert_eq!(c.rcv_nxt(), PEER_ISS + 201);
    }

    #[test]
    fn reassembly_delivers_in_order_exactly_once() {
        let (mut c, p) = established();
        let base = p.nxt;
        // Arrival order 3, 1 (overlapping 2), 3 again, 0, 2.
        for (off, len) in [(300, 100), (100, 150), (300, 100), (0, 100), (200, 100)] {
            feed(&mut c, &p.data_at(base + off, len));
        }
        let acks: Vec<Seq> = out(&mut c).iter().map(|s| s.ack).collect();
        assert_eq!(
            acks,
            [base, base, base, base + 250, base + 400],
            "RFC 5681 §4.2 duplicate ACKs"
        );
        let delivered = data_events(&events(&mut c));
        let mut at = 0;
        for (len, tag) in delivered {
            assert_eq!(tag, Tag::new(PEER_STREAM, at), "in order, no gap or repeat");
            at += len as u64;
        }
        assert_eq!(at, 400);
        assert_eq!(c.stats().bytes_delivered, 400);
    }

    #[test]
    fn data_retransmits_with_backoff_and_times_out() {
        let (mut c, _) = established();
        let first = write(&mut c, 0, 100);
        assert_eq!(first.len(), 1);
        let mut t = c.poll_timeout().unwrap();
        assert_eq!(
            t, SECOND,
            "RFC 6298 §5.1: timer started with the first data segment"
        );
        for attempt in 1..=15u32 {
            c.handle_timeout(t);
            let s = one(&mut c);
            assert_eq!((s.seq, s.len, s.tag), (ISS + 1, 100, Tag::new(STREAM, 0)));
            let rto = (SECOND << attempt).min(60 * SECOND); // RFC 6298 §5.5 and §2.5
            assert_eq!(events(&mut c), [ConnEvent::Retransmit { rto, attempt }]);
            assert_eq!(c.poll_timeout(), Some(t + rto));
            t += rto;
        }
        c.handle_timeout(t);
        assert_eq!(c.state(), State::Closed);
        assert!(has_event(&events(&mut c), ConnEvent::TimedOut));
    }

    #[test]
    fn new_ack_restarts_timer_and_clears_backoff() {
        let with_cc = Config {
            congestion_control: true,
            ..cfg()
        };
        let (mut c, p) = established_with(&with_cc, ISS, Some(1460), 65535);
        write(&mut c, 0, 3000);
        c.handle_timeout(SECOND);
        // RFC 5681 §3.1: after the timeout cwnd is one segment, so only the first goes.
        let resent = one(&mut c);
        assert_eq!((resent.seq, resent.len), (ISS + 1, 1460));
        // RFC 6298 §5.3: an ACK of new data restarts the timer with the current RTO.
        feed(&mut c, &p.acking(ISS + 1461));
        assert_eq!(c.poll_timeout(), Some(1 + SECOND));
        // Slow start doubles cwnd: the rest of the rewound data goes out.
        let next = out(&mut c);
        assert_eq!(
            next.iter().map(|s| (s.seq, s.len)).collect::<Vec<_>>(),
            [(ISS + 1461, 1460), (ISS + 2921, 80)]
        );
        assert_eq!(
            c.snd_nxt(),
            ISS + 3001,
            "snd_nxt() reports the highest sent (RFC SND.NXT)"
        );
    }

    #[test]
    fn ack_between_rewound_snd_nxt_and_snd_max_is_new_data() {
        // After an RTO rewinds snd_nxt, an ACK up to the highest sequence sent (the RFC's
        // SND.NXT) acknowledges data that was sent: not "something not yet sent".
        let (mut c, p) = established();
        write(&mut c, 0, 3000);
        c.handle_timeout(SECOND);
        quiet(&mut c);
        feed(&mut c, &p.acking(ISS + 3001));
        assert_silent(&mut c);
        assert_eq!((c.snd_una(), c.stats().bytes_acked), (ISS + 3001, 3000));
        assert_eq!(c.poll_timeout(), None, "RFC 6298 §5.2");
        let more = write(&mut c, 2, 100);
        assert_eq!((more[0].seq, more[0].len), (ISS + 3001, 100));
    }

    #[test]
    fn bytes_past_the_fin_are_never_delivered() {
        let (mut c, p) = established();
        feed(&mut c, &p.data_at(p.nxt + 100, 50));
        feed(&mut c, &p.at(p.nxt + 100, Flags::FIN | Flags::ACK));
        feed(&mut c, &p.data_at(p.nxt, 100));
        let evs = events(&mut c);
        assert_eq!(data_events(&evs), [(100, Tag::new(PEER_STREAM, 0))]);
        assert!(has_event(&evs, ConnEvent::Eof));
        assert_eq!((c.state(), c.rcv_nxt()), (State::CloseWait, PEER_ISS + 102));
    }

    #[test]
    fn peer_mss_limits_segment_size() {
        let (mut c, _) = established_with(&cfg(), ISS, Some(500), 65535);
        let lens: Vec<u32> = write(&mut c, 1, 1200).iter().map(|s| s.len).collect();
        assert_eq!(
            lens,
            [500, 500, 200],
            "RFC 9293 §3.7.1: at most the peer's MSS"
        );
    }

    #[test]
    fn missing_mss_option_means_536() {
        let (mut c, _) = established_with(&cfg(), ISS, None, 65535);
        let lens: Vec<u32> = write(&mut c, 1, 600).iter().map(|s| s.len).collect();
        assert_eq!(lens, [536, 64], "RFC 9293 §3.7.1: default send MSS 536");
    }

    #[test]
    fn peer_window_limits_flight() {
        let (mut c, p) = established_with(&cfg(), ISS, Some(1000), 2500);
        let sent = write(&mut c, 1, 5000);
        // RFC 9293 §3.8.6: at most SND.UNA + SND.WND; RFC 1122 §4.2.3.4 (sender silly
        // window avoidance) holds back the 500-byte remainder: less than a segment and less
        // than half the largest window offered, with data in flight.
        assert_eq!(sent.iter().map(|s| s.len).sum::<u32>(), 2000);
        feed(
            &mut c,
            &Segment {
                wnd: 2500,
                ..p.acking(ISS + 1001)
            },
        );
        assert_eq!(out(&mut c).iter().map(|s| s.len).sum::<u32>(), 1000);
        // A window update from a later segment opens more room: the rest goes.
        feed(
            &mut c,
            &Segment {
                wnd: 4000,
                ..p.acking(ISS + 1001)
            },
        );
        let more = out(&mut c);
        assert_eq!(more.iter().map(|s| s.len).sum::<u32>(), 2000);
        assert_eq!(c.snd_nxt(), ISS + 5001);
    }

    #[test]
    fn sequence_numbers_wrap_during_transfer() {
        let iss = Seq(u32::MAX - 2000);
        let mut a = Connection::connect(0, LOCAL, REMOTE, iss, &cfg(), STREAM);
        let syn = one(&mut a);
        let mut b = Connection::accept(0, &syn, Seq(u32::MAX - 10), &cfg(), 9);
        a.drain_events(&mut Vec::new());
        let mut got = Vec::new();
        exchange(&mut a, &mut b, 1);
        assert_eq!(
            (a.state(), b.state()),
            (State::Established, State::Established)
        );
        a.send(2, 10_000, Tag::new(STREAM, 0));
        b.send(2, 5_000, Tag::new(9, 0));
        exchange(&mut a, &mut b, 3);
        a.close(4);
        b.close(4);
        exchange(&mut a, &mut b, 5);
        b.drain_events(&mut got);
        let delivered: u32 = data_events(&got).iter().map(|d| d.0).sum();
        assert_eq!(delivered, 10_000);
        assert_eq!(b.rcv_nxt(), iss + 10_002, "wrapped past 2^32");
        assert!(b.rcv_nxt().0 < 10_000);
        assert_eq!(
            (a.stats().bytes_acked, b.stats().bytes_acked),
            (10_000, 5_000)
        );
        assert_eq!(a.state(), State::TimeWait);
        assert_eq!(b.state(), State::TimeWait);
    }
}

// ----- FIN_WAIT_1 ---------------------------------------------------------------------

mod fin_wait_1 {
    use super::*;

    #[test]
    fn ack_of_fin_enters_fin_wait_2() {
        let (mut c, p) = fin_wait_1();
        feed(&mut c, &p.acking(ISS + 2));
        assert_silent(&mut c);
        assert_eq!(c.state(), State::FinWait2);
        assert_eq!(c.poll_timeout(), None);
        assert_eq!(c.stats().bytes_acked, 0, "the FIN is not payload");
    }

    #[test]
    fn partial_ack_stays() {
        let (mut c, p) = established();
        write(&mut c, 1, 100);
        c.close(1);
        assert_reply(&mut c, Flags::FIN | Flags::ACK, ISS + 101, PEER_ISS + 1);
        feed(&mut c, &p.acking(ISS + 101));
        assert_silent(&mut c);
        assert_eq!(c.state(), State::FinWait1);
        assert_eq!(c.stats().bytes_acked, 100);
    }

    #[test]
    fn old_ack_is_ignored() {
        common::ack_old(fin_wait_1);
    }

    #[test]
    fn ack_of_unsent_data_is_acked() {
        common::ack_unsent(fin_wait_1);
    }

    #[test]
    fn fin_without_ack_of_ours_is_simultaneous_close() {
        let (mut c, p) = fin_wait_1();
        feed(&mut c, &p.seg(Flags::FIN | Flags::ACK));
        // Eighth step FIN-WAIT-1: "otherwise, enter the CLOSING state"
        assert_reply(&mut c, Flags::ACK, ISS + 2, PEER_ISS + 2);
        assert_eq!(c.state(), State::Closing);
    }

    #[test]
    fn fin_acking_ours_enters_time_wait() {
        let (mut c, p) = fin_wait_1();
        feed(
            &mut c,
            &Segment {
                ack: ISS + 2,
                ..p.seg(Flags::FIN | Flags::ACK)
            },
        );
        // "If our FIN has been ACKed ... then enter TIME-WAIT, start the time-wait timer"
        assert_reply(&mut c, Flags::ACK, ISS + 2, PEER_ISS + 2);
        assert_eq!(c.state(), State::TimeWait);
        assert_eq!(c.poll_timeout(), Some(1 + 2 * MSL));
    }

    #[test]
    fn fin_out_of_order_waits() {
        let (mut c, p) = fin_wait_1();
        feed(&mut c, &p.at(p.nxt + 10, Flags::FIN | Flags::ACK));
        assert_reply(&mut c, Flags::ACK, ISS + 2, PEER_ISS + 1);
        assert_eq!(c.state(), State::FinWait1);
        feed(&mut c, &p.data_at(p.nxt, 10));
        assert_reply(&mut c, Flags::ACK, ISS + 2, PEER_ISS + 12);
        assert_eq!(c.state(), State::Closing);
    }

    #[test]
    fn out_of_order_fin_acking_ours_passes_through_fin_wait_2() {
        let (mut c, p) = fin_wait_1();
        feed(
            &mut c,
            &Segment {
                ack: ISS + 2,
                ..p.at(p.nxt + 10, Flags::FIN | Flags::ACK)
            },
        );
        assert_reply(&mut c, Flags::ACK, ISS + 2, PEER_ISS + 1);
        assert_eq!(c.state(), State::FinWait2);
        feed(
            &mut c,
            &Segment {
                ack: ISS + 2,
                ..p.data_at(p.nxt, 10)
            },
        );
        assert_reply(&mut c, Flags::ACK, ISS + 2, PEER_ISS + 12);
        assert_eq!(c.state(), State::TimeWait);
    }

    #[test]
    fn data_is_still_received() {
        let (mut c, p) = fin_wait_1();
        feed(&mut c, &p.data_at(p.nxt, 10));
        assert_reply(&mut c, Flags::ACK, ISS + 2, PEER_ISS + 11);
        assert_eq!(data_events(&events(&mut c)).len(), 1);
    }

    #[test]
    fn rst_in_window_resets() {
        common::rst_resets(fin_wait_1, 100, true);
    }

    #[test]
    fn rst_at_rcv_nxt_resets() {
        common::rst_resets(fin_wait_1, 0, true);
    }

    #[test]
    fn rst_out_of_window_is_dropped() {
        common::rst_out_of_window(fin_wait_1);
    }

    #[test]
    fn syn_in_window_resets() {
        common::syn_in_window(fin_wait_1);
    }

    #[test]
    fn old_syn_is_acked() {
        common::syn_old(fin_wait_1);
    }

    #[test]
    fn data_out_of_window_is_acked() {
        common::data_out_of_window(fin_wait_1);
    }

    #[test]
    fn fin_retransmits_with_backoff() {
        let (mut c, p) = fin_wait_1();
        for attempt in 1..=3 {
            let t = c.poll_timeout().unwrap();
            c.handle_timeout(t);
            assert_reply(&mut c, Flags::FIN | Flags::ACK, ISS + 1, PEER_ISS + 1);
            assert_eq!(
                events(&mut c),
                [ConnEvent::Retransmit {
                    rto: SECOND << attempt,
                    attempt
                }]
            );
        }
        feed(&mut c, &p.acking(ISS + 2));
        assert_eq!(c.state(), State::FinWait2);
        assert_eq!(c.poll_timeout(), None);
    }
}

// ----- FIN_WAIT_2 ---------------------------------------------------------------------

mod fin_wait_2 {
    use super::*;

    #[test]
    fn duplicate_ack_of_fin_changes_nothing() {
        let (mut c, p) = fin_wait_2();
        feed(&mut c, &p.ack());
        assert_silent(&mut c);
        assert_eq!(c.state(), State::FinWait2);
    }

    #[test]
    fn old_ack_is_ignored() {
        common::ack_old(fin_wait_2);
    }

    #[test]
    fn ack_of_unsent_data_is_acked() {
        common::ack_unsent(fin_wait_2);
    }

    #[test]
    fn fin_enters_time_wait() {
        let (mut c, p) = fin_wait_2();
        feed(&mut c, &p.seg(Flags::FIN | Flags::ACK));
        // Eighth step FIN-WAIT-2: "Enter the TIME-WAIT state. Start the time-wait timer."
        assert_reply(&mut c, Flags::ACK, ISS + 2, PEER_ISS + 2);
        assert_eq!(c.state(), State::TimeWait);
        assert_eq!(c.poll_timeout(), Some(1 + 2 * MSL));
    }

    #[test]
    fn fin_out_of_order_waits() {
        let (mut c, p) = fin_wait_2();
        feed(
            &mut c,
            &Segment {
                len: 20,
                ..p.data_at(p.nxt + 30, 20)
            }
            .with(Flags::FIN | Flags::ACK),
        );
        assert_reply(&mut c, Flags::ACK, ISS + 2, PEER_ISS + 1);
        feed(&mut c, &p.data_at(p.nxt, 30));
        assert_reply(&mut c, Flags::ACK, ISS + 2, PEER_ISS + 52);
        assert_eq!(c.state(), State::TimeWait);
        let evs = events(&mut c);
        assert_eq!(
            data_events(&evs),
            [
                (30, Tag::new(PEER_STREAM, 0)),
                (20, Tag::new(PEER_STREAM, 30))
            ]
        );
    }

    #[test]
    fn data_is_still_received() {
        let (mut c, p) = fin_wait_2();
        feed(&mut c, &p.data_at(p.nxt, 10));
        assert_reply(&mut c, Flags::ACK, ISS + 2, PEER_ISS + 11);
    }

    #[test]
    fn rst_in_window_resets() {
        common::rst_resets(fin_wait_2, 100, true);
    }

    #[test]
    fn rst_at_rcv_nxt_resets() {
        common::rst_resets(fin_wait_2, 0, true);
    }

    #[test]
    fn rst_out_of_window_is_dropped() {
        common::rst_out_of_window(fin_wait_2);
    }

    #[test]
    fn syn_in_window_resets() {
        common::syn_in_window(fin_wait_2);
    }

    #[test]
    fn old_syn_is_acked() {
        common::syn_old(fin_wait_2);
    }

    #[test]
    fn data_out_of_window_is_acked() {
        common::data_out_of_window(fin_wait_2);
    }
}

// ----- CLOSE_WAIT ---------------------------------------------------------------------

mod close_wait {
    use super::*;

    #[test]
    fn half_close_still_sends_and_closes() {
        let (mut c, p) = close_wait();
        let sent = write(&mut c, 1, 100);
        assert_eq!(
            (sent[0].seq, sent[0].ack, sent[0].len),
            (ISS + 1, PEER_ISS + 2, 100)
        );
        feed(&mut c, &p.acking(ISS + 101));
        assert_eq!(c.stats().bytes_acked, 100);
        c.close(1);
        // RFC 9293 §3.10.4 CLOSE-WAIT: "send a FIN segment, enter LAST-ACK state"
        assert_reply(&mut c, Flags::FIN | Flags::ACK, ISS + 101, PEER_ISS + 2);
        assert_eq!(c.state(), State::LastAck);
    }

    #[test]
    fn old_ack_is_ignored() {
        common::ack_old(close_wait);
    }

    #[test]
    fn ack_of_unsent_data_is_acked() {
        common::ack_unsent(close_wait);
    }

    #[test]
    fn retransmitted_fin_is_acked() {
        common::fin_retransmitted(close_wait);
    }

    #[test]
    fn fin_or_data_beyond_rcv_nxt_is_ignored() {
        // Seventh step CLOSE-WAIT: "Ignore the segment text"; eighth: "Remain in CLOSE-WAIT".
        let (mut c, p) = close_wait();
        feed(&mut c, &p.at(p.nxt + 10, Flags::FIN | Flags::ACK));
        feed(&mut c, &p.data_at(p.nxt, 10));
        assert_silent(&mut c);
        assert_eq!(c.state(), State::CloseWait);
        assert_eq!(c.rcv_nxt(), PEER_ISS + 2);
    }

    #[test]
    fn rst_in_window_resets() {
        common::rst_resets(close_wait, 100, true);
    }

    #[test]
    fn rst_at_rcv_nxt_resets() {
        common::rst_resets(close_wait, 0, true);
    }

    #[test]
    fn rst_out_of_window_is_dropped() {
        common::rst_out_of_window(close_wait);
    }

    #[test]
    fn syn_in_window_resets() {
        common::syn_in_window(close_wait);
    }

    #[test]
    fn old_syn_is_acked() {
        common::syn_old(close_wait);
    }

    #[test]
    fn data_out_of_window_is_acked() {
        common::data_out_of_window(close_wait);
    }
}

// ----- CLOSING ------------------------------------------------------------------------

mod closing {
    use super::*;

    #[test]
    fn ack_of_fin_enters_time_wait() {
        let (mut c, p) = closing();
        feed(&mut c, &p.acking(ISS + 2));
        // "If the ACK acknowledges our FIN, then enter the TIME-WAIT state"
        assert_silent(&mut c);
        assert_eq!(c.state(), State::TimeWait);
        assert_eq!(c.poll_timeout(), Some(1 + 2 * MSL));
    }

    #[test]
    fn ack_not_covering_fin_is_ignored() {
        let (mut c, p) = closing();
        feed(&mut c, &p.ack());
        assert_silent(&mut c);
        assert_eq!(c.state(), State::Closing);
    }

    #[test]
    fn old_ack_is_ignored() {
        common::ack_old(closing);
    }

    #[test]
    fn ack_of_unsent_data_is_acked() {
        common::ack_unsent(closing);
    }

    #[test]
    fn retransmitted_fin_is_acked() {
        common::fin_retransmitted(closing);
    }

    #[test]
    fn rst_in_window_closes_silently() {
        // Second check, CLOSING: "enter the CLOSED state, delete the TCB, and return".
        common::rst_resets(closing, 100, false);
    }

    #[test]
    fn rst_at_rcv_nxt_closes_silently() {
        common::rst_resets(closing, 0, false);
    }

    #[test]
    fn rst_out_of_window_is_dropped() {
        common::rst_out_of_window(closing);
    }

    #[test]
    fn syn_in_window_resets() {
        common::syn_in_window(closing);
    }

    #[test]
    fn old_syn_is_acked() {
        common::syn_old(closing);
    }

    #[test]
    fn data_out_of_window_is_acked() {
        common::data_out_of_window(closing);
    }

    #[test]
    fn fin_retransmits_until_acked() {
        let (mut c, p) = closing();
        c.handle_timeout(c.poll_timeout().unwrap());
        assert_reply(&mut c, Flags::FIN | Flags::ACK, ISS + 1, PEER_ISS + 2);
        feed(&mut c, &p.acking(ISS + 2));
        assert_eq!(c.state(), State::TimeWait);
    }
}

// ----- LAST_ACK -----------------------------------------------------------------------

mod last_ack {
    use super::*;

    #[test]
    fn window_update_sends_data_queued_before_close() {
        // Data queued before CLOSE still goes out as the peer's window opens; the FIN
        // follows the last byte (RFC 9293 §3.10.4: "queue this until all preceding SENDs
        // have been segmentized").
        let (mut c, mut p) = established_with(&cfg(), ISS, Some(1460), 1000);
        feed(
            &mut c,
            &Segment {
                wnd: 1000,
                ..p.seg(Flags::FIN | Flags::ACK)
            },
        );
        p.nxt = p.nxt + 1;
        quiet(&mut c);
        assert_eq!(
            write(&mut c, 1, 3000).len(),
            1,
            "only the first 1000 bytes fit"
        );
        c.close(1);
        assert_eq!(c.state(), State::LastAck);
        assert_silent(&mut c);
        feed(
            &mut c,
            &Segment {
                wnd: 5000,
                ..p.acking(ISS + 1001)
            },
        );
        let mut out = Vec::new();
        c.drain_transmit(&mut out);
        assert_eq!(out.iter().map(|s| s.len).sum::<u32>(), 2000);
        assert!(
            out.last()
                .is_some_and(|s| s.has(Flags::FIN) && s.seq + s.len == ISS + 3001)
        );
    }

    #[test]
    fn ack_of_fin_closes() {
        let (mut c, p) = last_ack();
        feed(&mut c, &p.acking(ISS + 2));
        // "If our FIN is now acknowledged, delete the TCB, enter the CLOSED state"
        assert_silent(&mut c);
        assert_eq!(c.state(), State::Closed);
        assert_eq!(c.poll_timeout(), None);
        assert!(
            !events(&mut c)
                .iter()
                .any(|e| matches!(e, ConnEvent::Reset { .. }))
        );
    }

    #[test]
    fn ack_not_covering_fin_is_ignored() {
        let (mut c, p) = last_ack();
        feed(&mut c, &p.ack());
        assert_silent(&mut c);
        assert_eq!(c.state(), State::LastAck);
    }

    #[test]
    fn old_ack_is_ignored() {
        common::ack_old(last_ack);
    }

    #[test]
    fn ack_of_unsent_data_is_acked() {
        common::ack_unsent(last_ack);
    }

    #[test]
    fn retransmitted_fin_is_acked() {
        common::fin_retransmitted(last_ack);
    }

    #[test]
    fn rst_in_window_closes_silently() {
        common::rst_resets(last_ack, 100, false);
    }

    #[test]
    fn rst_at_rcv_nxt_closes_silently() {
        common::rst_resets(last_ack, 0, false);
    }

    #[test]
    fn rst_out_of_window_is_dropped() {
        common::rst_out_of_window(last_ack);
    }

    #[test]
    fn syn_in_window_resets() {
        common::syn_in_window(last_ack);
    }

    #[test]
    fn old_syn_is_acked() {
        common::syn_old(last_ack);
    }

    #[test]
    fn data_out_of_window_is_acked() {
        common::data_out_of_window(last_ack);
    }

    #[test]
    fn fin_retransmits_then_times_out() {
        let (mut c, _) = last_ack();
        for _ in 0..15 {
            c.handle_timeout(c.poll_timeout().unwrap());
            assert_reply(&mut c, Flags::FIN | Flags::ACK, ISS + 1, PEER_ISS + 2);
        }
        c.handle_timeout(c.poll_timeout().unwrap());
        assert_silent(&mut c);
        assert_eq!(c.state(), State::Closed);
        assert!(has_event(&events(&mut c), ConnEvent::TimedOut));
    }
}

// ----- TIME_WAIT ----------------------------------------------------------------------

mod time_wait {
    use super::*;

    #[test]
    fn lasts_exactly_two_msl() {
        let (mut c, _) = time_wait();
        assert_eq!(c.poll_timeout(), Some(1 + 2 * MSL));
        c.handle_timeout(2 * MSL);
        assert_eq!(c.state(), State::TimeWait);
        c.handle_timeout(1 + 2 * MSL);
        // RFC 9293 §3.10.8: "delete the TCB, enter the CLOSED state"
        assert_eq!(c.state(), State::Closed);
        assert_silent(&mut c);
        assert!(has_event(&events(&mut c), ConnEvent::TimeWaitExpired));
        assert_eq!(c.poll_timeout(), None);
    }

    #[test]
    fn retransmitted_fin_is_acked_and_restarts_the_timer() {
        let (mut c, p) = time_wait();
        // Fifth/eighth step TIME-WAIT: "Acknowledge it, and restart the 2 MSL timeout."
        c.handle_segment(MSL, &p.at(p.nxt - 1, Flags::FIN | Flags::ACK));
        assert_reply(&mut c, Flags::ACK, ISS + 2, PEER_ISS + 2);
        assert_eq!(c.poll_timeout(), Some(MSL + 2 * MSL));
        assert_eq!(events(&mut c), [ConnEvent::TimeWaitRestart]);
        c.handle_timeout(1 + 2 * MSL);
        assert_eq!(c.state(), State::TimeWait);
    }

    #[test]
    fn other_old_segments_do_not_restart_the_timer() {
        let (mut c, p) = time_wait();
        c.handle_segment(MSL, &p.data_at(p.nxt - 11, 10));
        assert_ack(&mut c);
        assert_eq!(c.poll_timeout(), Some(1 + 2 * MSL));
    }

    #[test]
    fn acks_are_ignored() {
        let (mut c, p) = time_wait();
        for seg in [p.ack(), p.acking(ISS), p.acking(ISS + 5)] {
            feed(&mut c, &seg);
            assert_silent(&mut c);
            assert_eq!(c.state(), State::TimeWait);
        }
    }

    #[test]
    fn in_window_fin_or_data_is_ignored() {
        let (mut c, p) = time_wait();
        feed(&mut c, &p.seg(Flags::FIN | Flags::ACK));
        feed(&mut c, &p.at(p.nxt + 10, Flags::FIN | Flags::ACK));
        assert_silent(&mut c);
        assert_eq!(c.state(), State::TimeWait);
    }

    #[test]
    fn rst_in_window_closes_silently() {
        common::rst_resets(time_wait, 100, false);
    }

    #[test]
    fn rst_at_rcv_nxt_closes_silently() {
        common::rst_resets(time_wait, 0, false);
    }

    #[test]
    fn rst_out_of_window_is_dropped() {
        common::rst_out_of_window(time_wait);
    }

    #[test]
    fn syn_in_window_resets() {
        common::syn_in_window(time_wait);
    }

    #[test]
    fn old_syn_is_acked() {
        common::syn_old(time_wait);
    }

    #[test]
    fn data_out_of_window_is_acked() {
        common::data_out_of_window(time_wait);
    }
}

// ----- two connections talking --------------------------------------------------------

mod together {
    use super::*;

    fn pair() -> (Connection, Connection) {
        let a = Connection::connect(0, LOCAL, REMOTE, ISS, &cfg(), STREAM);
        let b = Connection::connect(0, REMOTE, LOCAL, PEER_ISS, &cfg(), PEER_STREAM);
        (a, b)
    }

    #[test]
    fn simultaneous_open() {
        let (mut a, mut b) = pair();
        exchange(&mut a, &mut b, 1);
        assert_eq!(
            (a.state(), b.state()),
            (State::Established, State::Established)
        );
        let mut evs = Vec::new();
        a.drain_events(&mut evs);
        assert!(has_event(
            &evs,
            ConnEvent::StateChange {
                from: State::SynSent,
                to: State::SynReceived,
                why: Why::SimultaneousOpen,
            }
        ));
        assert_eq!((a.snd_una(), a.rcv_nxt()), (ISS + 1, PEER_ISS + 1));
    }

    #[test]
    fn simultaneous_close() {
        let (mut a, mut b) = pair();
        exchange(&mut a, &mut b, 1);
        a.close(2);
        b.close(2);
        // Both FINs cross: each side FIN_WAIT_1 + FIN → CLOSING, then ACK → TIME_WAIT.
        let (fa, fb) = (one(&mut a), one(&mut b));
        a.handle_segment(3, &fb);
        b.handle_segment(3, &fa);
        assert_eq!((a.state(), b.state()), (State::Closing, State::Closing));
        exchange(&mut a, &mut b, 4);
        assert_eq!((a.state(), b.state()), (State::TimeWait, State::TimeWait));
        assert_eq!(a.poll_timeout(), Some(4 + 2 * MSL));
    }
}

// ----- the data path: delayed ACK, Nagle, zero-window probes, NewReno --------------

mod data_path {
    use super::*;

    fn full() -> Config {
        Config::default()
    }

    #[test]
    fn delayed_ack_every_second_segment_or_after_the_delay() {
        // RFC 5681 §4.2: ACK at least every second full-sized segment, within 500 ms.
        let (mut c, p) = established_with(&full(), ISS, Some(1460), 65535);
        feed(&mut c, &p.data_at(p.nxt, 1460));
        assert_silent(&mut c);
        let delay = full().delayed_ack.unwrap();
        assert_eq!(c.poll_timeout(), Some(1 + delay), "fed at t=1");
        feed(&mut c, &p.data_at(p.nxt + 1460, 1460));
        assert_reply(&mut c, Flags::ACK, ISS + 1, PEER_ISS + 2921);
        feed(&mut c, &p.data_at(p.nxt + 2920, 100));
        assert_silent(&mut c);
        c.handle_timeout(1 + delay);
        assert_reply(&mut c, Flags::ACK, ISS + 1, PEER_ISS + 3021);
    }

    #[test]
    fn out_of_order_and_gap_filling_data_are_acked_at_once() {
        let (mut c, p) = established_with(&full(), ISS, Some(1460), 65535);
        feed(&mut c, &p.data_at(p.nxt + 100, 100));
        assert_reply(&mut c, Flags::ACK, ISS + 1, PEER_ISS + 1);
        feed(&mut c, &p.data_at(p.nxt, 100));
        assert_reply(&mut c, Flags::ACK, ISS + 1, PEER_ISS + 201);
    }

    #[test]
    fn reply_carries_the_delayed_ack() {
        let (mut c, p) = established_with(&full(), ISS, Some(1460), 65535);
        feed(&mut c, &p.data_at(p.nxt, 100));
        assert_silent(&mut c);
        let sent = write(&mut c, 1, 50);
        assert_eq!(sent.len(), 1);
        assert_eq!(
            (sent[0].ack, sent[0].len),
            (PEER_ISS + 101, 50),
            "piggybacked ACK"
        );
        assert_eq!(
            c.poll_timeout(),
            Some(1 + SECOND),
            "only the retransmission timer is left"
        );
    }

    #[test]
    fn nagle_holds_small_segments_while_data_is_unacknowledged() {
        // RFC 1122 §4.2.3.4.
        let (mut c, p) = established_with(&full(), ISS, Some(1460), 65535);
        assert_eq!(write(&mut c, 1, 10).len(), 1, "nothing outstanding: send");
        assert!(
            write(&mut c, 1, 10).is_empty(),
            "held while the first is unacknowledged"
        );
        assert!(write(&mut c, 1, 10).is_empty());
        feed(&mut c, &p.acking(ISS + 11));
        let sent = one(&mut c);
        assert_eq!(
            (sent.seq, sent.len),
            (ISS + 11, 20),
            "coalesced into one segment"
        );
        let nodelay = Config {
            nagle: false,
            ..full()
        };
        let (mut c, _) = established_with(&nodelay, ISS, Some(1460), 65535);
        write(&mut c, 1, 10);
        assert_eq!(write(&mut c, 1, 10).len(), 1, "TCP_NODELAY sends at once");
    }

    #[test]
    fn zero_window_is_probed_with_backoff() {
        // RFC 9293 §3.8.6.1 / RFC 1122 §4.2.2.17.
        let (mut c, p) = established_with(&full(), ISS, Some(1460), 0);
        assert!(write(&mut c, 0, 100).is_empty(), "the window is closed");
        let first = c.poll_timeout().expect("persist timer");
        assert_eq!(first, SECOND);
        c.handle_timeout(first);
        let probe = one(&mut c);
        assert_eq!((probe.seq, probe.len), (ISS + 1, 1));
        assert!(events(&mut c).contains(&ConnEvent::WindowProbe));
        // The receiver answers with a zero window again: the next probe waits twice as long.
        feed(
            &mut c,
            &Segment {
                wnd: 0,
                ..p.acking(ISS + 1)
            },
        );
        assert_silent(&mut c);
        let second = c.poll_timeout().unwrap();
        c.handle_timeout(second);
        let again = one(&mut c);
        assert_eq!((again.seq, again.len), (ISS + 1, 1), "the same octet");
        // The window opens: the rest goes, no more probes.
        feed(
            &mut c,
            &Segment {
                wnd: 1000,
                ..p.acking(ISS + 2)
            },
        );
        let rest = one(&mut c);
        assert_eq!((rest.seq, rest.len), (ISS + 2, 99));
    }

    #[test]
    fn three_duplicate_acks_trigger_fast_retransmit() {
        // RFC 5681 §3.2: the third duplicate ACK retransmits SND.UNA's segment at once.
        let iw10 = Config {
            initial_window: Some(10),
            ..full()
        };
        let (mut c, p) = established_with(&iw10, ISS, Some(1000), 65535);
        assert_eq!(write(&mut c, 1, 10_000).len(), 10);
        let dup = Segment {
            wnd: 65535,
            ..p.acking(ISS + 1001)
        };
        feed(&mut c, &dup);
        assert_silent(&mut c);
        feed(&mut c, &dup);
        feed(&mut c, &dup);
        assert_silent(&mut c);
        feed(&mut c, &dup);
        let re = one(&mut c);
        assert_eq!((re.seq, re.len), (ISS + 1001, 1000));
        assert!(events(&mut c).iter().any(|e| matches!(
            e,
            ConnEvent::Congestion {
                phase: Phase::FastRetransmit,
                ssthresh: 4500,
                cwnd: 7500
            }
        )));
        assert_eq!(c.stats().retransmits, 1);
    }
}

// ----- property test: arbitrary segments in every state -------------------------------

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn fixture(state: State) -> (Connection, Peer) {
        match state {
            State::Closed => {
                let (mut c, p) = established();
                c.abort();
                quiet(&mut c);
                (c, p)
            }
            State::Listen => {
                let (mut c, p) = syn_received();
                feed(&mut c, &p.seg(Flags::RST));
                quiet(&mut c);
                (c, p)
            }
            State::SynSent => syn_sent(),
            State::SynReceived => syn_received(),
            State::Established => established(),
            State::FinWait1 => fin_wait_1(),
            State::FinWait2 => fin_wait_2(),
            State::CloseWait => close_wait(),
            State::Closing => closing(),
            State::LastAck => last_ack(),
            State::TimeWait => time_wait(),
        }
    }

    fn segment(p: Peer) -> impl Strategy<Value = Segment> {
        let seq = prop_oneof![
            any::<u32>().prop_map(Seq),
            (-4000i32..70_000).prop_map(move |d| p.nxt + d as u32)
        ];
        let ack = prop_oneof![
            any::<u32>().prop_map(Seq),
            (-3i32..4000).prop_map(move |d| p.ack + d as u32)
        ];
        (
            seq,
            ack,
            0u8..64,
            any::<u16>(),
            0u32..3000,
            proptest::option::of(any::<u16>()),
        )
            .prop_map(move |(seq, ack, flags, wnd, len, mss)| {
                Segment {
                    flags: Flags(flags),
                    wnd,
                    mss,
                    ..p.data_at(seq, len)
                }
                .with_ack(ack)
            })
    }

    impl Segment {
        fn with_ack(self, ack: Seq) -> Segment {
            Segment { ack, ..self }
        }
    }

    /// Every segment a connection emits must be something it could legitimately send.
    fn check_output(c: &Connection, input: Option<&Segment>, sent: &[Segment]) {
        if let Some(seg) = input.filter(|s| s.has(Flags::RST)) {
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
            assert!(s.mss.is_none());
            assert!(s.len <= 1460, "at most the MSS: {s:?}");
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

    /// Delivered bytes are exactly those from the old RCV.NXT up to the new one (less the
    /// FIN), in order, each tagged as the peer sent it.
    fn check_events(c: &Connection, evs: &[ConnEvent]) {
        let data = data_events(evs);
        let total: u32 = data.iter().map(|d| d.0).sum();
        let eof = evs.contains(&ConnEvent::Eof) as u32;
        let mut at = c.rcv_nxt() - total - eof;
        let peer = Peer {
            nxt: PEER_ISS,
            ack: ISS,
        };
        for (len, tag) in data {
            assert!(len > 0);
            assert_eq!(tag, peer.data_at(at, len).tag, "in order, exactly once");
            at = at + len;
        }
    }

    fn run(state: State, write_first: bool, segs: Vec<Segment>, times: Vec<u64>) {
        let (mut c, _) = fixture(state);
        assert_eq!(c.state(), state);
        let mut now = 1;
        if write_first {
            c.send(now, 5000, Tag::new(STREAM, 0));
            let sent = out(&mut c);
            check_output(&c, None, &sent);
        }
        for (seg, dt) in segs.iter().zip(times) {
            now += dt;
            let (before, synced) = (c.rcv_nxt(), c.state().is_synchronized());
            c.handle_segment(now, seg);
            let sent = out(&mut c);
            check_output(&c, Some(seg), &sent);
            let evs = events(&mut c);
            check_events(&c, &evs);
            if synced && c.state().is_synchronized() {
                assert!(c.rcv_nxt().ge(before), "RCV.NXT never moves back");
            }
            assert!(c.snd_una().le(c.snd_nxt()));
            // Let a timer fire now and then (RTO, TIME_WAIT).
            if let Some(t) = c.poll_timeout().filter(|&t| t <= now + dt) {
                now = now.max(t);
                c.handle_timeout(now);
                let sent = out(&mut c);
                check_output(&c, None, &sent);
                events(&mut c);
            }
        }
        if matches!(c.state(), State::Closed | State::Listen) {
            assert_eq!(c.poll_timeout(), None, "a dead connection keeps no timer");
        }
    }

    /// One property per state, 256 cases each.
    macro_rules! per_state {
        ($($name:ident => $state:expr),* $(,)?) => {
            proptest! {
                #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
                $(
                    #[test]
                    fn $name(
                        write_first in any::<bool>(),
                        segs in proptest::collection::vec(segment(Peer { nxt: PEER_ISS + 1, ack: ISS + 1 }), 1..6),
                        times in proptest::collection::vec(0u64..3 * SECOND, 6),
                    ) {
                        run($state, write_first, segs, times);
                    }
                )*
            }
        };
    }

    per_state! {
        in_closed => State::Closed,
        in_listen => State::Listen,
        in_syn_sent => State::SynSent,
        in_syn_received => State::SynReceived,
        in_established => State::Established,
        in_fin_wait_1 => State::FinWait1,
        in_fin_wait_2 => State::FinWait2,
        in_close_wait => State::CloseWait,
        in_closing => State::Closing,
        in_last_ack => State::LastAck,
        in_time_wait => State::TimeWait,
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn closed_and_listen_rules_are_well_formed(seg in segment(Peer { nxt: PEER_ISS, ack: ISS })) {
            if let Some(r) = reset_for(&seg) {
                prop_assert!(!seg.has(Flags::RST));
                prop_assert!(r.has(Flags::RST) && r.len == 0);
                prop_assert_eq!((r.src, r.dst), (seg.dst, seg.src));
            }
            match listen_verdict(&seg) {
                ListenVerdict::Reset(r) => prop_assert!(!seg.has(Flags::RST) && r.seq == seg.ack),
                ListenVerdict::Accept => prop_assert!(seg.has(Flags::SYN) && !seg.has(Flags::ACK)),
                ListenVerdict::Ignore => {}
            }
        }
    }
}
