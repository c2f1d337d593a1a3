//! The receiver's SACK blocks (RFC 2018 §4) and D-SACK (RFC 2883 §4) on our ACKs.

use super::*;

/// ESTABLISHED under `cfg` (which offers SACK), the peer's SYN,ACK (MSS `mss`, sackOK
/// when `peer_sack_ok`) answering at `at` the SYN sent at 0.
fn established_sack_with(
    cfg: &Config,
    peer_sack_ok: bool,
    mss: u16,
    at: u64,
) -> (Connection, Peer) {
    let mut c = Connection::connect(0, LOCAL, REMOTE, ISS, cfg, STREAM);
    assert!(one(&mut c).sack_ok, "RFC 2018 §2: sackOK in the SYN");
    events(&mut c);
    let mut p = Peer {
        nxt: PEER_ISS,
        ack: ISS + 1,
    };
    let sa = Segment {
        mss: Some(mss),
        sack_ok: peer_sack_ok,
        ..p.seg(Flags::SYN | Flags::ACK)
    };
    c.handle_segment(at, &sa);
    p.nxt = p.nxt + 1;
    assert_eq!(c.state(), State::Established);
    quiet(&mut c);
    (c, p)
}

/// ESTABLISHED with SACK and D-SACK offered by us and, when `peer_sack_ok`, by the peer.
fn established_sack(peer_sack_ok: bool) -> (Connection, Peer) {
    let cfg = Config {
        sack: true,
        dsack: true,
        ..cfg()
    };
    established_sack_with(&cfg, peer_sack_ok, 1460, 1)
}

fn blocks(s: &Segment) -> Vec<(u32, u32)> {
    s.sack.iter().map(|(l, r)| (l.0, r.0)).collect()
}

const D: Seq = Seq(PEER_ISS.0 + 1);

#[test]
fn out_of_order_data_is_reported_newest_block_first() {
    let (mut c, p) = established_sack(true);
    feed(&mut c, &p.data_at(D + 100, 100));
    assert_eq!(blocks(&assert_ack(&mut c)), [(D.0 + 100, D.0 + 200)]);
    feed(&mut c, &p.data_at(D + 300, 100));
    let ack = assert_ack(&mut c);
    assert_eq!(ack.ack, D, "the hole at RCV.NXT is still open");
    assert_eq!(
        blocks(&ack),
        [(D.0 + 300, D.0 + 400), (D.0 + 100, D.0 + 200)]
    );
    // The first hole fills: RCV.NXT reaches the older block, which goes.
    feed(&mut c, &p.data_at(D, 100));
    let ack = assert_ack(&mut c);
    assert_eq!(ack.ack, D + 200);
    assert_eq!(blocks(&ack), [(D.0 + 300, D.0 + 400)]);
    feed(&mut c, &p.data_at(D + 200, 100));
    let ack = assert_ack(&mut c);
    assert_eq!((ack.ack, ack.sack.is_empty()), (D + 400, true));
}

#[test]
fn an_out_of_order_fin_counts_in_its_block() {
    let (mut c, p) = established_sack(true);
    let fin = Segment {
        flags: Flags::FIN | Flags::ACK,
        ..p.data_at(D + 100, 100)
    };
    feed(&mut c, &fin);
    assert_eq!(blocks(&assert_ack(&mut c)), [(D.0 + 100, D.0 + 201)]);
}

#[test]
fn without_the_peers_sack_ok_acks_carry_no_blocks() {
    let (mut c, p) = established_sack(false);
    feed(&mut c, &p.data_at(D + 100, 100));
    assert!(
        assert_ack(&mut c).sack.is_empty(),
        "RFC 2018 §2: not permitted"
    );
}

#[test]
fn data_that_came_twice_is_a_dsack_reported_once() {
    let (mut c, p) = established_sack(true);
    feed(&mut c, &p.data_at(D, 100));
    assert_ack(&mut c);
    // Wholly below RCV.NXT: unacceptable, answered with a D-SACK (RFC 2883 §4 (1)).
    feed(&mut c, &p.data_at(D, 100));
    assert_eq!(blocks(&assert_ack(&mut c)), [(D.0, D.0 + 100)]);
    // Held out of order and sent again: the D-SACK above the ACK, then the block itself.
    feed(&mut c, &p.data_at(D + 200, 100));
    assert_ack(&mut c);
    feed(&mut c, &p.data_at(D + 200, 100));
    assert_eq!(
        blocks(&assert_ack(&mut c)),
        [(D.0 + 200, D.0 + 300), (D.0 + 200, D.0 + 300)]
    );
    feed(&mut c, &p.data_at(D + 400, 100));
    assert_eq!(
        blocks(&assert_ack(&mut c)),
        [(D.0 + 400, D.0 + 500), (D.0 + 200, D.0 + 300)],
        "the D-SACK went once"
    );
}

/// ESTABLISHED with SACK and `tlp`, an RTT sample of 20 ms from the handshake.
fn established_tlp() -> (Connection, Peer) {
    let cfg = Config {
        sack: true,
        tlp: true,
        rtt_from_handshake: true,
        rto_min: SECOND / 5,
        ..cfg()
    };
    established_sack_with(&cfg, true, 1000, 20 * MS)
}

const MS: u64 = 1_000_000;

#[test]
fn a_lost_tail_is_probed_before_the_rto_and_the_rto_restarts_unbacked() {
    let (mut c, _) = established_tlp();
    let now = 30 * MS;
    c.send(now, 2000, Tag::new(STREAM, 0));
    assert_eq!(out(&mut c).len(), 2);
    // RFC 8985 §7.2: PTO = 2·SRTT + 2 ms with two segments out, before the RTO, in
    // whole jiffies (4 ms at HZ = 250).
    let probe_at = c.poll_timeout().expect("a timer");
    assert_eq!(probe_at, now + 44 * MS);
    c.handle_timeout(probe_at);
    let probe = one(&mut c);
    assert_eq!(
        (probe.seq, probe.len, probe.why),
        (ISS + 1001, 1000, Why::LossProbe)
    );
    assert!(
        events(&mut c)
            .iter()
            .all(|e| !matches!(e, ConnEvent::Retransmit { .. }))
    );
    // The RTO restarts from the probe with its unbacked value (RFC 6298: max(SRTT +
    // 4·RTTVAR, rto_min) = 200 ms here).
    let rto_at = c.poll_timeout().expect("the RTO");
    assert_eq!(rto_at, probe_at + 200 * MS);
    c.handle_timeout(rto_at);
    assert_eq!(out(&mut c)[0].seq, ISS + 1, "the RTO resends from SND.UNA");
}

#[test]
fn without_sack_there_is_no_probe() {
    let (mut c, _) = established_with(&Config { tlp: true, ..cfg() }, ISS, Some(1000), 65535);
    c.send(0, 2000, Tag::new(STREAM, 0));
    out(&mut c);
    c.handle_timeout(c.poll_timeout().unwrap());
    assert!(
        events(&mut c)
            .iter()
            .any(|e| matches!(e, ConnEvent::Retransmit { .. })),
        "the first timer is the RTO"
    );
}

#[test]
fn a_retransmission_timeout_skips_what_the_peer_sacked() {
    let (mut c, p) = established_sack(true);
    c.send(0, 3000, Tag::new(STREAM, 0));
    assert_eq!(out(&mut c).len(), 3, "three 1000-byte segments");
    // The first is lost; the peer SACKs the second (RFC 2018 §4).
    let mut ack = p.acking(ISS + 1);
    ack.sack.push(ISS + 1001, ISS + 2001);
    feed(&mut c, &ack);
    quiet(&mut c);
    c.handle_timeout(c.poll_timeout().unwrap());
    let resent: Vec<(Seq, u32)> = out(&mut c).iter().map(|s| (s.seq, s.len)).collect();
    assert_eq!(
        resent,
        [(ISS + 1, 1000), (ISS + 2001, 1000)],
        "RFC 6675 §5.1: the SACKed segment is not sent again"
    );
}

/// Linux `tcp_data_queue`: a segment that empties the out-of-order queue is ACKed at
/// once (RFC 5681 §4.2, "fills in ... a gap"), even when the FIN it completes would
/// otherwise wait for the application's reply (`tcp_fin` makes the connection
/// interactive). A FIN held out of order is part of that queue.
#[test]
fn linux_acks_at_once_the_segment_that_fills_the_gap_before_a_held_fin() {
    let (mut c, p) = established_sack_with(&Config::linux(), true, 1460, 1);
    let fin = Segment {
        flags: Flags::FIN | Flags::ACK,
        ..p.data_at(D + 100, 0)
    };
    feed(&mut c, &fin);
    assert_eq!(assert_ack(&mut c).ack, D, "out of order: a duplicate ACK");
    feed(&mut c, &p.data_at(D, 100));
    let ack = assert_ack(&mut c);
    assert_eq!((ack.ack, ack.sack.is_empty()), (D + 101, true));
    assert_eq!(c.state(), State::CloseWait);
}

#[test]
fn linux_delays_the_ack_of_an_in_order_data_and_fin() {
    let (mut c, p) = established_sack_with(&Config::linux(), true, 1460, 1);
    feed(&mut c, &p.data_at(D, 100));
    quiet(&mut c); // the first data: a quick ACK
    let fin = Segment {
        flags: Flags::FIN | Flags::ACK,
        ..p.data_at(D + 100, 100)
    };
    feed(&mut c, &fin);
    assert_silent(&mut c);
    assert_eq!(c.state(), State::CloseWait);
}

/// With `rack` (the linux profile): once three segments above a hole are SACKed, every
/// hole sent before the latest SACKed segment is lost (RFC 8985 §6.2, reordering window
/// zero until reordering is seen), not one per partial ACK as with NewReno; PRR (RFC
/// 6937) lets one go per segment delivered, the first at once; the recovery is reported
/// as RACK's.
#[test]
fn rack_marks_every_hole_lost_and_prr_paces_the_resends() {
    let cfg = Config {
        initial_window: Some(10),
        nagle: false,
        ..Config::linux()
    };
    const MS: u64 = 1_000_000;
    let (mut c, p) = established_sack_with(&cfg, true, 1000, 20 * MS);
    let base = ISS + 1;
    assert_eq!(write(&mut c, 20 * MS, 10_000).len(), 10);
    let sacking = |blocks: &[(u32, u32)]| {
        let mut s = Segment {
            wnd: 65535,
            ..p.acking(base + 1000)
        };
        for &(l, r) in blocks {
            s.sack.push(base + l, base + r);
        }
        s
    };
    // Segments 1 and 3 were lost; 2, 4 and 5 arrive and are SACKed a round trip later.
    let t = 40 * MS;
    c.handle_segment(t, &sacking(&[(2000, 3000)]));
    c.handle_segment(t, &sacking(&[(4000, 5000), (2000, 3000)]));
    let sent = out(&mut c);
    assert!(
        sent.iter().all(|s| s.seq.ge(base + 10_000)),
        "no loss known yet: {sent:#?}"
    );
    c.handle_segment(t, &sacking(&[(4000, 6000), (2000, 3000)]));
    let resent: Vec<Seq> = (out(&mut c).iter())
        .filter(|s| s.seq.lt(base + 10_000))
        .map(|s| s.seq)
        .collect();
    assert_eq!(resent, [base + 1000], "one delivered, one sent");
    c.handle_segment(t, &sacking(&[(4000, 7000), (2000, 3000)]));
    let resent: Vec<Seq> = (out(&mut c).iter())
        .filter(|s| s.seq.lt(base + 10_000))
        .map(|s| s.seq)
        .collect();
    assert_eq!(
        resent,
        [base + 3000],
        "the second hole, before the next round trip"
    );
    assert!(events(&mut c).iter().any(|e| matches!(
        e,
        ConnEvent::Congestion {
            phase: Phase::RackRecovery,
            ..
        }
    )));
}
