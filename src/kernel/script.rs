//! What a scenario's application does next, apart from any socket: the `[[client]]`
//! action list and the `[[server]]` reply/echo/close rules as small state machines that
//! `apps.rs` feeds with what its socket reported and whose [`Op`]s it carries out.
//!
//! They follow the simulator's applications (`src/sim/world.rs`): a client runs its steps
//! in order once connected, waiting where a step must (`wait`, `recv`, `recv_eof`) and
//! reading everything that arrives meanwhile; a server reads at once (or N bytes every
//! DUR), echoes what arrives, sends its reply once after the first data, and closes after
//! the reply or once the peer's FIN has been read. Timed steps (`at DUR: ACTION`, run
//! whatever the state) would be a sorted list of (time, [`Op`]) beside these, drained by
//! [`Timeline::due`], with the socket loop waking at [`Timeline::next`].

use crate::scenario::model::{Action, Server, ServerClose};

/// What an application asks its socket to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Queue this many bytes for sending.
    Send(u64),
    /// shutdown(SHUT_WR): send FIN, keep reading.
    Shutdown,
    /// close(): send FIN, read nothing more.
    Close,
    /// SO_LINGER 0 and close(): send RST.
    Abort,
}

/// A `[[client]]`'s action list.
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
    pub fn advance(&mut self, now: u64, received: u64, eof: bool, ops: &mut Vec<Op>) {
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
                Action::Send(n) => ops.push(Op::Send(n)),
                Action::Shutdown => ops.push(Op::Shutdown),
                Action::Close => ops.push(Op::Close),
                Action::Abort => ops.push(Op::Abort),
            }
            self.step += 1;
        }
    }
}

/// A `[[server]]`'s rules for one accepted connection.
#[derive(Debug, Clone)]
pub struct ServerScript {
    echo: bool,
    reply: u64,
    close: ServerClose,
    /// Read at most N bytes every DUR (ns), instead of at once.
    pub pace: Option<(u64, u64)>,
    replied: bool,
}

impl ServerScript {
    pub fn new(s: &Server) -> Self {
        ServerScript {
            echo: s.echo,
            reply: s.reply,
            close: s.close,
            pace: s.read,
            replied: false,
        }
    }

    /// `n` new bytes arrived: echo them, send the reply after the first data.
    pub fn on_data(&mut self, n: u64, ops: &mut Vec<Op>) {
        if self.echo {
            ops.push(Op::Send(n));
        }
        if self.reply > 0 && !self.replied {
            self.replied = true;
            ops.push(Op::Send(self.reply));
            if self.close == ServerClose::AfterReply {
                ops.push(Op::Close);
            }
        }
    }

    /// The peer's FIN has been read, with everything before it: a passive close.
    pub fn on_eof(&mut self, ops: &mut Vec<Op>) {
        if self.close == ServerClose::PeerClose {
            ops.push(Op::Close);
        }
    }
}

/// Timed steps: (time, op), run in time order whatever else the script is doing.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    steps: Vec<(u64, Op)>,
}

impl Timeline {
    /// `steps` at times relative to `origin` (a client's connect, a server's accept).
    pub fn new(origin: u64, mut steps: Vec<(u64, Op)>) -> Self {
        steps.sort_by_key(|&(t, _)| t);
        Timeline {
            steps: steps.into_iter().map(|(t, op)| (origin + t, op)).collect(),
        }
    }

    pub fn next(&self) -> Option<u64> {
        self.steps.first().map(|&(t, _)| t)
    }

    /// Moves the steps due at `now` into `ops`.
    pub fn due(&mut self, now: u64, ops: &mut Vec<Op>) {
        let n = self.steps.iter().take_while(|&&(t, _)| t <= now).count();
        ops.extend(self.steps.drain(..n).map(|(_, op)| op));
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
        let mut ops = Vec::new();
        s.advance(0, 0, false, &mut ops);
        assert_eq!(ops, vec![Op::Send(100)]);
        s.advance(5, 49, false, &mut ops);
        assert_eq!(ops.len(), 1, "still waiting for 50 bytes");
        s.advance(10, 50, false, &mut ops);
        assert_eq!(s.wake_at(), Some(1_010));
        s.advance(500, 50, false, &mut ops);
        assert_eq!(ops.len(), 1, "the wait is not over");
        s.advance(1_010, 50, false, &mut ops);
        assert_eq!(ops, vec![Op::Send(100), Op::Close]);
        assert!(s.done());
    }

    #[test]
    fn server_replies_once_and_closes_after_the_reply() {
        let def = Server {
            host: 0,
            port: 80,
            backlog: 128,
            reply: 2000,
            echo: false,
            close: ServerClose::AfterReply,
            read: None,
        };
        let mut s = ServerScript::new(&def);
        let mut ops = Vec::new();
        s.on_data(300, &mut ops);
        s.on_data(300, &mut ops);
        assert_eq!(ops, vec![Op::Send(2000), Op::Close]);
        s.on_eof(&mut ops);
        assert_eq!(ops.len(), 2, "after_reply does not close again at EOF");
    }

    #[test]
    fn timeline_releases_steps_in_time_order() {
        let mut t = Timeline::new(100, vec![(50, Op::Close), (10, Op::Send(5))]);
        assert_eq!(t.next(), Some(110));
        let mut ops = Vec::new();
        t.due(120, &mut ops);
        assert_eq!(ops, vec![Op::Send(5)]);
        t.due(150, &mut ops);
        assert_eq!(ops, vec![Op::Send(5), Op::Close]);
        assert_eq!(t.next(), None);
    }
}
