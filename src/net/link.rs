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

pub struct LinkDir {
    pub from: u32,
    pub to: u32,
    /// The scenario's parameters, shared with it (a group's links all share one).
    params: Arc<LinkParams>,
    /// Only a direction with something random (loss, jitter, …) has a stream: a perfect
    /// link of a 100,000-host star then costs no generator state.
    rng: Option<Box<ChaCha8Rng>>,
    /// Down because of a partition fault (the fault's index), if any.
    pub down_by: Option<u32>,
    /// Times at which queued segments finish serialization (the one in service first).
    queue: VecDeque<u64>,
    /// Arrival time of the latest segment not held back by reordering.
    last_arrival: u64,
    pub stats: LinkStats,
}

impl LinkDir {
    /// `rng` builds the direction's random stream, called only when it needs one.
    pub fn new(
        from: u32,
        to: u32,
        params: Arc<LinkParams>,
        rng: impl FnOnce() -> ChaCha8Rng,
    ) -> Self {
        let p = &params;
        let random =
            p.loss > 0.0 || p.duplicate > 0.0 || p.reorder > 0.0 || p.corrupt > 0.0 || p.jitter > 0;
        LinkDir {
            from,
            to,
            rng: random.then(|| Box::new(rng())),
            params,
            down_by: None,
            // Grows to the queue's high-water mark (at most `queue`), not reserved up front.
            queue: VecDeque::new(),
            last_arrival: 0,
            stats: LinkStats::default(),
        }
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
        if let Some(f) = self.down_by {
            self.stats.dropped += 1;
            return dropped(Cause::LinkDown(f));
        }
        // Serialization: a FIFO that starts sending when the previous segment is done.
        let mut departure = now;
        if let Some(rate) = self.params.rate_bps {
            while self.queue.front().is_some_and(|&done| done <= now) {
                self.queue.pop_front();
            }
            if self.queue.len() >= self.params.queue as usize {
                self.stats.dropped += 1;
                return dropped(Cause::QueueFull);
            }
            let start = self.queue.back().copied().unwrap_or(now).max(now);
            departure = start.saturating_add(serialization_ns(wire_len, rate));
            self.queue.push_back(departure);
        }
        if self.chance(self.params.loss) {
            self.stats.dropped += 1;
            return dropped(Cause::Loss);
        }
        self.stats.carried += 1;
        if self.chance(self.params.corrupt) {
            fate.corrupted = true;
            self.stats.corrupted += 1;
        }
        let mut arrival = self.in_order_arrival(departure);
        if self.chance(self.params.reorder) {
            arrival = arrival.saturating_add(self.params.reorder_delay);
            fate.delayed = Some((self.params.reorder_delay, Cause::Reorder));
            self.stats.delayed += 1;
        }
        let mut arrivals = [Some(arrival), None];
        if self.chance(self.params.duplicate) {
            fate.duplicated = Some(Cause::Duplication);
            self.stats.duplicated += 1;
            arrivals[1] = Some(self.in_order_arrival(departure));
        }
        Passage { fate, arrivals }
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
