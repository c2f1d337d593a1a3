//! Carrying one segment: the fault chain at its source, then link direction after link
//! direction towards its destination. The network decides; whoever drives it (the
//! simulator's virtual-clock event queue, or `tcpsim kernel`'s wall-clock wire) is told
//! through a [`Driver`] what to report and when a copy arrives where, so both runs put a
//! segment through exactly the same model.

use super::{Network, Route, Verdict};
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
        let route = self.route(node, seg.dst.addr);
        self.transmit_via(now, node, route, seg, d);
    }

    /// [`Self::transmit`] for a sender that already knows its [`Route`] to `seg.dst`'s
    /// address: a connection, whose segments all go one way (in a million-host run the
    /// per-segment address and route-table lookups are cache misses).
    pub fn transmit_via(
        &mut self,
        now: u64,
        node: u32,
        route: Route,
        seg: &Segment,
        d: &mut impl Driver,
    ) {
        debug_assert_eq!(route, self.route(node, seg.dst.addr));
        let dst = route.dst();
        let verdict = self
            .faults
            .verdict(now, seg, node as usize, dst.map(|d| d as usize));
        let Verdict::Act(action, f) = verdict else {
            self.carry(now, node, route.first(), seg, Fate::default(), true, d);
            return;
        };
        let first = route.first();
        let to = first.map_or(node, |dir| self.dir(dir).to);
        match action {
            SegmentAction::Drop => {
                if let Some(dir) = first {
                    self.dir_mut(dir).rare_stats().dropped += 1;
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
                    self.dir_mut(dir).rare_stats().duplicated += 1;
                }
                let fate = Fate {
                    duplicated: Some(Cause::Fault(f)),
                    ..Fate::default()
                };
                self.carry(now, node, first, seg, fate, true, d);
                if copy_delay == 0 {
                    self.carry(now, node, first, seg, Fate::default(), false, d);
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
        let first = self.route(node, seg.dst.addr).first();
        self.carry(now, node, first, seg, extra, always, d);
    }

    /// [`Self::route_from`] with the link direction out of `node` already chosen (`None`:
    /// no route).
    #[allow(clippy::too_many_arguments)]
    fn carry(
        &mut self,
        now: u64,
        node: u32,
        dir: Option<u32>,
        seg: &Segment,
        extra: Fate,
        always: bool,
        d: &mut impl Driver,
    ) {
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
