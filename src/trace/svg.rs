//! The ladder diagram of one connection as an SVG picture, for the README and for teaching.
//!
//! Time runs downwards. Each endpoint has a time line with a coloured band per TCP state;
//! each segment is an arrow from the sender's line at its send time to the receiver's line
//! at its arrival time.
//!
//! Arrival times come from the scenario, not from guesses about which later event a
//! segment caused: arrival = send time + for every link direction on the route, its
//! `delay` plus the serialization time of the segment at its `rate`, + any extra delay the
//! trace reports (reordering, a delay fault). Jitter and queueing are not in the trace, so
//! an arrow shows the least flight time the path allows; on the teaching scenarios (fixed
//! delay, no rate limit) it is exact.
//!
//! The time axis is not linear: a one-way delay gets a fixed height so arrows slope
//! visibly, idle gaps longer than two one-way delays are compressed (`//` on the axis), and
//! events at the same instant are stacked a row apart in the order they happened. A
//! segment's arrival is placed before what the receiver did at that instant, since that
//! is usually what it caused. Numbers are printed with one decimal and only exactly
//! rounded arithmetic is used, so the output is the same byte for byte everywhere.

use std::fmt::Write;

use super::Names;
use super::ladder::{self, Arrow, ConnSel, Item, Ladder, Side, What};
use super::text::time;
use super::{Cause, Event};
use crate::net::Network;
use crate::scenario::model::Scenario;
use crate::tcp::State;

/// Arrows drawn at most; a longer run shows its beginning and says so. 150 arrows make
/// a picture about 7,000 pixels tall: already more than anyone reads as a ladder.
pub const MAX_ARROWS: usize = 150;

const WIDTH: f64 = 820.0;
const AXIS_X: f64 = 74.0;
const X: [f64; 2] = [258.0, 646.0];
/// Top of the time lines, and of the first row.
const TOP: f64 = 84.0;
const FIRST_ROW: f64 = TOP + 30.0;
/// Vertical distance between things that happen at the same instant.
const ROW: f64 = 22.0;
/// Height of one nominal one-way delay.
const OWD_PX: f64 = 36.0;
/// Approximate advance of the 11px monospace font, to size label backgrounds.
const CHAR_PX: f64 = 6.7;

const INK: &str = "#222222";
const LOST: &str = "#c0392b";
const DELAYED: &str = "#d35400";
const DUPLICATE: &str = "#8e44ad";
const CORRUPTED: &str = "#7f8c8d";
const INJECTED: &str = "#138d75";
const TIMER: &str = "#c0392b";
const NOTE: &str = "#1a5276";

/// An SVG ladder of the connection `conn` selects; `sc` is the scenario the events came
/// from, whose link delays give the arrows their slope (see the module documentation).
pub fn ladder(
    events: &[Event],
    names: &Names,
    conn: ConnSel,
    sc: &Scenario,
) -> Result<String, String> {
    ladder_drawn(events, names, &conn, sc, false)
}

/// [`ladder`] for a page that reacts to clicks (`--html`): each arrow's group carries
/// `class="seg"` and the rule that sent it in `data-why`.
pub fn clickable_ladder(
    events: &[Event],
    names: &Names,
    conn: &ConnSel,
    sc: &Scenario,
) -> Result<String, String> {
    ladder_drawn(events, names, conn, sc, true)
}

fn ladder_drawn(
    events: &[Event],
    names: &Names,
    conn: &ConnSel,
    sc: &Scenario,
    clickable: bool,
) -> Result<String, String> {
    let mut l = ladder::build(events, names, conn)?;
    let cut = truncate(&mut l, MAX_ARROWS);
    let timing = Timing::new(sc, names, &l);
    let layout = Layout::new(&l, &timing);
    Ok(draw(&l, &layout, cut, clickable))
}

/// Keeps the items before the arrow after the first `max`; returns how many arrows there
/// were and when the cut fell, if it cut.
fn truncate(l: &mut Ladder, max: usize) -> Option<(usize, u64)> {
    let is_arrow = |i: &Item| matches!(i.what, What::Arrow(_));
    let total = l.items.iter().filter(|i| is_arrow(i)).count();
    let cut = l
        .items
        .iter()
        .enumerate()
        .filter(|(_, i)| is_arrow(i))
        .nth(max)
        .map(|(n, i)| (n, i.t))?;
    l.items.truncate(cut.0);
    Some((total, cut.1))
}

/// Flight times from the scenario's links, along the simulator's own routes.
struct Timing<'a> {
    sc: &'a Scenario,
    net: Network,
    /// Host node of each side, when the address belongs to a host.
    nodes: [Option<u32>; 2],
    /// The nominal one-way delay (a header-only segment, left to right) that sets the
    /// vertical scale; 1 ms when the path has none.
    owd: u64,
}

impl<'a> Timing<'a> {
    fn new(sc: &'a Scenario, names: &Names, l: &Ladder) -> Self {
        let nodes = l.ends.map(|e| names.node_of_addr(e.addr));
        let mut t = Timing {
            sc,
            net: Network::new(sc, 0),
            nodes,
            owd: 0,
        };
        t.owd = match nodes {
            [Some(a), Some(b)] => t.path(a, b, 40),
            _ => None,
        }
        .filter(|&d| d > 0)
        .unwrap_or(1_000_000);
        t
    }

    /// Delay plus serialization over every hop from `from` to the host `to`, as the
    /// network routes it; None when there is no route.
    fn path(&self, from: u32, to: u32, wire_len: u32) -> Option<u64> {
        let (mut at, mut total) = (from, 0u64);
        for _ in 0..self.sc.nodes.len() {
            if at == to {
                return Some(total);
            }
            let d = self.net.next_dir(at, to)?;
            // Network numbers link directions 2i (a -> b) and 2i + 1 (b -> a).
            let link = &self.sc.links[d as usize / 2];
            let p = if d % 2 == 0 {
                &link.a_to_b
            } else {
                &link.b_to_a
            };
            let tx = p.rate_bps.map_or(0, |r| {
                (wire_len as u64 * 8 * 1_000_000_000).div_ceil(r.max(1))
            });
            total += p.delay + tx;
            at = self.net.dir(d).to;
        }
        None
    }

    /// When the arrow sent at `t` from `side` arrives (or would have, if it was lost).
    fn arrival(&self, t: u64, side: Side, a: &Arrow) -> u64 {
        let dst = self.nodes[1 - side.index()];
        let flight = dst
            .and_then(|d| self.path(a.from, d, a.seg.wire_len()))
            .unwrap_or(self.owd);
        t + a.delayed + flight
    }
}

/// One row of the diagram: something at an instant, on one side or arriving there.
#[derive(Clone, Copy)]
struct Slot {
    t: u64,
    /// 0: an arrival that precedes what happens at its instant; 1: an item;
    /// 2: an arrival at its own send instant (a zero-delay path), after its send.
    class: u8,
    item: usize,
    /// 0 for the arrow, 1 for a duplicated arrow's second copy.
    copy: usize,
}

/// The distinct instants with rows, and where their rows are.
struct Anchor {
    t: u64,
    first: f64,
    last: f64,
    /// Whether any item (not only arrivals) is at this instant: those get a tick label.
    items: bool,
    /// Whether the gap before it was compressed.
    compressed: bool,
}

/// Vertical positions of everything.
struct Layout {
    /// Row of each item (its send row, for arrows).
    y: Vec<f64>,
    /// Arrival rows of each arrow, the duplicate's second.
    arrive: Vec<[Option<f64>; 2]>,
    /// Where a lost arrow would have arrived.
    lost: Vec<Option<f64>>,
    anchors: Vec<Anchor>,
    bottom: f64,
}

impl Layout {
    fn new(l: &Ladder, timing: &Timing) -> Layout {
        let n = l.items.len();
        let mut slots = Vec::new();
        let mut would = vec![None; n];
        for (i, item) in l.items.iter().enumerate() {
            slots.push(Slot {
                t: item.t,
                class: 1,
                item: i,
                copy: 0,
            });
            let What::Arrow(a) = &item.what else {
                continue;
            };
            let at = timing.arrival(item.t, item.side, a);
            if a.dropped.is_some() {
                would[i] = Some(at);
                continue;
            }
            let class = if at > item.t { 0 } else { 2 };
            for copy in 0..1 + a.duplicated as usize {
                slots.push(Slot {
                    t: at,
                    class,
                    item: i,
                    copy,
                });
            }
        }
        slots.sort_by_key(|s| (s.t, s.class, s.item, s.copy));
        let mut layout = Layout {
            y: vec![0.0; n],
            arrive: vec![[None; 2]; n],
            lost: vec![None; n],
            anchors: Vec::new(),
            bottom: FIRST_ROW,
        };
        layout.place(&slots, timing.owd);
        for (i, t) in would.iter().enumerate() {
            layout.lost[i] = t.map(|t| layout.y_at(t, timing.owd));
        }
        layout
    }

    /// Gives every slot its row: a row apart at the same instant, a row plus the scaled
    /// gap between instants.
    fn place(&mut self, slots: &[Slot], owd: u64) {
        let mut y = FIRST_ROW;
        for (k, s) in slots.iter().enumerate() {
            let prev = k.checked_sub(1).map(|p| slots[p].t);
            match prev {
                Some(p) if p == s.t => y += ROW,
                Some(p) => {
                    let (gap, compressed) = stretch(s.t - p, owd);
                    y += ROW + gap;
                    self.anchors.push(Anchor {
                        t: s.t,
                        first: y,
                        last: y,
                        items: false,
                        compressed,
                    });
                }
                None => self.anchors.push(Anchor {
                    t: s.t,
                    first: y,
                    last: y,
                    items: false,
                    compressed: false,
                }),
            }
            if let Some(a) = self.anchors.last_mut() {
                a.last = y;
                a.items |= s.class == 1;
            }
            if s.class == 1 {
                self.y[s.item] = y;
            } else {
                self.arrive[s.item][s.copy] = Some(y);
            }
        }
        self.bottom = y + ROW;
    }

    /// The row an instant without one would have: as far below the latest earlier row as
    /// a row of its own would be, but not past the next row.
    fn y_at(&self, t: u64, owd: u64) -> f64 {
        let i = self.anchors.partition_point(|a| a.t <= t);
        let Some(a) = i.checked_sub(1).map(|i| &self.anchors[i]) else {
            return FIRST_ROW;
        };
        if a.t == t {
            return a.first;
        }
        let y = a.last + ROW + stretch(t - a.t, owd).0;
        self.anchors.get(i).map_or(y, |b| y.min(b.first))
    }
}

/// Height for a gap of `dt` ns: linear up to two one-way delays, then one one-way delay
/// plus a little per doubling, so a 4 s RTO wait is taller than a 1 s one without
/// dwarfing the handshake. True when compressed.
fn stretch(dt: u64, owd: u64) -> (f64, bool) {
    let linear = 2 * owd;
    if dt <= linear {
        return (OWD_PX * dt as f64 / owd as f64, false);
    }
    (OWD_PX + 8.0 * log2ish(dt as f64 / linear as f64), true)
}

/// log2 for r >= 1, linear between powers of two: only exact halvings and additions,
/// so every platform computes the same value (a libm log2 may differ in the last bit).
fn log2ish(mut r: f64) -> f64 {
    let mut k = 0.0;
    while r >= 2.0 {
        r /= 2.0;
        k += 1.0;
    }
    k + (r - 1.0)
}

/// Appends SVG elements; numbers always with one decimal.
struct Svg {
    out: String,
    /// Arrows carry their rule for a page to show on a click.
    clickable: bool,
}

impl Svg {
    fn line(&mut self, (x1, y1): (f64, f64), (x2, y2): (f64, f64), color: &str, extra: &str) {
        let _ = writeln!(
            self.out,
            r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{color}"{extra}/>"#
        );
    }

    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, extra: &str) {
        let _ = writeln!(
            self.out,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{fill}"{extra}/>"#
        );
    }

    fn text(&mut self, (x, y): (f64, f64), anchor: &str, color: &str, extra: &str, s: &str) {
        let _ = writeln!(
            self.out,
            r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" fill="{color}"{extra}>{}</text>"#,
            escape(s)
        );
    }

    fn polygon(&mut self, points: &[(f64, f64)], fill: &str) {
        let pts: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect();
        let _ = writeln!(
            self.out,
            r#"<polygon points="{}" fill="{fill}"/>"#,
            pts.join(" ")
        );
    }

    /// A filled arrowhead at `to`, pointing away from `from`.
    fn head(&mut self, from: (f64, f64), to: (f64, f64), color: &str) {
        let (dx, dy) = (to.0 - from.0, to.1 - from.1);
        let len = (dx * dx + dy * dy).sqrt().max(1.0);
        let (ux, uy) = (dx / len, dy / len);
        let back = (to.0 - 9.0 * ux, to.1 - 9.0 * uy);
        self.polygon(
            &[
                to,
                (back.0 - 3.5 * uy, back.1 + 3.5 * ux),
                (back.0 + 3.5 * uy, back.1 - 3.5 * ux),
            ],
            color,
        );
    }

    /// An ✕ drawn with two strokes (no font needed).
    fn cross(&mut self, (x, y): (f64, f64), color: &str) {
        let w = r#" stroke-width="2.5""#;
        self.line((x - 6.0, y - 6.0), (x + 6.0, y + 6.0), color, w);
        self.line((x - 6.0, y + 6.0), (x + 6.0, y - 6.0), color, w);
    }
}

pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A pale colour per state, so a state's duration reads at a glance.
fn state_colour(s: State) -> &'static str {
    match s {
        State::Closed => "#eeeeee",
        State::Listen => "#d6eaf8",
        State::SynSent => "#fdebd0",
        State::SynReceived => "#fcf3cf",
        State::Established => "#d5f5e3",
        State::FinWait1 => "#fadbd8",
        State::FinWait2 => "#f5b7b1",
        State::CloseWait => "#e8daef",
        State::Closing => "#f9e79f",
        State::LastAck => "#d2b4de",
        // Not LISTEN's pale blue: the two must not be mistaken for each other.
        State::TimeWait => "#e0b98a",
    }
}

fn draw(l: &Ladder, lay: &Layout, cut: Option<(usize, u64)>, clickable: bool) -> String {
    let legend_top = lay.bottom + 28.0;
    let height = legend_top + 120.0 + STATE_ROWS_PX + if cut.is_some() { 20.0 } else { 0.0 };
    let mut s = Svg {
        out: String::new(),
        clickable,
    };
    let _ = writeln!(
        s.out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{WIDTH:.0}" height="{height:.0}" viewBox="0 0 {WIDTH:.0} {height:.0}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="11">"#
    );
    s.rect(0.0, 0.0, WIDTH, height, "#ffffff", "");
    let title = format!("TCP ladder: {} <-> {}", l.names[0], l.names[1]);
    s.text(
        (WIDTH / 2.0, 24.0),
        "middle",
        INK,
        r#" font-size="14" font-weight="bold""#,
        &title,
    );
    headers(&mut s, l, lay);
    axis(&mut s, lay);
    for side in [Side::Left, Side::Right] {
        bands(&mut s, l, lay, side);
    }
    for (i, item) in l.items.iter().enumerate() {
        match &item.what {
            What::Arrow(a) => arrow(&mut s, a, item.side, i, lay),
            other => side_note(&mut s, other, item.side, lay.y[i]),
        }
    }
    // Labels last, so no later arrow is drawn over one.
    for (i, item) in l.items.iter().enumerate() {
        if let What::Arrow(a) = &item.what {
            label(&mut s, a, item.side, i, lay);
        }
    }
    legend(&mut s, legend_top, cut);
    s.out.push_str("</svg>\n");
    s.out
}

fn headers(s: &mut Svg, l: &Ladder, lay: &Layout) {
    for (x, name) in X.iter().zip(&l.names) {
        let w = name.len() as f64 * CHAR_PX + 20.0;
        s.rect(
            x - w / 2.0,
            44.0,
            w,
            24.0,
            "#f4f6f7",
            r##" stroke="#555555" rx="4""##,
        );
        s.text(
            (*x, 60.0),
            "middle",
            INK,
            r#" font-size="12" font-weight="bold""#,
            name,
        );
        s.line((*x, 68.0), (*x, lay.bottom), "#555555", "");
    }
    s.text(
        (AXIS_X - 6.0, 60.0),
        "end",
        INK,
        r#" font-weight="bold""#,
        "time (s)",
    );
}

/// The time axis: a tick and label at every instant where something happens, and `//`
/// where idle time was compressed.
fn axis(s: &mut Svg, lay: &Layout) {
    s.line((AXIS_X, TOP), (AXIS_X, lay.bottom), "#888888", "");
    let mut prev: Option<&Anchor> = None;
    for a in &lay.anchors {
        if let (true, Some(p)) = (a.compressed, prev) {
            let y = (p.last + a.first) / 2.0;
            s.rect(AXIS_X - 7.0, y - 4.0, 14.0, 8.0, "#ffffff", "");
            s.line(
                (AXIS_X - 7.0, y - 1.0),
                (AXIS_X + 3.0, y - 7.0),
                "#888888",
                "",
            );
            s.line(
                (AXIS_X - 3.0, y + 7.0),
                (AXIS_X + 7.0, y + 1.0),
                "#888888",
                "",
            );
        }
        if a.items {
            s.line(
                (AXIS_X - 3.0, a.first),
                (AXIS_X + 3.0, a.first),
                "#888888",
                "",
            );
            s.text(
                (AXIS_X - 6.0, a.first + 4.0),
                "end",
                "#555555",
                "",
                &time(a.t),
            );
        }
        prev = Some(a);
    }
}

/// A coloured band per state along one side's time line, named where it begins.
fn bands(s: &mut Svg, l: &Ladder, lay: &Layout, side: Side) {
    let x = X[side.index()];
    let mut spans: Vec<(f64, State)> = Vec::new();
    if let Some(first) = l.initial[side.index()] {
        spans.push((TOP, first));
    }
    for (i, item) in l.items.iter().enumerate() {
        if let (What::State(st), true) = (&item.what, item.side == side) {
            spans.push((lay.y[i], *st));
        }
    }
    for (k, (y, st)) in spans.iter().enumerate() {
        let end = spans.get(k + 1).map_or(lay.bottom, |n| n.0);
        let stroke = r##" stroke="#7f8c8d" stroke-width="0.5""##;
        s.rect(x - 6.0, *y, 12.0, end - y, state_colour(*st), stroke);
        let label_y = if k == 0 && *y == TOP {
            TOP + 14.0
        } else {
            y + 4.0
        };
        let (lx, anchor) = outside(side, 12.0);
        s.text(
            (lx, label_y),
            anchor,
            INK,
            r#" font-weight="bold""#,
            st.name(),
        );
    }
}

/// The x and text anchor of a note written outside a side's time line.
fn outside(side: Side, gap: f64) -> (f64, &'static str) {
    match side {
        Side::Left => (X[0] - gap, "end"),
        Side::Right => (X[1] + gap, "start"),
    }
}

/// A timer (red dot) or a TCP rule (blue diamond) on the side's time line.
fn side_note(s: &mut Svg, what: &What, side: Side, y: f64) {
    let What::Note { text, timer } = what else {
        return;
    };
    let x = X[side.index()];
    let colour = if *timer { TIMER } else { NOTE };
    if *timer {
        let _ = writeln!(
            s.out,
            r##"<circle cx="{x:.1}" cy="{y:.1}" r="5.0" fill="{colour}" stroke="#ffffff"/>"##
        );
    } else {
        let d = 5.0;
        s.polygon(&[(x, y - d), (x + d, y), (x, y + d), (x - d, y)], colour);
    }
    let label = if *timer {
        format!("timer: {text}")
    } else {
        text.clone()
    };
    let (lx, anchor) = outside(side, 12.0);
    s.text((lx, y + 4.0), anchor, colour, "", &label);
}

/// The colour and dash pattern of an arrow, by what the network did to it.
fn arrow_style(a: &Arrow) -> (&'static str, &'static str) {
    if a.injected {
        (INJECTED, "")
    } else if a.dropped.is_some() {
        (LOST, "")
    } else if a.corrupted {
        (CORRUPTED, r#" stroke-dasharray="4 3""#)
    } else if a.delayed > 0 {
        (DELAYED, r#" stroke-dasharray="7 3""#)
    } else {
        (INK, "")
    }
}

fn arrow(s: &mut Svg, a: &Arrow, side: Side, i: usize, lay: &Layout) {
    let (x0, x1) = (X[side.index()], X[1 - side.index()]);
    let start = (x0, lay.y[i]);
    let (colour, dash) = arrow_style(a);
    if s.clickable {
        let _ = writeln!(
            s.out,
            r#"<g class="seg" data-why="{}">"#,
            escape(&super::html::why_text(a.seg.why))
        );
    } else {
        let _ = writeln!(s.out, "<g>");
    }
    if !a.remarks.is_empty() {
        let _ = writeln!(s.out, "<title>{}</title>", escape(&a.remarks.join("; ")));
    }
    let width = format!(r#" stroke-width="1.4"{dash}"#);
    if let Some(mid) = lost_at(side, i, lay) {
        s.line(start, mid, colour, &width);
        s.cross(mid, colour);
    }
    if s.clickable {
        // A wide invisible stroke over the arrow, so a click need not hit a 1.4 px line.
        let end = lost_at(side, i, lay)
            .or_else(|| lay.arrive[i].iter().flatten().next().map(|&y| (x1, y)));
        if let Some(end) = end {
            s.line(
                start,
                end,
                "transparent",
                r#" stroke-width="9" class="hit""#,
            );
        }
    }
    for (copy, y1) in lay.arrive[i].iter().enumerate() {
        let Some(y1) = *y1 else { continue };
        let (c, extra) = if copy == 1 {
            (
                DUPLICATE,
                r#" stroke-width="1.4" stroke-dasharray="2 3""#.to_string(),
            )
        } else {
            (colour, width.clone())
        };
        let end = (x1, y1);
        s.line(start, end, c, &extra);
        s.head(start, end, c);
    }
    let _ = writeln!(s.out, "</g>");
}

/// Where a lost arrow ends in its cross: halfway to where it would have arrived.
fn lost_at(side: Side, i: usize, lay: &Layout) -> Option<(f64, f64)> {
    let y1 = lay.lost[i]?;
    let (x0, x1) = (X[side.index()], X[1 - side.index()]);
    Some(((x0 + x1) / 2.0, (lay.y[i] + y1) / 2.0))
}

/// Text on a pale background so crossing arrows do not hide it.
fn boxed(s: &mut Svg, (x, y): (f64, f64), anchor: &str, colour: &str, text: &str) {
    let w = text.len() as f64 * CHAR_PX + 4.0;
    let bx = match anchor {
        "end" => x - w + 2.0,
        _ => x - 2.0,
    };
    s.rect(bx, y - 10.0, w, 13.0, "#ffffff", r#" fill-opacity="0.85""#);
    s.text((x, y), anchor, colour, "", text);
}

/// The segment's label just above where its arrow leaves the sender; a lost segment's
/// cause beside its cross.
fn label(s: &mut Svg, a: &Arrow, side: Side, i: usize, lay: &Layout) {
    let (colour, _) = arrow_style(a);
    let (x, y) = (X[side.index()], lay.y[i]);
    let mut text = a.label.clone();
    if a.injected {
        // "injected at NODE", the first remark of an injected arrow.
        let _ = write!(text, " ({})", a.remarks.first().map_or("injected", |r| r));
    }
    for (on, tag) in [
        (a.corrupted, " corrupted"),
        (a.duplicated, " dup"),
        (a.delayed > 0 && a.dropped.is_none(), " delayed"),
    ] {
        if on {
            text.push_str(tag);
        }
    }
    match side {
        Side::Left => boxed(s, (x + 10.0, y - 4.0), "start", colour, &text),
        Side::Right => boxed(s, (x - 10.0, y - 4.0), "end", colour, &text),
    }
    // Beside the cross, on the side away from the sender's label.
    if let (Some(cause), Some((mx, my))) = (a.dropped, lost_at(side, i, lay)) {
        let tag = format!("lost: {}", short_cause(cause, &a.remarks));
        match side {
            Side::Left => boxed(s, (mx + 12.0, my + 4.0), "start", colour, &tag),
            Side::Right => boxed(s, (mx - 12.0, my + 4.0), "end", colour, &tag),
        }
    }
}

/// The cause of a loss in a few words: the fault's name, or the kind of loss.
fn short_cause(c: Cause, remarks: &[String]) -> String {
    match c {
        Cause::Loss => "random loss".to_string(),
        Cause::QueueFull => "queue full".to_string(),
        Cause::LinkDown(_) => "link down".to_string(),
        Cause::NoRoute => "no route".to_string(),
        Cause::HostDown(_) => "host down".to_string(),
        // The fault's name, as the remark spells it after "lost: ".
        _ => remarks
            .iter()
            .find_map(|r| r.strip_prefix("lost: "))
            .unwrap_or("fault")
            .to_string(),
    }
}

/// The height the legend's rows of state colours take.
const STATE_ROWS_PX: f64 = 54.0;

/// A swatch and the name of each of the 11 states, four to a row.
fn state_legend(s: &mut Svg, top: f64) {
    for (k, state) in State::ALL.iter().enumerate() {
        let (x, y) = (20.0 + (k % 4) as f64 * 195.0, top + (k / 4) as f64 * 18.0);
        s.rect(
            x,
            y - 10.0,
            12.0,
            13.0,
            state_colour(*state),
            r##" stroke="#999999""##,
        );
        s.text((x + 18.0, y), "start", INK, "", state.name());
    }
}

fn legend(s: &mut Svg, top: f64, cut: Option<(usize, u64)>) {
    s.line(
        (20.0, top - 12.0),
        (WIDTH - 20.0, top - 12.0),
        "#cccccc",
        "",
    );
    s.text(
        (20.0, top + 4.0),
        "start",
        INK,
        r#" font-weight="bold""#,
        "Legend",
    );
    let entries: [(&str, &str, &str); 5] = [
        (INK, "", "segment delivered"),
        (DELAYED, r#" stroke-dasharray="7 3""#, "delayed / reordered"),
        (
            DUPLICATE,
            r#" stroke-dasharray="2 3""#,
            "second copy (duplicate)",
        ),
        (
            CORRUPTED,
            r#" stroke-dasharray="4 3""#,
            "corrupted (discarded)",
        ),
        (INJECTED, "", "injected segment"),
    ];
    for (k, (colour, dash, what)) in entries.iter().enumerate() {
        let (x, y) = (
            20.0 + (k % 3) as f64 * 260.0,
            top + 24.0 + (k / 3) as f64 * 20.0,
        );
        let extra = format!(r#" stroke-width="1.4"{dash}"#);
        s.line((x, y - 4.0), (x + 40.0, y - 4.0), colour, &extra);
        s.head((x, y - 4.0), (x + 40.0, y - 4.0), colour);
        s.text((x + 48.0, y), "start", INK, "", what);
    }
    let y = top + 44.0;
    s.line(
        (540.0, y - 4.0),
        (560.0, y - 4.0),
        LOST,
        r#" stroke-width="1.4""#,
    );
    s.cross((566.0, y - 4.0), LOST);
    s.text((580.0, y), "start", INK, "", "lost in the network");
    let y = top + 64.0;
    let _ = writeln!(
        s.out,
        r##"<circle cx="26.0" cy="{:.1}" r="5.0" fill="{TIMER}" stroke="#ffffff"/>"##,
        y - 4.0
    );
    s.text((38.0, y), "start", INK, "", "timer fired");
    s.polygon(
        &[
            (286.0, y - 9.0),
            (291.0, y - 4.0),
            (286.0, y + 1.0),
            (281.0, y - 4.0),
        ],
        NOTE,
    );
    s.text((298.0, y), "start", INK, "", "TCP rule applied");
    s.text((540.0, y), "start", INK, "", "bands: the state of each end");
    state_legend(s, top + 86.0);
    let notes = [
        "Time runs down. Arrows slope by the scenario's link delays (propagation and",
        "serialization; jitter and queueing are not shown). // on the axis: idle time compressed.",
    ];
    for (k, n) in notes.iter().enumerate() {
        s.text(
            (20.0, top + STATE_ROWS_PX + 86.0 + k as f64 * 15.0),
            "start",
            "#555555",
            "",
            n,
        );
    }
    if let Some((total, t)) = cut {
        let msg = format!(
            "Truncated: the first {MAX_ARROWS} of {total} segments are shown, up to {} s.",
            time(t)
        );
        s.text(
            (20.0, top + STATE_ROWS_PX + 122.0),
            "start",
            LOST,
            r#" font-weight="bold""#,
            &msg,
        );
    }
}
