//! The network: nodes joined by links, one state per link direction (so one-way
//! partitions come free), static shortest-path routes, and the targeted fault chain.

mod carry;
mod faults;
mod link;

use std::collections::VecDeque;
use std::sync::Arc;

use rustc_hash::FxHashMap;

pub use carry::Driver;
pub use faults::{FaultChain, Verdict};
pub use link::{LinkDir, LinkStats, Passage};

use crate::rng;
use crate::scenario::model::{NodeKind, Scenario};

const NO_ROUTE: u32 = u32::MAX;

/// Where a segment from some node to some address goes: the node holding the address
/// and the first link direction towards it. Routes are static, so a connection looks its
/// up once; kept as two `u32`s (8 bytes, not 16) because every connection holds one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    dst: u32,
    first: u32,
}

impl Route {
    /// The node holding the address (`None`: nobody).
    pub fn dst(self) -> Option<u32> {
        (self.dst != NO_ROUTE).then_some(self.dst)
    }

    /// The first link direction (`None`: no route, or the address is the sender's own).
    pub fn first(self) -> Option<u32> {
        (self.first != NO_ROUTE).then_some(self.first)
    }
}

pub struct Network {
    /// Two per link: `2i` is a → b, `2i + 1` is b → a.
    dirs: Vec<LinkDir>,
    /// Outgoing directions of each node, in link order.
    out: Vec<Vec<u32>>,
    /// For nodes with several links: the first-hop direction towards each node.
    /// Nodes with one link send everything through it, so a star of 100,000 hosts needs
    /// tables only at its routers.
    tables: Vec<Option<Vec<u32>>>,
    addr_node: FxHashMap<u32, u32>,
    pub faults: FaultChain,
}

impl Network {
    pub fn new(sc: &Scenario, seed: u64) -> Self {
        let n = sc.nodes.len();
        let mut dirs = Vec::with_capacity(sc.links.len() * 2);
        let mut out = vec![Vec::new(); n];
        for l in &sc.links {
            for (from, to, params) in [(l.a, l.b, &l.a_to_b), (l.b, l.a, &l.b_to_a)] {
                let label = || format!("link:{}>{}", sc.nodes[from].name, sc.nodes[to].name);
                out[from].push(dirs.len() as u32);
                dirs.push(LinkDir::new(to as u32, Arc::clone(params), || {
                    rng::stream(seed, &label())
                }));
            }
        }
        let addr_node = sc
            .nodes
            .iter()
            .enumerate()
            .filter_map(|(i, node)| match node.kind {
                NodeKind::Host { addr, .. } => Some((addr, i as u32)),
                NodeKind::Router => None,
            })
            .collect();
        let mut net = Network {
            dirs,
            out,
            tables: Vec::new(),
            addr_node,
            faults: FaultChain::new(&sc.faults),
        };
        net.tables = (0..n)
            .map(|s| (net.out[s].len() > 1).then(|| net.first_hops(s)))
            .collect();
        net
    }

    /// Breadth-first search from `src`: each node inherits the first hop of the node it
    /// was reached from; neighbours are visited in link order, so ties break the same way
    /// on every run.
    fn first_hops(&self, src: usize) -> Vec<u32> {
        let mut hop = vec![NO_ROUTE; self.out.len()];
        let mut seen = vec![false; self.out.len()];
        let mut queue = VecDeque::from([src]);
        seen[src] = true;
        while let Some(u) = queue.pop_front() {
            for &d in &self.out[u] {
                let v = self.dirs[d as usize].to as usize;
                if !seen[v] {
                    seen[v] = true;
                    hop[v] = if u == src { d } else { hop[u] };
                    queue.push_back(v);
                }
            }
        }
        hop
    }

    /// The way from node `at` to the node holding `addr`.
    pub fn route(&self, at: u32, addr: u32) -> Route {
        let dst = self.node_of_addr(addr);
        Route {
            dst: dst.unwrap_or(NO_ROUTE),
            first: dst
                .and_then(|dst| self.next_dir(at, dst))
                .unwrap_or(NO_ROUTE),
        }
    }

    pub fn node_of_addr(&self, addr: u32) -> Option<u32> {
        self.addr_node.get(&addr).copied()
    }

    /// The direction a segment at `at` takes towards node `dst`.
    pub fn next_dir(&self, at: u32, dst: u32) -> Option<u32> {
        if at == dst {
            return None;
        }
        match &self.tables[at as usize] {
            Some(table) => Some(table[dst as usize]).filter(|&d| d != NO_ROUTE),
            None => self.out[at as usize].first().copied(),
        }
    }

    pub fn dir(&self, d: u32) -> &LinkDir {
        &self.dirs[d as usize]
    }

    pub fn dir_mut(&mut self, d: u32) -> &mut LinkDir {
        &mut self.dirs[d as usize]
    }

    pub fn dirs(&self) -> &[LinkDir] {
        &self.dirs
    }

    /// The node direction `d` leads from: where its reverse direction leads.
    pub fn from_of(&self, d: u32) -> u32 {
        self.dirs[(d ^ 1) as usize].to
    }

    /// Every direction's (from, to, counters), in direction order.
    pub fn link_stats(&self) -> Vec<(u32, u32, LinkStats)> {
        (0..self.dirs.len() as u32)
            .map(|d| (self.from_of(d), self.dir(d).to, self.dir(d).stats()))
            .collect()
    }
}
