//! Turns the indices in events back into the names users wrote.

use rustc_hash::FxHashMap;
use std::fmt;

use super::{Cause, Fate};
use crate::scenario::model::{NodeKind, Scenario};
use crate::tcp::{Endpoint, Segment};

pub struct Names {
    /// Every node's name, one after the other: one allocation for a million hosts, not
    /// one per host (making and freeing a million small strings was a tenth of loading).
    node_text: String,
    /// Where node i's name ends in `node_text` (it starts where node i − 1's ends).
    node_ends: Vec<usize>,
    faults: Vec<String>,
    addrs: FxHashMap<u32, u32>,
}

impl Names {
    pub fn new(sc: &Scenario) -> Self {
        let mut addrs = FxHashMap::default();
        addrs.reserve(sc.nodes.len());
        addrs.extend(
            sc.nodes
                .iter()
                .enumerate()
                .filter_map(|(i, n)| match n.kind {
                    NodeKind::Host { addr, .. } => Some((addr, i as u32)),
                    NodeKind::Router => None,
                }),
        );
        let mut node_text = String::with_capacity(sc.nodes.iter().map(|n| n.name.len()).sum());
        let node_ends = (sc.nodes.iter())
            .map(|n| {
                node_text.push_str(&n.name);
                node_text.len()
            })
            .collect();
        Names {
            node_text,
            node_ends,
            faults: sc.faults.iter().map(|f| f.name.clone()).collect(),
            addrs,
        }
    }

    pub fn node(&self, i: u32) -> &str {
        let Some(&end) = self.node_ends.get(i as usize) else {
            return "?";
        };
        let start = match i {
            0 => 0,
            _ => self.node_ends[i as usize - 1],
        };
        &self.node_text[start..end]
    }

    /// The host that owns `addr`, if any.
    pub fn node_of_addr(&self, addr: u32) -> Option<u32> {
        self.addrs.get(&addr).copied()
    }

    pub fn fault(&self, i: u32) -> &str {
        self.faults.get(i as usize).map_or("?", String::as_str)
    }

    /// "host:port", or the dotted address when no host owns it.
    pub fn endpoint(&self, e: Endpoint) -> String {
        self.endpoint_name(e).to_string()
    }

    /// The name of the host whose address `e` is, if one has it.
    pub fn host_of(&self, e: Endpoint) -> Option<&str> {
        self.addrs.get(&e.addr).map(|&n| self.node(n))
    }

    /// Appends [`Self::endpoint`] to `out` (the transcript's hot path: no `fmt` call).
    pub fn push_endpoint(&self, out: &mut String, e: Endpoint) {
        match self.host_of(e) {
            Some(host) => out.push_str(host),
            None => {
                use std::fmt::Write;
                let _ = write!(out, "{}", std::net::Ipv4Addr::from(e.addr));
            }
        }
        out.push(':');
        super::digits::push_decimal(out, e.port.into());
    }

    /// [`Self::endpoint`] as a `Display`, for writers that format without a `String`.
    pub fn endpoint_name(&self, e: Endpoint) -> EndpointName<'_> {
        EndpointName(self, e)
    }

    /// Where a segment event happened when it is not its host's own send: the router or
    /// host it was passing (`from`, when that is not the node owning the source address),
    /// or the crashed host it reached (`to`). None for the send itself, so a transcript
    /// line at a later hop does not read as a second send.
    pub fn hop(&self, seg: &Segment, from: u32, to: u32, fate: &Fate) -> Option<&str> {
        if matches!(fate.dropped, Some(Cause::HostDown(_))) {
            return Some(self.node(to));
        }
        (self.node_of_addr(seg.src.addr) != Some(from)).then(|| self.node(from))
    }

    /// "a->b" for a link direction.
    pub fn link(&self, from: u32, to: u32) -> String {
        self.link_name(from, to).to_string()
    }

    /// [`Self::link`] as a `Display`.
    pub fn link_name(&self, from: u32, to: u32) -> LinkName<'_> {
        LinkName(self, from, to)
    }
}

/// An endpoint's name; see [`Names::endpoint`].
pub struct EndpointName<'a>(&'a Names, Endpoint);

impl fmt::Display for EndpointName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let EndpointName(names, e) = self;
        match names.addrs.get(&e.addr) {
            // Every transcript and JSON line has endpoints: pieces, not `write!`.
            Some(&n) => f.write_str(names.node(n))?,
            None => write!(f, "{}", std::net::Ipv4Addr::from(e.addr))?,
        }
        f.write_str(":")?;
        f.write_str(super::digits::decimal(e.port.into(), &mut [0; 20]))
    }
}

/// A link direction's name; see [`Names::link`].
pub struct LinkName<'a>(&'a Names, u32, u32);

impl fmt::Display for LinkName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}->{}", self.0.node(self.1), self.0.node(self.2))
    }
}

#[cfg(test)]
mod node_name_tests {
    use super::Names;
    use crate::scenario::load_str;

    #[test]
    fn node_names_come_back_from_the_packed_text() {
        let sc = load_str(
            "[[host]]\nname = \"a\"\naddr = \"10.0.0.1\"\n[[host]]\nname = \"server\"\naddr = \"10.0.0.2\"\n[[link]]\na = \"a\"\nb = \"server\"\n",
            "<test>",
        )
        .expect("loads");
        let names = Names::new(&sc);
        assert_eq!(names.node(0), "a");
        assert_eq!(names.node(1), "server");
        assert_eq!(names.node(2), "?");
    }
}
