//! What each `[tcp]` / `[host.tcp]` / `[group.tcp]` key becomes on a real Linux host.
//!
//! Only keys the file sets are applied; everything else stays the kernel's default (the
//! kernel is what is being measured, and the profile only describes the simulation's
//! defaults). Each key maps to a per-namespace sysctl (written from inside the host's
//! namespace under /proc/sys/net/ipv4), a socket option on the host's sockets, or a
//! metric on the host's routes; a key with no counterpart is an error at its line and
//! column (exit 2). `msl` and `time_wait` are accepted with a note instead: Linux's
//! TIME_WAIT is a fixed 60 s, which is why a kernel run ends when its traffic is over.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::netlink::{RTAX_INITCWND, RTAX_QUICKACK};
use crate::scenario::ScenarioError;
use crate::scenario::model::{NodeKind, Scenario};
use crate::tcp::{Config, IsnMode, SECOND};

/// Socket options set on every socket of a host's applications (before listen/connect).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SockOpts {
    /// TCP_MAXSEG.
    pub mss: Option<u16>,
    /// TCP_NODELAY (Some(true): Nagle off).
    pub nodelay: Option<bool>,
    /// SO_RCVBUF (the kernel doubles it for bookkeeping; the window follows).
    pub rcvbuf: Option<u32>,
    /// TCP_WINDOW_CLAMP = 65535 << S, so the kernel picks window shift S.
    pub window_clamp: Option<u32>,
    /// TCP_CONGESTION: the algorithm, by name.
    pub congestion: Option<&'static str>,
}

/// Everything one host's namespace gets from the scenario's TCP settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostSettings {
    /// (name under /proc/sys/net/ipv4, value) in the order written.
    pub sysctls: Vec<(&'static str, String)>,
    pub sockopts: SockOpts,
    /// RTAX_* metrics on every route of the host.
    pub route_metrics: Vec<(u16, u32)>,
    /// Interface MTU: 1500, or more when `mss` asks for larger segments.
    pub mtu: u32,
}

/// The TCP tables of the file as written, keys with their spans (values come from the
/// validated scenario, which has already checked them).
#[derive(Deserialize, Default)]
struct RawFile {
    #[serde(default)]
    tcp: BTreeMap<Spanned<String>, toml::Value>,
    #[serde(default)]
    host: Vec<RawTable>,
    #[serde(default)]
    group: Vec<RawTable>,
    #[serde(default)]
    fault: Vec<RawFault>,
}

#[derive(Deserialize, Default)]
struct RawFault {
    action: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
struct RawTable {
    #[serde(default)]
    tcp: BTreeMap<Spanned<String>, toml::Value>,
}

/// The keys of a host's layered settings and where each was written (innermost layer).
type Keys = BTreeMap<String, Range<usize>>;

/// Refuses what a kernel run cannot do: crash faults (a namespace cannot lose its TCP
/// state the way a crashed host does) and more than [`super::MAX_HOSTS`] hosts.
pub fn check_supported(sc: &Scenario, src: &str) -> Result<(), ScenarioError> {
    let raw: RawFile = toml::from_str(src).unwrap_or_default();
    let crash = raw
        .fault
        .iter()
        .filter_map(|f| f.action.as_ref())
        .find(|a| a.get_ref() == "crash");
    if let Some(a) = crash {
        return Err(ScenarioError::at(
            src,
            &sc.origin,
            a.span(),
            Some("action".into()),
            "`action = \"crash\"` is not supported by `tcpsim kernel`: a real host's kernel cannot be made to lose its TCP state and come back; run this scenario in the simulator".into(),
        ));
    }
    let hosts = (sc.nodes.iter())
        .filter(|n| matches!(n.kind, NodeKind::Host { .. }))
        .count();
    if hosts > super::MAX_HOSTS {
        return Err(ScenarioError::whole_file(
            &sc.origin,
            format!(
                "`tcpsim kernel` runs at most {} hosts (one network namespace each); this scenario has {hosts}",
                super::MAX_HOSTS
            ),
        ));
    }
    Ok(())
}

/// The settings of every node (None for routers), and notes for stderr.
pub fn for_hosts(
    sc: &Scenario,
    src: &str,
) -> Result<(Vec<Option<HostSettings>>, Vec<String>), ScenarioError> {
    let raw: RawFile = toml::from_str(src).unwrap_or_default();
    let keys = layered_keys(sc, &raw);
    let mut notes = Vec::new();
    let mut out = Vec::new();
    for (node, n) in sc.nodes.iter().enumerate() {
        let NodeKind::Host { tcp, .. } = &n.kind else {
            out.push(None);
            continue;
        };
        let mut hs = HostSettings {
            mtu: 1500,
            // CUBIC, a 6.x kernel's usual default and what the linux profile models. This
            // machine's kernel was built with BBR as its default (CONFIG_DEFAULT_TCP_CONG),
            // which a new namespace inherits and, as a restricted algorithm, may not change
            // (tcp_set_default_congestion_control): each socket asks for CUBIC instead
            // (allowed with CAP_NET_ADMIN), and accepted sockets inherit the listener's.
            sockopts: SockOpts {
                congestion: Some("cubic"),
                ..SockOpts::default()
            },
            ..HostSettings::default()
        };
        for (key, span) in &keys[node] {
            apply(key, tcp, &mut hs, &mut notes).map_err(|msg| {
                ScenarioError::at(src, &sc.origin, span.clone(), Some(key.clone()), msg)
            })?;
        }
        out.push(Some(hs));
    }
    notes.sort();
    notes.dedup();
    Ok((out, notes))
}

/// Per node, the keys set for it: `[tcp]`, then its `[[host]]`'s or `[[group]]`'s table.
fn layered_keys(sc: &Scenario, raw: &RawFile) -> Vec<Keys> {
    let global: Keys = (raw.tcp.keys())
        .map(|k| (k.get_ref().clone(), k.span()))
        .collect();
    let mut per_node = vec![global; sc.nodes.len()];
    let add = |keys: &mut Keys, table: &RawTable| {
        for k in table.tcp.keys() {
            keys.insert(k.get_ref().clone(), k.span());
        }
    };
    // `[[host]]` entries are the first nodes, in file order.
    for (i, h) in raw.host.iter().enumerate() {
        if let Some(keys) = per_node.get_mut(i) {
            add(keys, h);
        }
    }
    for (g, table) in sc.groups.iter().zip(&raw.group) {
        for node in g.nodes.clone() {
            add(&mut per_node[node], table);
        }
    }
    per_node
}

/// Applies one key; an error message says why it has no Linux counterpart.
fn apply(
    key: &str,
    cfg: &Config,
    hs: &mut HostSettings,
    notes: &mut Vec<String>,
) -> Result<(), String> {
    let mut sysctl = |name: &'static str, value: String| hs.sysctls.push((name, value));
    match key {
        "msl" | "time_wait" => notes.push(format!(
            "note: `{key}` has no Linux counterpart (TIME_WAIT is a fixed 60 s, TCP_TIMEWAIT_LEN): the run ends when its traffic is over and lists the sockets still in TIME_WAIT"
        )),
        "fin_wait_2_timeout" => sysctl("tcp_fin_timeout", fin_timeout(cfg.fin_wait_2_timeout)?),
        "rto_initial" if cfg.rto_initial == SECOND => {}
        "rto_min" => sysctl("tcp_rto_min_us", (cfg.rto_min / 1_000).to_string()),
        "rto_max" => sysctl("tcp_rto_max_ms", rto_max(cfg.rto_max)?),
        "syn_retries" => sysctl("tcp_syn_retries", cfg.syn_retries.min(127).to_string()),
        "synack_retries" => sysctl("tcp_synack_retries", cfg.synack_retries.to_string()),
        "syn_linear_timeouts" => sysctl(
            "tcp_syn_linear_timeouts",
            cfg.syn_linear_timeouts.min(10).to_string(),
        ),
        "retries" => sysctl("tcp_retries2", cfg.retries.to_string()),
        "mss" => {
            hs.sockopts.mss = Some(cfg.mss);
            hs.mtu = hs.mtu.max(u32::from(cfg.mss) + 40);
        }
        "window" => hs.sockopts.rcvbuf = Some(cfg.window),
        "window_scale" => match cfg.window_scale {
            None => sysctl("tcp_window_scaling", "0".into()),
            Some(shift) => {
                sysctl("tcp_window_scaling", "1".into());
                hs.sockopts.window_clamp = Some(65_535u32 << shift.min(14));
            }
        },
        "timestamps" => sysctl("tcp_timestamps", flag(cfg.timestamps)),
        "sack" => sysctl("tcp_sack", flag(cfg.sack)),
        "dsack" => sysctl("tcp_dsack", flag(cfg.dsack)),
        "oow_rate_limit" => sysctl(
            "tcp_invalid_ratelimit",
            if cfg.oow_rate_limit { "500" } else { "0" }.into(),
        ),
        "rcv_autotune" => sysctl("tcp_moderate_rcvbuf", flag(cfg.rcv_autotune)),
        "tlp" => sysctl("tcp_early_retrans", if cfg.tlp { "3" } else { "0" }.into()),
        "rfc5961" if cfg.rfc5961 => {}
        "challenge_ack_limit" => sysctl("tcp_challenge_ack_limit", cfg.challenge_ack_limit.to_string()),
        "rfc1337" => sysctl("tcp_rfc1337", flag(cfg.rfc1337)),
        "tw_reuse" => sysctl("tcp_tw_reuse", flag(cfg.tw_reuse)),
        "isn" if matches!(cfg.isn, IsnMode::Rfc6528 | IsnMode::Linux) => {}
        "ephemeral_ports" => sysctl(
            "ip_local_port_range",
            format!("{} {}", cfg.ephemeral_ports.0, cfg.ephemeral_ports.1),
        ),
        "delayed_ack" if cfg.delayed_ack.is_none() => hs.route_metrics.push((RTAX_QUICKACK, 1)),
        "nagle" => hs.sockopts.nodelay = Some(!cfg.nagle),
        "congestion_control" | "congestion" if cfg.congestion_control => {
            hs.sockopts.congestion = Some(match cfg.congestion {
                crate::tcp::CongestionAlgorithm::NewReno => "reno",
                crate::tcp::CongestionAlgorithm::Cubic => "cubic",
            })
        }
        "initial_window" => hs
            .route_metrics
            .push((RTAX_INITCWND, cfg.initial_window.unwrap_or(10))),
        "restart_after_idle" => sysctl("tcp_slow_start_after_idle", flag(cfg.restart_after_idle)),
        _ if linux_behaviour(key, cfg) => notes.push(format!(
            "note: `{key}` has no Linux setting; the value given is the one the linux profile ascribes to the kernel, which does what it does"
        )),
        _ => return Err(no_counterpart(key)),
    }
    Ok(())
}

/// A behaviour Linux has no setting for, set to what `Config::linux()` says Linux does.
fn linux_behaviour(key: &str, cfg: &Config) -> bool {
    let linux = Config::linux();
    match key {
        "limited_transmit" => cfg.limited_transmit == linux.limited_transmit,
        "rto_after_syn_loss" => cfg.rto_after_syn_loss == linux.rto_after_syn_loss,
        "syn_data" => cfg.syn_data == linux.syn_data,
        "time_wait_in_window" => cfg.time_wait_in_window == linux.time_wait_in_window,
        "reopen_old_duplicate" => cfg.reopen_old_duplicate == linux.reopen_old_duplicate,
        "ack_policy" => cfg.ack_policy == linux.ack_policy,
        "rtt_estimator" => cfg.rtt_estimator == linux.rtt_estimator,
        "rtt_from_handshake" => cfg.rtt_from_handshake == linux.rtt_from_handshake,
        "hz" => cfg.hz == linux.hz,
        "timer_wheel" => cfg.timer_wheel == linux.timer_wheel,
        "nagle_minshall" => cfg.nagle_minshall == linux.nagle_minshall,
        "dup_syn_resends_syn_ack" => cfg.dup_syn_resends_syn_ack == linux.dup_syn_resends_syn_ack,
        "reset_with_ack" => cfg.reset_with_ack == linux.reset_with_ack,
        "syn_loss_cwnd_one" => cfg.syn_loss_cwnd_one == linux.syn_loss_cwnd_one,
        "half_duplex_close" => cfg.half_duplex_close == linux.half_duplex_close,
        "syn_give_up_by_time" => cfg.syn_give_up_by_time == linux.syn_give_up_by_time,
        "time_wait_minisock" => cfg.time_wait_minisock == linux.time_wait_minisock,
        "push_per_gso" => cfg.push_per_gso == linux.push_per_gso,
        "fin_needs_cwnd" => cfg.fin_needs_cwnd == linux.fin_needs_cwnd,
        "app_after_softirq" => cfg.app_after_softirq == linux.app_after_softirq,
        "rmem_per_segment" => cfg.rmem_per_segment == linux.rmem_per_segment,
        "probe_old_seq" => cfg.probe_old_seq == linux.probe_old_seq,
        "rack" => cfg.rack == linux.rack,
        _ => false,
    }
}

fn flag(on: bool) -> String {
    if on { "1".into() } else { "0".into() }
}

/// tcp_fin_timeout counts whole seconds; Linux always times an orphan out.
fn fin_timeout(t: Option<u64>) -> Result<String, String> {
    match t {
        Some(ns) if ns % SECOND == 0 => Ok((ns / SECOND).to_string()),
        Some(_) => Err("`fin_wait_2_timeout` becomes net.ipv4.tcp_fin_timeout, which counts whole seconds: use a whole number of seconds for `tcpsim kernel`".into()),
        None => Err(r#"`fin_wait_2_timeout = "none"` has no Linux counterpart: Linux always deletes an orphaned FIN_WAIT_2 socket after net.ipv4.tcp_fin_timeout"#.into()),
    }
}

/// net.ipv4.tcp_rto_max_ms accepts 1 to 120 seconds, in milliseconds.
fn rto_max(ns: u64) -> Result<String, String> {
    let ms = ns / 1_000_000;
    if (1_000..=120_000).contains(&ms) {
        Ok(ms.to_string())
    } else {
        Err(format!(
            "`rto_max` becomes net.ipv4.tcp_rto_max_ms, which Linux limits to 1s..120s; found {ms}ms"
        ))
    }
}

/// Why `key` (with the value it has) cannot be applied to a Linux host.
fn no_counterpart(key: &str) -> String {
    let why = match key {
        "rto_initial" => {
            "Linux's first RTO is a fixed 1 s (TCP_TIMEOUT_INIT); only `rto_initial = \"1s\"` matches it"
        }
        "rfc5961" => "Linux always applies RFC 5961 (challenge ACKs); no setting turns it off",
        "isn" => {
            "Linux always chooses ISNs per RFC 6528 (secure_tcp_seq); only `isn = \"rfc6528\"` matches it"
        }
        "delayed_ack" => {
            "Linux's delayed-ACK timer adapts between 40 ms and 200 ms with no setting; only `delayed_ack = \"none\"` (the route's quickack) has a counterpart"
        }
        "congestion_control" => {
            "Linux always runs congestion control; only `congestion_control = true` (reno) has a counterpart"
        }
        _ => "it is a simulator setting with no Linux sysctl, socket option or route metric",
    };
    format!(
        "`{key}` cannot be applied to a real Linux host by `tcpsim kernel`: {why}; remove it (or use the value Linux has)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(src: &str) -> Result<(Vec<Option<HostSettings>>, Vec<String>), ScenarioError> {
        let sc = crate::scenario::load_str(src, "t.toml").expect("valid scenario");
        for_hosts(&sc, src)
    }

    const HOSTS: &str =
        "[[host]]\nname = \"a\"\n[[host]]\nname = \"b\"\n[[link]]\na = \"a\"\nb = \"b\"\n";

    #[test]
    fn keys_map_to_sysctls_sockopts_and_routes() {
        let src = format!(
            "[tcp]\nmsl = \"1s\"\ntimestamps = false\nnagle = false\nsyn_retries = 2\nsynack_retries = 3\nsack = false\noow_rate_limit = false\n{HOSTS}[host.tcp]\nmss = 9000\ndelayed_ack = \"none\"\n"
        );
        let (hosts, notes) = settings(&src).expect("all keys have counterparts");
        let b = hosts[1].as_ref().expect("host b");
        assert_eq!(b.sockopts.mss, Some(9000));
        assert_eq!(b.mtu, 9040);
        assert_eq!(b.route_metrics, vec![(RTAX_QUICKACK, 1)]);
        assert!(b.sysctls.contains(&("tcp_timestamps", "0".into())));
        assert!(b.sysctls.contains(&("tcp_syn_retries", "2".into())));
        assert!(b.sysctls.contains(&("tcp_synack_retries", "3".into())));
        assert!(b.sysctls.contains(&("tcp_sack", "0".into())));
        assert!(b.sysctls.contains(&("tcp_invalid_ratelimit", "0".into())));
        let a = hosts[0].as_ref().expect("host a");
        assert_eq!(a.sockopts.nodelay, Some(true));
        assert_eq!(a.mtu, 1500);
        assert_eq!(notes.len(), 1, "{notes:?}");
    }

    #[test]
    fn a_key_without_counterpart_is_an_error_at_its_place() {
        let src = format!("[tcp]\ndelayed_ack = \"100ms\"\n{HOSTS}");
        let e = settings(&src).expect_err("no counterpart");
        assert_eq!((e.line, e.col), (2, 1));
        assert_eq!(e.key.as_deref(), Some("delayed_ack"));
        assert!(e.message.contains("cannot be applied"), "{}", e.message);
    }

    #[test]
    fn values_equal_to_linux_behaviour_are_accepted() {
        let src =
            format!("[tcp]\nrto_initial = \"1s\"\nisn = \"rfc6528\"\nrfc5961 = true\n{HOSTS}");
        assert!(settings(&src).is_ok());
        let src = format!("[tcp]\nack_policy = \"linux\"\ntimer_wheel = true\n{HOSTS}");
        assert!(settings(&src).is_ok());
        let src = format!("[tcp]\nack_policy = \"rfc\"\n{HOSTS}");
        let e = settings(&src).expect_err("the kernel's ACKs are Linux's");
        assert_eq!(e.key.as_deref(), Some("ack_policy"));
    }
}
