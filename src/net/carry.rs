//! Carrying one segment: the fault chain at its source, then link direction after link
//! direction towards its destination. The network decides; whoever drives it (the
//! simulator's virtual-clock event queue, or `tcpsim kernel`'s wall-clock wire) is told
//! through a [`Driver`] what to report and when a copy arrives where, so both runs put a
//! segment through exactly the same model.

use super::{Network, Verdict};
use crate::scenario::model::SegmentAction;
use crate::tcp::Segment;
use crate::trace::{Cause, Fate};

/// What the network asks of the loop that drives it.
pub trait Driver {
    /// Report the segment's passage from node `from` towards node `to`, with its fate.
    fn emit(&mut self, seg: &Segment, from: u32, to: u32, fate: Fate);
    /// A copy reaches node `node` over the link from `from` at time `at`.
    fn arrive(&mut self, at: u64, from: u32, node: u32, seg: &Segment, corrupt: bool);
    /// A copy held back (a delay fault, an old duplicate) enters the network at `node` at `at`.
    fn enter(&mut self, at: u64, node: u32, seg: &Segment);
    /// The segment entered a link direction and was not lost there.
    fn carried(&mut self) {}
    /// Its size on the wire, for serialization at a link's rate (a real packet may carry
    /// options a [`Segment`] does not describe).
    fn wire_len(&self, seg: &Segment) -> u32 {
        seg.wire_len()
    }
}

impl Network {
    /// A host sends a segment at `now`: the fault chain decides first, then the first
    /// link. Fault drops and duplicates count in the first link direction's statistics.
    pub fn transmit(&mut self, now: u64, node: u32, seg: &Segment, d: &mut impl Driver) {
        let dst = self.node_of_addr(seg.dst.addr);
        self.transmit_towards(now, node, dst, seg, d);
    }

    /// [`Self::transmit`] for a sender that already knows which node holds `seg.dst`'s
    /// address (`dst`, as [`Network::node_of_addr`] gives it): a connection, whose segments
    /// all go to one address.
    pub fn transmit_towards(
        &mut self,
        now: u64,
        node: u32,
        dst: Option<u32>,
        seg: &Segment,
        d: &mut impl Driver,
    ) {
        debug_assert_eq!(dst, self.node_of_addr(seg.dst.addr));
        let verdict = self
            .faults
            .verdict(now, seg, node as usize, dst.map(|d| d as usize));
        let Verdict::Act(action, f) = verdict else {
            self.carry(now, node, dst, seg, Fate::default(), true, d);
            return;
        };
        let first = dst.and_then(|dst| self.next_dir(node, dst));
        let to = first.map_or(node, |dir| self.dir(dir).to);
        match action {
            SegmentAction::Drop => {
                if let Some(dir) = first {
                    self.dir_mut(dir).stats.dropped += 1;
                }
                d.emit(seg, node, to, Fate::dropped(Cause::Fault(f)));
            }
            SegmentAction::Delay(delay) => {
                let fate = Fate {
                    delayed: Some((delay, Cause::Fault(f))),
                    ..Fate::default()
                };
                d.emit(seg, node, to, fate);
                d.enter(now.saturating_add(delay), node, seg);
            }
            SegmentAction::Duplicate(copy_delay) => {
                if let Some(dir) = first {
                    self.dir_mut(dir).stats.duplicated += 1;
                }
                let fate = Fate {
                    duplicated: Some(Cause::Fault(f)),
                    ..Fate::default()
                };
                self.carry(now, node, dst, seg, fate, true, d);
                if copy_delay == 0 {
                    self.carry(now, node, dst, seg, Fate::default(), false, d);
                } else {
                    // An old duplicate: the copy wanders in the network and enters it later.
                    d.enter(now.saturating_add(copy_delay), node, seg);
                }
            }
        }
    }

    /// Puts `seg` on the next link from `node` towards its destination at `now`. `extra`
    /// is what a fault already did to it; the passage is reported when `always` or when
    /// anything happened to it.
    pub fn route_from(
        &mut self,
        now: u64,
        node: u32,
        seg: &Segment,
        extra: Fate,
        always: bool,
        d: &mut impl Driver,
    ) {
        let dst = self.node_of_addr(seg.dst.addr);
        self.carry(now, node, dst, seg, extra, always, d);
    }

    /// [`Self::route_from`] with the destination node already looked up (`transmit` looks
    /// it up once for the fault chain and the first link).
    #[allow(clippy::too_many_arguments)]
    fn carry(
        &mut self,
        now: u64,
        node: u32,
        dst: Option<u32>,
        seg: &Segment,
        extra: Fate,
        always: bool,
        d: &mut impl Driver,
    ) {
        let dir = dst.and_then(|dst| self.next_dir(node, dst));
        let Some(dir) = dir else {
            d.emit(seg, node, node, Fate::dropped(Cause::NoRoute));
            return;
        };
        let passage = self.dir_mut(dir).pass(now, d.wire_len(seg));
        let mut fate = passage.fate;
        fate.duplicated = fate.duplicated.or(extra.duplicated);
        fate.delayed = fate.delayed.or(extra.delayed);
        if fate.dropped.is_none() {
            d.carried();
        }
        let to = self.dir(dir).to;
        if always || !fate.is_pass() {
            d.emit(seg, node, to, fate);
        }
        for at in passage.arrivals.into_iter().flatten() {
            d.arrive(at, node, to, seg, fate.corrupted);
        }
    }
}
