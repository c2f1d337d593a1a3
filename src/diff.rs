//! `tcpsim diff`: a simulated run held against a kernel run of the same scenario,
//! segment by segment.
//!
//! Both runs produce the same events, so the comparison needs no knowledge of either:
//! take the segments each host sent (first hop only, injected ones left out, since both
//! runs inject the same), name their ends so that an ephemeral port (chosen differently
//! by tcpsim and Linux) becomes `host:#1`, `host:#2` in order of first use, number
//! sequence and acknowledgment numbers from each direction's ISN (as the transcript
//! does), and walk both lists in order. Two segments agree when direction, flags,
//! relative seq and ack, and payload length are equal, and their times agree within
//! [`Tolerance`]. PSH is not compared (it is shown): RFC 9293 §3.9.1.2 makes a push
//! advisory, stacks set it on different segments of a write, and comparing it would end
//! nearly every transfer at its first data segment. Segments sent within the tolerance
//! of each other by different hosts may come in either order (the kernel's concurrency
//! is real).

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::scenario::model::Scenario;
use crate::tcp::{Endpoint, Flags, Segment, Why};
use crate::trace::text::{fate_phrases, time};
use crate::trace::{Event, EventKind, Names};

/// When two segments' times agree: their times since the run's start may differ by
/// `abs_ns` plus `rel` of the simulated time. Kernel timers fire late by up to a
/// timer-wheel slot (4 ms below 256 ms, 32 ms up to 2 s, 256 ms up to 16 s, at HZ =
/// 250: at most about 6 % of the timer), and the lateness of a chain of timers adds up
/// along the run, which the relative part absorbs; a different rule early in a run (an
/// RTO of 200 ms instead of 1 s, SYN retries 1 s apart instead of doubling, a delayed ACK
/// instead of an immediate one) does not fit in it. (The time since the previous segment
/// would be stricter, but two hosts' independent timers that fire close together make
/// it noise.)
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    pub abs_ns: u64,
    pub rel: f64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance {
            abs_ns: 10_000_000,
            rel: 0.10,
        }
    }
}

impl Tolerance {
    /// Whether kernel time `k` agrees with simulated time `s`.
    fn allows(&self, s: u64, k: u64) -> bool {
        (s.abs_diff(k) as f64) <= self.abs_ns as f64 + self.rel * s as f64
    }

    pub fn describe(&self) -> String {
        format!(
            "within {} ms + {:.0} % of the simulated time",
            self.abs_ns / 1_000_000,
            self.rel * 100.0
        )
    }
}

/// One sent segment, as compared.
#[derive(Debug, Clone, PartialEq)]
pub struct Seg {
    pub t: u64,
    /// "client:#1 > server:80"
    pub dir: String,
    pub flags: Flags,
    pub seq: u32,
    pub ack: Option<u32>,
    pub len: u32,
    /// The SACK blocks, numbered like `ack`, as the transcript shows them (" <sack 1
    /// {a:b}>"), or empty.
    pub sack: String,
    /// What the network did to it, in the transcript's words (not compared).
    pub fate: String,
}

impl Seg {
    /// The flags compared: all but PSH.
    fn compared_flags(&self) -> Flags {
        Flags(self.flags.0 & !Flags::PSH.0)
    }

    fn key(&self) -> (&str, Flags, u32, Option<u32>, u32, &str) {
        (
            &self.dir,
            self.compared_flags(),
            self.seq,
            self.ack,
            self.len,
            &self.sack,
        )
    }

    /// "0.020000 client:#1 > server:80 [P.] seq=1 ack=1 len=100"
    pub fn line(&self) -> String {
        let ack = self.ack.map(|a| format!(" ack={a}")).unwrap_or_default();
        format!(
            "{} {} [{}] seq={}{ack} len={}{}{}",
            time(self.t),
            self.dir,
            self.flags,
            self.seq,
            self.len,
            self.sack,
            self.fate
        )
    }

    /// What differs between two segments (first field that does).
    fn difference(&self, other: &Seg) -> &'static str {
        if self.dir != other.dir {
            "direction"
        } else if self.compared_flags() != other.compared_flags() {
            "flags"
        } else if self.seq != other.seq {
            "seq"
        } else if self.ack != other.ack {
            "ack"
        } else if self.len != other.len {
            "length"
        } else if self.sack != other.sack {
            "SACK blocks"
        } else {
            "time"
        }
    }
}

/// Names ephemeral ports by order of first use per host; fixed ones (servers' ports,
/// clients' `local_port`s) keep their numbers.
struct Ports<'n> {
    names: &'n Names,
    fixed: Vec<(u32, u16)>,
    seen: HashMap<Endpoint, usize>,
    per_host: HashMap<u32, usize>,
}

impl Ports<'_> {
    fn name(&mut self, e: Endpoint) -> String {
        let Some(host) = self.names.node_of_addr(e.addr) else {
            return self.names.endpoint(e);
        };
        if self.fixed.contains(&(host, e.port)) {
            return self.names.endpoint(e);
        }
        let next = self.per_host.entry(host).or_insert(0);
        let n = *self.seen.entry(e).or_insert_with(|| {
            *next += 1;
            *next
        });
        format!("{}:#{n}", self.names.node(host))
    }
}

/// The segments the hosts sent, in order, normalised for comparison.
pub fn segments(events: &[Event], sc: &Scenario, names: &Names) -> Vec<Seg> {
    let fixed = (sc.servers.iter().map(|s| (s.host as u32, s.port)))
        .chain(
            sc.clients
                .iter()
                .filter_map(|c| c.local_port.map(|p| (c.host as u32, p))),
        )
        .chain(
            sc.injects
                .iter()
                .flat_map(|i| [i.src, i.dst])
                .flatten()
                .map(|(h, p)| (h as u32, p)),
        )
        .collect();
    let mut ports = Ports {
        names,
        fixed,
        seen: HashMap::new(),
        per_host: HashMap::new(),
    };
    // Every ISN each direction has used: a 4-tuple reopened from TIME_WAIT has two, and
    // the old incarnation's segments are numbered from the old one.
    let mut isn: HashMap<(Endpoint, Endpoint), Vec<u32>> = HashMap::new();
    let mut out = Vec::new();
    for e in events {
        let EventKind::Segment {
            seg,
            from,
            to,
            fate,
        } = e.kind
        else {
            continue;
        };
        if names.node_of_addr(seg.src.addr) != Some(from) || seg.why == Why::Injected {
            continue;
        }
        if seg.has(Flags::SYN) {
            let bases = isn.entry((seg.src, seg.dst)).or_default();
            if !bases.contains(&seg.seq.0) {
                bases.push(seg.seq.0);
            }
        }
        let rel = |k: (Endpoint, Endpoint), v: u32| relative(isn.get(&k).map(Vec::as_slice), v);
        let dir = format!("{} > {}", ports.name(seg.src), ports.name(seg.dst));
        let fate: String = (fate_phrases(names, from, to, &fate).into_iter())
            .map(|(m, p)| format!("  {m} {p}"))
            .collect();
        out.push(Seg {
            t: e.t,
            dir,
            flags: seg.flags,
            seq: rel((seg.src, seg.dst), seg.seq.0),
            ack: seg
                .has(Flags::ACK)
                .then(|| rel((seg.dst, seg.src), seg.ack.0)),
            len: seg.len,
            sack: sack_blocks(&seg, |v| rel((seg.dst, seg.src), v)),
            fate,
        });
    }
    out
}

/// " <sack N {l:r}…>" with the blocks numbered by `rel`, or "" without blocks.
fn sack_blocks(seg: &Segment, rel: impl Fn(u32) -> u32) -> String {
    if seg.sack.is_empty() {
        return String::new();
    }
    let blocks: String = (seg.sack.iter())
        .map(|(l, r)| format!("{{{}:{}}}", rel(l.0), rel(r.0)))
        .collect();
    format!(" <sack {} {blocks}>", seg.sack.len())
}

/// `v` relative to the nearest of `bases` (the incarnation it belongs to), or absolute.
fn relative(bases: Option<&[u32]>, v: u32) -> u32 {
    let bases = bases.unwrap_or(&[]);
    (bases.iter())
        .map(|b| v.wrapping_sub(*b))
        .min_by_key(|d| (*d as i32).unsigned_abs())
        .unwrap_or(v)
}

/// The result of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Every segment matched; the largest time difference seen (ns).
    Agree { segments: usize, worst_ns: u64 },
    /// The first segment (1-based position in each list, as aligned) that does not
    /// match, and which field; `None` on a side means that side sent nothing more.
    Differ {
        at: usize,
        sim: Option<usize>,
        kernel: Option<usize>,
        what: &'static str,
    },
}

/// The position in `left` of the kernel segment that matches `sim[i]`: the first
/// unmatched one, or a later one when the ones it jumps over are a concurrent send: from
/// other directions (one host's segments keep their order), within `window_ns` of the
/// first, and each also among the simulation's next segments within `window_ns` (the
/// same two sends, in the other order).
fn concurrent_match(
    kernel: &[Seg],
    left: &[usize],
    sim: &[Seg],
    i: usize,
    window_ns: u64,
) -> Option<usize> {
    let s = &sim[i];
    let head = kernel[*left.first()?].t;
    let soon: Vec<&Seg> = (sim[i + 1..].iter())
        .take_while(|n| n.t <= s.t + window_ns)
        .collect();
    for (pos, &k) in left.iter().enumerate() {
        let seg = &kernel[k];
        if seg.key() == s.key() {
            return Some(pos);
        }
        let swappable = seg.t <= head + window_ns
            && seg.dir != s.dir
            && soon.iter().any(|n| n.key() == seg.key());
        if !swappable {
            return None;
        }
    }
    None
}

/// Walks both lists in order. At each step the simulated segment must match the kernel's
/// next one, or a later one past a concurrent send (see [`concurrent_match`]); it must
/// then also agree in time.
pub fn compare(sim: &[Seg], kernel: &[Seg], tol: Tolerance) -> Verdict {
    let mut left: Vec<usize> = (0..kernel.len()).collect();
    let mut worst = 0;
    for (i, s) in sim.iter().enumerate() {
        let Some(&head) = left.first() else {
            return Verdict::Differ {
                at: i + 1,
                sim: Some(i),
                kernel: None,
                what: "the kernel sent no more segments",
            };
        };
        let window = concurrent_match(kernel, &left, sim, i, tol.abs_ns);
        let Some(pos) = window else {
            let what = s.difference(&kernel[head]);
            return Verdict::Differ {
                at: i + 1,
                sim: Some(i),
                kernel: Some(head),
                what,
            };
        };
        let k = left.remove(pos);
        if !tol.allows(s.t, kernel[k].t) {
            return Verdict::Differ {
                at: i + 1,
                sim: Some(i),
                kernel: Some(k),
                what: "time",
            };
        }
        worst = worst.max(s.t.abs_diff(kernel[k].t));
    }
    match left.first() {
        Some(&k) => Verdict::Differ {
            at: sim.len() + 1,
            sim: None,
            kernel: Some(k),
            what: "the simulation sent no more segments",
        },
        None => Verdict::Agree {
            segments: sim.len(),
            worst_ns: worst,
        },
    }
}

/// Lines around position `at` of one side, the divergent one marked with `>`.
fn context(out: &mut String, label: &str, segs: &[Seg], at: Option<usize>) {
    let _ = writeln!(out, "{label}:");
    let centre = at.unwrap_or(segs.len());
    let from = centre.saturating_sub(3);
    let to = (centre + 3).min(segs.len());
    if from > 0 {
        let _ = writeln!(out, "       ...");
    }
    for (i, s) in segs.iter().enumerate().take(to).skip(from) {
        let mark = if Some(i) == at { ">" } else { " " };
        let _ = writeln!(out, "  {mark} {:>3}  {}", i + 1, s.line());
    }
    if at.is_none() {
        let _ = writeln!(out, "  > (no more segments)");
    }
}

/// The report: `agree`, or the first divergence with both sides' lines around it; the
/// last line is a one-line summary.
pub fn report(sim: &[Seg], kernel: &[Seg], verdict: &Verdict, tol: Tolerance) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "compared {} simulated and {} kernel segments by direction, flags (but PSH), relative seq/ack and length, in order; times: {}",
        sim.len(),
        kernel.len(),
        tol.describe()
    );
    match *verdict {
        Verdict::Agree { segments, worst_ns } => {
            let _ = writeln!(out, "agree");
            let _ = writeln!(
                out,
                "summary: agree: {segments} segments; largest time difference {:.1} ms",
                worst_ns as f64 / 1e6
            );
        }
        Verdict::Differ {
            at,
            sim: s,
            kernel: k,
            what,
        } => {
            let _ = writeln!(out, "first divergence at segment {at}: {what}");
            context(&mut out, "simulated", sim, s);
            context(&mut out, "kernel", kernel, k);
            let side = |segs: &[Seg], i: Option<usize>| {
                i.map_or("(nothing)".to_string(), |i| {
                    let l = segs[i].line();
                    l.split_once(' ')
                        .map_or(l.clone(), |(t, rest)| format!("{rest} at {t}"))
                })
            };
            let _ = writeln!(
                out,
                "summary: differ at segment {at} ({what}): simulated {} | kernel {}",
                side(sim, s),
                side(kernel, k)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(t: u64, dir: &str, flags: Flags, seq: u32, len: u32) -> Seg {
        Seg {
            t,
            dir: dir.into(),
            flags,
            seq,
            ack: Some(1),
            len,
            sack: String::new(),
            fate: String::new(),
        }
    }

    #[test]
    fn sack_blocks_are_compared() {
        let a = vec![seg(0, "s > c", Flags::ACK, 1, 0)];
        let mut b = a.clone();
        b[0].sack = " <sack 1 {100:200}>".into();
        let v = compare(&a, &b, Tolerance::default());
        assert!(
            matches!(
                v,
                Verdict::Differ {
                    what: "SACK blocks",
                    ..
                }
            ),
            "{v:?}"
        );
    }

    const MS: u64 = 1_000_000;

    #[test]
    fn equal_lists_agree_and_close_times_pass() {
        let a = vec![
            seg(0, "c > s", Flags::SYN, 0, 0),
            seg(10 * MS, "s > c", Flags::ACK, 0, 0),
        ];
        let mut b = a.clone();
        b[1].t = 20 * MS;
        assert!(matches!(
            compare(&a, &b, Tolerance::default()),
            Verdict::Agree { segments: 2, .. }
        ));
    }

    #[test]
    fn concurrent_sends_may_swap_but_fields_may_not() {
        let a = vec![
            seg(0, "c > s", Flags::FIN, 1, 0),
            seg(0, "s > c", Flags::FIN, 1, 0),
        ];
        let b = vec![a[1].clone(), a[0].clone()];
        assert!(matches!(
            compare(&a, &b, Tolerance::default()),
            Verdict::Agree { .. }
        ));
        let mut c = a.clone();
        c[1].flags = Flags::ACK;
        let v = compare(&a, &c, Tolerance::default());
        assert_eq!(
            v,
            Verdict::Differ {
                at: 2,
                sim: Some(1),
                kernel: Some(1),
                what: "flags"
            }
        );
    }

    #[test]
    fn one_hosts_segments_are_never_skipped_to_find_a_match() {
        let ack = |t, a| Seg {
            ack: Some(a),
            ..seg(t, "s > c", Flags::ACK, 1, 0)
        };
        let sim = vec![ack(0, 3), ack(0, 3)];
        let kernel = vec![ack(0, 2), ack(MS, 3), ack(MS, 3)];
        let v = compare(&sim, &kernel, Tolerance::default());
        assert_eq!(
            v,
            Verdict::Differ {
                at: 1,
                sim: Some(0),
                kernel: Some(0),
                what: "ack"
            }
        );
    }

    #[test]
    fn a_different_timer_is_a_divergence_and_extra_segments_count() {
        let a = vec![
            seg(0, "c > s", Flags::SYN, 0, 0),
            seg(1_000 * MS, "c > s", Flags::SYN, 0, 0),
        ];
        let mut b = a.clone();
        b[1].t = 200 * MS;
        let v = compare(&a, &b, Tolerance::default());
        assert!(
            matches!(
                v,
                Verdict::Differ {
                    at: 2,
                    what: "time",
                    ..
                }
            ),
            "{v:?}"
        );
        let v = compare(&a[..1], &b, Tolerance::default());
        assert!(
            matches!(
                v,
                Verdict::Differ {
                    at: 2,
                    sim: None,
                    ..
                }
            ),
            "{v:?}"
        );
        let text = report(&a[..1], &b, &v, Tolerance::default());
        assert!(
            text.lines()
                .last()
                .unwrap_or("")
                .starts_with("summary: differ at segment 2"),
            "{text}"
        );
    }
}
