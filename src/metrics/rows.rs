//! The rows of a metrics series: one per plain `[[host]]`, one per `[[group]]` (which
//! sums its hosts), in file order (hosts, then groups).

use crate::scenario::model::{NodeKind, Scenario};

/// Maps nodes to rows and knows each row's name and ephemeral port range size.
pub struct Rows {
    names: Vec<String>,
    /// Sum over the row's hosts of their ephemeral range size.
    ranges: Vec<u64>,
    /// Row of each node; `NONE` for routers.
    of_node: Vec<u32>,
    /// Each node's ephemeral range (routers: an empty one).
    ephemeral: Vec<(u16, u16)>,
}

const NONE: u32 = u32::MAX;

impl Rows {
    /// Rows of `sc`: plain hosts in node order, then its groups.
    pub fn new(sc: &Scenario) -> Self {
        let mut rows = Rows {
            names: Vec::new(),
            ranges: Vec::new(),
            of_node: vec![NONE; sc.nodes.len()],
            ephemeral: vec![(1, 0); sc.nodes.len()],
        };
        let mut grouped = vec![false; sc.nodes.len()];
        for g in &sc.groups {
            grouped[g.nodes.clone()].fill(true);
        }
        for (i, node) in sc.nodes.iter().enumerate() {
            if let NodeKind::Host { tcp, .. } = &node.kind {
                rows.ephemeral[i] = tcp.ephemeral_ports;
                if !grouped[i] {
                    rows.push(&node.name, i..i + 1);
                }
            }
        }
        for g in &sc.groups {
            rows.push(&g.name, g.nodes.clone());
        }
        rows
    }

    /// Adds a row named `name` made of `nodes`.
    fn push(&mut self, name: &str, nodes: std::ops::Range<usize>) {
        let row = self.names.len() as u32;
        let mut range = 0;
        for n in nodes {
            self.of_node[n] = row;
            let (lo, hi) = self.ephemeral[n];
            range += (u64::from(hi) + 1).saturating_sub(u64::from(lo));
        }
        self.names.push(name.to_string());
        self.ranges.push(range);
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn name(&self, row: usize) -> &str {
        &self.names[row]
    }

    /// The row's ephemeral ports in all (its hosts' range sizes added up).
    pub fn range(&self, row: usize) -> u64 {
        self.ranges[row]
    }

    /// The row of a node, None for a router.
    pub fn of(&self, node: u32) -> Option<usize> {
        match self.of_node.get(node as usize) {
            Some(&r) if r != NONE => Some(r as usize),
            _ => None,
        }
    }

    /// A node's ephemeral range, inclusive (empty for routers).
    pub fn ephemeral(&self, node: u32) -> (u16, u16) {
        self.ephemeral.get(node as usize).copied().unwrap_or((1, 0))
    }
}
