//! The validated scenario: names resolved to indices, units to integers.
//!
//! Built by `load` from a [`super::schema::ScenarioFile`]; everything the simulator reads
//! comes from here, so the simulator never sees a string it has to look up.

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
    /// Hosts first in file order, then routers in file order.
    pub nodes: Vec<Node>,
    pub links: Vec<Link>,
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
    Host { addr: u32, tcp: Config },
    Router,
}

#[derive(Debug, Clone)]
pub struct Link {
    pub a: NodeId,
    pub b: NodeId,
    pub a_to_b: LinkParams,
    pub b_to_a: LinkParams,
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
    /// A slow reader: (at most this many bytes, every this many ns); None reads at once.
    pub read: Option<(u64, u64)>,
}

#[derive(Debug, Clone)]
pub struct Client {
    pub host: NodeId,
    pub remote: NodeId,
    pub remote_port: u16,
    /// Time of the active OPEN, ns.
    pub start: u64,
    pub local_port: Option<u16>,
    pub actions: Vec<Action>,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnSelector {
    All,
    Host(NodeId),
    HostPort(NodeId, u16),
}

impl ConnSelector {
    /// The one host selected, if the selector names one.
    pub fn host(self) -> Option<NodeId> {
        match self {
            ConnSelector::All => None,
            ConnSelector::Host(h) | ConnSelector::HostPort(h, _) => Some(h),
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
