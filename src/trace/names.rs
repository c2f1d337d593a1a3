//! Turns the indices in events back into the names users wrote.

use rustc_hash::FxHashMap;
use std::fmt;

use super::{Cause, Fate};
use crate::scenario::model::{NodeKind, Scenario};
use crate::tcp::{Endpoint, Segment};

pub struct Names {
    nodes: Vec<String>,
    faults: Vec<String>,
    addrs: FxHashMap<u32, u32>,
}

impl Names {
    pub fn new(sc: &Scenario) -> Self {
        let addrs = sc
            .nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| match n.kind {
                NodeKind::Host { addr, .. } => Some((addr, i as u32)),
                NodeKind::Router => None,
            })
            .collect();
        Names {
            nodes: sc.nodes.iter().map(|n| n.name.clone()).collect(),
            faults: sc.faults.iter().map(|f| f.name.clone()).collect(),
            addrs,
        }
    }

    pub fn node(&self, i: u32) -> &str {
        self.nodes.get(i as usize).map_or("?", String::as_str)
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
