//! Reading a scenario file and turning it into the validated [`Scenario`].
//!
//! Every check runs here, before the simulation starts, so a mistake in a file is
//! reported at its line and column instead of surfacing as odd behaviour mid-run.

use std::collections::{HashMap, VecDeque};
use std::fmt::Display;
use std::io::Read;
use std::net::Ipv4Addr;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use rustc_hash::FxHashMap;
use toml::Spanned;

use super::error::{self, ScenarioError};
use super::limits::{self, Estimate};
use super::model::{
    Action, Call, Check, Client, ConnSelector, Expect, Fault, FaultKind, Group, Inject, Link,
    LinkParams, Node, NodeId, NodeKind, Refusal, Scenario, SegmentAction, SegmentFilter, SeqExpr,
    SeqVar, Server, ServerClose, ServerRead, SpreadMode, SpreadSource, StartSpread, TimedStep,
};
use super::schema::{
    ClientDef, ExpectDef, FaultAction, FaultDef, GroupDef, HostDef, InjectDef, LinkDef, LinkProps,
    RouterDef, ScenarioFile, SeqValue, ServerDef, TcpSettings,
};
use super::units::{Duration, DurationOrNone, format_duration, parse_duration};
use crate::tcp::{
    AckPolicy, Config, CongestionAlgorithm, Flags, IsnMode, Profile, ReopenOldDuplicate,
    RttEstimator, State, SynData, TimeWaitInWindow,
};

mod workload;

type Result<T> = std::result::Result<T, ScenarioError>;

/// Event budget when the file sets none: generous, yet stops a runaway loop.
const DEFAULT_MAX_EVENTS: u64 = 50_000_000;
/// First address handed to hosts without `addr`: 10.0.0.1.
const FIRST_AUTO_ADDR: u32 = 0x0A00_0001;

const ACTION_FORMS: &str = r#""send N", "wait DUR", "recv N", "recv_eof", "shutdown", "close", "abort" or a timed step "at DUR: ACTION" (N is a number of bytes, DUR a duration such as "200ms")"#;
/// The calls a timed step of a `[[client]]` can make.
const CLIENT_TIMED_FORMS: &str = r#""send N", "shutdown", "close" or "abort""#;
/// The calls a timed step of a `[[server]]` can make.
const SERVER_TIMED_FORMS: &str = r#""send N", "shutdown", "close", "abort", "read" or "read N""#;
const FLAG_NAMES: &str =
    r#"SYN, FIN, RST, PSH, URG and ACK, separated by commas, e.g. "FIN,ACK" ("" means no flags)"#;
const STATE_NAMES: &str = "CLOSED, LISTEN, SYN_SENT, SYN_RECEIVED, ESTABLISHED, FIN_WAIT_1, \
                           FIN_WAIT_2, CLOSE_WAIT, CLOSING, LAST_ACK or TIME_WAIT";

/// Reads and validates the scenario at `path`; an unreadable file is an error naming the path.
pub fn load_file(path: &Path) -> Result<Scenario> {
    load_file_with(path, None)
}

/// [`load_file`], with `profile` (from `--profile`) replacing the file's `profile` key.
pub fn load_file_with(path: &Path, profile: Option<Profile>) -> Result<Scenario> {
    let origin = path.display().to_string();
    let src = read_source(path, &origin)?;
    load_str_with(&src, &origin, profile)
}

/// The file's text. Every way it can fail names the file: it cannot be opened or read
/// (no such file, permissions, a directory), it is larger than
/// [`limits::MAX_FILE_BYTES`], or it is not UTF-8 (then also the line and column of the
/// first bad byte, the line quoted with the bad bytes shown as U+FFFD).
fn read_source(path: &Path, origin: &str) -> Result<String> {
    let whole = |message: String| ScenarioError::whole_file(origin, message);
    let cannot = |e: std::io::Error| whole(format!("cannot read the scenario file: {e}"));
    if path.is_dir() {
        return Err(whole(
            "cannot read the scenario file: it is a directory".into(),
        ));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(cannot)?
        .take(limits::MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > limits::MAX_FILE_BYTES {
        return Err(whole(format!(
            "the scenario file is larger than {} MiB; a scenario describes many hosts with [[group]] instead",
            limits::MAX_FILE_BYTES >> 20
        )));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bad = e.as_bytes()[at];
        // The valid prefix is the same bytes in the lossy text, so `at` is the bad byte.
        let text = String::from_utf8_lossy(e.as_bytes());
        let message = format!(
            "the scenario file is not UTF-8 text: byte 0x{bad:02X} here does not start a valid UTF-8 character (TOML files are UTF-8)"
        );
        ScenarioError::at(&text, origin, at..at + 1, None, message)
    })
}

/// Parses and validates scenario text; `origin` names it in errors (a path or "<string>").
pub fn load_str(src: &str, origin: &str) -> Result<Scenario> {
    load_str_with(src, origin, None)
}

/// [`load_str`], with `profile` (from `--profile`) replacing the file's `profile` key.
/// The file's key is still checked, so a misspelt profile is reported either way.
pub fn load_str_with(src: &str, origin: &str, profile: Option<Profile>) -> Result<Scenario> {
    let file: ScenarioFile = toml::from_str(src).map_err(|e| error::from_toml(src, origin, &e))?;
    let mut loader = Loader {
        src,
        origin,
        line_starts: std::iter::once(0)
            .chain(src.match_indices('\n').map(|(i, _)| i + 1))
            .collect(),
        max_hosts: limits::DEFAULT_MAX_HOSTS,
        nodes: Vec::new(),
        node_spans: Vec::new(),
        by_name: FxHashMap::default(),
        groups: Vec::new(),
    };
    loader.build(file, profile)
}

/// A merged [`Config`] and where the user set the values that limit each other, so a
/// conflict found in a later layer (`[host.tcp]` against `[tcp]`) can point back at them.
/// A `None` span means the value is the profile's.
#[derive(Clone)]
struct TcpLayers {
    cfg: Config,
    window: Option<Range<usize>>,
    tw_reuse: Option<Range<usize>>,
}

/// Validation state: the source for error positions and the nodes resolved so far.
struct Loader<'a> {
    src: &'a str,
    origin: &'a str,
    /// Where each line starts, so `line_of` is a binary search: a file with 13,000
    /// `[[expect]]`s asks for 13,000 line numbers.
    line_starts: Vec<usize>,
    /// The file's `max_hosts`, or [`limits::DEFAULT_MAX_HOSTS`].
    max_hosts: u64,
    nodes: Vec<Node>,
    /// The span of each node's `name` (a group's, for its hosts), for messages.
    node_spans: Vec<Range<usize>>,
    /// Node name → id and the span of its `name`, to point at the first definition.
    /// Only looked up, never iterated: a fast hash (a million group hosts are named).
    by_name: FxHashMap<String, (NodeId, Range<usize>)>,
    /// The `[[group]]`s added so far.
    groups: Vec<GroupInfo>,
}

/// A `[[group]]` once its hosts exist.
struct GroupInfo {
    name: String,
    /// Its hosts are nodes `first..end`.
    first: NodeId,
    end: NodeId,
    link_to: NodeId,
    /// Its `name` key, where errors about the group as a whole point.
    span: Range<usize>,
}

/// The addresses of a group's subnet, `start..end` (u64: a /0 ends at 2^32), and the
/// first one handed out.
#[derive(Clone, Copy)]
struct AddrBlock {
    start: u64,
    end: u64,
    first: u32,
}

impl AddrBlock {
    fn contains(&self, addr: u32) -> bool {
        (self.start..self.end).contains(&u64::from(addr))
    }
}

fn span_of<T>(v: &Option<Spanned<T>>) -> Option<Range<usize>> {
    v.as_ref().map(Spanned::span)
}

impl Loader<'_> {
    fn err(&self, span: Range<usize>, key: &str, message: impl Into<String>) -> ScenarioError {
        ScenarioError::at(
            self.src,
            self.origin,
            span,
            Some(key.to_string()),
            message.into(),
        )
    }

    fn line_of(&self, span: &Range<usize>) -> usize {
        self.line_starts
            .partition_point(|&start| start <= span.start)
    }

    fn build(&mut self, file: ScenarioFile, cli_profile: Option<Profile>) -> Result<Scenario> {
        let file_profile = file.profile.as_ref().map(|p| self.profile(p)).transpose()?;
        let profile = cli_profile.or(file_profile).unwrap_or(Profile::Rfc9293);
        let (duration, max_events) = self.run_limits(&file)?;
        let base = TcpLayers {
            cfg: profile.config(),
            window: None,
            tw_reuse: None,
        };
        let global = self.merge_tcp(&base, &file.tcp)?;
        let blocks = self.address_blocks(&file.groups, file.hosts.len())?;
        self.add_nodes(&file.hosts, &file.routers, &global, &blocks)?;
        self.add_groups(&file.groups, &blocks, &global)?;
        self.check_has_hosts()?;
        let mut links = file
            .links
            .iter()
            .map(|l| self.link(l))
            .collect::<Result<Vec<_>>>()?;
        self.check_unique_links(&file.links, &links)?;
        let groups = self.group_links(&file.groups, &file.links, &mut links)?;
        self.check_reachable(&links)?;
        let faults = (file.faults.iter().enumerate())
            .map(|(i, f)| self.fault(i, f, &links))
            .collect::<Result<Vec<_>>>()?;
        let servers = self.servers(&file.servers)?;
        let mut clients = Vec::new();
        for (entry, c) in file.clients.iter().enumerate() {
            self.client(entry, c, &servers, &mut clients)?;
        }
        self.loads(&file.loads, &mut clients)?;
        let expects = (file.expects.iter())
            .map(|e| self.expect(e))
            .collect::<Result<Vec<_>>>()?;
        let injects = (file.injects.iter())
            .map(|i| self.inject(i))
            .collect::<Result<Vec<_>>>()?;
        let sc = Scenario {
            origin: self.origin.to_string(),
            profile,
            duration,
            seed: file.seed,
            max_events,
            nodes: std::mem::take(&mut self.nodes),
            links,
            groups,
            faults,
            servers,
            clients,
            expects,
            injects,
        };
        self.check_event_budget(&sc, &file)?;
        Ok(sc)
    }

    /// `duration`, `max_events` and `max_hosts` (kept for the group checks), each in range.
    fn run_limits(&mut self, file: &ScenarioFile) -> Result<(Option<u64>, u64)> {
        let duration = match &file.duration {
            Some(d) if d.get_ref().0 == 0 => {
                return Err(self.err(
                    d.span(),
                    "duration",
                    "`duration` must be greater than 0; omit it to run until no event is left",
                ));
            }
            d => d.as_ref().map(|d| d.get_ref().0),
        };
        let max_events = match &file.max_events {
            Some(m) => self.within(m, "max_events", 1, limits::MAX_MAX_EVENTS, " events")?,
            None => DEFAULT_MAX_EVENTS,
        };
        if let Some(m) = &file.max_hosts {
            self.max_hosts = self.within(m, "max_hosts", 1, limits::MAX_MAX_HOSTS, " hosts")?;
        }
        Ok((duration, max_events))
    }

    /// A scenario without hosts has nothing to simulate; it is an error, not a PASS.
    fn check_has_hosts(&self) -> Result<()> {
        if self
            .nodes
            .iter()
            .any(|n| matches!(n.kind, NodeKind::Host { .. }))
        {
            return Ok(());
        }
        Err(self.err(
            0..0,
            "host",
            "this scenario defines no host, so there is nothing to run: add [[host]] tables (or a [[group]]), joined by [[link]]s, with a [[server]] and a [[client]]",
        ))
    }

    /// The scenario must fit its event budget: its [`Estimate`] of events is a lower
    /// bound, so a smaller `max_events` could only stop the run with an error.
    fn check_event_budget(&self, sc: &Scenario, file: &ScenarioFile) -> Result<()> {
        let estimate = Estimate::of(sc);
        match &file.max_events {
            Some(m) if estimate.events > sc.max_events => Err(self.err(
                m.span(),
                "max_events",
                format!(
                    "`max_events = {}` is too small for this scenario, which needs at least {} events ({estimate})",
                    sc.max_events, estimate.events
                ),
            )),
            _ => Ok(()),
        }
    }

    // ---- small value checks -------------------------------------------------------

    /// The value if it is at least `min`; `unit` follows numbers in the message.
    fn at_least<T: PartialOrd + Display + Copy>(
        &self,
        v: &Spanned<T>,
        key: &str,
        min: T,
        unit: &str,
    ) -> Result<T> {
        let value = *v.get_ref();
        if value < min {
            return Err(self.err(
                v.span(),
                key,
                format!("`{key}` must be at least {min}{unit}, found {value}"),
            ));
        }
        Ok(value)
    }

    /// The value if it is from `min` to `max`; `unit` follows numbers in the message.
    fn within<T: PartialOrd + Display + Copy>(
        &self,
        v: &Spanned<T>,
        key: &str,
        min: T,
        max: T,
        unit: &str,
    ) -> Result<T> {
        let value = *v.get_ref();
        if value < min || value > max {
            return Err(self.err(
                v.span(),
                key,
                format!("`{key}` must be from {min} to {max}{unit}, found {value}"),
            ));
        }
        Ok(value)
    }

    fn positive_duration(&self, v: &Spanned<Duration>, key: &str) -> Result<u64> {
        match v.get_ref().0 {
            0 => Err(self.err(v.span(), key, format!("`{key}` must be greater than 0"))),
            ns => Ok(ns),
        }
    }

    /// A probability in [0, 1], if given.
    fn probability(&self, v: &Option<Spanned<f64>>, key: &str) -> Result<Option<f64>> {
        let Some(v) = v else { return Ok(None) };
        let p = *v.get_ref();
        if !(0.0..=1.0).contains(&p) {
            return Err(self.err(
                v.span(),
                key,
                format!("`{key}` is a probability and must be between 0 and 1, found {p}"),
            ));
        }
        Ok(Some(p))
    }

    /// A name for a host or router: non-empty, no ':' (it separates the port), not "*".
    fn check_name(&self, name: &Spanned<String>) -> Result<()> {
        let n = name.get_ref();
        let problem = if n.is_empty() {
            Some("a name must not be empty".to_string())
        } else if n.contains(':') {
            Some(format!(
                "name `{n}` must not contain ':', which separates host and port in \"host:port\""
            ))
        } else if n.contains('*') {
            Some(format!(
                "name `{n}` must not contain '*': in `conn`, \"*\" means every connection and \"group*\" a group's"
            ))
        } else {
            self.by_name.get(n).map(|(_, first)| {
                format!(
                    "name `{n}` is already used by the node defined on line {}; names must be unique among hosts and routers",
                    self.line_of(first)
                )
            })
        };
        match problem {
            Some(message) => Err(self.err(name.span(), "name", message)),
            None => Ok(()),
        }
    }

    // ---- nodes and TCP settings ---------------------------------------------------

    fn profile(&self, p: &Spanned<String>) -> Result<Profile> {
        Profile::parse(p.get_ref().trim()).ok_or_else(|| {
            self.err(
                p.span(),
                "profile",
                format!(
                    r#"unknown profile "{}": expected "rfc9293" (the RFCs' defaults) or "linux" (a current Linux kernel's)"#,
                    p.get_ref()
                ),
            )
        })
    }

    /// `s` applied key by key over `base`, each value checked, then the values that
    /// limit each other (rto_min/rto_max, window/window_scale, tw_reuse/timestamps)
    /// checked on the merged result.
    fn merge_tcp(&self, base: &TcpLayers, s: &TcpSettings) -> Result<TcpLayers> {
        let mut out = base.clone();
        self.merge_times(&mut out.cfg, s)?;
        self.merge_segments(&mut out, s)?;
        self.merge_rfc_options(&mut out, s)?;
        self.merge_data_path(&mut out.cfg, s)?;
        self.merge_choices(&mut out.cfg, s)?;
        self.check_rto_bounds(&out.cfg, s)?;
        self.check_window(&mut out, s)?;
        self.check_tw_reuse(&mut out, s)?;
        Ok(out)
    }

    /// Timers and retry counts.
    fn merge_times(&self, cfg: &mut Config, s: &TcpSettings) -> Result<()> {
        let durations = [
            (&s.msl, "msl", &mut cfg.msl),
            (&s.rto_initial, "rto_initial", &mut cfg.rto_initial),
            (&s.rto_min, "rto_min", &mut cfg.rto_min),
            (&s.rto_max, "rto_max", &mut cfg.rto_max),
        ];
        for (value, key, slot) in durations {
            if let Some(v) = value {
                *slot = self.positive_duration(v, key)?;
            }
        }
        if let Some(v) = &s.time_wait {
            cfg.time_wait = Some(self.positive_duration(v, "time_wait")?);
        }
        if let Some(v) = &s.fin_wait_2_timeout {
            cfg.fin_wait_2_timeout = self.positive_or_none(
                v,
                "fin_wait_2_timeout",
                r#"`fin_wait_2_timeout` must be greater than 0, or "none" to wait in FIN_WAIT_2 forever"#,
            )?;
        }
        if let Some(v) = &s.rto_after_syn_loss {
            cfg.rto_after_syn_loss = self.positive_or_none(
                v,
                "rto_after_syn_loss",
                r#"`rto_after_syn_loss` must be greater than 0 (RFC 6298 §5.7 says 3s), or "none" to keep the RTO the handshake ended with"#,
            )?;
        }
        let retries = [
            (&s.syn_retries, "syn_retries", &mut cfg.syn_retries),
            (&s.retries, "retries", &mut cfg.retries),
            (&s.synack_retries, "synack_retries", &mut cfg.synack_retries),
            (
                &s.syn_linear_timeouts,
                "syn_linear_timeouts",
                &mut cfg.syn_linear_timeouts,
            ),
        ];
        for (value, key, slot) in retries {
            if let Some(n) = value {
                *slot = self.within(n, key, 0, limits::MAX_RETRIES, " retransmissions")?;
            }
        }
        Ok(())
    }

    /// A duration that must be above 0, or "none".
    fn positive_or_none(
        &self,
        v: &Spanned<DurationOrNone>,
        key: &str,
        message: &str,
    ) -> Result<Option<u64>> {
        match v.get_ref().0 {
            Some(0) => Err(self.err(v.span(), key, message)),
            t => Ok(t),
        }
    }

    /// Segment and buffer sizes.
    fn merge_segments(&self, out: &mut TcpLayers, s: &TcpSettings) -> Result<()> {
        let cfg = &mut out.cfg;
        if let Some(mss) = &s.mss {
            cfg.mss = self.within(
                mss,
                "mss",
                64,
                limits::MAX_MSS,
                " bytes (an IPv4 packet holds 65535 bytes, 40 of them headers)",
            )?;
        }
        if let Some(w) = &s.window {
            cfg.window = self.at_least(w, "window", 1, " bytes")?;
            // A buffer the scenario sets is fixed, as SO_RCVBUF fixes Linux's.
            cfg.rcv_autotune = false;
            cfg.window_is_sockopt = true;
            out.window = Some(w.span());
        }
        if let Some(v) = &s.window_scale {
            cfg.window_scale = match v.get_ref().0 {
                None => None,
                Some(shift @ 0..=14) => Some(shift as u8),
                Some(shift) => {
                    return Err(self.err(
                        v.span(),
                        "window_scale",
                        format!(
                            r#"`window_scale` must be from 0 to 14 (RFC 7323 §2.3 caps the shift at 14), or "none" to send no window scale option; found {shift}"#
                        ),
                    ));
                }
            };
        }
        if let Some(p) = &s.ephemeral_ports {
            cfg.ephemeral_ports = self.port_range(p)?;
        }
        Ok(())
    }

    /// RFC 7323, RFC 5961, RFC 1337 and Linux's tw_reuse.
    fn merge_rfc_options(&self, out: &mut TcpLayers, s: &TcpSettings) -> Result<()> {
        let cfg = &mut out.cfg;
        if let Some(b) = &s.timestamps {
            cfg.timestamps = *b.get_ref();
        }
        if let Some(b) = s.rfc5961 {
            cfg.rfc5961 = b;
        }
        if let Some(n) = &s.challenge_ack_limit {
            cfg.challenge_ack_limit = self.at_least(n, "challenge_ack_limit", 1, " per second")?;
        }
        if let Some(b) = s.rfc1337 {
            cfg.rfc1337 = b;
        }
        if let Some(b) = &s.tw_reuse {
            cfg.tw_reuse = *b.get_ref();
            out.tw_reuse = Some(b.span());
        }
        Ok(())
    }

    /// Delayed ACK, Nagle and congestion control.
    fn merge_data_path(&self, cfg: &mut Config, s: &TcpSettings) -> Result<()> {
        if let Some(v) = &s.delayed_ack {
            cfg.delayed_ack = match v.get_ref().0 {
                Some(d) if d == 0 || d >= 500_000_000 => {
                    return Err(self.err(
                        v.span(),
                        "delayed_ack",
                        r#"`delayed_ack` must be above 0 and below 500ms (RFC 1122 §4.2.3.2), or "none" to ACK every segment at once"#,
                    ));
                }
                d => d,
            };
        }
        let flags = [
            (s.nagle, &mut cfg.nagle),
            (s.congestion_control, &mut cfg.congestion_control),
            (s.limited_transmit, &mut cfg.limited_transmit),
            (s.restart_after_idle, &mut cfg.restart_after_idle),
            (s.sack, &mut cfg.sack),
            (s.dsack, &mut cfg.dsack),
            (s.rtt_from_handshake, &mut cfg.rtt_from_handshake),
            (s.timer_wheel, &mut cfg.timer_wheel),
            (s.tlp, &mut cfg.tlp),
            (s.oow_rate_limit, &mut cfg.oow_rate_limit),
            (s.nagle_minshall, &mut cfg.nagle_minshall),
            (s.dup_syn_resends_syn_ack, &mut cfg.dup_syn_resends_syn_ack),
            (s.reset_with_ack, &mut cfg.reset_with_ack),
            (s.syn_loss_cwnd_one, &mut cfg.syn_loss_cwnd_one),
            (s.half_duplex_close, &mut cfg.half_duplex_close),
            (s.syn_give_up_by_time, &mut cfg.syn_give_up_by_time),
            (s.time_wait_minisock, &mut cfg.time_wait_minisock),
            (s.rcv_autotune, &mut cfg.rcv_autotune),
            (s.push_per_gso, &mut cfg.push_per_gso),
            (s.fin_needs_cwnd, &mut cfg.fin_needs_cwnd),
            (s.app_after_softirq, &mut cfg.app_after_softirq),
            (s.rmem_per_segment, &mut cfg.rmem_per_segment),
            (s.probe_old_seq, &mut cfg.probe_old_seq),
            (s.rack, &mut cfg.rack),
        ];
        for (value, slot) in flags {
            if let Some(b) = value {
                *slot = b;
            }
        }
        if let Some(n) = &s.initial_window {
            let max = limits::MAX_INITIAL_WINDOW;
            cfg.initial_window = Some(self.within(n, "initial_window", 1, max, " segments")?);
        }
        Ok(())
    }

    /// The settings that are one of a few named behaviours.
    fn merge_choices(&self, cfg: &mut Config, s: &TcpSettings) -> Result<()> {
        if let Some(v) = &s.isn {
            cfg.isn = self.choice(
                v,
                "isn",
                &[
                    (
                        "rfc6528",
                        IsnMode::Rfc6528,
                        "clock plus keyed hash of the 4-tuple",
                    ),
                    (
                        "linux",
                        IsnMode::Linux,
                        "secure_tcp_seq's 64 ns clock; a reused 4-tuple at old SND.NXT + 65537",
                    ),
                    ("random", IsnMode::Random, ""),
                ],
            )?;
        }
        if let Some(v) = &s.syn_data {
            cfg.syn_data = self.choice(
                v,
                "syn_data",
                &[
                    (
                        "queue",
                        SynData::Queue,
                        "RFC 9293: processed once ESTABLISHED",
                    ),
                    ("drop", SynData::Drop, "Linux without Fast Open"),
                ],
            )?;
        }
        if let Some(v) = &s.time_wait_in_window {
            cfg.time_wait_in_window = self.choice(
                v,
                "time_wait_in_window",
                &[
                    (
                        "ack_restart",
                        TimeWaitInWindow::AckRestart,
                        "RFC 9293's fifth step",
                    ),
                    ("ignore", TimeWaitInWindow::Ignore, ""),
                ],
            )?;
        }
        if let Some(v) = &s.ack_policy {
            cfg.ack_policy = self.choice(
                v,
                "ack_policy",
                &[
                    ("rfc", AckPolicy::Rfc, "RFC 1122 §4.2.3.2, RFC 5681 §4.2"),
                    ("linux", AckPolicy::Linux, "quick ACKs, pingpong, ATO"),
                ],
            )?;
        }
        if let Some(v) = &s.congestion {
            cfg.congestion = self.choice(
                v,
                "congestion",
                &[
                    (
                        "newreno",
                        CongestionAlgorithm::NewReno,
                        "RFC 5681, RFC 6582",
                    ),
                    ("cubic", CongestionAlgorithm::Cubic, "RFC 9438, tcp_cubic.c"),
                ],
            )?;
        }
        if let Some(v) = &s.rtt_estimator {
            cfg.rtt_estimator = self.choice(
                v,
                "rtt_estimator",
                &[
                    ("rfc6298", RttEstimator::Rfc6298, ""),
                    ("linux", RttEstimator::Linux, "tcp_rtt_estimator"),
                ],
            )?;
        }
        if let Some(v) = &s.hz {
            cfg.hz = self.hz(v)?;
        }
        if let Some(v) = &s.reopen_old_duplicate {
            cfg.reopen_old_duplicate = self.choice(
                v,
                "reopen_old_duplicate",
                &[
                    (
                        "time_wait",
                        ReopenOldDuplicate::TimeWait,
                        "RFC 1122 §4.2.2.13",
                    ),
                    ("listen", ReopenOldDuplicate::Listen, "as Linux"),
                ],
            )?;
        }
        Ok(())
    }

    /// CONFIG_HZ: one of the values Linux offers.
    fn hz(&self, v: &Spanned<u32>) -> Result<u32> {
        match *v.get_ref() {
            hz @ (100 | 250 | 300 | 1000) => Ok(hz),
            other => Err(self.err(
                v.span(),
                "hz",
                format!(
                    "`hz` must be 100, 250, 300 or 1000 (Linux's CONFIG_HZ choices), found {other}"
                ),
            )),
        }
    }

    /// One of `options` (name, value, what it means), or an error listing them.
    fn choice<T: Copy>(
        &self,
        v: &Spanned<String>,
        key: &str,
        options: &[(&str, T, &str)],
    ) -> Result<T> {
        let found = v.get_ref().trim();
        if let Some((_, value, _)) = options.iter().find(|(name, ..)| *name == found) {
            return Ok(*value);
        }
        let names: Vec<String> = options
            .iter()
            .map(|(name, _, what)| match what {
                &"" => format!("\"{name}\""),
                what => format!("\"{name}\" ({what})"),
            })
            .collect();
        let (last, rest) = names.split_last().expect("options are never empty");
        Err(self.err(
            v.span(),
            key,
            format!(
                "expected `{key}` {} or {last}, found \"{found}\"",
                rest.join(", ")
            ),
        ))
    }

    fn check_rto_bounds(&self, cfg: &Config, s: &TcpSettings) -> Result<()> {
        if cfg.rto_min <= cfg.rto_max {
            return Ok(());
        }
        // Point at whichever bound this layer set (the previous layer was consistent).
        let (key, span) = match (&s.rto_max, &s.rto_min) {
            (Some(v), _) => ("rto_max", v.span()),
            (None, Some(v)) => ("rto_min", v.span()),
            (None, None) => ("rto_min", 0..0),
        };
        Err(self.err(
            span,
            key,
            format!(
                "`rto_min` ({}) must not be larger than `rto_max` ({})",
                format_duration(cfg.rto_min),
                format_duration(cfg.rto_max)
            ),
        ))
    }

    /// The window field is 16 bits, shifted by the window scale (RFC 7323 §2), so the
    /// receive buffer may not exceed [`Config::max_window`]. A window that is only the
    /// profile's default shrinks to fit instead, so `window_scale = "none"` alone works.
    fn check_window(&self, out: &mut TcpLayers, s: &TcpSettings) -> Result<()> {
        let cfg = &mut out.cfg;
        let max = cfg.max_window();
        if cfg.window <= max {
            return Ok(());
        }
        let scale = match cfg.window_scale {
            Some(shift) => format!("`window_scale = {shift}`"),
            None => r#"no window scaling (`window_scale = "none"`)"#.to_string(),
        };
        let limit = format!(
            "with {scale} the window field can describe at most {max} bytes; `window_scale = S` raises the limit to 65535 << S (up to 14: 1073725440 bytes)"
        );
        match (&s.window, &out.window, &s.window_scale) {
            (Some(w), _, _) => Err(self.err(
                w.span(),
                "window",
                format!("`window` is {} bytes, too large: {limit}", cfg.window),
            )),
            // The window came from `[tcp]`; this layer lowered the scale under it.
            (None, Some(earlier), Some(ws)) => Err(self.err(
                ws.span(),
                "window_scale",
                format!(
                    "`window` is {} bytes (set on line {}), too large: {limit}; lower `window` here too",
                    cfg.window,
                    self.line_of(earlier)
                ),
            )),
            _ => {
                cfg.window = max;
                Ok(())
            }
        }
    }

    /// `tw_reuse` relies on timestamps (a reused 4-tuple is told apart from the old one
    /// by newer timestamps, with PAWS discarding the old one's segments). The profile's
    /// `tw_reuse` turns off with timestamps, as Linux's does; one the user wrote is an error.
    fn check_tw_reuse(&self, out: &mut TcpLayers, s: &TcpSettings) -> Result<()> {
        let cfg = &mut out.cfg;
        if !cfg.tw_reuse || cfg.timestamps {
            return Ok(());
        }
        const WHY: &str = "a port in TIME_WAIT is reused only when timestamps (RFC 7323) tell the new connection's segments from the old one's";
        match (&s.tw_reuse, &out.tw_reuse, &s.timestamps) {
            (Some(b), _, _) => Err(self.err(
                b.span(),
                "tw_reuse",
                format!("`tw_reuse = true` needs `timestamps = true`: {WHY}"),
            )),
            (None, Some(earlier), Some(ts)) => Err(self.err(
                ts.span(),
                "timestamps",
                format!(
                    "`timestamps = false` conflicts with `tw_reuse = true` (line {}), which needs timestamps: {WHY}; set `tw_reuse = false` here too",
                    self.line_of(earlier)
                ),
            )),
            _ => {
                cfg.tw_reuse = false;
                Ok(())
            }
        }
    }

    fn port_range(&self, p: &Spanned<String>) -> Result<(u16, u16)> {
        let text = p.get_ref();
        let parsed = text.split_once('-').and_then(|(a, b)| {
            let first = a.trim().parse::<u16>().ok()?;
            let last = b.trim().parse::<u16>().ok()?;
            (1 <= first && first <= last).then_some((first, last))
        });
        parsed.ok_or_else(|| {
            self.err(
                p.span(),
                "ephemeral_ports",
                format!(
                    "expected a port range \"first-last\" such as \"49152-65535\", with 1 <= first <= last <= 65535, found \"{text}\""
                ),
            )
        })
    }

    fn add_nodes(
        &mut self,
        hosts: &[HostDef],
        routers: &[RouterDef],
        global: &TcpLayers,
        blocks: &[AddrBlock],
    ) -> Result<()> {
        // Explicit addresses first, so automatic ones can skip them.
        let mut taken: HashMap<u32, &str> = HashMap::new();
        let mut addrs = Vec::with_capacity(hosts.len());
        for h in hosts {
            let addr = match &h.addr {
                Some(a) => {
                    let addr = self.address(a)?;
                    if let Some(other) = taken.insert(addr, h.name.get_ref()) {
                        return Err(self.err(
                            a.span(),
                            "addr",
                            format!("address {} is already used by host `{other}`", a.get_ref()),
                        ));
                    }
                    Some(addr)
                }
                None => None,
            };
            addrs.push(addr);
        }
        let mut next = FIRST_AUTO_ADDR;
        for (h, addr) in hosts.iter().zip(addrs) {
            self.check_name(&h.name)?;
            let addr = match addr {
                Some(a) => a,
                None => {
                    loop {
                        if let Some(b) = blocks.iter().find(|b| b.contains(next)) {
                            next = b.end as u32; // wraps to 0 after 255.255.255.255
                        } else if taken.contains_key(&next) {
                            next = next.wrapping_add(1);
                        } else {
                            break;
                        }
                    }
                    taken.insert(next, h.name.get_ref());
                    next
                }
            };
            let tcp = match &h.tcp {
                Some(s) => self.merge_tcp(global, s)?.cfg,
                None => global.cfg.clone(),
            };
            let tcp = Arc::new(tcp);
            self.push_node(&h.name, NodeKind::Host { addr, tcp });
        }
        for r in routers {
            self.check_name(&r.name)?;
            self.push_node(&r.name, NodeKind::Router);
        }
        Ok(())
    }

    fn push_node(&mut self, name: &Spanned<String>, kind: NodeKind) {
        self.push_named(name.get_ref().clone(), name.span(), kind);
    }

    /// Adds a node called `name`, defined at `span` (its own `name` key or its group's).
    fn push_named(&mut self, name: String, span: Range<usize>, kind: NodeKind) {
        let id = self.nodes.len();
        self.node_spans.push(span.clone());
        self.by_name.insert(name.clone(), (id, span));
        self.nodes.push(Node { name, kind });
    }

    fn address(&self, a: &Spanned<String>) -> Result<u32> {
        a.get_ref()
            .trim()
            .parse::<Ipv4Addr>()
            .map(u32::from)
            .map_err(|_| {
                self.err(
                    a.span(),
                    "addr",
                    format!(
                        "expected an IPv4 address such as \"10.0.0.1\", found \"{}\"",
                        a.get_ref()
                    ),
                )
            })
    }

    /// The node `name` refers to; the error lists the names that exist.
    fn resolve_node(&self, name: &Spanned<String>, key: &str) -> Result<NodeId> {
        let n = name.get_ref();
        if let Some((id, _)) = self.by_name.get(n) {
            return Ok(*id);
        }
        let known: Vec<String> = self.nodes.iter().map(|n| format!("`{}`", n.name)).collect();
        let hint = error::closest(n, self.nodes.iter().map(|n| n.name.as_str()))
            .map(|c| format!("did you mean `{c}`? "))
            .unwrap_or_default();
        let known = if known.is_empty() {
            "none is defined; add a [[host]] or [[router]]".to_string()
        } else {
            format!("{hint}defined are {}", known.join(", "))
        };
        Err(self.err(
            name.span(),
            key,
            format!(
                "`{key}` refers to `{n}`, but there is no host or router named `{n}` ({known})"
            ),
        ))
    }

    /// Like [`Self::resolve_node`], but the node must run TCP.
    fn resolve_host(&self, name: &Spanned<String>, key: &str) -> Result<NodeId> {
        let id = self.resolve_node(name, key)?;
        match self.nodes[id].kind {
            NodeKind::Host { .. } => Ok(id),
            NodeKind::Router => Err(self.err(
                name.span(),
                key,
                format!(
                    "`{key}` refers to `{}`, which is a router; it must name a host because routers run no TCP",
                    name.get_ref()
                ),
            )),
        }
    }

    // ---- groups -------------------------------------------------------------------

    /// Each group's subnet, checked: well formed, large enough for `count`, not
    /// overlapping another group's.
    fn address_blocks(&self, groups: &[GroupDef], explicit: usize) -> Result<Vec<AddrBlock>> {
        let mut out: Vec<AddrBlock> = Vec::with_capacity(groups.len());
        let mut hosts = explicit as u64;
        for g in groups {
            let count = self.at_least(&g.count, "count", 1, " hosts")?;
            hosts += u64::from(count);
            self.check_host_count(&g.count, hosts)?;
            let block = self.subnet(&g.subnet)?;
            let prefix = 32 - (block.end - block.start).trailing_zeros();
            let usable = (block.end - u64::from(block.first)) - u64::from(prefix <= 30);
            if u64::from(count) > usable {
                // The longest prefix whose block holds `count` hosts, network and broadcast excluded.
                let fits = (0..=30u32)
                    .rev()
                    .find(|p| (1u64 << (32 - p)) - 2 >= u64::from(count))
                    .unwrap_or(0);
                return Err(self.err(
                    g.subnet.span(),
                    "subnet",
                    format!(
                        "subnet {} has {usable} usable addresses, too few for `count = {count}`; a /{fits} or shorter prefix holds them",
                        g.subnet.get_ref().trim()
                    ),
                ));
            }
            if let Some((other, _)) =
                (groups.iter().zip(&out)).find(|(_, b)| b.start < block.end && block.start < b.end)
            {
                return Err(self.err(
                    g.subnet.span(),
                    "subnet",
                    format!(
                        "subnet {} overlaps subnet {} of [[group]] `{}` (line {}); groups need subnets of their own",
                        g.subnet.get_ref().trim(),
                        other.subnet.get_ref().trim(),
                        other.name.get_ref(),
                        self.line_of(&other.subnet.span())
                    ),
                ));
            }
            out.push(block);
        }
        Ok(out)
    }

    /// Checked before any host of the group exists: `count = 1000000000` is an error here,
    /// not a 2.5 GB allocation.
    fn check_host_count(&self, count: &Spanned<u32>, hosts: u64) -> Result<()> {
        if hosts <= self.max_hosts {
            return Ok(());
        }
        let default = self.max_hosts == limits::DEFAULT_MAX_HOSTS;
        let raise = if default {
            format!(
                "; a run takes up to about 2.4 KB per host: set `max_hosts` (up to {}) to allow more",
                limits::MAX_MAX_HOSTS
            )
        } else {
            String::new()
        };
        Err(self.err(
            count.span(),
            "count",
            format!(
                "`count = {}` makes {hosts} hosts in all, more than the {} a scenario may have{raise}",
                count.get_ref(),
                self.max_hosts
            ),
        ))
    }

    /// "a.b.c.d/len" with no host bits set.
    fn subnet(&self, s: &Spanned<String>) -> Result<AddrBlock> {
        let text = s.get_ref().trim();
        let bad = |why: String| self.err(s.span(), "subnet", why);
        let parsed = text.split_once('/').and_then(|(a, p)| {
            let addr = u32::from(a.trim().parse::<Ipv4Addr>().ok()?);
            let prefix = p
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|p| (1..=32).contains(p))?;
            Some((addr, prefix))
        });
        let Some((addr, prefix)) = parsed else {
            return Err(bad(format!(
                "expected `subnet` as an IPv4 address and a prefix length from 1 to 32, such as \"10.1.0.0/16\", found \"{text}\""
            )));
        };
        let size = 1u64 << (32 - prefix);
        let start = u64::from(addr) & !(size - 1);
        if start != u64::from(addr) {
            return Err(bad(format!(
                "subnet {text} has host bits set: did you mean {}/{prefix}?",
                Ipv4Addr::from(start as u32)
            )));
        }
        // Skip the network address, except in /31 and /32, which have none (RFC 3021).
        let first = (start + u64::from(prefix <= 30)) as u32;
        Ok(AddrBlock {
            start,
            end: start + size,
            first,
        })
    }

    /// Adds the hosts of every group, after the explicit hosts and routers.
    fn add_groups(
        &mut self,
        groups: &[GroupDef],
        blocks: &[AddrBlock],
        global: &TcpLayers,
    ) -> Result<()> {
        for (g, block) in groups.iter().zip(blocks) {
            self.check_group_name(&g.name)?;
            // Auto-assigned addresses skip group subnets: only a written `addr` can clash.
            let clash = (0..self.nodes.len()).find_map(|id| match self.nodes[id].kind {
                NodeKind::Host { addr, .. } if block.contains(addr) => Some((id, addr)),
                _ => None,
            });
            if let Some((id, addr)) = clash {
                return Err(self.err(
                    g.subnet.span(),
                    "subnet",
                    format!(
                        "subnet {} contains address {} of host `{}` (line {}); pick a subnet the explicit hosts do not use",
                        g.subnet.get_ref().trim(),
                        Ipv4Addr::from(addr),
                        self.nodes[id].name,
                        self.line_of(&self.node_spans[id])
                    ),
                ));
            }
            let link_to = self.resolve_node(&g.link_to, "link_to")?;
            let tcp = Arc::new(match &g.tcp {
                Some(t) => self.merge_tcp(global, t)?.cfg,
                None => global.cfg.clone(),
            });
            let prefix = g.name.get_ref();
            let first = self.nodes.len();
            // Room for the whole group at once: a million hosts otherwise regrow (and
            // rehash) these tables twenty times.
            let count = *g.count.get_ref() as usize;
            self.by_name.reserve(count);
            self.nodes.reserve(count);
            self.node_spans.reserve(count);
            for i in 1..=*g.count.get_ref() {
                let name = format!("{prefix}{i}");
                if let Some((_, other)) = self.by_name.get(&name) {
                    return Err(self.err(
                        g.name.span(),
                        "name",
                        format!(
                            "host {i} of [[group]] `{prefix}` would be named `{name}`, which the node defined on line {} already uses; names must be unique among hosts and routers",
                            self.line_of(other)
                        ),
                    ));
                }
                let kind = NodeKind::Host {
                    addr: block.first + (i - 1),
                    tcp: tcp.clone(),
                };
                self.push_named(name, g.name.span(), kind);
            }
            self.groups.push(GroupInfo {
                name: prefix.clone(),
                first,
                end: self.nodes.len(),
                link_to,
                span: g.name.span(),
            });
        }
        Ok(())
    }

    /// A group name: a valid node name, unique among groups (its hosts' names are
    /// checked one by one).
    fn check_group_name(&self, name: &Spanned<String>) -> Result<()> {
        let n = name.get_ref();
        let problem = if n.is_empty() || n.contains([':', '*']) {
            Some(format!(
                "group name `{n}` must not be empty or contain ':' or '*' (`conn = \"{n}*\"` selects the group's connections)"
            ))
        } else {
            (self.groups.iter().find(|g| g.name == *n)).map(|g| {
                format!(
                    "there is already a [[group]] named `{n}` (line {})",
                    self.line_of(&g.span)
                )
            })
        };
        match problem {
            Some(message) => Err(self.err(name.span(), "name", message)),
            None => Ok(()),
        }
    }

    /// Appends one link per group host (the host is `a`, `link_to` is `b`) and returns
    /// the groups for the model. An explicit [[link]] may not join the same pair.
    fn group_links(
        &self,
        defs: &[GroupDef],
        link_defs: &[LinkDef],
        links: &mut Vec<Link>,
    ) -> Result<Vec<Group>> {
        for (def, link) in link_defs.iter().zip(links.iter()) {
            let ends = [(link.a, link.b), (link.b, link.a)];
            let dup = ends.iter().find_map(|&(host, other)| {
                (self.groups.iter())
                    .find(|g| (g.first..g.end).contains(&host) && g.link_to == other)
            });
            if let Some(g) = dup {
                return Err(self.err(
                    def.a.span(),
                    "a",
                    format!(
                        "[[group]] `{}` (line {}) already links each of its hosts to `{}`; at most one link may join two nodes, set the group's link properties in its `link` table",
                        g.name,
                        self.line_of(&g.span),
                        self.nodes[g.link_to].name
                    ),
                ));
            }
        }
        let mut out = Vec::with_capacity(defs.len());
        for (def, g) in defs.iter().zip(&self.groups) {
            let props = def.link.clone().unwrap_or_default();
            let (a_to_b, b_to_a) = self.link_params(&props.both(), &props.a_to_b, &props.b_to_a)?;
            let (a_to_b, b_to_a) = (Arc::new(a_to_b), Arc::new(b_to_a));
            let first_link = links.len();
            links.extend((g.first..g.end).map(|host| Link {
                a: host,
                b: g.link_to,
                a_to_b: a_to_b.clone(),
                b_to_a: b_to_a.clone(),
            }));
            out.push(Group {
                name: g.name.clone(),
                nodes: g.first..g.end,
                links: first_link..links.len(),
            });
        }
        Ok(out)
    }

    // ---- links --------------------------------------------------------------------

    fn link(&self, def: &LinkDef) -> Result<Link> {
        let a = self.resolve_node(&def.a, "a")?;
        let b = self.resolve_node(&def.b, "b")?;
        if a == b {
            return Err(self.err(
                def.b.span(),
                "b",
                format!(
                    "a link must join two different nodes, but `a` and `b` are both `{}`",
                    def.b.get_ref()
                ),
            ));
        }
        let (a_to_b, b_to_a) = self.link_params(&def.both(), &def.a_to_b, &def.b_to_a)?;
        Ok(Link {
            a,
            b,
            a_to_b: Arc::new(a_to_b),
            b_to_a: Arc::new(b_to_a),
        })
    }

    /// The two directions' parameters: defaults ← `both` ← each direction's table.
    fn link_params(
        &self,
        both: &LinkProps,
        a_to_b: &Option<LinkProps>,
        b_to_a: &Option<LinkProps>,
    ) -> Result<(LinkParams, LinkParams)> {
        let mut base = LinkParams {
            queue: 100,
            reorder_delay: 10_000_000,
            ..LinkParams::default()
        };
        self.apply_props(&mut base, both)?;
        let mut forward = base.clone();
        let mut backward = base;
        if let Some(p) = a_to_b {
            self.apply_props(&mut forward, p)?;
        }
        if let Some(p) = b_to_a {
            self.apply_props(&mut backward, p)?;
        }
        Ok((forward, backward))
    }

    /// `props` applied over `p`, each value checked.
    fn apply_props(&self, p: &mut LinkParams, props: &LinkProps) -> Result<()> {
        if let Some(d) = props.delay {
            p.delay = d.0;
        }
        if let Some(d) = props.jitter {
            p.jitter = d.0;
        }
        if let Some(r) = props.rate {
            p.rate_bps = Some(r.0);
        }
        if let Some(d) = props.reorder_delay {
            p.reorder_delay = d.0;
        }
        if let Some(q) = &props.queue {
            p.queue = self.at_least(q, "queue", 1, " segments")?;
        }
        let probabilities = [
            (&props.loss, "loss", &mut p.loss),
            (&props.duplicate, "duplicate", &mut p.duplicate),
            (&props.reorder, "reorder", &mut p.reorder),
            (&props.corrupt, "corrupt", &mut p.corrupt),
        ];
        for (value, key, slot) in probabilities {
            if let Some(x) = self.probability(value, key)? {
                *slot = x;
            }
        }
        Ok(())
    }

    fn check_unique_links(&self, defs: &[LinkDef], links: &[Link]) -> Result<()> {
        let mut seen: HashMap<(NodeId, NodeId), &LinkDef> = HashMap::new();
        for (def, link) in defs.iter().zip(links) {
            let pair = (link.a.min(link.b), link.a.max(link.b));
            if let Some(first) = seen.insert(pair, def) {
                return Err(self.err(
                    def.a.span(),
                    "a",
                    format!(
                        "there is already a link between `{}` and `{}` (line {}); at most one link may join two nodes, use `a_to_b` / `b_to_a` for per-direction settings",
                        def.a.get_ref(),
                        def.b.get_ref(),
                        self.line_of(&first.a.span())
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Every host must reach every other one; reports the first host (in node order)
    /// cut off from the first host.
    fn check_reachable(&self, links: &[Link]) -> Result<()> {
        let is_host = |id: usize| matches!(self.nodes[id].kind, NodeKind::Host { .. });
        let hosts: Vec<NodeId> = (0..self.nodes.len()).filter(|&id| is_host(id)).collect();
        if hosts.len() < 2 {
            return Ok(());
        }
        let mut neighbours = vec![Vec::new(); self.nodes.len()];
        for l in links {
            neighbours[l.a].push(l.b);
            neighbours[l.b].push(l.a);
        }
        let mut seen = vec![false; self.nodes.len()];
        let mut queue = VecDeque::from([hosts[0]]);
        seen[hosts[0]] = true;
        while let Some(n) = queue.pop_front() {
            for &m in &neighbours[n] {
                if !seen[m] {
                    seen[m] = true;
                    queue.push_back(m);
                }
            }
        }
        match hosts.iter().find(|&&id| !seen[id]) {
            Some(&id) => Err(self.err(
                self.node_spans[id].clone(),
                "name",
                format!(
                    "host `{}` cannot reach host `{}`: no chain of [[link]]s connects them",
                    self.nodes[id].name, self.nodes[hosts[0]].name
                ),
            )),
            None => Ok(()),
        }
    }

    // ---- faults -------------------------------------------------------------------

    fn fault(&self, index: usize, f: &FaultDef, links: &[Link]) -> Result<Fault> {
        let name = f
            .name
            .clone()
            .unwrap_or_else(|| format!("fault#{}", index + 1));
        let action = *f.action.get_ref();
        let action_name = match action {
            FaultAction::Drop => "drop",
            FaultAction::Delay => "delay",
            FaultAction::Duplicate => "duplicate",
            FaultAction::Partition => "partition",
            FaultAction::Crash => "crash",
        };
        self.check_fault_keys(f, action, action_name)?;
        let start = f.start.as_ref().map(|s| s.get_ref().0);
        let end = f.end.as_ref().map(|e| e.get_ref().0);
        if let (Some(s), Some(e), Some(end_span)) = (start, end, span_of(&f.end))
            && e <= s
        {
            return Err(self.err(
                end_span,
                "end",
                format!(
                    "`end` ({}) must be later than `start` ({})",
                    format_duration(e),
                    format_duration(s)
                ),
            ));
        }
        let seg = |action| -> Result<FaultKind> {
            Ok(FaultKind::Segment {
                action,
                filter: self.filter(f, start, end)?,
                nth: f
                    .nth
                    .as_ref()
                    .map(|n| self.at_least(n, "nth", 1, ""))
                    .transpose()?,
            })
        };
        let kind = match action {
            FaultAction::Drop => seg(SegmentAction::Drop)?,
            FaultAction::Duplicate => {
                let copy_delay = f.delay.as_ref().map_or(0, |d| d.get_ref().0);
                seg(SegmentAction::Duplicate(copy_delay))?
            }
            FaultAction::Delay => {
                let d = self.required(f, &f.delay, "delay", action_name)?;
                seg(SegmentAction::Delay(d.get_ref().0))?
            }
            FaultAction::Partition => self.partition(f, links)?,
            FaultAction::Crash => FaultKind::Crash {
                host: self.resolve_host(self.required(f, &f.host, "host", action_name)?, "host")?,
                start: self
                    .required(f, &f.start, "start", action_name)?
                    .get_ref()
                    .0,
                end,
            },
        };
        Ok(Fault { name, kind })
    }

    /// A key the fault's action needs; missing, the error points at `action`.
    fn required<'f, T>(
        &self,
        f: &FaultDef,
        v: &'f Option<Spanned<T>>,
        key: &str,
        action_name: &str,
    ) -> Result<&'f Spanned<T>> {
        v.as_ref().ok_or_else(|| {
            self.err(
                f.action.span(),
                key,
                format!("a `{action_name}` fault needs the key `{key}`"),
            )
        })
    }

    /// Rejects keys that have no meaning for this action, naming the first one found.
    fn check_fault_keys(&self, f: &FaultDef, action: FaultAction, action_name: &str) -> Result<()> {
        let present = [
            ("delay", span_of(&f.delay)),
            ("from", span_of(&f.from)),
            ("to", span_of(&f.to)),
            ("port", span_of(&f.port)),
            ("src_port", span_of(&f.src_port)),
            ("dst_port", span_of(&f.dst_port)),
            ("flags", span_of(&f.flags)),
            ("with_flags", span_of(&f.with_flags)),
            ("payload", span_of(&f.payload)),
            ("nth", span_of(&f.nth)),
            ("a", span_of(&f.a)),
            ("b", span_of(&f.b)),
            ("direction", span_of(&f.direction)),
            ("host", span_of(&f.host)),
        ];
        let filter_keys = [
            "from",
            "to",
            "port",
            "src_port",
            "dst_port",
            "flags",
            "with_flags",
            "payload",
            "nth",
        ];
        let allowed: Vec<&str> = match action {
            FaultAction::Partition => vec!["a", "b", "direction"],
            FaultAction::Crash => vec!["host"],
            FaultAction::Delay | FaultAction::Duplicate => [&["delay"][..], &filter_keys].concat(),
            FaultAction::Drop => filter_keys.to_vec(),
        };
        let misplaced = present
            .into_iter()
            .find_map(|(key, span)| span.filter(|_| !allowed.contains(&key)).map(|s| (key, s)));
        match misplaced {
            None => Ok(()),
            Some((key, span)) => {
                let all: Vec<String> = ["name", "action"]
                    .iter()
                    .chain(&allowed)
                    .chain(&["start", "end"])
                    .map(|k| format!("`{k}`"))
                    .collect();
                Err(self.err(
                    span,
                    key,
                    format!(
                        "key `{key}` does not belong in a `{action_name}` fault, which takes {}",
                        all.join(", ")
                    ),
                ))
            }
        }
    }

    fn filter(&self, f: &FaultDef, start: Option<u64>, end: Option<u64>) -> Result<SegmentFilter> {
        let host = |v: &Option<Spanned<String>>, key| {
            v.as_ref().map(|n| self.resolve_host(n, key)).transpose()
        };
        let flags =
            |v: &Option<Spanned<String>>, key| v.as_ref().map(|s| self.flags(s, key)).transpose();
        let port = |v: &Option<Spanned<u16>>| v.as_ref().map(|p| *p.get_ref());
        Ok(SegmentFilter {
            from: host(&f.from, "from")?,
            to: host(&f.to, "to")?,
            port: port(&f.port),
            src_port: port(&f.src_port),
            dst_port: port(&f.dst_port),
            flags_exact: flags(&f.flags, "flags")?,
            flags_all: flags(&f.with_flags, "with_flags")?,
            payload: f.payload.as_ref().map(|p| *p.get_ref()),
            start,
            end,
        })
    }

    fn flags(&self, s: &Spanned<String>, key: &str) -> Result<Flags> {
        Flags::parse(s.get_ref()).ok_or_else(|| {
            self.err(
                s.span(),
                key,
                format!(
                    "unknown TCP flags \"{}\": expected flag names {FLAG_NAMES}",
                    s.get_ref()
                ),
            )
        })
    }

    fn partition(&self, f: &FaultDef, links: &[Link]) -> Result<FaultKind> {
        let a_def = self.required(f, &f.a, "a", "partition")?;
        let b_def = self.required(f, &f.b, "b", "partition")?;
        let start = self
            .required(f, &f.start, "start", "partition")?
            .get_ref()
            .0;
        let end = self.required(f, &f.end, "end", "partition")?.get_ref().0;
        let a = self.resolve_node(a_def, "a")?;
        let b = self.resolve_node(b_def, "b")?;
        let link = links
            .iter()
            .position(|l| (l.a, l.b) == (a, b) || (l.a, l.b) == (b, a))
            .ok_or_else(|| {
                self.err(
                    a_def.span(),
                    "a",
                    format!(
                        "there is no [[link]] between `{}` and `{}` to partition",
                        a_def.get_ref(),
                        b_def.get_ref()
                    ),
                )
            })?;
        let (forward, backward) = match f.direction.as_ref().map(|d| d.get_ref().as_str()) {
            None | Some("both") => (true, true),
            Some("a_to_b") => (true, false),
            Some("b_to_a") => (false, true),
            Some(other) => {
                let span = span_of(&f.direction).unwrap_or(0..0);
                return Err(self.err(
                    span,
                    "direction",
                    format!(
                        "expected `direction` \"both\", \"a_to_b\" or \"b_to_a\", found \"{other}\""
                    ),
                ));
            }
        };
        // The fault's a/b may name the link's ends in the other order.
        let (a_to_b, b_to_a) = if links[link].a == a {
            (forward, backward)
        } else {
            (backward, forward)
        };
        Ok(FaultKind::Partition {
            link,
            a_to_b,
            b_to_a,
            start,
            end,
        })
    }

    // ---- applications -------------------------------------------------------------

    fn servers(&self, defs: &[ServerDef]) -> Result<Vec<Server>> {
        let mut seen: HashMap<(NodeId, u16), usize> = HashMap::new();
        let mut out = Vec::with_capacity(defs.len());
        for s in defs {
            let host = self.resolve_host(&s.host, "host")?;
            let port = self.at_least(&s.port, "port", 1, "")?;
            if let Some(line) = seen.insert((host, port), self.line_of(&s.port.span())) {
                return Err(self.err(
                    s.port.span(),
                    "port",
                    format!(
                        "host `{}` already has a [[server]] on port {port} (line {line})",
                        s.host.get_ref()
                    ),
                ));
            }
            let (close, close_after, linger_zero) = self.server_close(s)?;
            let actions = self.steps(&s.actions, Role::Server)?.1;
            let reply = match &s.reply {
                Some(r) => self.within(r, "reply", 0, limits::MAX_STREAM_BYTES, " bytes")?,
                None => 0,
            };
            if let Some(step) = last_send(&s.actions) {
                let total = reply.saturating_add(limits::written(&[], &actions));
                self.check_stream(total, step.span(), "actions", "this server")?;
            }
            out.push(Server {
                host,
                port,
                backlog: match &s.backlog {
                    Some(b) => self.at_least(b, "backlog", 1, "")?,
                    None => 128,
                },
                reply,
                echo: s.echo,
                close,
                request: self.server_request(s, reply)?,
                close_after,
                linger_zero,
                read: s
                    .read
                    .as_ref()
                    .map_or(Ok(ServerRead::AtOnce), |r| self.read_mode(r))?,
                actions,
            });
        }
        Ok(out)
    }

    /// `close`, `close_after` and `linger`: when the server closes, after which reply,
    /// and whether its closes are aborts (SO_LINGER 0).
    fn server_close(&self, s: &ServerDef) -> Result<(ServerClose, u32, bool)> {
        let close = match s.close.as_ref().map(|c| c.get_ref().as_str()) {
            None if s.close_after.is_some() => ServerClose::AfterReply,
            None | Some("peer_close") => ServerClose::PeerClose,
            Some("after_reply") => ServerClose::AfterReply,
            Some("never") => ServerClose::Never,
            Some(other) => {
                return Err(self.err(
                    span_of(&s.close).unwrap_or(0..0),
                    "close",
                    format!(
                        "expected `close` \"peer_close\", \"after_reply\" or \"never\", found \"{other}\""
                    ),
                ));
            }
        };
        let close_after = match &s.close_after {
            Some(n) if close != ServerClose::AfterReply => {
                return Err(self.err(
                    n.span(),
                    "close_after",
                    "`close_after` (close after the Nth reply) goes with `close = \"after_reply\"` (or no `close`)",
                ));
            }
            Some(n) => self.at_least(n, "close_after", 1, " replies")?,
            None => 1,
        };
        let linger_zero = match &s.linger {
            Some(l) if *l.get_ref() != 0 => {
                return Err(self.err(
                    l.span(),
                    "linger",
                    format!(
                        "only `linger = 0` is modelled (SO_LINGER 0: close() sends RST and skips TIME_WAIT); a positive linger time only makes close() block, which changes nothing on the wire; found {}",
                        l.get_ref()
                    ),
                ));
            }
            Some(_) => true,
            None => false,
        };
        Ok((close, close_after, linger_zero))
    }

    /// `request`: the size of one request, which needs a `reply` to answer it.
    fn server_request(&self, s: &ServerDef, reply: u64) -> Result<Option<u64>> {
        let Some(r) = &s.request else {
            return Ok(None);
        };
        if reply == 0 {
            return Err(self.err(
                r.span(),
                "request",
                "`request` (the bytes of one request, each answered by `reply` bytes) needs `reply`",
            ));
        }
        Ok(Some(self.within(
            r,
            "request",
            1,
            limits::MAX_STREAM_BYTES,
            " bytes",
        )?))
    }

    /// One connection's application may write at most [`limits::MAX_STREAM_BYTES`].
    fn check_stream(&self, total: u64, span: Range<usize>, key: &str, who: &str) -> Result<()> {
        if total <= limits::MAX_STREAM_BYTES {
            return Ok(());
        }
        Err(self.err(
            span,
            key,
            format!(
                "{who} would write {total} bytes on one connection, more than {}: sequence numbers are compared modulo 2^32 (RFC 9293 §3.4), so a connection carries less than 2^31 bytes",
                limits::MAX_STREAM_BYTES
            ),
        ))
    }

    /// "N every DUR": a slow reader's pace, N ≥ 1 bytes each DUR > 0; or "manual".
    fn read_mode(&self, r: &Spanned<String>) -> Result<ServerRead> {
        let bad = || {
            self.err(
                r.span(),
                "read",
                format!(
                    "expected `read` as \"N every DUR\" (e.g. \"4000 every 100ms\") or \"manual\" (only timed `read` steps read), found \"{}\"",
                    r.get_ref()
                ),
            )
        };
        if r.get_ref().trim() == "manual" {
            return Ok(ServerRead::Manual);
        }
        let (n, every) = r.get_ref().split_once(" every ").ok_or_else(bad)?;
        let n: u64 = n.trim().parse().ok().filter(|&n| n > 0).ok_or_else(bad)?;
        let every = parse_duration(every.trim())
            .ok()
            .filter(|&d| d > 0)
            .ok_or_else(bad)?;
        Ok(ServerRead::Paced { bytes: n, every })
    }

    /// A port number 1..=65535 written as text (the part after ':').
    fn port_text(&self, text: &str, whole: &Spanned<String>, key: &str) -> Result<u16> {
        match text.parse::<u16>() {
            Ok(p) if p >= 1 => Ok(p),
            _ => Err(self.err(
                whole.span(),
                key,
                format!("the port in `{key}` must be a number from 1 to 65535, found \"{text}\""),
            )),
        }
    }

    /// Splits "host" or "host:port", resolving the host to a node that runs TCP.
    fn host_port(&self, s: &Spanned<String>, key: &str) -> Result<(NodeId, Option<u16>)> {
        let (host, port) = match s.get_ref().rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s.get_ref().as_str(), None),
        };
        let id = self.resolve_host(&Spanned::new(s.span(), host.to_string()), key)?;
        let port = port.map(|p| self.port_text(p, s, key)).transpose()?;
        Ok((id, port))
    }

    /// The client of `[[client]]` entry `entry` (0-based), or one per host of its group,
    /// appended to `out`.
    fn client(
        &self,
        entry: usize,
        c: &ClientDef,
        servers: &[Server],
        out: &mut Vec<Client>,
    ) -> Result<()> {
        // Which hosts run it, and how the group's starts spread.
        let (hosts, spread) = match (&c.host, &c.group) {
            (Some(_), Some(g)) => {
                return Err(self.err(
                    g.span(),
                    "group",
                    "`host` and `group` are mutually exclusive: a [[client]] runs on one host (`host`) or on every host of a [[group]] (`group`)",
                ));
            }
            (None, None) => {
                return Err(self.err(
                    c.connect.span(),
                    "host",
                    "this [[client]] needs `host` (the host it runs on) or `group` (a [[group]] on every host of which it runs)",
                ));
            }
            (Some(h), None) => {
                let stray = [
                    ("spread", span_of(&c.spread)),
                    ("spread_mode", span_of(&c.spread_mode)),
                ];
                if let Some((key, span)) = stray.into_iter().find_map(|(k, s)| s.map(|s| (k, s))) {
                    return Err(self.err(
                        span,
                        key,
                        format!("`{key}` only applies to a client on a `group`, whose hosts start one after another"),
                    ));
                }
                let host = self.resolve_host(h, "host")?;
                (host..host + 1, None)
            }
            (None, Some(g)) => {
                let group = self.group(g, "group", g.get_ref())?;
                let mode = match &c.spread_mode {
                    None => SpreadMode::Step,
                    Some(m) if c.spread.is_none() => {
                        return Err(self.err(
                            m.span(),
                            "spread_mode",
                            "`spread_mode` needs `spread`, the interval over which the starts are spread, e.g. spread = \"1s\"",
                        ));
                    }
                    Some(m) => SpreadMode::parse(m.get_ref().trim()).ok_or_else(|| {
                        self.err(
                            m.span(),
                            "spread_mode",
                            format!(
                                "expected `spread_mode` \"step\" (evenly spaced), \"uniform\" (uniformly random) or \"exponential\" (Poisson arrivals), found \"{}\"",
                                m.get_ref()
                            ),
                        )
                    })?,
                };
                let spread = c.spread.as_ref().map_or(0, |s| s.get_ref().0);
                (
                    group.first..group.end,
                    (spread > 0).then_some((spread, mode)),
                )
            }
        };
        let (remote, port) = self.host_port(&c.connect, "connect")?;
        let remote_port = port.ok_or_else(|| {
            self.err(
                c.connect.span(),
                "connect",
                format!(
                    "`connect` must be \"host:port\", e.g. \"server:80\", found \"{}\"",
                    c.connect.get_ref()
                ),
            )
        })?;
        let local_port = match &c.local_port {
            Some(p) => Some(self.at_least(p, "local_port", 1, "")?),
            None => None,
        };
        let (actions, timed) = self.steps(&c.actions, Role::Client)?;
        self.check_client_stream(c, servers, (remote, remote_port), &actions, &timed)?;
        let count = hosts.len() as u32;
        let (actions, timed): (Arc<[Action]>, Arc<[TimedStep]>) = (actions.into(), timed.into());
        out.extend(hosts.enumerate().map(|(index, host)| Client {
            host,
            remote,
            remote_port,
            start: c.start.map_or(0, |d| d.0),
            spread: spread.map(|(spread, mode)| StartSpread {
                entry: entry as u32,
                source: SpreadSource::Client,
                index: index as u32,
                count,
                spread,
                mode,
            }),
            local_port,
            actions: actions.clone(),
            timed: timed.clone(),
        }));
        Ok(())
    }

    /// The bytes a client writes, and those its connection to an echo server makes the
    /// server write (the echo, the reply, the server's timed sends), within the limit.
    fn check_client_stream(
        &self,
        c: &ClientDef,
        servers: &[Server],
        (remote, port): (NodeId, u16),
        actions: &[Action],
        timed: &[TimedStep],
    ) -> Result<()> {
        let Some(step) = last_send(&c.actions) else {
            return Ok(());
        };
        let total = limits::written(actions, timed);
        self.check_stream(total, step.span(), "actions", "this client")?;
        let echo = servers
            .iter()
            .find(|s| s.echo && s.host == remote && s.port == port);
        match echo {
            Some(s) => {
                let server_total = limits::written(&[], &s.actions).saturating_add(s.reply);
                let who = format!(
                    "the echo server on `{}` sends back what this client sends, so it",
                    c.connect.get_ref()
                );
                self.check_stream(
                    total.saturating_add(server_total),
                    c.connect.span(),
                    "connect",
                    &who,
                )
            }
            None => Ok(()),
        }
    }

    /// The `[[group]]` called `name`, which `spanned` (the value of `key`) refers to.
    fn group(&self, spanned: &Spanned<String>, key: &str, name: &str) -> Result<&GroupInfo> {
        if let Some(g) = self.groups.iter().find(|g| g.name == name) {
            return Ok(g);
        }
        let known = if self.groups.is_empty() {
            "none is defined".to_string()
        } else {
            let names: Vec<String> = self
                .groups
                .iter()
                .map(|g| format!("`{}`", g.name))
                .collect();
            let hint = error::closest(name, self.groups.iter().map(|g| g.name.as_str()))
                .map(|c| format!("did you mean `{c}`? "))
                .unwrap_or_default();
            format!("{hint}defined are {}", names.join(", "))
        };
        Err(self.err(
            spanned.span(),
            key,
            format!("`{key}` refers to group `{name}`, but there is no [[group]] named `{name}` ({known})"),
        ))
    }

    /// The entries of `actions`, split into the untimed script steps and the timed
    /// steps, each in written order (same-time timed steps run in that order).
    fn steps(&self, defs: &[Spanned<String>], role: Role) -> Result<(Vec<Action>, Vec<TimedStep>)> {
        let (mut script, mut timed) = (Vec::new(), Vec::new());
        for a in defs {
            let text = a.get_ref().trim();
            match text.strip_prefix("at") {
                Some(rest) if rest.is_empty() || rest.starts_with(char::is_whitespace) => {
                    timed.push(self.timed_step(a, text, rest, role)?);
                }
                _ if role == Role::Server => {
                    return Err(self.err(
                        a.span(),
                        "actions",
                        format!(
                            r#"server actions must be timed, as "at DUR: ACTION" with DUR measured from the SYN that created the connection (e.g. "at 50ms: close"), found "{text}""#
                        ),
                    ));
                }
                _ => script.push(self.action(a, text)?),
            }
        }
        Ok((script, timed))
    }

    /// An untimed client step.
    fn action(&self, a: &Spanned<String>, text: &str) -> Result<Action> {
        self.script_action(a, text)?.ok_or_else(|| {
            let problem = if split_verb(text).0 == "read" {
                format!(
                    "\"{text}\" is a server action (a client reads everything as it is delivered)"
                )
            } else {
                format!("unknown action \"{text}\"")
            };
            self.err(
                a.span(),
                "actions",
                format!("{problem}: expected one of {ACTION_FORMS}"),
            )
        })
    }

    /// `text` as one of the script steps, or None when it is none of them (the caller
    /// words the error, which depends on where the step is written).
    fn script_action(&self, a: &Spanned<String>, text: &str) -> Result<Option<Action>> {
        let (verb, arg) = split_verb(text);
        let bytes = || arg.parse::<u64>().ok();
        Ok(match (verb, arg.is_empty()) {
            ("send", false) => bytes().map(Action::Send),
            ("recv", false) => bytes().map(Action::Recv),
            ("wait", false) => {
                let ns = parse_duration(arg)
                    .map_err(|e| self.err(a.span(), "actions", format!("in \"{text}\": {e}")))?;
                Some(Action::Wait(ns))
            }
            ("recv_eof", true) => Some(Action::RecvEof),
            ("shutdown", true) => Some(Action::Shutdown),
            ("close", true) => Some(Action::Close),
            ("abort", true) => Some(Action::Abort),
            _ => None,
        })
    }

    /// "at DUR: ACTION" (`rest` is what follows "at"); DUR is a duration as anywhere else.
    fn timed_step(
        &self,
        a: &Spanned<String>,
        text: &str,
        rest: &str,
        role: Role,
    ) -> Result<TimedStep> {
        let Some((dur, action)) = rest
            .split_once(':')
            .filter(|(_, act)| !act.trim().is_empty())
        else {
            return Err(self.err(
                a.span(),
                "actions",
                format!(
                    r#"expected a timed step as "at DUR: ACTION", e.g. "at 50ms: close", found "{text}""#
                ),
            ));
        };
        let at = parse_duration(dur.trim())
            .map_err(|e| self.err(a.span(), "actions", format!("in \"{text}\": {e}")))?;
        let call = self.timed_call(a, text, action.trim(), role)?;
        Ok(TimedStep { at, call })
    }

    /// The ACTION of a timed step: one call, never a wait.
    fn timed_call(
        &self,
        a: &Spanned<String>,
        text: &str,
        action: &str,
        role: Role,
    ) -> Result<Call> {
        let (forms, waits) = match role {
            Role::Client => (
                CLIENT_TIMED_FORMS,
                "only untimed steps (run in order once ESTABLISHED) do",
            ),
            Role::Server => (SERVER_TIMED_FORMS, "only a [[client]]'s untimed steps do"),
        };
        let what = format!("\"{action}\" in \"{text}\"");
        let (verb, arg) = split_verb(action);
        let problem = match (verb, role) {
            ("read", Role::Client) => {
                format!("{what} is a server action (a client reads everything as it is delivered)")
            }
            ("read", Role::Server) if arg.is_empty() => return Ok(Call::Read(None)),
            ("read", Role::Server) => match arg.parse::<u64>() {
                Ok(n) => return Ok(Call::Read(Some(n))),
                Err(_) => format!("unknown timed action {what}"),
            },
            _ => match self.script_action(a, action)? {
                Some(step) => match Call::of_action(step) {
                    Some(call) => return Ok(call),
                    None => format!("{what} cannot be timed: it waits, which {waits}"),
                },
                None => format!("unknown timed action {what}"),
            },
        };
        Err(self.err(
            a.span(),
            "actions",
            format!("{problem}: expected one of {forms}"),
        ))
    }

    // ---- expectations -------------------------------------------------------------

    fn state(&self, s: &Spanned<String>, key: &str) -> Result<State> {
        State::parse(s.get_ref()).ok_or_else(|| {
            self.err(
                s.span(),
                key,
                format!(
                    "unknown TCP state \"{}\": expected one of {STATE_NAMES}",
                    s.get_ref()
                ),
            )
        })
    }

    fn selector(&self, conn: &Spanned<String>) -> Result<ConnSelector> {
        let text = conn.get_ref().as_str();
        let (host, port) = match text.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (text, None),
        };
        if let Some(name) = host.strip_suffix('*').filter(|n| !n.is_empty()) {
            let g = self.group(conn, "conn", name)?;
            return Ok(ConnSelector::Hosts {
                first: g.first,
                end: g.end,
                port: port.map(|p| self.port_text(p, conn, "conn")).transpose()?,
            });
        }
        Ok(match text {
            "*" => ConnSelector::All,
            _ => match self.host_port(conn, "conn")? {
                (host, None) => ConnSelector::Host(host),
                (host, Some(port)) => ConnSelector::HostPort(host, port),
            },
        })
    }

    fn expect(&self, e: &ExpectDef) -> Result<Expect> {
        let conn = self.selector(&e.conn)?;
        let mut checks = Vec::new();
        let state_checks = [
            (&e.reaches, "reaches", Check::Reaches as fn(State) -> Check),
            (&e.never, "never", Check::Never),
            (&e.final_state, "final", Check::Final),
        ];
        for (value, key, check) in state_checks {
            if let Some(s) = value {
                checks.push(check(self.state(s, key)?));
            }
        }
        if let Some(n) = e.delivered {
            checks.push(Check::Delivered(n));
        }
        match (&e.state, &e.at) {
            (Some(s), Some(at)) => {
                checks.push(Check::StateAt(self.state(s, "state")?, at.get_ref().0))
            }
            (None, Some(_)) if e.count_in_state.is_some() => {}
            (Some(s), None) => {
                return Err(self.err(
                    s.span(),
                    "state",
                    "`state` needs `at`, the time at which to check it, e.g. at = \"2s\"",
                ));
            }
            (None, Some(at)) => {
                return Err(self.err(
                    at.span(),
                    "at",
                    "`at` needs `state`, the state expected at that time (or `count_in_state`, to count connections in a state)",
                ));
            }
            (None, None) => {}
        }
        if let Some(n) = e.min_retransmits {
            checks.push(Check::MinRetransmits(n));
        }
        match &e.sends {
            Some(flags) => {
                let after = e.after.as_ref().map_or(0, |t| t.get_ref().0);
                let before = e.before.as_ref().map_or(u64::MAX, |t| t.get_ref().0);
                if let Some(b) = &e.before
                    && before <= after
                {
                    return Err(self.err(
                        b.span(),
                        "before",
                        format!(
                            "`before` ({}) must be later than `after` ({})",
                            format_duration(before),
                            format_duration(after)
                        ),
                    ));
                }
                checks.push(Check::Sends {
                    flags: self.flags(flags, "sends")?,
                    count: e.count.as_ref().map(|c| *c.get_ref()),
                    after,
                    before,
                });
            }
            None => {
                let stray = [
                    ("count", span_of(&e.count)),
                    ("after", span_of(&e.after)),
                    ("before", span_of(&e.before)),
                ]
                .into_iter()
                .find_map(|(k, s)| s.map(|s| (k, s)));
                if let Some((key, span)) = stray {
                    return Err(self.err(
                        span,
                        key,
                        format!(
                            r#"`{key}` only applies to `sends`: add `sends = "FLAGS"` to say which segments to count"#
                        ),
                    ));
                }
            }
        }
        if let Some(c) = e.corrupted {
            checks.push(Check::Corrupted(c));
        }
        if let Some(check) = self.count_in_state(e)? {
            checks.push(check);
        }
        if checks.is_empty() {
            return Err(self.err(
                e.conn.span(),
                "conn",
                "this [[expect]] checks nothing: add `reaches`, `never`, `final`, `delivered`, `state` with `at`, `min_retransmits`, `sends`, `corrupted`, or `count_in_state` or `refused` with `min`/`max`",
            ));
        }
        Ok(Expect {
            conn,
            conn_text: e.conn.get_ref().clone(),
            line: self.line_of(&e.conn.span()),
            checks,
        })
    }

    /// `count_in_state` with `min` and/or `max` (and `at`, shared with `state`).
    fn count_in_state(&self, e: &ExpectDef) -> Result<Option<Check>> {
        let bound = |v: &Option<Spanned<u64>>| v.as_ref().map(|b| *b.get_ref());
        let (min, max) = (bound(&e.min), bound(&e.max));
        if let Some(r) = &e.refused {
            return self.refused(e, r, min, max).map(Some);
        }
        let Some(state) = &e.count_in_state else {
            let stray = [("min", span_of(&e.min)), ("max", span_of(&e.max))];
            return match stray.into_iter().find_map(|(k, s)| s.map(|s| (k, s))) {
                Some((key, span)) => Err(self.err(
                    span,
                    key,
                    format!(
                        r#"`{key}` only applies to `count_in_state` or `refused`: add e.g. `count_in_state = "TIME_WAIT"` to say which connections to count"#
                    ),
                )),
                None => Ok(None),
            };
        };
        self.check_bounds(e, min, max)?;
        if min.is_none() && max.is_none() {
            return Err(self.err(
                state.span(),
                "count_in_state",
                "`count_in_state` needs `min` and/or `max`, the bounds on how many selected connections are in that state, e.g. max = 5",
            ));
        }
        Ok(Some(Check::CountInState {
            state: self.state(state, "count_in_state")?,
            at: e.at.as_ref().map(|t| t.get_ref().0),
            min,
            max,
        }))
    }

    /// `min` no greater than `max`.
    fn check_bounds(&self, e: &ExpectDef, min: Option<u64>, max: Option<u64>) -> Result<()> {
        match (min, max, &e.max) {
            (Some(lo), Some(hi), Some(m)) if hi < lo => Err(self.err(
                m.span(),
                "max",
                format!("`max` ({hi}) must not be less than `min` ({lo})"),
            )),
            _ => Ok(()),
        }
    }

    /// `refused` with `min` and/or `max` (not with `count_in_state`, whose bounds they
    /// would be too).
    fn refused(
        &self,
        e: &ExpectDef,
        r: &Spanned<String>,
        min: Option<u64>,
        max: Option<u64>,
    ) -> Result<Check> {
        if let Some(c) = &e.count_in_state {
            return Err(self.err(
                c.span(),
                "count_in_state",
                "`count_in_state` and `refused` would share `min` and `max`: write them in two [[expect]] entries",
            ));
        }
        let what = Refusal::parse(r.get_ref().trim()).ok_or_else(|| {
            self.err(
                r.span(),
                "refused",
                format!(
                    r#"expected `refused` "no_port" (connects that found no free local port) or "backlog_full" (SYNs a full listen backlog dropped), found "{}""#,
                    r.get_ref()
                ),
            )
        })?;
        self.check_bounds(e, min, max)?;
        if min.is_none() && max.is_none() {
            return Err(self.err(
                r.span(),
                "refused",
                "`refused` needs `min` and/or `max`, the bounds on how many there are, e.g. max = 0",
            ));
        }
        Ok(Check::Refused { what, min, max })
    }

    // ---- injected segments --------------------------------------------------------

    fn inject(&self, i: &InjectDef) -> Result<Inject> {
        let endpoint = |v: &Option<Spanned<String>>, key| -> Result<Option<(NodeId, u16)>> {
            let Some(s) = v else { return Ok(None) };
            match self.host_port(s, key)? {
                (host, Some(port)) => Ok(Some((host, port))),
                (_, None) => Err(self.err(
                    s.span(),
                    key,
                    format!(
                        r#"`{key}` needs "host:port", e.g. "b:80", found "{}""#,
                        s.get_ref()
                    ),
                )),
            }
        };
        let target = match &i.conn {
            None => None,
            Some(c) => match self.selector(c)? {
                ConnSelector::All | ConnSelector::Hosts { .. } => {
                    return Err(self.err(
                        c.span(),
                        "conn",
                        format!(
                            r#"an injected segment aims at one connection: write "host" or "host:port", not "{}""#,
                            c.get_ref()
                        ),
                    ));
                }
                sel => Some(sel),
            },
        };
        let src = endpoint(&i.src, "src")?;
        let dst = endpoint(&i.dst, "dst")?;
        // Without `conn` nothing supplies the endpoints, so both must be written.
        if target.is_none() {
            for (key, v) in [("src", src), ("dst", dst)] {
                if v.is_none() {
                    return Err(self.missing_endpoint(i, key));
                }
            }
        }
        let from = match &i.from {
            Some(f) => self.resolve_node(f, "from")?,
            None => match (src, target.and_then(|t| t.host())) {
                (Some((host, _)), _) | (None, Some(host)) => host,
                (None, None) => return Err(self.missing_endpoint(i, "src")),
            },
        };
        let seq_expr = |v: &Option<Spanned<SeqValue>>, key| -> Result<SeqExpr> {
            let Some(v) = v else {
                return Ok(SeqExpr::Absolute(0));
            };
            let expr = match v.get_ref() {
                SeqValue::Number(n) => return Ok(SeqExpr::Absolute(*n)),
                SeqValue::Expr(e) => e,
            };
            let parsed = parse_seq_expr(expr).ok_or_else(|| {
                self.err(
                    v.span(),
                    key,
                    format!(
                        r#"cannot read `{key}` "{expr}": expected a number from 0 to 4294967295, or VAR, VAR+N or VAR-N with VAR one of rcv_nxt, snd_nxt, snd_una, iss, irs (e.g. "rcv_nxt+1")"#
                    ),
                )
            })?;
            if matches!(parsed, SeqExpr::Relative(..)) && target.is_none() {
                return Err(self.err(
                    v.span(),
                    key,
                    format!(
                        r#""{expr}" refers to a connection's variables: add `conn` ("host" or "host:port") to say which connection"#
                    ),
                ));
            }
            Ok(parsed)
        };
        Ok(Inject {
            at: i.at.get_ref().0,
            from,
            target,
            src,
            dst,
            flags: i
                .flags
                .as_ref()
                .map(|f| self.flags(f, "flags"))
                .transpose()?
                .unwrap_or(Flags::NONE),
            seq: seq_expr(&i.seq, "seq")?,
            ack: seq_expr(&i.ack, "ack")?,
            window: i.window.unwrap_or(u16::MAX),
            len: self.inject_len(i)?,
            mss: i.mss,
        })
    }

    /// An injected segment must fit an IPv4 packet (65535 bytes): its payload, 40 bytes of
    /// headers and the MSS option's 4 when it has one.
    fn inject_len(&self, i: &InjectDef) -> Result<u32> {
        let Some(len) = &i.len else { return Ok(0) };
        let (max, why) = match i.mss {
            Some(_) => (
                limits::MAX_IPV4_PAYLOAD - 4,
                " bytes (an IPv4 packet holds 65535 bytes: 40 of headers and 4 of the MSS option)",
            ),
            None => (
                limits::MAX_IPV4_PAYLOAD,
                " bytes (an IPv4 packet holds 65535 bytes, 40 of them headers)",
            ),
        };
        self.within(len, "len", 0, max, why)
    }

    /// `src` or `dst` missing from an `[[inject]]` without `conn`; reported at its `at`,
    /// the one key every entry has.
    fn missing_endpoint(&self, i: &InjectDef, key: &str) -> ScenarioError {
        self.err(
            i.at.span(),
            key,
            format!(
                r#"this [[inject]] needs `{key}` ("host:port"), or `conn`, which supplies both `src` and `dst`"#
            ),
        )
    }
}

/// Whose `actions` a step is in: the calls each may make differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Client,
    Server,
}

/// The last step that writes ("send N", timed or not), where a too-large total is shown.
fn last_send(steps: &[Spanned<String>]) -> Option<&Spanned<String>> {
    steps.iter().rev().find(|s| s.get_ref().contains("send"))
}

/// "send 100" → ("send", "100"); the argument is trimmed and may be empty.
fn split_verb(text: &str) -> (&str, &str) {
    let (verb, arg) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    (verb, arg.trim())
}

/// "rcv_nxt", "rcv_nxt+100", "snd_una-1" or a plain number.
fn parse_seq_expr(text: &str) -> Option<SeqExpr> {
    let text = text.trim();
    if let Ok(n) = text.parse::<u32>() {
        return Some(SeqExpr::Absolute(n));
    }
    let split = text.find(['+', '-']).unwrap_or(text.len());
    let (var, rest) = text.split_at(split);
    let var = match var.trim() {
        "rcv_nxt" => SeqVar::RcvNxt,
        "snd_nxt" => SeqVar::SndNxt,
        "snd_una" => SeqVar::SndUna,
        "iss" => SeqVar::Iss,
        "irs" => SeqVar::Irs,
        _ => return None,
    };
    let offset = match rest.trim() {
        "" => 0,
        r => {
            let (sign, digits) = r.split_at(1);
            let digits = digits.trim();
            // Digits only: "rcv_nxt+-1" or "rcv_nxt++1" is a typo, not an offset.
            if !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let n = i64::from(digits.parse::<u32>().ok()?);
            if sign == "-" { -n } else { n }
        }
    };
    Some(SeqExpr::Relative(var, offset))
}

#[cfg(test)]
mod seq_expr_tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(parse_seq_expr("42"), Some(SeqExpr::Absolute(42)));
        assert_eq!(
            parse_seq_expr("rcv_nxt"),
            Some(SeqExpr::Relative(SeqVar::RcvNxt, 0))
        );
        assert_eq!(
            parse_seq_expr("rcv_nxt+100"),
            Some(SeqExpr::Relative(SeqVar::RcvNxt, 100))
        );
        assert_eq!(
            parse_seq_expr("snd_una - 1"),
            Some(SeqExpr::Relative(SeqVar::SndUna, -1))
        );
        assert_eq!(parse_seq_expr("cwnd+1"), None);
        assert_eq!(parse_seq_expr("rcv_nxt+x"), None);
        assert_eq!(parse_seq_expr("rcv_nxt+-1"), None);
        assert_eq!(parse_seq_expr("rcv_nxt+"), None);
    }
}
