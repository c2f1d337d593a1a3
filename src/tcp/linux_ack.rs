//! Linux's receive-side ACK machinery, for `ack_policy = "linux"`: quick-ACK mode, the
//! interactive ("pingpong") detector, the ACK timeout (ATO) estimate, the receiver's MSS
//! estimate and the rules that decide whether an ACK goes now, later, or when the
//! application reads. State and decisions only: the connection sends.
//!
//! Followed: tcp_input.c `tcp_event_data_recv`, `tcp_measure_rcv_mss`, `tcp_incr_quickack`,
//! `tcp_enter_quickack_mode`, `tcp_in_quickack_mode`, `__tcp_ack_snd_check`,
//! `tcp_send_delayed_ack` (tcp_output.c), `tcp_delack_timer_handler` (tcp_timer.c),
//! `tcp_dec_quickack_mode` and `tcp_event_data_sent` (tcp_output.c), `__tcp_cleanup_rbuf`
//! (tcp.c). Times are kept in jiffies where the kernel keeps them so, with the kernel's
//! integer arithmetic; `jiffy` is 1 s / HZ.

use super::Seq;

/// TCP_MAX_QUICKACKS: the quick-ACK credit a first segment or an idle gap gives.
pub const MAX_QUICKACKS: u32 = 16;
/// TCP_MSS_DEFAULT: the receiver's first guess at the peer's segment size.
const MSS_DEFAULT: u32 = 536;
/// TCP_MIN_MSS.
const MIN_MSS: u32 = 88;
/// tcp_pingpong_thresh: one data segment sent within an ATO of data received makes the
/// connection interactive.
/// `net.ipv4.tcp_comp_sack_nr`: at most this many ACKs compressed into one.
const COMP_SACK_NR: u32 = 44;
const PINGPONG_THRESH: u8 = 1;

/// A data segment as the ACK machinery sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    pub len: u32,
    /// PSH, FIN or URG set (Linux's TCP_REMNANT): not necessarily full-sized.
    pub push: bool,
    /// The TCP header length with options.
    pub header: u32,
}

/// What the connection should do about a scheduled ACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckNow {
    Now,
    /// Arm (or keep) the delayed-ACK timer for this deadline (ns).
    At(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinuxAcks {
    /// One jiffy in ns (4 ms at HZ = 250).
    jiffy: u64,
    /// `icsk_ack.quick`: ACKs that may still go at once.
    quick: u32,
    /// `icsk_ack.pingpong`: > 0 once the connection looks interactive.
    pingpong: u8,
    /// `icsk_ack.ato` in jiffies (0 until the first data segment).
    ato: u64,
    /// `icsk_ack.lrcvtime`: when data last arrived, in jiffies.
    lrcvtime: u64,
    /// `icsk_ack.rcv_mss`: the segment size the peer appears to send.
    pub rcv_mss: u32,
    last_seg_size: u32,
    /// `icsk_ack.pending` bits: an ACK is scheduled, the peer pushed (twice), ACK at once.
    scheduled: bool,
    pushed: bool,
    pushed2: bool,
    ack_now: bool,
    /// SACK compression (`tcp_comp_sack`): RCV.NXT of the duplicate ACKs being counted,
    /// how many went at once (the first three do), and how many are held back.
    comp_rcv_nxt: Seq,
    dup_acks: u8,
    compressed: u32,
    /// `icsk_ack.dst_quick_ack`: the route's quickack metric (`delayed_ack = "none"`)
    /// makes every ACK immediate, interactive or not.
    dst_quick: bool,
    /// `rcv_wup`: RCV.NXT when we last sent a segment (and so advertised a window).
    pub rcv_wup: Seq,
}

impl LinuxAcks {
    /// `jiffy`: 1 s / HZ in ns; `dst_quick`: the route's quickack metric.
    pub fn new(jiffy: u64, dst_quick: bool) -> Self {
        LinuxAcks {
            jiffy: jiffy.max(1),
            quick: 0,
            pingpong: 0,
            ato: 0,
            lrcvtime: 0,
            rcv_mss: MSS_DEFAULT,
            last_seg_size: 0,
            scheduled: false,
            pushed: false,
            pushed2: false,
            ack_now: false,
            dst_quick,
            comp_rcv_nxt: Seq(0),
            dup_acks: 0,
            compressed: 0,
            rcv_wup: Seq(0),
        }
    }

    fn jiffies(&self, ns: u64) -> u64 {
        ns / self.jiffy
    }

    /// TCP_ATO_MIN (= TCP_DELACK_MIN): HZ/25 jiffies, 40 ms.
    fn ato_min(&self) -> u64 {
        self.jiffies(40_000_000).max(1)
    }

    /// `tcp_initialize_rcv_mss`, once established: max(88, min(advmss, mss, rcv_wnd/2, 536)).
    pub fn init_rcv_mss(&mut self, advmss: u32, rcv_wnd: u32, rcv_nxt: Seq) {
        self.rcv_mss = advmss.min(rcv_wnd / 2).clamp(MIN_MSS, MSS_DEFAULT);
        self.rcv_wup = rcv_nxt;
    }

    /// `tcp_in_quickack_mode`.
    pub fn in_quickack(&self) -> bool {
        self.dst_quick || (self.quick > 0 && self.pingpong < PINGPONG_THRESH)
    }

    /// `tcp_incr_quickack`: enough credit for half a window of full segments, at most `max`.
    fn incr_quickack(&mut self, max: u32, rcv_wnd: u32) {
        let n = match rcv_wnd / (2 * self.rcv_mss.max(1)) {
            0 => 2,
            n => n,
        };
        self.quick = self.quick.max(n.min(max));
    }

    /// `tcp_enter_quickack_mode`: duplicate or out-of-window data; also leaves pingpong.
    pub fn enter_quickack(&mut self, max: u32, rcv_wnd: u32) {
        self.incr_quickack(max, rcv_wnd);
        self.pingpong = 0;
        self.ato = self.ato_min();
    }

    /// In-order data arrived (`tcp_event_data_recv` and the receiver's MSS estimate
    /// `tcp_measure_rcv_mss`).
    pub fn on_data(&mut self, now: u64, rx: Received, advmss: u32, rcv_wnd: u32, rto: u64) {
        self.scheduled = true;
        self.measure_rcv_mss(rx.len, rx.push, rx.header, advmss);
        let now_j = self.jiffies(now);
        let rto_j = self.jiffies(rto);
        let ato_min = self.ato_min();
        if self.ato == 0 {
            // The first data of the connection: ACK the next segments at once.
            self.incr_quickack(MAX_QUICKACKS, rcv_wnd);
            self.ato = ato_min;
        } else {
            let m = now_j.saturating_sub(self.lrcvtime);
            if m <= ato_min / 2 {
                self.ato = self.ato / 2 + ato_min / 2;
            } else if m < self.ato {
                self.ato = (self.ato / 2 + m).min(rto_j.max(1));
            } else if m > rto_j {
                // After an idle gap longer than the RTO, quick ACKs again.
                self.incr_quickack(MAX_QUICKACKS, rcv_wnd);
            }
        }
        self.lrcvtime = now_j;
    }

    /// `tcp_measure_rcv_mss`: a segment at least as large as the estimate raises it; two
    /// small segments of the same size in a row become the estimate.
    fn measure_rcv_mss(&mut self, len: u32, push: bool, header: u32, advmss: u32) {
        if len >= self.rcv_mss {
            self.rcv_mss = len.min(advmss).max(1);
            if push {
                self.pushed = true;
            }
            return;
        }
        // Header included; a segment without PSH (or FIN) should be full-sized.
        let l = len + header;
        if l >= MSS_DEFAULT + 20 || (l >= MIN_MSS + 20 && !push) {
            let l = l - header;
            let previous = self.last_seg_size;
            self.last_seg_size = l;
            if l == previous {
                self.rcv_mss = l.max(1);
                return;
            }
        }
        if self.pushed {
            self.pushed2 = true;
        }
        self.pushed = true;
    }

    /// The receive window grew (`tcp_grow_window`: `quick |= 1`): an even credit gains one,
    /// so while the window grows, ACKs at once cost no credit.
    pub fn grant_quick(&mut self) {
        self.quick |= 1;
    }

    /// A FIN arrived in ESTABLISHED or SYN_RECEIVED (`tcp_fin`): its ACK is scheduled, and
    /// the connection turns interactive, so the ACK waits for the application's reply.
    pub fn on_fin_received(&mut self) {
        self.scheduled = true;
        self.pingpong = self.pingpong.max(PINGPONG_THRESH);
    }

    /// `icsk_ack.pending |= ICSK_ACK_NOW` (tcp_data_queue, when the segment emptied the
    /// out-of-order queue: RFC 5681 §4.2's "fills in all or part of a gap").
    pub fn ack_now(&mut self) {
        self.scheduled = true;
        self.ack_now = true;
    }

    pub fn scheduled(&self) -> bool {
        self.scheduled
    }

    /// `__tcp_ack_snd_check` without out-of-order data: now, when more than one full
    /// segment is unacknowledged and the window would not shrink, in quick-ACK mode, or
    /// when asked to; else the delayed-ACK timer (`tcp_send_delayed_ack`).
    pub fn decide(
        &self,
        now: u64,
        rcv_nxt: Seq,
        window_ok: bool,
        srtt: Option<u64>,
        pending: Option<u64>,
    ) -> AckNow {
        let unacked = rcv_nxt - self.rcv_wup;
        if (unacked > self.rcv_mss && window_ok) || self.in_quickack() || self.ack_now {
            return AckNow::Now;
        }
        self.delayed(now, srtt, pending)
    }

    /// `__tcp_ack_snd_check` with out-of-order data held: at once in quick-ACK mode or
    /// when asked, and for the first three duplicate ACKs at one RCV.NXT
    /// (`TCP_FASTRETRANS_THRESH`); after those, SACKs are compressed (`tcp_comp_sack_*`):
    /// one ACK when `delay` has passed (5 % of the RTT, at most 1 ms), or at once after
    /// 44 held back. Returns whether to ACK now.
    pub fn out_of_order_now(&mut self, rcv_nxt: Seq) -> bool {
        if self.in_quickack() || self.ack_now || self.compressed >= COMP_SACK_NR {
            return true;
        }
        if self.comp_rcv_nxt != rcv_nxt {
            self.comp_rcv_nxt = rcv_nxt;
            self.dup_acks = 0;
        }
        if self.dup_acks < 3 {
            self.dup_acks += 1;
            return true;
        }
        self.compressed += 1;
        false
    }

    /// `tcp_send_delayed_ack`: the ATO, capped at 200 ms when interactive or pushed (else
    /// 500 ms) and by the smoothed RTT, and at tcp_delack_max (200 ms less a jiffy); an
    /// already pending timer is never pushed later, and one due within a quarter of the
    /// new timeout is replaced by an ACK now. The timer sits on the kernel's timer wheel.
    fn delayed(&self, now: u64, srtt: Option<u64>, pending: Option<u64>) -> AckNow {
        let ato_min = self.ato_min();
        let mut a = self.ato.max(ato_min);
        if a > ato_min {
            let mut cap = self.jiffies(if self.pingpong > 0 || self.pushed {
                200_000_000
            } else {
                500_000_000
            });
            if let Some(rtt) = srtt {
                cap = cap.min(rtt.div_ceil(self.jiffy).max(ato_min));
            }
            a = a.min(cap);
        }
        let delack_max = self.jiffies(200_000_000).saturating_sub(1).max(1);
        a = a.min(delack_max);
        let at = super::wheel::expiry(now, a * self.jiffy, self.jiffy);
        match pending {
            Some(p) if p <= now + a * self.jiffy / 4 => AckNow::Now,
            Some(p) => AckNow::At(p.min(at)),
            None => AckNow::At(at),
        }
    }

    /// An ACK for RCV.NXT went out (`tcp_event_ack_sent` → `tcp_dec_quickack_mode`): one
    /// quick-ACK credit is spent if an ACK was due, and whatever was scheduled is done.
    pub fn on_ack_sent(&mut self, rcv_nxt: Seq) {
        if self.quick > 0 && self.scheduled {
            self.quick -= 1;
            if self.quick == 0 {
                self.ato = self.ato_min();
            }
        }
        self.scheduled = false;
        self.pushed = false;
        self.pushed2 = false;
        self.ack_now = false;
        self.compressed = 0;
        self.rcv_wup = rcv_nxt;
    }

    /// Data went out (`tcp_event_data_sent`): sent within an ATO of data received, it makes
    /// the connection interactive.
    pub fn on_data_sent(&mut self, now: u64) {
        if self.ato > 0 && self.jiffies(now).saturating_sub(self.lrcvtime) < self.ato {
            self.pingpong = self.pingpong.saturating_add(1);
        }
    }

    /// The delayed-ACK timer fired with an ACK still due: a missed chance inflates the ATO
    /// (up to the RTO); an interactive connection stops being one.
    pub fn on_delack_timer(&mut self, rto: u64) {
        if !self.scheduled {
            return;
        }
        if self.pingpong == 0 {
            self.ato = (self.ato * 2).min(self.jiffies(rto).max(1));
        } else {
            self.pingpong = 0;
            self.ato = self.ato_min();
        }
    }

    /// The application read `copied` bytes (`__tcp_cleanup_rbuf`): a scheduled ACK goes now
    /// when more than a full segment is unacknowledged, or when the peer pushed and the
    /// receive queue is empty (a single push is not enough once interactive).
    pub fn ack_on_read(&self, copied: u64, queue_empty: bool, rcv_nxt: Seq) -> bool {
        if !self.scheduled {
            return false;
        }
        let pushed = self.pushed2 || (self.pushed && self.pingpong == 0);
        rcv_nxt - self.rcv_wup > self.rcv_mss || (copied > 0 && pushed && queue_empty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const J: u64 = 4_000_000; // HZ = 250
    const MS: u64 = 1_000_000;

    fn rx(len: u32, push: bool) -> Received {
        Received {
            len,
            push,
            header: 32,
        }
    }

    fn established() -> LinuxAcks {
        let mut a = LinuxAcks::new(J, false);
        a.init_rcv_mss(1448, 64512, Seq(1));
        a
    }

    #[test]
    fn the_first_data_gives_sixteen_quick_acks() {
        let mut a = established();
        assert_eq!(a.rcv_mss, 536);
        a.on_data(10 * MS, rx(1448, false), 1448, 64512, 200 * MS);
        assert!(a.in_quickack());
        assert_eq!(a.rcv_mss, 1448);
        assert_eq!(a.decide(10 * MS, Seq(1449), false, None, None), AckNow::Now);
        for _ in 0..16 {
            a.on_data(11 * MS, rx(1448, false), 1448, 64512, 200 * MS);
            a.on_ack_sent(Seq(1449));
        }
        assert!(!a.in_quickack(), "credit spent");
    }

    /// Out of quick-ACK mode, the first three duplicate ACKs at one RCV.NXT go at once
    /// and the rest are compressed (`tcp_comp_sack`), up to 44; a new RCV.NXT counts anew.
    #[test]
    fn sacks_are_compressed_after_three_duplicates() {
        let mut a = established();
        let now: Vec<bool> = (0..5).map(|_| a.out_of_order_now(Seq(1))).collect();
        assert_eq!(now, [true, true, true, false, false]);
        assert!(a.out_of_order_now(Seq(1449)), "RCV.NXT moved");
        for _ in 0..2 {
            a.out_of_order_now(Seq(1449));
        }
        for _ in 0..COMP_SACK_NR {
            assert!(!a.out_of_order_now(Seq(1449)) || a.compressed >= COMP_SACK_NR);
        }
        assert!(a.out_of_order_now(Seq(1449)), "44 held back: one goes");
    }

    /// `delayed_ack = "none"` (the route's quickack metric, `dst_quick_ack`): the FIN's
    /// ACK goes at once although the FIN made the connection interactive.
    #[test]
    fn the_routes_quickack_metric_acks_even_when_interactive() {
        let mut a = LinuxAcks::new(J, true);
        a.init_rcv_mss(1448, 64512, Seq(1));
        a.on_data(10 * MS, rx(300, true), 1448, 64512, 200 * MS);
        a.on_ack_sent(Seq(301));
        a.on_fin_received();
        assert_eq!(a.decide(50 * MS, Seq(302), false, None, None), AckNow::Now);
    }

    #[test]
    fn a_fin_in_established_waits_one_ato() {
        let mut a = established();
        a.on_data(10 * MS, rx(300, true), 1448, 64512, 200 * MS);
        a.on_ack_sent(Seq(301));
        a.on_fin_received();
        // 40 ms ATO, armed in jiffy 12 (48 ms): fires at jiffy 12 + 10 + 1.
        assert_eq!(
            a.decide(50 * MS, Seq(302), false, Some(20 * MS), None),
            AckNow::At((12 + 10 + 1) * J)
        );
    }

    #[test]
    fn replying_within_an_ato_turns_interactive() {
        let mut a = established();
        a.on_data(10 * MS, rx(100, true), 1448, 64512, 200 * MS);
        a.on_data_sent(20 * MS);
        assert!(!a.in_quickack(), "pingpong: no quick ACKs");
        a.enter_quickack(16, 64512);
        assert!(a.in_quickack(), "duplicate data leaves pingpong");
    }

    #[test]
    fn reading_acks_more_than_a_segment_or_a_pushed_empty_queue() {
        let mut a = established();
        a.on_data(10 * MS, rx(1448, false), 1448, 64512, 200 * MS);
        assert!(
            !a.ack_on_read(1448, true, Seq(1449)),
            "one segment, not pushed"
        );
        a.on_data(10 * MS, rx(1448, true), 1448, 64512, 200 * MS);
        assert!(a.ack_on_read(2896, true, Seq(2897)));
    }
}
