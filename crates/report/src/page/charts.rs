//! The page's charts, each from its CSV report: time to detect, power curves, blast radius and
//! the Pareto frontier.

use std::fmt::Write as _;

use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::HPos;
use rollcage_stats::quantile::sorted_quantile;

use super::Csv;
use super::svg::{
    AXIS, Axis, Figure, INK, LEGEND_LINE_PX, Layout, MUTED, PALETTE, Tick, esc, font, legend,
    legend_layout,
};
use crate::columns::{Column, SweepColumn};

/// The columns of a sweep that say what policy a variant ran (the stage percentages go with the
/// schedule's name), and the fault's size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PolicyColumn {
    Schedule,
    StageHours,
    HoldbackPercent,
    Method,
    Alpha,
    EvaluationIntervalMin,
    FaultMultiplier,
}

impl PolicyColumn {
    const ALL: [PolicyColumn; 7] = [
        PolicyColumn::Schedule,
        PolicyColumn::StageHours,
        PolicyColumn::HoldbackPercent,
        PolicyColumn::Method,
        PolicyColumn::Alpha,
        PolicyColumn::EvaluationIntervalMin,
        PolicyColumn::FaultMultiplier,
    ];

    fn column(self) -> SweepColumn {
        match self {
            PolicyColumn::Schedule => SweepColumn::Schedule,
            PolicyColumn::StageHours => SweepColumn::StageHours,
            PolicyColumn::HoldbackPercent => SweepColumn::HoldbackPercent,
            PolicyColumn::Method => SweepColumn::Method,
            PolicyColumn::Alpha => SweepColumn::Alpha,
            PolicyColumn::EvaluationIntervalMin => SweepColumn::EvaluationIntervalMin,
            PolicyColumn::FaultMultiplier => SweepColumn::FaultMultiplier,
        }
    }

    /// A value of the column, as a label says it.
    fn tag(self, v: &str) -> String {
        match self {
            PolicyColumn::StageHours => format!("{v} h"),
            PolicyColumn::HoldbackPercent => format!("holdback {v}%"),
            PolicyColumn::Alpha => format!("α {v}"),
            PolicyColumn::EvaluationIntervalMin => format!("every {v} min"),
            PolicyColumn::FaultMultiplier => format!("×{v}"),
            PolicyColumn::Schedule | PolicyColumn::Method => v.to_string(),
        }
    }
}

/// The policy columns that differ among `rows` of a sweep, besides those in `except`: what tells
/// those rows apart.
pub(super) fn varied_in(
    sweep: &Csv,
    rows: &[&Vec<String>],
    except: &[PolicyColumn],
) -> Vec<PolicyColumn> {
    PolicyColumn::ALL
        .into_iter()
        .filter(|c| !except.contains(c))
        .filter(|c| sweep.differs(rows.iter().copied(), c.column()))
        .collect()
}

/// The policy columns a sweep varies, besides those in `except`.
pub(super) fn varied(sweep: &Csv, except: &[PolicyColumn]) -> Vec<PolicyColumn> {
    varied_in(sweep, &sweep.rows.iter().collect::<Vec<_>>(), except)
}

/// A short label of a row's values in `columns`.
pub(super) fn label(sweep: &Csv, row: &[String], columns: &[PolicyColumn]) -> String {
    let parts: Vec<String> = columns
        .iter()
        .map(|&c| {
            // One value per statistical guardrail: once, when they all agree.
            let v = sweep.cell(row, c.column());
            let first = v.split('/').next().unwrap_or(v);
            let once = c != PolicyColumn::StageHours && v.split('/').all(|p| p == first);
            c.tag(if once { first } else { v })
        })
        .collect();
    if parts.is_empty() { "as written".to_string() } else { parts.join(" · ") }
}

/// A point of a power curve: the fault's multiplier, the detection rate and its interval.
type PowerPoint = (f64, f64, f64, f64);

/// The power curves' series: one per combination of the varied columns other than the fault's
/// multiplier, in the sweep's order, each with its points.
fn power_series(sweep: &Csv) -> Vec<(String, Vec<PowerPoint>)> {
    let series_columns = varied(sweep, &[PolicyColumn::FaultMultiplier]);
    let mut series: Vec<(String, Vec<PowerPoint>)> = Vec::new();
    for row in &sweep.rows {
        let (Some(x), Some(y), Some(lo), Some(hi)) = (
            sweep.number(row, SweepColumn::FaultMultiplier),
            sweep.number(row, SweepColumn::DetectionRate),
            sweep.number(row, SweepColumn::DetectionRateLo),
            sweep.number(row, SweepColumn::DetectionRateHi),
        ) else {
            continue;
        };
        let key = label(sweep, row, &series_columns);
        match series.iter_mut().find(|(k, _)| *k == key) {
            Some((_, points)) => points.push((x, y, lo, hi)),
            None => series.push((key, vec![(x, y, lo, hi)])),
        }
    }
    for (_, points) in &mut series {
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    series
}

/// Detection rate against the fault's size, one line per combination of the other varied columns.
pub(super) fn power_chart(name: &str, sweep: &Csv) -> anyhow::Result<String> {
    let series = power_series(sweep);
    let xs: Vec<f64> = series.iter().flat_map(|(_, p)| p.iter().map(|q| q.0)).collect();
    if xs.is_empty() {
        return Ok(r#"<p class="empty">No detection rates in this sweep.</p>"#.to_string());
    }
    let (x0, x1) = xs.iter().fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    let pad = ((x1 - x0) * 0.05).max(0.02);
    let entries: Vec<(String, RGBColor)> = series
        .iter()
        .enumerate()
        .map(|(i, (k, _))| (k.clone(), PALETTE[i % PALETTE.len()]))
        .collect();
    let (left, right) = (80, 930);
    let names: Vec<String> = series.iter().map(|(k, _)| k.clone()).collect();
    let lines = legend_layout(left, right, &names).1 as u32;
    let top = 30 + LEGEND_LINE_PX as u32 * lines;
    let layout = Layout {
        width: 960,
        height: top + 390,
        left: left as u32,
        top,
        right: right as u32,
        bottom: top + 330,
    };
    let x = Axis {
        domain: x0 - pad..x1 + pad,
        ticks: 7,
        tick: Tick::Multiplier,
        label: SweepColumn::FaultMultiplier.label(),
    };
    let y = Axis {
        domain: 0.0..1.0,
        ticks: 6,
        tick: Tick::Percent,
        label: SweepColumn::DetectionRate.label(),
    };
    let mut figure = Figure::new(&layout, &x, Some(&y))?;
    figure.draw(&DashedPathElement::new(
        [(x.domain.start, 0.8), (x.domain.end, 0.8)],
        5,
        4,
        AXIS,
    ))?;
    let (end, at_80) = figure.at(x.domain.end, 0.8);
    figure.text((end - 4, at_80 - 9), "80%", &font(&MUTED, HPos::Right))?;
    let k = series.len() as f64;
    for (i, (key, points)) in series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        // Series side by side, a few pixels apart, so that their intervals do not hide each other.
        let dodge = ((i as f64 - (k - 1.0) / 2.0) * 4.0).round() as i32;
        let at = |x: f64, y: f64| {
            let (px, py) = figure.at(x, y);
            (px + dodge, py)
        };
        let path: Vec<(i32, i32)> = points.iter().map(|p| at(p.0, p.1)).collect();
        let whiskers: Vec<[(i32, i32); 2]> =
            points.iter().map(|p| [at(p.0, p.2), at(p.0, p.3)]).collect();
        figure.mark(&PathElement::new(path.clone(), colour.stroke_width(2)), "series", key)?;
        for ((&(x, y, lo, hi), point), whisker) in points.iter().zip(path).zip(whiskers) {
            figure.draw_px(&PathElement::new(whisker, colour.stroke_width(1)))?;
            let tip = format!("×{x}: {:.1}% [{:.1}%, {:.1}%]", y * 100.0, lo * 100.0, hi * 100.0);
            figure.mark(&Circle::new(point, 4, colour.filled()), "point", &tip)?;
        }
    }
    legend(&mut figure, (left, 18), right, &entries)?;
    Ok(figure.finish(&format!("power-{name}"), &format!("Power curve of sweep {name}")))
}

/// A stage schedule's variants in the blast chart.
struct ScheduleGroup<'a> {
    /// The schedule's name with its stage percentages.
    name: String,
    /// Each variant's row with its tag: its number and what sets it apart within the schedule.
    rows: Vec<(&'a Vec<String>, String)>,
}

/// The sweep's rows grouped by stage schedule, in the sweep's order.
fn schedules(sweep: &Csv) -> Vec<ScheduleGroup<'_>> {
    let mut groups: Vec<(String, Vec<&Vec<String>>)> = Vec::new();
    for row in &sweep.rows {
        let schedule = format!(
            "{} ({}%)",
            sweep.cell(row, SweepColumn::Schedule),
            sweep.cell(row, SweepColumn::StagePercents)
        );
        match groups.iter_mut().find(|(g, _)| *g == schedule) {
            Some((_, rows)) => rows.push(row),
            None => groups.push((schedule, vec![row])),
        }
    }
    groups
        .into_iter()
        .map(|(name, rows)| {
            let others = varied_in(sweep, &rows, &[PolicyColumn::Schedule]);
            let rows = rows
                .into_iter()
                .map(|r| {
                    let tag = format!(
                        "{} · {}",
                        sweep.cell(r, SweepColumn::Variant),
                        label(sweep, r, &others)
                    );
                    (r, tag)
                })
                .collect();
            ScheduleGroup { name, rows }
        })
        .collect()
}

/// Mean players harmed per harmful run, with its 90th percentile, for each variant, grouped by
/// stage schedule.
pub(super) fn blast_chart(name: &str, sweep: &Csv) -> anyhow::Result<String> {
    let groups = schedules(sweep);
    let (bar, gap, top) = (20, 16, 20);
    let height = top + sweep.rows.len() as i32 * bar + groups.len() as i32 * gap + 50;
    let max = sweep
        .rows
        .iter()
        .filter_map(|r| {
            sweep
                .number(r, SweepColumn::HarmedPlayersP90)
                .or(sweep.number(r, SweepColumn::HarmedPlayersMean))
        })
        .fold(1.0_f64, f64::max);
    let longest = groups
        .iter()
        .flat_map(|g| g.rows.iter().map(|(_, tag)| tag.chars().count()))
        .max()
        .unwrap_or(0) as i32;
    let left = (24 + 7 * longest).clamp(160, 560);
    let layout = Layout {
        width: 960,
        height: height as u32,
        left: left as u32,
        top: top as u32 - 6,
        right: 930,
        bottom: height as u32 - 40,
    };
    let x = Axis {
        domain: 0.0..max * 1.05,
        ticks: 7,
        tick: Tick::Plain,
        label: "players harmed per harmful run (bar: mean; whisker: 90th percentile)",
    };
    let mut figure = Figure::new(&layout, &x, None)?;
    let zero = figure.x(0.0);
    let mut at = top;
    for (g, schedule) in groups.iter().enumerate() {
        let colour = PALETTE[g % PALETTE.len()];
        figure.text((8, at + 8), &schedule.name, &font(&INK, HPos::Left))?;
        at += gap;
        for (row, tag) in &schedule.rows {
            let mean = sweep.number(row, SweepColumn::HarmedPlayersMean).unwrap_or(0.0);
            let cy = at + bar / 2;
            figure.text((zero - 8, cy), tag, &font(&MUTED, HPos::Right))?;
            let end = figure.x(mean).max(zero + 1);
            let tip = format!(
                "variant {}: mean {mean:.1}, p90 {}",
                sweep.cell(row, SweepColumn::Variant),
                sweep.cell(row, SweepColumn::HarmedPlayersP90)
            );
            let shape =
                Rectangle::new([(zero, at + 3), (end, at + bar - 3)], colour.mix(0.8).filled());
            figure.mark(&shape, "bar", &tip)?;
            if let Some(p90) = sweep.number(row, SweepColumn::HarmedPlayersP90) {
                let px = figure.x(p90);
                figure.draw_px(&PathElement::new([(figure.x(mean), cy), (px, cy)], INK))?;
                figure.draw_px(&PathElement::new([(px, cy - 5), (px, cy + 5)], INK))?;
            }
            at += bar;
        }
    }
    Ok(figure.finish(
        &format!("blast-{name}"),
        &format!("Blast radius per stage schedule, sweep {name}"),
    ))
}

/// The colour of the points on the Pareto frontier.
const FRONTIER: RGBColor = RGBColor(0xD5, 0x5E, 0x00);

/// Time to 100% on a clean release against blast radius, the frontier highlighted.
pub(super) fn pareto_chart(name: &str, sweep: &Csv) -> anyhow::Result<String> {
    let others = varied(sweep, &[]);
    let points: Vec<(&Vec<String>, f64, f64)> = sweep
        .rows
        .iter()
        .filter_map(|r| {
            Some((
                r,
                sweep.number(r, SweepColumn::ReleaseHMedian)?,
                sweep.number(r, SweepColumn::HarmedPlayersMean)?,
            ))
        })
        .collect();
    if points.is_empty() {
        return Ok(r#"<p class="empty">No variant of this sweep released a clean build, so there is no time to 100% to plot.</p>"#.to_string());
    }
    let (x0, x1) = points.iter().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let y1 = points.iter().fold(0.0_f64, |a, p| a.max(p.2));
    let pad = ((x1 - x0) * 0.08).max(2.0);
    let layout = Layout { width: 960, height: 460, left: 90, top: 30, right: 930, bottom: 400 };
    let x = Axis {
        domain: (x0 - pad).max(0.0)..x1 + pad,
        ticks: 7,
        tick: Tick::Hours,
        label: SweepColumn::ReleaseHMedian.label(),
    };
    let y = Axis {
        domain: 0.0..y1 * 1.1 + 1.0,
        ticks: 6,
        tick: Tick::Plain,
        label: SweepColumn::HarmedPlayersMean.label(),
    };
    let mut figure = Figure::new(&layout, &x, Some(&y))?;
    for &(row, px, py) in &points {
        let at = figure.at(px, py);
        let fk = sweep
            .number(row, SweepColumn::FalseKillRate)
            .map_or_else(|| "n/a".to_string(), |v| format!("{:.1}%", v * 100.0));
        let tip = format!(
            "variant {}: {}; {px}h to 100%, {py} players harmed, false kills {fk}",
            sweep.cell(row, SweepColumn::Variant),
            label(sweep, row, &others)
        );
        let variant = sweep.cell(row, SweepColumn::Variant);
        if sweep.cell(row, SweepColumn::Pareto) == "yes" {
            figure.mark(&Circle::new(at, 7, FRONTIER.filled()), "point frontier-point", &tip)?;
            let text = format!("{variant} · FK {fk}");
            figure.text((at.0 + 10, at.1 - 12), &text, &font(&INK, HPos::Left))?;
        } else {
            figure.draw_px(&Circle::new(at, 5, AXIS.stroke_width(2)))?;
            figure.mark(&Circle::new(at, 4, WHITE.filled()), "point", &tip)?;
            figure.text((at.0 + 8, at.1), variant, &font(&MUTED, HPos::Left))?;
        }
    }
    pareto_legend(&mut figure, layout.left as i32)?;
    let mut out =
        figure.finish(&format!("pareto-{name}"), &format!("Pareto frontier of sweep {name}"));
    out.push_str(&unplotted(name, sweep));
    Ok(out)
}

/// The Pareto chart's key: filled points are on the frontier, open ones beaten.
pub(super) fn pareto_legend(figure: &mut Figure, left: i32) -> anyhow::Result<()> {
    figure.draw_px(&Circle::new((left + 6, 14), 6, FRONTIER.filled()))?;
    let text = "on the Pareto frontier (label: variant · false-kill rate)";
    figure.text((left + 18, 14), text, &font(&INK, HPos::Left))?;
    figure.draw_px(&Circle::new((left + 400, 14), 5, AXIS.stroke_width(2)))?;
    figure.draw_px(&Circle::new((left + 400, 14), 4, WHITE.filled()))?;
    figure.text((left + 412, 14), "beaten by another variant", &font(&INK, HPos::Left))
}

/// The sweep's variants that are not drawn, because their clean runs never reached 100%.
pub(super) fn unplotted(name: &str, sweep: &Csv) -> String {
    let mut out = String::new();
    let unplotted: Vec<&str> = sweep
        .rows
        .iter()
        .filter(|r| sweep.number(r, SweepColumn::ReleaseHMedian).is_none())
        .map(|r| sweep.cell(r, SweepColumn::Variant))
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

/// The time-to-detect box's fill and outline, the median's bar and the 90th percentile's diamond.
const BOX_FILL: RGBColor = RGBColor(0x56, 0xB4, 0xE9);
const BOX_LINE: RGBColor = RGBColor(0x00, 0x72, 0xB2);
const MEDIAN: RGBColor = RGBColor(0x0b, 0x2f, 0x57);
const P90: RGBColor = RGBColor(0xD5, 0x5E, 0x00);

/// One box per scenario: 25th to 75th percentile, the median, the 90th percentile, the range.
pub(super) fn detection_chart(detections: &[(String, Vec<f64>)]) -> anyhow::Result<String> {
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
        return Ok(r#"<p class="empty">No scenario detected anything.</p>"#.to_string());
    }
    let max = rows.iter().map(|(_, h)| h[h.len() - 1]).fold(1.0_f64, f64::max);
    let row_h = 26;
    let height = 40 + rows.len() as u32 * row_h + 50;
    let layout = Layout { width: 960, height, left: 230, top: 30, right: 800, bottom: height - 40 };
    let x = Axis {
        domain: 0.0..max * 1.04,
        ticks: 7,
        tick: Tick::Hours,
        label: "hours from the harm's start to the stop",
    };
    let mut figure = Figure::new(&layout, &x, None)?;
    let notes = layout.right as i32 + 12;
    figure.text((notes, 18), "detected · median · p90", &font(&MUTED, HPos::Left))?;
    for (i, (scenario, h)) in rows.iter().enumerate() {
        let q = |p: f64| sorted_quantile(h, p).unwrap_or(0.0);
        let cy = (40 + i as u32 * row_h + row_h / 2) as i32;
        figure.text((layout.left as i32 - 10, cy), scenario, &font(&INK, HPos::Right))?;
        let (first, last) = (figure.x(h[0]), figure.x(h[h.len() - 1]));
        figure.draw_px(&PathElement::new([(first, cy), (last, cy)], AXIS))?;
        let (a, b) = (figure.x(q(0.25)), figure.x(q(0.75)));
        let corners = [(a, cy - 7), (b.max(a + 2), cy + 7)];
        let tip = format!(
            "{scenario}: {} detections; median {:.1}h, p90 {:.1}h, range {:.1}h to {:.1}h",
            h.len(),
            q(0.5),
            q(0.9),
            h[0],
            h[h.len() - 1]
        );
        figure.mark(&Rectangle::new(corners, BOX_FILL.mix(0.55).filled()), "box", &tip)?;
        figure.draw_px(&Rectangle::new(corners, BOX_LINE))?;
        let m = figure.x(q(0.5));
        figure.draw_px(&PathElement::new([(m, cy - 9), (m, cy + 9)], MEDIAN.stroke_width(3)))?;
        let p = figure.x(q(0.9));
        let diamond = [(p, cy - 5), (p + 5, cy), (p, cy + 5), (p - 5, cy)];
        figure.draw_px(&Polygon::new(diamond, P90.filled()))?;
        let note = format!("{} · {:.0}h · {:.0}h", h.len(), q(0.5), q(0.9));
        figure.text((notes, cy), &note, &font(&MUTED, HPos::Left))?;
    }
    Ok(figure.finish("time-to-detect", "Time-to-detect distribution per scenario"))
}
