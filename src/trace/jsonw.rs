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
    /// A string made of these pieces, each escaped: no `fmt` call per piece (`why`,
    /// `link`, which every segment line has).
    Pieces(&'a [&'a str]),
    /// An endpoint's name, as [`super::Names::endpoint`] writes it.
    Endpoint(&'a super::Names, crate::tcp::Endpoint),
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

/// The fields of one object, gathered on the stack and written in key order.
pub struct Object<'a> {
    fields: [(&'static str, Val<'a>); MAX_FIELDS],
    len: usize,
}

impl Default for Object<'_> {
    fn default() -> Self {
        Object {
            fields: [("", Val::Null); MAX_FIELDS],
            len: 0,
        }
    }
}

/// One shape of object (its keys as set, by address): the keys in sorted order, each as
/// the text before its value (`{"ack":`, `,"dst":`, …), so the lines of a run, which come
/// in a handful of shapes, are sorted once per shape and write one piece per key. Equal
/// addresses are equal keys; a literal at two addresses only costs a second shape.
struct Shape {
    keys: [usize; MAX_FIELDS],
    len: usize,
    /// Index into the fields, in key order.
    order: [u8; MAX_FIELDS],
    /// The pieces before each value, one after another; `ends[i]` ends piece `i`.
    text: String,
    ends: [usize; MAX_FIELDS],
}

impl Shape {
    fn new(fields: &[(&'static str, Val)], keys: [usize; MAX_FIELDS]) -> Shape {
        let mut order = [0u8; MAX_FIELDS];
        for (i, o) in order.iter_mut().enumerate() {
            *o = i as u8;
        }
        order[..fields.len()].sort_unstable_by_key(|&i| fields[i as usize].0);
        let mut text = String::new();
        let mut ends = [0; MAX_FIELDS];
        for (i, &at) in order[..fields.len()].iter().enumerate() {
            text.push(if i == 0 { '{' } else { ',' });
            text.push('"');
            text.push_str(fields[at as usize].0);
            text.push_str("\":");
            ends[i] = text.len();
        }
        Shape {
            keys,
            len: fields.len(),
            order,
            text,
            ends,
        }
    }

    /// Writes the object: each key's piece, then its value.
    fn write(&self, fields: &[(&'static str, Val)], out: &mut String) {
        let mut start = 0;
        for (&at, &end) in self.order[..self.len].iter().zip(&self.ends) {
            out.push_str(&self.text[start..end]);
            value(out, fields[at as usize].1);
            start = end;
        }
        if self.len == 0 {
            out.push('{');
        }
        out.push('}');
    }
}

/// Shapes remembered per thread (an event kind with its optional fields is one shape).
const SHAPES: usize = 16;

thread_local! {
    static SHAPES_SEEN: std::cell::RefCell<(Vec<Shape>, usize)> = const {
        std::cell::RefCell::new((Vec::new(), 0))
    };
}

/// Writes `fields` in key order through their shape: remembered, or made and remembered
/// (replacing the oldest once there are [`SHAPES`]).
fn write_shaped(fields: &[(&'static str, Val)], out: &mut String) {
    let mut keys = [0; MAX_FIELDS];
    for (k, f) in keys.iter_mut().zip(fields) {
        *k = f.0.as_ptr() as usize;
    }
    SHAPES_SEEN.with_borrow_mut(|(shapes, next)| {
        let len = fields.len();
        let at = match shapes.iter().position(|s| s.len == len && s.keys == keys) {
            Some(at) => at,
            None if shapes.len() < SHAPES => {
                shapes.push(Shape::new(fields, keys));
                shapes.len() - 1
            }
            None => {
                let at = *next;
                shapes[at] = Shape::new(fields, keys);
                *next = (at + 1) % SHAPES;
                at
            }
        };
        shapes[at].write(fields, out);
    })
}

impl<'a> Object<'a> {
    /// Adds the field `key`, which must be new to this object and need no escaping (the
    /// keys are the writer's own literals): checked in debug builds, not paid for per
    /// field in release ones.
    pub fn set(&mut self, key: &'static str, v: impl Into<Val<'a>>) {
        let v = v.into();
        debug_assert!(
            self.fields[..self.len].iter().all(|f| f.0 != key),
            "{key} set twice"
        );
        debug_assert!(key.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\'));
        assert!(
            self.len < MAX_FIELDS,
            "a JSON line has at most {MAX_FIELDS} fields"
        );
        self.fields[self.len] = (key, v);
        self.len += 1;
    }

    /// Appends the object, keys sorted, to `out`.
    pub fn write(self, out: &mut String) {
        write_shaped(&self.fields[..self.len], out);
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
        Val::Pieces(pieces) => {
            out.push('"');
            for p in pieces {
                escape(out, p);
            }
            out.push('"');
        }
        Val::Endpoint(names, e) => match names.host_of(e) {
            Some(host) => {
                out.push('"');
                escape(out, host);
                out.push(':');
                super::digits::push_decimal(out, e.port.into());
                out.push('"');
            }
            None => value(out, Val::Text(&names.endpoint_name(e))),
        },
    }
}

/// Appends `s` as a JSON string, quoted and escaped.
pub fn string(out: &mut String, s: &str) {
    out.push('"');
    escape(out, s);
    out.push('"');
}

/// Whether serde_json would write byte `b` of a string as it is.
fn plain(b: u8) -> bool {
    b >= 0x20 && b != b'"' && b != b'\\'
}

/// Appends `s` with serde_json's escapes; runs that need none are copied whole, and a
/// string that needs none (nearly all of them) is checked by a loop that vectorises.
fn escape(out: &mut String, s: &str) {
    // A fold, not `all`: without the early exit the check vectorises.
    if s.bytes().fold(true, |ok, b| ok & plain(b)) {
        out.push_str(s);
        return;
    }
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

    /// More shapes than are remembered, each written twice, with keys set in different
    /// orders: every line is still what serde_json prints.
    #[test]
    fn remembered_shapes_give_the_same_lines() {
        const KEYS: [&str; 6] = ["t_ns", "kind", "ack", "a", "zz", "delayed_by"];
        for round in 0..2 {
            for mask in 1..64u32 {
                let mut o = Object::default();
                let mut want = serde_json::Map::new();
                for (i, key) in KEYS.iter().enumerate().rev() {
                    if mask & (1 << i) != 0 {
                        o.set(key, u64::from(mask + round));
                        want.insert(key.to_string(), (mask + round).into());
                    }
                }
                let mut out = String::new();
                o.write(&mut out);
                assert_eq!(out, serde_json::Value::Object(want).to_string());
            }
        }
        let mut out = String::new();
        Object::default().write(&mut out);
        assert_eq!(out, "{}");
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
