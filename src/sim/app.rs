//! Per-connection application state: where a client is in its script, whether a server
//! how many requests a server has answered. The behaviour itself lives in the world, which owns the connections.

use crate::tcp::State;

/// What a client script is waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// The handshake has not completed yet.
    Established,
    /// Ready to run the next step.
    Running,
    /// A `wait` step's timer.
    Timer,
    /// `recv N`: this many bytes in total.
    Recv(u64),
    /// `recv_eof`: the peer's FIN.
    Eof,
    /// The script has ended.
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum App {
    Client {
        client: u32,
        step: u32,
        wait: Wait,
    },
    /// `replies`: how many requests it has answered. `reading`: a slow reader's next
    /// read is scheduled. `closed`: the application has called CLOSE (`shutdown` or
    /// `close`) or ABORT, so neither the passive close nor a reply repeats it.
    Server {
        server: u32,
        replies: u32,
        reading: bool,
        closed: bool,
    },
}

/// RFC 9293 §3.10.4, CLOSE once CLOSE was already called: FIN-WAIT-1, FIN-WAIT-2
/// ("strictly speaking, this is an error and should receive an 'error: connection closing'
/// response"), CLOSING, LAST-ACK and TIME-WAIT ("respond with 'error: connection
/// closing'"). Nothing is sent.
pub fn close_is_error(state: State) -> bool {
    matches!(
        state,
        State::FinWait1 | State::FinWait2 | State::Closing | State::LastAck | State::TimeWait
    )
}
