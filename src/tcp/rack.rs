//! SACK-based loss recovery as Linux runs it (with `rack`): RACK loss detection (RFC 8985
//! §6; `tcp_recovery.c`: `tcp_rack_advance`, `tcp_rack_detect_loss`,
//! `tcp_rack_reo_timeout`), the congestion states of `tcp_fastretrans_alert`
//! (tcp_input.c) and Proportional Rate Reduction during recovery (RFC 6937;
//! `tcp_init_cwnd_reduction`, `tcp_cwnd_reduction`). Everything is counted in segments
//! (Linux's packets), over a record of every segment sent and not yet cumulatively
//! acknowledged (Linux's retransmission queue).
//!
//! Modelled of Linux's undo: only `tcp_try_undo_partial` by timestamps (a late original
//! fills the hole). Not modelled: undoing a reduction that D-SACKs prove spurious
//! (`tcp_try_undo_dsack`, `tcp_try_undo_recovery`), F-RTO after a timeout, and the
//! `reordering` metric's growth.

use std::collections::VecDeque;

use super::Seq;
use super::sack::Scoreboard;

/// Linux's congestion states (`TCP_CA_*`), without CWR (no ECN).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaState {
    /// Nothing outstanding is known SACKed, lost or retransmitted.
    Open,
    /// SACKs or retransmissions are outstanding, but no loss is known.
    Disorder,
    /// Fast recovery: a loss was detected; cwnd follows PRR until `high_seq` is ACKed.
    Recovery,
    /// A retransmission timeout is being repaired.
    Loss,
}

/// One segment sent and not yet cumulatively acknowledged (an skb and its `sacked` bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sent {
    seq: Seq,
    end: Seq,
    /// When it was last sent (`skb_mstamp`), and the place of that send among all of
    /// the connection's (what orders sends the simulation makes at one instant).
    at: u64,
    order: u64,
    /// A retransmitted copy is in flight (`TCPCB_SACKED_RETRANS`).
    retrans: bool,
    /// It was ever retransmitted (`TCPCB_EVER_RETRANS`).
    ever_retrans: bool,
    /// Marked lost (`TCPCB_LOST`).
    lost: bool,
    /// SACKed (`TCPCB_SACKED_ACKED`).
    sacked: bool,
}

/// What an ACK delivered, for the congestion controller and PRR.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivered {
    /// Segments newly cumulatively ACKed or SACKed (`newly_acked_sacked`).
    pub segments: u32,
    /// Segments newly SACKed (`FLAG_DATA_SACKED`).
    pub sacked: u32,
}

/// The recovery state of one connection's sender.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rack {
    queue: VecDeque<Sent>,
    sacked_out: u32,
    lost_out: u32,
    retrans_out: u32,
    /// RACK.xmit_ts (and its send order) and RACK.rtt of the most recently sent
    /// segment delivered.
    mstamp: u64,
    morder: u64,
    rtt: u64,
    advanced: bool,
    /// Reordering was seen (`tp->rack.reord`): the reordering window stays min_rtt/4.
    reord: bool,
    /// The smallest RTT seen (`tcp_min_rtt`; Linux's is a windowed minimum).
    min_rtt: Option<u64>,
    srtt: Option<u64>,
    /// Sends so far (the next one's order).
    sends: u64,
    /// The timestamp (TSval) of the episode's first retransmission (`retrans_stamp`).
    retrans_stamp: Option<u32>,
    state: Option<CaState>,
    /// SND.NXT when recovery or the timeout began (`tp->high_seq`).
    high_seq: Seq,
    prior_cwnd: u32,
    /// ssthresh before recovery (`prior_ssthresh`), in segments, for an undo.
    prior_ssthresh: u32,
    prr_delivered: u32,
    prr_out: u32,
}

/// `tcp_rack_sent_after`: (t1, o1) was sent after (t2, o2). Linux breaks a tie of
/// timestamps by sequence number; sends at one simulated instant have an order instead.
fn sent_after((t1, o1): (u64, u64), (t2, o2): (u64, u64)) -> bool {
    t1 > t2 || (t1 == t2 && o1 > o2)
}

impl Rack {
    pub fn state(&self) -> CaState {
        self.state.unwrap_or(CaState::Open)
    }

    /// `tcp_packets_in_flight`: packets_out − (sacked_out + lost_out) + retrans_out.
    pub fn in_flight(&self) -> u32 {
        let out = self.queue.len() as u32;
        (out + self.retrans_out).saturating_sub(self.sacked_out + self.lost_out)
    }

    /// Segments marked lost (`lost_out`).
    pub fn lost_out(&self) -> u32 {
        self.lost_out
    }

    /// Segments sent and not cumulatively acknowledged (`packets_out`).
    #[cfg(test)]
    pub fn packets_out(&self) -> u32 {
        self.queue.len() as u32
    }

    /// An RTT measured elsewhere (the handshake, a timed segment): the minimum RTT.
    pub fn note_rtt(&mut self, rtt: u64) {
        self.min_rtt = Some(self.min_rtt.map_or(rtt, |m| m.min(rtt)));
    }

    /// Whether the record starts at `una` (everything unacknowledged is in it).
    pub fn covers(&self, una: Seq) -> bool {
        self.queue.front().is_some_and(|s| s.seq.le(una))
    }

    /// Where the record ends (the end of the last segment sent), if anything is in it.
    pub fn end(&self) -> Option<Seq> {
        self.queue.back().map(|s| s.end)
    }

    /// A new segment [seq, end) went at `now`.
    pub fn on_send(&mut self, seq: Seq, end: Seq, now: u64) {
        if end.gt(seq) {
            self.sends += 1;
            self.queue.push_back(Sent {
                seq,
                end,
                at: now,
                order: self.sends,
                retrans: false,
                ever_retrans: false,
                lost: false,
                sacked: false,
            });
        }
    }

    /// [seq, end) was sent again at `now` (`tcp_retransmit_skb`): every segment it covers
    /// has a retransmitted copy in flight; in recovery it counts towards `prr_out`.
    pub fn on_retransmit(&mut self, seq: Seq, end: Seq, now: u64) {
        let first = self.queue.partition_point(|s| s.end.le(seq));
        let mut counted = false;
        for s in self.queue.iter_mut().skip(first) {
            if !s.seq.lt(end) {
                break;
            }
            if s.sacked {
                continue;
            }
            if !s.retrans {
                s.retrans = true;
                self.retrans_out += 1;
            }
            s.ever_retrans = true;
            s.at = now;
            s.order = self.sends + 1;
            counted = true;
        }
        if counted {
            self.sends += 1;
            if self.state() == CaState::Recovery {
                self.prr_out += 1;
            }
        }
    }

    /// A retransmission went with timestamp `tsval` (`tcp_retransmit_skb`: the episode's
    /// first sets `retrans_stamp`).
    pub fn stamp_retransmit(&mut self, tsval: u32) {
        self.retrans_stamp.get_or_insert(tsval);
    }

    /// `tcp_packet_delayed` in recovery: the ACK echoes a timestamp from before the first
    /// retransmission, so an original, not a retransmission, filled the hole: reordering,
    /// not loss. With resent copies still out (`tcp_try_undo_partial`), nothing more is
    /// marked lost or resent on this ACK; with none, the reduction is undone, the loss
    /// marks cleared and the connection leaves recovery (`tcp_undo_cwnd_reduction`); RACK
    /// then looks again, now with the reordering window.
    pub fn original_filled_hole(&mut self, tsecr: u32) -> Option<Undo> {
        let stamp = self.retrans_stamp?;
        if self.state() != CaState::Recovery
            || tsecr == 0
            || (tsecr.wrapping_sub(stamp) as i32) >= 0
        {
            return None;
        }
        self.reord = true;
        if self.retrans_out > 0 {
            return Some(Undo::HoldResends);
        }
        // tcp_undo_cwnd_reduction(sk, true): the losses were not; RACK looks again.
        for s in self.queue.iter_mut() {
            s.lost = false;
        }
        self.recount();
        self.state = Some(if self.sacked_out > 0 {
            CaState::Disorder
        } else {
            CaState::Open
        });
        self.retrans_stamp = None;
        Some(Undo::Reduction {
            cwnd: self.prior_cwnd,
            ssthresh: self.prior_ssthresh,
        })
    }

    /// A new segment went during recovery (`tcp_write_xmit`'s `prr_out += sent_pkts`).
    pub fn on_new_data_sent(&mut self) {
        if self.state() == CaState::Recovery {
            self.prr_out += 1;
        }
    }

    /// The first segment marked lost and not yet resent (`tcp_xmit_retransmit_queue`):
    /// [seq, end).
    pub fn next_lost(&self) -> Option<(Seq, Seq)> {
        if self.retrans_out >= self.lost_out {
            return None;
        }
        (self.queue.iter())
            .find(|s| s.lost && !s.retrans && !s.sacked)
            .map(|s| (s.seq, s.end))
    }

    /// An ACK arrived at `now` with SND.UNA now `una` and the peer's SACK blocks in
    /// `board` (`tcp_sacktag_write_queue`, `tcp_clean_rtx_queue`): marks what it SACKed,
    /// forgets what it ACKed, and advances RACK with each (`tcp_rack_advance`).
    pub fn on_ack(&mut self, now: u64, una: Seq, board: &Scoreboard, dsack: bool) -> Delivered {
        let mut d = Delivered::default();
        let highest_sacked = (self.queue.iter().rev()).find(|s| s.sacked).map(|s| s.end);
        for i in 0..self.queue.len() {
            let s = self.queue[i];
            if s.sacked || !board.skip(s.seq).ge(s.end) {
                continue;
            }
            self.queue[i].sacked = true;
            d.sacked += 1;
            // tcp_check_sack_reordering: a never-resent segment SACKed below one SACKed
            // before it arrived out of order.
            if !s.ever_retrans && highest_sacked.is_some_and(|h| s.end.le(h)) {
                self.reord = true;
            }
            self.delivered(s, now);
        }
        while let Some(s) = self.queue.front().copied() {
            if s.end.gt(una) {
                if s.seq.lt(una) {
                    self.queue[0].seq = una; // tcp_trim_head
                }
                break;
            }
            self.queue.pop_front();
            if !s.sacked {
                d.segments += 1;
                self.delivered(s, now);
            }
        }
        self.recount();
        d.segments += d.sacked;
        self.reord |= dsack;
        d
    }

    /// A segment reached the peer: an RTT sample unless it was ever resent (Karn), and
    /// RACK advances.
    fn delivered(&mut self, s: Sent, now: u64) {
        if !s.ever_retrans {
            self.note_rtt(now.saturating_sub(s.at));
        }
        self.advance(s, now);
    }

    /// `tcp_rack_advance`: remember the most recently sent segment delivered and its RTT;
    /// a resent one only when its RTT cannot be the original's (at least min_rtt).
    fn advance(&mut self, s: Sent, now: u64) {
        if self.morder != 0 && !sent_after((s.at, s.order), (self.mstamp, self.morder)) {
            return;
        }
        let rtt = now.saturating_sub(s.at);
        if s.ever_retrans && self.min_rtt.is_some_and(|m| rtt < m) {
            return;
        }
        self.rtt = rtt;
        (self.mstamp, self.morder) = (s.at, s.order);
        self.advanced = true;
    }

    /// The counters from the segments' marks (`sacked_out`, `lost_out`, `retrans_out`).
    fn recount(&mut self) {
        let (mut sacked, mut lost, mut retrans) = (0, 0, 0);
        for s in &mut self.queue {
            if s.sacked {
                s.lost = false;
                s.retrans = false;
                sacked += 1;
            }
            lost += s.lost as u32;
            retrans += s.retrans as u32;
        }
        (self.sacked_out, self.lost_out, self.retrans_out) = (sacked, lost, retrans);
    }

    /// `tcp_rack_mark_lost` after an ACK that advanced RACK: the loss detection, and the
    /// time left until the reordering window of the first segment still in doubt closes.
    pub fn mark_lost(&mut self, now: u64) -> Option<u64> {
        if !std::mem::take(&mut self.advanced) {
            return None;
        }
        self.detect_loss(now)
    }

    /// `tcp_rack_detect_loss`: a segment sent before the most recently delivered one is
    /// lost once RACK.rtt plus the reordering window ([`Rack::reo_wnd`]) has passed since
    /// it was sent. Returns the longest wait left, if any segment is in doubt.
    pub fn detect_loss(&mut self, now: u64) -> Option<u64> {
        let reo_wnd = self.reo_wnd();
        let (mstamp, morder, rtt) = (self.mstamp, self.morder, self.rtt);
        let mut wait: Option<u64> = None;
        for s in self.queue.iter_mut() {
            let before_rack = sent_after((mstamp, morder), (s.at, s.order));
            if s.sacked || (s.lost && !s.retrans) || !before_rack {
                continue;
            }
            let deadline = s.at.saturating_add(rtt).saturating_add(reo_wnd);
            // Sent at the same instant as RACK's segment but before it: on a real wire
            // it went earlier by its serialization time, and so is past a zero window.
            if deadline < now || (deadline == now && s.at == mstamp) {
                s.lost = true;
                s.retrans = false; // a resent copy lost again
            } else {
                let left = deadline - now + 1;
                wait = Some(wait.map_or(left, |w| w.max(left)));
            }
        }
        self.recount();
        wait
    }

    /// `tcp_rack_reo_wnd`: until reordering is seen, none in recovery or once DupThresh
    /// (3, `tcp_reordering`) segments are SACKed (RFC 8985 §6.2 step 4); else min_rtt/4,
    /// at most the smoothed RTT (`srtt`, when known).
    fn reo_wnd(&self) -> u64 {
        let recovering = matches!(self.state(), CaState::Recovery | CaState::Loss);
        if !self.reord && (recovering || self.sacked_out >= 3) {
            return 0;
        }
        let quarter = self.min_rtt.map_or(0, |m| m / 4);
        self.srtt.map_or(quarter, |s| quarter.min(s))
    }

    /// The smoothed RTT, which bounds the reordering window.
    pub fn note_srtt(&mut self, srtt: Option<u64>) {
        self.srtt = srtt;
    }

    /// `tcp_fastretrans_alert`'s state machine after an ACK (D: leave Recovery or Loss
    /// once `high_seq` is ACKed; E: enter Recovery when a loss is known). Returns whether
    /// recovery just began (`tcp_enter_recovery`), when the caller sets ssthresh and
    /// [`Rack::start_reduction`].
    pub fn update_state(&mut self, una: Seq) -> Transition {
        let state = self.state();
        let mut t = Transition::default();
        if matches!(state, CaState::Recovery | CaState::Loss) && una.ge(self.high_seq) {
            t.ended = Some(state);
            self.state = Some(CaState::Open);
            self.retrans_stamp = None;
        }
        if self.state() == CaState::Loss {
            return t;
        }
        if self.lost_out > 0 {
            if self.state() != CaState::Recovery {
                t.recovery_began = true;
                self.state = Some(CaState::Recovery);
            }
        } else if self.state() != CaState::Recovery {
            let disorder = self.sacked_out > 0 || self.retrans_out > 0;
            self.state = Some(if disorder {
                CaState::Disorder
            } else {
                CaState::Open
            });
        }
        t
    }

    /// `tcp_init_cwnd_reduction`: recovery to `snd_nxt` from a window of `cwnd` segments
    /// (and `prior_ssthresh`, `tcp_current_ssthresh`, kept for an undo).
    pub fn start_reduction(&mut self, cwnd: u32, prior_ssthresh: u32, snd_nxt: Seq) {
        self.high_seq = snd_nxt;
        self.prior_ssthresh = prior_ssthresh;
        self.prior_cwnd = cwnd.max(1);
        self.prr_delivered = 0;
        self.prr_out = 0;
    }

    /// RFC 6937 as `tcp_cwnd_reduction` computes it: the cwnd (in segments) that lets
    /// out, per segment delivered, ssthresh/prior_cwnd of one while more than ssthresh is
    /// in flight (proportional), else as many as were delivered, and one more when SND.UNA
    /// advanced without a new loss (slow start back to ssthresh); at least one segment
    /// when none went yet (the fast retransmit).
    pub fn prr_cwnd(
        &mut self,
        d: Delivered,
        ssthresh: u32,
        una_advanced: bool,
        newly_lost: bool,
    ) -> Option<u32> {
        if d.segments == 0 {
            return None;
        }
        let in_flight = i64::from(self.in_flight());
        let delta = i64::from(ssthresh) - in_flight;
        self.prr_delivered = self.prr_delivered.saturating_add(d.segments);
        let (delivered, out) = (i64::from(self.prr_delivered), i64::from(self.prr_out));
        let mut sndcnt = if delta < 0 {
            let prior = i64::from(self.prior_cwnd);
            (i64::from(ssthresh) * delivered + prior - 1) / prior - out
        } else {
            let mut n = (delivered - out).max(i64::from(d.segments));
            if una_advanced && !newly_lost {
                n += 1;
            }
            n.min(delta)
        };
        sndcnt = sndcnt.max(if self.prr_out > 0 { 0 } else { 1 });
        Some((in_flight + sndcnt).clamp(1, i64::from(u32::MAX)) as u32)
    }

    /// A retransmission timeout (`tcp_enter_loss`, `tcp_timeout_mark_lost`): every
    /// segment not SACKed is lost, no resent copy is counted in flight, and the Loss state
    /// lasts until `snd_nxt` is ACKed.
    pub fn on_timeout(&mut self, snd_nxt: Seq) {
        for s in self.queue.iter_mut().filter(|s| !s.sacked) {
            s.lost = true;
            s.retrans = false;
        }
        self.recount();
        self.high_seq = snd_nxt;
        self.state = Some(CaState::Loss);
    }
}

/// What an original filling a hole in recovery does ([`Rack::original_filled_hole`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undo {
    /// Resent copies are out: mark and resend nothing more on this ACK.
    HoldResends,
    /// Nothing resent is out: recovery was spurious; cwnd and ssthresh return to at
    /// least these (segments).
    Reduction { cwnd: u32, ssthresh: u32 },
}

/// What [`Rack::update_state`] changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Transition {
    /// Recovery began with this ACK.
    pub recovery_began: bool,
    /// Recovery or Loss ended with this ACK.
    pub ended: Option<CaState>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::SackBlocks;

    const MS: u64 = 1_000_000;

    /// Ten 100-byte segments from 0, sent 1 µs apart at 0.
    fn flight() -> Rack {
        let mut r = Rack::default();
        for i in 0..10u32 {
            r.on_send(Seq(i * 100), Seq(i * 100 + 100), u64::from(i) * 1000);
        }
        r
    }

    fn board(blocks: &[(u32, u32)], una: u32) -> Scoreboard {
        let mut b = Scoreboard::default();
        let mut s = SackBlocks::default();
        for &(l, r) in blocks {
            s.push(Seq(l), Seq(r));
        }
        b.on_ack(&s, Seq(una), Seq(1000));
        b
    }

    #[test]
    fn a_hole_is_lost_a_quarter_min_rtt_after_a_later_segment_is_sacked() {
        let mut r = flight();
        r.note_rtt(20 * MS);
        // The first segment is lost; the second's SACK arrives one RTT after it went.
        let d = r.on_ack(20 * MS + 1000, Seq(0), &board(&[(100, 200)], 0), false);
        assert_eq!((d.segments, d.sacked, r.in_flight()), (1, 1, 9));
        let wait = r
            .mark_lost(20 * MS + 1000)
            .expect("the first segment is in doubt");
        assert_eq!(
            wait,
            5 * MS - 1000 + 1,
            "RACK.rtt + min_rtt/4 from its send time"
        );
        assert_eq!(r.next_lost(), None);
        assert_eq!(r.detect_loss(25 * MS + 2000), None);
        assert_eq!(r.next_lost(), Some((Seq(0), Seq(100))));
        assert_eq!(r.in_flight(), 8, "lost and SACKed are out of flight");
        let t = r.update_state(Seq(0));
        assert!(t.recovery_began);
        assert_eq!(r.state(), CaState::Recovery);
    }

    /// Ten out, the first lost and the next three SACKed: six in flight, recovery from
    /// a window of ten.
    fn recovering() -> Rack {
        let mut r = flight();
        r.note_rtt(20 * MS);
        r.on_ack(21 * MS, Seq(0), &board(&[(100, 400)], 0), false);
        r.detect_loss(30 * MS);
        assert!(r.update_state(Seq(0)).recovery_began);
        r.start_reduction(10, 10, Seq(1000));
        assert_eq!(r.in_flight(), 6);
        r
    }

    #[test]
    fn prr_sends_in_proportion_above_ssthresh_and_conserves_below() {
        let three = Delivered {
            segments: 3,
            sacked: 3,
        };
        // ssthresh 5 < 6 in flight: ⌈5·3/10⌉ = 2 more may go.
        assert_eq!(recovering().prr_cwnd(three, 5, false, true), Some(6 + 2));
        // ssthresh 7 > 6: as many as delivered, but no further than ssthresh.
        assert_eq!(recovering().prr_cwnd(three, 7, false, true), Some(7));
        // Nothing delivered: cwnd stays.
        assert_eq!(
            recovering().prr_cwnd(Delivered::default(), 7, false, true),
            None
        );
    }

    #[test]
    fn a_timeout_marks_everything_lost_until_snd_nxt_is_acked() {
        let mut r = flight();
        r.on_ack(MS, Seq(0), &board(&[(500, 600)], 0), false);
        r.on_timeout(Seq(1000));
        assert_eq!((r.state(), r.in_flight()), (CaState::Loss, 0));
        r.on_retransmit(Seq(0), Seq(100), 2 * MS);
        assert_eq!(r.in_flight(), 1);
        r.on_ack(3 * MS, Seq(100), &board(&[(500, 600)], 100), false);
        assert_eq!(r.update_state(Seq(100)), Transition::default());
        r.on_ack(4 * MS, Seq(1000), &Scoreboard::default(), false);
        assert_eq!(r.update_state(Seq(1000)).ended, Some(CaState::Loss));
        assert_eq!((r.state(), r.packets_out()), (CaState::Open, 0));
    }
}
