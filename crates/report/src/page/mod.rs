//! `reports/index.html`: the reports at a glance, for designers.
//!
//! One self-contained page (inline CSS and SVG; no script, no font, no network), rebuilt from the
//! CSV reports in the directory by `simulate`, `sweep`, `merge` and `rollcage report`. `charts`
//! decides what each chart shows; plotters draws it, through `svg`:
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

use crate::columns::{BacktestColumn, Column, SummaryColumn, SweepColumn};
use crate::table::parse_csv;

mod charts;
mod svg;

use charts::{blast_chart, detection_chart, pareto_chart, power_chart};
use svg::esc;

/// A CSV report, read back.
#[derive(Clone, Debug, Default)]
pub struct Csv {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Csv {
    pub fn rows(&self) -> &[Vec<String>] {
        &self.rows
    }

    /// A CSV report's text, read back.
    pub fn parse(text: &str) -> Result<Csv, csv::Error> {
        let (header, rows) = parse_csv(text)?;
        Ok(Csv { header, rows })
    }

    fn column(&self, c: impl Column) -> Option<usize> {
        self.header.iter().position(|h| h == c.header())
    }

    /// The cell of `row` in column `c` ("" if the report has no such column).
    pub fn cell<'a>(&self, row: &'a [String], c: impl Column) -> &'a str {
        self.column(c).and_then(|i| row.get(i)).map_or("", String::as_str)
    }

    pub fn number(&self, row: &[String], c: impl Column) -> Option<f64> {
        self.cell(row, c).parse().ok()
    }

    /// Whether column `c` holds more than one value.
    fn varies(&self, c: impl Column) -> bool {
        self.differs(self.rows.iter(), c)
    }

    /// Whether column `c` holds more than one value among `rows`.
    fn differs<'a>(&self, mut rows: impl Iterator<Item = &'a Vec<String>>, c: impl Column) -> bool {
        let Some(first) = rows.next() else { return false };
        rows.any(|r| self.cell(r, c) != self.cell(first, c))
    }
}

/// What the page is drawn from: the command line reads it from a reports directory.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    /// `summary.csv`, if `simulate` wrote one.
    pub summary: Option<Csv>,
    /// Per scenario of the summary, in its order: the hours to detect of its detected runs.
    pub detections: Vec<(String, Vec<f64>)>,
    /// Per sweep, by name: its table.
    pub sweeps: Vec<(String, Csv)>,
    /// Per backtested recording, by name: its table.
    pub backtests: Vec<(String, Csv)>,
}

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
svg.chart text { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; }
.empty { color: #6b7585; font-style: italic; }
";

/// `value [lo, hi]` of a rate and its interval's bounds, as percentages.
fn rate_cell(csv: &Csv, row: &[String], [value, lo, hi]: [SummaryColumn; 3]) -> String {
    match csv.number(row, value) {
        None => "<td></td>".to_string(),
        Some(v) => {
            let bound =
                |c| csv.number(row, c).map_or(String::new(), |b| format!("{:.1}", b * 100.0));
            format!(
                r#"<td>{:.1}%<br><span class="ci">[{}, {}]</span></td>"#,
                v * 100.0,
                bound(lo),
                bound(hi)
            )
        }
    }
}

/// A column of the page's summary table: a CSV column, a rate with its interval, or the verdict.
#[derive(Clone, Copy)]
enum Shown {
    Plain(SummaryColumn),
    Rate([SummaryColumn; 3]),
    Verdict,
}

impl Shown {
    fn label(self) -> &'static str {
        match self {
            Shown::Plain(c) | Shown::Rate([c, _, _]) => c.label(),
            Shown::Verdict => SummaryColumn::Expectations.label(),
        }
    }
}

/// The summary table's columns on the page, each headed by its column's label.
const SHOWN: [Shown; 13] = {
    use SummaryColumn as C;
    [
        Shown::Plain(C::Scenario),
        Shown::Verdict,
        Shown::Plain(C::Runs),
        Shown::Rate([C::FalseKillRate, C::FalseKillRateLo, C::FalseKillRateHi]),
        Shown::Rate([C::DetectionRate, C::DetectionRateLo, C::DetectionRateHi]),
        Shown::Plain(C::TimeToDetectHMedian),
        Shown::Plain(C::TimeToDetectHP90),
        Shown::Plain(C::HarmedPlayersMean),
        Shown::Plain(C::HarmedPlayersP90),
        Shown::Rate([C::ReleasedRate, C::ReleasedRateLo, C::ReleasedRateHi]),
        Shown::Plain(C::ReleaseHMedian),
        Shown::Rate([C::RolledBackRate, C::RolledBackRateLo, C::RolledBackRateHi]),
        Shown::Plain(C::OracleViolationRuns),
    ]
};

fn summary_section(summary: &Csv) -> String {
    let mut out = String::from("<div class=\"scroll\"><table id=\"summary\"><thead><tr>");
    for shown in SHOWN {
        let _ = write!(out, "<th>{}</th>", esc(shown.label()));
    }
    out.push_str("</tr></thead><tbody>");
    for row in &summary.rows {
        out.push_str("<tr>");
        for shown in SHOWN {
            match shown {
                Shown::Plain(c) => {
                    let _ = write!(out, "<td>{}</td>", esc(summary.cell(row, c)));
                }
                Shown::Rate(columns) => out.push_str(&rate_cell(summary, row, columns)),
                Shown::Verdict => {
                    let verdict = esc(summary.cell(row, SummaryColumn::Expectations));
                    let failed = esc(summary.cell(row, SummaryColumn::FailedExpectations));
                    let _ = write!(
                        out,
                        r#"<td><span class="badge {verdict}" title="{failed}">{verdict}</span></td>"#
                    );
                }
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    out
}

/// The power curves of the sweeps that vary the fault's size.
fn power_section(
    body: &mut String,
    nav: &mut Vec<(&'static str, &'static str)>,
    inputs: &Inputs,
) -> anyhow::Result<()> {
    let power: Vec<&(String, Csv)> =
        inputs.sweeps.iter().filter(|(_, s)| s.varies(SweepColumn::FaultMultiplier)).collect();
    nav.push(("power", "Power curves"));
    body.push_str(r#"<h2 id="power">Which harms each method catches</h2><p class="how">The detection rate (share of harmful runs stopped) against the size of the harm, one line per guardrail method, with 95% intervals as whiskers. A curve that rises early catches small regressions; the dashed line marks 80%, a common target. Read it with the false-kill rates in the sweep's table: a method can buy power by killing good builds.</p>"#);
    if power.is_empty() {
        body.push_str(r#"<p class="empty">No sweep here varies the fault's size. <code>cargo run --release -- sweep sweeps/power-curve.toml</code> runs five methods against regressions from ×1.1 to ×2 and draws this chart.</p>"#);
    }
    for (name, sweep) in power {
        let _ = write!(body, "<h3>Sweep <code>{}</code></h3>", esc(name));
        body.push_str(&power_chart(name, sweep)?);
    }
    Ok(())
}

/// The blast radius of the sweeps that vary the stage schedule.
fn blast_section(
    body: &mut String,
    nav: &mut Vec<(&'static str, &'static str)>,
    inputs: &Inputs,
) -> anyhow::Result<()> {
    let schedules: Vec<&(String, Csv)> = inputs
        .sweeps
        .iter()
        .filter(|(_, s)| {
            s.varies(SweepColumn::StagePercents)
                || s.varies(SweepColumn::StageHours)
                || s.varies(SweepColumn::HoldbackPercent)
        })
        .collect();
    nav.push(("blast", "Blast radius"));
    body.push_str(r#"<h2 id="blast">Blast radius per stage schedule</h2><p class="how">For each variant of a sweep that tries several schedules, how many players a bad build reaches before it is stopped: the bar is the mean over harmful runs, the whisker the 90th percentile. Variants are grouped by schedule (with its stage percentages); the label gives the variant's number and what else it changes.</p>"#);
    if schedules.is_empty() {
        body.push_str(r#"<p class="empty">No sweep here varies the stage schedule. <code>cargo run --release -- sweep sweeps/faster-rollout.toml</code> tries three schedules and draws this chart.</p>"#);
    }
    for (name, sweep) in schedules {
        let _ = write!(body, "<h3>Sweep <code>{}</code></h3>", esc(name));
        body.push_str(&blast_chart(name, sweep)?);
    }
    Ok(())
}

/// Each sweep's Pareto frontier of time to 100% against players harmed.
fn pareto_section(
    body: &mut String,
    nav: &mut Vec<(&'static str, &'static str)>,
    inputs: &Inputs,
) -> anyhow::Result<()> {
    nav.push(("pareto", "Pareto frontier"));
    body.push_str(r#"<h2 id="pareto">Going faster against harming more</h2><p class="how">Each variant of a sweep: how long a good build takes to reach 100% (across) against how many players a bad build harms (up). Down and to the left is better. Filled points are on the Pareto frontier over three costs, the two drawn and the false-kill rate in their label: no other variant is at least as good on all three. A filled point can look beaten here when it kills fewer good builds than the point that seems to beat it. Hover a point for its policy.</p>"#);
    if inputs.sweeps.is_empty() {
        body.push_str(r#"<p class="empty">No sweep has been run into this directory. <code>cargo run --release -- sweep sweeps/faster-rollout.toml</code> writes one.</p>"#);
    }
    for (name, sweep) in &inputs.sweeps {
        let _ = write!(body, "<h3>Sweep <code>{}</code></h3>", esc(name));
        if sweep.varies(SweepColumn::FaultMultiplier) {
            // Its rows differ in the harm, not only in the policy: their costs don't compare.
            body.push_str(r#"<p class="empty">This sweep varies the size of the harm as well as the policy, so its variants face different harms and their costs are not compared here; its power curve is above.</p>"#);
        } else {
            body.push_str(&pareto_chart(name, sweep)?);
        }
    }
    Ok(())
}

/// Each backtested recording's table: where each policy would first have decided otherwise than
/// the recorded rollout did, and the sessions that would have changed.
fn backtest_section(body: &mut String, nav: &mut Vec<(&str, &str)>, inputs: &Inputs) {
    if inputs.backtests.is_empty() {
        return;
    }
    nav.push(("backtests", "Backtests"));
    body.push_str(r#"<h2 id="backtests">Backtests</h2><p class="how">A recorded rollout replayed under other policies (<code>rollcage backtest</code>): each is judged look by look on the recorded telemetry until it first decides otherwise than the rollout did. From there the telemetry is of what was done, so the replay stops; the sessions it would have added or saved assume sessions scale with the share exposed. Every column is in <code>backtest/&lt;name&gt;.csv</code>.</p>"#);
    for (name, table) in &inputs.backtests {
        body.push_str(&format!("<h3>{}</h3><div class=\"scroll\"><table><tr>", esc(name)));
        for &c in BacktestColumn::ALL {
            body.push_str(&format!("<th>{}</th>", esc(c.label())));
        }
        body.push_str("</tr>");
        for row in table.rows() {
            body.push_str("<tr>");
            for &c in BacktestColumn::ALL {
                body.push_str(&format!("<td>{}</td>", esc(table.cell(row, c))));
            }
            body.push_str("</tr>");
        }
        body.push_str("</table></div>");
    }
}

/// The page. Drawing a chart into memory fails only if plotters does something unforeseen.
pub fn render(inputs: &Inputs) -> anyhow::Result<String> {
    let mut body = String::new();
    let mut nav = Vec::new();
    let scenarios = inputs.summary.as_ref().map_or(0, |s| s.rows.len());
    let held = inputs.summary.as_ref().map_or(0, |s| {
        s.rows.iter().filter(|r| s.cell(r, SummaryColumn::Expectations) == "held").count()
    });

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
    body.push_str(&detection_chart(&inputs.detections)?);

    power_section(&mut body, &mut nav, inputs)?;
    blast_section(&mut body, &mut nav, inputs)?;
    pareto_section(&mut body, &mut nav, inputs)?;
    backtest_section(&mut body, &mut nav, inputs);

    let verdict = match (scenarios, held) {
        (0, _) => String::new(),
        (n, h) if n == h => format!(r#"<span class="badge held">all {n} scenarios held</span>"#),
        (n, h) => format!(r#"<span class="badge failed">{} of {n} scenarios failed</span>"#, n - h),
    };
    let links: Vec<String> =
        nav.iter().map(|(id, name)| format!(r##"<a href="#{id}">{name}</a>"##)).collect();
    Ok(format!(
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
    ))
}

#[cfg(test)]
mod tests {
    use super::svg::{Tick, decimals};
    use super::*;

    #[test]
    fn ticks_have_the_decimals_their_step_needs() {
        assert_eq!(decimals(&[0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]), 1);
        assert_eq!(decimals(&[0.0, 20.0, 40.0, 60.0]), 0);
        assert_eq!(decimals(&[1.0, 1.25, 1.5]), 2, "steps of 0.25 need two decimals");
        assert_eq!(Tick::Percent.write(0.4, 1), "40%");
        assert_eq!(Tick::Multiplier.write(2.0, 0), "×2.0");
        assert_eq!(Tick::Hours.write(12.5, 1), "12.5h");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(esc(r#"<a & "b">"#), "&lt;a &amp; &quot;b&quot;&gt;");
    }

    fn csv(text: &str) -> Csv {
        Csv::parse(text).unwrap()
    }

    #[test]
    fn a_power_curve_has_one_line_per_method_and_a_point_per_size() {
        let sweep = csv(
            "variant,schedule,method,fault_multiplier,runs,detection_rate,detection_rate_lo,detection_rate_hi\n\
             0,as written,msprt,1.1,50,0.2,0.1,0.3\n1,as written,msprt,1.5,50,0.9,0.8,0.95\n\
             2,as written,pocock,1.1,50,0.3,0.2,0.4\n3,as written,pocock,1.5,50,0.95,0.9,0.99\n",
        );
        let svg = power_chart("p", &sweep).unwrap();
        assert_eq!(svg.matches("<polyline class=\"series\"").count(), 2);
        assert_eq!(svg.matches("<circle class=\"point\"").count(), 4);
        assert!(svg.contains("<title>×1.5: 90.0% [80.0%, 95.0%]</title></circle>"));
        assert!(svg.contains(">\nmsprt\n</text>") && svg.contains(">\npocock\n</text>"));
    }

    #[test]
    fn the_summary_table_is_headed_by_its_columns_labels_and_reads_them_by_type() {
        let mut text = SummaryColumn::HEADER.join(",");
        let row: Vec<&str> = SummaryColumn::ALL
            .iter()
            .map(|c| match c {
                SummaryColumn::Scenario => "<demo>",
                SummaryColumn::Expectations => "failed",
                SummaryColumn::FailedExpectations => "false_kill_rate_max",
                SummaryColumn::FalseKillRate => "0.0625",
                SummaryColumn::FalseKillRateLo => "0.0300",
                SummaryColumn::FalseKillRateHi => "0.1200",
                SummaryColumn::TimeToDetectHP90 => "18.50",
                _ => "",
            })
            .collect();
        text.push('\n');
        text.push_str(&row.join(","));
        let section = summary_section(&csv(&text));
        assert!(section.contains("<th>false-kill rate [95%]</th><th>detection rate [95%]</th>"));
        assert!(section.contains("<th>time to detect (h), p90</th>"));
        assert!(section.contains("<td>&lt;demo&gt;</td>"), "{section}");
        assert!(section.contains(r#"<span class="badge failed" title="false_kill_rate_max">"#));
        assert!(section.contains(r#"<td>6.2%<br><span class="ci">[3.0, 12.0]</span></td>"#));
        assert!(section.contains("<td>18.50</td>"));
        assert_eq!(section.matches("<th>").count(), SHOWN.len());
        assert_eq!(section.matches("<td").count(), SHOWN.len());
    }

    #[test]
    fn the_page_says_what_is_missing_and_loads_nothing() {
        let page = render(&Inputs::default()).unwrap();
        assert!(page.contains("There is no summary.csv here yet"));
        assert!(page.contains("sweeps/power-curve.toml"));
        assert!(!page.contains("://"), "the page refers to nothing outside itself");
    }
}
