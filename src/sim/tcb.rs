//! What a host keeps per connection: the full control block, or — once the connection is
//! in TIME_WAIT — only the compact [`TimeWait`] record, so that thousands of connections
//! lingering in TIME_WAIT cost a little over a hundred bytes each.

use crate::tcp::{
    ConnEvent, ConnStats, Connection, Endpoint, Reopen, Segment, Seq, State, TimeWait,
};

/// Both forms are boxed so that the slot of every connection — including the many that
/// have ended and keep only their record — costs 16 bytes here, not the 88 of an inline
/// TIME_WAIT record (a million-host run keeps two million slots).
pub enum Tcb {
    Open(Box<Connection>),
    TimeWait(Box<TimeWait>),
}

impl Tcb {
    /// Starts loading the control block (see [`super::prefetch`]).
    #[inline(always)]
    pub fn prefetch(&self) {
        match self {
            Tcb::Open(c) => super::prefetch::prefetch(&**c),
            Tcb::TimeWait(tw) => super::prefetch::prefetch(&**tw),
        }
    }

    pub fn state(&self) -> State {
        match self {
            Tcb::Open(c) => c.state(),
            Tcb::TimeWait(tw) => tw.state(),
        }
    }

    pub fn endpoints(&self) -> (Endpoint, Endpoint) {
        match self {
            Tcb::Open(c) => (c.local, c.remote),
            Tcb::TimeWait(tw) => (tw.local, tw.remote),
        }
    }

    pub fn poll_timeout(&self) -> Option<u64> {
        match self {
            Tcb::Open(c) => c.poll_timeout(),
            Tcb::TimeWait(tw) => tw.poll_timeout(),
        }
    }

    /// The connection's own variables, for injected segments that refer to them:
    /// (SND.NXT, SND.UNA, RCV.NXT, ISS, IRS).
    pub fn variables(&self) -> (Seq, Seq, Seq, Seq, Seq) {
        match self {
            Tcb::Open(c) => (c.snd_nxt(), c.snd_una(), c.rcv_nxt(), c.iss(), c.irs()),
            Tcb::TimeWait(tw) => (tw.snd_nxt(), tw.snd_nxt(), tw.rcv_nxt(), tw.iss(), tw.irs()),
        }
    }

    pub fn open_mut(&mut self) -> Option<&mut Connection> {
        match self {
            Tcb::Open(c) => Some(c),
            Tcb::TimeWait(_) => None,
        }
    }

    /// Outputs of an open connection go to its own buffers (drained by the world); those
    /// of a TIME_WAIT record straight into `segs` and `evs`.
    pub fn handle_segment(
        &mut self,
        now: u64,
        seg: &Segment,
        segs: &mut Vec<Segment>,
        evs: &mut Vec<ConnEvent>,
    ) {
        match self {
            Tcb::Open(c) => c.handle_segment(now, seg),
            Tcb::TimeWait(tw) => tw.handle_segment(now, seg, segs, evs),
        }
    }

    pub fn handle_timeout(&mut self, now: u64, evs: &mut Vec<ConnEvent>) {
        match self {
            Tcb::Open(c) => c.handle_timeout(now),
            Tcb::TimeWait(tw) => tw.handle_timeout(now, evs),
        }
    }

    pub fn drain(&mut self, segs: &mut Vec<Segment>, evs: &mut Vec<ConnEvent>) {
        if let Tcb::Open(c) = self {
            c.drain_events(evs);
            c.drain_transmit(segs);
        }
    }

    pub fn time_wait_reopen(&self, syn: &Segment) -> Reopen {
        match self {
            Tcb::Open(c) => c.time_wait_reopen(syn),
            Tcb::TimeWait(tw) => tw.reopen(syn),
        }
    }

    /// The TIME_WAIT record, whichever form the connection is kept in.
    pub fn time_wait_record(&self) -> Option<TimeWait> {
        match self {
            Tcb::Open(c) => c.time_wait().cloned(),
            Tcb::TimeWait(tw) => Some((**tw).clone()),
        }
    }

    pub fn reusable_from_time_wait(&self, now: u64) -> bool {
        match self {
            Tcb::Open(c) => c.reusable_from_time_wait(now),
            Tcb::TimeWait(tw) => tw.reusable(now),
        }
    }

    /// Statistics so far; `base` holds what an open connection counted before it
    /// became a TIME_WAIT record.
    pub fn stats(&self, base: ConnStats) -> ConnStats {
        match self {
            Tcb::Open(c) => c.stats(),
            Tcb::TimeWait(tw) => ConnStats {
                segments_sent: base.segments_sent + tw.segments_sent as u64,
                ..base
            },
        }
    }
}
