//! Segments that find no connection: the CLOSED and LISTEN rules of RFC 9293 §3.10.7.1–2.

use super::{Flags, Segment, Seq, Why};

/// RFC 9293 §3.10.7.1: the reset sent in reply to a segment for a connection that does
/// not exist, or None when the segment is itself a RST ("An incoming segment containing a
/// RST is discarded").
pub fn reset_for(seg: &Segment) -> Option<Segment> {
    if seg.has(Flags::RST) {
        return None;
    }
    let base = Segment {
        src: seg.dst,
        dst: seg.src,
        why: Why::RstClosedPort,
        ..Segment::default()
    };
    Some(if seg.has(Flags::ACK) {
        // "If the ACK bit is on, <SEQ=SEG.ACK><CTL=RST>"
        Segment {
            seq: seg.ack,
            flags: Flags::RST,
            ..base
        }
    } else {
        // "If the ACK bit is off, sequence number zero is used,
        // <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>"
        Segment {
            seq: Seq(0),
            ack: seg.seq + seg.seg_len(),
            flags: Flags::RST | Flags::ACK,
            ..base
        }
    })
}

/// What a LISTEN socket does with a segment (RFC 9293 §3.10.7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenVerdict {
    /// "First, check for a RST: an incoming RST should be ignored." Also anything that is
    /// neither SYN nor ACK ("Fourth, other text or control ... drop the segment").
    Ignore,
    /// "Second, check for an ACK: any acknowledgment is bad ... <SEQ=SEG.ACK><CTL=RST>".
    Reset(Segment),
    /// "Third, check for a SYN": open a connection in SYN_RECEIVED.
    Accept,
}

pub fn listen_verdict(seg: &Segment) -> ListenVerdict {
    if seg.has(Flags::RST) {
        ListenVerdict::Ignore
    } else if seg.has(Flags::ACK) {
        ListenVerdict::Reset(Segment {
            src: seg.dst,
            dst: seg.src,
            seq: seg.ack,
            flags: Flags::RST,
            why: Why::RstListenAck,
            ..Segment::default()
        })
    } else if seg.has(Flags::SYN) {
        ListenVerdict::Accept
    } else {
        ListenVerdict::Ignore
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(flags: Flags, seq: u32, ack: u32, len: u32) -> Segment {
        Segment {
            flags,
            seq: Seq(seq),
            ack: Seq(ack),
            len,
            ..Segment::default()
        }
    }

    #[test]
    fn closed_port_answers_syn_with_rst_ack() {
        let r = reset_for(&seg(Flags::SYN, 1000, 0, 0)).unwrap();
        assert_eq!(r.flags, Flags::RST | Flags::ACK);
        assert_eq!((r.seq, r.ack), (Seq(0), Seq(1001)));
    }

    #[test]
    fn closed_port_answers_ack_with_rst_at_its_ack() {
        let r = reset_for(&seg(Flags::ACK, 5, 777, 10)).unwrap();
        assert_eq!(r.flags, Flags::RST);
        assert_eq!(r.seq, Seq(777));
    }

    #[test]
    fn rst_is_never_answered() {
        assert!(reset_for(&seg(Flags::RST, 5, 0, 0)).is_none());
        assert_eq!(
            listen_verdict(&seg(Flags::RST, 5, 0, 0)),
            ListenVerdict::Ignore
        );
    }

    #[test]
    fn listen_rules() {
        assert_eq!(
            listen_verdict(&seg(Flags::SYN, 5, 0, 0)),
            ListenVerdict::Accept
        );
        assert!(
            matches!(listen_verdict(&seg(Flags::ACK, 5, 9, 0)), ListenVerdict::Reset(r) if r.seq == Seq(9))
        );
        assert_eq!(
            listen_verdict(&seg(Flags::FIN, 5, 0, 0)),
            ListenVerdict::Ignore
        );
    }
}
