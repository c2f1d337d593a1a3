//! The options negotiated in the handshake: window scaling and timestamps with PAWS
//! (RFC 7323). Kept apart from the state machine, which only asks yes/no questions.

use super::{Config, Flags, Segment, Seq};

/// RFC 7323 §3–5 state once both SYNs carried the timestamps option: TS.Recent, when it
/// was last updated, and the PAWS test. A full connection and its TIME_WAIT record both
/// keep one, so the rules are written once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timestamps {
    /// Both SYNs carried a timestamps option (RFC 7323 §3.2).
    pub ok: bool,
    /// TS.Recent: the timestamp to echo, and the reference for PAWS.
    pub recent: u32,
    /// When TS.Recent was last updated (ns), for the TIME_WAIT reuse rule.
    pub recent_at: u64,
}

/// The PAWS verdict on an arriving segment (RFC 7323 §5.3 R1, §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paws {
    Accept,
    /// Timestamps are on but the segment has none: silently dropped (§3.2).
    Drop,
    /// Its TSval is older than TS.Recent: an old duplicate, "send an acknowledgement in
    /// reply ... and drop the segment" (§5.3 R1).
    AckAndDrop,
}

impl Timestamps {
    /// RFC 7323 §5.3 R1 (PAWS), applied before the sequence number check. RSTs are exempt
    /// (§5.3 note).
    pub fn paws(&self, seg: &Segment) -> Paws {
        if !self.ok || seg.has(Flags::RST) {
            return Paws::Accept;
        }
        match seg.ts {
            None => Paws::Drop,
            Some((tsval, _)) if Seq(tsval).lt(Seq(self.recent)) => Paws::AckAndDrop,
            Some(_) => Paws::Accept,
        }
    }

    /// RFC 7323 §4.3 (R3): remember the TSval of an acceptable segment that covers
    /// Last.ACK.sent.
    pub fn update(&mut self, seg: &Segment, last_ack_sent: Seq, now: u64) {
        if let Some((tsval, _)) = seg.ts.filter(|_| self.ok)
            && seg.seq.le(last_ack_sent)
            && Seq(tsval).ge(Seq(self.recent))
        {
            self.recent = tsval;
            self.recent_at = now;
        }
    }

    /// The option an outgoing non-SYN segment carries: (TSval, TSecr = TS.Recent).
    pub fn option(&self, now: u64) -> Option<(u32, u32)> {
        self.ok.then(|| (ts_clock(now), self.recent))
    }
}

/// What the two SYNs agreed on, and the timestamp state that follows from it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// RFC 7323 §2.2: the peer's shift, applied to windows it advertises.
    pub snd_wscale: u8,
    /// Our shift, applied to windows we advertise.
    pub rcv_wscale: u8,
    pub ts: Timestamps,
    /// Both SYNs carried SACK-permitted (RFC 2018 §2): SACK blocks may be sent and are
    /// read.
    pub sack: bool,
    /// Last.ACK.sent (RFC 7323 §4.3): the ACK field of our latest segment.
    pub last_ack_sent: Seq,
    /// What the peer's SYN offered, remembered until our SYN,ACK answers it.
    peer_wscale: Option<u8>,
    peer_ts: bool,
    peer_sack_ok: bool,
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
        self.peer_sack_ok = syn.sack_ok;
        self.sack = cfg.sack && syn.sack_ok;
        if let (Some(ours), Some(theirs)) = (cfg.offered_wscale(), syn.wscale) {
            self.rcv_wscale = ours.min(MAX_SHIFT);
            self.snd_wscale = theirs.min(MAX_SHIFT);
        }
        if let Some((tsval, _)) = syn.ts.filter(|_| cfg.timestamps) {
            self.ts = Timestamps {
                ok: true,
                recent: tsval,
                recent_at: now,
            };
        }
    }

    /// Whether our SYN offers SACK-permitted (a SYN,ACK only if the SYN did, RFC 2018 §2).
    pub fn syn_sack_ok(&self, cfg: &Config, answering: bool) -> bool {
        cfg.sack && (!answering || self.peer_sack_ok)
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
            .offered_wscale()
            .filter(|_| !answering || self.peer_wscale.is_some());
        let ts = (cfg.timestamps && (!answering || self.peer_ts))
            .then(|| (ts_clock(now), if answering { self.ts.recent } else { 0 }));
        (wscale.map(|s| s.min(MAX_SHIFT)), ts)
    }

    /// Stamps an outgoing segment (see [`super::rules::stamp`]) and notes Last.ACK.sent.
    pub fn stamp(&mut self, seg: &mut Segment, rcv_wnd: u32, now: u64) {
        super::rules::stamp(seg, rcv_wnd, self.rcv_wscale, &self.ts, now);
        if seg.has(Flags::ACK) {
            self.last_ack_sent = seg.ack;
        }
    }

    /// The peer's window in bytes: scaled, unless it is a SYN's (RFC 7323 §2.2).
    pub fn peer_window(&self, seg: &Segment) -> u32 {
        if seg.has(Flags::SYN) {
            seg.wnd as u32
        } else {
            (seg.wnd as u32) << self.snd_wscale
        }
    }

    /// RFC 7323 §4.3 (R3) against our Last.ACK.sent.
    pub fn update_recent(&mut self, seg: &Segment, now: u64) {
        self.ts.update(seg, self.last_ack_sent, now);
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
        assert_eq!((o.ts.ok, o.snd_wscale, o.rcv_wscale), (false, 0, 0));
        assert_eq!(o.syn_options(&cfg(false, None), true, 0), (None, None));
        let mut o = Options::default();
        o.on_peer_syn(&cfg(true, Some(3)), &syn, 0);
        assert_eq!(
            (o.ts.ok, o.ts.recent, o.snd_wscale, o.rcv_wscale),
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
        let o = Timestamps {
            ok: true,
            recent: 100,
            ..Timestamps::default()
        };
        let at = |ts, flags| Segment {
            flags,
            ts,
            ..Segment::default()
        };
        assert_eq!(o.paws(&at(Some((99, 0)), Flags::ACK)), Paws::AckAndDrop);
        assert_eq!(o.paws(&at(Some((100, 0)), Flags::ACK)), Paws::Accept);
        assert_eq!(o.paws(&at(Some((99, 0)), Flags::RST)), Paws::Accept);
        assert_eq!(
            o.paws(&at(None, Flags::ACK)),
            Paws::Drop,
            "RFC 7323 §3.2: no TSopt once negotiated"
        );
        // Wrap-around: 5 is newer than u32::MAX - 5.
        let o = Timestamps {
            ok: true,
            recent: u32::MAX - 5,
            ..Timestamps::default()
        };
        assert_eq!(o.paws(&at(Some((5, 0)), Flags::ACK)), Paws::Accept);
    }
}
