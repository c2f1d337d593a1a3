//! What a connection keeps of the byte streams: the sender's record of what the
//! application wrote, and the receiver's out-of-order segments.

use super::{Seq, Tag};

/// The application's writes, as runs of consecutive tags. Generated data is a single run;
/// an echo server appends the tags it received, which stay one run when they are
/// contiguous. Nothing is freed on acknowledgment: the record doubles as the reference
/// for the integrity check.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SendBuffer {
    written: u64,
    /// (stream offset where the run starts, tag of that byte), ascending by offset.
    runs: Vec<(u64, Tag)>,
    stream: u32,
}

impl SendBuffer {
    pub fn new(stream: u32) -> Self {
        SendBuffer {
            written: 0,
            runs: Vec::new(),
            stream,
        }
    }

    /// The stream id this side's generated data carries.
    pub fn stream(&self) -> u32 {
        self.stream
    }

    pub fn written(&self) -> u64 {
        self.written
    }

    pub fn write(&mut self, len: u64, tag: Tag) {
        if len == 0 {
            return;
        }
        let continues = self
            .runs
            .last()
            .is_some_and(|&(start, t)| t.advance(self.written - start) == tag);
        if !continues {
            self.runs.push((self.written, tag));
        }
        self.written += len;
    }

    fn run_index(&self, offset: u64) -> Option<usize> {
        self.runs
            .partition_point(|&(start, _)| start <= offset)
            .checked_sub(1)
    }

    /// Tag of the byte at `offset` (default tag past the end or before any write).
    pub fn tag_at(&self, offset: u64) -> Tag {
        match self.run_index(offset) {
            Some(i) => {
                let (start, tag) = self.runs[i];
                tag.advance(offset - start)
            }
            None => Tag::default(),
        }
    }

    /// Bytes from `offset` to the end of its run (a segment never spans two runs).
    pub fn run_len_at(&self, offset: u64) -> u32 {
        let end = match self.run_index(offset) {
            Some(i) => self.runs.get(i + 1).map_or(self.written, |&(s, _)| s),
            None => self.written,
        };
        end.saturating_sub(offset).min(u32::MAX as u64) as u32
    }
}

/// Segments received beyond RCV.NXT, held until the gap before them fills
/// (RFC 9293 §3.10.7.4 seventh step), plus the sequence number of a FIN seen out of order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reassembly {
    /// (first sequence number, length, tag), sorted by sequence number; may overlap.
    segs: Vec<(Seq, u32, Tag)>,
    fin: Option<Seq>,
}

impl Reassembly {
    pub fn insert(&mut self, seq: Seq, len: u32, tag: Tag) {
        let at = self.segs.partition_point(|&(s, _, _)| s.lt(seq));
        if self
            .segs
            .get(at)
            .is_some_and(|&(s, l, _)| s == seq && l >= len)
        {
            return; // a duplicate of what is held
        }
        self.segs.insert(at, (seq, len, tag));
    }

    /// Takes the bytes that now start at `rcv_nxt`, discarding what lies wholly below it.
    pub fn pop_at(&mut self, rcv_nxt: Seq) -> Option<(u32, Tag)> {
        while let Some(&(seq, len, tag)) = self.segs.first() {
            if seq.gt(rcv_nxt) {
                return None;
            }
            self.segs.remove(0);
            let end = seq + len;
            if end.gt(rcv_nxt) {
                let skip = rcv_nxt - seq;
                return Some((len - skip, tag.advance(skip as u64)));
            }
        }
        None
    }

    /// The first held range that [seq, seq+len) overlaps: bytes that arrived twice.
    pub fn overlap(&self, seq: Seq, len: u32) -> Option<(Seq, Seq)> {
        let end = seq + len;
        self.segs.iter().find_map(|&(s, l, _)| {
            let (lo, hi) = (s.max(seq), (s + l).min(end));
            lo.lt(hi).then_some((lo, hi))
        })
    }

    pub fn set_fin(&mut self, seq: Seq) {
        self.fin = Some(seq);
    }

    pub fn fin(&self) -> Option<Seq> {
        self.fin
    }

    pub fn clear(&mut self) {
        self.segs.clear();
        self.fin = None;
    }

    /// No out-of-order data is held.
    pub fn is_empty(&self) -> bool {
        self.segs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_buffer_runs() {
        let mut b = SendBuffer::new(7);
        b.write(100, Tag::new(7, 0));
        b.write(50, Tag::new(7, 100)); // contiguous: same run
        b.write(10, Tag::new(3, 0)); // echoed bytes of another stream
        assert_eq!(b.written(), 160);
        assert_eq!(b.tag_at(120), Tag::new(7, 120));
        assert_eq!(b.run_len_at(120), 30);
        assert_eq!(b.tag_at(155), Tag::new(3, 5));
        assert_eq!(b.run_len_at(155), 5);
    }

    #[test]
    fn reassembly_fills_gaps_in_order() {
        let mut r = Reassembly::default();
        r.insert(Seq(200), 100, Tag::new(1, 200));
        r.insert(Seq(150), 100, Tag::new(1, 150)); // overlaps the next one
        assert_eq!(r.pop_at(Seq(100)), None);
        assert_eq!(r.pop_at(Seq(150)), Some((100, Tag::new(1, 150))));
        assert_eq!(r.pop_at(Seq(250)), Some((50, Tag::new(1, 250))));
        assert_eq!(r.pop_at(Seq(300)), None);
    }

    #[test]
    fn overlap_names_the_bytes_held_twice() {
        let mut r = Reassembly::default();
        r.insert(Seq(200), 100, Tag::new(1, 200));
        assert_eq!(r.overlap(Seq(250), 100), Some((Seq(250), Seq(300))));
        assert_eq!(r.overlap(Seq(300), 100), None);
        assert_eq!(r.overlap(Seq(100), 100), None);
    }
}
