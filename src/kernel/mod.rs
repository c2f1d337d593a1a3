//! `tcpsim kernel`: the scenario's hosts run on the real Linux TCP, behind tcpsim's own
//! network model.
//!
//! Every `[[host]]` becomes a network namespace with one TUN device (`netns.rs`,
//! `tun.rs`), its `[tcp]` settings become sysctls, socket options and route metrics
//! (`settings.rs`), its applications run on real sockets (`apps.rs`, `script.rs`), the
//! packets between namespaces cross the scenario's links, routers and faults on a wall
//! clock (`wire.rs`), and the kernel's socket states are read with sock_diag
//! (`observe.rs`). What was seen becomes the simulator's own events (`record.rs`), so the
//! transcript, JSON, pcapng, ladders and `tcpsim diff` work on it unchanged
//! (`output.rs` adds what only a real packet has: its bytes and full option list).
//!
//! Nothing is configured outside the run's namespaces: no interface, route or sysctl of
//! the root namespace is touched, and every address used is a scenario host's.

pub mod apps;
pub mod conn;
pub mod netlink;
pub mod netns;
pub mod observe;
pub mod output;
pub mod record;
pub mod script;
pub mod settings;
pub mod tun;
pub mod wire;

use std::fs::File;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use crate::expect;
use crate::report::Report;
use crate::scenario::ScenarioError;
use crate::scenario::model::{NodeKind, Scenario, client_starts};
use crate::tcp::Endpoint;
use crate::trace::Names;

pub use observe::Sock;
pub use wire::{End, WireStats};

/// More hosts than this are refused: each is a namespace, a TUN and a thread or two.
pub const MAX_HOSTS: usize = 64;
/// Without `--until`, a run still busy after this long is stopped.
pub const LIMIT_NS: u64 = 120_000_000_000;

/// The run's time: ns since the moment every server was listening (0 before that).
#[derive(Clone, Default)]
pub struct Clock {
    start: Arc<OnceLock<Instant>>,
}

impl Clock {
    /// Starts the clock (only the first call counts).
    pub fn start(&self) {
        let _ = self.start.set(Instant::now());
    }

    pub fn now(&self) -> u64 {
        self.start.get().map_or(0, |s| {
            s.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64
        })
    }
}

/// Why a kernel run could not be made.
#[derive(Debug)]
pub enum KernelError {
    /// The scenario asks for something a kernel run cannot do (exit 2).
    BadInput(ScenarioError),
    /// Kernel mode is not possible here: not root, no TUN, no namespaces (exit 2, with
    /// its own message).
    Unavailable(String),
    /// Something failed during the run.
    Failed(String),
}

/// What a kernel run produced.
pub struct KernelRun {
    pub trace: record::Trace,
    pub report: Report,
    /// Every socket left in every namespace when the run ended: (node, socket).
    pub sockets: Vec<(u32, Sock)>,
    pub end: End,
    pub wire: WireStats,
    pub namespaces: Vec<String>,
    /// Remarks about settings (keys accepted without a counterpart).
    pub notes: Vec<String>,
}

/// Checks that kernel mode can run here: root, /dev/net/tun, network namespaces.
pub fn available() -> Result<(), String> {
    if !nix::unistd::geteuid().is_root() {
        return Err("tcpsim must run as root (network namespaces and TUN devices need CAP_NET_ADMIN and CAP_SYS_ADMIN)".into());
    }
    if let Err(e) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/net/tun")
    {
        return Err(format!(
            "cannot open /dev/net/tun ({e}): this kernel or container has no TUN device"
        ));
    }
    std::thread::spawn(|| nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET))
        .join()
        .map_err(|_| "the namespace check panicked".to_string())?
        .map_err(|e| format!("cannot create a network namespace: {e}"))
}

/// Runs `sc` (whose text is `src`, for error positions) on the kernel.
pub fn run(
    sc: &Scenario,
    src: &str,
    seed: u64,
    until: Option<u64>,
) -> Result<KernelRun, KernelError> {
    settings::check_supported(sc, src).map_err(KernelError::BadInput)?;
    let (host_settings, notes) = settings::for_hosts(sc, src).map_err(KernelError::BadInput)?;
    available().map_err(KernelError::Unavailable)?;
    netns::remove_stale();
    netns::install_signal_cleanup().map_err(KernelError::Failed)?;
    let mut namespaces = netns::Namespaces::new();
    let (handles, hosts) =
        make_hosts(sc, &host_settings, &mut namespaces).map_err(KernelError::Failed)?;
    let clock = Clock::default();
    let (tx, rx) = std::sync::mpsc::channel();
    let (wake_tx, wake_rx) = UnixStream::pair().map_err(|e| KernelError::Failed(e.to_string()))?;
    for s in [&wake_tx, &wake_rx] {
        s.set_nonblocking(true)
            .map_err(|e| KernelError::Failed(e.to_string()))?;
    }
    let out = apps::Outbox {
        tx,
        wake: Arc::new(wake_tx),
        clock: clock.clone(),
        softirq: Arc::default(),
    };
    let mut running = apps::Apps::new();
    let started = start_apps(
        sc,
        seed,
        &handles,
        &host_settings,
        &out,
        &clock,
        &mut running,
    );
    let mut wire = wire::Wire::new(sc, seed, hosts, clock.clone(), out.softirq.clone());
    let ended = started.and_then(|_| {
        set_timer_slack();
        wire.run(&rx, &wake_rx, &|| running.busy(), until, LIMIT_NS)
    });
    let sockets = snapshot(&mut wire);
    let end_time = clock.now();
    running.stop();
    let end = ended.map_err(KernelError::Failed)?;
    let names = Names::new(sc);
    let links = wire.links();
    let trace = record::finish(std::mem::take(&mut wire.recs));
    let report = report(sc, seed, &trace, &names, links, end_time);
    Ok(KernelRun {
        trace,
        report,
        sockets,
        end,
        wire: std::mem::take(&mut wire.stats),
        namespaces: namespaces.names().to_vec(),
        notes,
    })
}

/// Per node: what the applications need (None for routers), and what the wire needs.
type Hosts = (Vec<Option<apps::Host>>, Vec<Option<wire::HostIo>>);

/// One namespace per host, set up; returns the handles apps enter and the wire's hosts.
fn make_hosts(
    sc: &Scenario,
    settings: &[Option<settings::HostSettings>],
    namespaces: &mut netns::Namespaces,
) -> Result<Hosts, String> {
    let addrs: Vec<u32> = (sc.nodes.iter())
        .filter_map(|n| match n.kind {
            NodeKind::Host { addr, .. } => Some(addr),
            NodeKind::Router => None,
        })
        .collect();
    let mut handles = Vec::new();
    let mut hosts = Vec::new();
    for (node, n) in sc.nodes.iter().enumerate() {
        let (NodeKind::Host { addr, .. }, Some(hs)) = (&n.kind, &settings[node]) else {
            handles.push(None);
            hosts.push(None);
            continue;
        };
        let (_, ns) = namespaces.create(&n.name)?;
        let ns: Arc<File> = Arc::new(ns);
        let (addr, hs2) = (*addr, hs.clone());
        let peers: Vec<u32> = addrs.iter().copied().filter(|&a| a != addr).collect();
        let (tun, diag) = netns::inside(&ns, move || setup::host(addr, &hs2, &peers))
            .map_err(|e| format!("setting up host {}: {e}", n.name))?;
        handles.push(Some(apps::Host {
            ns,
            node: node as u32,
            addr,
            opts: hs.sockopts.clone(),
        }));
        let ports = (sc.servers.iter())
            .filter(|s| s.host == node)
            .map(|s| s.port)
            .collect();
        let observer = observe::Observer::new(diag, ports);
        hosts.push(Some(wire::HostIo::new(addr, tun, observer, hs.mtu)));
    }
    Ok((handles, hosts))
}

/// Servers first (each listening before the next starts), then the clock, then clients.
fn start_apps(
    sc: &Scenario,
    seed: u64,
    handles: &[Option<apps::Host>],
    settings: &[Option<settings::HostSettings>],
    out: &apps::Outbox,
    clock: &Clock,
    running: &mut apps::Apps,
) -> Result<(), String> {
    let _ = settings;
    for s in &sc.servers {
        let Some(h) = handles[s.host].clone() else {
            continue;
        };
        running.start_server(h, s.clone(), out.clone())?;
    }
    clock.start();
    let starts = client_starts(&sc.clients, seed);
    for (c, start) in sc.clients.iter().zip(starts) {
        let (Some(h), Some(remote)) = (handles[c.host].clone(), handles[c.remote].as_ref()) else {
            continue;
        };
        let remote = Endpoint {
            addr: remote.addr,
            port: c.remote_port,
        };
        running.start_client(h, c.clone(), start, remote, out.clone());
    }
    Ok(())
}

/// Every socket of every namespace, as the run ends.
fn snapshot(wire: &mut wire::Wire) -> Vec<(u32, Sock)> {
    let mut out = Vec::new();
    for (node, h) in wire.hosts.iter_mut().enumerate() {
        if let Some(h) = h
            && let Ok(socks) = h.observer.snapshot()
        {
            out.extend(socks.into_iter().map(|s| (node as u32, s)));
        }
    }
    out
}

/// The summary and the `[[expect]]` verdicts, from the kernel run's events.
fn report(
    sc: &Scenario,
    seed: u64,
    trace: &record::Trace,
    names: &Names,
    links: Vec<(u32, u32, crate::net::LinkStats)>,
    end_time: u64,
) -> Report {
    let outcome = record::outcome(trace, names, links, end_time);
    let mut sends = expect::SendCounter::new(sc);
    for e in &trace.events {
        sends.observe(e, names);
    }
    let (expectations, unexpected_corruption) = expect::evaluate(sc, &outcome, names, &sends);
    Report {
        seed,
        outcome,
        groups: sc.groups.clone(),
        expectations,
        unexpected_corruption,
    }
}

/// The wire thread's sleeps end within a microsecond of their deadline, not 50 µs late.
fn set_timer_slack() {
    // SAFETY: PR_SET_TIMERSLACK takes one integer argument and touches only this thread.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
    }
}

/// Per-host setup inside its namespace.
mod setup {
    use super::netlink::{self, NETLINK_ROUTE, Netlink};
    use super::observe::Observer;
    use super::settings::HostSettings;
    use super::tun::{self, IFNAME, Tun};

    /// Writes a sysctl of the calling thread's namespace.
    fn sysctl(path: &str, value: &str) -> Result<(), String> {
        if !std::path::Path::new(path).exists() {
            return Err(format!("this kernel has no {path} in a network namespace"));
        }
        std::fs::write(path, value).map_err(|e| format!("cannot set {path} to {value}: {e}"))
    }

    /// IPv6 off (nothing but the scenario's IPv4 on the wire), the scenario's sysctls,
    /// the TUN device with its address, MTU and routes, offloads off; returns the TUN and
    /// a sock_diag socket of the namespace.
    pub fn host(addr: u32, hs: &HostSettings, peers: &[u32]) -> Result<(Tun, Netlink), String> {
        for conf in ["all", "default"] {
            sysctl(&format!("/proc/sys/net/ipv6/conf/{conf}/disable_ipv6"), "1")?;
        }
        for (name, value) in &hs.sysctls {
            sysctl(&format!("/proc/sys/net/ipv4/{name}"), value)?;
        }
        let tun = Tun::create()?;
        let index = tun::configure(IFNAME, addr, hs.mtu)?;
        tun::disable_offloads(IFNAME)?;
        tun::disable_offloads("lo")?;
        let mut nl = Netlink::open(NETLINK_ROUTE)?;
        for &peer in peers {
            netlink::add_host_route(&mut nl, peer, index, &hs.route_metrics).map_err(|e| {
                format!(
                    "cannot add the route to {}: {e}",
                    std::net::Ipv4Addr::from(peer)
                )
            })?;
        }
        Ok((tun, Observer::open()?))
    }
}
