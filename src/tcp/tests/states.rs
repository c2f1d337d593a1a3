//! RFC 9293 §3.10.7, state by state.

use super::*;

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
        for attempt in 1..=7 {
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
        // RFC 1122 §4.2.3.5 (MUST-23): "R2 for a SYN segment MUST be set large enough to
        // provide retransmission of the segment for at least 3 minutes".
        assert_eq!(deadline, 183 * SECOND);
        c.handle_timeout(deadline);
        assert_silent(&mut c);
        assert_eq!(c.state(), State::Closed);
        assert!(has_event(&events(&mut c), ConnEvent::TimedOut));
        assert_eq!(c.stats().retransmits, 7);
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
        for attempt in 1..=7 {
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
    fn close_with_nothing_to_send_sends_fin_at_once() {
        // RFC 9293 §3.10.4 SYN-RECEIVED: "If no SENDs have been issued and there is no
        // pending data to send, then form a FIN segment and send it, and enter FIN-WAIT-1".
        let (mut c, p) = syn_received();
        c.close(1);
        assert_reply(&mut c, Flags::FIN | Flags::ACK, ISS + 1, PEER_ISS + 1);
        assert_eq!(c.state(), State::FinWait1);
        assert!(
            !c.send(1, 10, Tag::new(STREAM, 0)),
            "SEND after CLOSE: connection closing"
        );
        // The ACK of both the SYN and the FIN.
        feed(&mut c, &p.acking(ISS + 2));
        assert_eq!(c.state(), State::FinWait2);
    }

    #[test]
    fn close_after_send_sends_fin_once_established() {
        // "...otherwise, queue for processing after entering ESTABLISHED state."
        let (mut c, p) = syn_received();
        assert!(write(&mut c, 1, 10).is_empty(), "queued until ESTABLISHED");
        c.close(1);
        assert_silent(&mut c);
        assert_eq!(c.state(), State::SynReceived);
        feed(&mut c, &p.ack());
        assert_eq!(c.state(), State::FinWait1);
        let v = out(&mut c);
        assert_eq!(
            v.iter()
                .map(|s| (s.flags, s.seq, s.len))
                .collect::<Vec<_>>(),
            [(Flags::ACK | Flags::PSH | Flags::FIN, ISS + 1, 10)]
        );
        feed(&mut c, &p.acking(ISS + 12));
        assert_eq!(c.state(), State::FinWait2);
    }

    #[test]
    fn fin_sent_in_syn_received_is_resent_after_the_syn_ack() {
        // The SYN,ACK was lost: the peer (still in SYN_SENT) drops the FIN; the timeout
        // resends the SYN,ACK first, then the FIN once the SYN is acknowledged.
        let (mut c, p) = syn_received();
        c.close(1);
        quiet(&mut c);
        let t = c.poll_timeout().unwrap();
        c.handle_timeout(t);
        assert_reply(&mut c, Flags::SYN | Flags::ACK, ISS, PEER_ISS + 1);
        assert_eq!(c.state(), State::FinWait1);
        feed(&mut c, &p.acking(ISS + 1));
        assert_silent(&mut c);
        let t = c.poll_timeout().unwrap();
        c.handle_timeout(t);
        assert_reply(&mut c, Flags::FIN | Flags::ACK, ISS + 1, PEER_ISS + 1);
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
    fn new_ack_restarts_timer_with_the_backed_off_rto() {
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
        // RFC 6298 §5.3: an ACK of new data restarts the timer with the current RTO, which
        // stays backed off (§5, Karn): the ACK covers retransmitted data only, no sample.
        feed(&mut c, &p.acking(ISS + 1461));
        assert_eq!(c.poll_timeout(), Some(1 + 2 * SECOND));
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
        assert_eq!(events(&mut c), [ConnEvent::TimeWaitRestart { fin: true }]);
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
    fn acceptable_segments_are_acked_and_restart_the_timer() {
        // RFC 9293 §3.10.7.4 fifth step, TIME-WAIT: "The only thing that can arrive in this
        // state is a retransmission of the remote FIN. Acknowledge it, and restart the 2
        // MSL timeout." The rule applies to whatever passed the first step with ACK set.
        let (mut c, p) = time_wait();
        let segs = [
            p.ack(),
            p.acking(ISS),
            p.acking(ISS + 5),
            p.seg(Flags::FIN | Flags::ACK),
            p.at(p.nxt + 10, Flags::FIN | Flags::ACK),
            p.data_at(p.nxt, 10),
        ];
        for (i, seg) in segs.iter().enumerate() {
            let now = 10 + i as u64;
            c.handle_segment(now, seg);
            assert_reply(&mut c, Flags::ACK, ISS + 2, PEER_ISS + 2);
            assert_eq!(events(&mut c), [ConnEvent::TimeWaitRestart { fin: false }]);
            assert_eq!(c.poll_timeout(), Some(now + 2 * MSL));
        }
        // "if the ACK bit is off, drop the segment and return".
        feed(&mut c, &p.seg(Flags::FIN));
        assert_silent(&mut c);
        assert_eq!(c.state(), State::TimeWait);
    }

    #[test]
    fn acceptable_segments_are_ignored_with_the_narrow_rule() {
        let narrow = Config {
            time_wait_in_window: TimeWaitInWindow::Ignore,
            ..cfg()
        };
        let (mut c, mut p) = established_with(&narrow, ISS, Some(1460), 65535);
        c.close(1);
        quiet(&mut c);
        p.ack = ISS + 2;
        feed(&mut c, &p.seg(Flags::FIN | Flags::ACK));
        p.nxt = p.nxt + 1;
        assert_eq!(c.state(), State::TimeWait);
        quiet(&mut c);
        for seg in [p.ack(), p.acking(ISS + 5), p.seg(Flags::FIN | Flags::ACK)] {
            feed(&mut c, &seg);
            assert_silent(&mut c);
            assert_eq!(c.poll_timeout(), Some(1 + 2 * MSL));
        }
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
