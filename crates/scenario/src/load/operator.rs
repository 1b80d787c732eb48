//! Scripted operator events, and the checks that involve them (approvals given, builds per run).

use rollcage_model::{CommandName, ScheduledCommand};
use rollcage_policy::{BuildId, Command, KillScope};
use rollcage_sim::Breakdown;

use super::guardrail::feature_index;
use super::minutes;
use super::policy::Built;
use crate::Diagnostic;
use crate::reader::{Obj, Reader};
use crate::spec::{self, MAX_BUILDS};

/// What operator events may name: the policy's stage count, the release, its features and the
/// segment breakdown.
pub(super) struct Names<'a> {
    pub(super) stages: usize,
    pub(super) release: Option<&'a str>,
    pub(super) features: &'a [String],
    pub(super) cells: Option<&'a (Breakdown, Vec<String>)>,
}

pub(super) fn operator(
    r: &mut Reader,
    t: &Obj<'_, '_>,
    names: &Names<'_>,
) -> Option<ScheduledCommand> {
    let at = minutes(r, t, "at_h");
    let name = t.choice::<CommandName>("action")?;
    let action: &str = name.into();
    let note = t.text("note").unwrap_or("scripted").to_string();
    let misplaced = |r: &mut Reader, key: &str| {
        if t.has(key) {
            r.error(
                t.span_of(key),
                format!("`{key}` has no meaning for action = \"{action}\"; remove it"),
            );
        }
    };
    let only_note = |r: &mut Reader| {
        misplaced(r, "stage");
        misplaced(r, "build");
    };
    if name != CommandName::Kill {
        misplaced(r, "feature");
        misplaced(r, "segment");
    }
    let command = match name {
        CommandName::Approve => {
            misplaced(r, "build");
            Command::Approve { stage: approved_stage(r, t, names.stages)? }
        }
        CommandName::NewBuild => {
            misplaced(r, "stage");
            Command::NewBuild { build: new_build(r, t, names.release)? }
        }
        CommandName::Kill => {
            only_note(r);
            Command::Kill { note, scope: kill_scope(r, t, names)? }
        }
        CommandName::Pause => {
            only_note(r);
            Command::Pause { note }
        }
        CommandName::Resume => {
            only_note(r);
            Command::Resume { note }
        }
    };
    Some(ScheduledCommand { at: at?, command })
}

/// The stage (0-based) an `approve` event approves, of a policy with `stages` stages.
fn approved_stage(r: &mut Reader, t: &Obj<'_, '_>, stages: usize) -> Option<usize> {
    let Some(stage) = t.integer("stage") else {
        if !t.has("stage") {
            r.error(
                t.span.clone(),
                "action = \"approve\" needs the `stage` it approves".to_string(),
            );
        }
        return None;
    };
    if stage as usize > stages {
        r.error(
            t.span_of("stage"),
            format!("`stage` = {stage}, but the policy has {stages} stages"),
        );
        return None;
    }
    Some(stage as usize - 1)
}

/// The build a `new_build` event resumes with: any but the `release` under test.
fn new_build(r: &mut Reader, t: &Obj<'_, '_>, release: Option<&str>) -> Option<BuildId> {
    let Some(build) = t.text("build") else {
        if !t.has("build") {
            r.error(t.span.clone(), "action = \"new_build\" needs the new `build` id".to_string());
        }
        return None;
    };
    if Some(build) == release {
        r.error(
            t.span_of("build"),
            format!("new_build must name a build other than the release under test ({build}): a killed build never comes back"),
        );
    }
    Some(BuildId::new(build))
}

/// What an operator's kill switches off: the release, a feature, or a segment.
pub(super) fn kill_scope(r: &mut Reader, t: &Obj<'_, '_>, names: &Names<'_>) -> Option<KillScope> {
    match (t.has("feature"), t.has("segment")) {
        (true, true) => {
            r.error(
                t.span_of("segment"),
                "a kill names a `feature` or a `segment`, not both".to_string(),
            );
            None
        }
        (true, false) => feature_index(r, t, "feature", names.features).map(KillScope::Feature),
        (false, true) => {
            let name = t.text("segment")?;
            let (breakdown, cells) = names.cells?;
            if *breakdown == Breakdown::None {
                r.error(
                    t.span_of("segment"),
                    "a segment kill needs [policy] segment_by = \"platform\" or \"region\""
                        .to_string(),
                );
                return None;
            }
            let found = cells.iter().position(|c| c == name);
            if found.is_none() {
                r.error(
                    t.span_of("segment"),
                    format!("`{name}` is not one of the segments ({})", cells.join(", ")),
                );
            }
            found.map(KillScope::Segment)
        }
        (false, false) => Some(KillScope::Release),
    }
}

/// Builds the scenario from its checked root table, reporting what involves several values.
/// The scripted operator events, in time order (events at the same time keep their order in the
/// file), and whether every one could be read.
pub(super) fn operators(
    r: &mut Reader,
    root: &Obj<'_, '_>,
    names: &Names<'_>,
    built: Option<&Built>,
) -> (Vec<ScheduledCommand>, bool) {
    let mut commands = Vec::new();
    let mut complete = true;
    for t in root.tables("operator") {
        match operator(r, &t, names) {
            Some(c) => {
                if let Some(b) = built
                    && c.at > b.max_duration
                {
                    r.error(
                        t.span_of("at_h"),
                        format!(
                            "this event at {} comes after every run has ended ({}, max_duration_h)",
                            c.at, b.max_duration
                        ),
                    );
                }
                commands.push(c);
            }
            None => complete = false,
        }
    }
    commands.sort_by_key(|c| c.at);
    (commands, complete)
}

/// Every stage that waits for an approval has an [[operator]] event that gives it.
pub(super) fn approvals_given(r: &mut Reader, root: &Obj<'_, '_>, policy: Option<&Obj<'_, '_>>) {
    let approvals: Vec<i64> = root
        .tables("operator")
        .iter()
        .filter(|t| t.choice::<CommandName>("action") == Some(CommandName::Approve))
        .filter_map(|t| t.integer("stage"))
        .collect();
    let stage_tables = policy.map(|t| t.tables("stages")).unwrap_or_default();
    for (i, stage) in stage_tables.iter().enumerate() {
        let number = i as i64 + 1;
        if stage.boolean("approval") == Some(true) && !approvals.contains(&number) {
            r.report(
                Diagnostic::new(
                    stage.span_of("approval"),
                    format!("stage {number} needs an approval, but no [[operator]] approves it"),
                )
                .help(format!(
                    "add an [[operator]] event with action = \"approve\" and stage = {number}"
                )),
            );
        }
    }
}

/// A run's builds within rollcage's limit, and a name the reports' own folders do not take.
pub(super) fn builds_and_name(r: &mut Reader, root: &Obj<'_, '_>, commands: &[ScheduledCommand]) {
    let builds =
        1 + commands.iter().filter(|c| matches!(c.command, Command::NewBuild { .. })).count();
    if builds > MAX_BUILDS {
        r.error(
            root.span_of("operator"),
            format!("{builds} builds in one run is above rollcage's limit of {MAX_BUILDS}"),
        );
    }
    if let Some(name) = root.text("name").filter(|n| spec::RESERVED_NAMES.contains(n)) {
        r.error(
            root.span_of("name"),
            format!(
                "a scenario cannot be named `{name}`: <out>/{name}/ holds the reports of `rollcage {name}`; choose another name"
            ),
        );
    }
}
