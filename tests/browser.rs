//! The visual report in a real browser: headless Chromium lays out `index.html` built from real
//! reports, a probe measures every chart as drawn, and a screenshot is taken.
//!
//! It needs Chromium (`apt-get install chromium`, or `ROLLCAGE_CHROMIUM=/path/to/chrome`), so it is
//! ignored by a plain `cargo test`; `.ci/run` installs Chromium and runs it with `--ignored`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

/// `rollcage ARGS`, which must succeed.
fn rollcage(args: &[&str]) -> Output {
    let o = common::rollcage(args);
    assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    o
}

fn chromium() -> PathBuf {
    let candidates = std::env::var_os("ROLLCAGE_CHROMIUM").map(PathBuf::from).into_iter().chain(
        ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
            .map(PathBuf::from),
    );
    candidates.into_iter().find(|p| p.is_file()).unwrap_or_else(|| {
        panic!("no Chromium: install it (apt-get install chromium) or set ROLLCAGE_CHROMIUM")
    })
}

/// Headless Chromium with a fresh profile and no network of its own.
fn headless(profile: &Path, args: &[String]) -> Output {
    Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("Chromium runs")
}

/// Measures every chart as the browser laid it out: its size on the page, its marks (points,
/// bars, boxes, lines), and how many marks and labels fall outside its drawing area.
const PROBE: &str = r#"<script>
const lines = [];
const outside = (svg, el) => {
  const b = el.getBoundingClientRect(), v = svg.getBoundingClientRect();
  return b.left < v.left - 0.5 || b.top < v.top - 0.5 || b.right > v.right + 0.5 || b.bottom > v.bottom + 0.5;
};
for (const svg of document.querySelectorAll('svg.chart')) {
  const r = svg.getBoundingClientRect();
  const marks = [...svg.querySelectorAll('circle.point, rect.bar, rect.box, polyline.series')];
  const texts = [...svg.querySelectorAll('text')];
  const out = texts.filter(t => outside(svg, t));
  lines.push([svg.id, Math.round(r.width), Math.round(r.height), marks.length,
    marks.filter(m => outside(svg, m)).length, out.length,
    ...out.map(t => JSON.stringify(t.textContent))].join(' '));
}
lines.push('summary-rows ' + document.querySelectorAll('#summary tbody tr').length);
lines.push('page-width ' + document.documentElement.scrollWidth);
const pre = document.createElement('pre');
pre.id = 'probe';
pre.textContent = lines.join('\n');
document.body.appendChild(pre);
</script>"#;

#[test]
#[ignore = "needs Chromium; .ci/run installs it and runs this test with --ignored"]
fn the_visual_report_draws_every_chart_in_a_browser() {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");
    let _ = std::fs::remove_dir_all(&out);
    let dir = out.to_str().unwrap();
    rollcage(&["simulate", "tests/fixtures", "--out", dir]);
    rollcage(&["sweep", "tests/inputs/sweep/small.toml", "--out", dir]);
    rollcage(&["sweep", "tests/inputs/sweep/power.toml", "--out", dir]);
    let page = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(!page.contains("://"), "the page must load nothing from anywhere");
    assert!(!page.contains("<script"), "the page runs no script");

    // The probe runs on a copy of the page without its content-security policy, which (rightly)
    // forbids every script, the probe's included.
    let csp_start = page.find("<meta http-equiv=\"Content-Security-Policy\"").expect("a CSP");
    let csp_end = csp_start + page[csp_start..].find('>').unwrap() + 1;
    let probe_page = format!("{}{}", &page[..csp_start], &page[csp_end..])
        .replace("</body>", &format!("{PROBE}</body>"));
    let probe_path = out.join("probe.html");
    std::fs::write(&probe_path, probe_page).unwrap();
    let profile = out.join("chromium-profile");
    let dump = headless(
        &profile,
        &[
            "--window-size=1280,900".to_string(),
            "--dump-dom".to_string(),
            format!("file://{}", probe_path.display()),
        ],
    );
    let dom = String::from_utf8_lossy(&dump.stdout);
    let probe = dom
        .split("<pre id=\"probe\">")
        .nth(1)
        .and_then(|rest| rest.split("</pre>").next())
        .unwrap_or_else(|| {
            panic!("the probe did not run: {}", String::from_utf8_lossy(&dump.stderr))
        });
    let charts: Vec<Vec<&str>> = probe.lines().map(|l| l.split(' ').collect()).collect();
    let chart = |id: &str| {
        charts.iter().find(|c| c[0] == id).unwrap_or_else(|| panic!("no chart {id}: {probe}"))
    };
    // Every chart the reports call for is drawn: laid out at a readable size, with its marks,
    // none of them or of their labels outside the chart.
    for (id, min_marks) in [
        ("time-to-detect", 2),
        ("power-power", 4 * 2 + 4),
        ("blast-small", 4),
        ("blast-power", 8),
        ("pareto-small", 2),
    ] {
        let c = chart(id);
        let number = |i: usize| c[i].parse::<f64>().unwrap();
        assert!(number(1) >= 600.0 && number(2) >= 100.0, "{id} is laid out too small: {c:?}");
        assert!(number(3) >= min_marks as f64, "{id} has {} marks, not {min_marks}: {c:?}", c[3]);
        assert_eq!((c[4], c[5]), ("0", "0"), "{id}: marks or labels outside the chart: {c:?}");
    }
    assert!(page.contains("Not drawn: variants 0, 1, whose clean runs never reached 100%"));
    assert!(
        !charts.iter().any(|c| c[0] == "pareto-power"),
        "a sweep over harm sizes has no policy frontier to draw"
    );
    assert_eq!(chart("summary-rows")[1], "3", "one summary row per scenario");
    let width: f64 = chart("page-width")[1].parse().unwrap();
    assert!(width <= 1280.0, "the page scrolls sideways: {width}px");

    // The page itself, as a designer opens it (policy in force), screenshotted.
    let png = out.join("index.png");
    let shot = headless(
        &profile,
        &[
            "--window-size=1280,4200".to_string(),
            format!("--screenshot={}", png.display()),
            format!("file://{}", out.join("index.html").display()),
        ],
    );
    let size = std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 20_000,
        "no screenshot ({size} bytes): {}",
        String::from_utf8_lossy(&shot.stderr)
    );
    eprintln!("screenshot: {}", png.display());
}
