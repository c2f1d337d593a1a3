//! The scenario file's shape, exactly as users write it in TOML.
//!
//! Every table rejects unknown keys so a typo is an error, not a silent default.
//! References to other things (hosts, links, connections) are kept `Spanned` so a
//! missing host can be reported at its line and column before the run starts; so are
//! the values that validation checks (ranges, probabilities), for the same reason.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use toml::Spanned;

use super::units::{Duration, DurationOrNone, Rate};

/// The whole scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// The base TCP settings, "rfc9293" (default) or "linux"; `--profile` overrides it.
    pub profile: Option<Spanned<String>>,
    /// Virtual time at which the run stops; none: run until no event is left.
    pub duration: Option<Spanned<Duration>>,
    /// Seed used when `--seed` is not given (else 0).
    pub seed: Option<u64>,
    /// Guard against runaway scenarios: the run stops with an error after this many events.
    pub max_events: Option<Spanned<u64>>,
    /// Guard against a typo in a group's `count`: at most this many hosts in all.
    pub max_hosts: Option<Spanned<u64>>,
    /// TCP settings for every host, over the profile's (per-host `[host.tcp]` overrides
    /// single keys again).
    #[serde(default)]
    pub tcp: TcpSettings,
    #[serde(default, rename = "host")]
    pub hosts: Vec<HostDef>,
    #[serde(default, rename = "router")]
    pub routers: Vec<RouterDef>,
    #[serde(default, rename = "group")]
    pub groups: Vec<GroupDef>,
    #[serde(default, rename = "link")]
    pub links: Vec<LinkDef>,
    #[serde(default, rename = "fault")]
    pub faults: Vec<FaultDef>,
    #[serde(default, rename = "server")]
    pub servers: Vec<ServerDef>,
    #[serde(default, rename = "client")]
    pub clients: Vec<ClientDef>,
    #[serde(default, rename = "load")]
    pub loads: Vec<LoadDef>,
    #[serde(default, rename = "expect")]
    pub expects: Vec<ExpectDef>,
    #[serde(default, rename = "inject")]
    pub injects: Vec<InjectDef>,
}

/// TCP knobs; every key is optional so the same struct serves as global settings and
/// as a per-host override. Each maps to the [`crate::tcp::Config`] field of the same name.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpSettings {
    /// Maximum segment lifetime; TIME_WAIT lasts 2×MSL (RFC 9293 §3.3.2) unless
    /// `time_wait` is set.
    pub msl: Option<Spanned<Duration>>,
    /// TIME_WAIT length instead of 2×MSL (Linux: a fixed 60 s).
    pub time_wait: Option<Spanned<Duration>>,
    /// Give up on FIN_WAIT_2 after this long; "none" waits forever as RFC 9293 does.
    pub fin_wait_2_timeout: Option<Spanned<DurationOrNone>>,
    /// RTO before any RTT sample (RFC 6298 §2.1: 1 s).
    pub rto_initial: Option<Spanned<Duration>>,
    /// Lower bound for the RTO (RFC 6298 §2.4: 1 s).
    pub rto_min: Option<Spanned<Duration>>,
    /// Upper bound for the RTO (RFC 6298 §2.5: at least 60 s).
    pub rto_max: Option<Spanned<Duration>>,
    /// Retransmissions of a SYN or SYN,ACK before the attempt is abandoned.
    pub syn_retries: Option<Spanned<u32>>,
    /// Retransmissions of the same data or FIN before the connection is aborted.
    pub retries: Option<Spanned<u32>>,
    /// MSS this host announces and the largest payload it sends.
    pub mss: Option<Spanned<u16>>,
    /// Receive buffer in bytes; at most 65535, or 65535 << window_scale with scaling.
    /// Checked after merging, since the limit depends on `window_scale`.
    pub window: Option<Spanned<u32>>,
    /// RFC 7323 window shift offered in the SYN, 0–14, or "none" for no option.
    pub window_scale: Option<Spanned<WindowScale>>,
    /// RFC 7323 timestamps option and PAWS.
    pub timestamps: Option<Spanned<bool>>,
    /// RFC 5961 challenge ACKs.
    pub rfc5961: Option<bool>,
    /// RFC 5961 §7: challenge ACKs per second per connection, ≥ 1.
    pub challenge_ack_limit: Option<Spanned<u32>>,
    /// RFC 1337: ignore RST in TIME_WAIT.
    pub rfc1337: Option<bool>,
    /// Reuse a port in TIME_WAIT for a new outgoing connection; needs `timestamps`.
    pub tw_reuse: Option<Spanned<bool>>,
    /// Initial sequence numbers: "rfc6528" or "random".
    pub isn: Option<Spanned<String>>,
    /// Ephemeral port range "first-last" for clients that bind no port.
    pub ephemeral_ports: Option<Spanned<String>>,
    /// Delayed ACK timeout (RFC 1122 §4.2.3.2, < 500 ms), or "none" to ACK every segment.
    pub delayed_ack: Option<Spanned<DurationOrNone>>,
    /// Nagle's algorithm (RFC 1122 §4.2.3.4); false is TCP_NODELAY.
    pub nagle: Option<bool>,
    /// NewReno congestion control (RFC 5681, RFC 6582); false: only the peer's window limits.
    pub congestion_control: Option<bool>,
    /// Initial congestion window in segments (RFC 6928 allows 10); default RFC 5681's.
    pub initial_window: Option<Spanned<u32>>,
    /// RFC 3042 limited transmit (RFC 5681 §3.2 step 1).
    pub limited_transmit: Option<bool>,
    /// RFC 5681 §4.1 restart window after an idle RTO.
    pub restart_after_idle: Option<bool>,
    /// RFC 6298 §5.7: the RTO once established after a lost SYN (3 s), or "none".
    pub rto_after_syn_loss: Option<Spanned<DurationOrNone>>,
    /// Text on a SYN: "queue" (RFC 9293) or "drop" (Linux without Fast Open).
    pub syn_data: Option<Spanned<String>>,
    /// An in-window segment in TIME_WAIT: "ack_restart" (RFC 9293) or "ignore".
    pub time_wait_in_window: Option<Spanned<String>>,
    /// A reopened TIME_WAIT whose SYN was an old duplicate: "time_wait" or "listen".
    pub reopen_old_duplicate: Option<Spanned<String>>,
    /// SACK (RFC 2018): sackOK in the SYN, SACK blocks on our ACKs.
    pub sack: Option<bool>,
    /// D-SACK (RFC 2883) blocks for data that arrived twice, when SACK is on.
    pub dsack: Option<bool>,
    /// When the receiver ACKs and the window it offers: "rfc" or "linux".
    pub ack_policy: Option<Spanned<String>>,
    /// The congestion controller: "newreno" or "cubic".
    pub congestion: Option<Spanned<String>>,
    /// The RTO estimator: "rfc6298" or "linux".
    pub rtt_estimator: Option<Spanned<String>>,
    /// An RTT sample from the handshake (and from timestamps' echo).
    pub rtt_from_handshake: Option<bool>,
    /// Linux's tcp_syn_linear_timeouts: SYN timeouts that do not double the RTO.
    pub syn_linear_timeouts: Option<Spanned<u32>>,
    /// SYN,ACK retransmissions before a passive open gives up.
    pub synack_retries: Option<Spanned<u32>>,
    /// Linux's timer tick (CONFIG_HZ): 100, 250, 300 or 1000.
    pub hz: Option<Spanned<u32>>,
    /// Timers fire as on Linux's timer wheel.
    pub timer_wheel: Option<bool>,
    /// Tail loss probe (RFC 8985 §7), with SACK.
    pub tlp: Option<bool>,
    /// Linux's 500 ms out-of-window ACK rate limit.
    pub oow_rate_limit: Option<bool>,
    /// Linux's Nagle test (Minshall's variant; a FIN never waits).
    pub nagle_minshall: Option<bool>,
    /// A repeated SYN in SYN_RECEIVED draws the SYN,ACK again (Linux tcp_check_req).
    pub dup_syn_resends_syn_ack: Option<bool>,
    /// An ABORT's RST carries ACK = RCV.NXT (Linux tcp_send_active_reset).
    pub reset_with_ack: Option<bool>,
    /// cwnd starts at one segment after two or more SYN retransmissions (Linux).
    pub syn_loss_cwnd_one: Option<bool>,
    /// RFC 1122 §4.2.2.13's half-duplex close: RST for data after CLOSE.
    pub half_duplex_close: Option<bool>,
    /// A SYN also gives up once its retries' time has passed (Linux).
    pub syn_give_up_by_time: Option<bool>,
    /// TIME_WAIT as Linux's time-wait socket (tcp_minisocks.c).
    pub time_wait_minisock: Option<bool>,
    /// Receive-buffer autotuning (Linux tcp_rcv_space_adjust).
    pub rcv_autotune: Option<bool>,
    /// PSH on the last segment of each GSO packet (Linux).
    pub push_per_gso: Option<bool>,
    /// A FIN without data waits for room in cwnd, counted in segments (Linux).
    pub fin_needs_cwnd: Option<bool>,
    /// Applications react after the segments of an instant (Linux softirq).
    pub app_after_softirq: Option<bool>,
    /// Receive memory charged per segment until it is read whole (Linux sk_buffs).
    pub rmem_per_segment: Option<bool>,
    /// Zero-window probes at SND.UNA − 1 (Linux tcp_xmit_probe_skb).
    pub probe_old_seq: Option<bool>,
    /// RACK loss detection and PRR (Linux's recovery).
    pub rack: Option<bool>,
}

/// `window_scale` as written: an integer (range-checked by the loader, so the message
/// can point at it) or "none".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowScale(pub Option<i64>);

impl<'de> Deserialize<'de> for WindowScale {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = WindowScale;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"an integer from 0 to 14, or "none""#)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<WindowScale, E> {
                Ok(WindowScale(Some(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<WindowScale, E> {
                Ok(WindowScale(Some(i64::try_from(v).unwrap_or(i64::MAX))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<WindowScale, E> {
                match v.trim() {
                    "none" => Ok(WindowScale(None)),
                    _ => Err(E::custom(format!(
                        r#"expected an integer from 0 to 14, or "none" for no window scale option, found "{v}""#
                    ))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A host: a node that runs TCP and applications.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostDef {
    pub name: Spanned<String>,
    /// IPv4 address, dotted quad; assigned from 10.0.0.1 upwards when omitted.
    pub addr: Option<Spanned<String>>,
    pub tcp: Option<TcpSettings>,
}

/// A router: forwards segments, runs no TCP.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouterDef {
    pub name: Spanned<String>,
}

/// A group of `count` identical hosts named `{name}1` … `{name}{count}`, addressed in
/// order from `subnet`, each with its own link to `link_to`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupDef {
    /// Prefix of the host names; `conn = "{name}*"` selects the group's connections.
    pub name: Spanned<String>,
    /// Number of hosts, ≥ 1.
    pub count: Spanned<u32>,
    /// IPv4 subnet "a.b.c.d/len" the addresses are taken from, first usable one first.
    pub subnet: Spanned<String>,
    /// The existing node (usually a router) every host of the group is linked to.
    pub link_to: Spanned<String>,
    /// Properties of each host's link; `a` is the group's host, `b` is `link_to`.
    pub link: Option<GroupLinkDef>,
    /// TCP overrides for every host of the group, same keys as `[tcp]`.
    pub tcp: Option<TcpSettings>,
}

/// A `[[link]]` without `a` and `b`: the links of a `[[group]]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupLinkDef {
    pub delay: Option<Duration>,
    pub jitter: Option<Duration>,
    pub rate: Option<Rate>,
    pub queue: Option<Spanned<u32>>,
    pub loss: Option<Spanned<f64>>,
    pub duplicate: Option<Spanned<f64>>,
    pub reorder: Option<Spanned<f64>>,
    pub reorder_delay: Option<Duration>,
    pub corrupt: Option<Spanned<f64>>,
    /// Overrides for host → `link_to` only.
    pub a_to_b: Option<LinkProps>,
    /// Overrides for `link_to` → host only.
    pub b_to_a: Option<LinkProps>,
}

impl GroupLinkDef {
    /// Properties for both directions, gathered as one [`LinkProps`].
    pub fn both(&self) -> LinkProps {
        LinkProps {
            delay: self.delay,
            jitter: self.jitter,
            rate: self.rate,
            queue: self.queue.clone(),
            loss: self.loss.clone(),
            duplicate: self.duplicate.clone(),
            reorder: self.reorder.clone(),
            reorder_delay: self.reorder_delay,
            corrupt: self.corrupt.clone(),
        }
    }
}

/// A full-duplex link between two nodes (hosts or routers).
///
/// The properties for both directions are spelled out rather than `#[serde(flatten)]`ed
/// from [`LinkProps`]: flatten buffers values, which loses their spans and makes serde
/// report unknown keys without the list of valid ones.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkDef {
    pub a: Spanned<String>,
    pub b: Spanned<String>,
    // Properties for both directions; see `LinkProps` for their meaning.
    pub delay: Option<Duration>,
    pub jitter: Option<Duration>,
    pub rate: Option<Rate>,
    pub queue: Option<Spanned<u32>>,
    pub loss: Option<Spanned<f64>>,
    pub duplicate: Option<Spanned<f64>>,
    pub reorder: Option<Spanned<f64>>,
    pub reorder_delay: Option<Duration>,
    pub corrupt: Option<Spanned<f64>>,
    /// Overrides for the a → b direction only.
    pub a_to_b: Option<LinkProps>,
    /// Overrides for the b → a direction only.
    pub b_to_a: Option<LinkProps>,
}

impl LinkDef {
    /// Properties for both directions, gathered as one [`LinkProps`].
    pub fn both(&self) -> LinkProps {
        LinkProps {
            delay: self.delay,
            jitter: self.jitter,
            rate: self.rate,
            queue: self.queue.clone(),
            loss: self.loss.clone(),
            duplicate: self.duplicate.clone(),
            reorder: self.reorder.clone(),
            reorder_delay: self.reorder_delay,
            corrupt: self.corrupt.clone(),
        }
    }
}

/// Impairments of one link direction; all optional, the default link is perfect.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkProps {
    /// Propagation delay.
    pub delay: Option<Duration>,
    /// Extra delay drawn uniformly from [0, jitter] per segment.
    pub jitter: Option<Duration>,
    /// Bandwidth; serialization time = wire bytes × 8 / rate. None: infinite.
    pub rate: Option<Rate>,
    /// FIFO queue limit in segments (tail drop); only meaningful with a rate.
    pub queue: Option<Spanned<u32>>,
    /// Probability of losing a segment.
    pub loss: Option<Spanned<f64>>,
    /// Probability of delivering a segment twice.
    pub duplicate: Option<Spanned<f64>>,
    /// Probability of holding a segment back by `reorder_delay`.
    pub reorder: Option<Spanned<f64>>,
    /// Extra delay of a reordered segment.
    pub reorder_delay: Option<Duration>,
    /// Probability of corrupting a segment (the receiver's checksum check drops it).
    pub corrupt: Option<Spanned<f64>>,
}

/// A targeted fault. `action` selects which keys apply.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultDef {
    /// Shown in the transcript as the cause; default "fault#N" (1-based).
    pub name: Option<String>,
    pub action: Spanned<FaultAction>,
    /// For `delay`: how long the segment is held. For `duplicate`: how much later the
    /// copy enters the network (default 0; a long delay makes an old duplicate).
    pub delay: Option<Spanned<Duration>>,
    // Segment filter (drop / delay / duplicate).
    pub from: Option<Spanned<String>>,
    pub to: Option<Spanned<String>>,
    /// Matches source or destination port.
    pub port: Option<Spanned<u16>>,
    pub src_port: Option<Spanned<u16>>,
    pub dst_port: Option<Spanned<u16>>,
    /// Exact flag set, e.g. "FIN,ACK" or "ACK".
    pub flags: Option<Spanned<String>>,
    /// Flags that must be present, others may be too, e.g. "FIN".
    pub with_flags: Option<Spanned<String>>,
    /// true: only segments carrying data; false: only segments without data.
    pub payload: Option<Spanned<bool>>,
    /// Act on the Nth matching segment only (1-based); omitted: every match.
    pub nth: Option<Spanned<u32>>,
    /// Time window in which segments are matched (`partition`: when the link is down).
    pub start: Option<Spanned<Duration>>,
    pub end: Option<Spanned<Duration>>,
    // Partition: the link between a and b.
    pub a: Option<Spanned<String>>,
    pub b: Option<Spanned<String>>,
    /// Partition direction: "both" (default), "a_to_b", "b_to_a".
    pub direction: Option<Spanned<String>>,
    /// Crash: the host that loses all its TCP state at `start` (and restarts at `end`).
    pub host: Option<Spanned<String>>,
}

/// What a `[[fault]]` does; see [`super::model::FaultKind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultAction {
    /// Lose matching segments.
    Drop,
    /// Hold matching segments back by `delay`.
    Delay,
    /// Send matching segments twice (the copy `delay` later).
    Duplicate,
    /// Take a link down between `start` and `end`.
    Partition,
    /// `host` loses all TCP state at `start`, restarting at `end` if given.
    Crash,
}

/// A listening application.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerDef {
    pub host: Spanned<String>,
    pub port: Spanned<u16>,
    /// Connections that may wait in SYN_RECEIVED; further SYNs are dropped.
    pub backlog: Option<Spanned<u32>>,
    /// Bytes sent back once the first data arrives.
    pub reply: Option<Spanned<u64>>,
    /// Send back every byte received.
    #[serde(default)]
    pub echo: bool,
    /// When the server closes: "peer_close" (default), "after_reply", "never".
    pub close: Option<Spanned<String>>,
    /// With `reply`: a request is this many bytes, and each one gets its own reply
    /// (keep-alive); default: one reply, to the first data.
    pub request: Option<Spanned<u64>>,
    /// With `request`: close after this many replies (`close = "after_reply"`).
    pub close_after: Option<Spanned<u32>>,
    /// SO_LINGER with a zero timeout: the server's closes are aborts (RST, no TIME_WAIT).
    /// Only 0 is accepted.
    pub linger: Option<Spanned<u32>>,
    /// A slow reader: "N every DUR" reads at most N bytes each DUR; "manual" reads only
    /// what timed `read` steps take (default: read at once).
    pub read: Option<Spanned<String>>,
    /// Timed steps only, "at DUR: ACTION" with DUR from the SYN that created the
    /// connection: "send N", "shutdown", "close", "abort", "read", "read N".
    #[serde(default)]
    pub actions: Vec<Spanned<String>>,
}

/// An application that connects at `start` and then runs `actions` in order.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientDef {
    /// The host it runs on; exclusive with `group`.
    pub host: Option<Spanned<String>>,
    /// One client on every host of this `[[group]]`; exclusive with `host`.
    pub group: Option<Spanned<String>>,
    /// "host:port" to connect to.
    pub connect: Spanned<String>,
    /// Time of the active open (with `group`: of the first one).
    pub start: Option<Duration>,
    /// With `group`: the interval over which the starts are spread.
    pub spread: Option<Spanned<Duration>>,
    /// With `spread`: "step" (default), "uniform" or "exponential".
    pub spread_mode: Option<Spanned<String>>,
    /// Local port to bind; omitted: the next free ephemeral port.
    pub local_port: Option<Spanned<u16>>,
    /// Steps after the connection is ESTABLISHED: "send N", "wait DUR", "recv N",
    /// "recv_eof", "shutdown", "close", "abort"; and timed steps "at DUR: ACTION" (DUR
    /// from the active OPEN, ACTION "send N", "shutdown", "close" or "abort").
    #[serde(default)]
    pub actions: Vec<Spanned<String>>,
}

/// An open-loop workload: new connections from `from` (a host, or round-robin over the
/// hosts of a `[[group]]`) to `connect` at `rate` for `duration`, each running the same
/// script, generated from `requests`/`request`/`response`/`think`/`close` or written out
/// in `actions`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadDef {
    /// Shown in messages and usable by `--set load.NAME.key`; default "load#N".
    pub name: Option<Spanned<String>>,
    /// A host or a `[[group]]` name.
    pub from: Spanned<String>,
    /// "host:port" to connect to.
    pub connect: Spanned<String>,
    /// New connections per unit of time: "800/s", "5/ms", "30/min".
    pub rate: Spanned<String>,
    /// How long connections keep arriving.
    pub duration: Spanned<Duration>,
    /// When the first one arrives (default 0).
    pub start: Option<Duration>,
    /// "constant" (default: evenly spaced) or "poisson" (exponential gaps, seeded).
    pub arrivals: Option<Spanned<String>>,
    /// Request/response exchanges per connection, ≥ 1 (default 1): keep-alive reuse.
    pub requests: Option<Spanned<u32>>,
    /// Bytes of each request (default 100).
    pub request: Option<Spanned<u64>>,
    /// Bytes of each response the client waits for before the next step (default 0:
    /// it does not wait).
    pub response: Option<Spanned<u64>>,
    /// Pause between one response and the next request.
    pub think: Option<Duration>,
    /// How the client ends: "client" (default: it closes first), "server" (it waits for
    /// the server's FIN, then closes), "abort" (SO_LINGER 0: RST, no TIME_WAIT) or
    /// "never" (it never closes).
    pub close: Option<Spanned<String>>,
    /// The script itself instead of the keys above, as in `[[client]]`.
    #[serde(default)]
    pub actions: Vec<Spanned<String>>,
}

/// A check on the run's outcome. `conn` names connections: "host" (every connection
/// of that host), "host:port" (those with that local port), "group*" (every connection
/// of every host of a `[[group]]`, "group*:port" with that local port), or "*" (all).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectDef {
    pub conn: Spanned<String>,
    /// The connection passes through this state at some time.
    pub reaches: Option<Spanned<String>>,
    /// The connection never enters this state.
    pub never: Option<Spanned<String>>,
    /// The connection's state when the run ends.
    #[serde(rename = "final")]
    pub final_state: Option<Spanned<String>>,
    /// Bytes delivered to the application on this side.
    pub delivered: Option<u64>,
    /// With `at`: the state at that time.
    pub state: Option<Spanned<String>>,
    /// The time for `state` and `count_in_state`.
    pub at: Option<Spanned<Duration>>,
    /// With `min` and/or `max`: how many selected connections are in this state at `at`
    /// (without `at`: when the run ends).
    pub count_in_state: Option<Spanned<String>>,
    /// With `min` and/or `max`: how many connects of the selected host found no free
    /// local port ("no_port"), or how many SYNs its listeners dropped with a full backlog
    /// ("backlog_full"); "host:port" narrows to that bound or listening port.
    pub refused: Option<Spanned<String>>,
    /// With `count_in_state` or `refused`: at least this many.
    pub min: Option<Spanned<u64>>,
    /// With `count_in_state` or `refused`: at most this many.
    pub max: Option<Spanned<u64>>,
    /// At least this many retransmissions on this side.
    pub min_retransmits: Option<u64>,
    /// The selected side sends segments with exactly these flags (e.g. "RST", "ACK").
    pub sends: Option<Spanned<String>>,
    /// With `sends`: exactly this many such segments (default: at least one).
    pub count: Option<Spanned<u64>>,
    /// With `sends`: only count segments sent at or after this time.
    pub after: Option<Spanned<Duration>>,
    /// With `sends`: only count segments sent before this time.
    pub before: Option<Spanned<Duration>>,
    /// true: the application on this side receives bytes its peer never sent there (a
    /// scenario demonstrating corruption by an old duplicate); false: it never does.
    pub corrupted: Option<bool>,
}

/// A hand-written segment sent into the network at a given time (packetdrill-like).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InjectDef {
    /// When the segment is sent (spanned: errors about the entry as a whole point here).
    pub at: Spanned<Duration>,
    /// The node where the segment enters the network (default: the host owning `src`,
    /// else the `conn`'s host, which then receives it directly).
    pub from: Option<Spanned<String>>,
    /// The connection the segment aims at: "host" or "host:port"; `src` and `dst` default
    /// to its peer and itself, and `seq`/`ack` may refer to its variables.
    pub conn: Option<Spanned<String>>,
    /// "host:port" the segment claims to come from.
    pub src: Option<Spanned<String>>,
    /// "host:port" it is addressed to.
    pub dst: Option<Spanned<String>>,
    /// Flag names as in `[[fault]]`; default none.
    pub flags: Option<Spanned<String>>,
    /// A number, or "VAR", "VAR+N", "VAR-N" with VAR one of rcv_nxt, snd_nxt, snd_una, iss, irs.
    pub seq: Option<Spanned<SeqValue>>,
    pub ack: Option<Spanned<SeqValue>>,
    /// Window field; default 65535.
    pub window: Option<u16>,
    /// Payload length in bytes.
    pub len: Option<Spanned<u32>>,
    /// MSS option; default none.
    pub mss: Option<u16>,
}

/// A sequence number as written: absolute, or an expression over a connection's
/// variables (parsed by the loader, which knows whether `conn` is there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeqValue {
    Number(u32),
    Expr(String),
}

/// Hand-written rather than `#[serde(untagged)]`, whose error ("data did not match any
/// variant") would not say what a valid value looks like.
impl<'de> Deserialize<'de> for SeqValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = SeqValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"a sequence number from 0 to 4294967295 or an expression such as "rcv_nxt+1""#)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SeqValue, E> {
                u32::try_from(v).map(SeqValue::Number).map_err(|_| {
                    E::custom(format!(
                        r#"a sequence number is from 0 to 4294967295, found {v}; for an offset write an expression such as "rcv_nxt-1""#
                    ))
                })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SeqValue, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SeqValue, E> {
                Ok(SeqValue::Expr(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}
