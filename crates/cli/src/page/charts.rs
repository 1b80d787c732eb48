//! The page's charts, each from its CSV report: time to detect, power curves, blast radius and
//! the Pareto frontier.

use rollcage_stats::quantile::sorted_quantile;
use std::fmt::Write as _;

use super::Csv;
use super::svg::{PALETTE, Scale, Svg, esc, legend, legend_layout, percent, plain};

/// The policy columns that differ among `rows` of a sweep, besides those named in `except`: what
/// tells those rows apart. The policy columns are those from `schedule` up to `runs`, less
/// `stage_percents` (which the schedule's name stands for).
pub(super) fn varied_in<'a>(
    sweep: &'a Csv,
    rows: &[&Vec<String>],
    except: &[&str],
) -> Vec<&'a str> {
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
pub(super) fn varied<'a>(sweep: &'a Csv, except: &[&str]) -> Vec<&'a str> {
    varied_in(sweep, &sweep.rows.iter().collect::<Vec<_>>(), except)
}

/// A short label of a row's values in `columns`.
pub(super) fn label(sweep: &Csv, row: &[String], columns: &[&str]) -> String {
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

/// The power curves' series: one per combination of the varied columns other than the fault's
/// multiplier, in the sweep's order, each with its points.
fn power_series(sweep: &Csv) -> Vec<(String, Vec<PowerPoint>)> {
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
    for (_, points) in &mut series {
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    series
}

/// Detection rate against the fault's size, one line per combination of the other varied columns.
pub(super) fn power_chart(name: &str, sweep: &Csv) -> String {
    let series = power_series(sweep);
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
    for (i, (_, points)) in series.iter().enumerate() {
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

/// A stage schedule's variants in the blast chart.
struct Schedule<'a> {
    /// The schedule's name with its stage percentages.
    name: String,
    /// Each variant's row with its tag: its number and what sets it apart within the schedule.
    rows: Vec<(&'a Vec<String>, String)>,
}

/// The sweep's rows grouped by stage schedule, in the sweep's order.
fn schedules(sweep: &Csv) -> Vec<Schedule<'_>> {
    let mut groups: Vec<(String, Vec<&Vec<String>>)> = Vec::new();
    for row in &sweep.rows {
        let schedule =
            format!("{} ({}%)", sweep.cell(row, "schedule"), sweep.cell(row, "stage_percents"));
        match groups.iter_mut().find(|(g, _)| *g == schedule) {
            Some((_, rows)) => rows.push(row),
            None => groups.push((schedule, vec![row])),
        }
    }
    groups
        .into_iter()
        .map(|(name, rows)| {
            let others = varied_in(sweep, &rows, &["schedule", "stage_percents"]);
            let rows = rows
                .into_iter()
                .map(|r| {
                    let tag =
                        format!("{} · {}", sweep.cell(r, "variant"), label(sweep, r, &others));
                    (r, tag)
                })
                .collect();
            Schedule { name, rows }
        })
        .collect()
}

/// Mean players harmed per harmful run, with its 90th percentile, for each variant, grouped by
/// stage schedule.
pub(super) fn blast_chart(name: &str, sweep: &Csv) -> String {
    let groups = schedules(sweep);
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
    let longest = groups
        .iter()
        .flat_map(|g| g.rows.iter().map(|(_, tag)| tag.chars().count()))
        .max()
        .unwrap_or(0) as f64;
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
    for (g, schedule) in groups.iter().enumerate() {
        let colour = PALETTE[g % PALETTE.len()];
        svg.text(8.0, at + 12.0, "start", "", &schedule.name);
        at += gap;
        for (row, tag) in &schedule.rows {
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
pub(super) fn pareto_chart(name: &str, sweep: &Csv) -> String {
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
    pareto_legend(&mut svg, x.r0);
    let mut out =
        svg.finish(&format!("pareto-{name}"), &format!("Pareto frontier of sweep {name}"));
    out.push_str(&unplotted(name, sweep));
    out
}

/// The Pareto chart's key: filled points are on the frontier, open ones beaten.
pub(super) fn pareto_legend(svg: &mut Svg, left: f64) {
    let _ = write!(svg.body, r##"<circle cx="{:.1}" cy="14" r="6" fill="#D55E00"/>"##, left + 6.0);
    svg.text(
        left + 18.0,
        18.0,
        "start",
        "",
        "on the Pareto frontier (label: variant · false-kill rate)",
    );
    let _ = write!(
        svg.body,
        r##"<circle cx="{:.1}" cy="14" r="5" fill="#fff" stroke="#8a94a6" stroke-width="1.5"/>"##,
        left + 400.0
    );
    svg.text(left + 412.0, 18.0, "start", "", "beaten by another variant");
}

/// The sweep's variants that are not drawn, because their clean runs never reached 100%.
pub(super) fn unplotted(name: &str, sweep: &Csv) -> String {
    let mut out = String::new();
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
pub(super) fn detection_chart(detections: &[(String, Vec<f64>)]) -> String {
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
