//! A connection's deadlines as plain data: the caller asks for the earliest one.

/// The send side's one timer. Retransmission (RFC 6298 §5) and persist (RFC 9293
/// §3.8.6.1, which also releases what sender silly-window avoidance held, RFC 1122
/// §4.2.3.4) are never armed together: one value, decided in one place
/// (`Connection::arm_send_timer`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SendTimer {
    #[default]
    Off,
    Retransmit(u64),
    Persist(u64),
    /// With `tlp`: a tail loss probe at `at`, the retransmission timeout it stands in
    /// front of at `rto_at` (RFC 8985 §7.2, Linux `ICSK_TIME_LOSS_PROBE`).
    LossProbe {
        at: u64,
        rto_at: u64,
    },
    /// With `rack`: RACK's reorder timer at `at` (RFC 8985 §6.2, Linux
    /// `ICSK_TIME_REO_TIMEOUT`), in front of the retransmission timeout at `rto_at`.
    Reorder {
        at: u64,
        rto_at: u64,
    },
}

impl SendTimer {
    pub fn deadline(self) -> Option<u64> {
        match self {
            SendTimer::Off => None,
            SendTimer::Retransmit(t) | SendTimer::Persist(t) => Some(t),
            SendTimer::LossProbe { at, .. } | SendTimer::Reorder { at, .. } => Some(at),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timers {
    pub send: SendTimer,
    /// RFC 1122 §4.2.3.2: the latest moment to send a delayed ACK.
    pub delayed_ack: Option<u64>,
    /// The FIN_WAIT_2 timeout (a setting; RFC 9293 waits forever).
    pub fin_wait_2: Option<u64>,
    /// With `ack_policy = "linux"`: a compressed SACK is due (`compressed_ack_timer`).
    pub compressed_ack: Option<u64>,
}

impl Timers {
    /// The earliest deadline.
    pub fn next(&self) -> Option<u64> {
        [
            self.send.deadline(),
            self.delayed_ack,
            self.fin_wait_2,
            self.compressed_ack,
        ]
        .into_iter()
        .flatten()
        .min()
    }
}
