//! Durations ("200ms") and rates ("10Mbps") as users write them.
//!
//! Parsing is exact integer arithmetic (no floats), so "1.1s" is exactly 1_100_000_000 ns
//! and the same file always yields the same numbers on every platform.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// The longest duration a scenario may write: 100,000 hours (about 11 years). Far beyond
/// any TCP timer, and small enough that a start time plus dozens of such durations still
/// fits the 64-bit nanosecond clock (about 584 years), which the simulator's saturating
/// arithmetic then never reaches in practice.
pub const MAX_DURATION_NS: u64 = 100_000 * 3_600_000_000_000;
/// The fastest link rate a scenario may write: 1000 Gbit/s.
pub const MAX_RATE_BPS: u64 = 1_000_000_000_000;

/// A span of virtual time in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duration(pub u64);

/// A duration, or the string "none" for "no limit" (e.g. `fin_wait_2_timeout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationOrNone(pub Option<u64>);

/// A link bandwidth in bits per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate(pub u64);

const DURATION_HINT: &str = r#"a duration such as "200ms", "2s" or "2min""#;
const RATE_HINT: &str = r#"a rate such as "10Mbps", "1.5Gbps" or "9600bps""#;

/// Duration units and their length in nanoseconds.
const DURATION_UNITS: [(&str, u64); 7] = [
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("min", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Rate units (matched ignoring case; "k" is 1000) and their value in bits/s.
const RATE_UNITS: [(&str, u64); 4] = [
    ("bps", 1),
    ("kbps", 1_000),
    ("mbps", 1_000_000),
    ("gbps", 1_000_000_000),
];

/// Parses "250ns", "10us", "1.5ms", "2s", "2min", "1h" or "0" into nanoseconds.
///
/// Shared by the TOML deserializer and the client action "wait DUR" so both accept
/// the same syntax and produce the same message.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let s = text.trim();
    if s == "0" {
        return Ok(0);
    }
    let expected = || format!("expected {DURATION_HINT}, found \"{text}\"");
    if s.starts_with('-') {
        return Err(format!("{}: durations cannot be negative", expected()));
    }
    let (number, unit) = split_number(s).ok_or_else(expected)?;
    let unit = unit.trim();
    if unit.is_empty() {
        return Err(format!(
            "{}: the unit is missing (ns, us, ms, s, min or h)",
            expected()
        ));
    }
    let scale = DURATION_UNITS
        .iter()
        .find(|(name, _)| *name == unit)
        .map(|(_, scale)| *scale)
        .ok_or_else(expected)?;
    match scale_decimal(number, scale) {
        Some(ns) if ns <= MAX_DURATION_NS => Ok(ns),
        _ => Err(format!(
            "duration \"{text}\" is too large: durations are from 0 to 100000h (about 11 years)"
        )),
    }
}

/// Parses "10Mbps", "1.5Gbps", "100kbps" or "9600bps" into bits per second.
///
/// A rate of zero is rejected: it would mean a segment never finishes serializing.
pub fn parse_rate(text: &str) -> Result<u64, String> {
    let s = text.trim();
    let expected = || format!("expected {RATE_HINT}, found \"{text}\"");
    if s.starts_with('-') {
        return Err(format!("{}: rates cannot be negative", expected()));
    }
    let (number, unit) = split_number(s).ok_or_else(expected)?;
    if let Some(prefix) = unit.trim().strip_suffix("Bps") {
        return Err(bytes_rate_hint(text, number, prefix));
    }
    let unit = unit.trim().to_ascii_lowercase();
    if unit.is_empty() {
        return Err(format!(
            "{}: the unit is missing (bps, kbps, Mbps or Gbps)",
            expected()
        ));
    }
    let scale = RATE_UNITS
        .iter()
        .find(|(name, _)| *name == unit)
        .map(|(_, scale)| *scale)
        .ok_or_else(expected)?;
    match scale_decimal(number, scale) {
        Some(0) => Err(format!(
            "rate \"{text}\" is zero; omit `rate` for a link without a bandwidth limit"
        )),
        Some(bps) if bps <= MAX_RATE_BPS => Ok(bps),
        _ => Err(format!(
            "rate \"{text}\" is too large: rates are from 1bps to 1000Gbps"
        )),
    }
}

/// A rate of new connections: `micro` millionths of a connection every `per_ns` ns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnRate {
    pub micro: u64,
    pub per_ns: u64,
}

const CONN_RATE_UNITS: [(&str, u64); 5] = [
    ("us", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("min", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

impl ConnRate {
    /// How many whole connections arrive in `duration` ns (u128: no overflow).
    pub fn count_in(self, duration: u64) -> u128 {
        u128::from(self.micro) * u128::from(duration) / (1_000_000 * u128::from(self.per_ns))
    }

    /// The time from the first arrival to the `i`-th (0-based), evenly spaced, in ns.
    pub fn offset_of(self, i: u64) -> u64 {
        let t = u128::from(i) * 1_000_000 * u128::from(self.per_ns) / u128::from(self.micro);
        u64::try_from(t).unwrap_or(u64::MAX)
    }
}

/// "800/s", "2.5/ms", "30/min": connections per unit of time, more than 0.
pub fn parse_conn_rate(text: &str) -> Result<ConnRate, String> {
    let expected = || {
        format!(
            r#"expected a number of connections per unit of time such as "800/s", "5/ms" or "30/min" (units us, ms, s, min, h), found "{text}""#
        )
    };
    let (number, unit) = text.trim().split_once('/').ok_or_else(expected)?;
    let (number, rest) = split_number(number.trim()).ok_or_else(expected)?;
    if !rest.is_empty() {
        return Err(expected());
    }
    let per_ns = CONN_RATE_UNITS
        .iter()
        .find(|(name, _)| *name == unit.trim())
        .map(|(_, ns)| *ns)
        .ok_or_else(expected)?;
    match scale_decimal(number, 1_000_000) {
        Some(0) => Err(format!(
            "rate \"{text}\" is zero: a load needs connections to arrive"
        )),
        Some(micro) if micro <= 1_000_000_000_000_000 => Ok(ConnRate { micro, per_ns }),
        _ => Err(format!(
            "rate \"{text}\" is too large: at most 10^12 connections per unit"
        )),
    }
}

/// The error for a rate in bytes ("10MBps"): rates are in bits, as networking writes
/// them, so a capital B is rejected rather than read as bits; the hint gives the rate in
/// bits that the user probably meant.
fn bytes_rate_hint(text: &str, number: &str, prefix: &str) -> String {
    let scale = RATE_UNITS
        .iter()
        .find(|(name, _)| name.strip_suffix("bps") == Some(&prefix.to_ascii_lowercase()))
        .map(|(_, scale)| *scale);
    let bits = scale.and_then(|scale| scale_decimal(number, scale.saturating_mul(8)));
    let hint = match bits.filter(|&b| b > 0) {
        Some(b) => format!(": {text} is {}", format_rate(b)),
        None => String::new(),
    };
    format!(
        "rate \"{text}\" is in bytes per second (B), but rates are in bits per second (b), as in \"10Mbps\"{hint}"
    )
}

/// Writes bits per second in the largest unit that divides them exactly ("80Mbps").
pub fn format_rate(bps: u64) -> String {
    let (name, scale) = [
        ("Gbps", 1_000_000_000),
        ("Mbps", 1_000_000),
        ("kbps", 1_000),
    ]
    .into_iter()
    .find(|(_, scale)| bps.is_multiple_of(*scale))
    .unwrap_or(("bps", 1));
    format!("\"{}{name}\"", bps / scale)
}

/// Writes nanoseconds in the largest unit that divides them exactly ("1500ms", "2min"),
/// so messages show values the way users write them.
pub fn format_duration(ns: u64) -> String {
    let unit = [
        ("h", 3_600_000_000_000),
        ("min", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
    ]
    .into_iter()
    .find(|(_, scale)| ns != 0 && ns.is_multiple_of(*scale));
    match unit {
        Some((name, scale)) => format!("{}{name}", ns / scale),
        None => format!("{ns}ns"),
    }
}

/// Splits "1.5ms" into ("1.5", "ms"). None when there is no well-formed number first.
fn split_number(s: &str) -> Option<(&str, &str)> {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(end);
    let mut parts = number.split('.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    let well_formed =
        parts.next().is_none() && !int.is_empty() && frac.is_none_or(|f| !f.is_empty());
    well_formed.then_some((number, unit))
}

/// Computes `number × scale` exactly, rounding the fraction to the nearest integer.
/// None on overflow of u64.
fn scale_decimal(number: &str, scale: u64) -> Option<u64> {
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    let mut whole: u128 = 0;
    for d in int.bytes() {
        whole = whole.checked_mul(10)?.checked_add(u128::from(d - b'0'))?;
    }
    let mut result = whole.checked_mul(u128::from(scale))?;
    // 18 fractional digits are far below 1 ns at any scale and keep u128 from overflowing.
    let frac = &frac[..frac.len().min(18)];
    if !frac.is_empty() {
        let mut num: u128 = 0;
        for d in frac.bytes() {
            num = num * 10 + u128::from(d - b'0');
        }
        let den = 10u128.pow(frac.len() as u32);
        result = result.checked_add((num * u128::from(scale) * 2 + den) / (den * 2))?;
    }
    u64::try_from(result).ok()
}

/// Accepts a string with a unit, or a bare number that `parse` accepts ("0" for durations).
struct UnitVisitor {
    hint: &'static str,
    /// Unit suggested when a bare number is given.
    unit: &'static str,
    parse: fn(&str) -> Result<u64, String>,
}

impl Visitor<'_> for UnitVisitor {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.hint)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
        (self.parse)(v).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        // A bare 0 is unambiguous for durations; anything else needs a unit.
        match (self.parse)(&v.to_string()) {
            Ok(n) => Ok(n),
            Err(_) => Err(E::custom(format!(
                "expected {}, found the number {v}; write it as a string with a unit, e.g. \"{v}{}\"",
                self.hint, self.unit
            ))),
        }
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<u64, E> {
        Err(E::custom(format!(
            "expected {}, found the number {v}; write it as a string with a unit",
            self.hint
        )))
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UnitVisitor {
            hint: DURATION_HINT,
            unit: "ms",
            parse: parse_duration,
        })
        .map(Duration)
    }
}

/// Like [`Duration`], plus "none"; bare numbers get the same "add a unit" hint.
struct DurationOrNoneVisitor(UnitVisitor);

impl Visitor<'_> for DurationOrNoneVisitor {
    type Value = Option<u64>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, r#"{} or "none""#, DURATION_HINT)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<u64>, E> {
        if v.trim() == "none" {
            return Ok(None);
        }
        parse_duration(v)
            .map(Some)
            .map_err(|e| E::custom(format!(r#"{e} (or "none")"#)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Option<u64>, E> {
        self.0.visit_i64(v).map(Some)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Option<u64>, E> {
        self.0.visit_u64(v).map(Some)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Option<u64>, E> {
        self.0.visit_f64(v).map(Some)
    }
}

impl<'de> Deserialize<'de> for DurationOrNone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DurationOrNoneVisitor(UnitVisitor {
            hint: DURATION_HINT,
            unit: "s",
            parse: parse_duration,
        }))
        .map(DurationOrNone)
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UnitVisitor {
            hint: RATE_HINT,
            unit: "Mbps",
            parse: parse_rate,
        })
        .map(Rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Evenly spaced arrivals: rate × duration of them (rounded down), in order,
        /// every one inside the duration.
        #[test]
        fn constant_arrivals_fill_the_duration(
            micro in 1u64..1_000_000_000_000,
            unit in 0usize..5,
            duration in 1u64..1_000_000_000_000,
        ) {
            let rate = ConnRate { micro, per_ns: CONN_RATE_UNITS[unit].1 };
            let count = rate.count_in(duration);
            proptest::prop_assume!(count > 0 && count < 1 << 40);
            let count = count as u64;
            proptest::prop_assert!(rate.offset_of(count - 1) < duration);
            let per = 1_000_000 * u128::from(rate.per_ns);
            let wanted = u128::from(micro) * u128::from(duration);
            proptest::prop_assert!(u128::from(count) * per <= wanted);
            proptest::prop_assert!(u128::from(count + 1) * per > wanted);
            proptest::prop_assert!(rate.offset_of(count - 1) <= rate.offset_of(count));
        }
    }

    #[test]
    fn connection_rates() {
        let r = parse_conn_rate("800/s").unwrap();
        assert_eq!(r.count_in(10_000_000_000), 8000);
        assert_eq!(r.offset_of(1), 1_250_000);
        let r = parse_conn_rate(" 2.5 / ms ").unwrap();
        assert_eq!(r.count_in(1_000_000_000), 2500);
        assert_eq!(r.offset_of(5), 2_000_000);
        assert_eq!(
            parse_conn_rate("30/min").unwrap().count_in(60_000_000_000),
            30
        );
        for bad in ["800", "800/day", "0/s", "-1/s", "x/s", "1e3/s", "800s/s"] {
            assert!(parse_conn_rate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations() {
        let cases = [
            ("0", 0),
            ("250ns", 250),
            ("10us", 10_000),
            ("1.5ms", 1_500_000),
            ("200ms", 200_000_000),
            ("2s", 2_000_000_000),
            ("1.25s", 1_250_000_000),
            ("2min", 120_000_000_000),
            ("1h", 3_600_000_000_000),
            ("0s", 0),
            (" 3 ms ", 3_000_000),
            ("0.0000000015s", 2), // 1.5 ns rounds to 2
            ("1.1s", 1_100_000_000),
        ];
        for (text, ns) in cases {
            assert_eq!(parse_duration(text), Ok(ns), "{text}");
        }
    }

    #[test]
    fn bad_durations() {
        let err = parse_duration("2 parsecs").unwrap_err();
        assert_eq!(
            err,
            r#"expected a duration such as "200ms", "2s" or "2min", found "2 parsecs""#
        );
        assert!(parse_duration("-5ms").unwrap_err().contains("negative"));
        assert!(parse_duration("5").unwrap_err().contains("unit is missing"));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("ms").is_err());
        assert!(parse_duration("1..5s").is_err());
        assert!(parse_duration("1.s").is_err());
        assert!(parse_duration(".5s").is_err());
        assert!(parse_duration("1e3ms").is_err());
        assert!(parse_duration("1S").is_err());
        assert!(
            parse_duration("99999999999h")
                .unwrap_err()
                .contains("too large")
        );
        assert_eq!(parse_duration("100000h"), Ok(MAX_DURATION_NS));
        assert_eq!(
            parse_duration("100000.000000001h").unwrap_err(),
            r#"duration "100000.000000001h" is too large: durations are from 0 to 100000h (about 11 years)"#
        );
        assert!(parse_duration("18446744073s").is_err());
        assert!(
            parse_duration("99999999999999999999999999999999999999999999ns")
                .unwrap_err()
                .contains("too large")
        );
    }

    #[test]
    fn formats_durations() {
        assert_eq!(format_duration(0), "0ns");
        assert_eq!(format_duration(1_500_000_000), "1500ms");
        assert_eq!(format_duration(120_000_000_000), "2min");
        assert_eq!(format_duration(7), "7ns");
    }

    #[test]
    fn rates() {
        let cases = [
            ("10Mbps", 10_000_000),
            ("1.5Gbps", 1_500_000_000),
            ("100kbps", 100_000),
            ("9600bps", 9600),
            ("56Kbps", 56_000),
        ];
        for (text, bps) in cases {
            assert_eq!(parse_rate(text), Ok(bps), "{text}");
        }
    }

    #[test]
    fn bad_rates() {
        let err = parse_rate("fast").unwrap_err();
        assert_eq!(
            err,
            r#"expected a rate such as "10Mbps", "1.5Gbps" or "9600bps", found "fast""#
        );
        assert!(parse_rate("0bps").unwrap_err().contains("zero"));
        assert!(parse_rate("10").unwrap_err().contains("unit is missing"));
        assert!(parse_rate("-1Mbps").unwrap_err().contains("negative"));
        assert!(parse_rate("10MB/s").is_err());
        assert_eq!(
            parse_rate("10MBps").unwrap_err(),
            r#"rate "10MBps" is in bytes per second (B), but rates are in bits per second (b), as in "10Mbps": 10MBps is "80Mbps""#
        );
        assert!(
            parse_rate("1.5kBps")
                .unwrap_err()
                .ends_with(r#"is "12kbps""#)
        );
        assert!(parse_rate("3Bps").unwrap_err().ends_with(r#"is "24bps""#));
        assert_eq!(parse_rate("1000Gbps"), Ok(MAX_RATE_BPS));
        assert!(
            parse_rate("1001Gbps")
                .unwrap_err()
                .contains("1bps to 1000Gbps")
        );
        assert!(
            parse_rate("99999999999999Gbps")
                .unwrap_err()
                .contains("too large")
        );
    }

    #[derive(Debug, serde::Deserialize)]
    struct Probe {
        d: Duration,
        r: Option<Rate>,
    }

    #[derive(Debug, serde::Deserialize)]
    struct Timeout {
        t: DurationOrNone,
    }

    #[test]
    fn duration_or_none() {
        let t: Timeout = toml::from_str("t = \"none\"").unwrap();
        assert_eq!(t.t, DurationOrNone(None));
        let t: Timeout = toml::from_str("t = \"60s\"").unwrap();
        assert_eq!(t.t, DurationOrNone(Some(60_000_000_000)));
        let err = toml::from_str::<Timeout>("t = \"never\"").unwrap_err();
        assert!(err.message().contains("(or \"none\")"), "{}", err.message());
        let err = toml::from_str::<Timeout>("t = 60").unwrap_err();
        assert!(err.message().contains("\"60s\""), "{}", err.message());
    }

    #[test]
    fn deserialize_from_toml() {
        let p: Probe = toml::from_str("d = \"1.5ms\"\nr = \"10Mbps\"").unwrap();
        assert_eq!(p.d, Duration(1_500_000));
        assert_eq!(p.r, Some(Rate(10_000_000)));
        let p: Probe = toml::from_str("d = 0").unwrap();
        assert_eq!(p.d, Duration(0));
        let err = toml::from_str::<Probe>("d = 5").unwrap_err();
        assert!(err.message().contains("\"5ms\""), "{}", err.message());
        let err = toml::from_str::<Probe>("d = \"2 parsecs\"").unwrap_err();
        assert!(err.message().contains("found \"2 parsecs\""));
        assert_eq!(err.span(), Some(4..15));
    }
}
