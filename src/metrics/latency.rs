//! Per-connection latency distributions for the summary (with `--metrics`): connect
//! (SYN → ESTABLISHED), first byte (open → first bytes received) and completion
//! (open → CLOSED), measured on actively opened connections.

use crate::scenario::format_duration;

/// The latencies collected during a run, ns, in the order connections reached them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Latencies {
    pub connect: Vec<u64>,
    pub first_byte: Vec<u64>,
    pub completion: Vec<u64>,
}

/// min / p50 / p90 / p99 / max of a set of latencies (nearest rank), ns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dist {
    pub n: usize,
    pub min: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
}

impl Dist {
    /// The distribution of `values`; None when there are none.
    pub fn of(values: &[u64]) -> Option<Dist> {
        let mut v = values.to_vec();
        v.sort_unstable();
        let rank = |p: usize| v[(p * v.len()).div_ceil(100).max(1) - 1];
        Some(Dist {
            n: v.len(),
            min: *v.first()?,
            p50: rank(50),
            p90: rank(90),
            p99: rank(99),
            max: *v.last()?,
        })
    }
}

impl Latencies {
    /// The three distributions with their names, in summary order.
    pub fn dists(&self) -> [(&'static str, Option<Dist>); 3] {
        [
            ("connect", Dist::of(&self.connect)),
            ("first_byte", Dist::of(&self.first_byte)),
            ("completion", Dist::of(&self.completion)),
        ]
    }

    /// The summary's latency lines (text format).
    pub fn text(&self) -> String {
        let mut out = String::from("latency (actively opened connections):\n");
        for (name, d) in self.dists() {
            let line = match d {
                None => format!("  {name:<11} none\n"),
                Some(d) => format!(
                    "  {name:<11} n {}  min {}  p50 {}  p90 {}  p99 {}  max {}\n",
                    d.n,
                    us(d.min),
                    us(d.p50),
                    us(d.p90),
                    us(d.p99),
                    us(d.max)
                ),
            };
            out.push_str(&line);
        }
        out
    }

    /// The summary's latency object (JSON format): ns values.
    pub fn json(&self) -> serde_json::Value {
        let mut o = serde_json::Map::new();
        o.insert("kind".into(), "latency".into());
        for (name, d) in self.dists() {
            let v = d.map_or(serde_json::Value::Null, |d| {
                serde_json::json!({"n": d.n, "min_ns": d.min, "p50_ns": d.p50,
                    "p90_ns": d.p90, "p99_ns": d.p99, "max_ns": d.max})
            });
            o.insert(name.into(), v);
        }
        serde_json::Value::Object(o)
    }
}

/// A latency rounded down to whole microseconds, in the largest exact unit.
fn us(ns: u64) -> String {
    format_duration(ns / 1000 * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=100).collect();
        let d = Dist::of(&v).unwrap();
        assert_eq!((d.min, d.p50, d.p90, d.p99, d.max), (1, 50, 90, 99, 100));
        assert_eq!(Dist::of(&[7]).unwrap().p99, 7);
        assert!(Dist::of(&[]).is_none());
    }
}
