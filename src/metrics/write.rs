//! The `--metrics` file: CSV, or JSON lines when its name ends in `.jsonl` or `.json`.
//! Columns (CSV) and keys (JSON, in the same order): `t_s` / `t_ns`, `host`, the eleven
//! RFC 9293 states, `ports_free`, then per interval `opened`, `established`, `failed`,
//! `reset`, `segments`, `retransmits`, `goodput_bps` (bytes per second).

use std::fmt::Write;

use super::{Rows, Sample};
use crate::tcp::State;

/// Whether `path` asks for JSON lines rather than CSV.
pub fn is_json(path: &std::path::Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("jsonl" | "json")
    )
}

/// The per-interval columns after the states and `ports_free`.
const COUNTERS: [&str; 7] = [
    "opened",
    "established",
    "failed",
    "reset",
    "segments",
    "retransmits",
    "goodput_bps",
];

/// A sample's numbers after `host`, in column order.
fn values(s: &Sample, interval: u64) -> [u64; 19] {
    let c = &s.counters;
    let goodput = (u128::from(c.bytes) * 1_000_000_000 / u128::from(interval.max(1))) as u64;
    let mut v = [0; 19];
    v[..11].copy_from_slice(&s.states);
    v[11..].copy_from_slice(&[
        s.ports_free,
        c.opened,
        c.established,
        c.failed,
        c.reset,
        c.segments,
        c.retransmits,
        goodput,
    ]);
    v
}

/// Column names after `host`.
fn value_names() -> impl Iterator<Item = &'static str> {
    (State::ALL.iter().map(|s| s.name()))
        .chain(["ports_free"])
        .chain(COUNTERS)
}

/// The whole series as CSV; `interval` (ns) turns bytes per interval into a rate.
pub fn csv(rows: &Rows, samples: &[Sample], interval: u64) -> String {
    let mut out = String::from("t_s,host");
    for name in value_names() {
        out.push(',');
        out.push_str(name);
    }
    out.push('\n');
    for s in samples {
        push_seconds(&mut out, s.t);
        out.push(',');
        push_csv_field(&mut out, rows.name(s.row as usize));
        for v in values(s, interval) {
            let _ = write!(out, ",{v}");
        }
        out.push('\n');
    }
    out
}

/// The whole series as JSON lines, one object per row and sample time.
pub fn json_lines(rows: &Rows, samples: &[Sample], interval: u64) -> String {
    let mut out = String::new();
    for s in samples {
        let host = serde_json::Value::from(rows.name(s.row as usize));
        let _ = write!(out, "{{\"t_ns\":{},\"host\":{host}", s.t);
        for (name, v) in value_names().zip(values(s, interval)) {
            let _ = write!(out, ",\"{name}\":{v}");
        }
        out.push_str("}\n");
    }
    out
}

/// Seconds with up to nine decimals and no trailing zeros ("1", "0.25").
pub fn push_seconds(out: &mut String, ns: u64) {
    let _ = write!(out, "{}", ns / 1_000_000_000);
    let frac = ns % 1_000_000_000;
    if frac != 0 {
        let digits = format!("{frac:09}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
}

/// A CSV field, quoted when it holds a comma, quote or newline.
fn push_csv_field(out: &mut String, s: &str) {
    if s.contains([',', '"', '\n']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_exact_and_short() {
        let mut s = String::new();
        push_seconds(&mut s, 1_000_000_000);
        s.push(' ');
        push_seconds(&mut s, 250_000_000);
        s.push(' ');
        push_seconds(&mut s, 1);
        assert_eq!(s, "1 0.25 0.000000001");
    }

    #[test]
    fn json_is_chosen_by_extension() {
        assert!(is_json("m.jsonl".as_ref()));
        assert!(is_json("m.json".as_ref()));
        assert!(!is_json("m.csv".as_ref()));
    }
}
