//! The end-of-run report: connection and link summaries, expectation verdicts.

use std::fmt::Write;

use serde_json::{Value, json};

use crate::expect::ExpectResult;
use crate::net::LinkStats;
use crate::scenario::model::Group;
use crate::sim::{ConnRecord, Outcome};
use crate::tcp::State;
use crate::trace::Names;
use crate::trace::text::time;

/// Above this many connections the text summary gives totals per group instead of a
/// line per connection (and per link direction).
pub const CONN_LINES_MAX: usize = 50;
/// Link directions with drops named one by one among the explicit links' totals.
const LOSSY_LINKS_SHOWN: usize = 5;

pub struct Report {
    pub seed: u64,
    pub outcome: Outcome,
    /// The scenario's `[[group]]`s, for the totals per group.
    pub groups: Vec<Group>,
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
        if o.conns.len() > CONN_LINES_MAX {
            self.aggregated_text(n, &mut s);
        } else {
            self.detailed_text(n, &mut s);
        }
        if let Some(line) = self.refusals_text() {
            s.push_str(&line);
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

    /// Connections that never got going, when there were any: active opens without a
    /// local port, SYNs a full backlog dropped.
    fn refusals_text(&self) -> Option<String> {
        let st = &self.outcome.stats;
        if st.no_port == 0 && st.backlog_full == 0 {
            return None;
        }
        let plural = |n: u64| if n == 1 { "" } else { "s" };
        Some(format!(
            "refused: {} connect{} found no free local port, {} SYN{} dropped by a full listen backlog\n",
            st.no_port,
            plural(st.no_port),
            st.backlog_full,
            plural(st.backlog_full)
        ))
    }

    /// A line per connection and per link direction that carried anything.
    fn detailed_text(&self, n: &Names, s: &mut String) {
        let o = &self.outcome;
        let _ = writeln!(s, "connections:");
        for r in &o.conns {
            let st = &r.stats;
            let _ = writeln!(
                s,
                "  {:<22} <-> {:<22} {:<12} sent {:>8}  acked {:>8}  delivered {:>8}  retransmits {:>3}  timeouts {:>3}",
                n.endpoint(r.local),
                n.endpoint(r.remote),
                r.final_state().name(),
                st.bytes_written,
                st.bytes_acked,
                st.bytes_delivered,
                st.retransmits,
                st.timeouts
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
    }

    /// Totals per group, one line for the explicit hosts' connections, and link totals.
    fn aggregated_text(&self, n: &Names, s: &mut String) {
        let o = &self.outcome;
        let _ = writeln!(
            s,
            "connections: {} (more than {CONN_LINES_MAX}: totals per group)",
            o.conns.len()
        );
        for (label, agg) in self.conn_totals() {
            if agg.conns == 0 {
                continue;
            }
            let finals: Vec<String> = (State::ALL.iter().zip(&agg.finals))
                .filter(|&(_, &k)| k > 0)
                .map(|(st, k)| format!("{} {k}", st.name()))
                .collect();
            let _ = writeln!(
                s,
                "  {label:<24} {:>7} connections  {}",
                agg.conns,
                finals.join("  ")
            );
            let _ = writeln!(
                s,
                "      sent {}  acked {}  delivered {}  retransmits {}  timeouts {}",
                agg.sent, agg.acked, agg.delivered, agg.retransmits, agg.timeouts
            );
            let [min, median, p99, max] = agg.time_percentiles();
            let _ = writeln!(
                s,
                "      connection time  min {}  median {}  p99 {}  max {}",
                time(min),
                time(median),
                time(p99),
                time(max)
            );
        }
        let _ = writeln!(s, "links: (totals per group)");
        for (label, dirs, st) in self.link_totals(n) {
            if st.carried + st.dropped == 0 {
                continue;
            }
            let _ = writeln!(
                s,
                "  {label:<30} {dirs:>6} directions  carried {:>8}  dropped {:>6}  duplicated {:>4}  corrupted {:>4}  delayed {:>4}",
                st.carried, st.dropped, st.duplicated, st.corrupted, st.delayed
            );
        }
        for (from, to, st) in self.lossiest_explicit_links() {
            let _ = writeln!(
                s,
                "    {:<28} carried {:>8}  dropped {:>6}",
                n.link(from, to),
                st.carried,
                st.dropped
            );
        }
    }

    /// Connection totals: one per group (labelled "group NAME (K hosts)"), then the
    /// explicit hosts' connections.
    fn conn_totals(&self) -> Vec<(String, ConnTotals)> {
        let mut out: Vec<(String, ConnTotals)> = (self.groups.iter())
            .map(|g| {
                let label = format!("group {} ({} hosts)", g.name, g.nodes.len());
                (label, ConnTotals::default())
            })
            .chain([("explicit hosts".to_string(), ConnTotals::default())])
            .collect();
        let explicit = self.groups.len();
        for r in &self.outcome.conns {
            let i = self.group_of(r.host as usize).unwrap_or(explicit);
            out[i].1.add(r);
        }
        out
    }

    /// The group whose hosts include node `node`.
    fn group_of(&self, node: usize) -> Option<usize> {
        self.groups.iter().position(|g| g.nodes.contains(&node))
    }

    /// Link direction totals: per group, host -> `link_to` and back, then every explicit
    /// `[[link]]` direction together. Each entry: label, number of directions, totals.
    fn link_totals(&self, n: &Names) -> Vec<(String, usize, LinkStats)> {
        let links = &self.outcome.links;
        let mut out = Vec::new();
        let mut explicit = vec![true; links.len()];
        for g in &self.groups {
            let dirs = 2 * g.links.start..2 * g.links.end;
            let to = links.get(dirs.start).map_or("?", |&(_, to, _)| n.node(to));
            for (way, label) in [
                (0, format!("group {}: host->{to}", g.name)),
                (1, format!("group {}: {to}->host", g.name)),
            ] {
                let picked = dirs.clone().filter(|d| d % 2 == way);
                out.push((label, g.links.len(), sum_links(picked.map(|d| &links[d].2))));
            }
            dirs.for_each(|d| explicit[d] = false);
        }
        let rest: Vec<&LinkStats> = (links.iter().zip(&explicit))
            .filter(|&(_, &e)| e)
            .map(|((_, _, st), _)| st)
            .collect();
        if !rest.is_empty() {
            out.push((
                "explicit links".into(),
                rest.len(),
                sum_links(rest.into_iter()),
            ));
        }
        out
    }

    /// The explicit link directions that dropped most, up to [`LOSSY_LINKS_SHOWN`].
    fn lossiest_explicit_links(&self) -> Vec<(u32, u32, LinkStats)> {
        let in_group = |d: usize| self.groups.iter().any(|g| g.links.contains(&(d / 2)));
        let mut lossy: Vec<(u32, u32, LinkStats)> = (self.outcome.links.iter().enumerate())
            .filter(|&(d, (_, _, st))| st.dropped > 0 && !in_group(d))
            .map(|(_, &l)| l)
            .collect();
        // Most drops first; ties keep link order.
        lossy.sort_by_key(|l| std::cmp::Reverse(l.2.dropped));
        lossy.truncate(LOSSY_LINKS_SHOWN);
        lossy
    }

    /// The summary as JSON objects (kinds `conn_summary`, `link_summary`, `expect`,
    /// `result`, and `group_summary` when the scenario has groups or more than
    /// [`CONN_LINES_MAX`] connections).
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
                "timeouts": st.timeouts, "cwnd": st.cwnd, "ssthresh": st.ssthresh,
            }));
        }
        for (from, to, st) in &o.links {
            out.push(json!({
                "t_ns": t, "kind": "link_summary", "link": n.link(*from, *to),
                "carried": st.carried, "dropped": st.dropped, "duplicated": st.duplicated,
                "corrupted": st.corrupted, "delayed": st.delayed,
            }));
        }
        if !self.groups.is_empty() || o.conns.len() > CONN_LINES_MAX {
            let links = self.link_totals(n);
            for (i, (label, agg)) in self.conn_totals().into_iter().enumerate() {
                let group = self.groups.get(i);
                let finals: serde_json::Map<String, Value> = (State::ALL.iter().zip(&agg.finals))
                    .filter(|&(_, &k)| k > 0)
                    .map(|(st, &k)| (st.name().to_string(), json!(k)))
                    .collect();
                let [min, median, p99, max] = agg.time_percentiles();
                // This group's two link directions (the explicit links' single total last).
                let dirs: Vec<&LinkStats> = match group {
                    Some(_) => links[2 * i..2 * i + 2]
                        .iter()
                        .map(|(_, _, st)| st)
                        .collect(),
                    None => links
                        .get(2 * self.groups.len())
                        .map(|(_, _, st)| st)
                        .into_iter()
                        .collect(),
                };
                let total = sum_links(dirs.into_iter());
                out.push(json!({
                    "t_ns": t, "kind": "group_summary",
                    "group": group.map(|g| g.name.as_str()), "label": label,
                    "hosts": group.map(|g| g.nodes.len()),
                    "connections": agg.conns, "final": finals,
                    "bytes_sent": agg.sent, "bytes_acked": agg.acked,
                    "bytes_delivered": agg.delivered, "retransmits": agg.retransmits,
                    "timeouts": agg.timeouts, "conn_time_ns": {"min": min, "median": median, "p99": p99, "max": max},
                    "link_carried": total.carried, "link_dropped": total.dropped,
                }));
            }
        }
        for e in &self.expectations {
            out.push(json!({
                "t_ns": t, "kind": "expect", "line": e.line, "what": e.what,
                "passed": e.passed(), "failures": e.failures,
            }));
        }
        if o.stats.no_port > 0 || o.stats.backlog_full > 0 {
            out.push(json!({
                "t_ns": t, "kind": "refused", "no_port": o.stats.no_port,
                "backlog_full": o.stats.backlog_full,
            }));
        }
        out.push(json!({
            "t_ns": t, "kind": "result", "seed": self.seed, "passed": self.passed(),
            "failures": self.failures(), "integrity_failures": o.integrity_failures,
        }));
        out
    }
}

/// Totals over a set of connections.
#[derive(Default)]
struct ConnTotals {
    conns: usize,
    /// Final states, indexed like [`State::ALL`].
    finals: [u64; 11],
    sent: u64,
    acked: u64,
    delivered: u64,
    /// Segments sent again, and retransmission timeouts (see [`crate::tcp::ConnStats`]).
    retransmits: u64,
    timeouts: u64,
    /// Each connection's time from its first state change to its last, ns.
    times: Vec<u64>,
}

impl ConnTotals {
    fn add(&mut self, r: &ConnRecord) {
        let st = &r.stats;
        self.conns += 1;
        if let Some(i) = State::ALL.iter().position(|&s| s == r.final_state()) {
            self.finals[i] += 1;
        }
        self.sent += st.bytes_written;
        self.acked += st.bytes_acked;
        self.delivered += st.bytes_delivered;
        self.retransmits += st.retransmits;
        self.timeouts += st.timeouts;
        let span = match (r.history.first(), r.history.last()) {
            (Some(&(first, _)), Some(&(last, _))) => last - first,
            _ => 0,
        };
        self.times.push(span);
    }

    /// Min, median, 99th percentile and max of the connection times (nearest rank);
    /// zeros when there are none.
    fn time_percentiles(&self) -> [u64; 4] {
        let mut t = self.times.clone();
        t.sort_unstable();
        let rank = |p: f64| {
            let i = ((p * t.len() as f64).ceil() as usize).clamp(1, t.len().max(1)) - 1;
            t.get(i).copied().unwrap_or(0)
        };
        [rank(0.0), rank(0.5), rank(0.99), rank(1.0)]
    }
}

fn sum_links<'a>(stats: impl Iterator<Item = &'a LinkStats>) -> LinkStats {
    stats.fold(LinkStats::default(), |mut acc, st| {
        acc.carried += st.carried;
        acc.dropped += st.dropped;
        acc.duplicated += st.duplicated;
        acc.corrupted += st.corrupted;
        acc.delayed += st.delayed;
        acc
    })
}
