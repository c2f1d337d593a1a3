//! One application connection on a real, non-blocking socket: reads as the scenario's
//! reader does, writes what the application sent, and carries out its calls (untimed
//! steps, server rules, timed steps), reporting each as an [`AppEvent`].
//!
//! A real socket differs from the simulator's TCB in one way that shows: close(2) gives
//! the descriptor up, so a timed call after `close` has nothing left to act on and is
//! reported skipped ("connection closing"), where the simulator would still reach the
//! TCB (an ABORT in FIN_WAIT_1 would send a RST there).

use std::collections::VecDeque;
use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;
use nix::poll::PollFlags;
use nix::sys::socket::{MsgFlags, Shutdown, recv, shutdown};

use super::apps::Ctx;
use super::observe;
use super::script::{ClientScript, ServerScript, Timeline};
use crate::scenario::model::{Call, ServerRead};
use crate::tcp::{Endpoint, State};
use crate::trace::{AppEvent, CallError};

/// Whose connection it is and the rules it follows.
pub enum Role {
    Client(ClientScript),
    Server(ServerScript),
}

/// Where the connection is, as its application knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// connect() in progress.
    Connecting,
    Open,
    /// No socket any more (or never one): why a call now fails.
    Gone(CallError),
}

/// Zeros to send; what the bytes are does not matter to TCP.
static ZEROS: [u8; 65536] = [0; 65536];

/// How often a paced or manual reader looks for newly arrived bytes while it holds some.
const ARRIVAL_CHECK_NS: u64 = 2_000_000;

pub struct Conn {
    fd: Option<OwnedFd>,
    /// (local, remote); None for a client whose connect never happened.
    tuple: Option<(Endpoint, Endpoint)>,
    role: Role,
    timeline: Timeline,
    phase: Phase,
    /// Sends the socket has not taken yet, one entry per call (each its own write(2)s,
    /// so Nagle and TCP_NODELAY see the application's real pattern).
    pending: VecDeque<u64>,
    /// Shutdown/close waiting for `pending` to drain (they must follow the data).
    deferred: Vec<Call>,
    received: u64,
    eof: bool,
    shut: bool,
    /// A paced reader's next read.
    next_read: Option<u64>,
    /// Bytes known to have arrived and not yet read (paced and manual readers).
    unread: u64,
    serviced: u64,
}

impl Conn {
    /// A connection whose socket exists (`connecting`: its connect() is in progress).
    pub fn new(
        fd: OwnedFd,
        tuple: (Endpoint, Endpoint),
        role: Role,
        timeline: Timeline,
        connecting: bool,
    ) -> Self {
        let mut c = Conn::unopened(role, timeline);
        c.fd = Some(fd);
        c.tuple = Some(tuple);
        c.phase = if connecting {
            Phase::Connecting
        } else {
            Phase::Open
        };
        c
    }

    /// A client that could not open a socket: only its timed steps remain (skipped).
    pub fn unopened(role: Role, timeline: Timeline) -> Self {
        Conn {
            fd: None,
            tuple: None,
            role,
            timeline,
            phase: Phase::Gone(CallError::NoConnection),
            pending: VecDeque::new(),
            deferred: Vec::new(),
            received: 0,
            eof: false,
            shut: false,
            next_read: None,
            unread: 0,
            serviced: 0,
        }
    }

    pub fn fd(&self) -> Option<&OwnedFd> {
        self.fd.as_ref()
    }

    /// Nothing left to do: no socket and no timed step to come.
    pub fn finished(&self) -> bool {
        self.fd.is_none() && self.timeline.is_empty()
    }

    fn read_mode(&self) -> ServerRead {
        match &self.role {
            Role::Server(s) => s.read,
            Role::Client(_) => ServerRead::AtOnce,
        }
    }

    /// The poll events this connection waits for.
    pub fn interest(&self) -> PollFlags {
        let mut f = PollFlags::empty();
        match self.phase {
            Phase::Connecting => return PollFlags::POLLOUT,
            Phase::Gone(_) => return f,
            Phase::Open => {}
        }
        let wants = match self.read_mode() {
            ServerRead::AtOnce => true,
            ServerRead::Paced { .. } => self.next_read.is_none() && self.unread == 0,
            ServerRead::Manual => self.unread == 0,
        };
        if !self.eof && wants {
            f |= PollFlags::POLLIN;
        }
        if !self.pending.is_empty() {
            f |= PollFlags::POLLOUT;
        }
        f
    }

    /// The next time this connection must act on its own.
    pub fn next_timer(&self) -> Option<u64> {
        let wake = match &self.role {
            Role::Client(s) => s.wake_at(),
            Role::Server(_) => None,
        };
        let check = (self.unread > 0 && !self.eof).then_some(self.serviced + ARRIVAL_CHECK_NS);
        [wake, self.next_read, check, self.timeline.next()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Has work of its own scheduled.
    pub fn busy(&self) -> bool {
        let waiting = matches!(&self.role, Role::Client(s) if s.wake_at().is_some());
        !self.pending.is_empty()
            || !self.deferred.is_empty()
            || self.next_read.is_some()
            || !self.timeline.is_empty()
            || waiting
    }

    /// Reacts to the socket (`r`: what poll reported) and to the time.
    pub fn service(&mut self, ctx: &Ctx, r: PollFlags) {
        let now = ctx.now();
        self.serviced = now;
        let any = PollFlags::POLLOUT | PollFlags::POLLERR | PollFlags::POLLHUP;
        if self.phase == Phase::Connecting && r.intersects(any) {
            self.connected(ctx);
        }
        let mut calls = Vec::new();
        if self.phase == Phase::Open {
            self.take_input(ctx, r, now, &mut calls);
        }
        if let (Role::Client(s), Phase::Open) = (&mut self.role, self.phase) {
            s.advance(now, self.received, self.eof, &mut calls);
        }
        for call in calls {
            self.call(ctx, call, false);
        }
        let mut timed = Vec::new();
        self.timeline.due(now, &mut timed);
        for call in timed {
            self.call(ctx, call, true);
        }
        if !self.pending.is_empty() {
            self.flush(ctx);
        }
    }

    /// The connect() ended: open, or refused / timed out.
    fn connected(&mut self, ctx: &Ctx) {
        let err = (self.fd.as_ref())
            .and_then(|fd| {
                nix::sys::socket::getsockopt(fd, nix::sys::socket::sockopt::SocketError).ok()
            })
            .unwrap_or(0);
        if err == 0 {
            self.phase = Phase::Open;
        } else {
            self.failed(ctx, Errno::from_raw(err));
        }
    }

    /// Reads as the application's reader does; new bytes go to the server's rules.
    fn take_input(&mut self, ctx: &Ctx, r: PollFlags, now: u64, calls: &mut Vec<Call>) {
        let readable = r.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR);
        match self.read_mode() {
            ServerRead::AtOnce if readable => self.read_all(ctx, calls),
            ServerRead::AtOnce => {}
            ServerRead::Paced { bytes, every } => {
                self.arrivals(calls);
                if self.unread > 0 && self.next_read.is_none() {
                    self.next_read = Some(now + every);
                }
                if self.next_read.is_some_and(|t| now >= t) {
                    self.read_some(ctx, Some(bytes), calls);
                    self.next_read = (self.unread > 0).then_some(now + every);
                }
                self.eof_check(ctx, readable, calls);
            }
            ServerRead::Manual => {
                self.arrivals(calls);
                self.eof_check(ctx, readable, calls);
            }
        }
    }

    /// Bytes that arrived since the last look (FIONREAD) count as delivered: the server
    /// echoes and replies on delivery, whatever it has read.
    fn arrivals(&mut self, calls: &mut Vec<Call>) {
        let inq = self.inq();
        if inq > self.unread {
            if let Role::Server(s) = &mut self.role {
                s.on_data(inq - self.unread, calls);
            }
            self.unread = inq;
        }
    }

    /// A reader that has read everything sees the peer's FIN (a peek, nothing consumed).
    fn eof_check(&mut self, ctx: &Ctx, readable: bool, calls: &mut Vec<Call>) {
        if !readable || self.unread > 0 || self.eof {
            return;
        }
        let Some(fd) = &self.fd else { return };
        let mut probe = [0u8; 1];
        let t = ctx.now();
        match recv(
            fd.as_raw_fd(),
            &mut probe,
            MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT,
        ) {
            Ok(0) => self.at_eof(ctx, t, calls),
            Ok(_) | Err(Errno::EAGAIN) => {}
            Err(e) => self.failed(ctx, e),
        }
    }

    fn at_eof(&mut self, ctx: &Ctx, t: u64, calls: &mut Vec<Call>) {
        self.eof = true;
        ctx.report(t, self.tuple, AppEvent::Eof);
        if let Role::Server(s) = &mut self.role {
            s.on_eof(calls);
        }
    }

    /// Reads whatever is there (a server reacts to each read); EOF and errors reported.
    fn read_all(&mut self, ctx: &Ctx, calls: &mut Vec<Call>) {
        let mut buf = [0u8; 65536];
        while !self.eof {
            let t = ctx.now();
            match self.read_into(&mut buf) {
                Ok(0) => self.at_eof(ctx, t, calls),
                Ok(n) => {
                    self.received += n as u64;
                    ctx.report(t, self.tuple, AppEvent::Receive { bytes: n as u32 });
                    if let Role::Server(s) = &mut self.role {
                        s.on_data(n as u64, calls);
                    }
                }
                Err(Errno::EAGAIN) => return,
                Err(e) => return self.failed(ctx, e),
            }
        }
    }

    /// One read(2) of at most `max` bytes (all there is when None), reported as a read;
    /// a reader that has now read everything before the FIN sees it.
    fn read_some(&mut self, ctx: &Ctx, max: Option<u64>, calls: &mut Vec<Call>) {
        let want = max.unwrap_or(self.unread.max(1)).clamp(1, 1 << 20) as usize;
        let mut buf = vec![0u8; want];
        let t = ctx.now();
        let got = self.read_into(&mut buf).unwrap_or(0) as u64;
        self.unread = self.unread.saturating_sub(got);
        self.received += got;
        ctx.report(t, self.tuple, AppEvent::Read { bytes: got });
        self.eof_check(ctx, true, calls);
    }

    fn read_into(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        match &self.fd {
            Some(fd) => nix::unistd::read(fd, buf),
            None => Err(Errno::EBADF),
        }
    }

    /// Unread bytes in the receive queue (FIONREAD).
    fn inq(&self) -> u64 {
        let Some(fd) = &self.fd else { return 0 };
        let mut n: libc::c_int = 0;
        // SAFETY: FIONREAD writes one int through the pointer.
        let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &mut n) };
        if rc < 0 { 0 } else { n.max(0) as u64 }
    }

    /// Why a call cannot be made now, if it cannot: no socket (never, or reset), or one
    /// the application has already closed or shut down for sending.
    fn refusal(&self, call: Call) -> Option<CallError> {
        match self.phase {
            Phase::Gone(e) => Some(e),
            _ if self.fd.is_none() => Some(CallError::NoConnection),
            _ if self.shut && matches!(call, Call::Send(_)) => Some(CallError::Closing),
            _ => None,
        }
    }

    /// Carries out one call. An untimed one on a connection that is gone does nothing
    /// (as in the simulator); a timed one is reported skipped, with the reason.
    fn call(&mut self, ctx: &Ctx, call: Call, timed: bool) {
        if let Some(error) = self.refusal(call) {
            if timed {
                ctx.report(ctx.now(), self.tuple, AppEvent::Skipped { call, error });
            }
            return;
        }
        let now = ctx.now();
        match call {
            Call::Send(n) => {
                ctx.report(now, self.tuple, AppEvent::Send { bytes: n });
                self.pending.push_back(n);
            }
            Call::Shutdown | Call::Close if !self.pending.is_empty() => self.deferred.push(call),
            Call::Shutdown => {
                if let Some(fd) = &self.fd {
                    let _ = shutdown(fd.as_raw_fd(), Shutdown::Write);
                }
                self.shut = true;
                ctx.report(now, self.tuple, AppEvent::Shutdown);
            }
            Call::Close => self.close(ctx),
            Call::Abort => self.abort(ctx),
            Call::Read(max) => self.read_some(ctx, max, &mut Vec::new()),
        }
    }

    /// close(2). A reader that reads at once first takes what has arrived, as the
    /// simulator's applications do (Linux resets a connection closed with unread data).
    fn close(&mut self, ctx: &Ctx) {
        if self.read_mode() == ServerRead::AtOnce && self.phase == Phase::Open && !self.eof {
            self.read_all(ctx, &mut Vec::new());
        }
        let t = ctx.now();
        self.fd = None;
        self.pending.clear();
        self.phase = Phase::Gone(CallError::Closing);
        ctx.report(t, self.tuple, AppEvent::Close);
    }

    /// SO_LINGER 0 and close(2): Linux resets the connection in the states its
    /// tcp_need_reset() names (those RFC 9293 §3.10.5 names), else just deletes it.
    fn abort(&mut self, ctx: &Ctx) {
        let resets = |s: State| {
            matches!(
                s,
                State::SynReceived
                    | State::Established
                    | State::FinWait1
                    | State::FinWait2
                    | State::CloseWait
            )
        };
        let rst = self.kernel_state().is_some_and(resets);
        let t = ctx.now();
        self.reset();
        self.phase = Phase::Gone(CallError::NoConnection);
        ctx.report(t, self.tuple, AppEvent::Abort { rst });
    }

    /// The socket's state as the kernel has it (TCP_INFO's first byte).
    fn kernel_state(&self) -> Option<State> {
        let fd = self.fd.as_ref()?;
        let mut info = [0u8; 256];
        let mut len = info.len() as libc::socklen_t;
        // SAFETY: getsockopt writes at most `len` bytes into `info` and updates `len`.
        let rc = unsafe {
            libc::getsockopt(
                fd.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_INFO,
                info.as_mut_ptr().cast(),
                &mut len,
            )
        };
        (rc == 0 && len > 0)
            .then(|| observe::state_of(info[0]))
            .flatten()
    }

    /// Writes pending bytes while the socket takes them; then the deferred calls.
    fn flush(&mut self, ctx: &Ctx) {
        while let Some(&left) = self.pending.front() {
            let Some(fd) = self.fd.as_ref().filter(|_| self.phase == Phase::Open) else {
                return;
            };
            let n = left.min(ZEROS.len() as u64) as usize;
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
        for call in std::mem::take(&mut self.deferred) {
            self.call(ctx, call, false);
        }
    }

    /// A socket error: refused, timed out, or reset (the pending error, when there is one).
    fn failed(&mut self, ctx: &Ctx, e: Errno) {
        let err = (self.fd.as_ref())
            .and_then(|fd| {
                nix::sys::socket::getsockopt(fd, nix::sys::socket::sockopt::SocketError).ok()
            })
            .filter(|&v| v != 0)
            .map_or(e, Errno::from_raw);
        let what = match err {
            Errno::ECONNREFUSED => AppEvent::Refused,
            Errno::ETIMEDOUT => AppEvent::TimedOut,
            _ => AppEvent::Reset,
        };
        ctx.report(ctx.now(), self.tuple, what);
        self.pending.clear();
        self.fd = None;
        self.phase = Phase::Gone(CallError::NoConnection);
    }

    /// SO_LINGER 0, then close: an RST where one is due, no orphaned socket left behind
    /// (also how every socket still open is dropped when the run ends).
    pub fn reset(&mut self) {
        if let Some(fd) = self.fd.take() {
            let linger = libc::linger {
                l_onoff: 1,
                l_linger: 0,
            };
            // SAFETY: the option value is a live `linger` of the size passed.
            unsafe {
                libc::setsockopt(
                    fd.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_LINGER,
                    (&linger as *const libc::linger).cast(),
                    std::mem::size_of::<libc::linger>() as libc::socklen_t,
                );
            }
        }
    }
}
