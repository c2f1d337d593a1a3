//! Hand-written SVG plots of a metrics series: connections per state over time (stacked
//! areas) and ephemeral ports free over time; PNG through resvg when asked. Numbers are
//! printed with one decimal, so the SVG is the same byte for byte everywhere.

use std::fmt::Write;
use std::path::Path;

use super::{Rows, Sample};
use crate::tcp::State;

const WIDTH: f64 = 860.0;
const HEIGHT: f64 = 440.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 680.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 380.0;
const INK: &str = "#222222";
const GRID: &str = "#e5e5e5";

/// One colour per RFC 9293 state, in [`State::ALL`] order; no two alike.
const STATE_COLOURS: [&str; 11] = [
    "#7f8c8d", "#34495e", "#f5b041", "#dc7633", "#27ae60", "#5dade2", "#1abc9c", "#c0392b",
    "#d4ac0d", "#e84393", "#8e44ad",
];

/// Colours of the lines of the ports plot, one per row (repeating after eight).
const LINE_COLOURS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
];

/// One series of a chart: a polyline of (seconds, value), or an area above `base`.
pub struct Series {
    pub name: String,
    pub colour: &'static str,
    pub points: Vec<(f64, f64)>,
    /// For stacked areas: the value of the series below at each point.
    pub base: Option<Vec<f64>>,
}

/// The plots of a series, as (title, SVG): states over time, then ports free over time.
/// The HTML report embeds these; `--plot-states` and `--plot-ports` write them.
pub fn plots(rows: &Rows, samples: &[Sample]) -> Vec<(String, String)> {
    let title_s = "Connections per TCP state over time (all hosts)".to_string();
    let title_p = "Ephemeral ports free over time".to_string();
    let states = chart(&title_s, "connections", &state_series(rows, samples));
    let ports = chart(&title_p, "ports free", &port_series(rows, samples));
    vec![(title_s, states), (title_p, ports)]
}

/// Sample times in seconds, once each, in order.
fn times(samples: &[Sample]) -> Vec<u64> {
    let mut t: Vec<u64> = samples.iter().map(|s| s.t).collect();
    t.dedup();
    t
}

/// Stacked areas: for each state that ever has a connection, its count summed over rows
/// on top of the states before it.
fn state_series(rows: &Rows, samples: &[Sample]) -> Vec<Series> {
    // Every series starts from nothing at t = 0, before the first event.
    let ts: Vec<u64> = std::iter::once(0).chain(times(samples)).collect();
    let per = rows.len().max(1);
    let totals: Vec<[u64; 11]> = std::iter::once([0; 11])
        .chain(samples.chunks(per).map(|chunk| {
            let mut sum = [0; 11];
            for s in chunk {
                (0..11).for_each(|i| sum[i] += s.states[i]);
            }
            sum
        }))
        .collect();
    let mut base = vec![0.0; ts.len()];
    let mut out = Vec::new();
    for (i, state) in State::ALL.iter().enumerate() {
        if totals.iter().all(|t| t[i] == 0) {
            continue;
        }
        let top: Vec<f64> = (base.iter().zip(&totals))
            .map(|(b, t)| b + t[i] as f64)
            .collect();
        out.push(Series {
            name: state.name().to_string(),
            colour: STATE_COLOURS[i],
            points: ts.iter().zip(&top).map(|(&t, &y)| (secs(t), y)).collect(),
            base: Some(std::mem::replace(&mut base, top)),
        });
    }
    out
}

/// One line per row whose ports were ever in use (all rows when none were).
fn port_series(rows: &Rows, samples: &[Sample]) -> Vec<Series> {
    let used = |r: usize| {
        samples
            .iter()
            .any(|s| s.row as usize == r && s.ports_free < rows.range(r))
    };
    let mut chosen: Vec<usize> = (0..rows.len()).filter(|&r| used(r)).collect();
    if chosen.is_empty() {
        chosen = (0..rows.len()).collect();
    }
    (chosen.iter().enumerate())
        .map(|(k, &r)| Series {
            name: rows.name(r).to_string(),
            colour: LINE_COLOURS[k % LINE_COLOURS.len()],
            // All free at t = 0, before the first event.
            points: std::iter::once((0.0, rows.range(r) as f64))
                .chain(
                    (samples.iter().filter(|s| s.row as usize == r))
                        .map(|s| (secs(s.t), s.ports_free as f64)),
                )
                .collect(),
            base: None,
        })
        .collect()
}

fn secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

/// A chart with a time axis in seconds, a y axis from 0, grid lines at round ticks, the
/// series and a legend to the right of the plot (one entry per line: never overlapping).
pub fn chart(title: &str, y_label: &str, series: &[Series]) -> String {
    let all = series.iter().flat_map(|s| s.points.iter());
    let x_max = all.clone().map(|p| p.0).fold(0.0, f64::max).max(1e-9);
    let y_max = all.map(|p| p.1).fold(0.0, f64::max).max(1.0);
    let (x_step, y_step) = (nice_step(x_max), nice_step(y_max));
    let x_top = (x_max / x_step).ceil() * x_step;
    let y_top = (y_max / y_step).ceil() * y_step;
    let map = |(x, y): (f64, f64)| {
        (
            LEFT + x / x_top * (RIGHT - LEFT),
            BOTTOM - y / y_top * (BOTTOM - TOP),
        )
    };
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{WIDTH}\" height=\"{HEIGHT}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n<text x=\"{LEFT}\" y=\"28\" font-size=\"15\" fill=\"{INK}\">{}</text>\n",
        escape(title)
    );
    axes(&mut svg, x_step, x_top, y_step, y_top, y_label);
    for s in series {
        draw_series(&mut svg, s, &map);
    }
    legend(&mut svg, series);
    svg.push_str("</svg>\n");
    svg
}

/// Grid, ticks and labels of both axes.
fn axes(svg: &mut String, x_step: f64, x_top: f64, y_step: f64, y_top: f64, y_label: &str) {
    let xs = (x_top / x_step).round() as usize;
    for i in 0..=xs {
        let v = i as f64 * x_step;
        let x = LEFT + v / x_top * (RIGHT - LEFT);
        let _ = writeln!(
            svg,
            "<line x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{BOTTOM}\" stroke=\"{GRID}\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"{INK}\">{}</text>",
            BOTTOM + 18.0,
            number(v, x_step)
        );
    }
    let ys = (y_top / y_step).round() as usize;
    for i in 0..=ys {
        let v = i as f64 * y_step;
        let y = BOTTOM - v / y_top * (BOTTOM - TOP);
        let _ = writeln!(
            svg,
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{RIGHT}\" y2=\"{y:.1}\" stroke=\"{GRID}\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"{INK}\">{}</text>",
            LEFT - 6.0,
            y + 4.0,
            number(v, y_step)
        );
    }
    let _ = writeln!(
        svg,
        "<rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"none\" stroke=\"{INK}\"/>\n<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"{INK}\">time (s)</text>\n<text transform=\"translate(18 {:.1}) rotate(-90)\" text-anchor=\"middle\" fill=\"{INK}\">{}</text>",
        RIGHT - LEFT,
        BOTTOM - TOP,
        (LEFT + RIGHT) / 2.0,
        BOTTOM + 40.0,
        (TOP + BOTTOM) / 2.0,
        escape(y_label)
    );
}

/// A polyline, or a filled area between the series and its base.
fn draw_series(svg: &mut String, s: &Series, map: &impl Fn((f64, f64)) -> (f64, f64)) {
    let mut pts = String::new();
    for &p in &s.points {
        let (x, y) = map(p);
        let _ = write!(pts, "{x:.1},{y:.1} ");
    }
    match &s.base {
        None => {
            let _ = writeln!(
                svg,
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>",
                pts.trim_end(),
                s.colour
            );
        }
        Some(base) => {
            for (&(x, _), &b) in s.points.iter().zip(base).rev() {
                let (x, y) = map((x, b));
                let _ = write!(pts, "{x:.1},{y:.1} ");
            }
            let _ = writeln!(
                svg,
                "<polygon points=\"{}\" fill=\"{}\" stroke=\"none\"/>",
                pts.trim_end(),
                s.colour
            );
        }
    }
}

/// The legend, right of the plot, one line per series (top of the stack first).
fn legend(svg: &mut String, series: &[Series]) {
    let x = RIGHT + 20.0;
    for (i, s) in series.iter().rev().enumerate() {
        let y = TOP + 8.0 + i as f64 * 20.0;
        let _ = writeln!(
            svg,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"14\" height=\"12\" fill=\"{}\"/><text x=\"{:.1}\" y=\"{:.1}\" fill=\"{INK}\">{}</text>",
            s.colour,
            x + 20.0,
            y + 10.5,
            escape(&s.name)
        );
    }
}

/// A round tick step (1, 2 or 5 × 10^k) giving about five ticks up to `max`.
pub fn nice_step(max: f64) -> f64 {
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let m = match f {
        f if f <= 1.0 => 1.0,
        f if f <= 2.0 => 2.0,
        f if f <= 5.0 => 5.0,
        _ => 10.0,
    };
    m * mag
}

/// A tick label: as many decimals as the step needs, thousands separated by commas.
fn number(v: f64, step: f64) -> String {
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10().floor()) as usize
    };
    let text = format!("{v:.decimals$}");
    let (int, frac) = text
        .split_once('.')
        .map_or((text.as_str(), ""), |(a, b)| (a, b));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match frac {
        "" => grouped,
        f => format!("{grouped}.{f}"),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Writes `svg` to `path`: rendered to PNG when the name ends in `.png`, else as is.
pub fn save(path: &Path, svg: &str) -> Result<(), String> {
    let bytes = match path.extension().and_then(|e| e.to_str()) {
        Some("png") => png(svg)?,
        _ => svg.as_bytes().to_vec(),
    };
    std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Rasterizes an SVG with the system's fonts.
pub fn png(svg: &str) -> Result<Vec<u8>, String> {
    let mut fonts = resvg::usvg::fontdb::Database::new();
    fonts.load_system_fonts();
    let opt = resvg::usvg::Options {
        fontdb: std::sync::Arc::new(fonts),
        ..Default::default()
    };
    let tree = resvg::usvg::Tree::from_str(svg, &opt).map_err(|e| format!("SVG: {e}"))?;
    let size = tree.size().to_int_size();
    let mut pixmap =
        resvg::tiny_skia::Pixmap::new(size.width(), size.height()).ok_or("the picture is empty")?;
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::default(),
        &mut pixmap.as_mut(),
    );
    pixmap.encode_png().map_err(|e| format!("PNG: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round() {
        assert_eq!(nice_step(28_232.0), 10_000.0);
        assert_eq!(nice_step(60.0), 20.0);
        assert_eq!(nice_step(0.3), 0.1);
        assert_eq!(number(20_000.0, 10_000.0), "20,000");
        assert_eq!(number(0.5, 0.1), "0.5");
    }
}
