//! `[[expect]]` checks, evaluated against the run's connection records.

use crate::scenario::model::{Check, ConnSelector, Scenario};
use crate::sim::{ConnRecord, Outcome};
use crate::trace::Names;
use crate::trace::text::time;

/// One check's verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectResult {
    /// Line of the `[[expect]]` in the scenario file.
    pub line: usize,
    /// What was expected, e.g. "client final = CLOSED".
    pub what: String,
    /// Empty when it held; else why not, per connection.
    pub failures: Vec<String>,
}

impl ExpectResult {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

fn selects(sel: ConnSelector, r: &ConnRecord) -> bool {
    match sel {
        ConnSelector::All => true,
        ConnSelector::Host(h) => r.host as usize == h,
        ConnSelector::HostPort(h, p) => r.host as usize == h && r.local.port == p,
    }
}

fn describe(check: Check) -> String {
    match check {
        Check::Reaches(s) => format!("reaches {s}"),
        Check::Never(s) => format!("never enters {s}"),
        Check::Final(s) => format!("final state {s}"),
        Check::Delivered(n) => format!("delivered {n} bytes"),
        Check::StateAt(s, t) => format!("in {s} at {}", time(t)),
        Check::MinRetransmits(n) => format!("at least {n} retransmissions"),
    }
}

/// Why `check` fails for `r`, or None when it holds.
fn failure(check: Check, r: &ConnRecord) -> Option<String> {
    let entered = |s| r.history.iter().any(|&(_, st)| st == s);
    match check {
        Check::Reaches(s) if !entered(s) => Some(format!("never reached {s}")),
        Check::Never(s) if entered(s) => {
            let t = r
                .history
                .iter()
                .find(|&&(_, st)| st == s)
                .map_or(0, |&(t, _)| t);
            Some(format!("entered {s} at {}", time(t)))
        }
        Check::Final(s) if r.final_state() != s => Some(format!("ended in {}", r.final_state())),
        Check::Delivered(n) if r.stats.bytes_delivered != n => {
            Some(format!("delivered {} bytes", r.stats.bytes_delivered))
        }
        Check::StateAt(s, t) if r.state_at(t) != s => Some(format!("was in {}", r.state_at(t))),
        Check::MinRetransmits(n) if r.stats.retransmits < n => {
            Some(format!("retransmitted {} times", r.stats.retransmits))
        }
        _ => None,
    }
}

/// Every check of every `[[expect]]`, in file order.
pub fn evaluate(sc: &Scenario, outcome: &Outcome, names: &Names) -> Vec<ExpectResult> {
    let mut results = Vec::new();
    for e in &sc.expects {
        let matching: Vec<&ConnRecord> = outcome
            .conns
            .iter()
            .filter(|r| selects(e.conn, r))
            .collect();
        for &check in &e.checks {
            let failures = if matching.is_empty() {
                vec![format!("no connection matches `{}`", e.conn_text)]
            } else {
                matching
                    .iter()
                    .filter_map(|r| {
                        failure(check, r).map(|why| format!("{}: {why}", names.endpoint(r.local)))
                    })
                    .collect()
            };
            results.push(ExpectResult {
                line: e.line,
                what: format!("{} {}", e.conn_text, describe(check)),
                failures,
            });
        }
    }
    results
}
