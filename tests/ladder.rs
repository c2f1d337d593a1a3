//! Ladder diagrams (`src/trace/ladder.rs`, `src/trace/svg.rs`): the text ladders of two
//! teaching scenarios are pinned as snapshots, every scenario's SVG must parse and render
//! with a real SVG renderer (resvg), and the README's images in `docs/` must be what the
//! code draws today.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tcpsim::trace::ladder::{self, ConnSel};
use tcpsim::trace::{Names, svg};

fn sim(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sims")
        .join(format!("{name}.toml"))
}

fn text_ladder(path: &Path, conn: ConnSel) -> Result<String, String> {
    let sc = common::load(path);
    let run = tcpsim::transcript(&sc, 42);
    ladder::text(&run.events, &Names::new(&sc), conn)
}

fn svg_ladder(path: &Path) -> Result<String, String> {
    let sc = common::load(path);
    let run = tcpsim::transcript(&sc, 42);
    svg::ladder(&run.events, &Names::new(&sc), ConnSel::First, &sc)
}

#[test]
fn text_ladders_of_the_teaching_scenarios() {
    for name in ["lossy_fin", "lost_last_ack"] {
        let text = text_ladder(&sim(name), ConnSel::First).unwrap();
        insta::with_settings!({
            snapshot_path => "../snapshots",
            prepend_module_to_snapshot => false,
            description => format!("tcpsim {name} --seed 42 --ladder"),
            omit_expression => true,
        }, {
            insta::assert_snapshot!(format!("ladder__{name}"), text);
        });
    }
}

#[test]
fn conn_selector_parses_and_reports_errors() {
    assert_eq!(ConnSel::parse("client"), Ok(ConnSel::Host("client".into())));
    assert_eq!(
        ConnSel::parse("server:80"),
        Ok(ConnSel::Endpoint {
            host: "server".into(),
            port: 80
        })
    );
    for bad in ["", "client:", "client:http", ":80", "client:70000"] {
        assert!(ConnSel::parse(bad).is_err(), "{bad:?} should not parse");
    }
    let err = ConnSel::parse("client:http").unwrap_err();
    assert!(err.contains("host:port"), "{err}");
}

#[test]
fn conn_selector_picks_the_connection_and_lists_the_others() {
    let path = sim("lost_last_ack");
    let first = text_ladder(&path, ConnSel::First).unwrap();
    let client = text_ladder(&path, ConnSel::parse("client:49152").unwrap()).unwrap();
    assert_eq!(first, client);
    assert_eq!(
        text_ladder(&path, ConnSel::parse("client").unwrap()).unwrap(),
        first
    );
    // From the server's end: the server's column comes first.
    let server = text_ladder(&path, ConnSel::parse("server").unwrap()).unwrap();
    assert!(
        server.starts_with("ladder of server:80 <-> client:49152"),
        "{server}"
    );
    let err = text_ladder(&path, ConnSel::parse("client:1").unwrap()).unwrap_err();
    assert!(
        err.contains("client:1") && err.contains("client:49152 (to server:80)"),
        "{err}"
    );
    assert!(err.contains("server:80 (to client:49152)"), "{err}");
}

/// Parsing options with the system's fonts, loaded once, so text is rendered too.
fn options() -> resvg::usvg::Options<'static> {
    let mut fonts = resvg::usvg::fontdb::Database::new();
    fonts.load_system_fonts();
    resvg::usvg::Options {
        fontdb: Arc::new(fonts),
        ..Default::default()
    }
}

/// Parses (which checks that the XML is well-formed) and rasterizes an SVG, at half size
/// to keep the debug-build test quick; with `TCPSIM_LADDER_PNG=DIR` set, at full size and
/// written there as a PNG to look at.
fn render(svg: &str, opt: &resvg::usvg::Options, png_name: &str) -> Result<(), String> {
    let tree = resvg::usvg::Tree::from_str(svg, opt).map_err(|e| format!("parse: {e}"))?;
    let png_dir = std::env::var("TCPSIM_LADDER_PNG").ok();
    let scale = if png_dir.is_some() { 1.0 } else { 0.5 };
    let size = tree
        .size()
        .to_int_size()
        .scale_by(scale)
        .ok_or("empty picture")?;
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| format!("no pixmap of {}x{}", size.width(), size.height()))?;
    let transform = resvg::tiny_skia::Transform::from_scale(scale, scale);
    resvg::render(&tree, transform, &mut pixmap.as_mut());
    if let Some(dir) = png_dir {
        let out = Path::new(&dir).join(format!("{png_name}.png"));
        pixmap.save_png(&out).map_err(|e| format!("{e}"))?;
    }
    Ok(())
}

#[test]
fn ladders_of_every_scenario_draw_and_the_svg_renders() {
    let opt = options();
    for path in common::sims() {
        let name = common::sim_name(&path);
        text_ladder(&path, ConnSel::First).unwrap_or_else(|e| panic!("{name}: {e}"));
        let svg = svg_ladder(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\""));
        render(&svg, &opt, &name.replace('/', "__")).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn svg_ladder_is_deterministic() {
    let path = sim("transfer/fast_retransmit");
    assert_eq!(svg_ladder(&path), svg_ladder(&path));
}

#[test]
fn long_runs_are_truncated_with_a_note() {
    let svg = svg_ladder(&sim("transfer/bulk_lossy")).unwrap();
    assert!(
        svg.contains("Truncated: the first 150 of"),
        "no truncation note"
    );
    assert!(svg.len() < 200_000, "{} bytes", svg.len());
}

/// The README's images: regenerated in memory and compared byte for byte with `docs/`.
#[test]
fn readme_images_are_current() {
    let bless = std::env::var("TCPSIM_BLESS_DOCS").is_ok_and(|v| v == "1");
    for name in ["lossy_fin", "lost_last_ack"] {
        let svg = svg_ladder(&sim(name)).unwrap();
        let file = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("docs")
            .join(format!("{name}.svg"));
        if bless {
            std::fs::write(&file, &svg).unwrap();
            continue;
        }
        let committed = std::fs::read_to_string(&file).unwrap_or_default();
        assert!(
            committed == svg,
            "docs/{name}.svg is not what the ladder code draws now; regenerate it with\n  \
             cargo run --release -- sims/{name}.toml --seed 42 --svg docs/{name}.svg\n\
             or\n  TCPSIM_BLESS_DOCS=1 cargo test --test ladder readme_images_are_current"
        );
    }
}
