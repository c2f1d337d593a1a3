//! One direction of a link: delay, jitter, bandwidth with a FIFO queue, and random
//! impairments drawn from the direction's own RNG stream.

use std::collections::VecDeque;
use std::sync::Arc;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::scenario::model::LinkParams;
use crate::trace::{Cause, Fate};

/// Counters for the summary.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LinkStats {
    pub carried: u64,
    pub dropped: u64,
    pub duplicated: u64,
    pub corrupted: u64,
    pub delayed: u64,
}

/// A segment's passage through the direction: its fate and when its copies arrive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Passage {
    pub fate: Fate,
    /// Arrival times of the delivered copies (none when dropped, two when duplicated).
    pub arrivals: [Option<u64>; 2],
}

/// One cache line: in a star of a million hosts every segment's first touch of its link
/// direction is a cache miss, and a direction spread over two lines was two. So the
/// direction keeps only what a segment needs: the node it leads from is the reverse
/// direction's `to` (see [`super::Network::from_of`]), and the counters of rare things
/// (drops, duplicates, …) live behind a pointer that stays empty on a clean link.
#[repr(align(64))]
pub struct LinkDir {
    pub to: u32,
    /// Down because of a partition fault: the fault's index, or [`UP`].
    down_by: u32,
    /// The scenario's parameters, shared with it (a group's links all share one).
    params: Arc<LinkParams>,
    /// Only a direction with something random (loss, jitter, …) has a stream: a perfect
    /// link of a 100,000-host star then costs no generator state.
    rng: Option<Box<ChaCha8Rng>>,
    /// When the last segment queued finishes serialization (the link is idle after it).
    busy_until: u64,
    /// When the segments queued before that one finish (the one in service first); made
    /// on the first segment that has to wait, so an idle link's segment touches no buffer.
    /// (Boxed for its size: 8 bytes here where a `VecDeque` is 32.)
    #[allow(clippy::box_collection)]
    backlog: Option<Box<VecDeque<u64>>>,
    /// Arrival time of the latest segment not held back by reordering.
    last_arrival: u64,
    /// Segments that entered and were not lost here (the only counter every segment moves).
    carried: u64,
    /// The other counters of [`LinkStats`], made on their first use.
    rare: Option<Box<LinkStats>>,
}

/// [`LinkDir::down_by`] of a direction that is up.
const UP: u32 = u32::MAX;

impl LinkDir {
    /// `rng` builds the direction's random stream, called only when it needs one.
    pub fn new(to: u32, params: Arc<LinkParams>, rng: impl FnOnce() -> ChaCha8Rng) -> Self {
        let p = &params;
        let random =
            p.loss > 0.0 || p.duplicate > 0.0 || p.reorder > 0.0 || p.corrupt > 0.0 || p.jitter > 0;
        LinkDir {
            to,
            down_by: UP,
            rng: random.then(|| Box::new(rng())),
            params,
            busy_until: 0,
            backlog: None,
            last_arrival: 0,
            carried: 0,
            rare: None,
        }
    }

    /// The partition fault holding the direction down, if any.
    pub fn down_by(&self) -> Option<u32> {
        (self.down_by != UP).then_some(self.down_by)
    }

    pub fn set_down_by(&mut self, fault: Option<u32>) {
        self.down_by = fault.unwrap_or(UP);
    }

    /// Its counters so far.
    pub fn stats(&self) -> LinkStats {
        let rare = self.rare.as_deref().copied().unwrap_or_default();
        LinkStats {
            carried: self.carried,
            ..rare
        }
    }

    /// The counters of rare events, made on first use.
    pub fn rare_stats(&mut self) -> &mut LinkStats {
        self.rare.get_or_insert_default()
    }

    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.rng.as_mut().is_some_and(|r| r.random::<f64>() < p)
    }

    /// Decides what happens to a segment of `wire_len` bytes entering now.
    pub fn pass(&mut self, now: u64, wire_len: u32) -> Passage {
        let mut fate = Fate::default();
        let dropped = |cause| Passage {
            fate: Fate::dropped(cause),
            arrivals: [None; 2],
        };
        if let Some(f) = self.down_by() {
            self.rare_stats().dropped += 1;
            return dropped(Cause::LinkDown(f));
        }
        // Serialization: a FIFO that starts sending when the previous segment is done.
        let mut departure = now;
        if let Some(rate) = self.params.rate_bps {
            if self.queued(now) >= self.params.queue as usize {
                self.rare_stats().dropped += 1;
                return dropped(Cause::QueueFull);
            }
            departure = self
                .busy_until
                .max(now)
                .saturating_add(serialization_ns(wire_len, rate));
            if self.busy_until > now {
                let backlog = self.backlog.get_or_insert_default();
                backlog.push_back(self.busy_until);
            }
            self.busy_until = departure;
        }
        if self.chance(self.params.loss) {
            self.rare_stats().dropped += 1;
            return dropped(Cause::Loss);
        }
        self.carried += 1;
        if self.chance(self.params.corrupt) {
            fate.corrupted = true;
            self.rare_stats().corrupted += 1;
        }
        let mut arrival = self.in_order_arrival(departure);
        if self.chance(self.params.reorder) {
            arrival = arrival.saturating_add(self.params.reorder_delay);
            fate.delayed = Some((self.params.reorder_delay, Cause::Reorder));
            self.rare_stats().delayed += 1;
        }
        let mut arrivals = [Some(arrival), None];
        if self.chance(self.params.duplicate) {
            fate.duplicated = Some(Cause::Duplication);
            self.rare_stats().duplicated += 1;
            arrivals[1] = Some(self.in_order_arrival(departure));
        }
        Passage { fate, arrivals }
    }

    /// Segments queued or in service at `now`, forgetting those done by then.
    fn queued(&mut self, now: u64) -> usize {
        let backlog = self.backlog.as_deref_mut();
        if self.busy_until <= now {
            backlog.map(VecDeque::clear);
            return 0;
        }
        let Some(backlog) = backlog else { return 1 };
        while backlog.front().is_some_and(|&done| done <= now) {
            backlog.pop_front();
        }
        backlog.len() + 1
    }

    /// Delay plus jitter, but never before the previous in-order arrival: jitter varies
    /// the delay without reordering (as on a real FIFO path); only `reorder` reorders.
    fn in_order_arrival(&mut self, departure: u64) -> u64 {
        let delay = self.params.delay.saturating_add(self.jitter());
        let arrival = departure.saturating_add(delay).max(self.last_arrival);
        self.last_arrival = arrival;
        arrival
    }

    fn jitter(&mut self) -> u64 {
        match self.rng.as_mut() {
            Some(r) if self.params.jitter > 0 => r.random_range(0..=self.params.jitter),
            _ => 0,
        }
    }
}

/// Nanoseconds to put `wire_len` bytes on a link of `rate` bits per second, rounded up;
/// in u128, so no segment length or rate can overflow it.
fn serialization_ns(wire_len: u32, rate: u64) -> u64 {
    let bits_ns = u128::from(wire_len) * 8 * 1_000_000_000;
    u64::try_from(bits_ns.div_ceil(u128::from(rate.max(1)))).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The FIFO as it was written before the backlog was split off: every queued
    /// segment's finish time in one deque.
    struct ReferenceFifo {
        queue: VecDeque<u64>,
        limit: usize,
        rate: u64,
    }

    impl ReferenceFifo {
        fn departure(&mut self, now: u64, wire_len: u32) -> Option<u64> {
            while self.queue.front().is_some_and(|&done| done <= now) {
                self.queue.pop_front();
            }
            if self.queue.len() >= self.limit {
                return None;
            }
            let start = self.queue.back().copied().unwrap_or(now).max(now);
            let departure = start + serialization_ns(wire_len, self.rate);
            self.queue.push_back(departure);
            Some(departure)
        }
    }

    fn direction(rate: u64, queue: u32) -> LinkDir {
        let params = LinkParams {
            rate_bps: Some(rate),
            queue,
            ..LinkParams::default()
        };
        LinkDir::new(1, Arc::new(params), || {
            unreachable!("a clean link draws nothing")
        })
    }

    proptest! {
        /// Busy-until plus backlog queues, drops and times segments exactly as one deque
        /// of finish times did, for any arrivals.
        #[test]
        fn queue_matches_the_single_deque(
            gaps in proptest::collection::vec((0u64..300_000, 40u32..1600), 1..200),
            limit in 1u32..6,
        ) {
            let rate = 100_000_000;
            let mut dir = direction(rate, limit);
            let mut reference = ReferenceFifo { queue: VecDeque::new(), limit: limit as usize, rate };
            let mut now = 0;
            for (gap, len) in gaps {
                now += gap;
                let got = dir.pass(now, len);
                match reference.departure(now, len) {
                    None => prop_assert_eq!(got.fate.dropped, Some(Cause::QueueFull)),
                    Some(departure) => prop_assert_eq!(got.arrivals[0], Some(departure)),
                }
            }
        }
    }

    #[test]
    fn rare_counters_appear_only_when_used() {
        let mut dir = direction(1_000_000, 1);
        assert!(dir.rare.is_none());
        dir.pass(0, 1000);
        assert!(
            dir.rare.is_none(),
            "a carried segment needs no rare counters"
        );
        dir.pass(0, 1000);
        assert_eq!(dir.stats().dropped, 1);
        assert_eq!(dir.stats().carried, 1);
        assert_eq!(size_of::<LinkDir>(), 64, "one cache line");
    }
}
