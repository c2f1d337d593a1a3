//! The validated scenario: names resolved to indices, units to integers.
//!
//! Built by `load` from a [`super::schema::ScenarioFile`]; everything the simulator reads
//! comes from here, so the simulator never sees a string it has to look up.

use std::sync::Arc;

use crate::tcp::{Config, Flags, Profile, State};

/// Index into [`Scenario::nodes`].
pub type NodeId = usize;

#[derive(Debug, Clone)]
pub struct Scenario {
    /// Where the scenario came from (file path or "<string>"), for messages.
    pub origin: String,
    /// The profile every host's `Config` started from (the file's `profile`, or
    /// `--profile`); kept so reports can say which defaults applied.
    pub profile: Profile,
    /// Stop time in ns; None: run until no event is left.
    pub duration: Option<u64>,
    pub seed: Option<u64>,
    /// Event budget; default 50 million.
    pub max_events: u64,
    /// Hosts first in file order, then routers in file order, then the hosts of each
    /// `[[group]]` (so a file without groups numbers its nodes as before).
    pub nodes: Vec<Node>,
    /// `[[link]]`s in file order, then each group's links, host by host.
    pub links: Vec<Link>,
    /// `[[group]]`s in file order.
    pub groups: Vec<Group>,
    pub faults: Vec<Fault>,
    pub servers: Vec<Server>,
    pub clients: Vec<Client>,
    pub expects: Vec<Expect>,
    pub injects: Vec<Inject>,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub kind: NodeKind,
}

#[derive(Debug, Clone)]
pub enum NodeKind {
    /// `tcp` is shared by the hosts of a `[[group]]` (one copy, not one per host).
    Host {
        addr: u32,
        tcp: Arc<Config>,
    },
    Router,
}

/// A `[[group]]`: hosts `nodes` named `{name}1`, `{name}2`, …, each joined to its
/// `link_to` node by the link of the same position in `links`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub nodes: std::ops::Range<NodeId>,
    pub links: std::ops::Range<usize>,
}

#[derive(Debug, Clone)]
pub struct Link {
    pub a: NodeId,
    pub b: NodeId,
    /// Shared (not copied) by the links of a `[[group]]`: a million-host star has one.
    pub a_to_b: Arc<LinkParams>,
    pub b_to_a: Arc<LinkParams>,
}

/// One direction of a link. Times in ns, probabilities in [0, 1].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinkParams {
    pub delay: u64,
    pub jitter: u64,
    /// Bits per second; None: no serialization delay and no queue.
    pub rate_bps: Option<u64>,
    /// Queue limit in segments (default 100).
    pub queue: u32,
    pub loss: f64,
    pub duplicate: f64,
    pub reorder: f64,
    /// Default 10 ms.
    pub reorder_delay: u64,
    pub corrupt: f64,
}

#[derive(Debug, Clone)]
pub struct Fault {
    /// Cause shown in the transcript ("fault#2" unless named).
    pub name: String,
    pub kind: FaultKind,
}

#[derive(Debug, Clone)]
pub enum FaultKind {
    /// Acts on segments as they leave their source host.
    Segment {
        action: SegmentAction,
        filter: SegmentFilter,
        /// Only the Nth match (1-based); None: every match.
        nth: Option<u32>,
    },
    /// The link (index into `links`) carries nothing in the chosen directions between start and end.
    Partition {
        link: usize,
        a_to_b: bool,
        b_to_a: bool,
        start: u64,
        end: u64,
    },
    /// The host loses every connection and listener at `start`, drops whatever arrives
    /// while down, and restarts its servers (with no connections) at `end` if given.
    Crash {
        host: NodeId,
        start: u64,
        end: Option<u64>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SegmentAction {
    Drop,
    /// Hold the segment this many ns before it enters the network.
    Delay(u64),
    /// Send a second copy, which enters the network this many ns later (0: at once).
    /// A long delay makes an old duplicate.
    Duplicate(u64),
}

/// Every `Some` field must match. Times in ns; `end` is exclusive.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SegmentFilter {
    pub from: Option<NodeId>,
    pub to: Option<NodeId>,
    /// Source or destination port.
    pub port: Option<u16>,
    pub src_port: Option<u16>,
    pub dst_port: Option<u16>,
    pub flags_exact: Option<Flags>,
    pub flags_all: Option<Flags>,
    pub payload: Option<bool>,
    pub start: Option<u64>,
    pub end: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerClose {
    /// Close when the peer's FIN has been read (passive close).
    PeerClose,
    /// Close right after sending the reply (active close by the server).
    AfterReply,
    Never,
}

/// How a server's application takes delivered bytes from the receive buffer, which
/// decides how far the advertised window closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerRead {
    /// Everything, as soon as it is delivered (the window stays open).
    AtOnce,
    /// A slow reader: at most `bytes` every `every` ns.
    Paced { bytes: u64, every: u64 },
    /// Nothing by itself: only what its timed `read` steps take.
    Manual,
}

#[derive(Debug, Clone)]
pub struct Server {
    pub host: NodeId,
    pub port: u16,
    /// Default 128.
    pub backlog: u32,
    /// Bytes sent once the first data arrives (0: no reply).
    pub reply: u64,
    pub echo: bool,
    pub close: ServerClose,
    /// A request is this many bytes and each gets a reply (keep-alive); None: one
    /// reply, to the first data.
    pub request: Option<u64>,
    /// With `close = AfterReply`: the reply after which the server closes (1-based).
    pub close_after: u32,
    /// SO_LINGER 0: the server's own closes (peer_close, after_reply) are aborts.
    pub linger_zero: bool,
    pub read: ServerRead,
    /// Timed steps, run on every connection the server accepts, timed from the SYN that
    /// created it, in written order.
    pub actions: Vec<TimedStep>,
}

#[derive(Debug, Clone)]
pub struct Client {
    pub host: NodeId,
    pub remote: NodeId,
    pub remote_port: u16,
    /// Time of the active OPEN, ns; with `spread`, of the group's first client.
    pub start: u64,
    /// A client of a `[[group]]` entry: its start is drawn at run time, when the seed is known.
    pub spread: Option<StartSpread>,
    pub local_port: Option<u16>,
    /// The untimed steps, run in order once the connection is ESTABLISHED. Shared by the
    /// clients of one `[[client]]` entry (a million-client group has one list, not a
    /// million).
    pub actions: Arc<[Action]>,
    /// The "at DUR: ACTION" steps, timed from the active OPEN, in written order (shared
    /// in the same way).
    pub timed: Arc<[TimedStep]>,
}

/// Where a group client's start falls in its entry's interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartSpread {
    /// 0-based position of the `[[client]]` (or `[[load]]`) entry in the file; names
    /// its random stream.
    pub entry: u32,
    /// Which kind of entry `entry` counts.
    pub source: SpreadSource,
    /// This client's position in the group (0-based) and the group's size.
    pub index: u32,
    pub count: u32,
    /// The interval, ns.
    pub spread: u64,
    pub mode: SpreadMode,
}

/// The table a spread client came from, which names its random stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpreadSource {
    /// A `[[client]]` on a `[[group]]`: stream "starts:client#N".
    Client,
    /// A `[[load]]` with Poisson arrivals: stream "starts:load#N".
    Load,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpreadMode {
    /// start + index × spread / count.
    Step,
    /// Uniform in [start, start + spread).
    Uniform,
    /// Poisson arrivals from start: exponential gaps with mean spread / count.
    Exponential,
}

impl SpreadMode {
    pub fn parse(text: &str) -> Option<SpreadMode> {
        match text {
            "step" => Some(SpreadMode::Step),
            "uniform" => Some(SpreadMode::Uniform),
            "exponential" => Some(SpreadMode::Exponential),
            _ => None,
        }
    }
}

/// The start time of every client under `seed`, in order. Random starts come from the
/// stream "starts:client#N" of their `[[client]]` entry (N 1-based), drawn client by
/// client, so they depend only on the seed and the entry.
pub fn client_starts(clients: &[Client], seed: u64) -> Vec<u64> {
    use rand::Rng;
    // The entry whose stream is open, the stream, and (exponential) the previous start.
    let mut open: Option<((u32, SpreadSource), rand_chacha::ChaCha8Rng, u64)> = None;
    clients
        .iter()
        .map(|c| {
            let Some(s) = c.spread else { return c.start };
            let entry = (s.entry, s.source);
            if open.as_ref().is_none_or(|(open, ..)| *open != entry) {
                let table = match s.source {
                    SpreadSource::Client => "client",
                    SpreadSource::Load => "load",
                };
                let label = format!("starts:{table}#{}", s.entry + 1);
                open = Some((entry, crate::rng::stream(seed, &label), c.start));
            }
            let Some((_, rng, last)) = open.as_mut() else {
                return c.start;
            };
            let offset = match s.mode {
                SpreadMode::Step => {
                    (u128::from(s.index) * u128::from(s.spread) / u128::from(s.count.max(1))) as u64
                }
                SpreadMode::Uniform if s.spread == 0 => 0,
                SpreadMode::Uniform => rng.random_range(0..s.spread),
                SpreadMode::Exponential => {
                    if s.index > 0 {
                        let mean = s.spread as f64 / f64::from(s.count.max(1));
                        let gap = -mean * ln(1.0 - rng.random::<f64>());
                        *last = last.saturating_add(gap.round() as u64);
                    }
                    return *last;
                }
            };
            c.start.saturating_add(offset)
        })
        .collect()
}

/// Natural logarithm of `x` > 0 from IEEE basic operations only (exactly rounded, so
/// the same on every machine, unlike the platform's `ln`): x = m · 2^e with m in
/// [1, 2), ln m = 2 atanh((m − 1)/(m + 1)) by its series.
fn ln(x: f64) -> f64 {
    const LN_2: f64 = std::f64::consts::LN_2;
    if x <= 0.0 || !x.is_finite() {
        return f64::NEG_INFINITY;
    }
    let (mut x, mut e) = (x, 0i32);
    // Subnormals: scale into the normal range first.
    if x < f64::MIN_POSITIVE {
        x *= 2f64.powi(64);
        e -= 64;
    }
    let bits = x.to_bits();
    e += ((bits >> 52) & 0x7ff) as i32 - 1023;
    let m = f64::from_bits((bits & !(0x7ff << 52)) | (1023 << 52));
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let (mut term, mut sum) = (s, 0.0);
    for k in 0..30 {
        sum += term / f64::from(2 * k + 1);
        term *= s2;
    }
    2.0 * sum + f64::from(e) * LN_2
}

/// One step of a client's script, run after the connection is ESTABLISHED.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    Send(u64),
    Wait(u64),
    /// Wait until this many bytes in total have been received.
    Recv(u64),
    /// Wait until the peer's FIN has been received.
    RecvEof,
    /// RFC 9293 CLOSE: send FIN, keep receiving (half-close).
    Shutdown,
    /// CLOSE as well; the application reads nothing more.
    Close,
    /// RFC 9293 ABORT: send RST, delete the connection.
    Abort,
}

/// One application call (RFC 9293 §3.10.2–3.10.5), as a timed step makes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// SEND N bytes.
    Send(u64),
    /// CLOSE, keep reading (half-close).
    Shutdown,
    /// CLOSE.
    Close,
    /// ABORT.
    Abort,
    /// RECEIVE: take at most this many delivered bytes, or (None) all of them. Servers only.
    Read(Option<u64>),
}

impl Call {
    /// The call a script step makes, if it is one call rather than a wait.
    pub fn of_action(action: Action) -> Option<Call> {
        match action {
            Action::Send(n) => Some(Call::Send(n)),
            Action::Shutdown => Some(Call::Shutdown),
            Action::Close => Some(Call::Close),
            Action::Abort => Some(Call::Abort),
            Action::Wait(_) | Action::Recv(_) | Action::RecvEof => None,
        }
    }

    /// The verb as written in `actions` ("send", "read"), for JSON.
    pub fn verb(self) -> &'static str {
        match self {
            Call::Send(_) => "send",
            Call::Shutdown => "shutdown",
            Call::Close => "close",
            Call::Abort => "abort",
            Call::Read(_) => "read",
        }
    }

    /// The byte count written after the verb, if any.
    pub fn bytes(self) -> Option<u64> {
        match self {
            Call::Send(n) | Call::Read(Some(n)) => Some(n),
            _ => None,
        }
    }
}

/// As written in `actions`: "send 1000", "close", "read".
impl std::fmt::Display for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.bytes() {
            Some(n) => write!(f, "{} {n}", self.verb()),
            None => f.write_str(self.verb()),
        }
    }
}

/// "at DUR: ACTION": `call` runs `at` ns after the application opened the connection
/// (a client's active OPEN, or the SYN that created a server's connection), whatever
/// state the connection is in by then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedStep {
    pub at: u64,
    pub call: Call,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnSelector {
    All,
    Host(NodeId),
    HostPort(NodeId, u16),
    /// "group*" or "group*:port": the hosts of a `[[group]]`, nodes `first..end`.
    Hosts {
        first: NodeId,
        end: NodeId,
        port: Option<u16>,
    },
}

impl ConnSelector {
    /// The one host selected, if the selector names one.
    pub fn host(self) -> Option<NodeId> {
        match self {
            ConnSelector::All | ConnSelector::Hosts { .. } => None,
            ConnSelector::Host(h) | ConnSelector::HostPort(h, _) => Some(h),
        }
    }

    /// Whether a connection of `host` with local port `port` is selected.
    pub fn matches(self, host: NodeId, port: u16) -> bool {
        match self {
            ConnSelector::All => true,
            ConnSelector::Host(h) => host == h,
            ConnSelector::HostPort(h, p) => host == h && port == p,
            ConnSelector::Hosts {
                first,
                end,
                port: p,
            } => (first..end).contains(&host) && p.is_none_or(|p| p == port),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Expect {
    pub conn: ConnSelector,
    /// The `conn` text as written, for messages.
    pub conn_text: String,
    /// Line of the `[[expect]]` entry, for messages.
    pub line: usize,
    pub checks: Vec<Check>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Check {
    Reaches(State),
    Never(State),
    Final(State),
    Delivered(u64),
    StateAt(State, u64),
    MinRetransmits(u64),
    /// Segments with exactly `flags` sent by the selected side in [after, before).
    Sends {
        flags: Flags,
        count: Option<u64>,
        after: u64,
        before: u64,
    },
    /// Whether the application received bytes its peer never sent there.
    Corrupted(bool),
    /// How many refusals of this kind the selected hosts saw: at least `min`, at most
    /// `max`.
    Refused {
        what: Refusal,
        min: Option<u64>,
        max: Option<u64>,
    },
    /// How many selected connections are in `state` at `at` (None: when the run ends):
    /// at least `min`, at most `max`.
    CountInState {
        state: State,
        at: Option<u64>,
        min: Option<u64>,
        max: Option<u64>,
    },
}

/// A connection that never got going, as `[[expect]] refused` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// An active open found no free local port.
    NoPort,
    /// A listener dropped a SYN: its backlog was full.
    BacklogFull,
}

impl Refusal {
    pub fn parse(text: &str) -> Option<Refusal> {
        match text {
            "no_port" => Some(Refusal::NoPort),
            "backlog_full" => Some(Refusal::BacklogFull),
            _ => None,
        }
    }

    /// The words of the summary line and of expectation messages.
    pub fn describe(self) -> &'static str {
        match self {
            Refusal::NoPort => "connects that found no free local port",
            Refusal::BacklogFull => "SYNs dropped by a full listen backlog",
        }
    }
}

/// A hand-written segment; see [`super::schema::InjectDef`].
#[derive(Debug, Clone, PartialEq)]
pub struct Inject {
    pub at: u64,
    pub from: NodeId,
    /// The connection whose variables `seq`/`ack` refer to and whose endpoints are the
    /// defaults; resolved at `at` to the first live connection it selects.
    pub target: Option<ConnSelector>,
    pub src: Option<(NodeId, u16)>,
    pub dst: Option<(NodeId, u16)>,
    pub flags: Flags,
    pub seq: SeqExpr,
    pub ack: SeqExpr,
    pub window: u16,
    pub len: u32,
    pub mss: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqVar {
    RcvNxt,
    SndNxt,
    SndUna,
    Iss,
    Irs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqExpr {
    Absolute(u32),
    /// A variable of the target connection plus an offset (mod 2^32).
    Relative(SeqVar, i64),
}

#[cfg(test)]
mod tests {
    use super::ln;

    #[test]
    fn ln_matches_the_platform_closely() {
        for x in [
            1e-300, 1e-9, 0.001, 0.25, 0.5, 0.999_999, 1.0, 1.5, 2.0, 10.0, 1e12,
        ] {
            let (ours, std) = (ln(x), x.ln());
            assert!(
                (ours - std).abs() <= 1e-13 * std.abs().max(1.0),
                "{x}: {ours} vs {std}"
            );
        }
        assert_eq!(ln(0.0), f64::NEG_INFINITY);
    }
}
