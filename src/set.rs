//! `--set key.path=value`: edits a scenario's TOML before it is loaded, so every run
//! (and every value of a `sweep --vary`) is an ordinary scenario the normal loader checks.
//!
//! A path walks tables by key and arrays of tables (`[[load]]`, `[[server]]`, …) by index
//! (`load.0`) or by the `name` of one of their tables (`load.proxy`). Missing tables and
//! keys are created (the loader then rejects unknown ones, naming them); a value that
//! does not parse as a TOML value is a string (`800/s`, `30s`). toml_edit keeps the
//! untouched lines as they were, so errors elsewhere keep their line and column.

use std::path::Path;

use toml_edit::{DocumentMut, Item, TableLike, Value};

use crate::scenario::{Scenario, ScenarioError, load_file_with, load_str_with};
use crate::tcp::Profile;

/// One `--set`: a dotted path and the text of its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Set {
    pub path: String,
    pub value: String,
}

impl Set {
    /// Parses `key.path=value` (the clap value parser of `--set`).
    pub fn parse(text: &str) -> Result<Set, String> {
        let (path, value) = text
            .split_once('=')
            .ok_or_else(|| format!("expected key.path=value, found \"{text}\""))?;
        let path = path.trim();
        if path.is_empty() || path.split('.').any(|p| p.trim().is_empty()) {
            return Err(format!(
                "\"{path}\" is not a key path such as tcp.time_wait"
            ));
        }
        Ok(Set {
            path: path.to_string(),
            value: value.trim().to_string(),
        })
    }

    /// The option as the user wrote it, for messages.
    pub fn shown(&self) -> String {
        format!("--set {}={}", self.path, self.value)
    }
}

/// `src` with every set applied in order; an error names the `--set` and why.
pub fn apply(src: &str, sets: &[Set]) -> Result<String, String> {
    let mut doc: DocumentMut = src
        .parse()
        .map_err(|e| format!("cannot apply --set: the scenario is not valid TOML: {e}"))?;
    for s in sets {
        set_one(&mut doc, s).map_err(|why| format!("error: {}: {why}", s.shown()))?;
    }
    Ok(doc.to_string())
}

/// Sets one path in the document.
fn set_one(doc: &mut DocumentMut, s: &Set) -> Result<(), String> {
    let parts: Vec<&str> = s.path.split('.').map(str::trim).collect();
    set_in(doc.as_table_mut(), &parts, "", &s.value)
}

/// Sets `parts` below `table` (whose own path is `here`): into a key (tables created when
/// missing), or into an array of tables' element by index or by `name`.
fn set_in(table: &mut dyn TableLike, parts: &[&str], here: &str, text: &str) -> Result<(), String> {
    let (first, rest) = parts.split_first().expect("Set::parse: at least one key");
    if rest.is_empty() {
        let mut new = value(text);
        if let Some(old) = table.get(first).and_then(Item::as_value) {
            *new.decor_mut() = old.decor().clone();
        }
        table.insert(first, Item::Value(new));
        return Ok(());
    }
    let path = join(here, first);
    if table.get(first).is_none() {
        let mut t = toml_edit::Table::new();
        t.set_implicit(true);
        table.insert(first, Item::Table(t));
    }
    let item = table.get_mut(first).expect("present or just inserted");
    if let Some(array) = item.as_array_of_tables_mut() {
        let (which, rest) = rest.split_first().expect("rest is not empty");
        let len = array.len();
        let index = match which.parse::<usize>() {
            Ok(i) if i < len => i,
            Ok(i) => return Err(format!("[[{path}]] has {len} tables, so no index {i}")),
            Err(_) => (array.iter())
                .position(|t| t.get("name").and_then(Item::as_str) == Some(which))
                .ok_or_else(|| format!("no [[{path}]] has name = \"{which}\""))?,
        };
        if rest.is_empty() {
            return Err(format!(
                "`{path}.{which}` is a whole table: name a key in it"
            ));
        }
        let t = array.get_mut(index).expect("index < len");
        return set_in(t, rest, &join(&path, which), text);
    }
    match item.as_table_like_mut() {
        Some(t) => set_in(t, rest, &path, text),
        None => Err(format!(
            "`{path}` is a value, not a table: it has no key `{}`",
            rest[0]
        )),
    }
}

/// `a.b` from `a` and `b` (just `b` at the top).
fn join(here: &str, key: &str) -> String {
    match here {
        "" => key.to_string(),
        _ => format!("{here}.{key}"),
    }
}

/// The TOML value `text` is, or the string `text` when it is not one.
fn value(text: &str) -> Value {
    match text.parse::<Value>() {
        Ok(v) => v.decorated(" ", ""),
        Err(_) => Value::from(text).decorated(" ", ""),
    }
}

/// Loads `path` with `sets` applied; without sets, exactly as the plain loader does. A
/// loader error caused by a set names the first `--set` that brings it in.
pub fn load(path: &Path, profile: Option<Profile>, sets: &[Set]) -> Result<Scenario, String> {
    let plain = || load_file_with(path, profile).map_err(|e| e.to_string());
    if sets.is_empty() {
        return plain();
    }
    let Ok(src) = std::fs::read_to_string(path) else {
        return plain();
    };
    let origin = path.display().to_string();
    let load = |n: usize| -> Result<Scenario, String> {
        let text = apply(&src, &sets[..n])?;
        load_str_with(&text, &origin, profile).map_err(|e: ScenarioError| e.to_string())
    };
    load(sets.len()).map_err(|e| {
        if e.starts_with("error: --set") {
            return e;
        }
        match (1..=sets.len()).find(|&n| load(n).is_err()) {
            Some(n) => format!("{}: {e}", sets[n - 1].shown()),
            None => e,
        }
    })
}

#[cfg(test)]
mod tests;
