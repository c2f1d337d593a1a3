//! What a scenario's application does next, apart from any socket: the `[[client]]`
//! steps and the `[[server]]` reply/echo/close rules as small state machines that
//! `apps.rs` feeds with what its socket reported and whose [`Call`]s it carries out.
//!
//! They follow the simulator's applications (`src/sim/world.rs`): a client runs its
//! untimed steps in order once connected, waiting where a step must (`wait`, `recv`,
//! `recv_eof`) and reading everything that arrives meanwhile; a server reads at once, N
//! bytes every DUR, or only when a timed `read` says so, echoes what arrives, sends its
//! reply once after the first data, and closes after the reply or once the peer's FIN
//! has been read. Timed steps (`at DUR: ACTION`) are a [`Timeline`] beside them, run
//! whatever the connection's state.

use crate::scenario::model::{Action, Call, Server, ServerClose, ServerRead, TimedStep};

/// A `[[client]]`'s untimed steps.
#[derive(Debug, Clone)]
pub struct ClientScript {
    actions: Vec<Action>,
    step: usize,
    /// A `wait` step in progress ends at this time (ns since the run's start).
    wake: Option<u64>,
}

impl ClientScript {
    pub fn new(actions: Vec<Action>) -> Self {
        ClientScript {
            actions,
            step: 0,
            wake: None,
        }
    }

    /// Every step has run.
    pub fn done(&self) -> bool {
        self.step >= self.actions.len()
    }

    /// When the current `wait` step ends, if one is in progress.
    pub fn wake_at(&self) -> Option<u64> {
        self.wake
    }

    /// Runs steps from the current one until one has to wait, given the bytes received
    /// so far and whether the peer's FIN has been read.
    pub fn advance(&mut self, now: u64, received: u64, eof: bool, calls: &mut Vec<Call>) {
        while let Some(&action) = self.actions.get(self.step) {
            match action {
                Action::Wait(d) => match self.wake {
                    Some(t) if now >= t => self.wake = None,
                    Some(_) => return,
                    None => {
                        self.wake = Some(now + d);
                        return;
                    }
                },
                Action::Recv(n) if received < n => return,
                Action::RecvEof if !eof => return,
                Action::Recv(_) | Action::RecvEof => {}
                Action::Send(n) => calls.push(Call::Send(n)),
                Action::Shutdown => calls.push(Call::Shutdown),
                Action::Close => calls.push(Call::Close),
                Action::Abort => calls.push(Call::Abort),
            }
            self.step += 1;
        }
    }
}

/// A `[[server]]`'s rules for one accepted connection (the simulator's, in
/// `sim::world`: a reply per request, the close after the `close_after`-th, SO_LINGER 0).
#[derive(Debug, Clone)]
pub struct ServerScript {
    echo: bool,
    reply: u64,
    request: Option<u64>,
    close: ServerClose,
    close_after: u32,
    linger_zero: bool,
    pub read: ServerRead,
    received: u64,
    replies: u32,
    closed: bool,
}

impl ServerScript {
    pub fn new(s: &Server) -> Self {
        ServerScript {
            echo: s.echo,
            reply: s.reply,
            request: s.request,
            close: s.close,
            close_after: s.close_after,
            linger_zero: s.linger_zero,
            read: s.read,
            received: 0,
            replies: 0,
            closed: false,
        }
    }

    /// `n` new bytes arrived: echo them, and reply to each request now complete (without
    /// `request`, to the first data only).
    pub fn on_data(&mut self, n: u64, calls: &mut Vec<Call>) {
        if self.echo {
            calls.push(Call::Send(n));
        }
        self.received += n;
        if self.reply == 0 {
            return;
        }
        let due = self.request.map_or(1, |r| self.received / r);
        while !self.closed && u64::from(self.replies) < due {
            self.replies += 1;
            calls.push(Call::Send(self.reply));
            if self.close == ServerClose::AfterReply && self.replies >= self.close_after {
                self.close_now(calls);
            }
        }
    }

    /// The peer's FIN has been read, with everything before it: a passive close.
    pub fn on_eof(&mut self, calls: &mut Vec<Call>) {
        if self.close == ServerClose::PeerClose && !self.closed {
            self.close_now(calls);
        }
    }

    /// The server's own close: an abort under SO_LINGER 0.
    fn close_now(&mut self, calls: &mut Vec<Call>) {
        self.closed = true;
        calls.push(if self.linger_zero {
            Call::Abort
        } else {
            Call::Close
        });
    }
}

/// Timed steps at absolute times, run in time order (same-time steps in written order)
/// whatever else the application is doing.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    steps: Vec<(u64, Call)>,
}

impl Timeline {
    /// `steps` timed from `origin`: a client's connect(), a server's accept() (the
    /// simulator times a server's steps from the SYN that made the connection; a real
    /// server only learns of a connection when it accepts it).
    pub fn new(origin: u64, steps: &[TimedStep]) -> Self {
        let mut steps: Vec<(u64, Call)> = (steps.iter())
            .map(|s| (origin.saturating_add(s.at), s.call))
            .collect();
        steps.sort_by_key(|&(t, _)| t);
        Timeline { steps }
    }

    pub fn next(&self) -> Option<u64> {
        self.steps.first().map(|&(t, _)| t)
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Moves the steps due at `now` into `calls`.
    pub fn due(&mut self, now: u64, calls: &mut Vec<Call>) {
        let n = self.steps.iter().take_while(|&&(t, _)| t <= now).count();
        calls.extend(self.steps.drain(..n).map(|(_, c)| c));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_steps_wait_where_the_simulator_waits() {
        let mut s = ClientScript::new(vec![
            Action::Send(100),
            Action::Recv(50),
            Action::Wait(1_000),
            Action::Close,
        ]);
        let mut calls = Vec::new();
        s.advance(0, 0, false, &mut calls);
        assert_eq!(calls, vec![Call::Send(100)]);
        s.advance(5, 49, false, &mut calls);
        assert_eq!(calls.len(), 1, "still waiting for 50 bytes");
        s.advance(10, 50, false, &mut calls);
        assert_eq!(s.wake_at(), Some(1_010));
        s.advance(500, 50, false, &mut calls);
        assert_eq!(calls.len(), 1, "the wait is not over");
        s.advance(1_010, 50, false, &mut calls);
        assert_eq!(calls, vec![Call::Send(100), Call::Close]);
        assert!(s.done());
    }

    fn server(close: ServerClose) -> Server {
        Server {
            host: 0,
            port: 80,
            backlog: 128,
            reply: 2000,
            echo: false,
            close,
            request: None,
            close_after: 1,
            linger_zero: false,
            read: ServerRead::AtOnce,
            actions: Vec::new(),
        }
    }

    #[test]
    fn keep_alive_server_replies_per_request_and_aborts_after_the_last_under_linger_zero() {
        let def = Server {
            request: Some(100),
            close_after: 2,
            linger_zero: true,
            ..server(ServerClose::AfterReply)
        };
        let mut s = ServerScript::new(&def);
        let mut calls = Vec::new();
        s.on_data(150, &mut calls);
        assert_eq!(calls, vec![Call::Send(2000)], "one whole request so far");
        s.on_data(150, &mut calls);
        assert_eq!(calls, vec![Call::Send(2000), Call::Send(2000), Call::Abort]);
        s.on_data(100, &mut calls);
        s.on_eof(&mut calls);
        assert_eq!(calls.len(), 3, "nothing after the close");
    }

    #[test]
    fn server_replies_once_and_closes_after_the_reply() {
        let def = server(ServerClose::AfterReply);
        let mut s = ServerScript::new(&def);
        let mut calls = Vec::new();
        s.on_data(300, &mut calls);
        s.on_data(300, &mut calls);
        assert_eq!(calls, vec![Call::Send(2000), Call::Close]);
        s.on_eof(&mut calls);
        assert_eq!(calls.len(), 2, "after_reply does not close again at EOF");
    }

    #[test]
    fn timeline_releases_steps_in_time_order() {
        let steps = [
            TimedStep {
                at: 50,
                call: Call::Close,
            },
            TimedStep {
                at: 10,
                call: Call::Send(5),
            },
        ];
        let mut t = Timeline::new(100, &steps);
        assert_eq!(t.next(), Some(110));
        let mut calls = Vec::new();
        t.due(120, &mut calls);
        assert_eq!(calls, vec![Call::Send(5)]);
        t.due(150, &mut calls);
        assert_eq!(calls, vec![Call::Send(5), Call::Close]);
        assert!(t.is_empty());
    }
}
