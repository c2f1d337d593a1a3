//! Named network namespaces that tcpsim creates for one run and always removes.
//!
//! A namespace is named the way `ip netns` names them (a file under `/run/netns` with the
//! namespace bind-mounted on it), so `ip netns exec tcpsim-… ss -tan` works while a run is
//! going. Names are `tcpsim-<pid>-<run>-<host>`, unique per run. Every name is entered in
//! a process-wide registry *before* its file exists; the registry is emptied by
//! [`Namespaces`]'s `Drop` (normal end, error, panic) and by the signal thread that
//! [`install_signal_cleanup`] starts (SIGINT, SIGTERM, SIGHUP), so no path out of a run
//! leaves a name behind. Only SIGKILL can; [`remove_stale`] sweeps up after a killed run
//! (names whose pid is gone). The namespace itself dies with its last reference (the
//! mount, our descriptors), so removing the name and exiting frees it and its TUN device.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, setns, unshare};
use nix::sys::signal::{SigSet, Signal};

/// Where `ip netns` keeps its names; tcpsim uses the same place so `ip` sees them.
pub const NETNS_DIR: &str = "/run/netns";
/// Every name tcpsim creates starts with this.
pub const PREFIX: &str = "tcpsim-";

/// Names created and not yet removed, for the signal thread.
static LIVE: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// Runs started by this process, so two runs in one process never share a name.
static RUNS: AtomicU32 = AtomicU32::new(0);

/// Buckets of each host namespace's own established-socket hash table.
const CHILD_EHASH_ENTRIES: &str = "1024";

/// The namespaces of one run; dropping it removes every one of them.
pub struct Namespaces {
    names: Vec<String>,
    run: u32,
    /// An unnamed namespace the hosts' namespaces are created from (see [`parent`]).
    parent: Option<File>,
}

impl Namespaces {
    pub fn new() -> Self {
        Namespaces {
            names: Vec::new(),
            run: RUNS.fetch_add(1, Ordering::Relaxed),
            parent: None,
        }
    }

    /// Creates a namespace for `host` and returns its name and an open handle on it
    /// (for `setns`). The creating thread is gone afterwards: nothing runs in it yet.
    pub fn create(&mut self, host: &str) -> Result<(String, File), String> {
        let name = format!(
            "{PREFIX}{}-{}-{}",
            std::process::id(),
            self.run,
            sanitize(host)
        );
        register(&name);
        self.names.push(name.clone());
        prepare_dir()?;
        let path = path_of(&name);
        File::create(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        let target = path.clone();
        let parent = match &self.parent {
            Some(p) => p.try_clone().map_err(|e| e.to_string()),
            None => parent().and_then(|p| {
                let copy = p.try_clone();
                self.parent = Some(p);
                copy.map_err(|e| e.to_string())
            }),
        }
        .map_err(|e| format!("cannot prepare the parent namespace: {e}"))?;
        let made = std::thread::spawn(move || -> Result<(), String> {
            enter(&parent)?;
            unshare(CloneFlags::CLONE_NEWNET)
                .map_err(|e| format!("unshare(CLONE_NEWNET) failed: {e}"))?;
            mount(
                Some("/proc/thread-self/ns/net"),
                &target,
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .map_err(|e| {
                format!(
                    "cannot bind-mount the namespace on {}: {e}",
                    target.display()
                )
            })
        })
        .join()
        .map_err(|_| "the namespace thread panicked".to_string())?;
        made?;
        let handle =
            File::open(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        Ok((name, handle))
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }
}

impl Default for Namespaces {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for name in self.names.drain(..) {
            remove(&name);
        }
    }
}

/// An unnamed namespace, alive while its handle is, whose
/// `net.ipv4.tcp_child_ehash_entries` gives every namespace created from it a small hash
/// table of its own. Otherwise they would share the root namespace's (262,144 buckets
/// here), which every sock_diag dump walks whole: 4 ms a dump instead of microseconds.
/// The root namespace's own setting is never touched.
fn parent() -> Result<File, String> {
    std::thread::spawn(|| -> Result<File, String> {
        unshare(CloneFlags::CLONE_NEWNET)
            .map_err(|e| format!("unshare(CLONE_NEWNET) failed: {e}"))?;
        std::fs::write(
            "/proc/sys/net/ipv4/tcp_child_ehash_entries",
            CHILD_EHASH_ENTRIES,
        )
        .map_err(|e| format!("cannot set tcp_child_ehash_entries: {e}"))?;
        File::open("/proc/thread-self/ns/net")
            .map_err(|e| format!("cannot open the namespace: {e}"))
    })
    .join()
    .map_err(|_| "the namespace thread panicked".to_string())?
}

/// Moves the calling thread into the namespace `ns` (a handle from [`Namespaces::create`]).
pub fn enter(ns: &File) -> Result<(), String> {
    setns(ns, CloneFlags::CLONE_NEWNET).map_err(|e| format!("setns into a namespace failed: {e}"))
}

/// Runs `f` on a new thread inside `ns` and returns what it returns.
pub fn inside<T: Send + 'static>(
    ns: &File,
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    let ns = ns
        .try_clone()
        .map_err(|e| format!("cannot duplicate a namespace handle: {e}"))?;
    std::thread::spawn(move || {
        enter(&ns)?;
        f()
    })
    .join()
    .map_err(|_| "a thread inside a namespace panicked".to_string())?
}

fn path_of(name: &str) -> PathBuf {
    Path::new(NETNS_DIR).join(name)
}

/// Host names may hold any character but ':' and '*'; a file name gets a tame version.
fn sanitize(host: &str) -> String {
    let s: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(32)
        .collect();
    if s.is_empty() { "host".into() } else { s }
}

fn register(name: &str) {
    if let Ok(mut live) = LIVE.lock() {
        live.push(name.to_string());
    }
}

/// Unmounts and deletes a name (errors ignored: it may never have been fully made).
fn remove(name: &str) {
    let path = path_of(name);
    let _ = umount2(&path, MntFlags::MNT_DETACH);
    let _ = std::fs::remove_file(&path);
    if let Ok(mut live) = LIVE.lock() {
        live.retain(|n| n != name);
    }
}

/// Serializes [`prepare_dir`] between tcpsim processes (a file lock under /run).
const DIR_LOCK: &str = "/run/tcpsim-netns.lock";

/// `/run/netns` as `ip netns add` leaves it: a directory that is a shared mount point, so
/// a name unmounted here is unmounted in every mount namespace that sees it. Runs that
/// start together (the suite starts eight) take a lock first: two of them binding the
/// directory onto itself at once would stack two mounts, and the names made under the
/// lower one would vanish from view but stay mounted.
fn prepare_dir() -> Result<(), String> {
    let lock = File::create(DIR_LOCK).map_err(|e| format!("cannot create {DIR_LOCK}: {e}"))?;
    // SAFETY: flock on a descriptor we own; released when `lock` is closed below.
    if unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&lock), libc::LOCK_EX) } != 0 {
        return Err(format!(
            "cannot lock {DIR_LOCK}: {}",
            std::io::Error::last_os_error()
        ));
    }
    std::fs::create_dir_all(NETNS_DIR).map_err(|e| format!("cannot create {NETNS_DIR}: {e}"))?;
    let shared = MsFlags::MS_SHARED | MsFlags::MS_REC;
    if mount(None::<&str>, NETNS_DIR, None::<&str>, shared, None::<&str>).is_ok() {
        return Ok(());
    }
    // Not a mount point yet: bind it onto itself first, as iproute2 does.
    let bind = MsFlags::MS_BIND | MsFlags::MS_REC;
    let made = mount(Some(NETNS_DIR), NETNS_DIR, None::<&str>, bind, None::<&str>)
        .and_then(|_| mount(None::<&str>, NETNS_DIR, None::<&str>, shared, None::<&str>))
        .map_err(|e| format!("cannot make {NETNS_DIR} a shared mount: {e}"));
    drop(lock);
    made
}

/// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread (and so in every thread it
/// starts afterwards) and, once per process, starts a thread that waits for them: it
/// removes every registered namespace, says so on stderr and exits with 128 + the signal.
/// Call before starting any other thread of the run.
pub fn install_signal_cleanup() -> Result<(), String> {
    static STARTED: std::sync::Once = std::sync::Once::new();
    let mut set = SigSet::empty();
    for s in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        set.add(s);
    }
    set.thread_block()
        .map_err(|e| format!("cannot block signals: {e}"))?;
    STARTED.call_once(|| {
        std::thread::spawn(move || {
            let Ok(signal) = set.wait() else { return };
            let names: Vec<String> = LIVE.lock().map(|l| l.clone()).unwrap_or_default();
            for name in &names {
                remove(name);
            }
            eprintln!(
                "tcpsim: interrupted by {signal}: removed {} network namespace(s)",
                names.len()
            );
            std::process::exit(128 + signal as i32);
        });
    });
    Ok(())
}

/// Removes names left by tcpsim runs that were killed outright (their pid no longer
/// exists); returns how many. Names of live processes are never touched.
pub fn remove_stale() -> usize {
    let Ok(dir) = std::fs::read_dir(NETNS_DIR) else {
        return 0;
    };
    let mut removed = 0;
    for entry in dir.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            remove(&name);
            removed += 1;
        }
    }
    removed
}

/// The names under `/run/netns` that belong to process `pid` (for tests and checks).
pub fn names_of(pid: u32) -> Vec<String> {
    let prefix = format!("{PREFIX}{pid}-");
    std::fs::read_dir(NETNS_DIR)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(&prefix))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::sanitize;

    #[test]
    fn names_are_tame() {
        assert_eq!(sanitize("client"), "client");
        assert_eq!(sanitize("a b/c"), "a_b_c");
        assert_eq!(sanitize(""), "host");
        assert_eq!(sanitize(&"x".repeat(100)).len(), 32);
    }
}
