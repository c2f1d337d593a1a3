//! The options negotiated in the handshake: window scaling and timestamps with PAWS
//! (RFC 7323). Kept apart from the state machine, which only asks yes/no questions.

use super::{Config, Flags, Segment, Seq};

/// What the two SYNs agreed on, and the timestamp state that follows from it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// RFC 7323 §2.2: the peer's shift, applied to windows it advertises.
    pub snd_wscale: u8,
    /// Our shift, applied to windows we advertise.
    pub rcv_wscale: u8,
    /// Both SYNs carried a timestamps option (RFC 7323 §3.2).
    pub ts_ok: bool,
    /// TS.Recent: the timestamp to echo, and the reference for PAWS.
    pub ts_recent: u32,
    /// When TS.Recent was last updated (ns), for the TIME_WAIT reuse rule.
    pub ts_recent_at: u64,
    /// Last.ACK.sent (RFC 7323 §4.3): the ACK field of our latest segment.
    pub last_ack_sent: Seq,
    /// What the peer's SYN offered, remembered until our SYN,ACK answers it.
    peer_wscale: Option<u8>,
    peer_ts: bool,
}

/// RFC 7323 §2.3: shifts above 14 are treated as 14.
const MAX_SHIFT: u8 = 14;

/// RFC 7323 §5.4: a timestamp clock of 1 ms ticks (the same for every connection of a
/// host, so it keeps rising across incarnations of a 4-tuple, which PAWS relies on).
pub fn ts_clock(now: u64) -> u32 {
    (now / 1_000_000) as u32
}

impl Options {
    /// Notes what a received SYN (or SYN,ACK) offers and, where we offered the same,
    /// turns it on. Windows in SYN segments are never scaled (RFC 7323 §2.2).
    pub fn on_peer_syn(&mut self, cfg: &Config, syn: &Segment, now: u64) {
        self.peer_wscale = syn.wscale;
        self.peer_ts = syn.ts.is_some();
        if let (Some(ours), Some(theirs)) = (cfg.window_scale, syn.wscale) {
            self.rcv_wscale = ours.min(MAX_SHIFT);
            self.snd_wscale = theirs.min(MAX_SHIFT);
        }
        if let Some((tsval, _)) = syn.ts.filter(|_| cfg.timestamps) {
            self.ts_ok = true;
            self.ts_recent = tsval;
            self.ts_recent_at = now;
        }
    }

    /// Options for our SYN (`answering`: a SYN,ACK, which may only offer what the
    /// peer's SYN offered, RFC 7323 §2.2 and §3.2).
    pub fn syn_options(
        &self,
        cfg: &Config,
        answering: bool,
        now: u64,
    ) -> (Option<u8>, Option<(u32, u32)>) {
        let wscale = cfg
            .window_scale
            .filter(|_| !answering || self.peer_wscale.is_some());
        let ts = (cfg.timestamps && (!answering || self.peer_ts))
            .then(|| (ts_clock(now), if answering { self.ts_recent } else { 0 }));
        (wscale.map(|s| s.min(MAX_SHIFT)), ts)
    }

    /// Stamps an outgoing non-SYN segment: the timestamps option when negotiated (but not
    /// on RSTs, RFC 7323 §5.3 note) and the window, scaled down.
    pub fn stamp(&mut self, seg: &mut Segment, rcv_wnd: u32, now: u64) {
        if seg.has(Flags::SYN) {
            return;
        }
        if !seg.has(Flags::RST) {
            seg.wnd = (rcv_wnd >> self.rcv_wscale).min(u16::MAX as u32) as u16;
            if self.ts_ok {
                seg.ts = Some((ts_clock(now), self.ts_recent));
            }
        }
        if seg.has(Flags::ACK) {
            self.last_ack_sent = seg.ack;
        }
    }

    /// The peer's window in bytes.
    pub fn peer_window(&self, seg: &Segment) -> u32 {
        if seg.has(Flags::SYN) {
            seg.wnd as u32
        } else {
            (seg.wnd as u32) << self.snd_wscale
        }
    }

    /// RFC 7323 §5.3 R1 (PAWS): a segment whose TSval is older than TS.Recent is an old
    /// duplicate. RSTs are exempt (§5.3 note). §3.2: once timestamps are on, a non-RST
    /// segment without them is dropped too.
    pub fn rejects(&self, seg: &Segment) -> bool {
        if !self.ts_ok || seg.has(Flags::RST) {
            return false;
        }
        match seg.ts {
            Some((tsval, _)) => Seq(tsval).lt(Seq(self.ts_recent)),
            None => true,
        }
    }

    /// RFC 7323 §4.3 (R3): remember the TSval of a segment that covers Last.ACK.sent.
    pub fn update_recent(&mut self, seg: &Segment, now: u64) {
        if let Some((tsval, _)) = seg.ts.filter(|_| self.ts_ok)
            && seg.seq.le(self.last_ack_sent)
            && Seq(tsval).ge(Seq(self.ts_recent))
        {
            self.ts_recent = tsval;
            self.ts_recent_at = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(ts: bool, ws: Option<u8>) -> Config {
        Config {
            timestamps: ts,
            window_scale: ws,
            ..Config::default()
        }
    }

    #[test]
    fn both_sides_must_offer() {
        let syn = Segment {
            flags: Flags::SYN,
            wscale: Some(7),
            ts: Some((5, 0)),
            ..Segment::default()
        };
        let mut o = Options::default();
        o.on_peer_syn(&cfg(false, None), &syn, 0);
        assert_eq!((o.ts_ok, o.snd_wscale, o.rcv_wscale), (false, 0, 0));
        assert_eq!(o.syn_options(&cfg(false, None), true, 0), (None, None));
        let mut o = Options::default();
        o.on_peer_syn(&cfg(true, Some(3)), &syn, 0);
        assert_eq!(
            (o.ts_ok, o.ts_recent, o.snd_wscale, o.rcv_wscale),
            (true, 5, 7, 3)
        );
        assert_eq!(
            o.syn_options(&cfg(true, Some(3)), true, 2_000_000),
            (Some(3), Some((2, 5)))
        );
    }

    #[test]
    fn syn_ack_offers_only_what_the_syn_offered() {
        let bare = Segment {
            flags: Flags::SYN,
            ..Segment::default()
        };
        let mut o = Options::default();
        o.on_peer_syn(&cfg(true, Some(7)), &bare, 0);
        assert_eq!(o.syn_options(&cfg(true, Some(7)), true, 0), (None, None));
        assert_eq!(
            o.syn_options(&cfg(true, Some(7)), false, 0),
            (Some(7), Some((0, 0)))
        );
    }

    #[test]
    fn windows_scale_both_ways() {
        let o = Options {
            snd_wscale: 2,
            rcv_wscale: 3,
            ..Options::default()
        };
        let seg = Segment {
            flags: Flags::ACK,
            wnd: 1000,
            ..Segment::default()
        };
        assert_eq!(o.peer_window(&seg), 4000);
        let syn = Segment {
            flags: Flags::SYN,
            wnd: 1000,
            ..Segment::default()
        };
        assert_eq!(o.peer_window(&syn), 1000, "SYN windows are never scaled");
        let mut o = o;
        let mut out = Segment {
            flags: Flags::ACK,
            ..Segment::default()
        };
        o.stamp(&mut out, 80_000, 0);
        assert_eq!(out.wnd, 10_000);
    }

    #[test]
    fn paws_rejects_older_timestamps_but_not_rsts() {
        let o = Options {
            ts_ok: true,
            ts_recent: 100,
            ..Options::default()
        };
        let at = |ts, flags| Segment {
            flags,
            ts,
            ..Segment::default()
        };
        assert!(o.rejects(&at(Some((99, 0)), Flags::ACK)));
        assert!(!o.rejects(&at(Some((100, 0)), Flags::ACK)));
        assert!(!o.rejects(&at(Some((99, 0)), Flags::RST)));
        assert!(
            o.rejects(&at(None, Flags::ACK)),
            "RFC 7323 §3.2: no TSopt once negotiated"
        );
        // Wrap-around: 5 is newer than u32::MAX - 5.
        let o = Options {
            ts_ok: true,
            ts_recent: u32::MAX - 5,
            ..Options::default()
        };
        assert!(!o.rejects(&at(Some((5, 0)), Flags::ACK)));
    }
}
