//! Ladder (sequence) diagrams of one connection, for teaching: one column per endpoint,
//! one arrow per segment, state changes and timers beside the endpoint they belong to.
//!
//! [`build`] extracts the connection's story from the typed events once; [`text`] draws
//! it as plain text here and [`super::svg::ladder`] as a picture, so the two never tell a
//! different story.
//!
//! The text ladder draws every arrow horizontally at its send time: the transcript has no
//! arrival events, and guessing flight times in a text grid would suggest a precision it
//! does not have. The SVG ladder slants its arrows by the scenario's link delays.

use rustc_hash::{FxHashMap, FxHashSet};
use std::fmt::{self, Write};
use std::str::FromStr;

use super::text::{fate_phrases, push_time};
use super::{Cause, ConnRef, Event, EventKind, Fate, Names, TcpNote};
use crate::tcp::{Endpoint, Flags, Phase, Segment, State};

/// Which connection a ladder shows, as written after `--conn`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ConnSel {
    /// The first connection that appears in the events.
    #[default]
    First,
    /// "client": the first connection whose local end is on this host.
    Host(String),
    /// "client:49152": the connection with this local endpoint.
    Endpoint { host: String, port: u16 },
}

impl ConnSel {
    /// Parses `host` or `host:port`; an empty string is an error, not the default, so a
    /// mistyped `--conn=` is reported rather than silently ignored.
    pub fn parse(s: &str) -> Result<ConnSel, String> {
        const FORM: &str = "expected \"host\" or \"host:port\", e.g. client or client:49152";
        let s = s.trim();
        match s.rsplit_once(':') {
            _ if s.is_empty() => Err(format!("empty connection: {FORM}")),
            None => Ok(ConnSel::Host(s.to_string())),
            Some(("", _)) => Err(format!("connection {s:?} has no host: {FORM}")),
            Some((host, port)) => match port.parse::<u16>() {
                Ok(port) => Ok(ConnSel::Endpoint {
                    host: host.to_string(),
                    port,
                }),
                Err(_) => Err(format!("bad port {port:?} in connection {s:?}: {FORM}")),
            },
        }
    }

    fn matches(&self, c: &ConnRef, names: &Names) -> bool {
        match self {
            ConnSel::First => true,
            ConnSel::Host(h) => names
                .node_of_addr(c.local.addr)
                .is_some_and(|n| names.node(n) == h),
            ConnSel::Endpoint { host, port } => {
                c.local.port == *port && names.endpoint(c.local) == format!("{host}:{port}")
            }
        }
    }
}

impl FromStr for ConnSel {
    type Err = String;
    fn from_str(s: &str) -> Result<ConnSel, String> {
        ConnSel::parse(s)
    }
}

impl fmt::Display for ConnSel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnSel::First => f.write_str("(the first connection)"),
            ConnSel::Host(h) => f.write_str(h),
            ConnSel::Endpoint { host, port } => write!(f, "{host}:{port}"),
        }
    }
}

/// A text ladder of the connection `conn` selects: time down the left, one column per
/// endpoint, arrows at their send time (see the module documentation for why).
pub fn text(events: &[Event], names: &Names, conn: ConnSel) -> Result<String, String> {
    Ok(render(&build(events, names, &conn)?))
}

/// The column an endpoint is drawn in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Left,
    Right,
}

impl Side {
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// One connection's story, in event order.
pub(crate) struct Ladder {
    /// The endpoints drawn left and right.
    pub ends: [Endpoint; 2],
    pub names: [String; 2],
    /// Each end's state before its first state change (None: it never changed).
    pub initial: [Option<State>; 2],
    pub items: Vec<Item>,
}

pub(crate) struct Item {
    pub t: u64,
    /// The sender of an arrow; the endpoint a state or note belongs to.
    pub side: Side,
    pub what: What,
}

pub(crate) enum What {
    Arrow(Arrow),
    State(State),
    Note { text: String, timer: bool },
}

/// A segment of the connection, with what the network did to it on every hop.
pub(crate) struct Arrow {
    pub seg: Segment,
    /// The node where it entered the network (the sender, or an `[[inject]]`'s node).
    pub from: u32,
    /// "SYN,ACK seq=0 ack=1", with sequence numbers relative to each side's ISN.
    pub label: String,
    /// Why it was lost, if it was (the first hop that lost it).
    pub dropped: Option<Cause>,
    pub corrupted: bool,
    pub duplicated: bool,
    /// Extra delay beyond the links' own (reordering, delay faults), in ns.
    pub delayed: u64,
    /// Held back by a delay fault at the source for this long (it re-enters then).
    held: Option<u64>,
    pub injected: bool,
    /// What happened to it, in words ("lost: random loss on client->server").
    pub remarks: Vec<String>,
}

/// Collects the selected connection's arrows, states and notes from the events.
pub(crate) fn build(events: &[Event], names: &Names, sel: &ConnSel) -> Result<Ladder, String> {
    let conn = select(events, names, sel)?;
    let mut b = Builder {
        names,
        ends: [conn.local, conn.remote],
        isn: FxHashMap::default(),
        initial: [None; 2],
        items: Vec::new(),
        last: FxHashMap::default(),
    };
    for e in events {
        b.event(e);
    }
    Ok(Ladder {
        ends: b.ends,
        names: [names.endpoint(conn.local), names.endpoint(conn.remote)],
        initial: b.initial,
        items: b.items,
    })
}

/// The connection `sel` names, or an error listing the connections there are.
fn select(events: &[Event], names: &Names, sel: &ConnSel) -> Result<ConnRef, String> {
    let all = connections(events);
    if let Some(c) = all.iter().find(|c| sel.matches(c, names)) {
        return Ok(*c);
    }
    if all.is_empty() {
        return Err("no connection in this run: nothing to draw".to_string());
    }
    const SHOWN: usize = 20;
    let mut list: Vec<String> = all
        .iter()
        .take(SHOWN)
        .map(|c| {
            format!(
                "{} (to {})",
                names.endpoint(c.local),
                names.endpoint(c.remote)
            )
        })
        .collect();
    if all.len() > SHOWN {
        list.push(format!("and {} more", all.len() - SHOWN));
    }
    Err(format!(
        "no connection {sel} in this run; its connections are: {}",
        list.join(", ")
    ))
}

/// Every connection end the events mention, in order of first appearance, once per
/// (local, remote) pair.
pub(crate) fn connections(events: &[Event]) -> Vec<ConnRef> {
    let mut out: Vec<ConnRef> = Vec::new();
    let mut seen = FxHashSet::default();
    for e in events {
        let conn = match e.kind {
            EventKind::State { conn, .. }
            | EventKind::Tcp { conn, .. }
            | EventKind::Integrity { conn, .. }
            | EventKind::Invariant { conn, .. } => conn,
            EventKind::App {
                conn: Some(conn), ..
            } => conn,
            _ => continue,
        };
        if seen.insert((conn.local, conn.remote)) {
            out.push(conn);
        }
    }
    out
}

struct Builder<'a> {
    names: &'a Names,
    ends: [Endpoint; 2],
    /// Each direction's ISN, from its latest SYN, for relative numbers as in the transcript.
    isn: FxHashMap<(Endpoint, Endpoint), u32>,
    initial: [Option<State>; 2],
    items: Vec<Item>,
    /// The index in `items` of the latest arrow carrying each segment, so finding it
    /// again is a lookup rather than a scan back through every item.
    last: FxHashMap<Segment, usize>,
}

impl Builder<'_> {
    /// The side whose end is `local` talking to `remote`, if that is this connection.
    fn side(&self, local: Endpoint, remote: Endpoint) -> Option<Side> {
        match (local, remote) {
            (l, r) if [l, r] == self.ends => Some(Side::Left),
            (l, r) if [r, l] == self.ends => Some(Side::Right),
            _ => None,
        }
    }

    fn event(&mut self, e: &Event) {
        match e.kind {
            EventKind::Segment {
                seg,
                from,
                to,
                fate,
            } => self.segment(e.t, seg, from, to, fate, false),
            EventKind::Inject {
                seg: Some(seg),
                from,
                ..
            } => self.segment(e.t, seg, from, from, Fate::default(), true),
            EventKind::State { conn, from, to, .. } => {
                if let Some(side) = self.side(conn.local, conn.remote) {
                    self.initial[side.index()].get_or_insert(from);
                    self.push(e.t, side, What::State(to));
                }
            }
            EventKind::Tcp { conn, note } => {
                if let (Some(side), Some(text)) =
                    (self.side(conn.local, conn.remote), note_text(note))
                {
                    let timer = note.is_timer();
                    self.push(e.t, side, What::Note { text, timer });
                }
            }
            _ => {}
        }
    }

    fn push(&mut self, t: u64, side: Side, what: What) {
        self.items.push(Item { t, side, what });
    }

    fn segment(&mut self, t: u64, seg: Segment, from: u32, to: u32, fate: Fate, injected: bool) {
        let Some(side) = self.side(seg.src, seg.dst) else {
            return;
        };
        if seg.has(Flags::SYN) {
            self.isn.insert((seg.src, seg.dst), seg.seq.0);
        }
        let remarks = remarks(&fate, from, to, self.names);
        if !injected
            && self.continues(t, &seg, from, &fate)
            && let Some((_, arrow)) = self.last_arrow_mut(&seg)
        {
            arrow.merge(&fate, remarks);
            return;
        }
        let mut arrow = Arrow {
            seg,
            from,
            label: self.label(&seg),
            dropped: None,
            corrupted: false,
            duplicated: false,
            delayed: 0,
            held: match fate.delayed {
                Some((d, Cause::Fault(_))) => Some(d),
                _ => None,
            },
            injected,
            remarks: Vec::new(),
        };
        if injected {
            arrow
                .remarks
                .push(format!("injected at {}", self.names.node(from)));
        }
        arrow.merge(&fate, remarks);
        self.last.insert(seg, self.items.len());
        self.push(t, side, What::Arrow(arrow));
    }

    /// Whether this segment event reports a later hop (or a later moment) of a segment
    /// already drawn rather than a new transmission: it comes from a router, died at a
    /// crashed receiver, or is a held-back or injected segment entering the network.
    fn continues(&mut self, t: u64, seg: &Segment, from: u32, fate: &Fate) -> bool {
        if matches!(fate.dropped, Some(Cause::HostDown(_))) {
            return true;
        }
        if self.names.node_of_addr(seg.src.addr) != Some(from) {
            return true;
        }
        self.last_arrow_mut(seg)
            .is_some_and(|(t0, a)| (a.injected && t0 == t) || a.held.is_some_and(|d| t0 + d == t))
    }

    /// The latest arrow carrying exactly this segment, with its send time.
    fn last_arrow_mut(&mut self, seg: &Segment) -> Option<(u64, &mut Arrow)> {
        let item = &mut self.items[*self.last.get(seg)?];
        match &mut item.what {
            What::Arrow(a) => Some((item.t, a)),
            _ => None,
        }
    }

    /// Flags, then sequence numbers relative to each direction's ISN (as the transcript
    /// prints them), the payload length when there is one, and a zero window.
    fn label(&self, seg: &Segment) -> String {
        let rel = |key: (Endpoint, Endpoint), v: u32| {
            self.isn.get(&key).map_or(v, |isn| v.wrapping_sub(*isn))
        };
        let mut s = seg.flags.long_names();
        if s.is_empty() {
            s.push_str("no flags");
        }
        let _ = write!(s, " seq={}", rel((seg.src, seg.dst), seg.seq.0));
        if seg.has(Flags::ACK) {
            let _ = write!(s, " ack={}", rel((seg.dst, seg.src), seg.ack.0));
        }
        if seg.len > 0 {
            let _ = write!(s, " len={}", seg.len);
        }
        if seg.wnd == 0 && !seg.has(Flags::RST) {
            s.push_str(" win=0");
        }
        s
    }
}

impl Arrow {
    fn merge(&mut self, fate: &Fate, remarks: Vec<String>) {
        self.dropped = self.dropped.or(fate.dropped);
        self.corrupted |= fate.corrupted;
        self.duplicated |= fate.duplicated.is_some();
        self.delayed += fate.delayed.map_or(0, |(d, _)| d);
        self.remarks.extend(remarks);
    }
}

/// What the network did to a segment on the link direction `from -> to`, in words.
fn remarks(fate: &Fate, from: u32, to: u32, n: &Names) -> Vec<String> {
    fate_phrases(n, from, to, fate)
        .into_iter()
        .map(|(_, p)| p)
        .collect()
}

/// A short name for the TCP notes a ladder shows; None for the ones it leaves to the
/// transcript (congestion bookkeeping that every timeout repeats, probes the arrow shows).
fn note_text(note: TcpNote) -> Option<String> {
    let s = match note {
        TcpNote::Retransmit { attempt, .. } => return Some(format!("RTO #{attempt}")),
        TcpNote::TimeWaitExpired => "TIME_WAIT expired",
        TcpNote::FinWait2Timeout => "FIN_WAIT_2 timeout",
        TcpNote::TimeWaitRestart { .. } => "2MSL restarted",
        TcpNote::ResetInState(_) => "RST accepted",
        TcpNote::PawsRejected => "PAWS rejected",
        TcpNote::ChallengeAck { suppressed: false } => "challenge ACK",
        TcpNote::ChallengeAck { suppressed: true } => "challenge ACK limited",
        TcpNote::RstIgnored => "RST ignored",
        TcpNote::Reopened => "reopened by SYN",
        TcpNote::TimeWaitReused => "tw_reuse takeover",
        TcpNote::Congestion {
            phase: Phase::FastRetransmit,
            ..
        } => "fast retransmit",
        TcpNote::Congestion { .. } | TcpNote::WindowProbe { .. } => return None,
    };
    Some(s.to_string())
}

/// How an item is written beside its endpoint: states as they are, `[timer]`, `(rule)`.
pub(crate) fn side_text(what: &What) -> Option<String> {
    match what {
        What::State(s) => Some(s.name().to_string()),
        What::Note { text, timer: true } => Some(format!("[{text}]")),
        What::Note { text, timer: false } => Some(format!("({text})")),
        What::Arrow(_) => None,
    }
}

/// Column widths of the text ladder.
struct Grid {
    /// Width of each side's note column.
    note: usize,
    /// Width between the two lifelines.
    mid: usize,
}

impl Grid {
    fn of(l: &Ladder) -> Grid {
        let mut note = l.names.iter().map(String::len).max().unwrap_or(0).max(12);
        let mut label = 0;
        for item in &l.items {
            match &item.what {
                What::Arrow(a) => label = label.max(a.label.len()),
                other => note = note.max(side_text(other).map_or(0, |s| s.len())),
            }
        }
        Grid {
            note,
            mid: (label + 12).max(50),
        }
    }

    /// Appends one row and its newline to `out`, without trailing blanks.
    fn row(&self, out: &mut String, time: &str, cols: [&str; 3], remark: &str) {
        let (n, w) = (self.note, self.mid);
        let [left, mid, right] = cols;
        let start = out.len();
        // `{time:>8}  {left:>n$} |{mid:<w$}| {right:<n$}  {remark}`, padded by hand: a
        // row per segment, and `write!` with widths was most of the ladder's cost.
        pad(out, time, 8, true);
        out.push_str("  ");
        pad(out, left, n, true);
        out.push_str(" |");
        pad(out, mid, w, false);
        out.push_str("| ");
        pad(out, right, n, false);
        out.push_str("  ");
        out.push_str(remark);
        let end = start + out[start..].trim_end().len();
        out.truncate(end);
        out.push('\n');
    }
}

/// Appends `s` padded with spaces to `width` characters (as `format!`'s width counts
/// them), right-aligned or left-aligned.
fn pad(out: &mut String, s: &str, width: usize, right: bool) {
    let spaces = std::iter::repeat_n(' ', width.saturating_sub(s.chars().count()));
    if right {
        out.extend(spaces);
        out.push_str(s);
    } else {
        out.push_str(s);
        out.extend(spaces);
    }
}

fn render(l: &Ladder) -> String {
    let g = Grid::of(l);
    let mut out = format!(
        "ladder of {} <-> {}: arrows are drawn at their send time (the transcript has no arrival events)\n",
        l.names[0], l.names[1]
    );
    out.push_str("legend: --X lost  ->> duplicated  ~~> delayed or reordered  ==> corrupted  *-> injected  [timer]  (tcp rule)\n\n");
    g.row(&mut out, "time", [&l.names[0], "", &l.names[1]], "");
    let initial = |i: usize| l.initial[i].map_or("", |s| s.name());
    g.row(&mut out, "", [initial(0), "", initial(1)], "");
    let (mut t, mut line) = (String::new(), String::new());
    for item in &l.items {
        t.clear();
        push_time(&mut t, item.t);
        let text = side_text(&item.what).unwrap_or_default();
        match (&item.what, item.side) {
            (What::Arrow(a), side) => {
                let remarks = a.remarks.join("; ");
                arrow(&mut line, a, side, g.mid);
                g.row(&mut out, &t, ["", &line, ""], &remarks)
            }
            (_, Side::Left) => g.row(&mut out, &t, [&text, "", ""], ""),
            (_, Side::Right) => g.row(&mut out, &t, ["", "", &text], ""),
        }
    }
    out
}

/// One arrow `w` characters wide, from the sender's lifeline towards the other, with its
/// label near the sender; a lost segment stops at an `X` halfway (or just past the label).
/// Written into `out` (cleared first), which every row reuses.
fn arrow(out: &mut String, a: &Arrow, from: Side, w: usize) {
    let body = if a.corrupted {
        '='
    } else if a.delayed > 0 {
        '~'
    } else {
        '-'
    };
    let tail = if a.injected { '*' } else { body };
    let fill = |out: &mut String, n: usize| out.extend(std::iter::repeat_n(body, n));
    out.clear();
    match from {
        Side::Left => {
            out.extend([tail, body, ' ']);
            out.push_str(&a.label);
            out.push(' ');
            let start = out.len();
            if a.dropped.is_some() {
                fill(out, (w / 2).max(start + 2) - start);
                out.push('X');
            } else {
                let head = if a.duplicated { ">>" } else { ">" };
                fill(out, w.saturating_sub(start + head.len()));
                out.push_str(head);
            }
        }
        Side::Right => {
            // The length of " {label} {body}{tail}", the marks being one byte each.
            let end = a.label.len() + 4;
            if a.dropped.is_some() {
                let x = (w / 2).min(w.saturating_sub(end + 3));
                out.extend(std::iter::repeat_n(' ', x));
                out.push('X');
                fill(out, w - end - x - 1);
            } else {
                let head = if a.duplicated { "<<" } else { "<" };
                out.push_str(head);
                fill(out, w.saturating_sub(end + head.len()));
            }
            out.push(' ');
            out.push_str(&a.label);
            out.extend([' ', body, tail]);
        }
    }
}
