//! Per-connection application state: where a client is in its script, whether a server
//! has replied. The behaviour itself lives in the world, which owns the connections.

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
    /// `reading`: a slow reader's next read is scheduled.
    Server {
        server: u32,
        replied: bool,
        reading: bool,
    },
}
