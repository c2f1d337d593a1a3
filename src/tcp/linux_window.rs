//! Linux's receive window, for `ack_policy = "linux"`: the window in the SYN and SYN,ACK
//! (tcp_output.c `tcp_select_initial_window`, tcp_minisocks.c `tcp_openreq_init_rwin`),
//! the clamp set once established (tcp_input.c `tcp_init_buffer_space`), and the window
//! each segment advertises (tcp_output.c `__tcp_select_window`, `tcp_select_window`).
//!
//! Receive memory is modelled simply: the socket's buffer (`window`, Linux's
//! `tcp_rmem[1]`) counts at the kernel's initial scaling ratio of one half, so the space a
//! window may cover is half the buffer, less what the application has not read. The
//! kernel's per-segment memory accounting (skb truesize) and receive-buffer autotuning
//! (DRS) are not modelled; the window then stays near the initial 64 kB.

/// The receive-window state that outlives a single segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LinuxWindow {
    /// `tcp_full_space`: the buffer at the scaling ratio (half).
    full_space: u32,
    /// `window_clamp`, and `rcv_ssthresh` (the slow-start bound on the window), once
    /// established.
    clamp: u32,
    ssthresh: u32,
    /// The window last advertised (`tp->rcv_wnd`), in bytes.
    pub advertised: u32,
}

impl LinuxWindow {
    pub fn new(buffer: u32) -> Self {
        let full_space = buffer / 2;
        LinuxWindow {
            full_space,
            clamp: full_space,
            ssthresh: full_space,
            advertised: 0,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

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
