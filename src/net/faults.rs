//! Targeted segment faults: a first-match chain of rules, each returning a verdict.

use crate::scenario::model::{Fault, FaultKind, NodeId, SegmentAction, SegmentFilter};
use crate::tcp::Segment;

/// What the chain decided for one segment leaving its host.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    Pass,
    /// (action, index of the fault in the scenario)
    Act(SegmentAction, u32),
}

struct Rule {
    index: u32,
    action: SegmentAction,
    filter: SegmentFilter,
    nth: Option<u32>,
    matched: u32,
}

/// The scenario's segment faults in file order. Each rule counts its own matches, so
/// "the 2nd FIN from server" means the second segment that rule's filter matched.
pub struct FaultChain {
    rules: Vec<Rule>,
}

impl FaultChain {
    pub fn new(faults: &[Fault]) -> Self {
        let rules = faults
            .iter()
            .enumerate()
            .filter_map(|(i, f)| match &f.kind {
                FaultKind::Segment {
                    action,
                    filter,
                    nth,
                } => Some(Rule {
                    index: i as u32,
                    action: *action,
                    filter: filter.clone(),
                    nth: *nth,
                    matched: 0,
                }),
                FaultKind::Partition { .. } | FaultKind::Crash { .. } => None,
            })
            .collect();
        FaultChain { rules }
    }

    /// First rule whose filter matches and whose `nth` (if any) is reached decides.
    pub fn verdict(
        &mut self,
        now: u64,
        seg: &Segment,
        from: NodeId,
        to: Option<NodeId>,
    ) -> Verdict {
        for rule in &mut self.rules {
            if !matches(&rule.filter, now, seg, from, to) {
                continue;
            }
            rule.matched += 1;
            if rule.nth.is_none_or(|n| n == rule.matched) {
                return Verdict::Act(rule.action, rule.index);
            }
        }
        Verdict::Pass
    }
}

fn matches(f: &SegmentFilter, now: u64, seg: &Segment, from: NodeId, to: Option<NodeId>) -> bool {
    f.from.is_none_or(|h| h == from)
        && f.to.is_none_or(|h| Some(h) == to)
        && f.port
            .is_none_or(|p| p == seg.src.port || p == seg.dst.port)
        && f.src_port.is_none_or(|p| p == seg.src.port)
        && f.dst_port.is_none_or(|p| p == seg.dst.port)
        && f.flags_exact.is_none_or(|fl| fl == seg.flags)
        && f.flags_all.is_none_or(|fl| seg.flags.contains(fl))
        && f.payload.is_none_or(|p| p == (seg.len > 0))
        && f.start.is_none_or(|t| now >= t)
        && f.end.is_none_or(|t| now < t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::Flags;

    fn fault(filter: SegmentFilter, nth: Option<u32>) -> Fault {
        Fault {
            name: "f".into(),
            kind: FaultKind::Segment {
                action: SegmentAction::Drop,
                filter,
                nth,
            },
        }
    }

    #[test]
    fn nth_match_of_flag_filter() {
        let filter = SegmentFilter {
            flags_all: Some(Flags::FIN),
            from: Some(1),
            ..Default::default()
        };
        let mut chain = FaultChain::new(&[fault(filter, Some(2))]);
        let fin = Segment {
            flags: Flags::FIN | Flags::ACK,
            ..Default::default()
        };
        let ack = Segment {
            flags: Flags::ACK,
            ..Default::default()
        };
        assert_eq!(chain.verdict(0, &fin, 1, Some(0)), Verdict::Pass);
        assert_eq!(chain.verdict(0, &ack, 1, Some(0)), Verdict::Pass);
        assert_eq!(
            chain.verdict(0, &fin, 0, Some(1)),
            Verdict::Pass,
            "other source"
        );
        assert_eq!(
            chain.verdict(0, &fin, 1, Some(0)),
            Verdict::Act(SegmentAction::Drop, 0)
        );
        assert_eq!(
            chain.verdict(0, &fin, 1, Some(0)),
            Verdict::Pass,
            "only the 2nd"
        );
    }

    #[test]
    fn pure_ack_and_time_window() {
        let filter = SegmentFilter {
            flags_exact: Some(Flags::ACK),
            payload: Some(false),
            start: Some(10),
            end: Some(20),
            ..Default::default()
        };
        let mut chain = FaultChain::new(&[fault(filter, None)]);
        let ack = Segment {
            flags: Flags::ACK,
            ..Default::default()
        };
        let data = Segment {
            flags: Flags::ACK,
            len: 5,
            ..Default::default()
        };
        assert_eq!(chain.verdict(5, &ack, 0, None), Verdict::Pass);
        assert_eq!(chain.verdict(15, &data, 0, None), Verdict::Pass);
        assert!(matches!(chain.verdict(15, &ack, 0, None), Verdict::Act(..)));
        assert_eq!(chain.verdict(20, &ack, 0, None), Verdict::Pass);
    }
}
