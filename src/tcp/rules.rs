//! Segment rules that a full connection and its TIME_WAIT record share, so each is written
//! once: the acceptability test, the challenge-ACK rate limit, and what every outgoing
//! ACK carries (the fields, the scaled window, the timestamps option).

use super::options::Timestamps;
use super::{Endpoint, Flags, SECOND, Segment, Seq, Why};

/// RFC 9293 §3.10.7.4 first check: the four cases of segment acceptability.
///
/// | SEG.LEN | RCV.WND | test |
/// |---|---|---|
/// | 0 | 0 | SEG.SEQ = RCV.NXT |
/// | 0 | >0 | RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND |
/// | >0 | 0 | not acceptable |
/// | >0 | >0 | the first or the last octet of the segment in the window |
pub fn acceptable(seg: &Segment, rcv_nxt: Seq, rcv_wnd: u32) -> bool {
    let len = seg.seg_len();
    let in_window = |s: Seq| s.in_range(rcv_nxt, rcv_nxt + rcv_wnd);
    match (len, rcv_wnd) {
        (0, 0) => seg.seq == rcv_nxt,
        (0, _) => in_window(seg.seq),
        (_, 0) => false,
        _ => in_window(seg.seq) || in_window(seg.seq + (len - 1)),
    }
}

/// RFC 5961 §7: at most `limit` challenge ACKs in any one-second interval (kept per
/// connection; the RFC suggests a limit across the host).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChallengeLimiter {
    /// Start of the current one-second interval, and challenge ACKs sent in it.
    start: u64,
    count: u32,
}

impl ChallengeLimiter {
    /// Whether a challenge ACK may be sent now (and counts it when it may).
    pub fn allow(&mut self, now: u64, limit: u32) -> bool {
        if now >= self.start.saturating_add(SECOND) {
            (self.start, self.count) = (now, 0);
        }
        let allowed = self.count < limit;
        self.count += allowed as u32;
        allowed
    }
}

/// Linux `tcp_oow_rate_limited` (`tcp_invalid_ratelimit`, 500 ms): at most one reply per
/// interval to segments that could be part of an ACK loop — an unacceptable pure ACK or
/// SYN, a duplicate SYN, a challenge ACK (`tcp_send_challenge_ack`). Segments with data
/// and no SYN are never limited ("not likely part of an ACK loop").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OowRateLimit {
    last: Option<u64>,
}

impl OowRateLimit {
    pub const INTERVAL: u64 = SECOND / 2;

    /// Whether `seg` is the kind of segment the limit applies to.
    pub fn applies_to(seg: &Segment) -> bool {
        seg.seg_len() == 0 || seg.has(Flags::SYN)
    }

    /// Whether a reply may go now (and notes it when it may).
    pub fn allow(&mut self, now: u64) -> bool {
        if self
            .last
            .is_some_and(|at| now < at.saturating_add(Self::INTERVAL))
        {
            return false;
        }
        self.last = Some(now);
        true
    }
}

/// `<SEQ=seq><ACK=RCV.NXT><CTL=ACK>` from `local` to `remote`, before [`stamp`].
pub fn ack(local: Endpoint, remote: Endpoint, seq: Seq, rcv_nxt: Seq, why: Why) -> Segment {
    Segment {
        src: local,
        dst: remote,
        seq,
        ack: rcv_nxt,
        flags: Flags::ACK,
        why,
        ..Segment::default()
    }
}

/// What an outgoing non-SYN segment carries from its sender's receive side: the window
/// `rcv_wnd` scaled down by our shift (RFC 7323 §2.3) and, once negotiated, the
/// timestamps option (§3.2). A reset advertises no window and carries no timestamps (the
/// RFC leaves its window open; §5.3 exempts RSTs from timestamps). A SYN keeps the
/// unscaled window and the options it was built with (§2.2).
pub fn stamp(seg: &mut Segment, rcv_wnd: u32, rcv_wscale: u8, ts: &Timestamps, now: u64) {
    if seg.has(Flags::SYN) {
        return;
    }
    if seg.has(Flags::RST) {
        seg.wnd = 0;
        return;
    }
    seg.wnd = (rcv_wnd >> rcv_wscale).min(u16::MAX as u32) as u16;
    seg.ts = ts.option(now);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(seq: u32, len: u32, flags: Flags) -> Segment {
        Segment {
            seq: Seq(seq),
            len,
            flags,
            ..Segment::default()
        }
    }

    #[test]
    fn the_four_acceptability_cases() {
        let nxt = Seq(100);
        assert!(acceptable(&seg(100, 0, Flags::ACK), nxt, 0));
        assert!(!acceptable(&seg(101, 0, Flags::ACK), nxt, 0));
        assert!(acceptable(&seg(149, 0, Flags::ACK), nxt, 50));
        assert!(!acceptable(&seg(150, 0, Flags::ACK), nxt, 50));
        assert!(!acceptable(&seg(100, 1, Flags::ACK), nxt, 0));
        assert!(
            !acceptable(&seg(99, 0, Flags::FIN), nxt, 0),
            "a FIN is an octet"
        );
        assert!(
            acceptable(&seg(90, 20, Flags::ACK), nxt, 50),
            "last octet in"
        );
        assert!(
            acceptable(&seg(140, 20, Flags::ACK), nxt, 50),
            "first octet in"
        );
        assert!(!acceptable(&seg(80, 20, Flags::ACK), nxt, 50));
    }

    #[test]
    fn challenge_acks_are_limited_per_second() {
        let mut l = ChallengeLimiter::default();
        assert!(l.allow(0, 2));
        assert!(l.allow(1, 2));
        assert!(!l.allow(2, 2), "third in the same second");
        assert!(l.allow(SECOND, 2), "a new second");
    }

    #[test]
    fn stamps_scale_the_window_and_add_timestamps_but_not_on_resets() {
        let ts = Timestamps {
            ok: true,
            recent: 7,
            recent_at: 0,
        };
        let mut a = seg(1, 0, Flags::ACK);
        stamp(&mut a, 80_000, 3, &ts, 2_000_000);
        assert_eq!((a.wnd, a.ts), (10_000, Some((2, 7))));
        let mut r = seg(1, 0, Flags::RST);
        stamp(&mut r, 80_000, 3, &ts, 0);
        assert_eq!((r.wnd, r.ts), (0, None));
    }
}
