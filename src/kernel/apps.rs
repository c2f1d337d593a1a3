//! The scenario's applications on real sockets: one thread per `[[server]]` and per
//! `[[client]]`, each entering its host's namespace with `setns` before it opens a socket.
//!
//! Sockets are non-blocking and each thread runs a small poll loop, so a client keeps
//! reading while it sends or waits (as the simulator's applications do) and timed work
//! (a `wait`, a paced read) wakes it on time. What to do next is decided by `script.rs`;
//! this module only carries it out and reports every call as an [`AppEvent`], stamped
//! just before the call, to the wire loop (which then dumps the namespace's sockets).

use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;
use std::time::Duration;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, ppoll};
use nix::sys::socket::{
    AddressFamily, Backlog, Shutdown, SockFlag, SockType, SockaddrIn, accept4, bind, connect,
    getpeername, getsockname, listen, shutdown, socket,
};
use nix::sys::time::TimeSpec;

use super::Clock;
use super::netns;
use super::script::{ClientScript, Op, ServerScript};
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
}

impl Outbox {
    fn report(&self, t: u64, host: u32, tuple: Option<(Endpoint, Endpoint)>, what: AppEvent) {
        let done = self.clock.now();
        let _ = self.tx.send(AppMsg {
            t,
            done,
            host,
            tuple,
            what,
        });
        let _ = (&*self.wake).write(&[0]);
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

    /// Some application has work scheduled (a start, a wait, a paced read, bytes to send).
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
struct Ctx {
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
    if let Some(mss) = o.mss {
        set_int(fd, libc::IPPROTO_TCP, libc::TCP_MAXSEG, i32::from(mss))?;
    }
    if let Some(nodelay) = o.nodelay {
        set_int(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, i32::from(nodelay))?;
    }
    if let Some(n) = o.rcvbuf {
        set_int(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            n.min(i32::MAX as u32) as i32,
        )?;
    }
    if let Some(clamp) = o.window_clamp {
        set_int(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_WINDOW_CLAMP,
            clamp.min(i32::MAX as u32) as i32,
        )?;
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

/// Waits for `fd` (or only for time to pass, with no flags) until `until` or 20 ms.
fn wait(fd: Option<(&OwnedFd, PollFlags)>, now: u64, until: Option<u64>) -> PollFlags {
    let ns = until.map_or(20_000_000, |t| t.saturating_sub(now).min(20_000_000));
    let timeout = TimeSpec::from(Duration::from_nanos(ns));
    match fd {
        Some((fd, flags)) => {
            let mut fds = [PollFd::new(fd.as_fd(), flags)];
            let _ = ppoll(&mut fds, Some(timeout), None);
            fds[0].revents().unwrap_or(PollFlags::empty())
        }
        None => {
            let _ = ppoll(&mut [], Some(timeout), None);
            PollFlags::empty()
        }
    }
}

impl Ctx {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn report(&self, t: u64, tuple: Option<(Endpoint, Endpoint)>, what: AppEvent) {
        self.out.report(t, self.host.node, tuple, what);
    }

    /// socket, options, bind, listen; reports the listen.
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
        self.report(
            self.out.clock.now(),
            None,
            AppEvent::Listen { port: s.port },
        );
        Ok(fd)
    }

    /// Accepts and serves connections until the run stops.
    fn serve(&self, listener: &OwnedFd, s: &Server) {
        let mut conns: Vec<Conn> = Vec::new();
        while !self.stopped() {
            let now = self.out.clock.now();
            let mut fds = vec![PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
            for c in &conns {
                if let Some(fd) = &c.fd {
                    fds.push(PollFd::new(fd.as_fd(), c.interest()));
                }
            }
            let next = conns.iter().filter_map(Conn::next_timer).min();
            let ns = next.map_or(20_000_000, |t| t.saturating_sub(now).min(20_000_000));
            let _ = ppoll(
                &mut fds,
                Some(TimeSpec::from(Duration::from_nanos(ns))),
                None,
            );
            let revents: Vec<PollFlags> = (fds.iter())
                .map(|f| f.revents().unwrap_or(PollFlags::empty()))
                .collect();
            drop(fds);
            if revents[0].contains(PollFlags::POLLIN) {
                self.accept_all(listener, s, &mut conns);
            }
            for (c, r) in conns.iter_mut().zip(revents.iter().skip(1)) {
                c.service(self, *r);
            }
            conns.retain(|c| !c.closed);
            self.busy
                .store(conns.iter().any(Conn::busy), Ordering::Relaxed);
        }
        for mut c in conns {
            c.reset();
        }
    }

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
            self.report(self.out.clock.now(), Some(tuple), AppEvent::Accept);
            conns.push(Conn::new(fd, tuple, Role::Server(ServerScript::new(s))));
        }
    }

    /// A client: waits for its start, connects, runs its script.
    fn client(&self, c: &Client, start: u64, remote: Endpoint) {
        loop {
            let now = self.out.clock.now();
            if self.stopped() {
                return;
            }
            if now >= start {
                break;
            }
            wait(None, now, Some(start));
        }
        let Some(mut conn) = self.connect(c, remote) else {
            return;
        };
        self.busy.store(false, Ordering::Relaxed);
        conn.service(self, PollFlags::empty());
        while !self.stopped() && !conn.closed {
            let now = self.out.clock.now();
            let r = match &conn.fd {
                Some(fd) => wait(Some((fd, conn.interest())), now, conn.next_timer()),
                None => break,
            };
            conn.service(self, r);
            self.busy.store(conn.busy(), Ordering::Relaxed);
        }
        conn.reset();
    }

    /// Opens the client's socket and connects; reports the connect and how it ended.
    fn connect(&self, c: &Client, remote: Endpoint) -> Option<Conn> {
        let port = c.local_port.unwrap_or(0);
        let unavailable = AppEvent::PortUnavailable { port };
        let fd = tcp_socket().ok()?;
        apply_opts(&fd, &self.host.opts).ok()?;
        if let Some(p) = c.local_port {
            let _ = set_int(&fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1);
            let local = Endpoint {
                addr: self.host.addr,
                port: p,
            };
            if bind(fd.as_raw_fd(), &sockaddr(local)).is_err() {
                self.report(self.out.clock.now(), None, unavailable);
                return None;
            }
        }
        let t = self.out.clock.now();
        match connect(fd.as_raw_fd(), &sockaddr(remote)) {
            Ok(()) | Err(Errno::EINPROGRESS) => {}
            Err(_) => {
                self.report(t, None, unavailable);
                return None;
            }
        }
        let local = endpoint(getsockname::<SockaddrIn>(fd.as_raw_fd()).ok()?);
        let tuple = (local, remote);
        self.report(t, Some(tuple), AppEvent::Connect);
        self.established(fd, tuple, c)
    }

    /// Waits for the handshake to end; a refused or timed-out connect is reported.
    fn established(&self, fd: OwnedFd, tuple: (Endpoint, Endpoint), c: &Client) -> Option<Conn> {
        loop {
            if self.stopped() {
                return None;
            }
            let now = self.out.clock.now();
            let r = wait(Some((&fd, PollFlags::POLLOUT)), now, None);
            if r.is_empty() {
                continue;
            }
            let err = nix::sys::socket::getsockopt(&fd, nix::sys::socket::sockopt::SocketError)
                .unwrap_or(0);
            if err == 0 {
                return Some(Conn::new(
                    fd,
                    tuple,
                    Role::Client(ClientScript::new(c.actions.clone())),
                ));
            }
            self.report(
                self.out.clock.now(),
                Some(tuple),
                error_event(Errno::from_raw(err)),
            );
            return None;
        }
    }
}

/// The application event for a socket error.
fn error_event(e: Errno) -> AppEvent {
    match e {
        Errno::ECONNREFUSED => AppEvent::Refused,
        Errno::ETIMEDOUT => AppEvent::TimedOut,
        _ => AppEvent::Reset,
    }
}

enum Role {
    Client(ClientScript),
    Server(ServerScript),
}

/// One connection's socket and what its application has asked of it so far.
struct Conn {
    /// None once closed.
    fd: Option<OwnedFd>,
    /// When it was last serviced (a paced reader looks for new bytes every 2 ms).
    serviced: u64,
    tuple: (Endpoint, Endpoint),
    role: Role,
    /// The application's sends the socket has not taken yet, one entry per `send`
    /// (each is its own write(2) calls, so Nagle and TCP_NODELAY see the real pattern).
    pending: VecDeque<u64>,
    /// Shutdown/close waiting for `pending` to drain (they must follow the data).
    deferred: Vec<Op>,
    received: u64,
    eof: bool,
    /// A paced reader with unread bytes: the next read is due then.
    next_read: Option<u64>,
    /// Bytes known to have arrived and not yet read (paced readers).
    unread: u64,
    shut: bool,
    closed: bool,
}

/// Zeros to send; what the bytes are does not matter to TCP.
static ZEROS: [u8; 65536] = [0; 65536];

impl Conn {
    fn new(fd: OwnedFd, tuple: (Endpoint, Endpoint), role: Role) -> Self {
        Conn {
            fd: Some(fd),
            serviced: 0,
            tuple,
            role,
            pending: VecDeque::new(),
            deferred: Vec::new(),
            received: 0,
            eof: false,
            next_read: None,
            unread: 0,
            shut: false,
            closed: false,
        }
    }

    fn pace(&self) -> Option<(u64, u64)> {
        match &self.role {
            Role::Server(s) => s.pace,
            Role::Client(_) => None,
        }
    }

    /// The poll events this connection waits for.
    fn interest(&self) -> PollFlags {
        let mut f = PollFlags::empty();
        // A paced reader with unread bytes waits for its timer, not for readability.
        if !self.eof && self.next_read.is_none() {
            f |= PollFlags::POLLIN;
        }
        if !self.pending.is_empty() {
            f |= PollFlags::POLLOUT;
        }
        f
    }

    fn next_timer(&self) -> Option<u64> {
        let wake = match &self.role {
            Role::Client(s) => s.wake_at(),
            Role::Server(_) => None,
        };
        // A paced reader also looks for new arrivals every 2 ms while it holds unread data.
        let paced = self.next_read.map(|t| t.min(self.serviced + 2_000_000));
        [wake, paced].into_iter().flatten().min()
    }

    fn read_into(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        match &self.fd {
            Some(fd) => nix::unistd::read(fd, buf),
            None => Err(Errno::EBADF),
        }
    }

    fn raw(&self) -> i32 {
        self.fd.as_ref().map_or(-1, |f| f.as_raw_fd())
    }

    /// Has work of its own scheduled.
    fn busy(&self) -> bool {
        let waiting = matches!(&self.role, Role::Client(s) if s.wake_at().is_some());
        !self.pending.is_empty() || !self.deferred.is_empty() || self.next_read.is_some() || waiting
    }

    /// Reacts to the socket (`r`: what poll reported) and to the time.
    fn service(&mut self, ctx: &Ctx, r: PollFlags) {
        if self.closed {
            return;
        }
        let now = ctx.out.clock.now();
        self.serviced = now;
        let mut ops = Vec::new();
        if self.pace().is_some() {
            self.paced(ctx, r, now, &mut ops);
        } else if r.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR) {
            self.read_all(ctx, &mut ops);
        }
        if let Role::Client(s) = &mut self.role {
            s.advance(now, self.received, self.eof, &mut ops);
        }
        for op in ops {
            self.run(ctx, op);
        }
        if !self.pending.is_empty() {
            self.flush(ctx);
        }
    }

    /// Reads whatever is there (a server reacts to each read); EOF and errors are reported.
    fn read_all(&mut self, ctx: &Ctx, ops: &mut Vec<Op>) {
        let mut buf = [0u8; 65536];
        while !self.closed && !self.eof {
            let t = ctx.out.clock.now();
            match self.read_into(&mut buf) {
                Ok(0) => {
                    self.eof = true;
                    ctx.report(t, Some(self.tuple), AppEvent::Eof);
                    if let Role::Server(s) = &mut self.role {
                        s.on_eof(ops);
                    }
                }
                Ok(n) => {
                    self.received += n as u64;
                    ctx.report(t, Some(self.tuple), AppEvent::Receive { bytes: n as u32 });
                    if let Role::Server(s) = &mut self.role {
                        s.on_data(n as u64, ops);
                    }
                }
                Err(Errno::EAGAIN) => return,
                Err(e) => return self.failed(ctx, e),
            }
        }
    }

    /// A slow reader: new bytes count as arrived at once (echo, reply), but are read only
    /// N at a time every DUR; the peer's FIN is seen once everything before it was read.
    fn paced(&mut self, ctx: &Ctx, r: PollFlags, now: u64, ops: &mut Vec<Op>) {
        let Some((n, every)) = self.pace() else {
            return;
        };
        let inq = self.inq();
        if inq > self.unread {
            if let Role::Server(s) = &mut self.role {
                s.on_data(inq - self.unread, ops);
            }
            self.unread = inq;
            self.next_read.get_or_insert(now + every);
        }
        if self.next_read.is_some_and(|t| now >= t) {
            let mut buf = vec![0u8; n.min(1 << 20) as usize];
            let t = ctx.out.clock.now();
            let got = self.read_into(&mut buf).unwrap_or(0) as u64;
            self.unread = self.unread.saturating_sub(got);
            ctx.report(t, Some(self.tuple), AppEvent::Read { bytes: got });
            self.received += got;
            self.next_read = (self.inq() > 0).then_some(now + every);
        } else if self.next_read.is_none() && inq == 0 && r.contains(PollFlags::POLLIN) {
            self.read_all(ctx, ops);
        }
    }

    /// Unread bytes in the receive queue (FIONREAD).
    fn inq(&self) -> u64 {
        let mut n: libc::c_int = 0;
        // SAFETY: FIONREAD writes one int through the pointer.
        let rc = unsafe { libc::ioctl(self.raw(), libc::FIONREAD, &mut n) };
        if rc < 0 { 0 } else { n.max(0) as u64 }
    }

    fn run(&mut self, ctx: &Ctx, op: Op) {
        match op {
            Op::Send(n) => {
                ctx.report(
                    ctx.out.clock.now(),
                    Some(self.tuple),
                    AppEvent::Send { bytes: n },
                );
                self.pending.push_back(n);
            }
            Op::Shutdown | Op::Close if !self.pending.is_empty() => self.deferred.push(op),
            Op::Shutdown => {
                ctx.report(ctx.out.clock.now(), Some(self.tuple), AppEvent::Shutdown);
                if !self.shut {
                    let _ = shutdown(self.raw(), Shutdown::Write);
                    self.shut = true;
                }
            }
            Op::Close => {
                // Like the simulator's applications, read what has arrived before closing
                // (Linux resets a connection closed with unread data).
                if self.pace().is_none() && !self.eof {
                    self.read_all(ctx, &mut Vec::new());
                }
                ctx.report(ctx.out.clock.now(), Some(self.tuple), AppEvent::Close);
                self.close();
            }
            Op::Abort => {
                ctx.report(ctx.out.clock.now(), Some(self.tuple), AppEvent::Abort);
                self.pending.clear();
                self.reset();
            }
        }
    }

    /// Writes pending bytes while the socket takes them; then the deferred calls.
    fn flush(&mut self, ctx: &Ctx) {
        while let Some(&left) = self.pending.front() {
            let n = left.min(ZEROS.len() as u64) as usize;
            let Some(fd) = self.fd.as_ref().filter(|_| !self.closed) else {
                return;
            };
            match nix::unistd::write(fd, &ZEROS[..n]) {
                Ok(k) if k as u64 >= left => {
                    self.pending.pop_front();
                }
                Ok(k) => {
                    if let Some(front) = self.pending.front_mut() {
                        *front -= k as u64;
                    }
                }
                Err(Errno::EAGAIN) => return,
                Err(e) => return self.failed(ctx, e),
            }
        }
        for op in std::mem::take(&mut self.deferred) {
            self.run(ctx, op);
        }
    }

    fn failed(&mut self, ctx: &Ctx, e: Errno) {
        let err = (self.fd.as_ref())
            .and_then(|fd| {
                nix::sys::socket::getsockopt(fd, nix::sys::socket::sockopt::SocketError).ok()
            })
            .filter(|&v| v != 0)
            .map_or(e, Errno::from_raw);
        ctx.report(ctx.out.clock.now(), Some(self.tuple), error_event(err));
        self.pending.clear();
        self.close();
    }

    /// close(2): dropping the descriptor.
    fn close(&mut self) {
        self.closed = true;
        self.fd = None;
    }

    /// SO_LINGER 0, then close: an RST, no orphaned socket left behind.
    fn reset(&mut self) {
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        if self.fd.is_some() {
            // SAFETY: the option value is a live `linger` of the size passed.
            unsafe {
                libc::setsockopt(
                    self.raw(),
                    libc::SOL_SOCKET,
                    libc::SO_LINGER,
                    (&linger as *const libc::linger).cast(),
                    std::mem::size_of::<libc::linger>() as libc::socklen_t,
                );
            }
        }
        self.close();
    }
}
