//! `reports/index.html`: the reports at a glance, for designers.
//!
//! One self-contained page (inline CSS and SVG; no script, no font, no network), rebuilt from the
//! CSV reports in the directory by `simulate`, `sweep`, `merge` and `rollcage report`:
//!
//! - a per-scenario summary table (`summary.csv`);
//! - the time-to-detect distribution of every scenario that detected something
//!   (`<scenario>/runs.csv`);
//! - per sweep (`sweep/<name>.csv`): the power curve (detection rate against the fault's size, per
//!   method) when the sweep varies `fault_multiplier`, the blast radius per stage schedule when it
//!   varies the schedule, and the Pareto frontier of time to 100% against blast radius.
//!
//! The page holds no clock reading and no path: the same reports give the same bytes, wherever
//! they are.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use rollcage_stats::quantile::sorted_quantile;

use crate::report::{parse_csv, write_text};

/// A CSV report, read back.
#[derive(Clone, Debug, Default)]
pub struct Csv {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Csv {
    fn read(path: &Path) -> anyhow::Result<Option<Csv>> {
        if !path.exists() {
            return Ok(None);
        }
        let read = || -> anyhow::Result<Csv> {
            let (header, rows) = parse_csv(&std::fs::read_to_string(path)?)?;
            Ok(Csv { header, rows })
        };
        read().with_context(|| format!("cannot read {}", path.display())).map(Some)
    }

    fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|c| c == name)
    }

    /// The cell of `row` in column `name` ("" if there is no such column).
    fn cell<'a>(&self, row: &'a [String], name: &str) -> &'a str {
        self.column(name).and_then(|i| row.get(i)).map_or("", String::as_str)
    }

    fn number(&self, row: &[String], name: &str) -> Option<f64> {
        self.cell(row, name).parse().ok()
    }

    /// Whether column `name` holds more than one value.
    fn varies(&self, name: &str) -> bool {
        self.differs(self.rows.iter(), name)
    }

    /// Whether column `name` holds more than one value among `rows`.
    fn differs<'a>(&self, mut rows: impl Iterator<Item = &'a Vec<String>>, name: &str) -> bool {
        let Some(first) = rows.next() else { return false };
        rows.any(|r| self.cell(r, name) != self.cell(first, name))
    }
}

/// What the page is drawn from.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    /// `summary.csv`, if `simulate` wrote one.
    pub summary: Option<Csv>,
    /// Per scenario of the summary, in its order: the hours to detect of its detected runs.
    pub detections: Vec<(String, Vec<f64>)>,
    /// Per sweep, by name: its table.
    pub sweeps: Vec<(String, Csv)>,
}

impl Inputs {
    /// Reads what the reports in `out` hold.
    pub fn read(out: &Path) -> anyhow::Result<Inputs> {
        let summary = Csv::read(&out.join("summary.csv"))?;
        let mut detections = Vec::new();
        for row in summary.iter().flat_map(|s| s.rows.iter().map(move |r| s.cell(r, "scenario"))) {
            let Some(runs) = Csv::read(&out.join(row).join("runs.csv"))? else { continue };
            let hours: Vec<f64> =
                runs.rows.iter().filter_map(|r| runs.number(r, "time_to_detect_h")).collect();
            detections.push((row.to_string(), hours));
        }
        let mut sweeps = Vec::new();
        let mut files: Vec<PathBuf> = std::fs::read_dir(out.join("sweep"))
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|x| x == "csv") && p.is_file());
        files.sort();
        for path in files {
            let name =
                path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            if let Some(table) = Csv::read(&path)? {
                sweeps.push((name, table));
            }
        }
        Ok(Inputs { summary, detections, sweeps })
    }
}

/// Rebuilds `<out>/index.html` from the reports there; returns its path.
pub fn write_index(out: &Path) -> anyhow::Result<PathBuf> {
    let path = out.join("index.html");
    write_text(&path, &render(&Inputs::read(out)?))?;
    Ok(path)
}

/// Rebuilds the page after another command's reports, and says where it is. The reports are the
/// command's result: a page that cannot be rebuilt (a damaged CSV beside them, say) is a warning.
pub fn refresh(out: &Path) {
    match write_index(out) {
        Ok(page) => eprintln!("the reports at a glance: {}", page.display()),
        Err(e) => eprintln!("warning: the visual report was not rebuilt: {e:#}"),
    }
}

/// `rollcage report`: rebuild the page and say where it is.
pub fn run(out: &Path) -> anyhow::Result<u8> {
    if !out.is_dir() {
        anyhow::bail!(
            "--out {} is not a reports directory: `report` rebuilds <out>/index.html from the CSV \
             reports that simulate, sweep or merge wrote there",
            out.display()
        );
    }
    let path = write_index(out)?;
    println!("{}", path.display());
    Ok(crate::exit::HELD)
}

/// Colours that stay apart for colour-blind readers (Okabe and Ito).
const PALETTE: [&str; 7] =
    ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000"];

const STYLE: &str = "
body { font: 15px/1.45 system-ui, -apple-system, 'Segoe UI', sans-serif; color: #1d2430;
  margin: 0 auto; max-width: 1080px; padding: 24px; background: #fff; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 6px; border-bottom: 1px solid #d8dde6; padding-bottom: 4px; }
h3 { font-size: 16px; margin: 22px 0 4px; }
p.lead, p.how { color: #4a5566; margin: 4px 0 10px; max-width: 860px; }
nav a { margin-right: 14px; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 10px; font-weight: 600; }
.held { background: #dcf2e3; color: #11662f; }
.failed { background: #fbe0dc; color: #9b1c10; }
table { border-collapse: collapse; font-size: 12.5px; width: 100%; }
th, td { padding: 4px 6px; border-bottom: 1px solid #e5e8ee; text-align: right; }
td { white-space: nowrap; }
th { font-size: 12px; vertical-align: bottom; }
th { background: #f3f5f8; position: sticky; top: 0; }
td:first-child, th:first-child { text-align: left; }
span.ci { color: #6b7585; font-size: 12px; }
.scroll { overflow-x: auto; }
svg.chart { display: block; max-width: 100%; height: auto; margin: 6px 0 4px; }
svg text { font: 12px system-ui, -apple-system, 'Segoe UI', sans-serif; fill: #1d2430; }
svg .axis { stroke: #8a94a6; }
svg .grid { stroke: #e5e8ee; }
svg text.muted { fill: #6b7585; }
.empty { color: #6b7585; font-style: italic; }
";

/// Escapes text for HTML and SVG.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// About `count` round tick values covering [lo, hi].
fn ticks(lo: f64, hi: f64, count: usize) -> (Vec<f64>, usize) {
    let span = (hi - lo).max(1e-9);
    let magnitude = 10f64.powf((span / count as f64).log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| span / s <= count as f64)
        .unwrap_or(10.0 * magnitude);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    // The fewest decimals that write the step exactly (0.25 needs two, 0.2 one).
    let decimals = (0..6)
        .find(|&d| {
            let scaled = step * 10f64.powi(d);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.max(1.0)
        })
        .unwrap_or(6) as usize;
    ((first..=last).map(|i| i as f64 * step).collect(), decimals)
}

/// A linear map from a domain to pixels.
#[derive(Clone, Copy)]
struct Scale {
    d0: f64,
    d1: f64,
    r0: f64,
    r1: f64,
}

impl Scale {
    fn at(self, v: f64) -> f64 {
        let t = if self.d1 > self.d0 { (v - self.d0) / (self.d1 - self.d0) } else { 0.5 };
        self.r0 + t * (self.r1 - self.r0)
    }
}

/// An SVG chart under way: its size and the markup so far.
struct Svg {
    width: f64,
    height: f64,
    body: String,
}

impl Svg {
    fn new(width: f64, height: f64) -> Svg {
        Svg { width, height, body: String::new() }
    }

    fn text(&mut self, x: f64, y: f64, anchor: &str, class: &str, text: &str) {
        let _ = write!(
            self.body,
            r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" class="{class}">{}</text>"#,
            esc(text)
        );
    }

    fn line(&mut self, (x1, y1): (f64, f64), (x2, y2): (f64, f64), style: &str) {
        let _ = write!(
            self.body,
            r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" {style}/>"#
        );
    }

    /// A horizontal value axis along `y` with gridlines up to `top`.
    fn x_axis(
        &mut self,
        x: Scale,
        y: f64,
        top: f64,
        label: &str,
        format: &dyn Fn(f64, usize) -> String,
    ) {
        let (values, decimals) = ticks(x.d0, x.d1, 6);
        for v in values {
            let px = x.at(v);
            self.line((px, top), (px, y), r#"class="grid""#);
            self.text(px, y + 15.0, "middle", "muted", &format(v, decimals));
        }
        self.line((x.r0, y), (x.r1, y), r#"class="axis""#);
        self.text((x.r0 + x.r1) / 2.0, y + 32.0, "middle", "", label);
    }

    /// A vertical value axis along `x` with gridlines across to `right`.
    fn y_axis(
        &mut self,
        y: Scale,
        x: f64,
        right: f64,
        label: &str,
        format: &dyn Fn(f64, usize) -> String,
    ) {
        let (values, decimals) = ticks(y.d0, y.d1, 5);
        for v in values {
            let py = y.at(v);
            self.line((x, py), (right, py), r#"class="grid""#);
            self.text(x - 6.0, py + 4.0, "end", "muted", &format(v, decimals));
        }
        self.line((x, y.r0), (x, y.r1), r#"class="axis""#);
        let (cx, cy) = (x - 48.0, (y.r0 + y.r1) / 2.0);
        let _ = write!(
            self.body,
            r#"<text x="{cx:.1}" y="{cy:.1}" text-anchor="middle" transform="rotate(-90 {cx:.1} {cy:.1})">{}</text>"#,
            esc(label)
        );
    }

    fn finish(self, id: &str, title: &str) -> String {
        format!(
            r#"<svg class="chart" id="{id}" role="img" aria-label="{}" viewBox="0 0 {w} {h}" width="{w}" height="{h}"><title>{}</title>{}</svg>"#,
            esc(title),
            esc(title),
            self.body,
            w = self.width,
            h = self.height
        )
    }
}

fn plain(v: f64, decimals: usize) -> String {
    format!("{v:.decimals$}")
}

fn percent(v: f64, decimals: usize) -> String {
    format!("{:.*}%", decimals.saturating_sub(2), v * 100.0)
}

/// Where each legend entry goes, wrapping within [x, right): its position; and the lines used.
fn legend_layout(x: f64, right: f64, entries: &[(String, &str)]) -> (Vec<(f64, usize)>, usize) {
    let (mut at, mut line) = (x, 0);
    let mut placed = Vec::new();
    for (name, _) in entries {
        // About 7 pixels a character at 12px, the swatch and a gap.
        let width = 30.0 + 7.0 * name.chars().count() as f64;
        if at > x && at + width > right {
            (at, line) = (x, line + 1);
        }
        placed.push((at, line));
        at += width;
    }
    (placed, line + 1)
}

/// Coloured swatches with their names, from `y` down, wrapping at `right`.
fn legend(svg: &mut Svg, x: f64, y: f64, right: f64, entries: &[(String, &str)]) {
    let (placed, _) = legend_layout(x, right, entries);
    for ((name, colour), (at, line)) in entries.iter().zip(placed) {
        let y = y + 18.0 * line as f64;
        let _ = write!(
            svg.body,
            r#"<rect x="{at:.1}" y="{:.1}" width="12" height="12" fill="{colour}"/>"#,
            y - 10.0
        );
        svg.text(at + 17.0, y, "start", "", name);
    }
}

/// The policy columns that differ among `rows` of a sweep, besides those named in `except`: what
/// tells those rows apart. The policy columns are those from `schedule` up to `runs`, less
/// `stage_percents` (which the schedule's name stands for).
fn varied_in<'a>(sweep: &'a Csv, rows: &[&Vec<String>], except: &[&str]) -> Vec<&'a str> {
    let from = sweep.column("schedule").unwrap_or(0);
    let to = sweep.column("runs").unwrap_or(from);
    sweep.header[from..to.max(from)]
        .iter()
        .map(String::as_str)
        .filter(|c| *c != "stage_percents" && !except.contains(c))
        .filter(|c| sweep.differs(rows.iter().copied(), c))
        .collect()
}

/// The policy columns a sweep varies, besides those named in `except`.
fn varied<'a>(sweep: &'a Csv, except: &[&str]) -> Vec<&'a str> {
    varied_in(sweep, &sweep.rows.iter().collect::<Vec<_>>(), except)
}

/// A short label of a row's values in `columns`.
fn label(sweep: &Csv, row: &[String], columns: &[&str]) -> String {
    let parts: Vec<String> = columns
        .iter()
        .map(|&c| {
            // One value per statistical guardrail: once, when they all agree.
            let v = sweep.cell(row, c);
            let first = v.split('/').next().unwrap_or(v);
            let v = if c != "stage_hours" && v.split('/').all(|p| p == first) { first } else { v };
            match c {
                "stage_hours" => format!("{v} h"),
                "holdback_percent" => format!("holdback {v}%"),
                "alpha" => format!("α {v}"),
                "evaluation_interval_min" => format!("every {v} min"),
                "fault_multiplier" => format!("×{v}"),
                _ => v.to_string(),
            }
        })
        .collect();
    if parts.is_empty() { "as written".to_string() } else { parts.join(" · ") }
}

/// A point of a power curve: the fault's multiplier, the detection rate and its interval.
type PowerPoint = (f64, f64, f64, f64);

/// Detection rate against the fault's size, one line per combination of the other varied columns.
fn power_chart(name: &str, sweep: &Csv) -> String {
    let series_columns = varied(sweep, &["fault_multiplier"]);
    let mut series: Vec<(String, Vec<PowerPoint>)> = Vec::new();
    for row in &sweep.rows {
        let (Some(x), Some(y), Some(lo), Some(hi)) = (
            sweep.number(row, "fault_multiplier"),
            sweep.number(row, "detection_rate"),
            sweep.number(row, "detection_rate_lo"),
            sweep.number(row, "detection_rate_hi"),
        ) else {
            continue;
        };
        let key = label(sweep, row, &series_columns);
        match series.iter_mut().find(|(k, _)| *k == key) {
            Some((_, points)) => points.push((x, y, lo, hi)),
            None => series.push((key, vec![(x, y, lo, hi)])),
        }
    }
    let xs: Vec<f64> = series.iter().flat_map(|(_, p)| p.iter().map(|q| q.0)).collect();
    if xs.is_empty() {
        return r#"<p class="empty">No detection rates in this sweep.</p>"#.to_string();
    }
    let (x0, x1) = xs.iter().fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    let pad = ((x1 - x0) * 0.05).max(0.02);
    let entries: Vec<(String, &str)> = series
        .iter()
        .enumerate()
        .map(|(i, (k, _))| (k.clone(), PALETTE[i % PALETTE.len()]))
        .collect();
    let (left, right) = (80.0, 930.0);
    let top = 30.0 + 18.0 * legend_layout(left, right, &entries).1 as f64;
    let mut svg = Svg::new(960.0, top + 390.0);
    let x = Scale { d0: x0 - pad, d1: x1 + pad, r0: left, r1: right };
    let y = Scale { d0: 0.0, d1: 1.0, r0: top + 330.0, r1: top };
    svg.y_axis(y, x.r0, x.r1, "detection rate (harmful runs stopped)", &percent);
    svg.x_axis(
        x,
        y.r0,
        y.r1,
        "the fault's multiplier (×1.5 = half again as many crashes)",
        &|v, d| format!("×{}", plain(v, d.max(1))),
    );
    svg.line((x.r0, y.at(0.8)), (x.r1, y.at(0.8)), r##"stroke="#8a94a6" stroke-dasharray="5 4""##);
    svg.text(x.r1 - 4.0, y.at(0.8) - 5.0, "end", "muted", "80%");
    let k = series.len() as f64;
    for (i, (_, points)) in series.iter_mut().enumerate() {
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        let colour = PALETTE[i % PALETTE.len()];
        let dodge = (i as f64 - (k - 1.0) / 2.0) * 4.0;
        let path: Vec<String> =
            points.iter().map(|p| format!("{:.1},{:.1}", x.at(p.0) + dodge, y.at(p.1))).collect();
        let _ = write!(
            svg.body,
            r#"<polyline class="series" fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#,
            path.join(" ")
        );
        for &(px, py, lo, hi) in points.iter() {
            let cx = x.at(px) + dodge;
            svg.line(
                (cx, y.at(lo)),
                (cx, y.at(hi)),
                &format!(r#"stroke="{colour}" stroke-width="1.2""#),
            );
            let _ = write!(
                svg.body,
                r#"<circle class="point" cx="{cx:.1}" cy="{:.1}" r="4" fill="{colour}"><title>×{px}: {:.1}% [{:.1}%, {:.1}%]</title></circle>"#,
                y.at(py),
                py * 100.0,
                lo * 100.0,
                hi * 100.0
            );
        }
    }
    legend(&mut svg, left, 22.0, right, &entries);
    svg.finish(&format!("power-{name}"), &format!("Power curve of sweep {name}"))
}

/// Mean players harmed per harmful run, with its 90th percentile, for each variant, grouped by
/// stage schedule.
fn blast_chart(name: &str, sweep: &Csv) -> String {
    let mut groups: Vec<(String, Vec<&Vec<String>>)> = Vec::new();
    for row in &sweep.rows {
        let schedule =
            format!("{} ({}%)", sweep.cell(row, "schedule"), sweep.cell(row, "stage_percents"));
        match groups.iter_mut().find(|(g, _)| *g == schedule) {
            Some((_, rows)) => rows.push(row),
            None => groups.push((schedule, vec![row])),
        }
    }
    let bars = sweep.rows.len() as f64;
    let (bar, gap) = (20.0, 16.0);
    let top = 20.0;
    let height = top + bars * bar + groups.len() as f64 * gap + 50.0;
    let max = sweep
        .rows
        .iter()
        .filter_map(|r| {
            sweep.number(r, "harmed_players_p90").or(sweep.number(r, "harmed_players_mean"))
        })
        .fold(1.0_f64, f64::max);
    // Each bar's tag: the variant's number and what sets it apart within its schedule.
    let tags: Vec<Vec<String>> = groups
        .iter()
        .map(|(_, rows)| {
            let others = varied_in(sweep, rows, &["schedule", "stage_percents"]);
            rows.iter()
                .map(|r| format!("{} · {}", sweep.cell(r, "variant"), label(sweep, r, &others)))
                .collect()
        })
        .collect();
    let longest = tags.iter().flatten().map(|t| t.chars().count()).max().unwrap_or(0) as f64;
    let mut svg = Svg::new(960.0, height);
    let x = Scale {
        d0: 0.0,
        d1: max * 1.05,
        r0: (24.0 + 7.0 * longest).clamp(160.0, 560.0),
        r1: 930.0,
    };
    let bottom = height - 40.0;
    svg.x_axis(
        x,
        bottom,
        top - 6.0,
        "players harmed per harmful run (bar: mean; whisker: 90th percentile)",
        &plain,
    );
    let mut at = top;
    for (g, ((schedule, rows), tags)) in groups.iter().zip(&tags).enumerate() {
        let colour = PALETTE[g % PALETTE.len()];
        svg.text(8.0, at + 12.0, "start", "", schedule);
        at += gap;
        for (row, tag) in rows.iter().zip(tags) {
            let mean = sweep.number(row, "harmed_players_mean").unwrap_or(0.0);
            svg.text(x.r0 - 8.0, at + bar / 2.0 + 4.0, "end", "muted", tag);
            let _ = write!(
                svg.body,
                r#"<rect class="bar" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{colour}" fill-opacity="0.8"><title>variant {}: mean {mean:.1}, p90 {}</title></rect>"#,
                x.r0,
                at + 3.0,
                (x.at(mean) - x.r0).max(0.5),
                bar - 6.0,
                sweep.cell(row, "variant"),
                sweep.cell(row, "harmed_players_p90")
            );
            if let Some(p90) = sweep.number(row, "harmed_players_p90") {
                let (cy, px) = (at + bar / 2.0, x.at(p90));
                svg.line((x.at(mean), cy), (px, cy), r##"stroke="#1d2430""##);
                svg.line((px, cy - 5.0), (px, cy + 5.0), r##"stroke="#1d2430""##);
            }
            at += bar;
        }
    }
    svg.finish(&format!("blast-{name}"), &format!("Blast radius per stage schedule, sweep {name}"))
}

/// Time to 100% on a clean release against blast radius, the frontier highlighted.
fn pareto_chart(name: &str, sweep: &Csv) -> String {
    let others = varied(sweep, &[]);
    let points: Vec<(&Vec<String>, f64, f64)> = sweep
        .rows
        .iter()
        .filter_map(|r| {
            Some((r, sweep.number(r, "release_h_median")?, sweep.number(r, "harmed_players_mean")?))
        })
        .collect();
    if points.is_empty() {
        return r#"<p class="empty">No variant of this sweep released a clean build, so there is no time to 100% to plot.</p>"#.to_string();
    }
    let (x0, x1) = points.iter().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let y1 = points.iter().fold(0.0_f64, |a, p| a.max(p.2));
    let mut svg = Svg::new(960.0, 460.0);
    let pad = ((x1 - x0) * 0.08).max(2.0);
    let x = Scale { d0: (x0 - pad).max(0.0), d1: x1 + pad, r0: 90.0, r1: 930.0 };
    let y = Scale { d0: 0.0, d1: y1 * 1.1 + 1.0, r0: 400.0, r1: 30.0 };
    svg.y_axis(y, x.r0, x.r1, "players harmed per harmful run (mean)", &plain);
    svg.x_axis(x, y.r0, y.r1, "hours to 100% on a clean release (median)", &|v, d| {
        format!("{}h", plain(v, d))
    });
    let on = |r: &[String]| sweep.cell(r, "pareto") == "yes";
    for &(row, px, py) in &points {
        let (cx, cy) = (x.at(px), y.at(py));
        let fk = sweep
            .number(row, "false_kill_rate")
            .map_or_else(|| "n/a".to_string(), |v| format!("{:.1}%", v * 100.0));
        let tip = format!(
            "variant {}: {}; {px}h to 100%, {py} players harmed, false kills {fk}",
            sweep.cell(row, "variant"),
            label(sweep, row, &others)
        );
        if on(row) {
            let _ = write!(
                svg.body,
                r##"<circle class="point frontier-point" cx="{cx:.1}" cy="{cy:.1}" r="7" fill="#D55E00"><title>{}</title></circle>"##,
                esc(&tip)
            );
            svg.text(
                cx + 10.0,
                cy - 8.0,
                "start",
                "",
                &format!("{} · FK {fk}", sweep.cell(row, "variant")),
            );
        } else {
            let _ = write!(
                svg.body,
                r##"<circle class="point" cx="{cx:.1}" cy="{cy:.1}" r="5" fill="#fff" stroke="#8a94a6" stroke-width="1.5"><title>{}</title></circle>"##,
                esc(&tip)
            );
            svg.text(cx + 8.0, cy + 4.0, "start", "muted", sweep.cell(row, "variant"));
        }
    }
    let _ = write!(svg.body, r##"<circle cx="{:.1}" cy="14" r="6" fill="#D55E00"/>"##, x.r0 + 6.0);
    svg.text(
        x.r0 + 18.0,
        18.0,
        "start",
        "",
        "on the Pareto frontier (label: variant · false-kill rate)",
    );
    let _ = write!(
        svg.body,
        r##"<circle cx="{:.1}" cy="14" r="5" fill="#fff" stroke="#8a94a6" stroke-width="1.5"/>"##,
        x.r0 + 400.0
    );
    svg.text(x.r0 + 412.0, 18.0, "start", "", "beaten by another variant");
    let mut out =
        svg.finish(&format!("pareto-{name}"), &format!("Pareto frontier of sweep {name}"));
    let unplotted: Vec<&str> = sweep
        .rows
        .iter()
        .filter(|r| sweep.number(r, "release_h_median").is_none())
        .map(|r| sweep.cell(r, "variant"))
        .collect();
    if !unplotted.is_empty() {
        let _ = write!(
            out,
            r#"<p class="how" id="pareto-{}-unplotted">Not drawn: variant{} {}, whose clean runs never reached 100%.</p>"#,
            esc(name),
            if unplotted.len() == 1 { "" } else { "s" },
            esc(&unplotted.join(", "))
        );
    }
    out
}

/// One box per scenario: 25th to 75th percentile, the median, the 90th percentile, the range.
fn detection_chart(detections: &[(String, Vec<f64>)]) -> String {
    let rows: Vec<(&str, Vec<f64>)> = detections
        .iter()
        .filter(|(_, h)| !h.is_empty())
        .map(|(s, h)| {
            let mut h = h.clone();
            h.sort_by(f64::total_cmp);
            (s.as_str(), h)
        })
        .collect();
    if rows.is_empty() {
        return r#"<p class="empty">No scenario detected anything.</p>"#.to_string();
    }
    let max = rows.iter().map(|(_, h)| h[h.len() - 1]).fold(1.0_f64, f64::max);
    let row_h = 26.0;
    let height = 40.0 + rows.len() as f64 * row_h + 50.0;
    let mut svg = Svg::new(960.0, height);
    let x = Scale { d0: 0.0, d1: max * 1.04, r0: 230.0, r1: 800.0 };
    let bottom = height - 40.0;
    svg.x_axis(x, bottom, 30.0, "hours from the harm's start to the stop", &|v, d| {
        format!("{}h", plain(v, d))
    });
    svg.text(x.r1 + 12.0, 22.0, "start", "muted", "detected · median · p90");
    for (i, (scenario, h)) in rows.iter().enumerate() {
        let q = |p: f64| sorted_quantile(h, p).unwrap_or(0.0);
        let cy = 40.0 + i as f64 * row_h + row_h / 2.0;
        svg.text(x.r0 - 10.0, cy + 4.0, "end", "", scenario);
        svg.line((x.at(h[0]), cy), (x.at(h[h.len() - 1]), cy), r##"stroke="#8a94a6""##);
        let (a, b) = (x.at(q(0.25)), x.at(q(0.75)));
        let _ = write!(
            svg.body,
            r##"<rect class="box" x="{a:.1}" y="{:.1}" width="{:.1}" height="14" fill="#56B4E9" fill-opacity="0.55" stroke="#0072B2"><title>{}: {} detections; median {:.1}h, p90 {:.1}h, range {:.1}h to {:.1}h</title></rect>"##,
            cy - 7.0,
            (b - a).max(1.5),
            esc(scenario),
            h.len(),
            q(0.5),
            q(0.9),
            h[0],
            h[h.len() - 1]
        );
        let m = x.at(q(0.5));
        svg.line((m, cy - 9.0), (m, cy + 9.0), r##"stroke="#0b2f57" stroke-width="2.5""##);
        let p90 = x.at(q(0.9));
        let _ = write!(
            svg.body,
            r##"<path d="M{p90:.1},{:.1} l5,5 l-5,5 l-5,-5 z" fill="#D55E00"/>"##,
            cy - 5.0
        );
        svg.text(
            x.r1 + 12.0,
            cy + 4.0,
            "start",
            "muted",
            &format!("{} · {:.0}h · {:.0}h", h.len(), q(0.5), q(0.9)),
        );
    }
    svg.finish("time-to-detect", "Time-to-detect distribution per scenario")
}

/// `value [lo, hi]` of a rate column, as percentages.
fn rate_cell(csv: &Csv, row: &[String], name: &str) -> String {
    match csv.number(row, name) {
        None => "<td></td>".to_string(),
        Some(v) => {
            let bound = |s: &str| {
                csv.number(row, &format!("{name}_{s}"))
                    .map_or(String::new(), |b| format!("{:.1}", b * 100.0))
            };
            format!(
                r#"<td>{:.1}%<br><span class="ci">[{}, {}]</span></td>"#,
                v * 100.0,
                bound("lo"),
                bound("hi")
            )
        }
    }
}

fn summary_section(summary: &Csv) -> String {
    let mut out = String::from(
        "<div class=\"scroll\"><table id=\"summary\"><thead><tr><th>scenario</th><th>verdict</th><th>runs</th>\
         <th>false-kill rate [95%]</th><th>detection rate [95%]</th><th>time to detect<br>median / p90</th>\
         <th>players harmed<br>mean / p90</th><th>released</th><th>hours to 100%<br>median</th>\
         <th>rolled back</th><th>oracle<br>violations</th></tr></thead><tbody>",
    );
    for row in &summary.rows {
        let c = |name: &str| esc(summary.cell(row, name));
        let pair = |a: &str, b: &str| {
            if summary.cell(row, a).is_empty() {
                String::new()
            } else {
                format!("{} / {}", c(a), c(b))
            }
        };
        let verdict = summary.cell(row, "expectations");
        let failed = summary.cell(row, "failed_expectations");
        let _ = write!(
            out,
            r#"<tr><td>{}</td><td><span class="badge {verdict}" title="{}">{verdict}</span></td><td>{}</td>{}{}<td>{}</td><td>{}</td>{}<td>{}</td>{}<td>{}</td></tr>"#,
            c("scenario"),
            esc(failed),
            c("runs"),
            rate_cell(summary, row, "false_kill_rate"),
            rate_cell(summary, row, "detection_rate"),
            pair("time_to_detect_h_median", "time_to_detect_h_p90"),
            pair("harmed_players_mean", "harmed_players_p90"),
            rate_cell(summary, row, "released_rate"),
            c("release_h_median"),
            rate_cell(summary, row, "rolled_back_rate"),
            c("oracle_violation_runs"),
        );
    }
    out.push_str("</tbody></table></div>");
    out
}

/// The page.
pub fn render(inputs: &Inputs) -> String {
    let mut body = String::new();
    let mut nav = Vec::new();
    let scenarios = inputs.summary.as_ref().map_or(0, |s| s.rows.len());
    let held = inputs
        .summary
        .as_ref()
        .map_or(0, |s| s.rows.iter().filter(|r| s.cell(r, "expectations") == "held").count());

    nav.push(("scenarios-summary", "Scenarios"));
    body.push_str(r#"<h2 id="scenarios-summary">Scenarios</h2>"#);
    match &inputs.summary {
        Some(summary) => {
            body.push_str(r#"<p class="how">One row per scenario of the last <code>rollcage simulate</code>. Rates carry their 95% Wilson interval; hours count from the start of the rollout. A scenario holds when every expectation in its file is met and no safety guarantee broke; hover a failed verdict for the expectations it missed. Every column is in <code>summary.csv</code>, documented in reports/README.md.</p>"#);
            body.push_str(&summary_section(summary));
        }
        None => body.push_str(r#"<p class="empty">There is no summary.csv here yet: <code>cargo run --release -- simulate</code> writes it.</p>"#),
    }

    nav.push(("time-to-detect-section", "Time to detect"));
    body.push_str(r#"<h2 id="time-to-detect-section">How fast bad builds are caught</h2><p class="how">For each scenario that stopped a harmful build, the hours from the harm's start to the stop, over its detected runs. The box spans the middle half of the runs, the dark bar is the median, the orange diamond the 90th percentile, and the grey line runs from the fastest to the slowest detection. Shorter is better: every hour is more players on a bad build.</p>"#);
    body.push_str(&detection_chart(&inputs.detections));

    let power: Vec<&(String, Csv)> =
        inputs.sweeps.iter().filter(|(_, s)| s.varies("fault_multiplier")).collect();
    nav.push(("power", "Power curves"));
    body.push_str(r#"<h2 id="power">Which harms each method catches</h2><p class="how">The detection rate (share of harmful runs stopped) against the size of the harm, one line per guardrail method, with 95% intervals as whiskers. A curve that rises early catches small regressions; the dashed line marks 80%, a common target. Read it with the false-kill rates in the sweep's table: a method can buy power by killing good builds.</p>"#);
    if power.is_empty() {
        body.push_str(r#"<p class="empty">No sweep here varies the fault's size. <code>cargo run --release -- sweep sweeps/power-curve.toml</code> runs five methods against regressions from ×1.1 to ×2 and draws this chart.</p>"#);
    }
    for (name, sweep) in power {
        let _ = write!(body, "<h3>Sweep <code>{}</code></h3>", esc(name));
        body.push_str(&power_chart(name, sweep));
    }

    let schedules: Vec<&(String, Csv)> = inputs
        .sweeps
        .iter()
        .filter(|(_, s)| {
            s.varies("stage_percents") || s.varies("stage_hours") || s.varies("holdback_percent")
        })
        .collect();
    nav.push(("blast", "Blast radius"));
    body.push_str(r#"<h2 id="blast">Blast radius per stage schedule</h2><p class="how">For each variant of a sweep that tries several schedules, how many players a bad build reaches before it is stopped: the bar is the mean over harmful runs, the whisker the 90th percentile. Variants are grouped by schedule (with its stage percentages); the label gives the variant's number and what else it changes.</p>"#);
    if schedules.is_empty() {
        body.push_str(r#"<p class="empty">No sweep here varies the stage schedule. <code>cargo run --release -- sweep sweeps/faster-rollout.toml</code> tries three schedules and draws this chart.</p>"#);
    }
    for (name, sweep) in schedules {
        let _ = write!(body, "<h3>Sweep <code>{}</code></h3>", esc(name));
        body.push_str(&blast_chart(name, sweep));
    }

    nav.push(("pareto", "Pareto frontier"));
    body.push_str(r#"<h2 id="pareto">Going faster against harming more</h2><p class="how">Each variant of a sweep: how long a good build takes to reach 100% (across) against how many players a bad build harms (up). Down and to the left is better. Filled points are on the Pareto frontier over three costs, the two drawn and the false-kill rate in their label: no other variant is at least as good on all three. A filled point can look beaten here when it kills fewer good builds than the point that seems to beat it. Hover a point for its policy.</p>"#);
    if inputs.sweeps.is_empty() {
        body.push_str(r#"<p class="empty">No sweep has been run into this directory. <code>cargo run --release -- sweep sweeps/faster-rollout.toml</code> writes one.</p>"#);
    }
    for (name, sweep) in &inputs.sweeps {
        let _ = write!(body, "<h3>Sweep <code>{}</code></h3>", esc(name));
        if sweep.varies("fault_multiplier") {
            // Its rows differ in the harm, not only in the policy: their costs don't compare.
            body.push_str(r#"<p class="empty">This sweep varies the size of the harm as well as the policy, so its variants face different harms and their costs are not compared here; its power curve is above.</p>"#);
        } else {
            body.push_str(&pareto_chart(name, sweep));
        }
    }

    let verdict = match (scenarios, held) {
        (0, _) => String::new(),
        (n, h) if n == h => format!(r#"<span class="badge held">all {n} scenarios held</span>"#),
        (n, h) => format!(r#"<span class="badge failed">{} of {n} scenarios failed</span>"#, n - h),
    };
    let links: Vec<String> =
        nav.iter().map(|(id, name)| format!(r##"<a href="#{id}">{name}</a>"##)).collect();
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <title>rollcage reports</title><style>{STYLE}</style></head><body>\
         <h1>rollcage reports</h1><p class=\"lead\">What the rollout policies under test cost: good builds killed, bad builds caught and how fast, players a bad build reaches. From the reports beside this page: {} scenario{}, {} sweep{}. {verdict}</p>\
         <nav>{}</nav>{body}</body></html>\n",
        scenarios,
        if scenarios == 1 { "" } else { "s" },
        inputs.sweeps.len(),
        if inputs.sweeps.len() == 1 { "" } else { "s" },
        links.join("")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_domain() {
        assert_eq!(ticks(0.0, 1.0, 5), (vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0], 1));
        let (t, d) = ticks(0.0, 73.0, 6);
        assert_eq!((t, d), (vec![0.0, 20.0, 40.0, 60.0], 0));
        assert_eq!(ticks(1.0, 2.0, 4).1, 2, "steps of 0.25 need two decimals");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(esc(r#"<a & "b">"#), "&lt;a &amp; &quot;b&quot;&gt;");
    }

    fn csv(text: &str) -> Csv {
        let (header, rows) = parse_csv(text).unwrap();
        Csv { header, rows }
    }

    #[test]
    fn a_power_curve_has_one_line_per_method_and_a_point_per_size() {
        let sweep = csv(
            "variant,schedule,method,fault_multiplier,runs,detection_rate,detection_rate_lo,detection_rate_hi\n\
             0,as written,msprt,1.1,50,0.2,0.1,0.3\n1,as written,msprt,1.5,50,0.9,0.8,0.95\n\
             2,as written,pocock,1.1,50,0.3,0.2,0.4\n3,as written,pocock,1.5,50,0.95,0.9,0.99\n",
        );
        let svg = power_chart("p", &sweep);
        assert_eq!(svg.matches("<polyline class=\"series\"").count(), 2);
        assert_eq!(svg.matches("<circle class=\"point\"").count(), 4);
        assert!(svg.contains(">msprt</text>") && svg.contains(">pocock</text>"));
    }

    #[test]
    fn the_page_says_what_is_missing_and_loads_nothing() {
        let page = render(&Inputs::default());
        assert!(page.contains("There is no summary.csv here yet"));
        assert!(page.contains("sweeps/power-curve.toml"));
        assert!(!page.contains("://"), "the page refers to nothing outside itself");
    }
}
