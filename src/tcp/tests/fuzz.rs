//! Property tests: arbitrary segments in every state.

use super::*;

use crate::tcp::timers::SendTimer;
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

/// RFC 9293 §3.8.6.1: while the peer's window is zero only a probe (one unit of sequence
/// space) is in flight, and the one send timer is the persist timer, never retransmission.
fn check_send_timer(c: &Connection) {
    if c.zero_window.is_some() {
        assert!(c.snd_nxt() - c.snd_una() <= 1, "only the probe in flight");
        assert!(!matches!(c.timers.send, SendTimer::Retransmit(_)));
    }
    if matches!(c.state(), State::Closed | State::Listen) {
        assert_eq!(c.timers.send, SendTimer::Off);
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
        check_send_timer(&c);
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
