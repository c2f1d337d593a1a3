//! `[[load]]`: an open-loop workload, turned into one client per arriving connection.
//!
//! A load is what a proxy or a load generator does to a backend: connections arrive at
//! a rate, whether or not earlier ones have finished (open loop), each running the same
//! short script. Expanding it into ordinary clients keeps one code path for running
//! applications: a load's connections are reported, checked and drawn like any other.

use std::ops::Range;
use std::sync::Arc;

use toml::Spanned;

use super::{Loader, Result, Role, span_of};
use crate::scenario::limits;
use crate::scenario::model::{
    Action, Client, NodeId, SpreadMode, SpreadSource, StartSpread, TimedStep,
};
use crate::scenario::schema::LoadDef;
use crate::scenario::units::{ConnRate, parse_conn_rate};

/// Request/response exchanges on one connection at most: a script step each.
const MAX_REQUESTS: u32 = 100_000;

/// Bytes of a request when `request` is not given: a small HTTP GET.
const DEFAULT_REQUEST: u64 = 100;

impl Loader<'_> {
    /// The clients of every `[[load]]` entry, appended to `out` after the `[[client]]`s.
    pub(super) fn loads(&self, defs: &[LoadDef], out: &mut Vec<Client>) -> Result<()> {
        for (entry, def) in defs.iter().enumerate() {
            self.check_load_name(defs, entry)?;
            self.load(entry, def, out)?;
        }
        Ok(())
    }

    /// A load's name is unique, so `--set load.NAME.key` and messages name one entry.
    fn check_load_name(&self, defs: &[LoadDef], entry: usize) -> Result<()> {
        let Some(name) = &defs[entry].name else {
            return Ok(());
        };
        let earlier = defs[..entry]
            .iter()
            .filter_map(|d| d.name.as_ref())
            .find(|n| n.get_ref() == name.get_ref());
        match earlier {
            Some(first) => Err(self.err(
                name.span(),
                "name",
                format!(
                    "another [[load]] is already named `{}` (line {})",
                    name.get_ref(),
                    self.line_of(&first.span())
                ),
            )),
            None => Ok(()),
        }
    }

    /// One entry's connections: hosts, arrival times and the shared script.
    fn load(&self, entry: usize, def: &LoadDef, out: &mut Vec<Client>) -> Result<()> {
        let hosts = self.load_hosts(&def.from)?;
        let (remote, port) = self.host_port(&def.connect, "connect")?;
        let remote_port = port.ok_or_else(|| {
            self.err(
                def.connect.span(),
                "connect",
                format!(
                    "`connect` must be \"host:port\", e.g. \"backend:80\", found \"{}\"",
                    def.connect.get_ref()
                ),
            )
        })?;
        let rate = parse_conn_rate(def.rate.get_ref())
            .map_err(|m| self.err(def.rate.span(), "rate", m))?;
        let count = self.load_count(def, rate, out.len())?;
        let poisson = self.poisson(def)?;
        let (actions, timed) = self.load_script(def)?;
        let total = limits::written(&actions, &timed);
        let span = def.actions.last().map_or(def.connect.span(), Spanned::span);
        self.check_stream(total, span, "actions", "each connection of this load")?;
        let (actions, timed): (Arc<[Action]>, Arc<[TimedStep]>) = (actions.into(), timed.into());
        let start = def.start.map_or(0, |d| d.0);
        let width = hosts.len() as u64;
        out.extend((0..count).map(|i| Client {
            host: hosts.start + (i % width) as NodeId,
            remote,
            remote_port,
            start: if poisson {
                start
            } else {
                start.saturating_add(rate.offset_of(i))
            },
            spread: poisson.then_some(StartSpread {
                entry: entry as u32,
                source: SpreadSource::Load,
                index: i as u32,
                count: count as u32,
                spread: def.duration.get_ref().0,
                mode: SpreadMode::Exponential,
            }),
            local_port: None,
            actions: actions.clone(),
            timed: timed.clone(),
        }));
        Ok(())
    }

    /// `from`: a `[[group]]` (its hosts take turns) or one host.
    fn load_hosts(&self, from: &Spanned<String>) -> Result<Range<NodeId>> {
        if let Some(g) = self.groups.iter().find(|g| &g.name == from.get_ref()) {
            return Ok(g.first..g.end);
        }
        let host = self.resolve_host(from, "from")?;
        Ok(host..host + 1)
    }

    /// rate × duration connections, at least one, within the limit on clients in all
    /// (`before` are those of the entries before this one).
    fn load_count(&self, def: &LoadDef, rate: ConnRate, before: usize) -> Result<u64> {
        let duration = self.positive_duration(&def.duration, "duration")?;
        let count = rate.count_in(duration);
        if count == 0 {
            return Err(self.err(
                def.duration.span(),
                "duration",
                format!(
                    "at {} no connection arrives within {}: make `duration` longer or `rate` higher",
                    def.rate.get_ref(),
                    crate::scenario::format_duration(duration)
                ),
            ));
        }
        let room = limits::MAX_CLIENTS.saturating_sub(before as u64);
        if count > u128::from(room) {
            return Err(self.err(
                def.rate.span(),
                "rate",
                format!(
                    "{} for {} is {count} connections; a scenario may start at most {} clients in all (about 1 KB each in a run): lower `rate` or `duration`",
                    def.rate.get_ref(),
                    crate::scenario::format_duration(duration),
                    limits::MAX_CLIENTS
                ),
            ));
        }
        Ok(count as u64)
    }

    /// `arrivals`: true for Poisson arrivals, false for evenly spaced ones.
    fn poisson(&self, def: &LoadDef) -> Result<bool> {
        match def.arrivals.as_ref().map(|a| a.get_ref().trim()) {
            None | Some("constant") => Ok(false),
            Some("poisson") => Ok(true),
            Some(other) => Err(self.err(
                span_of(&def.arrivals).unwrap_or(0..0),
                "arrivals",
                format!(
                    "expected `arrivals` \"constant\" (evenly spaced) or \"poisson\" (exponential gaps with mean 1/rate, drawn from the seed), found \"{other}\""
                ),
            )),
        }
    }

    /// The script each connection runs: `actions` as written, or one generated from
    /// `requests`, `request`, `response`, `think` and `close` (not both).
    fn load_script(&self, def: &LoadDef) -> Result<(Vec<Action>, Vec<TimedStep>)> {
        if let Some(first) = def.actions.first() {
            let generated = [
                ("requests", span_of(&def.requests)),
                ("request", span_of(&def.request)),
                ("response", span_of(&def.response)),
                ("close", span_of(&def.close)),
            ];
            if let Some((key, _)) = generated.iter().find(|(_, s)| s.is_some()) {
                return Err(self.err(
                    first.span(),
                    "actions",
                    format!(
                        "`actions` writes the script out; `{key}` builds one: use one or the other"
                    ),
                ));
            }
            return self.steps(&def.actions, Role::Client);
        }
        let requests = match &def.requests {
            Some(r) => self.within(r, "requests", 1, MAX_REQUESTS, "")?,
            None => 1,
        };
        let request = def
            .request
            .as_ref()
            .map_or(DEFAULT_REQUEST, |r| *r.get_ref());
        let response = def.response.as_ref().map_or(0, |r| *r.get_ref());
        let think = def.think.map_or(0, |d| d.0);
        let mut script = Vec::with_capacity(3 * requests as usize + 2);
        for i in 1..=u64::from(requests) {
            if request > 0 {
                script.push(Action::Send(request));
            }
            if response > 0 {
                script.push(Action::Recv(response.saturating_mul(i)));
            }
            if think > 0 && i < u64::from(requests) {
                script.push(Action::Wait(think));
            }
        }
        script.extend(self.load_close(def)?);
        Ok((script, Vec::new()))
    }

    /// The steps `close` ends the script with.
    fn load_close(&self, def: &LoadDef) -> Result<Vec<Action>> {
        Ok(match def.close.as_ref().map(|c| c.get_ref().trim()) {
            None | Some("client") => vec![Action::Close],
            Some("server") => vec![Action::RecvEof, Action::Close],
            Some("abort") => vec![Action::Abort],
            Some("never") => Vec::new(),
            Some(other) => {
                return Err(self.err(
                    span_of(&def.close).unwrap_or(0..0),
                    "close",
                    format!(
                        "expected `close` \"client\" (the client closes first), \"server\" (it waits for the server's FIN, then closes), \"abort\" (SO_LINGER 0: RST instead of FIN) or \"never\", found \"{other}\""
                    ),
                ));
            }
        })
    }
}
