//! The event queue the simulator used before the timing wheel (src/sim/scheduler.rs): a
//! binary heap. Kept as the reference order for the wheel's property test and as the
//! baseline in `benches/hot_paths.rs`; the run loop does not use it.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

/// A heap entry: only the ordering key and where the event waits, so the heap moves 16
/// bytes per sift instead of whole events (a segment is ~100 bytes).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Entry {
    time: u64,
    seq: u64,
    slot: u32,
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    /// Reversed so the max-heap pops the earliest (time, seq) first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

/// Events at the same instant come out in the order they were scheduled, so a run never
/// depends on heap internals. Events themselves live in a slab whose freed slots are
/// reused, so a long run allocates nothing per event once the queue has grown.
pub struct HeapScheduler<E> {
    heap: BinaryHeap<Entry>,
    events: Vec<Option<E>>,
    free: Vec<u32>,
    /// Events known up front and already in time order (e.g. 100,000 client starts): they
    /// wait in a queue beside the heap instead of making every heap operation deeper.
    presorted: VecDeque<(u64, u64, E)>,
    next_seq: u64,
}

impl<E> Default for HeapScheduler<E> {
    fn default() -> Self {
        HeapScheduler {
            heap: BinaryHeap::new(),
            events: Vec::new(),
            free: Vec::new(),
            presorted: VecDeque::new(),
            next_seq: 0,
        }
    }
}

impl<E> HeapScheduler<E> {
    pub fn push(&mut self, time: u64, event: E) {
        let slot = match self.free.pop() {
            Some(i) => {
                self.events[i as usize] = Some(event);
                i
            }
            None => {
                self.events.push(Some(event));
                (self.events.len() - 1) as u32
            }
        };
        self.heap.push(Entry {
            time,
            seq: self.next_seq,
            slot,
        });
        self.next_seq += 1;
    }

    /// Schedules many events at once: the same order as pushing them one by one, cheaper.
    /// Sorts them by time (stably, so equal times keep their order).
    pub fn push_all(&mut self, mut items: Vec<(u64, E)>) {
        items.sort_by_key(|&(time, _)| time);
        let lane_end = self.presorted.back().map(|&(t, _, _)| t);
        if lane_end.is_some_and(|end| items.first().is_some_and(|&(t, _)| t < end)) {
            // Would break the lane's order: fall back to the heap.
            items.into_iter().for_each(|(t, e)| self.push(t, e));
            return;
        }
        for (time, event) in items {
            self.presorted.push_back((time, self.next_seq, event));
            self.next_seq += 1;
        }
    }

    pub fn pop(&mut self) -> Option<(u64, E)> {
        let lane_first = match (self.presorted.front(), self.heap.peek()) {
            (Some(&(t, seq, _)), Some(h)) => (t, seq) < (h.time, h.seq),
            (Some(_), None) => true,
            (None, _) => false,
        };
        if lane_first {
            return self.presorted.pop_front().map(|(t, _, e)| (t, e));
        }
        let e = self.heap.pop()?;
        self.free.push(e.slot);
        let event = self.events[e.slot as usize]
            .take()
            .expect("a queued slot holds its event");
        Some((e.time, event))
    }

    pub fn peek_time(&self) -> Option<u64> {
        let lane = self.presorted.front().map(|&(t, _, _)| t);
        let heap = self.heap.peek().map(|e| e.time);
        lane.into_iter().chain(heap).min()
    }

    pub fn len(&self) -> usize {
        self.heap.len() + self.presorted.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty() && self.presorted.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presorted_events_interleave_as_if_pushed_one_by_one() {
        let mut lane = HeapScheduler::default();
        let mut heap = HeapScheduler::default();
        lane.push(3, "x");
        heap.push(3, "x");
        let batch = vec![(5, "b"), (3, "a"), (5, "c")];
        lane.push_all(batch.clone());
        batch.into_iter().for_each(|(t, e)| heap.push(t, e));
        lane.push(5, "y");
        heap.push(5, "y");
        let a: Vec<_> = std::iter::from_fn(|| lane.pop()).collect();
        let b: Vec<_> = std::iter::from_fn(|| heap.pop()).collect();
        assert_eq!(a, b);
        assert_eq!(a, vec![(3, "x"), (3, "a"), (5, "b"), (5, "c"), (5, "y")]);
    }
}
