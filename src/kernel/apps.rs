//! The scenario's applications on real sockets: one thread per `[[server]]` and per
//! `[[client]]`, each entering its host's namespace with `setns` before it opens a socket.
//!
//! Sockets are non-blocking and each thread runs a small poll loop, so a client keeps
//! reading while it sends or waits (as the simulator's applications do) and timed work
//! (a `wait`, a paced read, an `at DUR:` step) wakes it on time. What to do next is
//! decided by `script.rs` and carried out by `conn.rs`; every call is reported, stamped
//! just before it is made, to the wire loop (which then dumps the namespace's sockets).

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, ppoll};
use nix::sys::socket::{
    AddressFamily, Backlog, SockFlag, SockType, SockaddrIn, accept4, bind, connect, getpeername,
    getsockname, listen, socket,
};
use nix::sys::time::TimeSpec;

use super::Clock;
use super::conn::{Conn, Role};
use super::netns;
use super::script::{ClientScript, ServerScript, Timeline};
use super::settings::SockOpts;
use crate::scenario::model::{Client, Server};
use crate::tcp::Endpoint;
use crate::trace::AppEvent;

/// An application's report: what it did or was told, when (before the call) and when
/// the call returned.
#[derive(Debug, Clone, Copy)]
pub struct AppMsg {
    pub t: u64,
    pub done: u64,
    pub host: u32,
    pub tuple: Option<(Endpoint, Endpoint)>,
    pub what: AppEvent,
}

/// Where an application sends its reports; the byte on `wake` wakes the wire loop.
#[derive(Clone)]
pub struct Outbox {
    pub tx: Sender<AppMsg>,
    pub wake: Arc<UnixStream>,
    pub clock: Clock,
    /// Held for writing while the wire loop hands the kernel the packets due at one
    /// instant, and for reading while an application acts: as in the simulation
    /// (`app_after_softirq`), applications see a burst only once all of it went through
    /// the stack (each TUN write runs the receive softirq before it returns), instead of
    /// racing it on another CPU.
    pub softirq: Arc<RwLock<()>>,
}

impl Outbox {
    /// Waits for the wire loop to finish the burst it is writing, and keeps the next
    /// one out until the guard goes.
    fn act(&self) -> RwLockReadGuard<'_, ()> {
        self.softirq.read().unwrap_or_else(|e| e.into_inner())
    }
}

/// What every application thread of a host shares.
#[derive(Clone)]
pub struct Host {
    pub ns: Arc<File>,
    pub node: u32,
    pub addr: u32,
    pub opts: SockOpts,
}

/// The running applications: a stop flag, a busy flag each, and their threads.
pub struct Apps {
    stop: Arc<AtomicBool>,
    busy: Vec<Arc<AtomicBool>>,
    threads: Vec<JoinHandle<()>>,
}

impl Apps {
    pub fn new() -> Self {
        Apps {
            stop: Arc::new(AtomicBool::new(false)),
            busy: Vec::new(),
            threads: Vec::new(),
        }
    }

    /// Some application has work scheduled (a start, a wait, a paced read, bytes to
    /// send, a timed step to come).
    pub fn busy(&self) -> bool {
        self.busy.iter().any(|b| b.load(Ordering::Relaxed))
    }

    /// Starts a server and returns once it listens (or could not).
    pub fn start_server(&mut self, host: Host, s: Server, out: Outbox) -> Result<(), String> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let ctx = self.context(host, out);
        self.threads.push(std::thread::spawn(move || {
            let listener = netns::enter(&ctx.host.ns).and_then(|_| ctx.listen(&s));
            match listener {
                Ok(fd) => {
                    let _ = ready_tx.send(Ok(()));
                    ctx.serve(&fd, &s);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            }
        }));
        ready_rx
            .recv()
            .map_err(|_| "a server thread died before listening".to_string())?
    }

    /// Starts a client that connects at `start` (ns since the run's start).
    pub fn start_client(
        &mut self,
        host: Host,
        c: Client,
        start: u64,
        remote: Endpoint,
        out: Outbox,
    ) {
        let ctx = self.context(host, out);
        ctx.busy.store(true, Ordering::Relaxed);
        self.threads.push(std::thread::spawn(move || {
            if netns::enter(&ctx.host.ns).is_ok() {
                ctx.client(&c, start, remote);
            }
            ctx.busy.store(false, Ordering::Relaxed);
        }));
    }

    fn context(&mut self, host: Host, out: Outbox) -> Ctx {
        let busy = Arc::new(AtomicBool::new(false));
        self.busy.push(busy.clone());
        Ctx {
            host,
            out,
            stop: self.stop.clone(),
            busy,
        }
    }

    /// Stops every application (their sockets are reset, not closed gracefully: the run
    /// is over) and waits for the threads.
    pub fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            let _ = t.join();
        }
    }
}

impl Default for Apps {
    fn default() -> Self {
        Self::new()
    }
}

/// One application thread's view.
pub struct Ctx {
    host: Host,
    out: Outbox,
    stop: Arc<AtomicBool>,
    busy: Arc<AtomicBool>,
}

fn sockaddr(e: Endpoint) -> SockaddrIn {
    let [a, b, c, d] = e.addr.to_be_bytes();
    SockaddrIn::new(a, b, c, d, e.port)
}

fn endpoint(a: SockaddrIn) -> Endpoint {
    Endpoint {
        addr: a.ip().into(),
        port: a.port(),
    }
}

/// setsockopt with an int value.
fn set_int(fd: &OwnedFd, level: i32, name: i32, value: i32) -> Result<(), String> {
    // SAFETY: the option value is a live i32 of the size passed.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&value as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(format!(
            "setsockopt({name}): {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// The host's socket options, set before listen() or connect().
fn apply_opts(fd: &OwnedFd, o: &SockOpts) -> Result<(), String> {
    let clamp = |v: u32| v.min(i32::MAX as u32) as i32;
    if let Some(mss) = o.mss {
        set_int(fd, libc::IPPROTO_TCP, libc::TCP_MAXSEG, i32::from(mss))?;
    }
    if let Some(nodelay) = o.nodelay {
        set_int(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, i32::from(nodelay))?;
    }
    if let Some(n) = o.rcvbuf {
        set_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, clamp(n))?;
    }
    if let Some(c) = o.window_clamp {
        set_int(fd, libc::IPPROTO_TCP, libc::TCP_WINDOW_CLAMP, clamp(c))?;
    }
    if let Some(name) = o.congestion {
        set_congestion(fd, name)?;
    }
    Ok(())
}

/// TCP_CONGESTION, whose value is the algorithm's name.
fn set_congestion(fd: &OwnedFd, name: &str) -> Result<(), String> {
    // SAFETY: the option value is a live byte string of the length passed.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_CONGESTION,
            name.as_ptr().cast(),
            name.len() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(format!(
            "setsockopt(TCP_CONGESTION, {name}): {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

fn tcp_socket() -> Result<OwnedFd, Errno> {
    socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        None,
    )
}

/// Waits until one of `fds` is ready or `until` (at most 20 ms, to see the stop flag);
/// returns what each reported.
fn wait(fds: &[(&OwnedFd, PollFlags)], now: u64, until: Option<u64>) -> Vec<PollFlags> {
    let ns = until.map_or(20_000_000, |t| t.saturating_sub(now).min(20_000_000));
    let timeout = TimeSpec::from(Duration::from_nanos(ns));
    let mut polled: Vec<PollFd> = (fds.iter())
        .map(|(fd, f)| PollFd::new(fd.as_fd(), *f))
        .collect();
    let _ = ppoll(&mut polled, Some(timeout), None);
    polled
        .iter()
        .map(|p| p.revents().unwrap_or(PollFlags::empty()))
        .collect()
}

impl Ctx {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// ns since the run's start.
    pub fn now(&self) -> u64 {
        self.out.clock.now()
    }

    /// Reports an application event stamped `t`, and wakes the wire loop.
    pub fn report(&self, t: u64, tuple: Option<(Endpoint, Endpoint)>, what: AppEvent) {
        let done = self.now();
        let host = self.host.node;
        let _ = self.out.tx.send(AppMsg {
            t,
            done,
            host,
            tuple,
            what,
        });
        let _ = (&*self.out.wake).write(&[0]);
    }

    /// socket, options, bind, listen; reports the listen at time 0 (the clock starts
    /// once every server listens).
    fn listen(&self, s: &Server) -> Result<OwnedFd, String> {
        let ep = Endpoint {
            addr: self.host.addr,
            port: s.port,
        };
        let fail = |e: Errno| format!("server on port {}: {e}", s.port);
        let fd = tcp_socket().map_err(fail)?;
        set_int(&fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
        apply_opts(&fd, &self.host.opts)?;
        bind(fd.as_raw_fd(), &sockaddr(ep)).map_err(fail)?;
        let backlog = Backlog::new(s.backlog.min(i32::MAX as u32) as i32).map_err(fail)?;
        listen(&fd, backlog).map_err(fail)?;
        self.report(0, None, AppEvent::Listen { port: s.port });
        Ok(fd)
    }

    /// Accepts and serves connections until the run stops.
    fn serve(&self, listener: &OwnedFd, s: &Server) {
        let mut conns: Vec<Conn> = Vec::new();
        while !self.stopped() {
            let now = self.now();
            let mut fds = vec![(listener, PollFlags::POLLIN)];
            let open: Vec<usize> = (0..conns.len())
                .filter(|&i| conns[i].fd().is_some())
                .collect();
            fds.extend(
                open.iter()
                    .filter_map(|&i| conns[i].fd().map(|fd| (fd, conns[i].interest()))),
            );
            let next = conns.iter().filter_map(Conn::next_timer).min();
            let revents = wait(&fds, now, next);
            let _acting = self.out.act();
            if revents[0].contains(PollFlags::POLLIN) {
                self.accept_all(listener, s, &mut conns);
            }
            let mut ready = vec![PollFlags::empty(); conns.len()];
            for (&i, r) in open.iter().zip(revents.iter().skip(1)) {
                ready[i] = *r;
            }
            for (c, r) in conns.iter_mut().zip(ready) {
                c.service(self, r);
            }
            conns.retain(|c| !c.finished());
            self.busy
                .store(conns.iter().any(Conn::busy), Ordering::Relaxed);
        }
        for mut c in conns {
            c.reset();
        }
    }

    /// Every connection waiting on the listener; its timed steps count from now.
    fn accept_all(&self, listener: &OwnedFd, s: &Server, conns: &mut Vec<Conn>) {
        let flags = SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC;
        while let Ok(fd) = accept4(listener, flags) {
            let raw = fd.as_raw_fd();
            let (Ok(local), Ok(remote)) = (
                getsockname::<SockaddrIn>(raw),
                getpeername::<SockaddrIn>(raw),
            ) else {
                continue;
            };
            let tuple = (endpoint(local), endpoint(remote));
            if let Some(nodelay) = self.host.opts.nodelay {
                let _ = set_int(
                    &fd,
                    libc::IPPROTO_TCP,
                    libc::TCP_NODELAY,
                    i32::from(nodelay),
                );
            }
            let now = self.now();
            self.report(now, Some(tuple), AppEvent::Accept);
            let role = Role::Server(ServerScript::new(s));
            conns.push(Conn::new(
                fd,
                tuple,
                role,
                Timeline::new(now, &s.actions),
                false,
            ));
        }
    }

    /// A client: waits for its start, connects, runs its steps until its socket is gone
    /// and no timed step is left (or the run stops).
    fn client(&self, c: &Client, start: u64, remote: Endpoint) {
        loop {
            let now = self.now();
            if self.stopped() {
                return;
            }
            if now >= start {
                break;
            }
            wait(&[], now, Some(start));
        }
        let mut conn = self.connect(c, remote);
        while !self.stopped() && !conn.finished() {
            let now = self.now();
            let interest = conn.interest();
            let revents = match conn.fd() {
                Some(fd) => wait(&[(fd, interest)], now, conn.next_timer()),
                None => wait(&[], now, conn.next_timer()),
            };
            let _acting = self.out.act();
            conn.service(self, revents.first().copied().unwrap_or(PollFlags::empty()));
            self.busy.store(conn.busy(), Ordering::Relaxed);
        }
        conn.reset();
    }

    /// Opens the client's socket and starts connecting; reports the connect (or that it
    /// could not be made). Its timed steps count from the connect.
    fn connect(&self, c: &Client, remote: Endpoint) -> Conn {
        let t = self.now();
        let script = || Role::Client(ClientScript::new(c.actions.to_vec()));
        let unavailable = AppEvent::PortUnavailable {
            port: c.local_port.unwrap_or(0),
        };
        match self.open_socket(c, remote) {
            Ok(fd) => {
                let local = getsockname::<SockaddrIn>(fd.as_raw_fd()).map(endpoint);
                let tuple = (local.unwrap_or_default(), remote);
                self.report(t, Some(tuple), AppEvent::Connect);
                Conn::new(fd, tuple, script(), Timeline::new(t, &c.timed), true)
            }
            Err(_) => {
                self.report(t, None, unavailable);
                Conn::unopened(script(), Timeline::new(t, &c.timed))
            }
        }
    }

    /// socket, options, bind (a fixed local port, with SO_REUSEADDR as a TIME_WAIT may
    /// hold it), non-blocking connect.
    fn open_socket(&self, c: &Client, remote: Endpoint) -> Result<OwnedFd, String> {
        let fd = tcp_socket().map_err(|e| e.to_string())?;
        apply_opts(&fd, &self.host.opts)?;
        if let Some(port) = c.local_port {
            set_int(&fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
            let local = Endpoint {
                addr: self.host.addr,
                port,
            };
            bind(fd.as_raw_fd(), &sockaddr(local)).map_err(|e| e.to_string())?;
        }
        match connect(fd.as_raw_fd(), &sockaddr(remote)) {
            Ok(()) | Err(Errno::EINPROGRESS) => Ok(fd),
            Err(e) => Err(e.to_string()),
        }
    }
}
