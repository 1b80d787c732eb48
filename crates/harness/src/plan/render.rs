//! A plan as a designer reads it: per guardrail, its baseline, the harm to catch and a table of
//! its stages.

use std::fmt::Write;

use rollcage_model::Scenario;
use rollcage_stats::Margin;

use super::{GuardrailPlan, Plan};

fn sessions(n: f64) -> String {
    let n = n.round() as u64;
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The plan as a designer reads it: per guardrail, a table of stages.
pub fn render(scenario: &Scenario, plan: &Plan) -> String {
    let r = plan.request;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: plan for a harm of {:+.1}% on each guardrail's metric, at power {:.2}",
        scenario.name,
        100.0 * r.effect,
        r.power
    );
    let _ = writeln!(
        out,
        "from {} pilot runs on the release with its faults removed and healthy telemetry{}.",
        plan.pilots_used,
        if plan.pilots_stopped > 0 {
            format!(" ({} more left out: the policy stopped them)", plan.pilots_stopped)
        } else {
            String::new()
        }
    );
    for gp in &plan.guardrails {
        render_guardrail(&mut out, scenario, plan, gp);
    }
    for &g in &plan.ranked {
        let _ = writeln!(
            out,
            "\n{} [{}, mann_whitney]: not planned; a rank test's power depends on the whole shape \
             of the latency distribution, not on a mean and a variance. `simulate` measures it.",
            scenario.policy.guardrails[g].name,
            scenario.policy.guardrails[g].method.label()
        );
    }
    let _ = write!(
        out,
        "\nhours: how long each stage lasted in the pilots (the last with the holdback period).\n\
         sessions: what the guardrail counted in the stage.\n\
         power: the chance the schedule has caught the harm by the stage's end, over every look.\n\
         needs: what the stage must gather, on top of the earlier stages, for one test at its end\n  \
         to reach power {:.2} at the boundary then in force; not reachable when that boundary is\n  \
         infinite (no alpha spendable yet, or none left).\n",
        r.power
    );
    out
}

/// One guardrail's plan: its baseline and the harm it is to catch, then a table of its stages.
fn render_guardrail(out: &mut String, scenario: &Scenario, plan: &Plan, gp: &GuardrailPlan) {
    let r = plan.request;
    let g = &scenario.policy.guardrails[gp.guardrail];
    let test = g.method.comparison().expect("only statistical guardrails are planned");
    let margin = match test.margin {
        Margin::Relative(m) => format!("{:.1}%", 100.0 * m),
        Margin::Absolute(m) => format!("{m}"),
    };
    let _ = write!(out, "\n{} [{}", g.name, g.method.label());
    if let Some(c) = gp.cell {
        let _ = write!(out, " in {}", scenario.policy.cells.get(c).map_or("?", String::as_str));
    }
    let _ = writeln!(
        out,
        "] on {}: baseline {:.5}, margin {margin}, harm to detect {:+.5} beyond it",
        g.metric.name(),
        gp.baseline,
        gp.harm
    );
    if gp.harm <= 0.0 {
        let _ = writeln!(
            out,
            "  a {:.1}% change is within the margin: this guardrail is built not to catch it.",
            100.0 * r.effect
        );
        return;
    }
    let _ = writeln!(
        out,
        "  {:<6} {:>7} {:>9} {:>25} {:>9}   {:>33}",
        "stage",
        "share",
        "hours",
        "sessions (build/holdback)",
        "power",
        "needs: sessions (build/holdback)"
    );
    for (k, s) in gp.stages.iter().enumerate() {
        let share = scenario.policy.stages[k].share;
        let counted =
            format!("{} / {}", sessions(s.treatment_sessions), sessions(s.holdback_sessions));
        let needs = match s.needs {
            None => "not reachable at this boundary".to_string(),
            Some(n) if n.hours == 0.0 => "met by the earlier stages".to_string(),
            Some(n) => format!(
                "{} / {} = {:.1} h",
                sessions(n.treatment_sessions),
                sessions(n.holdback_sessions),
                n.hours
            ),
        };
        let _ = writeln!(
            out,
            "  {:<6} {:>7} {:>9.1} {counted:>25} {:>9.3}   {needs:>33}",
            k + 1,
            share.to_string(),
            plan.stage_hours[k],
            s.power
        );
    }
}
