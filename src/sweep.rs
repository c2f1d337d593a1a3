//! Seed sweeps: run one scenario over many seeds, in parallel, and summarize.
//!
//! A single seed shows one story; a sweep shows whether the scenario's `[[expect]]`s hold
//! on all of them, which ones break and how, and the spread of a few figures per seed.
//! Everything in the report is a function of the per-seed results ordered by seed, so it
//! is the same whatever the number of threads, and the JSON form carries those results so
//! that shards run on different machines merge into exactly the report of one run.

use std::collections::BTreeMap;
use std::fmt::Write;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::report::Report;
use crate::scenario::Scenario;
use crate::tcp::State;
use crate::trace::text::time;

/// Version of the JSON document; `--merge` refuses other versions rather than guess.
pub const FORMAT_VERSION: u32 = 1;

/// How many failing seeds the report lists (with their replay commands).
pub const FAILING_SEEDS_SHOWN: usize = 20;

/// Refuse sweeps bigger than this per process: every seed keeps a small record in memory,
/// and a range this large is almost certainly a typo. `--shard` splits bigger ones.
pub const MAX_SEEDS: u64 = u32::MAX as u64;

// Worker threads share one loaded scenario by reference.
const _: () = {
    const fn shared_across_threads<T: Sync>() {}
    shared_across_threads::<Scenario>()
};

/// An inclusive range of seeds (`A..B` is stored as `A..=B-1`, so `u64::MAX` fits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedRange {
    pub first: u64,
    pub last: u64,
}

impl SeedRange {
    /// Parses `A..B` (half-open), `A..=B` or a single seed `N`.
    pub fn parse(s: &str) -> Result<SeedRange, String> {
        let num = |t: &str| {
            t.trim().parse::<u64>().map_err(|_| {
                format!(
                    "`{s}`: `{t}` is not a seed (a whole number 0 to {})",
                    u64::MAX
                )
            })
        };
        if let Some((a, b)) = s.split_once("..=") {
            let (first, last) = (num(a)?, num(b)?);
            if first > last {
                return Err(format!("the range is empty: {first} is above {last}"));
            }
            Ok(SeedRange { first, last })
        } else if let Some((a, b)) = s.split_once("..") {
            let (first, end) = (num(a)?, num(b)?);
            if first >= end {
                return Err(
                    "the range is empty: A..B runs A up to B-1, so B must be above A".into(),
                );
            }
            Ok(SeedRange {
                first,
                last: end - 1,
            })
        } else {
            let n = num(s)?;
            Ok(SeedRange { first: n, last: n })
        }
    }

    fn len(self) -> u128 {
        (self.last - self.first) as u128 + 1
    }
}

impl std::fmt::Display for SeedRange {
    /// Half-open like the usual `--seeds A..B`, unless the range ends at `u64::MAX`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.last.checked_add(1) {
            Some(end) => write!(f, "{}..{end}", self.first),
            None => write!(f, "{}..={}", self.first, self.last),
        }
    }
}

/// `--shard K/N`: keep the seeds whose index in the range (seed − first) is K modulo N.
/// K is 0-based, as Slurm's `SLURM_ARRAY_TASK_ID` (with `--array=0-N-1`) and Kubernetes'
/// `JOB_COMPLETION_INDEX` are, so a batch job can pass its index straight through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    pub fn parse(s: &str) -> Result<Shard, String> {
        let bad = || "expected K/N, two whole numbers, e.g. 0/4".to_string();
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u64 = k.trim().parse().map_err(|_| bad())?;
        let count: u64 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 {
            return Err("the number of shards N must be at least 1".into());
        }
        if index >= count {
            return Err(format!(
                "K is 0-based and must be below N (the shards of {count} are 0/{count} to {}/{count})",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }
}

/// Which seeds a sweep (or a merge of shards) covers, and of what: enough to tell whether
/// two JSON documents are shards of the same sweep, and to print replay commands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sweep {
    /// The scenario path as given on the command line (replay commands reuse it).
    pub file: String,
    /// `--profile`, when given.
    pub profile: Option<String>,
    pub seeds: SeedRange,
    /// The shards covered, when not all of them: `None` means every seed of the range.
    pub shards: Option<ShardSet>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardSet {
    pub count: u64,
    /// Sorted, distinct, each below `count`, fewer than `count` of them.
    pub indices: Vec<u64>,
}

impl Sweep {
    pub fn new(
        file: String,
        profile: Option<String>,
        seeds: SeedRange,
        shard: Option<Shard>,
    ) -> Self {
        let shards = shard.filter(|s| s.count > 1).map(|s| ShardSet {
            count: s.count,
            indices: vec![s.index],
        });
        Sweep {
            file,
            profile,
            seeds,
            shards,
        }
    }

    /// The seeds this sweep runs, in order, or why it refuses to.
    pub fn seed_list(&self) -> Result<Vec<u64>, String> {
        let (step, offsets) = match &self.shards {
            None => (1, vec![0]),
            Some(s) => (s.count, s.indices.clone()),
        };
        let total = self.seeds.len();
        let selected: u128 = (offsets.iter())
            .map(|&k| (total + (step - 1 - k) as u128) / step as u128)
            .sum();
        if selected > MAX_SEEDS as u128 {
            return Err(format!(
                "{selected} seeds is too many for one sweep (at most {MAX_SEEDS}); split it with --shard"
            ));
        }
        let mut seeds = Vec::with_capacity(selected as usize);
        for &k in &offsets {
            // Indices k, k + step, ... below `total`; u128 because `total` can be 2^64.
            let mut idx = k as u128;
            while idx < total {
                seeds.push(self.seeds.first + idx as u64);
                idx += step as u128;
            }
        }
        seeds.sort_unstable();
        Ok(seeds)
    }

    /// The command that replays one seed on its own.
    pub fn replay(&self, seed: u64) -> String {
        let mut cmd = format!("tcpsim {} --seed {seed}", shell_word(&self.file));
        if let Some(p) = &self.profile {
            let _ = write!(cmd, " --profile {p}");
        }
        cmd
    }
}

/// `s` quoted for a POSIX shell when it needs to be, so replay commands paste as they are.
fn shell_word(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// A way a seed can fail. Ordered as [`Report::failures`] lists them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// An `[[expect]]` check, by its line and its text.
    Expectation { line: usize, what: String },
    /// Bytes delivered that the peer never sent, on a connection no `corrupted = true` covers.
    Integrity,
    /// An invariant of the simulation broke. Today the only one checked is that no two
    /// live connections share a 4-tuple (`trace::Invariant::DuplicateFourTuple`); the
    /// outcome keeps only a count, so a second invariant would land here too.
    Invariant,
    /// The scenario's `max_events` ran out before the run finished.
    EventBudget,
}

impl std::fmt::Display for FailureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FailureKind::Expectation { line, what } => {
                write!(f, "expectation at line {line}: {what}")
            }
            FailureKind::Integrity => f.write_str("integrity check: bytes the peer never sent"),
            FailureKind::Invariant => {
                f.write_str("4-tuple invariant: two live connections shared a 4-tuple")
            }
            FailureKind::EventBudget => f.write_str("event budget ran out"),
        }
    }
}

/// What a sweep keeps of one seed's run: small, so 10^5 seeds fit easily and a shard's
/// JSON stays mergeable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedResult {
    pub seed: u64,
    pub passed: bool,
    /// Every kind of failure this seed showed (empty when it passed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<FailureKind>,
    /// The first failure's full message, as `tcpsim FILE --seed S` prints it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_failure: Option<String>,
    /// The virtual time the run ended at, in ns.
    pub end_ns: u64,
    /// Retransmissions summed over the connections.
    pub retransmits: u64,
    /// Time spent in TIME_WAIT summed over the connections, in ns.
    pub time_wait_ns: u64,
    /// How many connections ended in each state, in [`State::ALL`] order.
    pub final_states: [u32; 11],
}

impl SeedResult {
    pub fn from_report(report: &Report) -> SeedResult {
        let o = &report.outcome;
        let mut final_states = [0u32; 11];
        for r in &o.conns {
            final_states[state_index(r.final_state())] += 1;
        }
        let passed = report.passed();
        let mut failures = Vec::new();
        if !passed {
            for e in report.expectations.iter().filter(|e| !e.passed()) {
                failures.push(FailureKind::Expectation {
                    line: e.line,
                    what: e.what.clone(),
                });
            }
            if report.unexpected_corruption > 0 {
                failures.push(FailureKind::Integrity);
            }
            if o.invariant_failures > 0 {
                failures.push(FailureKind::Invariant);
            }
            if o.budget_exhausted {
                failures.push(FailureKind::EventBudget);
            }
        }
        SeedResult {
            seed: report.seed,
            passed,
            failures,
            first_failure: (!passed).then(|| report.failures().swap_remove(0)),
            end_ns: o.end_time,
            retransmits: o.conns.iter().map(|r| r.stats.retransmits).sum(),
            time_wait_ns: o
                .conns
                .iter()
                .map(|r| time_in(&r.history, State::TimeWait, o.end_time))
                .fold(0, u64::saturating_add),
            final_states,
        }
    }
}

fn state_index(s: State) -> usize {
    State::ALL.iter().position(|&x| x == s).unwrap_or(0)
}

/// Time between entering `state` and leaving it, summed over the history; a connection
/// still in it when the run stopped counts until `end`.
fn time_in(history: &[(u64, State)], state: State, end: u64) -> u64 {
    (0..history.len())
        .filter(|&i| history[i].1 == state)
        .map(|i| {
            let left = history.get(i + 1).map_or(end, |&(t, _)| t);
            left.saturating_sub(history[i].0)
        })
        .fold(0, u64::saturating_add)
}

/// Runs `sc` once per seed on a pool of `jobs` threads, without rendering any event, and
/// returns the results in the order of `seeds`. `done` is called after each seed (for a
/// progress bar).
pub fn run(
    sc: &Scenario,
    seeds: &[u64],
    jobs: usize,
    done: &(dyn Fn() + Sync),
) -> Result<Vec<SeedResult>, String> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| format!("cannot start {jobs} threads: {e}"))?;
    Ok(pool.install(|| {
        seeds
            .par_iter()
            .map(|&seed| {
                let report = crate::run(sc, seed, None, &mut |_| {});
                let result = SeedResult::from_report(&report);
                done();
                result
            })
            .collect()
    }))
}

/// The parts of a `--format json` document that `--merge` reads: the summary is derived
/// from the results again (files written before the wall time moved to stderr carry a
/// `timing` field, ignored here).
#[derive(Debug, Deserialize)]
pub struct Document {
    pub tcpsim_sweep: u32,
    pub sweep: Sweep,
    pub results: Vec<SeedResult>,
}

/// Wall-clock figures: not deterministic, so printed to stderr, apart from the report.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub wall_s: f64,
    pub seeds_per_s: f64,
    pub jobs: usize,
}

impl Timing {
    pub fn text(&self, seeds: usize) -> String {
        format!(
            "wall: {:.3} s for {seeds} seeds, {:.0} seeds/s, --jobs {} (timing varies from run to run; it is not part of the report)\n",
            self.wall_s, self.seeds_per_s, self.jobs
        )
    }
}

/// Combines the JSON documents of shards of one sweep (name, document) into the sweep and
/// results a single run over the union of their seeds would have given.
pub fn merge(docs: Vec<(String, Document)>) -> Result<(Sweep, Vec<SeedResult>), String> {
    let mut docs = docs.into_iter();
    let (first_name, first) = docs.next().ok_or("nothing to merge")?;
    let check_version = |name: &str, d: &Document| {
        if d.tcpsim_sweep == FORMAT_VERSION {
            Ok(())
        } else {
            Err(format!(
                "{name}: sweep format version {} (this tcpsim reads {FORMAT_VERSION})",
                d.tcpsim_sweep
            ))
        }
    };
    check_version(&first_name, &first)?;
    let mut sweep = first.sweep;
    let mut results = first.results;
    for (name, d) in docs {
        check_version(&name, &d)?;
        let s = d.sweep;
        if (&s.file, &s.profile, s.seeds) != (&sweep.file, &sweep.profile, sweep.seeds) {
            return Err(format!(
                "{name} is not a shard of the same sweep as {first_name}: {} against {}",
                describe(&s),
                describe(&sweep)
            ));
        }
        let (Some(a), Some(b)) = (&mut sweep.shards, &s.shards) else {
            return Err(format!(
                "{name} and {first_name} overlap: one of them covers every seed of {}",
                sweep.seeds
            ));
        };
        if a.count != b.count {
            return Err(format!(
                "{name} is split into {} shards, {first_name} into {}",
                b.count, a.count
            ));
        }
        if let Some(k) = b.indices.iter().find(|k| a.indices.contains(k)) {
            return Err(format!("shard {k}/{} appears twice (in {name})", a.count));
        }
        a.indices.extend(&b.indices);
        a.indices.sort_unstable();
        results.extend(d.results);
    }
    if sweep
        .shards
        .as_ref()
        .is_some_and(|s| s.indices.len() as u64 == s.count)
    {
        sweep.shards = None;
    }
    results.sort_by_key(|r| r.seed);
    if let Some(w) = results.windows(2).find(|w| w[0].seed == w[1].seed) {
        return Err(format!("seed {} appears twice", w[0].seed));
    }
    Ok((sweep, results))
}

fn describe(s: &Sweep) -> String {
    let mut d = format!("{}, seeds {}", s.file, s.seeds);
    if let Some(p) = &s.profile {
        let _ = write!(d, ", profile {p}");
    }
    d
}

/// min / median / p99 / max of a per-seed figure, by nearest rank (always a value some
/// seed had, so integers stay integers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Dist {
    pub min: u64,
    pub median: u64,
    pub p99: u64,
    pub max: u64,
}

impl Dist {
    fn of(mut v: Vec<u64>) -> Option<Dist> {
        v.sort_unstable();
        let n = v.len();
        let rank = |pct: usize| v[(n * pct).div_ceil(100).max(1) - 1];
        (n > 0).then(|| Dist {
            min: v[0],
            median: rank(50),
            p99: rank(99),
            max: v[n - 1],
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct KindCount {
    pub kind: FailureKind,
    /// The kind in words, as the text report prints it.
    pub text: String,
    /// Seeds that failed this way.
    pub seeds: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FailingSeed {
    pub seed: u64,
    pub failure: String,
    pub replay: String,
}

/// Everything the report says, derived from the sweep and its results alone.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub seeds_run: u64,
    pub passed: u64,
    pub failed: u64,
    /// Most frequent first.
    pub failures_by_kind: Vec<KindCount>,
    /// Per-seed distributions; `null` when no seed ran.
    pub completion_ns: Option<Dist>,
    pub retransmits: Option<Dist>,
    pub time_wait_ns: Option<Dist>,
    /// Connections that ended in each state, over all seeds (states no connection ended in
    /// are left out).
    pub final_states: BTreeMap<String, u64>,
    /// The first [`FAILING_SEEDS_SHOWN`] failing seeds.
    pub failing_seeds: Vec<FailingSeed>,
}

impl Summary {
    pub fn new(sweep: &Sweep, results: &[SeedResult]) -> Summary {
        let failed = results.iter().filter(|r| !r.passed).count() as u64;
        let mut kinds: BTreeMap<&FailureKind, u64> = BTreeMap::new();
        for k in results.iter().flat_map(|r| &r.failures) {
            *kinds.entry(k).or_default() += 1;
        }
        let mut failures_by_kind: Vec<KindCount> = (kinds.into_iter())
            .map(|(k, n)| KindCount {
                kind: k.clone(),
                text: k.to_string(),
                seeds: n,
            })
            .collect();
        failures_by_kind.sort_by_key(|k| std::cmp::Reverse(k.seeds));
        let mut final_states = BTreeMap::new();
        for (i, s) in State::ALL.iter().enumerate() {
            let n: u64 = results.iter().map(|r| r.final_states[i] as u64).sum();
            if n > 0 {
                final_states.insert(s.name().to_string(), n);
            }
        }
        let dist = |f: fn(&SeedResult) -> u64| Dist::of(results.iter().map(f).collect());
        Summary {
            seeds_run: results.len() as u64,
            passed: results.len() as u64 - failed,
            failed,
            failures_by_kind,
            completion_ns: dist(|r| r.end_ns),
            retransmits: dist(|r| r.retransmits),
            time_wait_ns: dist(|r| r.time_wait_ns),
            final_states,
            failing_seeds: (results.iter().filter(|r| !r.passed))
                .take(FAILING_SEEDS_SHOWN)
                .map(|r| FailingSeed {
                    seed: r.seed,
                    failure: r.first_failure.clone().unwrap_or_default(),
                    replay: sweep.replay(r.seed),
                })
                .collect(),
        }
    }
}

/// The text report (without the wall-time line, which the caller adds apart).
pub fn text(sweep: &Sweep, results: &[SeedResult]) -> String {
    let sum = Summary::new(sweep, results);
    let mut s = String::new();
    let _ = write!(s, "sweep: {}", describe(sweep));
    if let Some(sh) = &sweep.shards {
        let idx: Vec<String> = sh.indices.iter().map(u64::to_string).collect();
        let _ = write!(s, ", shard {} of {}", idx.join(","), sh.count);
    }
    s.push('\n');
    let _ = writeln!(
        s,
        "seeds: {} run, {} passed, {} failed",
        sum.seeds_run, sum.passed, sum.failed
    );
    if !sum.failures_by_kind.is_empty() {
        let _ = writeln!(s, "failures by kind (seeds):");
        for k in &sum.failures_by_kind {
            let _ = writeln!(s, "  {:>8}  {}", k.seeds, k.text);
        }
    }
    let _ = writeln!(
        s,
        "per seed:                     min       median          p99          max"
    );
    let secs = |d: Option<Dist>| d.map(|d| [d.min, d.median, d.p99, d.max].map(time));
    let count = |d: Option<Dist>| d.map(|d| [d.min, d.median, d.p99, d.max].map(|v| v.to_string()));
    for (label, row) in [
        ("completion time (s)", secs(sum.completion_ns)),
        ("retransmissions", count(sum.retransmits)),
        ("time in TIME_WAIT (s)", secs(sum.time_wait_ns)),
    ] {
        let row = row.unwrap_or_else(|| ["-".into(), "-".into(), "-".into(), "-".into()]);
        let _ = writeln!(
            s,
            "  {label:<22}{:>12} {:>12} {:>12} {:>12}",
            row[0], row[1], row[2], row[3]
        );
    }
    let states: Vec<String> = (State::ALL.iter())
        .filter_map(|st| sum.final_states.get(st.name()).map(|n| format!("{st} {n}")))
        .collect();
    let states = if states.is_empty() {
        "none".to_string()
    } else {
        states.join(", ")
    };
    let _ = writeln!(s, "final states (connections, all seeds): {states}");
    if sum.failed > 0 {
        let _ = writeln!(
            s,
            "failing seeds (first {} of {}):",
            sum.failing_seeds.len(),
            sum.failed
        );
        for f in &sum.failing_seeds {
            let _ = writeln!(s, "  seed {}: {}", f.seed, f.failure);
            let _ = writeln!(s, "    replay: {}", f.replay);
        }
    }
    let verdict = if sum.failed == 0 { "PASS" } else { "FAIL" };
    let _ = writeln!(
        s,
        "result: {verdict} ({} of {} seeds failed)",
        sum.failed, sum.seeds_run
    );
    s
}

/// The JSON document: one object, one per-seed record a line so shard files diff well.
pub fn json(sweep: &Sweep, results: &[SeedResult]) -> String {
    let mut s = format!(
        "{{\"tcpsim_sweep\":{FORMAT_VERSION},\n\"sweep\":{},\n\"summary\":{},\n\"results\":[",
        compact(sweep),
        compact(&Summary::new(sweep, results))
    );
    for (i, r) in results.iter().enumerate() {
        s.push_str(if i == 0 { "\n" } else { ",\n" });
        s.push_str(&compact(r));
    }
    s.push_str("\n]}\n");
    s
}

fn compact<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("sweep values serialize to JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_ranges() {
        let r = |first, last| Ok(SeedRange { first, last });
        assert_eq!(SeedRange::parse("0..10"), r(0, 9));
        assert_eq!(SeedRange::parse("3..=3"), r(3, 3));
        assert_eq!(SeedRange::parse("7"), r(7, 7));
        assert_eq!(SeedRange::parse("0..=18446744073709551615"), r(0, u64::MAX));
        for bad in ["5..5", "6..5", "6..=5", "x", "1..", "..3", "-1..3", ""] {
            assert!(SeedRange::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(SeedRange { first: 0, last: 9 }.to_string(), "0..10");
    }

    #[test]
    fn shards_partition_the_range() {
        assert!(Shard::parse("2/2").is_err());
        assert!(Shard::parse("0/0").is_err());
        assert!(Shard::parse("1").is_err());
        let seeds = SeedRange {
            first: 10,
            last: 16,
        };
        let list = |k| {
            let shard = Shard::parse(&format!("{k}/3")).unwrap();
            Sweep::new("f".into(), None, seeds, Some(shard))
                .seed_list()
                .unwrap()
        };
        assert_eq!(list(0), [10, 13, 16]);
        assert_eq!(list(1), [11, 14]);
        assert_eq!(list(2), [12, 15]);
        let top = SeedRange {
            first: u64::MAX - 2,
            last: u64::MAX,
        };
        let all = Sweep::new("f".into(), None, top, None).seed_list().unwrap();
        assert_eq!(all, [u64::MAX - 2, u64::MAX - 1, u64::MAX]);
        let huge = SeedRange {
            first: 0,
            last: u64::MAX,
        };
        assert!(
            Sweep::new("f".into(), None, huge, None)
                .seed_list()
                .is_err()
        );
    }

    #[test]
    fn nearest_rank_distribution() {
        let d = Dist::of((1..=100).collect()).unwrap();
        assert_eq!((d.min, d.median, d.p99, d.max), (1, 50, 99, 100));
        let d = Dist::of(vec![7]).unwrap();
        assert_eq!((d.min, d.median, d.p99, d.max), (7, 7, 7, 7));
        assert_eq!(Dist::of(vec![]), None);
    }

    #[test]
    fn time_wait_counts_until_left_or_end() {
        let h = [
            (1, State::FinWait1),
            (2, State::TimeWait),
            (6, State::Closed),
            (10, State::TimeWait),
        ];
        assert_eq!(time_in(&h, State::TimeWait, 15), 4 + 5);
    }

    #[test]
    fn replay_quotes_odd_paths() {
        let s = Sweep::new(
            "my dir/x.toml".into(),
            Some("linux".into()),
            SeedRange { first: 0, last: 0 },
            None,
        );
        assert_eq!(
            s.replay(3),
            "tcpsim 'my dir/x.toml' --seed 3 --profile linux"
        );
    }
}
