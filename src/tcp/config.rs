//! Per-host TCP settings with RFC defaults.

/// Everything a connection needs to know about its host's policy. Times in nanoseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Maximum segment lifetime; TIME_WAIT lasts 2×MSL. RFC 9293 §3.4.2 suggests 2 minutes.
    pub msl: u64,
    /// RFC 6298 §2.1: 1 s before the first RTT sample.
    pub rto_initial: u64,
    /// RFC 6298 §2.4: RTO is rounded up to 1 s.
    pub rto_min: u64,
    /// RFC 6298 §2.5: a maximum of at least 60 s may be placed on the RTO.
    pub rto_max: u64,
    /// SYN / SYN,ACK retransmissions before giving up (RFC 1122 §4.2.3.5 asks for ≥ 3 min; 6 with backoff from 1 s is 127 s).
    pub syn_retries: u32,
    /// Data/FIN retransmissions before the connection is aborted (RFC 1122 §4.2.3.5 R2 ≥ 100 s).
    pub retries: u32,
    /// MSS announced in the SYN and upper bound on payload per segment.
    pub mss: u16,
    /// Receive buffer in bytes (advertised window ≤ 65535 without window scaling).
    pub window: u32,
    /// Ephemeral port range, inclusive.
    pub ephemeral_ports: (u16, u16),
}

pub const SECOND: u64 = 1_000_000_000;

impl Default for Config {
    fn default() -> Self {
        Config {
            msl: 120 * SECOND,
            rto_initial: SECOND,
            rto_min: SECOND,
            rto_max: 60 * SECOND,
            syn_retries: 6,
            retries: 15,
            mss: 1460,
            window: 65535,
            // RFC 6335 §6: the dynamic port range 49152–65535.
            ephemeral_ports: (49152, 65535),
        }
    }
}
