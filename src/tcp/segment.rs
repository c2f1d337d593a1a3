//! The TCP segment as it travels: header fields, options, and a payload descriptor.

use super::{Flags, Seq, Why};

/// An IPv4 address and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Endpoint {
    pub addr: u32,
    pub port: u16,
}

/// Identifies payload bytes without carrying them: the high 24 bits name the stream an
/// application wrote, the low 40 bits the offset of the first byte in that stream.
/// A byte that arrives at the wrong place is caught by comparing tags, and segments stay
/// `Copy` with no allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Tag(pub u64);

impl Tag {
    const OFFSET_BITS: u32 = 40;
    const OFFSET_MASK: u64 = (1 << Self::OFFSET_BITS) - 1;

    pub fn new(stream: u32, offset: u64) -> Tag {
        Tag(((stream as u64) << Self::OFFSET_BITS) | (offset & Self::OFFSET_MASK))
    }
    pub fn stream(self) -> u32 {
        (self.0 >> Self::OFFSET_BITS) as u32
    }
    pub fn offset(self) -> u64 {
        self.0 & Self::OFFSET_MASK
    }
    /// The tag of the byte `n` positions further on.
    pub fn advance(self, n: u64) -> Tag {
        Tag::new(self.stream(), self.offset() + n)
    }
}

/// The blocks of a SACK option (RFC 2018 §3): at most four [left, right) ranges of
/// sequence space, in the order they are sent. Fixed-size so segments stay `Copy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SackBlocks {
    len: u8,
    blocks: [(Seq, Seq); 4],
}

impl SackBlocks {
    /// RFC 2018 §3: a 40-byte option space holds at most four blocks.
    pub const MAX: usize = 4;

    /// Appends a block; a fifth is dropped (there is no room for it on the wire).
    pub fn push(&mut self, left: Seq, right: Seq) {
        if (self.len as usize) < Self::MAX {
            self.blocks[self.len as usize] = (left, right);
            self.len += 1;
        }
    }

    pub fn len(&self) -> usize {
        self.len as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = (Seq, Seq)> + '_ {
        self.blocks[..self.len as usize].iter().copied()
    }

    /// The blocks, at most `n` of them (what fits beside the other options).
    pub fn truncated(mut self, n: usize) -> SackBlocks {
        self.len = self.len.min(n as u8);
        self
    }
}

/// One TCP segment. Plain `Copy` data: the network and the trace pass it by value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Segment {
    pub src: Endpoint,
    pub dst: Endpoint,
    pub seq: Seq,
    pub ack: Seq,
    pub flags: Flags,
    /// Advertised window (unscaled).
    pub wnd: u16,
    /// Payload length in bytes.
    pub len: u32,
    /// Identity of the first payload byte; meaningless when `len` is 0.
    pub tag: Tag,
    /// MSS option (RFC 9293 §3.7.1), only on SYNs.
    pub mss: Option<u16>,
    /// Window scale option (RFC 7323 §2): the sender's shift, only on SYNs.
    pub wscale: Option<u8>,
    /// Timestamps option (RFC 7323 §3): (TSval, TSecr).
    pub ts: Option<(u32, u32)>,
    /// SACK-permitted option (RFC 2018 §2), only on SYNs.
    pub sack_ok: bool,
    /// SACK option (RFC 2018 §3): the blocks, a DSACK first (RFC 2883 §4).
    pub sack: SackBlocks,
    /// Why the sender sent it (not on the wire: for `--explain`).
    pub why: Why,
}

impl Segment {
    /// SEG.LEN of RFC 9293 §3.4: payload plus one for SYN and one for FIN.
    pub fn seg_len(&self) -> u32 {
        self.len + self.flags.contains(Flags::SYN) as u32 + self.flags.contains(Flags::FIN) as u32
    }

    pub fn has(&self, f: Flags) -> bool {
        self.flags.contains(f)
    }

    /// The segment without its SYN octet: what follows it (text, FIN) starts at SEG.SEQ+1.
    pub fn past_syn(&self) -> Segment {
        Segment {
            seq: self.seq + self.has(Flags::SYN) as u32,
            flags: Flags(self.flags.0 & !Flags::SYN.0),
            ..*self
        }
    }

    /// The segment's control part only: no text, no FIN.
    pub fn without_text(&self) -> Segment {
        Segment {
            len: 0,
            flags: Flags(self.flags.0 & !Flags::FIN.0),
            ..*self
        }
    }

    /// Bytes on the wire: IPv4 (20) + TCP (20) headers, options padded to 4 bytes, payload.
    pub fn wire_len(&self) -> u32 {
        // sackOK shares the two padding bytes before the timestamps; without them it takes
        // a word of its own. A SACK option is two NOPs, kind, length and 8 bytes per block.
        let sack_ok = 4 * (self.sack_ok && self.ts.is_none()) as u32;
        let sack = if self.sack.is_empty() {
            0
        } else {
            4 + 8 * self.sack.len() as u32
        };
        let options = 4 * self.mss.is_some() as u32
            + 4 * self.wscale.is_some() as u32
            + 12 * self.ts.is_some() as u32
            + sack_ok
            + sack;
        40 + options + self.len
    }
}
