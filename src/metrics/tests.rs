//! The sampler on hand-built event streams.

use super::*;
use crate::scenario::load_str;
use crate::tcp::{Endpoint, Why};
use crate::trace::ConnRef;

const SC: &str = "[tcp]\nephemeral_ports = \"100-109\"\n[[host]]\nname = \"a\"\n[[host]]\nname = \"b\"\n[[link]]\na = \"a\"\nb = \"b\"\n";

const S: u64 = 1_000_000_000;

fn conn(id: u32, host: u32, port: u16) -> ConnRef {
    ConnRef {
        id,
        host,
        local: Endpoint { addr: host, port },
        remote: Endpoint { addr: 99, port: 80 },
    }
}

fn state(t: u64, c: ConnRef, from: State, to: State) -> Event {
    Event {
        t,
        kind: EventKind::State {
            conn: c,
            from,
            to,
            why: Why::default(),
        },
    }
}

fn app(t: u64, host: u32, c: Option<ConnRef>, what: AppEvent) -> Event {
    Event {
        t,
        kind: EventKind::App {
            host,
            conn: c,
            what,
        },
    }
}

fn run(events: &[Event], end: u64) -> (Rows, Vec<Sample>, Latencies) {
    let sc = load_str(SC, "<test>").expect("loads");
    let mut s = Sampler::new(&sc, S);
    events.iter().for_each(|e| s.observe(e));
    s.finish(end)
}

fn at(samples: &[Sample], t: u64, row: u32) -> Sample {
    *samples
        .iter()
        .find(|s| s.t == t && s.row == row)
        .expect("sample")
}

#[test]
fn an_event_exactly_at_a_sample_time_is_in_that_sample() {
    let c = conn(0, 0, 100);
    let evs = [
        state(S, c, State::Closed, State::SynSent),
        state(S + 1, c, State::SynSent, State::Established),
    ];
    let (_, samples, _) = run(&evs, 2 * S);
    let first = at(&samples, S, 0);
    assert_eq!(first.counters.opened, 1);
    assert_eq!(first.states[state_index(State::SynSent)], 1);
    assert_eq!(first.ports_free, 9);
    let second = at(&samples, 2 * S, 0);
    assert_eq!(second.counters.opened, 0);
    assert_eq!(second.counters.established, 1);
    assert_eq!(second.states[state_index(State::Established)], 1);
    assert_eq!(samples.len(), 4, "two rows (a, b) at 1 s and 2 s");
}

#[test]
fn time_wait_holds_its_port_until_closed() {
    let c = conn(0, 0, 105);
    let evs = [
        state(0, c, State::Closed, State::SynSent),
        state(1, c, State::SynSent, State::Established),
        state(2, c, State::Established, State::FinWait1),
        state(3, c, State::FinWait1, State::FinWait2),
        state(4, c, State::FinWait2, State::TimeWait),
        state(3 * S, c, State::TimeWait, State::Closed),
    ];
    let (_, samples, lat) = run(&evs, 3 * S);
    let two = at(&samples, 2 * S, 0);
    assert_eq!(two.states[state_index(State::TimeWait)], 1);
    assert_eq!(two.ports_free, 9);
    let three = at(&samples, 3 * S, 0);
    assert_eq!(three.states, [0; 11]);
    assert_eq!(three.ports_free, 10);
    assert_eq!(three.counters.failed, 0);
    assert_eq!(lat.connect, vec![1]);
    assert_eq!(lat.completion, vec![3 * S]);
}

#[test]
fn failures_resets_listeners_and_goodput() {
    let c = conn(0, 0, 101);
    let s = conn(1, 1, 80);
    let evs = [
        app(0, 1, None, AppEvent::Listen { port: 80 }),
        app(0, 0, None, AppEvent::PortUnavailable { port: 0 }),
        state(0, c, State::Closed, State::SynSent),
        state(1, c, State::SynSent, State::Closed),
        state(2, s, State::Listen, State::SynReceived),
        state(3, s, State::SynReceived, State::Established),
        app(4, 1, Some(s), AppEvent::Receive { bytes: 500 }),
        app(5, 1, Some(s), AppEvent::Reset),
        state(5, s, State::Established, State::Closed),
    ];
    let (rows, samples, lat) = run(&evs, S);
    assert_eq!(rows.name(1), "b");
    let a = at(&samples, S, 0);
    assert_eq!((a.counters.opened, a.counters.failed), (1, 2));
    let b = at(&samples, S, 1);
    assert_eq!(b.states[state_index(State::Listen)], 1);
    assert_eq!((b.counters.opened, b.counters.established), (1, 1));
    assert_eq!((b.counters.reset, b.counters.bytes), (1, 500));
    assert!(lat.first_byte.is_empty(), "a passive open is not measured");
}

#[test]
fn two_connections_sharing_a_port_hold_it_once() {
    let evs = [
        state(0, conn(0, 0, 100), State::Closed, State::SynSent),
        state(0, conn(1, 0, 100), State::Closed, State::SynSent),
        state(1, conn(0, 0, 100), State::SynSent, State::Closed),
    ];
    let (_, samples, _) = run(&evs, S);
    assert_eq!(at(&samples, S, 0).ports_free, 9);
}

#[test]
fn a_group_is_one_row_summing_its_hosts() {
    let sc = load_str(
        "[[host]]\nname = \"hub\"\n[[group]]\nname = \"c\"\ncount = 3\nsubnet = \"10.1.0.0/24\"\nlink_to = \"hub\"\n",
        "<test>",
    )
    .expect("loads");
    let rows = Rows::new(&sc);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows.name(1), "c");
    assert_eq!(rows.range(1), 3 * rows.range(0));
    assert_eq!(rows.of(1), Some(1));
    assert_eq!(rows.of(3), Some(1));
}
