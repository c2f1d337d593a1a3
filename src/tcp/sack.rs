//! The receiver's SACK blocks (RFC 2018 §4) and D-SACK (RFC 2883 §4), kept as Linux keeps
//! them (`tcp_input.c`: `tcp_sack_new_ofo_skb`, `tcp_sack_remove`, `tcp_dsack_set`) and
//! written onto every ACK once both SYNs carried sackOK.

use super::{SackBlocks, Seq};

/// Linux `TCP_NUM_SACKS`: the blocks remembered, most recent first.
const REMEMBERED: usize = 4;

/// What the receiver reports: out-of-order runs in the order RFC 2018 §4 asks ("the
/// first SACK block ... MUST specify the contiguous block of data containing the segment
/// which triggered this ACK"; the others repeat the most recently reported blocks), and
/// one duplicate range to report once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReceiverSack {
    len: u8,
    blocks: [(Seq, Seq); REMEMBERED],
    dsack: Option<(Seq, Seq)>,
}

/// `tcp_sack_extend`: [seq, end) touches or overlaps `b`, which grows to cover both.
fn extend(b: &mut (Seq, Seq), seq: Seq, end: Seq) -> bool {
    if seq.gt(b.1) || b.0.gt(end) {
        return false;
    }
    if seq.lt(b.0) {
        b.0 = seq;
    }
    if end.gt(b.1) {
        b.1 = end;
    }
    true
}

impl ReceiverSack {
    fn live(&self) -> &[(Seq, Seq)] {
        &self.blocks[..self.len as usize]
    }

    fn remove(&mut self, i: usize) {
        let n = self.len as usize;
        self.blocks.copy_within(i + 1..n, i);
        self.len -= 1;
    }

    /// `tcp_sack_new_ofo_skb`: out-of-order data [seq, end) was queued. The block that
    /// holds it moves to the front (merging any other it now reaches); otherwise a new
    /// block goes in front and, when all four are in use, the oldest is forgotten.
    pub fn on_out_of_order(&mut self, seq: Seq, end: Seq) {
        let n = self.len as usize;
        if let Some(i) = (0..n).find(|&i| extend(&mut self.blocks[i], seq, end)) {
            self.blocks[..=i].rotate_right(1);
            self.coalesce_front();
            return;
        }
        let kept = n.min(REMEMBERED - 1);
        self.blocks.copy_within(0..kept, 1);
        self.blocks[0] = (seq, end);
        self.len = kept as u8 + 1;
    }

    /// `tcp_sack_maybe_coalesce`: the front block swallows the others it now touches.
    fn coalesce_front(&mut self) {
        let mut i = 1;
        while i < self.len as usize {
            let (l, r) = self.blocks[i];
            if extend(&mut self.blocks[0], l, r) {
                self.remove(i);
            } else {
                i += 1;
            }
        }
    }

    /// `tcp_sack_remove`: RCV.NXT advanced; a block it reaches is no longer out of order.
    pub fn on_rcv_nxt(&mut self, rcv_nxt: Seq) {
        let mut i = 0;
        while i < self.len as usize {
            if self.blocks[i].0.le(rcv_nxt) {
                self.remove(i);
            } else {
                i += 1;
            }
        }
    }

    /// `tcp_dsack_set` (RFC 2883 §4 (1)): [seq, end) arrived again; the next ACK reports it
    /// first, once.
    pub fn on_duplicate(&mut self, seq: Seq, end: Seq) {
        if seq.lt(end) {
            self.dsack = Some((seq, end));
        }
    }

    /// `tcp_fin` (`tcp_sack_reset`): the FIN arrived in order; nothing is out of order.
    pub fn clear(&mut self) {
        *self = ReceiverSack::default();
    }

    /// The SACK option for the next ACK, at most `room` blocks (`tcp_established_options`:
    /// three beside timestamps, four without): the D-SACK block first, then the blocks
    /// most recent first. Writing the D-SACK block uses it up (`tcp_options_write`).
    pub fn take_option(&mut self, room: usize) -> SackBlocks {
        let mut out = SackBlocks::default();
        if let Some((l, r)) = self.dsack.take() {
            out.push(l, r);
        }
        for &(l, r) in self.live() {
            out.push(l, r);
        }
        out.truncated(room)
    }
}

/// The sender's record of what the peer SACKed above SND.UNA (RFC 6675 §3's scoreboard,
/// Linux's `TCPCB_SACKED_ACKED` marks): disjoint [left, right) ranges, ascending, at most
/// [`Scoreboard::MAX`] (a peer cannot make it grow without bound). Retransmissions skip
/// what it holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scoreboard {
    ranges: Vec<(Seq, Seq)>,
}

impl Scoreboard {
    /// Ranges kept; beyond it the highest are forgotten (and resent if need be).
    pub const MAX: usize = 64;

    /// Takes the blocks of an ACK (RFC 2018 §3): only what lies in (SND.UNA, SND.NXT] is
    /// believed, which leaves out a D-SACK below the ACK (RFC 2883 §4) and blocks for
    /// data never sent. A D-SACK inside the window repeats what is already marked.
    pub fn on_ack(&mut self, blocks: &SackBlocks, snd_una: Seq, snd_nxt: Seq) {
        for (l, r) in blocks.iter() {
            if l.lt(r) && l.gt(snd_una) && r.le(snd_nxt) {
                self.insert(l, r);
            }
        }
    }

    fn insert(&mut self, l: Seq, r: Seq) {
        let at = self.ranges.partition_point(|&(_, e)| e.lt(l));
        let mut end = at;
        let (mut lo, mut hi) = (l, r);
        while let Some(&(s, e)) = self.ranges.get(end)
            && s.le(hi)
        {
            lo = lo.min(s);
            hi = hi.max(e);
            end += 1;
        }
        self.ranges.splice(at..end, [(lo, hi)]);
        self.ranges.truncate(Self::MAX);
    }

    /// SND.UNA advanced: what lies below it is acknowledged outright.
    pub fn on_snd_una(&mut self, snd_una: Seq) {
        self.ranges.retain_mut(|(l, r)| {
            *l = l.max(snd_una);
            l.lt(*r)
        });
    }

    /// The first sequence number at or after `seq` that was not SACKed.
    pub fn skip(&self, seq: Seq) -> Seq {
        self.ranges
            .iter()
            .find(|&&(l, r)| seq.ge(l) && seq.lt(r))
            .map_or(seq, |&(_, r)| r)
    }

    /// Where the next SACKed range above `seq` begins, if any.
    pub fn next_sacked(&self, seq: Seq) -> Option<Seq> {
        self.ranges.iter().map(|&(l, _)| l).find(|l| l.gt(seq))
    }

    /// RFC 6675 §4 IsLost(seq): DupThresh (3) discontiguous SACKed ranges above `seq`,
    /// or more than (DupThresh − 1)·SMSS bytes SACKed above it.
    pub fn is_lost(&self, seq: Seq, smss: u32) -> bool {
        let above = self.ranges.iter().filter(|&&(_, r)| r.gt(seq));
        let (mut ranges, mut bytes) = (0u32, 0u32);
        for &(l, r) in above {
            ranges += 1;
            bytes = bytes.saturating_add(r - l.max(seq));
        }
        ranges >= 3 || bytes > 2 * smss
    }

    pub fn is_sacked(&self, seq: Seq) -> bool {
        self.skip(seq) != seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(s: &mut ReceiverSack) -> Vec<(u32, u32)> {
        s.take_option(4).iter().map(|(l, r)| (l.0, r.0)).collect()
    }

    #[test]
    fn the_block_holding_the_newest_segment_comes_first() {
        let mut s = ReceiverSack::default();
        s.on_out_of_order(Seq(200), Seq(300));
        s.on_out_of_order(Seq(400), Seq(500));
        assert_eq!(blocks(&mut s), [(400, 500), (200, 300)]);
        s.on_out_of_order(Seq(300), Seq(350)); // extends the older block, which moves up
        assert_eq!(blocks(&mut s), [(200, 350), (400, 500)]);
        s.on_out_of_order(Seq(350), Seq(400)); // fills the hole between them: one block
        assert_eq!(blocks(&mut s), [(200, 500)]);
    }

    #[test]
    fn a_fifth_block_forgets_the_oldest() {
        let mut s = ReceiverSack::default();
        for i in 0..5 {
            s.on_out_of_order(Seq(1000 + 200 * i), Seq(1100 + 200 * i));
        }
        assert_eq!(
            blocks(&mut s),
            [(1800, 1900), (1600, 1700), (1400, 1500), (1200, 1300)]
        );
        assert_eq!(s.take_option(3).len(), 3, "three fit beside timestamps");
    }

    #[test]
    fn rcv_nxt_removes_what_it_reaches_and_dsack_goes_once() {
        let mut s = ReceiverSack::default();
        s.on_out_of_order(Seq(200), Seq(300));
        s.on_out_of_order(Seq(400), Seq(500));
        s.on_rcv_nxt(Seq(300));
        s.on_duplicate(Seq(100), Seq(150));
        assert_eq!(blocks(&mut s), [(100, 150), (400, 500)]);
        assert_eq!(blocks(&mut s), [(400, 500)]);
    }

    #[test]
    fn the_scoreboard_merges_believes_only_the_window_and_skips() {
        let mut b = Scoreboard::default();
        let mut blocks = SackBlocks::default();
        blocks.push(Seq(50), Seq(80)); // a D-SACK below SND.UNA
        blocks.push(Seq(300), Seq(400));
        blocks.push(Seq(200), Seq(300));
        blocks.push(Seq(900), Seq(2000)); // beyond SND.NXT
        b.on_ack(&blocks, Seq(100), Seq(1000));
        assert_eq!(b.ranges, [(Seq(200), Seq(400))]);
        assert_eq!((b.skip(Seq(250)), b.skip(Seq(150))), (Seq(400), Seq(150)));
        assert_eq!(b.next_sacked(Seq(100)), Some(Seq(200)));
        assert!(
            !b.is_lost(Seq(100), 100),
            "200 bytes SACKed above: not more than 2·SMSS"
        );
        assert!(b.is_lost(Seq(100), 99));
        b.on_snd_una(Seq(300));
        assert_eq!(b.ranges, [(Seq(300), Seq(400))]);
        b.on_snd_una(Seq(400));
        assert!(b.ranges.is_empty());
    }

    #[test]
    fn blocks_work_across_the_sequence_wrap() {
        let mut s = ReceiverSack::default();
        s.on_out_of_order(Seq(u32::MAX - 99), Seq(50));
        s.on_out_of_order(Seq(50), Seq(150));
        assert_eq!(blocks(&mut s), [(u32::MAX - 99, 150)]);
        s.on_rcv_nxt(Seq(u32::MAX - 99));
        assert!(s.take_option(4).is_empty());
    }
}
