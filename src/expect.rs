//! `[[expect]]` checks, evaluated against the run's connection records, and for `sends`
//! against the segments counted while the events streamed by.

use rustc_hash::FxHashMap;

use crate::scenario::model::{Check, ConnSelector, NodeId, Refusal, Scenario};
use crate::sim::{ConnRecord, Outcome};
use crate::tcp::{Flags, State};
use crate::trace::text::time;
use crate::trace::{AppEvent, Event, EventKind, Names};

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

/// At most this many connections are named when a check fails for many of them.
const FAILURES_SHOWN: usize = 5;

fn selects(sel: ConnSelector, r: &ConnRecord) -> bool {
    sel.matches(r.host as usize, r.local.port)
}

/// The state `r` is in at `at`, or when the run ends.
fn state_when(r: &ConnRecord, at: Option<u64>) -> State {
    at.map_or_else(|| r.final_state(), |t| r.state_at(t))
}

/// " at 30.000000" or " at the end".
fn when(at: Option<u64>) -> String {
    at.map_or_else(|| " at the end".to_string(), |t| format!(" at {}", time(t)))
}

/// The failures of one check over `selected` connections: all of them when few, else
/// how many failed and the first [`FAILURES_SHOWN`].
fn shorten(mut failures: Vec<String>, selected: usize) -> Vec<String> {
    if failures.len() <= FAILURES_SHOWN {
        return failures;
    }
    let total = failures.len();
    failures.truncate(FAILURES_SHOWN);
    failures.insert(
        0,
        format!("{total} of {selected} selected connections fail, the first {FAILURES_SHOWN}"),
    );
    failures
}

fn describe(check: Check) -> String {
    match check {
        Check::Reaches(s) => format!("reaches {s}"),
        Check::Never(s) => format!("never enters {s}"),
        Check::Final(s) => format!("final state {s}"),
        Check::Delivered(n) => format!("delivered {n} bytes"),
        Check::StateAt(s, t) => format!("in {s} at {}", time(t)),
        Check::MinRetransmits(n) => format!("at least {n} retransmissions"),
        Check::Sends {
            flags,
            count,
            after,
            before,
        } => {
            let times = match count {
                Some(n) => format!("exactly {n}"),
                None => "at least one".into(),
            };
            let window = match (after, before) {
                (0, u64::MAX) => String::new(),
                (a, u64::MAX) => format!(" from {}", time(a)),
                (a, b) => format!(" in [{}, {})", time(a), time(b)),
            };
            let plural = if count == Some(1) { "" } else { "s" };
            format!(
                "sends {times} [{}] segment{plural}{window}",
                flags.long_names()
            )
        }
        Check::Corrupted(true) => "receives corrupted data".into(),
        Check::Corrupted(false) => "receives only what its peer sent".into(),
        Check::CountInState {
            state,
            at,
            min,
            max,
        } => format!("{} in {state}{}", bounds(min, max), when(at)),
        Check::Refused { what, min, max } => format!("{} {}", bounds(min, max), what.describe()),
    }
}

/// "exactly 3", "2 to 5", "at least 1", "at most 0".
fn bounds(min: Option<u64>, max: Option<u64>) -> String {
    match (min, max) {
        (Some(lo), Some(hi)) if lo == hi => format!("exactly {lo}"),
        (Some(lo), Some(hi)) => format!("{lo} to {hi}"),
        (Some(lo), None) => format!("at least {lo}"),
        (None, Some(hi)) => format!("at most {hi}"),
        (None, None) => "any number".into(),
    }
}

fn within(n: u64, min: Option<u64>, max: Option<u64>) -> bool {
    min.is_none_or(|lo| n >= lo) && max.is_none_or(|hi| n <= hi)
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
        Check::Corrupted(want) if want != (r.integrity_failures > 0) => Some(format!(
            "{} deliveries failed the integrity check",
            r.integrity_failures
        )),
        _ => None,
    }
}

/// The time a check looks at, when the run was cut short before it: what happens then
/// is unknown, so the check cannot hold. (A run that ended with nothing left to happen
/// stays in its final state, so a later time is known.)
fn beyond_end(check: Check, outcome: &Outcome) -> Option<u64> {
    let t = match check {
        Check::StateAt(_, t) => t,
        Check::CountInState { at: Some(t), .. } => t,
        // `before` is u64::MAX when not written: "until the end" is what was seen.
        Check::Sends { after, before, .. } if before == u64::MAX => after,
        Check::Sends { before, .. } => before,
        _ => return None,
    };
    (outcome.cut_short && t > outcome.end_time).then_some(t)
}

/// Counts, while the events stream by, the segments each `sends` check looks for.
pub struct SendCounter {
    /// Per `sends` check in file order: (whose segments, flags, after, before, count so
    /// far); a selected host's own segments count, by their source port.
    rules: Vec<(ConnSelector, Flags, u64, u64, u64)>,
    /// The rules that name one host, by host, so a segment is held only against its own
    /// host's rules rather than against every rule of the file.
    by_host: FxHashMap<NodeId, Vec<usize>>,
    /// The rules that select many hosts (`*`, a group), held against every segment.
    wide: Vec<usize>,
    /// Per `refused` check in file order: (whose, what, count so far).
    refusals: Vec<(ConnSelector, Refusal, u64)>,
}

impl SendCounter {
    pub fn new(sc: &Scenario) -> Self {
        let rules: Vec<_> = (sc.expects.iter())
            .flat_map(|e| e.checks.iter().map(move |c| (e.conn, *c)))
            .filter_map(|(sel, check)| match check {
                Check::Sends {
                    flags,
                    after,
                    before,
                    ..
                } => Some((sel, flags, after, before, 0)),
                _ => None,
            })
            .collect();
        let mut by_host: FxHashMap<NodeId, Vec<usize>> = FxHashMap::default();
        let mut wide = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            match rule.0.host() {
                Some(h) => by_host.entry(h).or_default().push(i),
                None => wide.push(i),
            }
        }
        let refusals = (sc.expects.iter())
            .flat_map(|e| e.checks.iter().map(move |c| (e.conn, *c)))
            .filter_map(|(sel, check)| match check {
                Check::Refused { what, .. } => Some((sel, what, 0)),
                _ => None,
            })
            .collect();
        SendCounter {
            rules,
            by_host,
            wide,
            refusals,
        }
    }

    /// Counts `e` if it is a refusal a `refused` check watches: by the host it happened
    /// on and the local (bound or listening) port.
    fn observe_refusal(&mut self, e: &Event) {
        let EventKind::App { host, what, .. } = e.kind else {
            return;
        };
        let (kind, port) = match what {
            AppEvent::PortUnavailable { port } => (Refusal::NoPort, port),
            AppEvent::BacklogFull { port } => (Refusal::BacklogFull, port),
            _ => return,
        };
        for (who, what, count) in &mut self.refusals {
            *count += u64::from(*what == kind && who.matches(host as usize, port));
        }
    }

    /// Counts `e` if it is a segment a watched host sent (its first hop, injected ones excluded).
    pub fn observe(&mut self, e: &Event, names: &Names) {
        if !self.refusals.is_empty() {
            self.observe_refusal(e);
        }
        if self.rules.is_empty() {
            return;
        }
        let EventKind::Segment { seg, from, .. } = e.kind else {
            return;
        };
        // The source host's own segment (not one injected elsewhere, not a later hop).
        if names.node_of_addr(seg.src.addr) != Some(from) {
            return;
        }
        let own = self
            .by_host
            .get(&(from as usize))
            .map_or(&[][..], Vec::as_slice);
        for &i in own.iter().chain(&self.wide) {
            let (who, flags, after, before, count) = &mut self.rules[i];
            let matches = who.matches(from as usize, seg.src.port)
                && seg.flags == *flags
                && (*after..*before).contains(&e.t);
            *count += matches as u64;
        }
    }
}

/// The connections of each host, in run order, so a check that names a host looks at its
/// connections only (13,000 checks over 10,000 connections would otherwise be 10^8 tests).
struct ConnIndex<'a> {
    conns: &'a [ConnRecord],
    by_host: FxHashMap<usize, Vec<usize>>,
}

impl<'a> ConnIndex<'a> {
    fn new(conns: &'a [ConnRecord]) -> Self {
        let mut by_host: FxHashMap<usize, Vec<usize>> = FxHashMap::default();
        for (i, r) in conns.iter().enumerate() {
            by_host.entry(r.host as usize).or_default().push(i);
        }
        ConnIndex { conns, by_host }
    }

    /// The connections `sel` selects, with their indices, in run order.
    fn select(&self, sel: ConnSelector) -> Vec<(usize, &'a ConnRecord)> {
        let of = |h: &usize| self.by_host.get(h).map_or(&[][..], Vec::as_slice);
        let mut idx: Vec<usize> = match sel {
            ConnSelector::All => return self.conns.iter().enumerate().collect(),
            ConnSelector::Host(h) | ConnSelector::HostPort(h, _) => of(&h).to_vec(),
            // A group's range may be wider than the hosts with connections.
            ConnSelector::Hosts { first, end, .. } if end - first > self.by_host.len() => {
                let mut v: Vec<usize> = (self.by_host.iter())
                    .filter(|(h, _)| (first..end).contains(*h))
                    .flat_map(|(_, v)| v.iter().copied())
                    .collect();
                v.sort_unstable();
                v
            }
            ConnSelector::Hosts { first, end, .. } => {
                let mut v: Vec<usize> = (first..end).flat_map(|h| of(&h).iter().copied()).collect();
                v.sort_unstable();
                v
            }
        };
        idx.retain(|&i| selects(sel, &self.conns[i]));
        idx.into_iter().map(|i| (i, &self.conns[i])).collect()
    }
}

/// The verdicts of every check of every `[[expect]]`, in file order, and the number of
/// integrity failures on connections no `corrupted = true` check expected.
pub fn evaluate(
    sc: &Scenario,
    outcome: &Outcome,
    names: &Names,
    sends: &SendCounter,
) -> (Vec<ExpectResult>, u64) {
    let mut results = Vec::new();
    let mut sent_counts = sends.rules.iter().map(|r| r.4);
    let mut refusal_counts = sends.refusals.iter().map(|r| r.2);
    let mut corruption_expected = vec![false; outcome.conns.len()];
    let index = ConnIndex::new(&outcome.conns);
    for e in &sc.expects {
        let matching = index.select(e.conn);
        for &check in &e.checks {
            let mut failures = match check {
                Check::Sends { count, .. } => {
                    let seen = sent_counts.next().unwrap_or(0);
                    let ok = count.map_or(seen > 0, |n| n == seen);
                    if ok {
                        vec![]
                    } else {
                        vec![format!("{} sent {seen}", e.conn_text)]
                    }
                }
                Check::Refused { what, min, max } => {
                    let n = refusal_counts.next().unwrap_or(0);
                    if within(n, min, max) {
                        vec![]
                    } else {
                        vec![format!("{n} {}", what.describe())]
                    }
                }
                Check::CountInState {
                    state,
                    at,
                    min,
                    max,
                } => {
                    let inside: Vec<&ConnRecord> = (matching.iter())
                        .map(|&(_, r)| r)
                        .filter(|r| state_when(r, at) == state)
                        .collect();
                    let n = inside.len() as u64;
                    if !within(n, min, max) {
                        let first: Vec<String> = (inside.iter().take(FAILURES_SHOWN))
                            .map(|r| names.endpoint(r.local))
                            .collect();
                        let listed = if first.is_empty() {
                            String::new()
                        } else {
                            format!(" (first: {})", first.join(", "))
                        };
                        vec![format!(
                            "{n} of {} selected connections in {state}{}{listed}",
                            matching.len(),
                            when(at)
                        )]
                    } else {
                        vec![]
                    }
                }
                _ if matching.is_empty() => {
                    vec![format!("no connection matches `{}`", e.conn_text)]
                }
                _ => {
                    if check == Check::Corrupted(true) {
                        matching
                            .iter()
                            .for_each(|&(i, _)| corruption_expected[i] = true);
                        // "This side receives corrupted data": one incarnation is enough.
                        // A side that reuses its 4-tuple has several connections, and the
                        // old duplicate lands in only one of them (`false` still holds
                        // each of them to it).
                        if matching.iter().any(|(_, r)| r.integrity_failures > 0) {
                            vec![]
                        } else {
                            vec![format!(
                                "{}: no delivery failed the integrity check",
                                e.conn_text
                            )]
                        }
                    } else {
                        let failed = (matching.iter())
                            .filter_map(|(_, r)| {
                                failure(check, r)
                                    .map(|why| format!("{}: {why}", names.endpoint(r.local)))
                            })
                            .collect();
                        shorten(failed, matching.len())
                    }
                }
            };
            if let Some(t) = beyond_end(check, outcome) {
                failures = vec![format!(
                    "{} lies beyond the end of the run, which stopped at {} (raise `duration`, `--until` or `max_events`)",
                    time(t),
                    time(outcome.end_time)
                )];
            }
            results.push(ExpectResult {
                line: e.line,
                what: format!("{} {}", e.conn_text, describe(check)),
                failures,
            });
        }
    }
    let unexpected = (outcome.conns.iter().zip(&corruption_expected))
        .filter(|(_, expected)| !**expected)
        .map(|(r, _)| r.integrity_failures as u64)
        .sum();
    (results, unexpected)
}

#[cfg(test)]
mod tests {
    /// Two incarnations of client:40000 <-> server:80 (TIME_WAIT cut to 10 ms, a transfer
    /// faster than the RFC 6528 ISN clock); an old copy of the first one's second segment
    /// lands at the second one's RCV.NXT. `corrupted = true` on "server:80" selects both
    /// server connections and holds because one of them received the old bytes; `false`
    /// would fail.
    const TWO_INCARNATIONS: &str = r#"
[tcp]
time_wait = "10ms"
mss = 9000
[[host]]
name = "client"
[[host]]
name = "server"
[[link]]
a = "client"
b = "server"
delay = "2ms"
[[server]]
host = "server"
port = 80
[[client]]
host = "client"
connect = "server:80"
local_port = 40000
actions = ["send 27000", "close"]
[[client]]
host = "client"
connect = "server:80"
local_port = 40000
start = "36ms"
actions = ["wait 100ms", "send 9000", "close"]
[[fault]]
action = "duplicate"
from = "client"
payload = true
nth = 2
delay = "50ms"
[[expect]]
conn = "server:80"
corrupted = CORRUPTED
"#;

    fn passes(corrupted: bool) -> bool {
        let text = TWO_INCARNATIONS.replace("CORRUPTED", &corrupted.to_string());
        let sc = crate::scenario::load_str(&text, "two_incarnations").expect("valid");
        crate::run(&sc, 0, None, &mut |_| {}).passed()
    }

    #[test]
    fn corrupted_true_holds_when_one_selected_incarnation_is_corrupted() {
        assert!(passes(true));
        assert!(!passes(false));
    }
}
