//! Per-host TCP settings: RFC 9293 behaviour by default, Linux's as a profile.

/// How initial sequence numbers are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsnMode {
    /// RFC 6528: a 4 µs clock plus a keyed hash of the 4-tuple, so a new incarnation of
    /// a 4-tuple starts above the old one's sequence numbers.
    Rfc6528,
    /// Linux's `secure_tcp_seq`: RFC 6528 with a 64 ns clock (`ktime_get_real_ns() >> 6`),
    /// and a 4-tuple reused from TIME_WAIT starts exactly at the old SND.NXT + 65537
    /// (`tcp_twsk_unique`, `tcp_timewait_state_process`), not merely above it.
    Linux,
    /// A fresh random number per connection (from the host's seeded stream).
    Random,
}

/// What happens to text (and a FIN) that arrives on a SYN or SYN,ACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynData {
    /// RFC 9293 §3.10.7.2–3: queue it and process it once ESTABLISHED (a SYN,ACK's text is
    /// processed at once, since the SYN,ACK itself establishes the connection).
    Queue,
    /// Drop it, as Linux does without TCP Fast Open: the peer sends it again.
    Drop,
}

/// What an acceptable (in-window) segment does to a connection in TIME_WAIT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeWaitInWindow {
    /// RFC 9293 §3.10.7.4 fifth step, TIME-WAIT: "The only thing that can arrive in this
    /// state is a retransmission of the remote FIN. Acknowledge it, and restart the 2 MSL
    /// timeout."
    AckRestart,
    /// Ignore it (a segment at or above RCV.NXT cannot be the peer's FIN again).
    Ignore,
}

/// What a 4-tuple that a SYN reopened from TIME_WAIT does when the SYN proves an old
/// duplicate (the peer answers the SYN,ACK with a RST).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReopenOldDuplicate {
    /// RFC 1122 §4.2.2.13 (2): return to TIME_WAIT, with the time it had left.
    TimeWait,
    /// Return to LISTEN as any passive SYN_RECEIVED does: the TIME_WAIT is gone (Linux
    /// deletes the time-wait socket when the SYN reopens it).
    Listen,
}

/// Which retransmission-timeout estimator a connection runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RttEstimator {
    /// RFC 6298 §2: RTO = SRTT + 4·RTTVAR, at least `rto_min`.
    Rfc6298,
    /// Linux's `tcp_rtt_estimator`: RTO = SRTT + max(4·mdev over the last round trip,
    /// `rto_min`), in whole jiffies.
    Linux,
}

/// Which congestion controller decides the window's growth and reduction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CongestionAlgorithm {
    /// RFC 5681 and RFC 6582.
    NewReno,
    /// RFC 9438 CUBIC with Linux's HyStart (`tcp_cubic.c`), recovery as NewReno's.
    Cubic,
}

/// How the receiver decides when to ACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckPolicy {
    /// RFC 1122 §4.2.3.2 / RFC 5681 §4.2: every second full-sized segment, else after
    /// `delayed_ack`; the window as RFC 1122 §4.2.3.3's receiver silly-window avoidance.
    Rfc,
    /// Linux's quick-ACK mode, interactive detection and ATO estimate, and its receive
    /// window (`linux_ack.rs`, `linux_window.rs`).
    Linux,
}

/// A bundle of defaults, chosen with `profile = "..."` or `--profile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// The RFCs' behaviour (RFC 9293 and the RFCs it points to).
    Rfc9293,
    /// What a current Linux kernel does by default (see [`Config::linux`]).
    Linux,
}

impl Profile {
    pub fn parse(s: &str) -> Option<Profile> {
        match s {
            "rfc9293" => Some(Profile::Rfc9293),
            "linux" => Some(Profile::Linux),
            _ => None,
        }
    }

    pub fn config(self) -> Config {
        match self {
            Profile::Rfc9293 => Config::default(),
            Profile::Linux => Config::linux(),
        }
    }
}

/// Everything a connection needs to know about its host's policy. Times in nanoseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Maximum segment lifetime; TIME_WAIT lasts 2×MSL. RFC 9293 §3.4.2 suggests 2 minutes.
    pub msl: u64,
    /// TIME_WAIT length when it is not 2×MSL (Linux: a fixed 60 s).
    pub time_wait: Option<u64>,
    /// Give up on a FIN_WAIT_2 connection after this long (Linux: 60 s); None waits
    /// forever, as RFC 9293 does.
    pub fin_wait_2_timeout: Option<u64>,
    /// RFC 6298 §2.1: 1 s before the first RTT sample.
    pub rto_initial: u64,
    /// RFC 6298 §2.4: RTO is rounded up to 1 s.
    pub rto_min: u64,
    /// RFC 6298 §2.5: a maximum of at least 60 s may be placed on the RTO.
    pub rto_max: u64,
    /// SYN / SYN,ACK retransmissions before giving up. RFC 1122 §4.2.3.5 (MUST-23) asks for
    /// at least 3 minutes: 7 from a 1 s RTO, doubling up to 60 s, give up 183 s after the
    /// first SYN (Linux's 6 give up after 127 s).
    pub syn_retries: u32,
    /// Data/FIN retransmissions before the connection is aborted (RFC 1122 §4.2.3.5 R2 ≥ 100 s).
    pub retries: u32,
    /// MSS announced in the SYN and upper bound on payload per segment.
    pub mss: u16,
    /// Receive buffer in bytes (advertised window ≤ 65535 without window scaling).
    pub window: u32,
    /// `window` was set by the scenario, as SO_RCVBUF sets a Linux socket's buffer: with
    /// `ack_policy = "linux"` the kernel's buffer is then twice it (`sock_setsockopt`
    /// doubles the value, capped at `net.core.rmem_max` = 212992, for its bookkeeping).
    pub window_is_sockopt: bool,
    /// RFC 7323 §2: the window shift this host offers in its SYN; None sends no option.
    pub window_scale: Option<u8>,
    /// RFC 7323 §3–5: offer the timestamps option and, once negotiated, apply PAWS.
    pub timestamps: bool,
    /// RFC 5961: challenge ACKs for an in-window RST not at RCV.NXT, for a SYN in a
    /// synchronized state and for an ACK below the acceptable range.
    pub rfc5961: bool,
    /// RFC 5961 §7: at most this many challenge ACKs per second per connection.
    pub challenge_ack_limit: u32,
    /// RFC 1337: ignore RST segments in TIME_WAIT (avoids TIME-WAIT assassination).
    pub rfc1337: bool,
    /// Let a client reuse a local port whose 4-tuple is in TIME_WAIT when timestamps
    /// are on and a second has passed (Linux's net.ipv4.tcp_tw_reuse = 1).
    pub tw_reuse: bool,
    pub isn: IsnMode,
    /// Ephemeral port range, inclusive.
    pub ephemeral_ports: (u16, u16),
    /// RFC 1122 §4.2.3.2 / RFC 5681 §4.2: ACK every second full-sized segment, or after
    /// this delay (< 500 ms); None ACKs every segment at once.
    pub delayed_ack: Option<u64>,
    /// RFC 1122 §4.2.3.4 Nagle algorithm: hold a small segment while data is unacknowledged.
    pub nagle: bool,
    /// RFC 5681 / RFC 6582 NewReno congestion control; off, only the peer's window limits.
    pub congestion_control: bool,
    /// The controller when `congestion_control` is on.
    pub congestion: CongestionAlgorithm,
    /// Initial congestion window in segments; None: RFC 5681's min(4·MSS, max(2·MSS, 4380 B)).
    pub initial_window: Option<u32>,
    /// RFC 3042 / RFC 5681 §3.2 step 1 (SHOULD): send one new segment on each of the first
    /// two duplicate ACKs.
    pub limited_transmit: bool,
    /// RFC 5681 §4.1 (SHOULD): after more than an RTO without sending, cwnd restarts from
    /// min(IW, cwnd).
    pub restart_after_idle: bool,
    /// RFC 6298 §5.7 (MUST): when the SYN or SYN,ACK timed out, the RTO is re-initialised
    /// to this (3 s) once the connection is established, until the first RTT sample.
    pub rto_after_syn_loss: Option<u64>,
    /// Text and FIN on a SYN: queued (RFC 9293) or dropped (Linux without Fast Open).
    pub syn_data: SynData,
    /// An acceptable segment in TIME_WAIT: RFC 9293's ACK and restart, or ignored.
    pub time_wait_in_window: TimeWaitInWindow,
    /// A reopened TIME_WAIT 4-tuple whose SYN proves an old duplicate.
    pub reopen_old_duplicate: ReopenOldDuplicate,
    /// When the receiver ACKs, and the window it advertises.
    pub ack_policy: AckPolicy,
    /// Linux's timer tick (CONFIG_HZ) for the mechanisms that count in jiffies.
    pub hz: u32,
    pub rtt_estimator: RttEstimator,
    /// Take an RTT sample from the handshake (SYN → SYN,ACK; SYN,ACK → ACK) when nothing
    /// was retransmitted (RFC 6298 allows it; Linux does it), and from the timestamps'
    /// echo when no other sample is at hand (Linux `tcp_ack_update_rtt`).
    pub rtt_from_handshake: bool,
    /// Linux's `tcp_syn_linear_timeouts`: the first N SYN timeouts do not double the RTO,
    /// and N retries are added to `syn_retries`.
    pub syn_linear_timeouts: u32,
    /// SYN,ACK retransmissions before a passive open gives up (Linux
    /// `tcp_synack_retries`, 5).
    pub synack_retries: u32,
    /// Linux's Nagle test (`tcp_nagle_check`): a short segment waits only while an earlier
    /// short one is unacknowledged (Minshall's variant), and a FIN never waits.
    pub nagle_minshall: bool,
    /// Linux `tcp_check_req`: a retransmitted SYN reaching SYN_RECEIVED is answered with
    /// the SYN,ACK again (at most one per 500 ms) rather than RFC 9293's ACK.
    pub dup_syn_resends_syn_ack: bool,
    /// Linux `tcp_send_active_reset`: an ABORT's RST carries ACK = RCV.NXT.
    pub reset_with_ack: bool,
    /// Linux `tcp_init_transfer`: after two or more SYN (or SYN,ACK) retransmissions cwnd
    /// starts at one segment.
    pub syn_loss_cwnd_one: bool,
    /// RFC 1122 §4.2.2.13's half-duplex close (a MAY; Linux does it): an application that
    /// called CLOSE reads nothing more, so CLOSE with unread data, or data arriving after
    /// CLOSE, draws a RST "to show that data was lost".
    pub half_duplex_close: bool,
    /// Linux `retransmits_timed_out`: a SYN is also given up once the time the retries
    /// would take from `rto_initial` has passed.
    pub syn_give_up_by_time: bool,
    /// TIME_WAIT as Linux's time-wait socket (tcp_minisocks.c
    /// `tcp_timewait_state_process`) rather than RFC 9293's steps.
    pub time_wait_minisock: bool,
    /// With `ack_policy = "linux"`: receive-buffer autotuning (`tcp_rcv_space_adjust`) from
    /// `window` up to 32 MiB. Off when the scenario sets `window` (Linux turns it off for a
    /// socket whose SO_RCVBUF is set).
    pub rcv_autotune: bool,
    /// Linux's PSH placement: besides the end of each write, the last segment of each
    /// software-GSO packet (`tcp_tso_autosize`: about 1 ms of the pacing rate, at least
    /// two segments) carries PSH, which a Linux receiver ACKs when the application reads.
    pub push_per_gso: bool,
    /// Linux counts the congestion window in packets, and a FIN without data is a packet
    /// like any other (`tcp_write_xmit`: `tcp_cwnd_test`): it waits while cwnd's segments
    /// are all in flight. Off, a FIN is not limited by cwnd (it carries no data).
    pub fin_needs_cwnd: bool,
    /// The application learns of received data (and the FIN) only after every segment
    /// arriving at the host at the same instant has been processed, as on Linux, where
    /// the softirq handles a burst of packets before the woken process reads: the ACKs of
    /// a burst go before the reply. Off, the application reacts to each segment at once.
    pub app_after_softirq: bool,
    /// Receive memory is charged per segment, as Linux charges each sk_buff until the
    /// application has read all of it (`tcp_rcv_space`, `skb->truesize` against
    /// `sk_rcvbuf`): a segment read in part still holds its whole length, so reading half
    /// of one frees no window. Off, each byte read frees its byte of window.
    pub rmem_per_segment: bool,
    /// Linux's zero-window probe (tcp_output.c `tcp_xmit_probe_skb`, sent by
    /// `tcp_send_probe0`): a bare ACK at SEQ = SND.UNA − 1, out of the receiver's window,
    /// which draws an ACK showing its window; each ACK while the window stays closed
    /// restarts the probe timer (tcp_input.c `tcp_ack_probe`). Off, the probe is the next
    /// octet of data (or the FIN), as RFC 9293 §3.8.6.1 describes it.
    pub probe_old_seq: bool,
    /// With SACK: loss recovery as Linux runs it — RACK loss detection (RFC 8985 §6, a
    /// segment is lost once one sent after it was delivered and the RTT plus a reordering
    /// window of min_rtt/4 has passed; a reorder timer when that is still to come), the
    /// congestion states of `tcp_fastretrans_alert`, PRR (RFC 6937) for cwnd in recovery,
    /// every lost segment resent as cwnd allows, cwnd counted in segments. Off: RFC 5681
    /// fast retransmit on three duplicate ACKs, RFC 6582 recovery, RFC 6675's IsLost.
    pub rack: bool,
    /// Selective acknowledgments (RFC 2018): offer sackOK in the SYN; once both SYNs carried
    /// it, send SACK blocks for out-of-order data and use the peer's for loss recovery.
    pub sack: bool,
    /// Duplicate SACK blocks (RFC 2883) for duplicate data, when SACK is on (Linux
    /// `tcp_dsack`).
    pub dsack: bool,
    /// Linux's out-of-window rate limit (`tcp_oow_rate_limited`, `tcp_invalid_ratelimit`
    /// = 500 ms) on an established connection: at most one duplicate ACK per 500 ms to
    /// unacceptable pure ACKs and SYNs, and challenge ACKs under the same limit.
    pub oow_rate_limit: bool,
    /// Timers fire as on Linux's timer wheel (`calc_index`, kernel/time/timer.c): on the
    /// tick after their expiry, rounded up to their wheel level's granularity (1 jiffy
    /// below 252 ms at HZ=250, 32 ms below 2 s, 256 ms below 16 s, 2.048 s below 129 s).
    pub timer_wheel: bool,
    /// Tail loss probe (RFC 8985 §7; Linux `tcp_schedule_loss_probe`, on with SACK): with
    /// data in flight and no loss being repaired, a probe after 2·SRTT (+200 ms when one
    /// segment is out, else +2 jiffies; never later than the RTO) sends new data or the
    /// last segment again, and the RTO restarts from it unbacked-off.
    pub tlp: bool,
}

pub const SECOND: u64 = 1_000_000_000;

impl Default for Config {
    fn default() -> Self {
        Config {
            msl: 120 * SECOND,
            time_wait: None,
            fin_wait_2_timeout: None,
            rto_initial: SECOND,
            rto_min: SECOND,
            rto_max: 60 * SECOND,
            syn_retries: 7,
            retries: 15,
            mss: 1460,
            window: 65535,
            window_is_sockopt: false,
            window_scale: None,
            timestamps: false,
            rfc5961: false,
            challenge_ack_limit: 1000,
            rfc1337: false,
            tw_reuse: false,
            isn: IsnMode::Rfc6528,
            // RFC 6335 §6: the dynamic port range 49152–65535.
            ephemeral_ports: (49152, 65535),
            delayed_ack: Some(SECOND / 5),
            nagle: true,
            congestion_control: true,
            congestion: CongestionAlgorithm::NewReno,
            initial_window: None,
            limited_transmit: true,
            restart_after_idle: true,
            rto_after_syn_loss: Some(3 * SECOND),
            syn_data: SynData::Queue,
            time_wait_in_window: TimeWaitInWindow::AckRestart,
            reopen_old_duplicate: ReopenOldDuplicate::TimeWait,
            ack_policy: AckPolicy::Rfc,
            hz: 250,
            rtt_estimator: RttEstimator::Rfc6298,
            rtt_from_handshake: false,
            syn_linear_timeouts: 0,
            synack_retries: 7,
            nagle_minshall: false,
            dup_syn_resends_syn_ack: false,
            reset_with_ack: false,
            syn_loss_cwnd_one: false,
            half_duplex_close: false,
            syn_give_up_by_time: false,
            time_wait_minisock: false,
            rcv_autotune: false,
            push_per_gso: false,
            fin_needs_cwnd: false,
            app_after_softirq: false,
            rmem_per_segment: false,
            probe_old_seq: false,
            rack: false,
            sack: false,
            dsack: false,
            oow_rate_limit: false,
            timer_wheel: false,
            tlp: false,
        }
    }
}

impl Config {
    /// Linux's defaults (net.ipv4 sysctls of a 6.x kernel): 200 ms minimum RTO, 40 ms
    /// delayed ACK, an initial window of 10 segments,
    /// TIME_WAIT a fixed 60 s (TCP_TIMEWAIT_LEN), tcp_fin_timeout 60 s, timestamps and
    /// window scaling on, RFC 5961 challenge ACKs on, tcp_rfc1337 = 0, ports
    /// 32768–60999, and tcp_tw_reuse = 1 (the kernel default 2 allows it on loopback only);
    /// tcp_syn_retries = 6; data on a SYN is dropped (no Fast Open); an in-window segment in
    /// TIME_WAIT is not taken for the FIN; a SYN that reopened TIME_WAIT deletes it.
    pub fn linux() -> Self {
        Config {
            syn_retries: 6,
            isn: IsnMode::Linux,
            syn_data: SynData::Drop,
            time_wait_in_window: TimeWaitInWindow::Ignore,
            reopen_old_duplicate: ReopenOldDuplicate::Listen,
            ack_policy: AckPolicy::Linux,
            rtt_estimator: RttEstimator::Linux,
            rtt_from_handshake: true,
            syn_linear_timeouts: 4,
            synack_retries: 5,
            nagle_minshall: true,
            dup_syn_resends_syn_ack: true,
            reset_with_ack: true,
            syn_loss_cwnd_one: true,
            half_duplex_close: true,
            syn_give_up_by_time: true,
            time_wait_minisock: true,
            rcv_autotune: true,
            push_per_gso: true,
            fin_needs_cwnd: true,
            app_after_softirq: true,
            rmem_per_segment: true,
            probe_old_seq: true,
            rack: true,
            sack: true,
            dsack: true,
            oow_rate_limit: true,
            timer_wheel: true,
            tlp: true,
            congestion: CongestionAlgorithm::Cubic,
            // tcp_challenge_ack_limit's 6.x default, INT_MAX: the per-socket 500 ms limit
            // is the one that bites.
            challenge_ack_limit: i32::MAX as u32,
            time_wait: Some(60 * SECOND),
            fin_wait_2_timeout: Some(60 * SECOND),
            rto_min: SECOND / 5,
            // ilog2(tcp_rmem[2] = 32 MiB) − 15: the shift a 6.x kernel with memory to spare
            // offers (tcp_select_initial_window).
            window_scale: Some(10),
            window: 131_072,
            window_is_sockopt: false,
            timestamps: true,
            rfc5961: true,
            tw_reuse: true,
            ephemeral_ports: (32768, 60999),
            // TCP_DELACK_MIN (40 ms) and RFC 6928's initial window of 10 segments.
            delayed_ack: Some(SECOND / 25),
            initial_window: Some(10),
            ..Config::default()
        }
    }

    /// One jiffy in ns.
    pub fn jiffy(&self) -> u64 {
        SECOND / u64::from(self.hz.max(1))
    }

    /// When a timer armed at `now` for `delay` fires: at once on the deadline, or on
    /// Linux's timer wheel with `timer_wheel`.
    pub fn timer_at(&self, now: u64, delay: u64) -> u64 {
        if self.timer_wheel {
            super::wheel::expiry(now, delay, self.jiffy())
        } else {
            now.saturating_add(delay)
        }
    }

    /// How long TIME_WAIT lasts.
    pub fn time_wait_len(&self) -> u64 {
        self.time_wait.unwrap_or(self.msl.saturating_mul(2))
    }

    /// The largest receive buffer the window field can describe.
    /// The window-scale shift this host offers: `window_scale`, except that with
    /// `ack_policy = "linux"` and a buffer the scenario set (SO_RCVBUF, which locks it),
    /// Linux derives the shift from that buffer instead of `tcp_rmem[2]`
    /// (`tcp_select_initial_window` with the window clamp `tcp_openreq_init_rwin` sets
    /// to the full space): ilog2(min(window, rmem_max)) − 15, at least 0.
    pub fn offered_wscale(&self) -> Option<u8> {
        let ours = self.window_scale?;
        if !(self.window_is_sockopt && self.ack_policy == AckPolicy::Linux) {
            return Some(ours);
        }
        let space = self.window.clamp(1, super::linux_window::RMEM_MAX);
        Some(ours.min(space.ilog2().saturating_sub(15) as u8))
    }

    pub fn max_window(&self) -> u32 {
        (u16::MAX as u32) << self.window_scale.unwrap_or(0).min(14)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A locked 4 KiB buffer gets shift 0 on Linux, as measured (`data_zero_window`); a
    /// locked 1 MiB one is capped at rmem_max (212992: shift 2); the profile's own
    /// buffer keeps the profile's shift.
    #[test]
    fn a_buffer_the_scenario_sets_decides_linuxs_window_scale() {
        let locked = |window| Config {
            window,
            window_is_sockopt: true,
            ..Config::linux()
        };
        assert_eq!(locked(4096).offered_wscale(), Some(0));
        assert_eq!(locked(1 << 20).offered_wscale(), Some(2));
        assert_eq!(Config::linux().offered_wscale(), Some(10));
        let rfc = Config {
            window_is_sockopt: true,
            window_scale: Some(3),
            ..Config::default()
        };
        assert_eq!(
            rfc.offered_wscale(),
            Some(3),
            "RFC acks: the setting as it is"
        );
    }
}
