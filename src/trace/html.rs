//! `--html FILE`: one self-contained page about a run, to open in any browser offline.
//!
//! The page holds, for each of the first [`MAX_CONNS`] connections, its SVG ladder and
//! its part of the transcript; a list picks the connection shown. Clicking an arrow of
//! the ladder or a line of the transcript shows the rule behind it (the text `--explain`
//! prints) in a side panel. Extra figures (the metrics plots) go in a section of their
//! own. Everything is inline — CSS, script, SVG — so the file needs no network, and the
//! page's size is bounded however long the run: at most [`MAX_CONNS`] connections and
//! [`MAX_LINES`] transcript lines each, and the page says when it left some out.

use std::fmt::Write;

use super::ladder::{ConnSel, connections};
use super::svg::{clickable_ladder, escape};
use super::{ConnRef, Event, EventKind, Names, TextRenderer};
use crate::scenario::model::Scenario;
use crate::tcp::Why;

/// Connections offered in the page's list.
pub const MAX_CONNS: usize = 20;
/// Transcript lines kept per connection.
pub const MAX_LINES: usize = 500;

/// The rule behind `why` with its source, as `--explain` writes it ("" when none).
pub fn why_text(why: Why) -> String {
    match why.explain() {
        ("", _) => String::new(),
        (rule, "") => rule.to_string(),
        (rule, source) => format!("{rule} ({source})"),
    }
}

/// The page for a run of `sc`: its events, the names they use, and extra `figures`
/// (title, SVG) to show.
pub fn page(
    events: &[Event],
    names: &Names,
    sc: &Scenario,
    figures: &[(String, String)],
) -> String {
    let conns = pairs(events);
    let mut out = String::with_capacity(1 << 16);
    head(&mut out, &sc.origin);
    let _ = writeln!(out, "<h1>tcpsim: {}</h1>", escape(&sc.origin));
    picker(&mut out, &conns, names, connections(events).len());
    out.push_str("<main><div id=\"views\">\n");
    for (i, c) in conns.iter().enumerate() {
        view(&mut out, i, c, events, names, sc);
    }
    out.push_str("</div>\n<aside id=\"why\"><h2>Rule</h2><p id=\"rule\">Click an arrow of the ladder or a line of the transcript to see the rule behind it.</p></aside></main>\n");
    if !figures.is_empty() {
        out.push_str("<section id=\"figures\"><h2>Over time</h2>\n");
        for (title, svg) in figures {
            let _ = writeln!(
                out,
                "<figure><figcaption>{}</figcaption>{svg}</figure>",
                escape(title)
            );
        }
        out.push_str("</section>\n");
    }
    let _ = writeln!(out, "<script>{SCRIPT}</script>\n</body>\n</html>");
    out
}

/// The first [`MAX_CONNS`] connections, one end of each (the one that appeared first).
fn pairs(events: &[Event]) -> Vec<ConnRef> {
    let mut out: Vec<ConnRef> = Vec::new();
    for c in connections(events) {
        let seen = out.iter().any(|o| {
            (o.local, o.remote) == (c.remote, c.local) || (o.local, o.remote) == (c.local, c.remote)
        });
        if !seen {
            out.push(c);
        }
        if out.len() == MAX_CONNS {
            break;
        }
    }
    out
}

fn head(out: &mut String, title: &str) {
    let _ = writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>tcpsim: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>",
        escape(title)
    );
}

/// The connection list, and how many were left out of it.
fn picker(out: &mut String, conns: &[ConnRef], names: &Names, ends: usize) {
    let _ = write!(out, "<p><label>Connection <select id=\"conn\">");
    for (i, c) in conns.iter().enumerate() {
        let _ = write!(
            out,
            "<option value=\"{i}\">#{} {} &lt;-&gt; {}</option>",
            i + 1,
            escape(&names.endpoint(c.local)),
            escape(&names.endpoint(c.remote))
        );
    }
    out.push_str("</select></label>");
    if ends > 2 * conns.len() {
        let _ = write!(
            out,
            " <span class=\"note\">(the first {} of the run's connections; the page shows at most {MAX_CONNS})</span>",
            conns.len()
        );
    }
    out.push_str("</p>\n");
}

/// One connection: its ladder and its lines of the transcript.
fn view(out: &mut String, i: usize, c: &ConnRef, events: &[Event], names: &Names, sc: &Scenario) {
    let hidden = if i == 0 { "" } else { " hidden" };
    let _ = writeln!(out, "<div class=\"conn\" data-conn=\"{i}\"{hidden}>");
    let sel = ConnSel::Endpoint {
        host: names.host_of(c.local).unwrap_or("?").to_string(),
        port: c.local.port,
    };
    let _ = writeln!(out, "<h2>Ladder</h2><div class=\"ladder\">");
    match clickable_ladder(events, names, &sel, sc) {
        Ok(svg) => out.push_str(&svg),
        Err(e) => {
            let _ = write!(out, "<p>{}</p>", escape(&e));
        }
    }
    out.push_str("</div>\n<h2>Transcript</h2><div class=\"transcript\">\n");
    transcript(out, c, events, names);
    out.push_str("</div></div>\n");
}

/// The events of connection `c` (both ends, and the segments between them), one line
/// each, with the rule in `data-why` where there is one.
fn transcript(out: &mut String, c: &ConnRef, events: &[Event], names: &Names) {
    let mut text = TextRenderer::new(names);
    let mut shown = 0;
    let mut left_out = 0;
    let ends = [(c.local, c.remote), (c.remote, c.local)];
    for e in events {
        let (mine, why) = match e.kind {
            EventKind::Segment { seg, .. } => (ends.contains(&(seg.src, seg.dst)), seg.why),
            EventKind::State { conn, why, .. } => (ends.contains(&(conn.local, conn.remote)), why),
            EventKind::Tcp { conn, .. } => {
                (ends.contains(&(conn.local, conn.remote)), Why::Unexplained)
            }
            EventKind::App {
                conn: Some(conn), ..
            } => (ends.contains(&(conn.local, conn.remote)), Why::Unexplained),
            _ => (false, Why::Unexplained),
        };
        if !mine {
            continue;
        }
        if shown == MAX_LINES {
            left_out += 1;
            continue;
        }
        shown += 1;
        let line = escape(&text.line(e));
        match why_text(why) {
            w if w.is_empty() => {
                let _ = writeln!(out, "<div class=\"line\">{line}</div>");
            }
            w => {
                let _ = writeln!(
                    out,
                    "<div class=\"line rule\" data-why=\"{}\">{line}</div>",
                    escape(&w)
                );
            }
        }
    }
    if left_out > 0 {
        let _ = writeln!(
            out,
            "<p class=\"note\">… {left_out} more lines of this connection left out (the page keeps {MAX_LINES}); the full transcript is `tcpsim FILE`.</p>"
        );
    }
}

const STYLE: &str = "
body{font-family:system-ui,sans-serif;margin:1em 2em;color:#222}
main{display:flex;gap:1.5em;align-items:flex-start}
#views{flex:1;min-width:0}
aside#why{position:sticky;top:1em;width:22em;padding:.8em;border:1px solid #bbb;background:#fafafa}
.transcript{font-family:monospace;font-size:12px;overflow-x:auto;max-height:30em;overflow-y:auto;border:1px solid #ddd;padding:.4em}
.line{white-space:pre}
.line.rule{cursor:pointer}
.line.rule:hover,.seg:hover{background:#eef}
.picked{background:#fde9a9}
.seg{cursor:pointer}
g.seg.picked line{stroke-width:3}
.note{color:#666;font-size:90%}
figure{margin:1em 0}
";

const SCRIPT: &str = "
const rule = document.getElementById('rule');
document.addEventListener('click', ev => {
  const el = ev.target.closest('[data-why]');
  if (!el) return;
  document.querySelectorAll('.picked').forEach(p => p.classList.remove('picked'));
  el.classList.add('picked');
  rule.textContent = el.dataset.why || 'No rule: nothing the TCP decided.';
});
const pick = document.getElementById('conn');
pick.addEventListener('change', () => {
  document.querySelectorAll('.conn').forEach(v => { v.hidden = v.dataset.conn !== pick.value; });
});
";
