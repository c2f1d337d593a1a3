//! TCP control bits (RFC 9293 §3.1) as a small bit set.

use std::fmt;

/// The control bits of a segment. Plain data so a segment stays `Copy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(pub u8);

impl Flags {
    pub const FIN: Flags = Flags(0x01);
    pub const SYN: Flags = Flags(0x02);
    pub const RST: Flags = Flags(0x04);
    pub const PSH: Flags = Flags(0x08);
    pub const ACK: Flags = Flags(0x10);
    pub const URG: Flags = Flags(0x20);
    pub const NONE: Flags = Flags(0);

    const NAMES: [(Flags, &'static str, char); 6] = [
        (Flags::SYN, "SYN", 'S'),
        (Flags::FIN, "FIN", 'F'),
        (Flags::RST, "RST", 'R'),
        (Flags::PSH, "PSH", 'P'),
        (Flags::URG, "URG", 'U'),
        (Flags::ACK, "ACK", '.'),
    ];

    pub fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn intersects(self, other: Flags) -> bool {
        self.0 & other.0 != 0
    }

    /// Parses "SYN,ACK", "SYN+ACK", "fin" or "" (no flags).
    pub fn parse(s: &str) -> Option<Flags> {
        let mut out = Flags::NONE;
        for part in s.split([',', '+', '|', ' ']).filter(|p| !p.is_empty()) {
            let part = part.to_ascii_uppercase();
            let (f, _, _) = Flags::NAMES.iter().find(|(_, n, _)| *n == part)?;
            out = out | *f;
        }
        Some(out)
    }

    /// Comma-separated long names, e.g. "SYN,ACK" (the JSON contract's form).
    pub fn long_names(self) -> String {
        self.long().to_string()
    }

    /// [`Self::long_names`] as a `Display`, for writers that format without a `String`.
    pub fn long(self) -> LongNames {
        LongNames(self)
    }
}

/// The comma-separated long names of some flags; see [`Flags::long`].
pub struct LongNames(Flags);

impl fmt::Display for LongNames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (flag, name, _) in Flags::NAMES {
            if self.0.contains(flag) {
                if !first {
                    f.write_str(",")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

impl std::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

/// tcpdump's short form: `S`, `S.`, `F.`, `R`, `P.`, `.` for a bare ACK.
impl fmt::Display for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (flag, _, c) in Flags::NAMES {
            if self.contains(flag) {
                write!(f, "{c}")?;
            }
        }
        if self.0 == 0 {
            f.write_str("none")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print() {
        let sa = Flags::parse("SYN+ACK").unwrap();
        assert_eq!(sa, Flags::SYN | Flags::ACK);
        assert_eq!(sa.long_names(), "SYN,ACK");
        assert_eq!(sa.to_string(), "S.");
        assert_eq!(Flags::parse("fin,ack").unwrap().to_string(), "F.");
        assert_eq!(Flags::ACK.to_string(), ".");
        assert!(Flags::parse("SYNACK").is_none());
    }
}
