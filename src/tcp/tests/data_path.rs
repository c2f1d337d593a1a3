//! The data path, and two connections talking to each other.

use super::*;

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
    assert!(events(&mut c).contains(&ConnEvent::WindowProbe { old_seq: false }));
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

/// `probe_old_seq` (Linux `tcp_xmit_probe_skb`): the probe is a bare ACK at SND.UNA − 1
/// that takes no sequence space, and each answer that leaves the window closed restarts
/// the (backed-off) probe timer from the answer (`tcp_ack_probe`).
#[test]
fn linux_probes_a_zero_window_with_an_old_sequence_number() {
    let linux_probe = Config {
        probe_old_seq: true,
        ..full()
    };
    let (mut c, p) = established_with(&linux_probe, ISS, Some(1460), 0);
    assert!(write(&mut c, 0, 100).is_empty(), "the window is closed");
    let first = c.poll_timeout().expect("persist timer");
    c.handle_timeout(first);
    let probe = one(&mut c);
    assert_eq!((probe.seq, probe.len, probe.flags), (ISS, 0, Flags::ACK));
    assert_eq!(probe.why, Why::WindowProbeOldSeq);
    assert!(events(&mut c).contains(&ConnEvent::WindowProbe { old_seq: true }));
    assert_eq!(
        c.snd_nxt(),
        ISS + 1,
        "the probe is outside the sequence space sent"
    );
    // The answer, a little later, keeps the window closed: the next probe is two RTOs
    // (the backoff) after the answer, not after the probe.
    let answered = first + SECOND / 30;
    c.handle_segment(
        answered,
        &Segment {
            wnd: 0,
            ..p.acking(ISS + 1)
        },
    );
    assert_silent(&mut c);
    assert_eq!(c.poll_timeout(), Some(answered + 2 * first));
    // The window opens: the data goes from SND.UNA, nothing to fill in.
    feed(
        &mut c,
        &Segment {
            wnd: 1000,
            ..p.acking(ISS + 1)
        },
    );
    let data = one(&mut c);
    assert_eq!((data.seq, data.len), (ISS + 1, 100));
}

/// `rmem_per_segment` (Linux frees a received sk_buff only once it is read whole): after
/// reading 2000 of three 1460-byte segments, the first is free and the second still
/// charged whole, so the window reopens by 1460, not 2000.
#[test]
fn a_segment_read_in_part_keeps_its_window_closed() {
    let read_window = |per_segment: bool| {
        let small = Config {
            window: 4380,
            rmem_per_segment: per_segment,
            delayed_ack: None,
            ..full()
        };
        let (mut c, p) = established_with(&small, ISS, Some(1460), 65535);
        for i in 0..3 {
            feed(&mut c, &p.data_at(PEER_ISS + 1 + i * 1460, 1460));
        }
        assert_eq!(
            out(&mut c).last().map(|a| a.wnd),
            Some(0),
            "the window closed"
        );
        c.read(2, 2000);
        out(&mut c).last().map(|update| update.wnd)
    };
    assert_eq!(
        read_window(false),
        Some(2000),
        "every byte read frees window"
    );
    assert_eq!(read_window(true), Some(1460), "one whole segment freed");
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

/// Linux counts cwnd in packets and a FIN is one (`tcp_write_xmit`, `tcp_cwnd_test`):
/// with `fin_needs_cwnd`, a FIN behind a full window of short segments waits for an ACK;
/// without it the FIN, which carries no data, goes at once.
#[test]
fn a_fin_waits_for_room_in_cwnd_counted_in_segments() {
    for (fin_needs_cwnd, fin_at_once) in [(true, false), (false, true)] {
        let iw2 = Config {
            initial_window: Some(2),
            nagle: false,
            fin_needs_cwnd,
            ..full()
        };
        let (mut c, p) = established_with(&iw2, ISS, Some(1000), 65535);
        let mut sent = write(&mut c, 1, 1500);
        c.close(1);
        sent.extend(out(&mut c));
        let fins = sent.iter().filter(|s| s.has(Flags::FIN)).count();
        assert_eq!(
            (sent.len() - fins, fins == 1),
            (2, fin_at_once),
            "{sent:#?}"
        );
        if !fin_at_once {
            feed(&mut c, &p.acking(ISS + 1001));
            let fin = one(&mut c);
            assert_eq!((fin.flags, fin.seq), (Flags::FIN | Flags::ACK, ISS + 1501));
        }
    }
}
