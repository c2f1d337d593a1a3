//! A small JSON object writer for the per-event lines of `--format json`.
//!
//! It formats straight into a reused buffer, so a line costs no `serde_json::Value` (a
//! map of owned strings) per event. It prints what serde_json printed for such a value,
//! byte for byte: compact, keys in sorted order (serde_json's default map is a BTreeMap),
//! integers as decimal, and serde_json's string escapes (`\"`, `\\`, `\b`, `\f`, `\n`,
//! `\r`, `\t`, other control characters as `\u00xx`; everything else as it is).

use std::fmt::{self, Display, Write};

/// One field's value.
#[derive(Clone, Copy)]
pub enum Val<'a> {
    Null,
    Bool(bool),
    U64(u64),
    Str(&'a str),
    /// A string that a `Display` writes, escaped on the way.
    Text(&'a dyn Display),
    /// Already JSON (an array of numbers, say), written unchanged.
    Raw(&'a dyn Display),
}

impl From<bool> for Val<'_> {
    fn from(b: bool) -> Self {
        Val::Bool(b)
    }
}

impl From<u64> for Val<'_> {
    fn from(n: u64) -> Self {
        Val::U64(n)
    }
}

impl From<u32> for Val<'_> {
    fn from(n: u32) -> Self {
        Val::U64(n.into())
    }
}

impl From<u16> for Val<'_> {
    fn from(n: u16) -> Self {
        Val::U64(n.into())
    }
}

impl<'a> From<&'a str> for Val<'a> {
    fn from(s: &'a str) -> Self {
        Val::Str(s)
    }
}

impl<'a, T: Into<Val<'a>>> From<Option<T>> for Val<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Val::Null, Into::into)
    }
}

/// The most fields an event line has, with room to spare.
const MAX_FIELDS: usize = 24;

/// The fields of one object, gathered on the stack and written in key order. Each key
/// comes with its first eight bytes as a big-endian number (see [`prefix`]), so sorting
/// mostly compares integers rather than calling `memcmp` per comparison.
pub struct Object<'a> {
    fields: [(u64, &'static str, Val<'a>); MAX_FIELDS],
    len: usize,
}

impl Default for Object<'_> {
    fn default() -> Self {
        Object {
            fields: [(0, "", Val::Null); MAX_FIELDS],
            len: 0,
        }
    }
}

/// The first eight bytes of `key`, zero-padded, as a big-endian number: ordering these,
/// then the whole keys on a tie, is the keys' byte order (a key is never a NUL byte).
fn prefix(key: &str) -> u64 {
    let mut bytes = [0u8; 8];
    let n = key.len().min(8);
    bytes[..n].copy_from_slice(&key.as_bytes()[..n]);
    u64::from_be_bytes(bytes)
}

impl<'a> Object<'a> {
    /// Adds the field `key`, which must be new to this object and need no escaping (the
    /// keys are the writer's own literals): checked in debug builds, not paid for per
    /// field in release ones.
    pub fn set(&mut self, key: &'static str, v: impl Into<Val<'a>>) {
        let v = v.into();
        debug_assert!(
            self.fields[..self.len].iter().all(|f| f.1 != key),
            "{key} set twice"
        );
        debug_assert!(key.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\'));
        assert!(
            self.len < MAX_FIELDS,
            "a JSON line has at most {MAX_FIELDS} fields"
        );
        self.fields[self.len] = (prefix(key), key, v);
        self.len += 1;
    }

    /// Appends the object, keys sorted, to `out`.
    pub fn write(mut self, out: &mut String) {
        let fields = &mut self.fields[..self.len];
        fields.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
        out.push('{');
        for (i, (_, key, v)) in fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('"');
            out.push_str(key);
            out.push_str("\":");
            value(out, *v);
        }
        out.push('}');
    }
}

fn value(out: &mut String, v: Val) {
    match v {
        Val::Null => out.push_str("null"),
        Val::Bool(b) => out.push_str(if b { "true" } else { "false" }),
        Val::Str(s) => string(out, s),
        Val::U64(n) => super::digits::push_decimal(out, n),
        // Writing into a String cannot fail.
        Val::Text(d) => {
            out.push('"');
            let _ = write!(Escaped(out), "{d}");
            out.push('"');
        }
        Val::Raw(d) => {
            let _ = write!(out, "{d}");
        }
    }
}

/// Appends `s` as a JSON string, quoted and escaped.
pub fn string(out: &mut String, s: &str) {
    out.push('"');
    escape(out, s);
    out.push('"');
}

/// Appends `s` with serde_json's escapes; runs that need none are copied whole.
fn escape(out: &mut String, s: &str) {
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let short = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            0x0c => "\\f",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..0x20 => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if short.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(short);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

/// A `fmt::Write` that escapes what is written through it.
struct Escaped<'a>(&'a mut String);

impl Write for Escaped<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        escape(self.0, s);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TRICKY: &[&str] = &[
        "",
        "plain",
        "quote \" and backslash \\",
        "\u{0}\u{1}\u{7}\u{8}\t\n\u{b}\u{c}\r\u{1b}\u{1f} \u{7f}",
        "é ü — 中文 🦀",
        "</script> & 'single'",
        "\\u0000",
    ];

    fn ours(s: &str) -> String {
        let mut out = String::new();
        string(&mut out, s);
        out
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        for s in TRICKY {
            assert_eq!(ours(s), serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn objects_print_as_serde_json_values_do() {
        let name = "a\"b\nc";
        let shown = format_args!("{name}:{}", 80).to_string();
        let mut o = Object::default();
        o.set("z", 1u64);
        o.set("kind", "seg\\ment");
        o.set("a", Val::Text(&shown));
        o.set("m", None::<u16>);
        o.set("b", true);
        o.set("raw", Val::Raw(&"[[1,2],[3,4]]"));
        o.set("y", u64::MAX);
        let mut out = String::new();
        o.write(&mut out);
        let want = serde_json::json!({
            "z": 1, "y": u64::MAX, "kind": "seg\\ment", "a": shown, "m": null, "b": true,
            "raw": [[1, 2], [3, 4]],
        });
        assert_eq!(out, want.to_string());
    }

    proptest! {
        #[test]
        fn any_string_escapes_as_serde_json(s in any::<String>()) {
            prop_assert_eq!(ours(&s), serde_json::to_string(&s).unwrap());
        }

        #[test]
        fn text_through_display_escapes_as_serde_json(s in "[\\x00-\\x7f]{0,40}") {
            let mut o = Object::default();
            o.set("k", Val::Text(&s));
            let mut out = String::new();
            o.write(&mut out);
            prop_assert_eq!(out, serde_json::json!({ "k": s }).to_string());
        }
    }
}
