//! Decimal integers without `core::fmt`: the transcript and JSON lines print several
//! numbers per event, and `write!("{n}")` goes through the formatting machinery
//! (padding, flags, a virtual call per piece) for each one.

/// The decimal digits of `n`, written into `buf` from its end.
pub fn decimal(n: u64, buf: &mut [u8; 20]) -> &str {
    let mut n = n;
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[at..]).expect("ASCII digits")
}

/// Appends `n` in decimal to `out`.
pub fn push_decimal(out: &mut String, n: u64) {
    out.push_str(decimal(n, &mut [0; 20]));
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
