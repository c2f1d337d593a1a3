//! The rule behind each segment a connection sends and each state it enters, so that
//! `--explain` can print it: the TCP reports the reason with the action, the renderer
//! only prints it.

/// A rule of the RFCs (or of a documented setting) that made the TCP act.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Why {
    /// Not attributed (nothing the TCP decided: e.g. an injected segment's copy).
    #[default]
    Unexplained,
    // Opening.
    ActiveOpen,
    PassiveOpen,
    SimultaneousOpen,
    SynAckAccepted,
    SynAckAckAccepted,
    SynRetransmit,
    // Data.
    Data,
    DataFin,
    Fin,
    RtoResend,
    FastRetransmit,
    LossProbe,
    PartialAck,
    SwsOverride,
    WindowProbe,
    WindowProbeOldSeq,
    LimitedTransmit,
    ResumeAfterProbe,
    // ACKs.
    AckData,
    DelayedAck,
    AckOutOfOrder,
    AckFin,
    AckUnacceptable,
    AckUnsent,
    AckZeroWindow,
    WindowUpdate,
    TimeWaitReAck,
    TimeWaitAckRestart,
    PawsAck,
    ChallengeAck,
    // Closing.
    CloseFromEstablished,
    CloseFromCloseWait,
    CloseQueuedUntilEstablished,
    CloseFromSynReceived,
    FinAcked,
    FinReceived,
    FinBeforeOurFinAcked,
    FinAfterOurFinAcked,
    ClosingAcked,
    LastAckAcked,
    TimeWaitExpired,
    FinWait2Timeout,
    // Resets and failures.
    Abort,
    AbortSilently,
    RstReceived,
    RstRefused,
    RstBackToListen,
    SynBackToListen,
    OldDuplicateBackToTimeWait,
    SynInWindow,
    DataAfterClose,
    CloseWithUnreadData,
    RstBadAck,
    RstClosedPort,
    RstListenAck,
    TimedOut,
    CloseBeforeEstablished,
    // Decided outside the state machine.
    HostCrash,
    TimeWaitReopen,
    TimeWaitReuse,
    Injected,
}

impl Why {
    /// The rule in a few words and where it is written.
    pub fn explain(self) -> (&'static str, &'static str) {
        use Why::*;
        match self {
            Unexplained => ("", ""),
            ActiveOpen => ("active OPEN: send SYN, enter SYN_SENT", "RFC 9293 §3.10.1"),
            PassiveOpen => (
                "SYN to a LISTEN socket: send SYN,ACK, enter SYN_RECEIVED",
                "RFC 9293 §3.10.7.2",
            ),
            SimultaneousOpen => (
                "SYN without ACK in SYN_SENT (simultaneous open): send SYN,ACK, enter SYN_RECEIVED",
                "RFC 9293 §3.10.7.3",
            ),
            SynAckAccepted => (
                "SYN,ACK acknowledges our SYN: ACK it, enter ESTABLISHED",
                "RFC 9293 §3.10.7.3",
            ),
            SynAckAckAccepted => (
                "ACK acknowledges our SYN,ACK: enter ESTABLISHED",
                "RFC 9293 §3.10.7.4 fifth step",
            ),
            SynRetransmit => (
                "retransmission timeout: resend the SYN",
                "RFC 6298 §5.4, RFC 9293 §3.8.1",
            ),
            Data => (
                "new data within the send and congestion windows",
                "RFC 9293 §3.8.6, RFC 5681 §3.1",
            ),
            DataFin => (
                "the last queued data, with the FIN the application's CLOSE asked for",
                "RFC 9293 §3.10.4",
            ),
            Fin => ("CLOSE: FIN after the last queued byte", "RFC 9293 §3.10.4"),
            RtoResend => (
                "after a retransmission timeout: resend from SND.UNA as cwnd allows",
                "RFC 6298 §5.4, RFC 5681 §3.1",
            ),
            FastRetransmit => (
                "third duplicate ACK: retransmit the segment at SND.UNA",
                "RFC 5681 §3.2",
            ),
            LossProbe => (
                "tail loss probe: new data, else the last segment again, before the RTO",
                "RFC 8985 §7.3; tcp_output.c: tcp_send_loss_probe()",
            ),
            PartialAck => (
                "partial ACK in fast recovery: retransmit the next hole",
                "RFC 6582 §3.2",
            ),
            SwsOverride => (
                "override timeout: send the short segment silly-window avoidance held",
                "RFC 1122 §4.2.3.4",
            ),
            WindowProbe => (
                "zero window: probe with the next octet (or the FIN)",
                "RFC 9293 §3.8.6.1",
            ),
            WindowProbeOldSeq => (
                "zero window: probe with a bare ACK at SND.UNA-1, out of the window, which the receiver answers with its window",
                "Linux tcp_output.c tcp_xmit_probe_skb",
            ),
            LimitedTransmit => (
                "first or second duplicate ACK: one new segment beyond cwnd",
                "RFC 3042, RFC 5681 §3.2 step 1",
            ),
            ResumeAfterProbe => (
                "the window reopened: resume at SND.UNA, where the refused probe was",
                "RFC 9293 §3.8.6.1",
            ),
            AckData => (
                "in-order data: ACK every second full segment",
                "RFC 5681 §4.2",
            ),
            DelayedAck => (
                "delayed-ACK timer: ACK the data received",
                "RFC 1122 §4.2.3.2",
            ),
            AckOutOfOrder => (
                "out-of-order data, or data filling a gap: ACK at once",
                "RFC 5681 §4.2",
            ),
            AckFin => (
                "FIN received: advance RCV.NXT over it and ACK",
                "RFC 9293 §3.10.7.4 eighth step",
            ),
            AckUnacceptable => (
                "segment outside the receive window: ACK and drop",
                "RFC 9293 §3.10.7.4 first step",
            ),
            AckUnsent => (
                "ACK of data not yet sent: ACK and drop",
                "RFC 9293 §3.10.7.4 fifth step",
            ),
            AckZeroWindow => (
                "zero receive window: the text is refused, its ACK field processed",
                "RFC 9293 §3.10.7.4 first step",
            ),
            WindowUpdate => (
                "the application read: announce the reopened window",
                "RFC 1122 §4.2.3.3",
            ),
            TimeWaitReAck => (
                "retransmitted FIN in TIME_WAIT: ACK it, restart the timer",
                "RFC 9293 §3.10.7.4",
            ),
            TimeWaitAckRestart => (
                "acceptable segment in TIME_WAIT, taken for the FIN again: ACK it, restart the timer",
                "RFC 9293 §3.10.7.4 fifth step",
            ),
            PawsAck => (
                "timestamp older than TS.Recent (PAWS): ACK and drop",
                "RFC 7323 §5.3",
            ),
            ChallengeAck => (
                "challenge ACK instead of acting on a suspicious RST, SYN or ACK",
                "RFC 5961 §3–5",
            ),
            CloseFromEstablished => (
                "CLOSE in ESTABLISHED: enter FIN_WAIT_1, FIN after queued data",
                "RFC 9293 §3.10.4",
            ),
            CloseFromCloseWait => (
                "CLOSE in CLOSE_WAIT: FIN after queued data, enter LAST_ACK",
                "RFC 9293 §3.10.4",
            ),
            CloseQueuedUntilEstablished => (
                "CLOSE was queued in SYN_RECEIVED: FIN_WAIT_1 on entering ESTABLISHED",
                "RFC 9293 §3.10.4",
            ),
            CloseFromSynReceived => (
                "CLOSE in SYN_RECEIVED with nothing to send: send FIN, enter FIN_WAIT_1",
                "RFC 9293 §3.10.4",
            ),
            FinAcked => (
                "our FIN is acknowledged: enter FIN_WAIT_2",
                "RFC 9293 §3.10.7.4 fifth step",
            ),
            FinReceived => (
                "FIN received: enter CLOSE_WAIT",
                "RFC 9293 §3.10.7.4 eighth step",
            ),
            FinBeforeOurFinAcked => (
                "FIN received before our FIN was ACKed: enter CLOSING",
                "RFC 9293 §3.10.7.4 eighth step",
            ),
            FinAfterOurFinAcked => (
                "FIN received: enter TIME_WAIT, start the 2×MSL timer",
                "RFC 9293 §3.10.7.4 eighth step",
            ),
            ClosingAcked => (
                "our FIN is acknowledged in CLOSING: enter TIME_WAIT",
                "RFC 9293 §3.10.7.4 fifth step",
            ),
            LastAckAcked => (
                "our FIN is acknowledged in LAST_ACK: delete the TCB",
                "RFC 9293 §3.10.7.4 fifth step",
            ),
            TimeWaitExpired => (
                "TIME_WAIT timer expired: delete the TCB",
                "RFC 9293 §3.10.8",
            ),
            FinWait2Timeout => (
                "FIN_WAIT_2 timeout (a setting, as Linux's tcp_fin_timeout)",
                "not in RFC 9293",
            ),
            Abort => ("ABORT: send RST, delete the TCB", "RFC 9293 §3.10.5"),
            AbortSilently => (
                "ABORT where the peer holds nothing to reset: delete the TCB",
                "RFC 9293 §3.10.5",
            ),
            RstReceived => (
                "RST in the window: the connection is reset",
                "RFC 9293 §3.10.7.4 second step",
            ),
            RstRefused => (
                "RST acknowledging our SYN: connection refused",
                "RFC 9293 §3.10.7.3",
            ),
            RstBackToListen => (
                "RST in SYN_RECEIVED after a passive OPEN: back to LISTEN",
                "RFC 9293 §3.10.7.4 second step",
            ),
            SynBackToListen => (
                "SYN in SYN_RECEIVED after a passive OPEN: back to LISTEN",
                "RFC 9293 §3.10.7.4 fourth step",
            ),
            OldDuplicateBackToTimeWait => (
                "RST: the SYN that reopened TIME_WAIT was an old duplicate, back to TIME_WAIT",
                "RFC 1122 §4.2.2.13",
            ),
            SynInWindow => (
                "SYN in the window of a synchronized connection: send RST, close",
                "RFC 9293 §3.10.7.4 fourth step",
            ),
            DataAfterClose => (
                "data after the application's CLOSE (half-duplex close): RST, the data is lost",
                "RFC 1122 §4.2.2.13",
            ),
            CloseWithUnreadData => (
                "CLOSE with received data unread (half-duplex close): RST instead of FIN",
                "RFC 1122 §4.2.2.13",
            ),
            RstBadAck => (
                "unacceptable ACK: send RST <SEQ=SEG.ACK>",
                "RFC 9293 §3.10.7.3, §3.10.7.4",
            ),
            RstClosedPort => ("segment for no connection: send RST", "RFC 9293 §3.10.7.1"),
            RstListenAck => (
                "ACK to a LISTEN socket: send RST <SEQ=SEG.ACK>",
                "RFC 9293 §3.10.7.2",
            ),
            TimedOut => (
                "retransmissions exhausted: give up on the connection",
                "RFC 1122 §4.2.3.5",
            ),
            CloseBeforeEstablished => ("CLOSE in SYN_SENT: delete the TCB", "RFC 9293 §3.10.4"),
            HostCrash => (
                "the host crashed: every connection is lost",
                "scenario fault",
            ),
            TimeWaitReopen => (
                "a new SYN above the old connection's sequence space reopens the 4-tuple",
                "RFC 1122 §4.2.2.13, RFC 6191",
            ),
            TimeWaitReuse => (
                "a new connect() takes the 4-tuple over from TIME_WAIT (tw_reuse)",
                "Linux tcp_tw_reuse",
            ),
            Injected => ("a hand-written [[inject]] segment", "scenario"),
        }
    }
}
