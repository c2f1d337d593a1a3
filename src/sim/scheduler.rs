//! The virtual clock's event queue: a total order by (time, insertion sequence), kept in a
//! hierarchical timing wheel.
//!
//! Why a wheel: the binary heap it replaces (src/sim/heap_scheduler.rs) did a handful of
//! instructions per event, but each pop walked a root-to-leaf path through a heap of up to
//! a million entries plus a random slab slot, and at 100,000 hosts those cache misses were
//! most of the cost. Here a push appends to the end of one bucket and a pop takes the
//! front of one, both O(1), and events are stored inline in the buckets, so popping the
//! events of one instant reads consecutive memory.
//!
//! Layout: the clock's 64 bits are cut into 6-bit digits, one wheel level per digit (11
//! levels, the top one 4 bits wide), 64 buckets per level. `cursor` is the time of the last
//! event popped (every queued event is at or after it); an event goes to the level of the
//! highest digit where its time differs from `cursor`, in the bucket of its time's digit
//! there. So a level-0 bucket holds one exact instant, and a bucket of level L holds a
//! range of 64^L ns that lies after everything in lower levels. When level 0 is empty,
//! the earliest bucket of the lowest non-empty level is emptied into the levels below
//! ("cascaded"): an event moves down at most once per level, 3 times for a delay of 10 ms
//! and 5 for 240 s, and a far-future event costs nothing until its turn. A radix heap
//! would do the same with one bucket per bit, so ~4 times as many moves.
//!
//! Order: buckets are FIFO. A bucket only ever receives events cascaded from a higher
//! level while it is empty (everything earlier has gone), and pushes come later, so each
//! bucket stays in insertion order and same-instant events come out as they were
//! scheduled, without storing a sequence number. This is exactly the heap's
//! (time, insertion sequence) order, `push_all` included (see there).

use std::collections::VecDeque;

/// Bits per level: 64 buckets, so a level's occupancy is one `u64` bitmap.
const BITS: u32 = 6;
/// Enough levels for every u64 time (the top level uses the last 4 bits).
const LEVELS: usize = 64_usize.div_ceil(BITS as usize);
const BUCKETS: usize = 1 << BITS;
/// A new bucket's room: pooled memory is shared by buckets of every level, and one that
/// started at 1 would grow again each time it met a busier bucket.
const FIRST_CAPACITY: usize = 16;
/// A bucket that held more events than this frees its memory when it empties, so a burst
/// (100,000 client starts in one bucket) does not keep its peak allocation for the run.
const KEEP_CAPACITY: usize = 4096;

/// One level of the wheel.
struct Level<E> {
    buckets: Vec<Bucket<E>>,
    /// Bit b set: bucket b is not empty.
    occupied: u64,
    /// The earliest time in each bucket (`u64::MAX` when empty), so `peek_time` needs no
    /// scan and a cascade knows where to move the cursor.
    earliest: [u64; BUCKETS],
}

impl<E> Level<E> {
    fn new() -> Self {
        Level {
            buckets: (0..BUCKETS).map(|_| VecDeque::new()).collect(),
            occupied: 0,
            earliest: [u64::MAX; BUCKETS],
        }
    }

    /// The first non-empty bucket: every bucket of a level lies after `cursor`'s digit
    /// there (or on it, at level 0), so the lowest bit is the earliest.
    fn first(&self) -> Option<usize> {
        (self.occupied != 0).then(|| self.occupied.trailing_zeros() as usize)
    }

    /// Marks bucket `b` empty and hands its memory to `spare`.
    fn emptied(&mut self, b: usize, spare: &mut Vec<Bucket<E>>) {
        self.occupied &= !(1 << b);
        self.earliest[b] = u64::MAX;
        recycle(std::mem::take(&mut self.buckets[b]), spare);
    }
}

type Bucket<E> = VecDeque<(u64, E)>;

/// Keeps an empty bucket's memory for the next bucket that fills, unless it is oversized.
fn recycle<E>(bucket: Bucket<E>, spare: &mut Vec<Bucket<E>>) {
    let cap = bucket.capacity();
    if cap > 0 && cap <= KEEP_CAPACITY {
        spare.push(bucket);
    }
}

/// Events at the same instant come out in the order they were scheduled, so a run never
/// depends on queue internals. An emptied bucket's memory goes to a pool that the next
/// bucket to fill takes from, so a long run allocates nothing per event once the queue has
/// grown, however many buckets the clock passes through.
pub struct Scheduler<E> {
    levels: Vec<Level<E>>,
    /// Memory of emptied buckets: at most one per bucket that was ever in use at once.
    spare: Vec<Bucket<E>>,
    /// The time of the last event popped; no queued event is earlier.
    cursor: u64,
    len: usize,
}

impl<E> Default for Scheduler<E> {
    fn default() -> Self {
        Scheduler {
            levels: (0..LEVELS).map(|_| Level::new()).collect(),
            spare: Vec::new(),
            cursor: 0,
            len: 0,
        }
    }
}

impl<E> Scheduler<E> {
    pub fn push(&mut self, time: u64, event: E) {
        if time < self.cursor {
            self.rewind(time);
        }
        self.place(time, event);
        self.len += 1;
    }

    /// Schedules many events at once, in the same order as pushing them one by one. The
    /// heap sorted the batch into a lane beside it so 100,000 client starts did not deepen
    /// every heap operation; a wheel push is O(1) whatever is queued, so no lane is needed.
    /// (The order is the same: within a batch equal times kept their order, and the batch's
    /// sequence numbers were one block, so every tie is broken as here.)
    pub fn push_all(&mut self, items: Vec<(u64, E)>) {
        items.into_iter().for_each(|(t, e)| self.push(t, e));
    }

    pub fn pop(&mut self) -> Option<(u64, E)> {
        if self.levels[0].occupied == 0 {
            if let Some(item) = self.pop_lone() {
                return Some(item);
            }
            self.cascade()?;
        }
        let level = &mut self.levels[0];
        let b = level.first().expect("a cascade fills level 0");
        let item = level.buckets[b].pop_front().expect("an occupied bucket");
        if level.buckets[b].is_empty() {
            level.emptied(b, &mut self.spare);
        }
        self.cursor = item.0;
        self.len -= 1;
        Some(item)
    }

    pub fn peek_time(&self) -> Option<u64> {
        let level = self.levels.iter().find(|l| l.occupied != 0)?;
        Some(level.earliest[level.first()?])
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Files an event by the highest digit where its time differs from the cursor.
    fn place(&mut self, time: u64, event: E) {
        let diff = time ^ self.cursor;
        let level = if diff == 0 {
            0
        } else {
            ((63 - diff.leading_zeros()) / BITS) as usize
        };
        let b = ((time >> (BITS * level as u32)) as usize) & (BUCKETS - 1);
        let l = &mut self.levels[level];
        if l.buckets[b].capacity() == 0 {
            l.buckets[b] = self
                .spare
                .pop()
                .unwrap_or_else(|| VecDeque::with_capacity(FIRST_CAPACITY));
        }
        l.buckets[b].push_back((time, event));
        l.occupied |= 1 << b;
        l.earliest[b] = l.earliest[b].min(time);
    }

    /// Level 0 is empty and the earliest bucket of the lowest non-empty level holds one
    /// event: that event is the earliest queued, and is taken straight from there. It is
    /// what [`Self::cascade`] would do (move the cursor to it, file it in level 0, pop
    /// it) without the filing; in a sparse queue (a bulk transfer's dozen events in
    /// flight, each in its own bucket) it is most pops.
    fn pop_lone(&mut self) -> Option<(u64, E)> {
        let (li, b) = self.first_bucket()?;
        let level = &mut self.levels[li];
        if level.buckets[b].len() != 1 {
            return None;
        }
        let item = level.buckets[b].pop_front()?;
        level.emptied(b, &mut self.spare);
        self.cursor = item.0;
        self.len -= 1;
        Some(item)
    }

    /// The lowest non-empty level and its earliest bucket.
    fn first_bucket(&self) -> Option<(usize, usize)> {
        (self.levels.iter().enumerate()).find_map(|(i, l)| l.first().map(|b| (i, b)))
    }

    /// Level 0 is empty: moves the cursor to the earliest queued time and spreads the
    /// earliest bucket of the lowest non-empty level over the levels below it (its
    /// earliest event lands in level 0). None when nothing is queued.
    fn cascade(&mut self) -> Option<()> {
        let (li, b) = self.first_bucket()?;
        let level = &mut self.levels[li];
        self.cursor = level.earliest[b];
        let mut bucket = std::mem::take(&mut level.buckets[b]);
        level.emptied(b, &mut self.spare);
        bucket.drain(..).for_each(|(t, e)| self.place(t, e));
        recycle(bucket, &mut self.spare);
        Some(())
    }

    /// A push earlier than the last event popped (the run loop never does this; kept
    /// correct so the queue is a plain priority queue): the queued events were filed
    /// against a later cursor, so they are drained in order and filed again after the
    /// cursor moves back. O(queued), and the order is unchanged: the new event is earlier
    /// than all of them, and they are pushed again in their own order.
    fn rewind(&mut self, time: u64) {
        let queued: Vec<(u64, E)> = std::iter::from_fn(|| self.pop()).collect();
        self.cursor = time;
        self.len = 0;
        queued.into_iter().for_each(|(t, e)| self.push(t, e));
    }
}

#[cfg(test)]
mod tests {
    use super::super::heap_scheduler::HeapScheduler;
    use super::*;
    use proptest::prelude::*;

    /// Both the wheel and the heap it replaced (the property test's reference).
    #[test]
    fn time_then_insertion_order() {
        macro_rules! order_of {
            ($queue:expr) => {{
                let mut s = $queue;
                s.push(5, "c");
                s.push(1, "a");
                s.push(5, "d");
                s.push(1, "b");
                std::iter::from_fn(|| s.pop()).collect::<Vec<_>>()
            }};
        }
        let expected = vec![(1, "a"), (1, "b"), (5, "c"), (5, "d")];
        assert_eq!(order_of!(Scheduler::default()), expected);
        assert_eq!(order_of!(HeapScheduler::default()), expected);
    }

    #[test]
    fn far_apart_times_and_the_end_of_the_clock() {
        let mut s = Scheduler::default();
        let times = [
            u64::MAX,
            240_000_000_000,
            3,
            u64::MAX,
            1 << 60,
            64,
            63,
            4096,
        ];
        times.iter().enumerate().for_each(|(i, &t)| s.push(t, i));
        assert_eq!(s.peek_time(), Some(3));
        let got: Vec<_> = std::iter::from_fn(|| s.pop()).collect();
        let mut want: Vec<_> = times.iter().enumerate().map(|(i, &t)| (t, i)).collect();
        want.sort_by_key(|&(t, _)| t);
        assert_eq!(got, want);
    }

    /// One step of a random workload; times are offsets from the last time popped.
    #[derive(Clone, Debug)]
    enum Op {
        Push(u64),
        PushAll(Vec<u64>),
        Pop,
        /// An absolute time, usually before the last one popped.
        PushAt(u64),
    }

    /// Offsets: the current instant, clustered (ns and µs apart), and widely spread
    /// (seconds to minutes, and the end of the clock).
    fn offset() -> impl Strategy<Value = u64> {
        prop_oneof![
            3 => Just(0u64),
            4 => 0u64..64,
            4 => 0u64..100_000,
            2 => 0u64..300_000_000_000,
            1 => Just(u64::MAX),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => offset().prop_map(Op::Push),
            1 => prop::collection::vec(offset(), 0..20).prop_map(Op::PushAll),
            6 => Just(Op::Pop),
            1 => (0u64..1_000_000).prop_map(Op::PushAt),
        ]
    }

    proptest! {
        /// The wheel pops exactly the sequence the binary heap it replaced pops (the
        /// heap with its presorted lane), with the same peeks and lengths on the way.
        #[test]
        fn same_order_as_the_heap(ops in prop::collection::vec(op(), 0..400)) {
            let mut wheel = Scheduler::default();
            let mut heap = HeapScheduler::default();
            let (mut now, mut id) = (0u64, 0u32);
            let mut next = |t: u64| { id += 1; (t, id) };
            for op in ops {
                match op {
                    Op::Push(d) => {
                        let (t, e) = next(now.saturating_add(d));
                        wheel.push(t, e);
                        heap.push(t, e);
                    }
                    Op::PushAt(t) => {
                        let (t, e) = next(t);
                        wheel.push(t, e);
                        heap.push(t, e);
                    }
                    Op::PushAll(ds) => {
                        let items: Vec<_> =
                            ds.iter().map(|&d| next(now.saturating_add(d))).collect();
                        wheel.push_all(items.clone());
                        heap.push_all(items);
                    }
                    Op::Pop => {
                        let got = wheel.pop();
                        prop_assert_eq!(got, heap.pop());
                        if let Some((t, _)) = got {
                            now = t;
                        }
                    }
                }
                prop_assert_eq!(wheel.peek_time(), heap.peek_time());
                prop_assert_eq!(wheel.len(), heap.len());
                prop_assert_eq!(wheel.is_empty(), heap.is_empty());
            }
            let rest = std::iter::from_fn(|| wheel.pop()).collect::<Vec<_>>();
            prop_assert_eq!(rest, std::iter::from_fn(|| heap.pop()).collect::<Vec<_>>());
        }
    }
}
