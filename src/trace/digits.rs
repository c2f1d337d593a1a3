//! Decimal integers without `core::fmt`: the transcript and JSON lines print several
//! numbers per event, and `write!("{n}")` goes through the formatting machinery
//! (padding, flags, a virtual call per piece) for each one.

/// The decimal digits of `n`, written into `buf` from its end.
pub fn decimal(n: u64, buf: &mut [u8; 20]) -> &str {
    let at = fill(n, buf);
    std::str::from_utf8(&buf[at..]).expect("ASCII digits")
}

/// Appends `n` in decimal to `out`, digit by digit (no UTF-8 check of the digits).
pub fn push_decimal(out: &mut String, n: u64) {
    let mut buf = [0; 20];
    let at = fill(n, &mut buf);
    out.extend(buf[at..].iter().map(|&d| char::from(d)));
}

/// "00" to "99", so each division by 100 yields two digits.
const PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Writes the digits of `n` at the end of `buf`; returns where they start.
fn fill(n: u64, buf: &mut [u8; 20]) -> usize {
    let mut n = n;
    let mut at = buf.len();
    while n >= 100 {
        let pair = (n % 100) as usize * 2;
        n /= 100;
        at -= 2;
        buf[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if n >= 10 {
        at -= 2;
        buf[at..at + 2].copy_from_slice(&PAIRS[n as usize * 2..n as usize * 2 + 2]);
    } else {
        at -= 1;
        buf[at] = b'0' + n as u8;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn edges() {
        for n in [0, 9, 10, 99, 100, u64::from(u32::MAX), u64::MAX] {
            assert_eq!(decimal(n, &mut [0; 20]), n.to_string());
        }
    }

    proptest! {
        #[test]
        fn equals_display(n in any::<u64>()) {
            let mut s = String::from("x");
            push_decimal(&mut s, n);
            prop_assert_eq!(s, format!("x{n}"));
        }
    }
}
