//! Retransmission timeout estimator of RFC 6298.

/// SRTT/RTTVAR state and the current RTO with its backoff. Times in ns.
#[derive(Debug, Clone, PartialEq)]
pub struct RtoEstimator {
    srtt: Option<u64>,
    rttvar: u64,
    /// RTO before backoff, from the last sample (RFC 6298 §2).
    base: u64,
    /// Number of consecutive backoffs (RFC 6298 §5.5 doubles per expiry).
    backoffs: u32,
    min: u64,
    max: u64,
}

/// `base` doubled `n` times, saturating (a plain shift would drop the high bits).
pub fn doubled(base: u64, n: u32) -> u64 {
    1u64.checked_shl(n)
        .map_or(u64::MAX, |factor| base.saturating_mul(factor))
}

/// RFC 6298 §2: clock granularity G; tcpsim's clock is exact, 1 ms keeps RTO sane on tiny RTTs.
const GRANULARITY: u64 = 1_000_000;

impl RtoEstimator {
    pub fn new(initial: u64, min: u64, max: u64) -> Self {
        RtoEstimator {
            srtt: None,
            rttvar: 0,
            base: initial.clamp(min, max),
            backoffs: 0,
            min,
            max,
        }
    }

    /// The timeout to arm now, with backoff applied and bounded by the maximum.
    pub fn rto(&self) -> u64 {
        doubled(self.base, self.backoffs)
            .min(self.max)
            .max(self.base.min(self.max))
    }

    pub fn backoffs(&self) -> u32 {
        self.backoffs
    }

    pub fn srtt(&self) -> Option<u64> {
        self.srtt
    }

    /// RFC 6298 §2.2 / §2.3: fold in a new measurement `r` (ns). Only a new measurement
    /// clears the backoff (§5, last paragraph: "once a new RTT measurement is obtained ...
    /// the computations outlined in Section 2 are performed ... which may result in
    /// 'collapsing' RTO back down"; Karn's algorithm keeps the backed-off RTO until then).
    pub fn on_sample(&mut self, r: u64) {
        match self.srtt {
            None => {
                // §2.2: SRTT <- R, RTTVAR <- R/2
                self.srtt = Some(r);
                self.rttvar = r / 2;
            }
            Some(srtt) => {
                // §2.3: RTTVAR <- 3/4 RTTVAR + 1/4 |SRTT - R'|; SRTT <- 7/8 SRTT + 1/8 R'
                let delta = srtt.abs_diff(r);
                // Saturating: a sample is as long as the scenario's link delays make it.
                self.rttvar = self.rttvar.saturating_mul(3).saturating_add(delta) / 4;
                self.srtt = Some(srtt.saturating_mul(7).saturating_add(r) / 8);
            }
        }
        // RTO <- SRTT + max(G, K*RTTVAR) with K = 4; §2.4 minimum, §2.5 maximum.
        let srtt = self.srtt.unwrap_or(r);
        let variance = GRANULARITY.max(self.rttvar.saturating_mul(4));
        self.base = srtt.saturating_add(variance).clamp(self.min, self.max);
        self.backoffs = 0;
    }

    /// RFC 6298 §5.5: the timer expired, so double the RTO ("back off the timer").
    pub fn back_off(&mut self) {
        self.backoffs = self.backoffs.saturating_add(1);
    }

    /// RFC 6298 §5.7: the SYN timed out and no RTT sample was taken, so data transmission
    /// starts from `rto` (3 s) if the RTO in use is less, with no backoff.
    pub fn reinitialize(&mut self, rto: u64) {
        if self.srtt.is_none() {
            self.base = self.base.max(rto).clamp(self.min, self.max);
            self.backoffs = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const MS: u64 = 1_000_000;
    const S: u64 = 1_000 * MS;

    #[test]
    fn initial_and_backoff() {
        let mut e = RtoEstimator::new(S, S, 60 * S);
        assert_eq!(e.rto(), S);
        e.back_off();
        assert_eq!(e.rto(), 2 * S);
        e.back_off();
        assert_eq!(e.rto(), 4 * S);
        for _ in 0..10 {
            e.back_off();
        }
        assert_eq!(e.rto(), 60 * S, "bounded by the maximum (RFC 6298 §5.5)");
    }

    #[test]
    fn first_and_later_samples() {
        let mut e = RtoEstimator::new(S, 10 * MS, 60 * S);
        e.on_sample(100 * MS);
        // SRTT = 100 ms, RTTVAR = 50 ms, RTO = 100 + 4*50 = 300 ms
        assert_eq!(e.srtt(), Some(100 * MS));
        assert_eq!(e.rto(), 300 * MS);
        e.on_sample(200 * MS);
        // RTTVAR = 3/4*50 + 1/4*100 = 62.5; SRTT = 7/8*100 + 1/8*200 = 112.5; RTO = 362.5 ms
        assert_eq!(e.srtt(), Some(112_500_000));
        assert_eq!(e.rto(), 362_500_000);
    }

    #[test]
    fn doubling_saturates() {
        assert_eq!(doubled(3, 2), 12);
        assert_eq!(doubled(60 * S, 40), u64::MAX);
        assert_eq!(doubled(1, 64), u64::MAX);
    }

    #[test]
    fn minimum_applies() {
        let mut e = RtoEstimator::new(S, S, 60 * S);
        e.on_sample(MS);
        assert_eq!(e.rto(), S, "RFC 6298 §2.4: rounded up to 1 s");
    }

    #[test]
    fn syn_loss_reinitializes_to_three_seconds_until_a_sample() {
        let mut e = RtoEstimator::new(S, S, 60 * S);
        e.back_off();
        e.back_off();
        e.reinitialize(3 * S);
        assert_eq!(e.rto(), 3 * S, "RFC 6298 §5.7");
        e.on_sample(100 * MS);
        assert_eq!(e.rto(), S, "the first sample takes over (rto_min 1 s)");
        e.reinitialize(3 * S);
        assert_eq!(e.rto(), S, "only before any sample");
    }

    #[test]
    fn sample_clears_backoff() {
        let mut e = RtoEstimator::new(S, 10 * MS, 60 * S);
        e.back_off();
        e.on_sample(100 * MS);
        assert_eq!(e.backoffs(), 0);
    }
}
