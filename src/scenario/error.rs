//! One error type for everything that can be wrong with a scenario file.
//!
//! Users fix scenario files by hand, so every error points at a file, line and column,
//! names the key involved and says what was expected, with the offending line quoted.

use std::fmt;
use std::ops::Range;

use super::plain;

/// A problem found while reading, parsing or validating a scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file path (or the origin given to `load_str`).
    pub file: String,
    /// 1-based line; 0 when the error is not about a place in the file (unreadable file).
    pub line: usize,
    /// 1-based column in characters (not bytes); 0 together with `line`.
    pub col: usize,
    /// The key the error is about, when there is one.
    pub key: Option<String>,
    pub message: String,
    /// The text of line `line`, quoted under the message.
    pub source_line: String,
    /// How many characters from `col` to underline (at least 1 when `line` > 0).
    pub width: usize,
}

impl ScenarioError {
    /// An error at byte range `span` of `src`.
    pub fn at(
        src: &str,
        file: &str,
        span: Range<usize>,
        key: Option<String>,
        message: String,
    ) -> ScenarioError {
        let start = floor_char_boundary(src, span.start);
        let end = floor_char_boundary(src, span.end.max(start));
        let line_start = src[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = src[start..].find('\n').map_or(src.len(), |i| start + i);
        let source_line = src[line_start..line_end].trim_end_matches('\r');
        ScenarioError {
            file: file.to_string(),
            line: src[..start].matches('\n').count() + 1,
            col: src[line_start..start].chars().count() + 1,
            key,
            message,
            source_line: source_line.to_string(),
            width: src[start..end.min(line_end)].chars().count().max(1),
        }
    }

    /// An error about the file as a whole, e.g. it cannot be read.
    pub fn whole_file(file: &str, message: String) -> ScenarioError {
        ScenarioError {
            file: file.to_string(),
            line: 0,
            col: 0,
            key: None,
            message,
            source_line: String::new(),
            width: 0,
        }
    }
}

/// 1-based (line, column in characters) of byte `offset` in `src`; clamps out-of-range offsets.
pub fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let e = ScenarioError::at(src, "", offset..offset, None, String::new());
    (e.line, e.col)
}

/// Largest char boundary ≤ `i` (and ≤ len), so slicing never panics on multi-byte text.
fn floor_char_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            return write!(f, "error: {}: {}", self.file, self.message);
        }
        writeln!(
            f,
            "error: {}:{}:{}: {}",
            self.file, self.line, self.col, self.message
        )?;
        let number = self.line.to_string();
        let pad = " ".repeat(number.len());
        writeln!(f, "{pad} |")?;
        writeln!(f, "{number} | {}", self.source_line)?;
        // Keep tabs before the caret so it lines up under the quoted text.
        let lead: String = self
            .source_line
            .chars()
            .take(self.col.saturating_sub(1))
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        write!(f, "{pad} | {lead}{}", "^".repeat(self.width))
    }
}

impl std::error::Error for ScenarioError {}

/// Turns a TOML parse or schema error into a [`ScenarioError`] that names the key and
/// the table it is in, with serde's type names replaced by plain words.
pub fn from_toml(src: &str, file: &str, err: &toml::de::Error) -> ScenarioError {
    let span = err.span().unwrap_or(0..0);
    let span_text = src.get(span.clone()).unwrap_or("");
    let raw = plain::message(&err.message().replace('\n', "; "), span_text);
    // The text parses as plain TOML exactly when the error is about the schema.
    let syntax_error = src.parse::<toml::Table>().is_err();
    let (key, message) = if syntax_error {
        let key = backticked_after(&raw, "duplicate key `");
        (key, format!("TOML syntax error: {raw}"))
    } else if raw.contains(plain::DATETIME_KEY) {
        // A date-time where a table belongs: toml passes it to serde as a table.
        let key = key_before_value(src, span.start);
        let what = key.as_ref().map_or(String::new(), |k| format!("`{k}` "));
        let message = format!(
            "{what}{}: expected a table, found the date-time {}",
            enclosing_table(src, span.start),
            span_text.trim()
        );
        (key, message)
    } else if let Some(key) = backticked_after(&raw, "unknown key `") {
        let expected = raw.split_once(", expected ").map(|(_, rest)| rest);
        let hint = expected
            .and_then(|list| {
                closest(
                    &key,
                    list.trim_start_matches("one of ")
                        .split(", ")
                        .map(|k| k.trim_matches('`')),
                )
            })
            .map(|k| format!(" (did you mean `{k}`?)"))
            .unwrap_or_default();
        let expected = expected
            .map(|rest| format!(": expected {rest}"))
            .unwrap_or_default();
        let message = format!(
            "unknown key `{key}` {}{expected}{hint}",
            enclosing_table(src, span.start)
        );
        (Some(key), message)
    } else if let Some(key) = backticked_after(&raw, "missing field `") {
        let message = format!(
            "{} is missing required key `{key}`",
            table_at(src, span.start, span_text)
        );
        (Some(key), message)
    } else if let Some(key) = key_before_value(src, span.start) {
        let message = format!("`{key}` {}: {raw}", enclosing_table(src, span.start));
        (Some(key), message)
    } else {
        (None, raw)
    };
    ScenarioError::at(src, file, span, key, message)
}

/// The name between backticks following `prefix` in `msg`, e.g. "lose" in "unknown field `lose`".
fn backticked_after(msg: &str, prefix: &str) -> Option<String> {
    let rest = &msg[msg.find(prefix)? + prefix.len()..];
    Some(rest[..rest.find('`')?].to_string())
}

/// The candidate closest to `word` if it is a plausible typo (at most 2 edits away).
pub fn closest<'c>(word: &str, candidates: impl Iterator<Item = &'c str>) -> Option<&'c str> {
    candidates
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= 2 && *d < word.chars().count())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (row[j + 1] + 1)
                .min(row[j] + 1)
                .min(diag + usize::from(ca != *cb));
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// The key assigned at `offset`: for `mss = "x"` with `offset` at `"x"`, "mss".
fn key_before_value(src: &str, offset: usize) -> Option<String> {
    let offset = floor_char_boundary(src, offset);
    let line_start = src[..offset].rfind('\n').map_or(0, |i| i + 1);
    let before = src[line_start..offset].trim_end().strip_suffix('=')?;
    let key = last_key(before);
    (!key.is_empty()).then_some(key)
}

/// The trailing (possibly dotted or quoted) key of `text`, e.g. "a_to_b" in "x = 1, a_to_b ".
fn last_key(text: &str) -> String {
    let text = text.trim_end();
    let start = text
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_alphanumeric() || "_-.\"'".contains(*c)))
        .map_or(0, |(i, c)| i + c.len_utf8());
    text[start..].to_string()
}

/// Where `offset` lies, for messages: "in [[link]]", "in `a_to_b` of [[link]]",
/// "at the top level".
fn enclosing_table(src: &str, offset: usize) -> String {
    let offset = floor_char_boundary(src, offset);
    let line_start = src[..offset].rfind('\n').map_or(0, |i| i + 1);
    let prefix = &src[line_start..offset];
    // Inline table on this line (`a_to_b = { lose = 1 }`) and/or dotted key (`a_to_b.lose`).
    let mut inner = Vec::new();
    let mut rest = prefix;
    if let Some(brace) = prefix.rfind('{') {
        if let Some(owner) = prefix[..brace].trim_end().strip_suffix('=') {
            inner.push(last_key(owner));
        }
        rest = &prefix[brace + 1..];
    }
    let rest = rest.rsplit(',').next().unwrap_or("").trim();
    if let Some(dotted) = rest.strip_suffix('.') {
        inner.push(dotted.to_string());
    }
    let header = header_above(src, line_start).map(|(h, _)| h);
    let inner = inner.join(".");
    match (inner.is_empty(), header) {
        (true, Some(h)) => format!("in {h}"),
        (true, None) => "at the top level".to_string(),
        (false, Some(h)) => format!("in `{inner}` of {h}"),
        (false, None) => format!("in `{inner}`"),
    }
}

/// The nearest table header at or above byte `line_start` and the offset of its line.
fn header_above(src: &str, line_start: usize) -> Option<(String, usize)> {
    let mut end = line_start;
    loop {
        let start = src[..end.saturating_sub(1)]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let line = src[start..end].trim();
        if line.starts_with('[') {
            let close = if line.starts_with("[[") { "]]" } else { "]" };
            let header = line.find(close).map_or(line, |i| &line[..i + close.len()]);
            return Some((header.to_string(), start));
        }
        if start == 0 {
            return None;
        }
        end = start;
    }
}

/// Names the table that starts at `offset` for "missing key" messages: "[[link]] #2",
/// "[tcp]", or "this inline table".
fn table_at(src: &str, offset: usize, span_text: &str) -> String {
    let Some(first_line) = span_text.lines().next() else {
        return "this table".to_string();
    };
    let header = first_line.trim();
    if !header.starts_with("[[") {
        return if header.starts_with('[') {
            header.to_string()
        } else {
            "this inline table".to_string()
        };
    }
    let header = header.find("]]").map_or(header, |i| &header[..i + 2]);
    // Count same-named headers up to this one, so the user knows which entry it is.
    let index = src[..floor_char_boundary(src, offset)]
        .lines()
        .filter(|l| l.trim().starts_with(header))
        .count()
        + 1;
    format!("{header} #{index}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let src = "a = 1\nné = \"été\"\n";
        let off = src.find("\"été\"").unwrap();
        let e = ScenarioError::at(src, "f.toml", off..off + "\"été\"".len(), None, "m".into());
        assert_eq!((e.line, e.col, e.width), (2, 6, 5));
        assert_eq!(e.source_line, "né = \"été\"");
        assert_eq!(line_col(src, 0), (1, 1));
        // Offsets inside a character or past the end do not panic.
        assert_eq!(line_col(src, off + 2), (2, 7));
        assert_eq!(line_col(src, 10_000).0, 3);
    }

    #[test]
    fn display_quotes_the_line() {
        let src = "\n".repeat(11) + "lose = 0.1\n";
        let e = ScenarioError::at(
            &src,
            "sims/x.toml",
            11..15,
            Some("lose".into()),
            "bad".into(),
        );
        assert_eq!(
            e.to_string(),
            "error: sims/x.toml:12:1: bad\n   |\n12 | lose = 0.1\n   | ^^^^"
        );
        let e = ScenarioError::whole_file("x.toml", "cannot read".into());
        assert_eq!(e.to_string(), "error: x.toml: cannot read");
    }

    #[test]
    fn context_names() {
        let src = "top = 1\n[[link]]\nx = 1\n[[link]]\ny = { z = 1 }\nw.v = 2\n";
        assert_eq!(enclosing_table(src, 0), "at the top level");
        let y = src.find("y =").unwrap();
        assert_eq!(enclosing_table(src, y), "in [[link]]");
        assert_eq!(
            enclosing_table(src, src.find("z =").unwrap()),
            "in `y` of [[link]]"
        );
        assert_eq!(
            enclosing_table(src, src.find("v =").unwrap()),
            "in `w` of [[link]]"
        );
        let second = src.rfind("[[link]]").unwrap();
        assert_eq!(table_at(src, second, "[[link]]\ny"), "[[link]] #2");
        assert_eq!(
            key_before_value(src, src.find('1').unwrap()),
            Some("top".into())
        );
    }

    #[test]
    fn suggestions() {
        let keys = ["loss", "delay", "duplicate"];
        assert_eq!(closest("lose", keys.into_iter()), Some("loss"));
        assert_eq!(closest("dleay", keys.into_iter()), Some("delay"));
        assert_eq!(closest("bandwidth", keys.into_iter()), None);
        assert_eq!(edit_distance("", "ab"), 2);
    }
}
