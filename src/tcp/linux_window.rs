//! Linux's receive window, for `ack_policy = "linux"`: the window in the SYN and SYN,ACK
//! (tcp_output.c `tcp_select_initial_window`, tcp_minisocks.c `tcp_openreq_init_rwin`),
//! the clamp set once established (tcp_input.c `tcp_init_buffer_space`), and the window
//! each segment advertises (tcp_output.c `__tcp_select_window`, `tcp_select_window`).
//!
//! Receive memory is modelled simply: the socket's buffer (`window`, Linux's
//! `tcp_rmem[1]`) counts at the scaling ratio (a half at first, then set from the
//! truesize of the first full segment), so the space a window may cover is that share of
//! the buffer, less what is charged: with `rmem_per_segment` every segment not yet read
//! whole ([`SegmentMemory`]), else the bytes not yet read.

/// The kernel's memory cost of a received segment beyond its payload (sk_buff, shared
/// info, allocator rounding): with 1448-byte segments a truesize of 2304 bytes, which makes
/// the scaling ratio 160/256 and lets the window grow to about 80 kB, as the kernel's does
/// on this machine's TUN devices. A calibration, not a derivation.
const TRUESIZE_OVERHEAD: u32 = 856;

/// The receive-window state that outlives a single segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LinuxWindow {
    /// The receive buffer (`sk_rcvbuf`).
    buffer: u32,
    /// `scaling_ratio`: the share of the buffer the window may cover, in 256ths.
    ratio: u32,
    /// `tcp_full_space`: the buffer at the scaling ratio.
    full_space: u32,
    /// `window_clamp`, and `rcv_ssthresh` (the slow-start bound on the window), once
    /// established.
    clamp: u32,
    ssthresh: u32,
    /// The window last advertised (`tp->rcv_wnd`), in bytes.
    pub advertised: u32,
    /// Receive-buffer autotuning (`tcp_rcv_space_adjust`), up to this buffer; 0: off (the
    /// application set SO_RCVBUF, or the scenario set `window`).
    autotune_max: u32,
    /// `rcvq_space`: the most the application copied in one round trip, and the current
    /// round trip's count and start.
    rcvq_space: u32,
    copied: u64,
    round_start: u64,
}

/// `net.core.rmem_max`'s default: the most SO_RCVBUF takes (before doubling).
pub const RMEM_MAX: u32 = 212_992;

/// `tcp_rmem[2]` on a 6.x kernel with memory to spare: 32 MiB.
pub const AUTOTUNE_MAX: u32 = 32 << 20;

impl LinuxWindow {
    pub fn new(buffer: u32) -> Self {
        let full_space = buffer / 2;
        LinuxWindow {
            buffer,
            ratio: 128,
            full_space,
            clamp: full_space,
            ssthresh: full_space,
            advertised: 0,
            autotune_max: 0,
            rcvq_space: 0,
            copied: 0,
            round_start: 0,
        }
    }

    /// With receive-buffer autotuning up to `max` bytes.
    pub fn autotuned(mut self, max: u32) -> Self {
        self.autotune_max = max;
        self
    }

    /// The window of a SYN or SYN,ACK: the space rounded down to whole segments of `mss`
    /// (the client's advertised MSS; a listener's less the timestamps option when the SYN
    /// carried it): 64240 for 1460, 65160 for 1448, with a 128 kB buffer. It is the window
    /// advertised until the handshake completes.
    pub fn syn_window(&mut self, mss: u32) -> u32 {
        let mss = mss.max(1);
        self.advertised = if self.full_space > mss {
            self.full_space / mss * mss
        } else {
            self.full_space
        };
        self.advertised
    }

    /// `tcp_init_buffer_space`: with tcp_app_win = 31 the clamp leaves one segment of the
    /// space to the application: max(2·advmss, space − advmss), 64088 for 1448.
    pub fn establish(&mut self, advmss: u32) {
        self.clamp = (2 * advmss).max(self.full_space.saturating_sub(advmss));
        self.ssthresh = self.ssthresh.min(self.clamp);
        // tcp_init_buffer_space: rcvq_space starts at the initial window of 10 segments.
        self.rcvq_space = self.advertised.min(10 * advmss);
    }

    /// The application copied `n` bytes at `now` (`tcp_rcv_space_adjust`, once per
    /// receiver round trip `rtt`): when it took more than ever before in a round trip, the
    /// window to allow is twice that plus 16 segments of `advmss`, grown again by twice
    /// the relative increase (room for the sender's slow start), and the buffer follows,
    /// up to the autotuning limit, and the clamp with it.
    pub fn on_read(&mut self, now: u64, n: u64, rtt: u64, advmss: u32) {
        if self.autotune_max == 0 {
            return;
        }
        self.copied += n;
        if now < self.round_start.saturating_add(rtt.max(1)) {
            return;
        }
        let copied = self.copied.min(u64::from(u32::MAX)) as u32;
        if copied > self.rcvq_space {
            let space = u64::from(self.rcvq_space.max(1));
            let mut rcvwin = 2 * u64::from(copied) + 16 * u64::from(advmss);
            let grow = rcvwin * (u64::from(copied) - space) / space;
            rcvwin = rcvwin.saturating_add(2 * grow);
            self.rcvq_space = copied;
            let wanted = (rcvwin.saturating_mul(256) / u64::from(self.ratio.max(1)))
                .min(u64::from(self.autotune_max)) as u32;
            if wanted > self.buffer {
                self.buffer = wanted;
                self.full_space = (u64::from(self.buffer) * u64::from(self.ratio) / 256) as u32;
                self.clamp = self.full_space;
            }
        }
        self.copied = 0;
        self.round_start = now;
    }

    /// A data segment of `len` bytes arrived in order with `unread` bytes waiting
    /// (`tcp_measure_rcv_mss`, `tcp_grow_window`): a full segment of a new size sets the
    /// scaling ratio from its truesize, and the window's slow-start bound grows by two
    /// segments while there is room. Returns whether it grew (the kernel then grants one
    /// more quick ACK).
    pub fn on_data(&mut self, len: u32, new_size: bool, advmss: u32, unread: u64) -> bool {
        if new_size && len > 0 {
            self.ratio = (len * 256 / (len + TRUESIZE_OVERHEAD)).max(1);
            self.full_space = (u64::from(self.buffer) * u64::from(self.ratio) / 256) as u32;
            self.clamp = self.full_space;
            self.ssthresh = self.ssthresh.min(self.clamp);
        }
        if len < 128 {
            return false;
        }
        let space = (self.full_space as u64).saturating_sub(unread) as u32;
        let room = self.clamp.min(space).saturating_sub(self.ssthresh);
        if room == 0 {
            return false;
        }
        let step = (2 * advmss).max(2 * len);
        self.ssthresh += room.min(step);
        true
    }

    /// `__tcp_select_window`: the free space (less what is unread), bounded by rcv_ssthresh,
    /// rounded up to the window-scale granularity; zero when little is free.
    pub fn select(&self, unread: u64, rcv_mss: u32, wscale: u8) -> u32 {
        let full = self.clamp.min(self.full_space);
        let mss = rcv_mss.min(full);
        let mut free = (self.full_space as u64).saturating_sub(unread) as u32;
        let unit = 1u32 << wscale.min(14);
        if free < full / 2 {
            free = free / unit * unit;
            if free < self.full_space / 16 || free < mss {
                return 0;
            }
        }
        let free = free.min(self.ssthresh);
        if wscale > 0 {
            return free.div_ceil(unit).saturating_mul(unit);
        }
        // Without scaling, the window moves in whole segments.
        let window = self.advertised;
        if window.saturating_add(mss) <= free || window > free {
            free.checked_div(mss).map_or(free, |n| n * mss)
        } else {
            window
        }
    }

    /// `tcp_select_window`: never less than what the last window still offers
    /// (`remaining`, rounded up to the scale unit); the result is what is advertised now.
    pub fn advertise(&mut self, new: u32, remaining: u32, wscale: u8) -> u32 {
        let unit = 1u32 << wscale.min(14);
        let window = if new < remaining {
            remaining.div_ceil(unit).saturating_mul(unit)
        } else {
            new
        };
        self.advertised = window;
        window
    }

    pub fn clamp(&self) -> u32 {
        self.clamp
    }
}

/// The received segments the application has not read whole, oldest first: Linux frees
/// an sk_buff (and its `truesize` of receive memory) only once every byte of it has been
/// copied out (tcp.c `tcp_recvmsg_locked` → `tcp_eat_recv_skb`), so a segment read in
/// part still costs its whole length. No coalescing: with GRO off on a TUN device each
/// segment stays an sk_buff of its own, as `tcpsim diff` shows on `data_zero_window`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SegmentMemory {
    /// Lengths of the segments delivered in order and not read whole.
    held: std::collections::VecDeque<u32>,
    /// Bytes already read of the oldest one.
    partial: u32,
}

impl SegmentMemory {
    /// A segment of `len` bytes joined the receive queue.
    pub fn deliver(&mut self, len: u32) {
        if len > 0 {
            self.held.push_back(len);
        }
    }

    /// The application read `n` bytes: whole segments are freed, the rest is partial.
    pub fn read(&mut self, mut n: u64) {
        while let Some(&front) = self.held.front() {
            let left = u64::from(front - self.partial);
            if n < left {
                self.partial += n as u32;
                return;
            }
            n -= left;
            self.held.pop_front();
            self.partial = 0;
        }
    }

    /// Bytes read but still charged: the read part of the oldest segment.
    pub fn read_but_held(&self) -> u64 {
        u64::from(self.partial)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_read_in_part_stays_charged_whole() {
        let mut m = SegmentMemory::default();
        for _ in 0..3 {
            m.deliver(1448);
        }
        m.read(1000);
        assert_eq!(m.read_but_held(), 1000, "the first segment is still held");
        m.read(1000);
        assert_eq!(
            m.read_but_held(),
            552,
            "the first is freed, the second read in part"
        );
        m.read(2344);
        assert_eq!(m.read_but_held(), 0, "all read: nothing held");
        m.read(10);
        assert_eq!(m.read_but_held(), 0);
    }

    #[test]
    fn windows_of_a_default_linux_socket() {
        let mut w = LinuxWindow::new(131_072);
        assert_eq!(w.syn_window(1460), 64_240, "client SYN");
        assert_eq!(w.advertised, 64_240);
        assert_eq!(
            w.syn_window(1448),
            65_160,
            "SYN,ACK to a SYN with timestamps"
        );
        w.establish(1448);
        assert_eq!(w.clamp(), 64_088);
        assert_eq!(w.select(0, 536, 10), 64_512, "advertised as 63 << 10");
        assert_eq!(
            w.select(1448, 1448, 10),
            64_512,
            "one unread segment: no shrink"
        );
        assert_eq!(w.select(2896, 1448, 10), 63_488, "two: smaller");
        assert_eq!(
            w.select(60_000, 1448, 10),
            5_120,
            "less than half free: rounded down"
        );
        assert_eq!(w.select(62_000, 1448, 10), 0, "little free: zero");
    }
}
