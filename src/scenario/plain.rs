//! serde's and toml's messages in the words of a scenario file.
//!
//! serde words its errors for Rust programmers: "invalid type: map, expected struct
//! GroupLinkDef", "invalid length 0, expected struct TcpSettings with 28 elements", and a
//! TOML date-time shows up as a map with the private key `$__toml_private_datetime`. A
//! user wrote TOML, not Rust, so each message is rebuilt here as "expected WHAT, found
//! WHAT" in TOML's terms, with every type of the schema named by the table it stands for.

/// The schema's types as a user knows them (see `schema.rs`).
const TABLES: [(&str, &str); 14] = [
    ("ScenarioFile", "a scenario (a TOML document of tables)"),
    (
        "TcpSettings",
        "a table of TCP settings, e.g. { mss = 1000 } or a [tcp] section",
    ),
    ("HostDef", "a [[host]] table"),
    ("RouterDef", "a [[router]] table"),
    ("GroupDef", "a [[group]] table"),
    (
        "GroupLinkDef",
        r#"a table of link properties, e.g. { delay = "5ms" }"#,
    ),
    ("LinkDef", "a [[link]] table"),
    (
        "LinkProps",
        r#"a table of link properties, e.g. { delay = "5ms" }"#,
    ),
    ("FaultDef", "a [[fault]] table"),
    ("ServerDef", "a [[server]] table"),
    ("ClientDef", "a [[client]] table"),
    ("ExpectDef", "an [[expect]] table"),
    ("InjectDef", "an [[inject]] table"),
    (
        "FaultAction",
        r#"one of "drop", "delay", "duplicate", "partition" or "crash""#,
    ),
];

/// The private key toml uses to carry a date-time through serde.
pub const DATETIME_KEY: &str = "$__toml_private_datetime";

/// `msg` (one of serde's or toml's messages about the value written as `value_text`) in
/// the scenario's words.
pub fn message(msg: &str, value_text: &str) -> String {
    for (prefix, found) in [
        ("invalid type: ", None),
        ("invalid value: ", None),
        ("invalid length ", Some("an array")),
    ] {
        if let Some(rest) = msg.strip_prefix(prefix)
            && let Some((what, expected)) = rest.split_once(", expected ")
        {
            let found = found.map_or_else(|| found_words(what, value_text), str::to_string);
            return format!("expected {}, found {found}", expected_words(expected));
        }
    }
    expected_words(msg)
}

/// What serde found ("map", "integer `5`", "string \"x\""), as TOML calls it.
fn found_words(what: &str, value_text: &str) -> String {
    let ticked = |prefix: &str| {
        what.strip_prefix(prefix)
            .map(|v| v.trim_matches('`').to_string())
    };
    if what == "map" {
        return if is_datetime(value_text) {
            format!("the date-time {}", value_text.trim())
        } else {
            "a table".to_string()
        };
    }
    if what == "sequence" {
        return "an array".to_string();
    }
    if let Some(s) = what.strip_prefix("string ") {
        return format!("the string {s}");
    }
    if let Some(n) = ticked("integer ") {
        return format!("the integer {n}");
    }
    if let Some(n) = ticked("floating point ") {
        return format!("the number {n}");
    }
    if let Some(b) = ticked("boolean ") {
        return b;
    }
    what.to_string()
}

/// What serde expected, in words: type names become the tables they stand for, Rust's
/// integer types their ranges.
fn expected_words(expected: &str) -> String {
    let integers = [
        ("u8", "an integer from 0 to 255"),
        ("u16", "an integer from 0 to 65535"),
        ("u32", "an integer from 0 to 4294967295"),
        // TOML integers are 64-bit signed, so this is the most a file can write.
        ("u64", "an integer from 0 to 9223372036854775807"),
        ("f64", "a number"),
        ("a sequence", "an array"),
        ("a boolean", "true or false"),
    ];
    if let Some((_, words)) = integers.iter().find(|(name, _)| *name == expected) {
        return words.to_string();
    }
    let mut out = expected.to_string();
    for kind in ["struct ", "enum "] {
        while let Some(at) = out.find(kind) {
            let name_start = at + kind.len();
            let name_end = out[name_start..]
                .find(|c: char| !c.is_alphanumeric())
                .map_or(out.len(), |i| name_start + i);
            let name = &out[name_start..name_end];
            let words = TABLES
                .iter()
                .find(|(t, _)| *t == name)
                .map_or("a table", |(_, w)| w);
            // "struct TcpSettings with 28 elements": the count is serde's, not the user's.
            let tail = out[name_end..]
                .strip_prefix(" with ")
                .and_then(|t| t.find(" elements").map(|i| name_end + 6 + i + 9))
                .unwrap_or(name_end);
            out.replace_range(at..tail, words);
        }
    }
    out.replace("unknown variant", "unknown value")
        .replace("unknown field", "unknown key")
}

/// A TOML date-time such as 1979-05-27T07:32:00Z (toml hands it to serde as a table).
pub fn is_datetime(text: &str) -> bool {
    text.trim().parse::<toml::value::Datetime>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_serde_messages() {
        assert_eq!(
            message(
                "invalid type: map, expected struct GroupLinkDef",
                "{ a = 1 }"
            ),
            r#"expected a table of link properties, e.g. { delay = "5ms" }, found a table"#
        );
        assert_eq!(
            message(
                "invalid length 0, expected struct TcpSettings with 28 elements",
                "[]"
            ),
            "expected a table of TCP settings, e.g. { mss = 1000 } or a [tcp] section, found an array"
        );
        assert_eq!(
            message("invalid type: map, expected u16", "1979-05-27T07:32:00Z"),
            "expected an integer from 0 to 65535, found the date-time 1979-05-27T07:32:00Z"
        );
        assert_eq!(
            message("invalid value: integer `-1`, expected u64", "-1"),
            "expected an integer from 0 to 9223372036854775807, found the integer -1"
        );
        assert_eq!(
            message("invalid type: sequence, expected a boolean", "[1]"),
            "expected true or false, found an array"
        );
        assert_eq!(
            message(
                "invalid type: floating point `NaN`, expected a sequence number",
                "nan"
            ),
            "expected a sequence number, found the number NaN"
        );
        assert_eq!(
            message("invalid type: integer `1`, expected struct HostDef", "1"),
            "expected a [[host]] table, found the integer 1"
        );
    }
}
