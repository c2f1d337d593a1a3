//! The end-of-run report: connection and link summaries, expectation verdicts.

use std::fmt::Write;

use serde_json::{Value, json};

use crate::expect::ExpectResult;
use crate::sim::Outcome;
use crate::trace::Names;
use crate::trace::text::time;

pub struct Report {
    pub seed: u64,
    pub outcome: Outcome,
    pub expectations: Vec<ExpectResult>,
    /// Integrity failures on connections no `corrupted = true` expectation covers.
    pub unexpected_corruption: u64,
}

impl Report {
    /// Every expectation held, the integrity check never failed and the run finished.
    pub fn passed(&self) -> bool {
        self.expectations.iter().all(ExpectResult::passed)
            && self.unexpected_corruption == 0
            && self.outcome.invariant_failures == 0
            && !self.outcome.budget_exhausted
    }

    /// Human-readable lines explaining each failure (empty when passed).
    pub fn failures(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .expectations
            .iter()
            .filter(|e| !e.passed())
            .map(|e| {
                format!(
                    "expectation at line {} failed: {}: {}",
                    e.line,
                    e.what,
                    e.failures.join("; ")
                )
            })
            .collect();
        if self.unexpected_corruption > 0 {
            out.push(format!(
                "integrity check failed {} times",
                self.unexpected_corruption
            ));
        }
        if self.outcome.invariant_failures > 0 {
            out.push(format!(
                "{} invariant violations",
                self.outcome.invariant_failures
            ));
        }
        if self.outcome.budget_exhausted {
            out.push("the event budget ran out before the run finished".into());
        }
        out
    }

    pub fn summary_text(&self, n: &Names) -> String {
        let o = &self.outcome;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "--- summary: seed {}, ended at {} ---",
            self.seed,
            time(o.end_time)
        );
        let _ = writeln!(s, "connections:");
        for r in &o.conns {
            let st = &r.stats;
            let _ = writeln!(
                s,
                "  {:<22} <-> {:<22} {:<12} sent {:>8}  acked {:>8}  delivered {:>8}  retransmits {:>3}",
                n.endpoint(r.local),
                n.endpoint(r.remote),
                r.final_state().name(),
                st.bytes_written,
                st.bytes_acked,
                st.bytes_delivered,
                st.retransmits
            );
        }
        let _ = writeln!(s, "links:");
        for (from, to, st) in &o.links {
            if st.carried + st.dropped == 0 {
                continue;
            }
            let _ = writeln!(
                s,
                "  {:<24} carried {:>6}  dropped {:>5}  duplicated {:>4}  corrupted {:>4}  delayed {:>4}",
                n.link(*from, *to),
                st.carried,
                st.dropped,
                st.duplicated,
                st.corrupted,
                st.delayed
            );
        }
        if !self.expectations.is_empty() {
            let _ = writeln!(s, "expectations:");
            for e in &self.expectations {
                let verdict = if e.passed() { "ok    " } else { "FAILED" };
                let _ = write!(s, "  {verdict} line {}: {}", e.line, e.what);
                if !e.passed() {
                    let _ = write!(s, " -- {}", e.failures.join("; "));
                }
                s.push('\n');
            }
        }
        let held = self.expectations.iter().filter(|e| e.passed()).count();
        let verdict = if self.passed() { "PASS" } else { "FAIL" };
        let _ = writeln!(
            s,
            "result: {verdict} ({held} of {} expectations held)",
            self.expectations.len()
        );
        s
    }

    /// The summary as JSON objects (kinds `conn_summary`, `link_summary`, `expect`, `result`).
    pub fn summary_json(&self, n: &Names) -> Vec<Value> {
        let o = &self.outcome;
        let t = o.end_time;
        let mut out = Vec::new();
        for r in &o.conns {
            let st = &r.stats;
            out.push(json!({
                "t_ns": t, "kind": "conn_summary", "host": n.node(r.host),
                "conn": n.endpoint(r.local), "peer": n.endpoint(r.remote),
                "final": r.final_state().name(), "bytes_sent": st.bytes_written,
                "bytes_acked": st.bytes_acked, "bytes_delivered": st.bytes_delivered,
                "segments_sent": st.segments_sent, "retransmits": st.retransmits,
                "cwnd": st.cwnd, "ssthresh": st.ssthresh,
            }));
        }
        for (from, to, st) in &o.links {
            out.push(json!({
                "t_ns": t, "kind": "link_summary", "link": n.link(*from, *to),
                "carried": st.carried, "dropped": st.dropped, "duplicated": st.duplicated,
                "corrupted": st.corrupted, "delayed": st.delayed,
            }));
        }
        for e in &self.expectations {
            out.push(json!({
                "t_ns": t, "kind": "expect", "line": e.line, "what": e.what,
                "passed": e.passed(), "failures": e.failures,
            }));
        }
        out.push(json!({
            "t_ns": t, "kind": "result", "seed": self.seed, "passed": self.passed(),
            "failures": self.failures(), "integrity_failures": o.integrity_failures,
        }));
        out
    }
}
