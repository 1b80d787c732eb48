//! The page's charts as inline SVG, drawn by plotters' SVG backend.
//!
//! plotters draws every piece of a chart: the frame (axes, ticks, gridlines, tick labels, axis
//! labels), and each line, point, bar, box, label and legend swatch. Two things it cannot write
//! are done here, in one small way: a mark a reader hovers (a point, a bar, a box, a curve) gets a
//! `class` (the browser test finds the marks by it) and a `<title>` child (the tooltip). For that,
//! each piece is drawn alone, on a backend of its own with the chart's coordinates, so that what
//! plotters returns is that one element; [`Figure::mark`] adds the class and the title to it.
//! The pieces are kept in drawing order, so later ones lie on top.
//!
//! plotters' own `<svg>` element, which names the SVG namespace by its URL, is replaced by the
//! page's (class `chart`, an id, a title): inline in HTML an `<svg>` needs no namespace, and the
//! page refers to nothing outside itself.

use std::ops::Range;

use anyhow::{Context, bail};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::{CoordTranslate, Shift};
use plotters::element::{CoordMapper, Drawable, PointCollection};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Colours that stay apart for colour-blind readers (Okabe and Ito).
pub(super) const PALETTE: [RGBColor; 7] = [
    RGBColor(0x00, 0x72, 0xB2),
    RGBColor(0xE6, 0x9F, 0x00),
    RGBColor(0x00, 0x9E, 0x73),
    RGBColor(0xD5, 0x5E, 0x00),
    RGBColor(0xCC, 0x79, 0xA7),
    RGBColor(0x56, 0xB4, 0xE9),
    RGBColor(0x00, 0x00, 0x00),
];

/// The page's text colour.
pub(super) const INK: RGBColor = RGBColor(0x1d, 0x24, 0x30);
/// Secondary text: tick labels, tags, notes.
pub(super) const MUTED: RGBColor = RGBColor(0x6b, 0x75, 0x85);
/// Axes, reference lines and ranges.
pub(super) const AXIS: RGBColor = RGBColor(0x8a, 0x94, 0xa6);
/// Gridlines.
const GRID: RGBColor = RGBColor(0xe5, 0xe8, 0xee);

/// plotters writes a text's font size as its size over 1.24: this is the page's 12px.
const FONT_SIZE: f64 = 14.88;

/// Room left of the y axis's label, for its rotated text.
const LEFT_EDGE_PX: u32 = 16;
/// Room below the x axis's label, for its descenders.
const BOTTOM_EDGE_PX: u32 = 4;

/// Escapes text for HTML and SVG.
pub(super) fn esc(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The chart text style: 12px in `colour`, anchored horizontally at `h` and centred vertically.
pub(super) fn font(colour: &'static RGBColor, h: HPos) -> TextStyle<'static> {
    TextStyle::from(("sans-serif", FONT_SIZE).into_font())
        .color(colour)
        .pos(Pos::new(h, VPos::Center))
}

/// How an axis writes its ticks.
#[derive(Clone, Copy, Debug)]
pub(super) enum Tick {
    /// A number: `20`.
    Plain,
    /// A share as a percentage: `20%`.
    Percent,
    /// A fault's multiplier: `×1.5`.
    Multiplier,
    /// Hours: `20h`.
    Hours,
}

impl Tick {
    /// `v` as this axis writes it, with the `decimals` its ticks need.
    pub(super) fn write(self, v: f64, decimals: usize) -> String {
        match self {
            Tick::Plain => format!("{v:.decimals$}"),
            Tick::Percent => format!("{:.*}%", decimals.saturating_sub(2), v * 100.0),
            Tick::Multiplier => format!("×{v:.*}", decimals.max(1)),
            Tick::Hours => format!("{v:.decimals$}h"),
        }
    }
}

/// The fewest decimals that write every tick exactly (0.25 needs two, 0.2 one).
pub(super) fn decimals(ticks: &[f64]) -> usize {
    (0..6)
        .find(|&d| {
            ticks.iter().all(|t| {
                let scaled = t * 10f64.powi(d);
                (scaled - scaled.round()).abs() < 1e-6 * scaled.abs().max(1.0)
            })
        })
        .unwrap_or(6) as usize
}

/// A value axis: its domain, about how many ticks, how they are written, and its label.
pub(super) struct Axis<'a> {
    pub(super) domain: Range<f64>,
    /// The most ticks plotters may choose (it picks round steps of 1, 2 or 5).
    pub(super) ticks: usize,
    pub(super) tick: Tick,
    pub(super) label: &'a str,
}

impl Axis<'_> {
    /// The tick labels' formatter, with the decimals of the ticks plotters will draw.
    fn formatter(&self) -> impl Fn(&f64) -> String + use<> {
        let ticks = RangedCoordf64::from(self.domain.clone()).key_points(self.ticks);
        let (tick, decimals) = (self.tick, decimals(&ticks));
        move |v: &f64| tick.write(*v, decimals)
    }
}

/// Where a chart's plotting area lies in its SVG, in pixels from the top left corner.
pub(super) struct Layout {
    pub(super) width: u32,
    pub(super) height: u32,
    pub(super) left: u32,
    pub(super) top: u32,
    pub(super) right: u32,
    pub(super) bottom: u32,
}

/// The coordinates of a chart's plotting area: data to pixels.
type Coord = Cartesian2d<RangedCoordf64, RangedCoordf64>;

/// A chart under way: its size, its coordinates, and the markup plotters drew so far.
pub(super) struct Figure {
    size: (u32, u32),
    coord: Coord,
    body: String,
}

impl Figure {
    /// A chart with its frame drawn: the x axis below, and the y axis at the left if there is
    /// one. A chart without a y axis (rows of bars or boxes) places its rows itself, in pixels.
    pub(super) fn new(layout: &Layout, x: &Axis, y: Option<&Axis>) -> anyhow::Result<Figure> {
        let size = (layout.width, layout.height);
        let y_domain = match y {
            Some(y) => y.domain.clone(),
            None => 0.0..1.0,
        };
        let left_edge = if y.is_some() { LEFT_EDGE_PX } else { 0 };
        let (x_format, y_format) = (x.formatter(), y.map(Axis::formatter));
        let mut frame = String::new();
        let coord = {
            let root = SVGBackend::with_string(&mut frame, size).into_drawing_area();
            let mut chart = ChartBuilder::on(&root)
                .margin_top(layout.top)
                .margin_right(layout.width - layout.right)
                .margin_left(left_edge)
                .margin_bottom(BOTTOM_EDGE_PX)
                .y_label_area_size(layout.left - left_edge)
                .x_label_area_size(layout.height - layout.bottom - BOTTOM_EDGE_PX)
                .build_cartesian_2d(x.domain.clone(), y_domain)?;
            let mut mesh = chart.configure_mesh();
            mesh.light_line_style(TRANSPARENT)
                .bold_line_style(GRID)
                .axis_style(AXIS)
                .label_style(font(&MUTED, HPos::Center))
                .axis_desc_style(font(&INK, HPos::Center))
                .x_labels(x.ticks)
                .x_label_formatter(&x_format)
                .x_desc(x.label);
            match (y, &y_format) {
                (Some(y), Some(format)) => {
                    mesh.y_labels(y.ticks).y_label_formatter(format).y_desc(y.label);
                }
                _ => {
                    mesh.disable_y_mesh().disable_y_axis().y_labels(0);
                }
            }
            mesh.draw()?;
            let coord = chart.as_coord_spec().clone();
            root.present()?;
            coord
        };
        Ok(Figure { size, coord, body: inner(&frame)?.to_string() })
    }

    /// Where the data point `(x, y)` is drawn, in pixels.
    pub(super) fn at(&self, x: f64, y: f64) -> (i32, i32) {
        self.coord.translate(&(x, y))
    }

    /// Draws `element`, placed in the data's coordinates.
    pub(super) fn draw<E, B>(&mut self, element: &E) -> anyhow::Result<()>
    where
        B: CoordMapper,
        for<'e> &'e E: PointCollection<'e, (f64, f64), B>,
        for<'s> E: Drawable<SVGBackend<'s>, B>,
    {
        let drawn = alone(self.size, &self.coord, element)?;
        self.body.push_str(&drawn);
        Ok(())
    }

    /// Draws `element`, placed in pixels from the chart's top left corner.
    pub(super) fn draw_px<E, B>(&mut self, element: &E) -> anyhow::Result<()>
    where
        B: CoordMapper,
        for<'e> &'e E: PointCollection<'e, (i32, i32), B>,
        for<'s> E: Drawable<SVGBackend<'s>, B>,
    {
        let drawn = alone(self.size, &Shift((0, 0)), element)?;
        self.body.push_str(&drawn);
        Ok(())
    }

    /// Draws `element`, one shape placed in pixels, as a mark: with `class` and the tooltip
    /// `title`.
    pub(super) fn mark<E, B>(&mut self, element: &E, class: &str, title: &str) -> anyhow::Result<()>
    where
        B: CoordMapper,
        for<'e> &'e E: PointCollection<'e, (i32, i32), B>,
        for<'s> E: Drawable<SVGBackend<'s>, B>,
    {
        let drawn = alone(self.size, &Shift((0, 0)), element)?;
        self.body.push_str(&tag(&drawn, class, title)?);
        Ok(())
    }

    /// Where the value `x` lies across the plotting area, in pixels.
    pub(super) fn x(&self, x: f64) -> i32 {
        self.at(x, self.coord.get_y_range().start).0
    }

    /// Text at `(x, y)` in pixels, anchored by `style`.
    pub(super) fn text(
        &mut self,
        (x, y): (i32, i32),
        text: &str,
        style: &TextStyle<'static>,
    ) -> anyhow::Result<()> {
        self.draw_px(&Text::new(text.to_string(), (x, y), style.clone()))
    }

    /// The chart as the page's inline `<svg>`, with its id and title.
    pub(super) fn finish(self, id: &str, title: &str) -> String {
        format!(
            r#"<svg class="chart" id="{id}" role="img" aria-label="{}" viewBox="0 0 {w} {h}" width="{w}" height="{h}"><title>{}</title>{}</svg>"#,
            esc(title),
            esc(title),
            self.body,
            w = self.size.0,
            h = self.size.1
        )
    }
}

/// What plotters draws of `element` alone, with the coordinates `coord`: its markup without the
/// `<svg>` element around it.
fn alone<C, E, B>(size: (u32, u32), coord: &C, element: &E) -> anyhow::Result<String>
where
    C: CoordTranslate + Clone,
    B: CoordMapper,
    for<'e> &'e E: PointCollection<'e, C::From, B>,
    for<'s> E: Drawable<SVGBackend<'s>, B>,
{
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.apply_coord_spec(coord.clone()).draw(element)?;
        root.present()?;
    }
    Ok(inner(&svg)?.to_string())
}

/// The markup inside the `<svg>` element plotters wrote.
fn inner(svg: &str) -> anyhow::Result<&str> {
    let open = svg.find(">\n").filter(|_| svg.starts_with("<svg "));
    let body = open.and_then(|end| svg[end + 2..].strip_suffix("</svg>\n"));
    body.context("plotters wrote an SVG document of an unexpected shape")
}

/// `drawn`, one self-closing element, with `class` and a `<title>` child holding `title`.
fn tag(drawn: &str, class: &str, title: &str) -> anyhow::Result<String> {
    let element = drawn.trim_end();
    let Some(attributes) = element.strip_suffix("/>") else {
        bail!("a mark must be one self-closing element, not {element:?}");
    };
    let Some((name, attributes)) = attributes.strip_prefix('<').and_then(|a| a.split_once(' '))
    else {
        bail!("a mark must be one self-closing element, not {element:?}");
    };
    if attributes.contains('<') {
        bail!("a mark must be one element, not {element:?}");
    }
    Ok(format!("<{name} class=\"{class}\" {attributes}><title>{}</title></{name}>\n", esc(title)))
}

/// Where each legend entry goes, wrapping within [x, right): its position; and the lines used.
pub(super) fn legend_layout(x: i32, right: i32, entries: &[String]) -> (Vec<(i32, usize)>, usize) {
    let (mut at, mut line) = (x, 0);
    let mut placed = Vec::new();
    for name in entries {
        // About 7 pixels a character at 12px, the swatch and a gap.
        let width = 30 + 7 * name.chars().count() as i32;
        if at > x && at + width > right {
            (at, line) = (x, line + 1);
        }
        placed.push((at, line));
        at += width;
    }
    (placed, line + 1)
}

/// The height of a legend line, in pixels.
pub(super) const LEGEND_LINE_PX: i32 = 18;

/// Coloured swatches with their names, the first line centred on `y`, wrapping at `right`.
pub(super) fn legend(
    figure: &mut Figure,
    (x, y): (i32, i32),
    right: i32,
    entries: &[(String, RGBColor)],
) -> anyhow::Result<()> {
    let names: Vec<String> = entries.iter().map(|(name, _)| name.clone()).collect();
    let (placed, _) = legend_layout(x, right, &names);
    for ((name, colour), (at, line)) in entries.iter().zip(placed) {
        let y = y + LEGEND_LINE_PX * line as i32;
        figure.draw_px(&Rectangle::new([(at, y - 6), (at + 12, y + 6)], colour.filled()))?;
        figure.text((at + 17, y), name, &font(&INK, HPos::Left))?;
    }
    Ok(())
}
