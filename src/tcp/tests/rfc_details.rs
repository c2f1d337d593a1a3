//! The RFC rules that are easy to get wrong, one module per rule. Each test failed on the
//! implementation before issue 10's fixes.

use super::*;
use crate::tcp::timers::SendTimer;

/// An ACK from the peer with window `wnd` (bytes; no scaling in these fixtures).
fn window(p: &Peer, ack: Seq, wnd: u16) -> Segment {
    Segment {
        wnd,
        ..p.acking(ack)
    }
}

fn with_cc() -> Config {
    Config {
        congestion_control: true,
        ..cfg()
    }
}

// ----- zero windows: RFC 9293 §3.8.6.1, MUST-36/37; RFC 1122 §4.2.2.17 ------------------

mod zero_window {
    use super::*;

    /// Established against a closed window with `len` bytes written; the first probe sent.
    fn probing(cfg: &Config, len: u64) -> (Connection, Peer, u64) {
        let (mut c, p) = established_with(cfg, ISS, Some(1000), 0);
        assert!(write(&mut c, 1, len).is_empty(), "the window is closed");
        let t = c.poll_timeout().expect("persist timer");
        assert_eq!(t, 1 + SECOND, "SHLD-29: the first probe after one RTO");
        c.handle_timeout(t);
        let probe = one(&mut c);
        assert_eq!(
            (probe.seq, probe.len, probe.why),
            (ISS + 1, 1, Why::WindowProbe)
        );
        assert!(events(&mut c).contains(&ConnEvent::WindowProbe { old_seq: false }));
        (c, p, t)
    }

    #[test]
    fn replies_to_probes_are_not_duplicate_acks() {
        let (mut c, p, _) = probing(&with_cc(), 5000);
        for _ in 0..5 {
            feed(&mut c, &window(&p, ISS + 1, 0));
            assert_silent(&mut c);
            assert!(
                events(&mut c).is_empty(),
                "no fast retransmit, no congestion event"
            );
        }
        assert_eq!(c.stats().retransmits, 0);
        assert!(matches!(c.timers.send, SendTimer::Persist(_)));
    }

    #[test]
    fn nothing_beyond_the_probe_octet_goes_into_a_closed_window() {
        let (mut c, p, _) = probing(&cfg(), 5000);
        assert!(write(&mut c, 2, 1000).is_empty());
        feed(&mut c, &window(&p, ISS + 1, 0));
        assert_silent(&mut c);
        let t = c.poll_timeout().unwrap();
        c.handle_timeout(t);
        let again = one(&mut c);
        assert_eq!((again.seq, again.len), (ISS + 1, 1), "the same octet again");
    }

    #[test]
    fn an_open_window_resumes_at_snd_una_where_the_refused_probe_was() {
        let (mut c, p, _) = probing(&cfg(), 5000);
        feed(&mut c, &window(&p, ISS + 1, 0));
        feed(&mut c, &window(&p, ISS + 1, 3000));
        let sent = out(&mut c);
        assert_eq!(
            sent.iter().map(|s| (s.seq, s.len)).collect::<Vec<_>>(),
            [(ISS + 1, 1000), (ISS + 1001, 1000), (ISS + 2001, 1000)],
            "no hole at the probe's octet"
        );
        assert_eq!(sent[0].why, Why::ResumeAfterProbe);
        assert!(matches!(c.timers.send, SendTimer::Retransmit(_)));
        assert!(c.zero_window.is_none());
    }

    #[test]
    fn probes_back_off_to_rto_max_and_never_give_up_while_answered() {
        let (mut c, p, mut t) = probing(&cfg(), 5000);
        let mut intervals = Vec::new();
        for _ in 0..40 {
            c.handle_segment(t, &window(&p, ISS + 1, 0));
            assert_silent(&mut c);
            let next = c.poll_timeout().unwrap();
            intervals.push((next - t) / SECOND);
            t = next;
            c.handle_timeout(t);
            assert_eq!(one(&mut c).len, 1);
        }
        assert_eq!(&intervals[..8], [2, 4, 8, 16, 32, 60, 60, 60]);
        assert!(intervals.iter().all(|&i| i <= 60), "capped at rto_max");
        assert_eq!(c.state(), State::Established, "MUST-37: 40 answered probes");
        // Unanswered (the last one above, and these), the probes time out like
        // retransmissions after `retries` of them.
        for _ in 1..cfg().retries {
            t = c.poll_timeout().unwrap();
            c.handle_timeout(t);
            assert_eq!(one(&mut c).len, 1);
        }
        c.handle_timeout(c.poll_timeout().unwrap());
        assert_eq!(c.state(), State::Closed);
        assert!(events(&mut c).contains(&ConnEvent::TimedOut));
    }

    #[test]
    fn one_send_timer_persist_or_retransmit() {
        // 1000 bytes fill the window; the ACK closes it: the retransmission timer stops and
        // the persist timer takes over (and back once the window opens).
        let (mut c, p) = established_with(&cfg(), ISS, Some(1000), 1000);
        assert_eq!(write(&mut c, 1, 2000).len(), 1);
        assert!(matches!(c.timers.send, SendTimer::Retransmit(_)));
        c.handle_segment(100, &window(&p, ISS + 1001, 0));
        assert_eq!(c.timers.send, SendTimer::Persist(100 + SECOND));
        c.handle_timeout(100 + SECOND);
        assert_eq!(one(&mut c).why, Why::WindowProbe);
        assert!(
            events(&mut c)
                .iter()
                .all(|e| !matches!(e, ConnEvent::Retransmit { .. })),
            "a probe, not a retransmission"
        );
        c.handle_segment(200 + SECOND, &window(&p, ISS + 1002, 1000));
        assert_eq!(one(&mut c).seq, ISS + 1002);
        assert!(matches!(c.timers.send, SendTimer::Retransmit(_)));
    }

    #[test]
    fn a_fin_waits_for_window_space_and_rides_on_a_probe() {
        // 100 bytes fill the window, then CLOSE: the FIN is a sequence number beyond it.
        let (mut c, p) = established_with(&cfg(), ISS, Some(1000), 100);
        assert_eq!(write(&mut c, 1, 100).len(), 1);
        c.close(1);
        assert_silent(&mut c);
        c.handle_segment(50, &window(&p, ISS + 101, 0));
        assert_silent(&mut c);
        let mut t = c.poll_timeout().unwrap();
        for _ in 0..20 {
            c.handle_timeout(t);
            let probe = one(&mut c);
            assert_eq!(
                (probe.flags, probe.seq, probe.len),
                (Flags::FIN | Flags::ACK, ISS + 101, 0),
                "the FIN is the probe"
            );
            c.handle_segment(t, &window(&p, ISS + 101, 0));
            t = c.poll_timeout().unwrap();
        }
        assert_eq!(c.state(), State::FinWait1, "still probing, not timed out");
        assert_eq!(c.stats().retransmits, 0);
        c.handle_segment(t - 1, &window(&p, ISS + 101, 100));
        let fin = one(&mut c);
        assert_eq!((fin.flags, fin.seq), (Flags::FIN | Flags::ACK, ISS + 101));
        feed(&mut c, &window(&p, ISS + 102, 100));
        assert_eq!(c.state(), State::FinWait2);
    }

    #[test]
    fn a_refused_segment_still_has_its_ack_processed() {
        // RFC 9293 §3.10.7.4 first step: "If the RCV.WND is zero, no segments will be
        // acceptable, but special allowance should be made to accept valid ACKs".
        let small = Config {
            window: 1000,
            ..cfg()
        };
        let (mut c, p) = established_with(&small, ISS, Some(1000), 65535);
        assert_eq!(write(&mut c, 1, 100).len(), 1);
        feed(&mut c, &p.data_at(p.nxt, 1000));
        assert_eq!(assert_ack(&mut c).wnd, 0, "unread data closed our window");
        // The peer's zero-window probe acknowledges our 100 bytes.
        let probe = Segment {
            ack: ISS + 101,
            ..p.data_at(p.nxt + 1000, 1)
        };
        feed(&mut c, &probe);
        let reply = assert_reply(&mut c, Flags::ACK, ISS + 101, PEER_ISS + 1001);
        assert_eq!((reply.wnd, reply.why), (0, Why::AckZeroWindow));
        assert_eq!(
            (c.snd_una(), c.stats().bytes_acked),
            (ISS + 101, 100),
            "the ACK field was processed"
        );
        assert_eq!(c.stats().bytes_delivered, 1000, "the text was not");
        assert_eq!(c.poll_timeout(), None, "all acknowledged: no timer");
    }
}

// ----- the retransmission timer: RFC 6298 -------------------------------------------------

mod rto {
    use super::*;

    #[test]
    fn rto_is_three_seconds_once_established_after_a_lost_syn() {
        // RFC 6298 §5.7: "If the timer expires awaiting the ACK of a SYN segment ... the
        // RTO MUST be re-initialized to 3 seconds when data transmission begins".
        let (mut c, p) = syn_sent();
        c.handle_timeout(SECOND);
        quiet(&mut c);
        c.handle_segment(2 * SECOND, &p.seg(Flags::SYN | Flags::ACK));
        quiet(&mut c);
        let p = Peer {
            nxt: p.nxt + 1,
            ..p
        };
        assert_eq!(c.rto(), 3 * SECOND);
        write(&mut c, 2 * SECOND, 100);
        assert_eq!(c.poll_timeout(), Some(5 * SECOND));
        // Until the first RTT sample: 100 ms gives RTO = max(rto_min 1 s, 300 ms).
        c.handle_segment(2 * SECOND + SECOND / 10, &p.acking(ISS + 101));
        assert_eq!(c.rto(), SECOND);
    }

    #[test]
    fn the_passive_side_too_after_its_syn_ack_timed_out() {
        let (mut c, p) = syn_received();
        c.handle_timeout(SECOND);
        quiet(&mut c);
        feed(&mut c, &p.ack());
        assert_eq!(c.state(), State::Established);
        assert_eq!(c.rto(), 3 * SECOND);
    }

    #[test]
    fn without_a_lost_syn_the_initial_rto_stays() {
        let (c, _) = established();
        assert_eq!(c.rto(), SECOND);
    }

    #[test]
    fn an_ack_of_retransmitted_data_keeps_the_backoff() {
        // RFC 6298 §5 / Karn: the backed-off RTO is kept "once a new RTT measurement is
        // obtained (which can only happen when new data has been sent and acknowledged)".
        let (mut c, p) = established();
        write(&mut c, 0, 100);
        c.handle_timeout(SECOND);
        quiet(&mut c);
        assert_eq!(c.rto(), 2 * SECOND);
        c.handle_segment(SECOND + SECOND / 2, &p.acking(ISS + 101));
        assert_eq!(c.rto(), 2 * SECOND, "no sample from retransmitted data");
        write(&mut c, 2 * SECOND, 100);
        assert_eq!(c.poll_timeout(), Some(4 * SECOND), "still backed off");
        // The new segment gives a sample (50 ms): the RTO collapses to rto_min.
        c.handle_segment(2 * SECOND + SECOND / 20, &p.acking(ISS + 201));
        assert_eq!(c.rto(), SECOND);
    }

    #[test]
    fn a_backed_off_rto_gives_up_only_after_retries_of_one_segment() {
        // The give-up count (RFC 1122 §4.2.3.5 R2) restarts when SND.UNA advances, even
        // though the timer stays backed off.
        let (mut c, p) = established();
        write(&mut c, 0, 100);
        let mut t = SECOND;
        for _ in 0..10 {
            c.handle_timeout(t);
            quiet(&mut c);
            t = c.poll_timeout().unwrap();
        }
        c.handle_segment(t - 1, &p.acking(ISS + 101));
        write(&mut c, t - 1, 100);
        for _ in 0..15 {
            let t = c.poll_timeout().unwrap();
            c.handle_timeout(t);
            quiet(&mut c);
        }
        assert_eq!(
            c.state(),
            State::Established,
            "15 retries of the second segment"
        );
    }
}

// ----- delayed ACK: RFC 5681 §4.2, RFC 1122 §4.2.3.2 --------------------------------------

mod delayed_ack {
    use super::*;

    #[test]
    fn every_second_segment_of_the_size_the_peer_sends() {
        // We announce 1460; the peer announces 536 and so sends 536-byte segments: two of
        // them are two full-sized segments.
        let (mut c, p) = established_with(&Config::default(), ISS, Some(536), 65535);
        feed(&mut c, &p.data_at(p.nxt, 536));
        assert_silent(&mut c);
        feed(&mut c, &p.data_at(p.nxt + 536, 536));
        assert_reply(&mut c, Flags::ACK, ISS + 1, PEER_ISS + 1073);
    }
}

// ----- window scaling: RFC 7323 §2.2 ------------------------------------------------------

mod window_scale {
    use super::*;

    #[test]
    fn syn_windows_are_never_scaled_in_a_simultaneous_open() {
        let scaled = Config {
            window_scale: Some(7),
            window: 1 << 20,
            ..cfg()
        };
        let (mut c, p) = syn_sent_with(&scaled, ISS);
        let syn = Segment {
            wscale: Some(3),
            wnd: 1000,
            ..p.seg(Flags::SYN)
        };
        feed(&mut c, &syn);
        let syn_ack = one(&mut c);
        assert_eq!(
            (syn_ack.flags, syn_ack.wnd),
            (Flags::SYN | Flags::ACK, 65535)
        );
        assert_eq!(c.snd_wnd(), 1000, "the peer's SYN window, unscaled");
        // The peer's SYN,ACK repeats its SYN: its window is a SYN's too.
        let peer_syn_ack = Segment {
            wscale: Some(3),
            wnd: 2000,
            ..p.seg(Flags::SYN | Flags::ACK)
        };
        feed(&mut c, &peer_syn_ack);
        assert_eq!(c.state(), State::Established);
        assert_eq!(c.snd_wnd(), 2000, "not 2000 << 3");
        // After the handshake windows are scaled.
        feed(
            &mut c,
            &window(
                &Peer {
                    nxt: p.nxt + 1,
                    ..p
                },
                ISS + 1,
                2000,
            ),
        );
        assert_eq!(c.snd_wnd(), 16000);
    }
}

// ----- reopening TIME_WAIT: RFC 1122 §4.2.2.13 ----------------------------------------------

mod reopen {
    use super::*;

    /// A server-side TIME_WAIT record and a new SYN above it reopening the 4-tuple.
    fn reopened(cfg: &Config) -> (Connection, Peer, u64) {
        let (c, _) = time_wait();
        let tw = c.time_wait().cloned().unwrap();
        let expiry = c.poll_timeout().unwrap();
        let peer = Peer {
            nxt: PEER_ISS + 100_000,
            ack: Seq(0),
        };
        let syn = Segment {
            mss: Some(1460),
            ..peer.seg(Flags::SYN)
        };
        let mut c = Connection::accept_reopening(10, &syn, ISS + 100_000, cfg, STREAM, tw);
        assert_eq!(one(&mut c).flags, Flags::SYN | Flags::ACK);
        events(&mut c);
        (
            c,
            Peer {
                nxt: peer.nxt + 1,
                ..peer
            },
            expiry,
        )
    }

    #[test]
    fn an_old_duplicate_syn_returns_the_4_tuple_to_time_wait() {
        // "(2) returns to TIME-WAIT state if the SYN turns out to be an old duplicate": the
        // peer answers our SYN,ACK with a RST.
        let (mut c, p, expiry) = reopened(&cfg());
        c.handle_segment(20, &p.seg(Flags::RST));
        assert_eq!(c.state(), State::TimeWait);
        assert!(events(&mut c).contains(&ConnEvent::StateChange {
            from: State::SynReceived,
            to: State::TimeWait,
            why: Why::OldDuplicateBackToTimeWait,
        }));
        assert_eq!(c.poll_timeout(), Some(expiry), "with the time it had left");
        // The record is the old connection's again: its retransmitted FIN is re-ACKed.
        let old = Peer {
            nxt: PEER_ISS + 1,
            ack: ISS + 2,
        };
        c.handle_segment(30, &old.seg(Flags::FIN | Flags::ACK));
        assert_reply(&mut c, Flags::ACK, ISS + 2, PEER_ISS + 2);
    }

    #[test]
    fn linux_returns_it_to_listen() {
        let listen = Config {
            reopen_old_duplicate: ReopenOldDuplicate::Listen,
            ..cfg()
        };
        let (mut c, p, _) = reopened(&listen);
        c.handle_segment(20, &p.seg(Flags::RST));
        assert_eq!(c.state(), State::Listen);
    }
}

// ----- data on a SYN: RFC 9293 §3.10.7.2–3 -------------------------------------------------

mod syn_text {
    use super::*;

    fn syn_with_text(len: u32, flags: Flags) -> Segment {
        let peer = Peer {
            nxt: PEER_ISS,
            ack: Seq(0),
        };
        Segment {
            mss: Some(1460),
            flags,
            ..peer.data_at(PEER_ISS + 1, len)
        }
        .at_seq(PEER_ISS)
    }

    #[test]
    fn text_on_a_syn_is_queued_and_delivered_once_established() {
        let syn = syn_with_text(100, Flags::SYN);
        let mut c = Connection::accept(0, &syn, ISS, &cfg(), STREAM);
        let syn_ack = one(&mut c);
        assert_eq!(
            syn_ack.ack,
            PEER_ISS + 1,
            "the SYN,ACK acknowledges the SYN only"
        );
        assert!(data_events(&events(&mut c)).is_empty());
        let p = Peer {
            nxt: PEER_ISS + 101,
            ack: ISS + 1,
        };
        feed(&mut c, &p.ack());
        assert_eq!(c.state(), State::Established);
        assert_eq!(
            data_events(&events(&mut c)),
            [(100, Tag::new(PEER_STREAM, 0))]
        );
        assert_reply(&mut c, Flags::ACK, ISS + 1, PEER_ISS + 101);
    }

    #[test]
    fn a_fin_on_a_syn_closes_once_established() {
        let syn = syn_with_text(100, Flags::SYN | Flags::FIN);
        let mut c = Connection::accept(0, &syn, ISS, &cfg(), STREAM);
        quiet(&mut c);
        let p = Peer {
            nxt: PEER_ISS + 102,
            ack: ISS + 1,
        };
        feed(&mut c, &p.ack());
        assert_eq!(c.state(), State::CloseWait);
        let evs = events(&mut c);
        assert_eq!(data_events(&evs).len(), 1);
        assert!(evs.contains(&ConnEvent::Eof));
        assert_reply(&mut c, Flags::ACK, ISS + 1, PEER_ISS + 102);
    }

    #[test]
    fn text_on_a_simultaneous_open_syn_is_delivered_once_established() {
        let (mut c, p) = syn_sent();
        feed(&mut c, &syn_with_text(50, Flags::SYN));
        assert_eq!(one(&mut c).ack, PEER_ISS + 1);
        assert_eq!(c.state(), State::SynReceived);
        feed(&mut c, &p.seg(Flags::SYN | Flags::ACK));
        assert_eq!(c.state(), State::Established);
        assert_eq!(
            data_events(&events(&mut c)),
            [(50, Tag::new(PEER_STREAM, 0))]
        );
        assert_reply(&mut c, Flags::ACK, ISS + 1, PEER_ISS + 51);
    }

    #[test]
    fn the_linux_profile_drops_it() {
        let drop = Config {
            syn_data: SynData::Drop,
            ..cfg()
        };
        let mut c = Connection::accept(0, &syn_with_text(100, Flags::SYN), ISS, &drop, STREAM);
        quiet(&mut c);
        let p = Peer {
            nxt: PEER_ISS + 1,
            ack: ISS + 1,
        };
        feed(&mut c, &p.ack());
        assert!(data_events(&events(&mut c)).is_empty());
        assert_eq!(c.rcv_nxt(), PEER_ISS + 1, "the peer sends it again");
    }

    #[test]
    fn the_ack_of_a_syn_ack_with_text_goes_at_once() {
        // Delayed ACK on: the ACK completing the handshake is not delayed.
        let (mut c, p) = syn_sent_with(&Config::default(), ISS);
        let syn_ack = Segment {
            mss: Some(1460),
            ..p.data_at(PEER_ISS + 1, 100)
        }
        .at_seq(PEER_ISS)
        .flagged(Flags::SYN | Flags::ACK);
        feed(&mut c, &syn_ack);
        assert_reply(&mut c, Flags::ACK, ISS + 1, PEER_ISS + 101);
        assert_eq!(c.timers.delayed_ack, None);
    }
}

// ----- limited transmit and the restart window: RFC 3042, RFC 5681 §4.1 -----------------

mod congestion_settings {
    use super::*;

    fn sending(cfg: &Config) -> (Connection, Peer) {
        let (mut c, p) = established_with(cfg, ISS, Some(1000), 65535);
        assert_eq!(write(&mut c, 1, 10_000).len(), 4, "IW: 4 segments of 1000");
        (c, p)
    }

    /// ACKs whatever is in flight at `now` until everything written is acknowledged.
    fn ack_everything(c: &mut Connection, p: &Peer, now: u64) {
        while c.snd_una() != c.snd_nxt() {
            c.handle_segment(now, &p.acking(c.snd_nxt()));
            quiet(c);
        }
    }

    #[test]
    fn limited_transmit_sends_one_new_segment_per_early_duplicate() {
        let (mut c, p) = sending(&with_cc());
        let dup = window(&p, ISS + 1, 65535);
        feed(&mut c, &dup);
        let first = one(&mut c);
        assert_eq!((first.seq, first.why), (ISS + 4001, Why::LimitedTransmit));
        feed(&mut c, &dup);
        assert_eq!(one(&mut c).seq, ISS + 5001);
        feed(&mut c, &dup);
        let re = one(&mut c);
        assert_eq!((re.seq, re.why), (ISS + 1, Why::FastRetransmit));
        assert!(
            events(&mut c).iter().any(|e| matches!(
                e,
                ConnEvent::Congestion {
                    phase: Phase::FastRetransmit,
                    ssthresh: 2000,
                    ..
                }
            )),
            "ssthresh from the 4000 bytes before limited transmit"
        );
    }

    #[test]
    fn without_limited_transmit_the_early_duplicates_send_nothing() {
        let off = Config {
            limited_transmit: false,
            ..with_cc()
        };
        let (mut c, p) = sending(&off);
        let dup = window(&p, ISS + 1, 65535);
        feed(&mut c, &dup);
        feed(&mut c, &dup);
        assert_silent(&mut c);
    }

    #[test]
    fn cwnd_restarts_from_the_initial_window_after_an_idle_rto() {
        let (mut c, p) = sending(&with_cc());
        // Everything acknowledged, then 2 s (> RTO) without sending.
        ack_everything(&mut c, &p, 100);
        assert!(c.stats().cwnd > 4000);
        let sent = write(&mut c, 100 + 2 * SECOND, 10_000);
        assert_eq!(sent.len(), 4, "restart window: min(IW, cwnd)");
        assert!(events(&mut c).iter().any(|e| matches!(
            e,
            ConnEvent::Congestion {
                phase: Phase::IdleRestart,
                cwnd: 4000,
                ..
            }
        )));
    }

    #[test]
    fn without_the_restart_cwnd_survives_idle() {
        let off = Config {
            restart_after_idle: false,
            ..with_cc()
        };
        let (mut c, p) = sending(&off);
        ack_everything(&mut c, &p, 100);
        let cwnd = c.stats().cwnd;
        let sent = write(&mut c, 100 + 2 * SECOND, 20_000);
        assert_eq!(sent.len() as u32, cwnd / 1000);
    }
}

// ----- user calls in every state: RFC 9293 §3.10.4–3.10.5 -------------------------------

mod user_calls {
    use super::*;

    #[test]
    fn close_in_syn_sent_deletes_the_tcb_and_sends_nothing() {
        let (mut c, _) = syn_sent();
        c.close(1);
        assert_silent(&mut c);
        assert_eq!(c.state(), State::Closed);
        assert_eq!(c.poll_timeout(), None, "no SYN retransmission");
    }

    #[test]
    fn abort_in_syn_sent_sends_nothing() {
        let (mut c, _) = syn_sent();
        assert!(!c.abort(), "no RST");
        assert_silent(&mut c);
        assert_eq!(c.state(), State::Closed);
    }

    #[test]
    fn abort_in_time_wait_deletes_it_silently() {
        // "CLOSING, LAST-ACK, TIME-WAIT STATES: Respond with 'ok' and delete the TCB".
        let (mut c, _) = time_wait();
        assert!(!c.abort(), "no RST");
        assert_silent(&mut c);
        assert_eq!(c.state(), State::Closed);
        assert_eq!(c.poll_timeout(), None);
    }

    #[test]
    fn close_when_closing_changes_nothing() {
        for fixture in [fin_wait_1, fin_wait_2, closing, last_ack, time_wait] {
            let (mut c, _) = fixture();
            let state = c.state();
            c.close(1);
            assert_silent(&mut c);
            assert_eq!(c.state(), state, "error: connection closing");
        }
    }
}

impl Segment {
    fn at_seq(self, seq: Seq) -> Segment {
        Segment { seq, ..self }
    }
    fn flagged(self, flags: Flags) -> Segment {
        Segment { flags, ..self }
    }
}
