//! Drawing the page's charts: scales, axes, ticks, legends and the SVG they are written in.

use std::fmt::Write as _;

/// Colours that stay apart for colour-blind readers (Okabe and Ito).
pub(super) const PALETTE: [&str; 7] =
    ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000"];

/// Escapes text for HTML and SVG.
pub(super) fn esc(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// About `count` round tick values covering [lo, hi].
pub(super) fn ticks(lo: f64, hi: f64, count: usize) -> (Vec<f64>, usize) {
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
pub(super) struct Scale {
    pub(super) d0: f64,
    pub(super) d1: f64,
    pub(super) r0: f64,
    pub(super) r1: f64,
}

impl Scale {
    pub(super) fn at(self, v: f64) -> f64 {
        let t = if self.d1 > self.d0 { (v - self.d0) / (self.d1 - self.d0) } else { 0.5 };
        self.r0 + t * (self.r1 - self.r0)
    }
}

/// An SVG chart under way: its size and the markup so far.
pub(super) struct Svg {
    pub(super) width: f64,
    pub(super) height: f64,
    pub(super) body: String,
}

impl Svg {
    pub(super) fn new(width: f64, height: f64) -> Svg {
        Svg { width, height, body: String::new() }
    }

    pub(super) fn text(&mut self, x: f64, y: f64, anchor: &str, class: &str, text: &str) {
        let _ = write!(
            self.body,
            r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" class="{class}">{}</text>"#,
            esc(text)
        );
    }

    pub(super) fn line(&mut self, (x1, y1): (f64, f64), (x2, y2): (f64, f64), style: &str) {
        let _ = write!(
            self.body,
            r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" {style}/>"#
        );
    }

    /// A horizontal value axis along `y` with gridlines up to `top`.
    pub(super) fn x_axis(
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
    pub(super) fn y_axis(
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

    pub(super) fn finish(self, id: &str, title: &str) -> String {
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

pub(super) fn plain(v: f64, decimals: usize) -> String {
    format!("{v:.decimals$}")
}

pub(super) fn percent(v: f64, decimals: usize) -> String {
    format!("{:.*}%", decimals.saturating_sub(2), v * 100.0)
}

/// Where each legend entry goes, wrapping within [x, right): its position; and the lines used.
pub(super) fn legend_layout(
    x: f64,
    right: f64,
    entries: &[(String, &str)],
) -> (Vec<(f64, usize)>, usize) {
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
pub(super) fn legend(svg: &mut Svg, x: f64, y: f64, right: f64, entries: &[(String, &str)]) {
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
