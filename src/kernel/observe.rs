//! TCP states as the kernel reports them: sock_diag dumps of one namespace, turned into
//! state changes and the few TCP notes the kernel can tell (retransmission timeouts, a
//! restarted TIME_WAIT timer).
//!
//! A dump is taken right after every packet tcpsim writes into the namespace (the
//! receiving stack handles the packet inside the write, so its state change is complete
//! on return), right before every packet it read from the namespace is reported, after
//! every application call, and every [`PERIOD_NS`] besides (for changes on the kernel's
//! own timers: the end of TIME_WAIT, a SYN_SENT socket giving up). Changes driven by a
//! packet or a call are therefore stamped within the few microseconds of one syscall;
//! timer-driven ones within one period. A state that lasts less than that between two
//! dumps is not seen (the change is reported from the state before to the state after).
//! The `inet_sock_set_state` tracepoint would be exact, but tracefs is not mounted on
//! this machine kind and the tracepoint's records carry no namespace, so concurrent runs
//! with the same addresses could not be told apart.

use std::collections::HashMap;
use std::io;

use super::netlink::{self, NETLINK_SOCK_DIAG, NLM_F_DUMP, NLM_F_REQUEST, Netlink};
use crate::tcp::{Endpoint, State};
use crate::trace::TcpNote;

/// How often every namespace is dumped when nothing else prompts it.
pub const PERIOD_NS: u64 = 5_000_000;

const SOCK_DIAG_BY_FAMILY: u16 = 20;
const INET_DIAG_INFO: u16 = 2;
const DIAG_MSG_LEN: usize = 72;

/// Linux's `TCP_*` socket states (include/net/tcp_states.h).
pub fn state_of(kernel: u8) -> Option<State> {
    Some(match kernel {
        1 => State::Established,
        2 => State::SynSent,
        3 | 12 => State::SynReceived,
        4 => State::FinWait1,
        5 => State::FinWait2,
        6 => State::TimeWait,
        7 => State::Closed,
        8 => State::CloseWait,
        9 => State::LastAck,
        10 => State::Listen,
        11 => State::Closing,
        _ => return None,
    })
}

/// `ss`'s name for a state, for the end-of-run table.
pub fn ss_name(s: State) -> &'static str {
    match s {
        State::Closed => "CLOSE",
        State::Listen => "LISTEN",
        State::SynSent => "SYN-SENT",
        State::SynReceived => "SYN-RECV",
        State::Established => "ESTAB",
        State::FinWait1 => "FIN-WAIT-1",
        State::FinWait2 => "FIN-WAIT-2",
        State::CloseWait => "CLOSE-WAIT",
        State::Closing => "CLOSING",
        State::LastAck => "LAST-ACK",
        State::TimeWait => "TIME-WAIT",
    }
}

/// One socket of a dump.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sock {
    pub local: Endpoint,
    pub remote: Endpoint,
    pub state: State,
    /// inet_diag's timer: 0 none, 1 retransmit (or loss probe), 2 keepalive, 3 TIME_WAIT,
    /// 4 zero-window probe.
    pub timer: u8,
    /// Milliseconds until that timer fires.
    pub expires_ms: u32,
    /// SYN,ACK retransmissions of a request socket (SYN_RECV).
    pub req_retrans: u8,
    pub recv_q: u32,
    pub send_q: u32,
    /// From tcp_info (full sockets only): consecutive RTOs, and the RTO in µs.
    pub rto_count: Option<(u8, u32)>,
}

impl Sock {
    /// The socket has a retransmission or probe scheduled: traffic is not over.
    pub fn busy(&self) -> bool {
        matches!(self.timer, 1 | 4) || (self.state == State::SynReceived && self.timer != 0)
    }
}

/// The states of connections (ESTABLISHED .. TIME_WAIT, CLOSE_WAIT, LAST_ACK, CLOSING,
/// NEW_SYN_RECV): they live in the namespace's own small hash table (see `netns.rs`), a
/// dump of which takes well under 0.1 ms. LISTEN and the bound-only states are left out:
/// their tables are shared by all namespaces and a dump that asks for them walks them
/// whole (0.8 to 1.2 ms here).
const CONNECTIONS: u32 = (0b111_1110) | (1 << 8) | (1 << 9) | (1 << 11) | (1 << 12);
/// [`CONNECTIONS`] and LISTEN, for the end-of-run table.
const WITH_LISTENERS: u32 = CONNECTIONS | (1 << 10);

/// Dumps the TCP sockets in `states` (a mask of 1 << TCP_* state) of the namespace `nl`
/// belongs to.
pub fn dump(nl: &mut Netlink, states: u32) -> io::Result<Vec<Sock>> {
    let mut req = vec![libc::AF_INET as u8, libc::IPPROTO_TCP as u8];
    req.push(1 << (INET_DIAG_INFO - 1)); // idiag_ext: tcp_info
    req.push(0);
    req.extend(states.to_ne_bytes());
    req.extend([0u8; 48]); // inet_diag_sockid: any
    let replies = nl.request(SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, &req)?;
    Ok(replies.iter().filter_map(|m| parse(m)).collect())
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn ne32(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// One `inet_diag_msg` and its tcp_info attribute.
fn parse(m: &[u8]) -> Option<Sock> {
    if m.len() < DIAG_MSG_LEN {
        return None;
    }
    let addr = |at: usize| u32::from_be_bytes([m[at], m[at + 1], m[at + 2], m[at + 3]]);
    let info = netlink::attrs(&m[DIAG_MSG_LEN..])
        .into_iter()
        .find(|(kind, _)| *kind == INET_DIAG_INFO)
        .map(|(_, data)| data)
        .filter(|d| d.len() >= 12)
        .map(|d| (d[2], ne32(d, 8)));
    Some(Sock {
        state: state_of(m[1])?,
        timer: m[2],
        req_retrans: m[3],
        local: Endpoint {
            addr: addr(8),
            port: be16(m, 4),
        },
        remote: Endpoint {
            addr: addr(24),
            port: be16(m, 6),
        },
        expires_ms: ne32(m, 52),
        recv_q: ne32(m, 56),
        send_q: ne32(m, 60),
        rto_count: info,
    })
}

/// What a dump showed that the previous one did not.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Change {
    /// `new`: the 4-tuple starts a new incarnation (it was gone, or in TIME_WAIT).
    State {
        local: Endpoint,
        remote: Endpoint,
        from: State,
        to: State,
        new: bool,
    },
    Note {
        local: Endpoint,
        remote: Endpoint,
        note: TcpNote,
    },
}

/// What was seen of one 4-tuple at the last dump.
#[derive(Debug, Clone, Copy)]
struct Seen {
    sock: Sock,
    at: u64,
}

/// The sockets of one namespace and the changes between dumps.
pub struct Observer {
    nl: Netlink,
    seen: HashMap<(Endpoint, Endpoint), Seen>,
    /// Local ports with a listener (the scenario's servers), so a new server-side socket
    /// comes "from LISTEN".
    listening: Vec<u16>,
    last: Vec<Sock>,
}

impl Observer {
    /// `nl` must be a sock_diag socket opened inside the namespace; `listening`, the
    /// ports its servers listen on.
    pub fn new(nl: Netlink, listening: Vec<u16>) -> Self {
        Observer {
            nl,
            seen: HashMap::new(),
            listening,
            last: Vec::new(),
        }
    }

    /// Opens the sock_diag socket; call from a thread inside the namespace.
    pub fn open() -> Result<Netlink, String> {
        Netlink::open(NETLINK_SOCK_DIAG)
    }

    /// The sockets of the latest dump.
    pub fn sockets(&self) -> &[Sock] {
        &self.last
    }

    /// Whether any socket of the latest dump still has a retransmission pending.
    pub fn busy(&self) -> bool {
        self.last.iter().any(Sock::busy)
    }

    /// Dumps the namespace at time `now` (ns since the run's start) and appends what
    /// changed since the previous dump to `out`.
    pub fn poll(&mut self, now: u64, out: &mut Vec<Change>) -> io::Result<()> {
        let socks = dump(&mut self.nl, CONNECTIONS)?;
        let mut present = Vec::with_capacity(socks.len());
        for s in socks.iter().filter(|s| s.state != State::Listen) {
            let key = (s.local, s.remote);
            present.push(key);
            let before = self.seen.insert(key, Seen { sock: *s, at: now });
            self.compare(before, s, now, out);
        }
        let gone: Vec<(Endpoint, Endpoint)> = (self.seen.keys())
            .filter(|k| !present.contains(k))
            .copied()
            .collect();
        for (local, remote) in gone {
            if let Some(old) = self.seen.remove(&(local, remote)) {
                out.push(Change::State {
                    local,
                    remote,
                    from: old.sock.state,
                    to: State::Closed,
                    new: false,
                });
            }
        }
        self.last = socks;
        Ok(())
    }

    /// The changes between what was seen of a 4-tuple and what the dump shows now.
    fn compare(&self, before: Option<Seen>, s: &Sock, now: u64, out: &mut Vec<Change>) {
        let (local, remote) = (s.local, s.remote);
        let Some(old) = before else {
            let from = if self.listening.contains(&local.port) && s.state != State::SynSent {
                State::Listen
            } else {
                State::Closed
            };
            out.push(Change::State {
                local,
                remote,
                from,
                to: s.state,
                new: true,
            });
            return;
        };
        if old.sock.state != s.state {
            if old.sock.state == State::TimeWait {
                // A new incarnation took the 4-tuple over (a SYN, or tw_reuse).
                let from = if s.state == State::SynSent {
                    State::Closed
                } else {
                    State::Listen
                };
                out.push(Change::State {
                    local,
                    remote,
                    from: State::TimeWait,
                    to: State::Closed,
                    new: false,
                });
                out.push(Change::State {
                    local,
                    remote,
                    from,
                    to: s.state,
                    new: true,
                });
            } else {
                out.push(Change::State {
                    local,
                    remote,
                    from: old.sock.state,
                    to: s.state,
                    new: false,
                });
            }
        }
        if let Some(note) = note_between(&old, s, now) {
            out.push(Change::Note {
                local,
                remote,
                note,
            });
        }
    }

    /// Every socket of the namespace, listeners included, for the end-of-run table.
    pub fn snapshot(&mut self) -> io::Result<Vec<Sock>> {
        dump(&mut self.nl, WITH_LISTENERS)
    }
}

/// A retransmission timeout (the RTO count grew) or a restarted TIME_WAIT timer (its
/// expiry moved later than the time passed can explain: Linux restarts it only for a
/// retransmitted FIN, tcp_timewait_state_process).
fn note_between(old: &Seen, s: &Sock, now: u64) -> Option<TcpNote> {
    match (old.sock.rto_count, s.rto_count) {
        (Some((was, _)), Some((count, rto_us))) if count > was => {
            return Some(TcpNote::Retransmit {
                attempt: u32::from(count),
                rto: u64::from(rto_us) * 1_000,
            });
        }
        _ => {}
    }
    if s.state == State::SynReceived && s.req_retrans > old.sock.req_retrans {
        return Some(TcpNote::Retransmit {
            attempt: u32::from(s.req_retrans),
            rto: u64::from(s.expires_ms) * 1_000_000,
        });
    }
    let elapsed_ms = (now.saturating_sub(old.at) / 1_000_000) as u32;
    let restarted = s.state == State::TimeWait
        && old.sock.state == State::TimeWait
        && s.expires_ms > old.sock.expires_ms.saturating_sub(elapsed_ms) + 100;
    restarted.then_some(TcpNote::TimeWaitRestart { fin: true })
}
