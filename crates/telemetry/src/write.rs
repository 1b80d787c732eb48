//! Writing a run's recording: its telemetry (CSV or JSON Lines) and its rollout log (JSON Lines).

use std::io::{self, Write};

use rollcage_harness::telemetry::{Exposure, LogEvent, Recording, Window};
use rollcage_policy::{Command, KillScope};
use rollcage_sim::export::WindowRow;
use serde_json::{Map, Value, json};

use crate::columns::Column;
use crate::{Format, Names};

/// A player's key in written telemetry.
pub fn player_key(player: u32) -> String {
    format!("p{player}")
}

/// Writes every window's rows of `recording`, in window order.
pub fn telemetry(
    recording: &Recording,
    names: &Names,
    format: Format,
    out: &mut dyn Write,
) -> io::Result<()> {
    let rows = recording.windows.iter().flat_map(|w| w.rows.iter().map(move |r| (w, r)));
    let fields = |(w, row): (&Window, &WindowRow)| -> Vec<Field> {
        Column::ALL
            .iter()
            .map(|&c| field(c, w.start.0, w.end.0, row, names, &recording.builds))
            .collect()
    };
    match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(Column::ALL.iter().map(|c| c.name()))?;
            for row in rows {
                w.write_record(fields(row).iter().map(Field::text))?;
            }
            w.flush()?;
        }
        Format::JsonLines => {
            for row in rows {
                let object: Map<String, Value> = Column::ALL
                    .iter()
                    .zip(fields(row).iter())
                    .map(|(c, f)| (c.name().to_string(), f.json()))
                    .collect();
                serde_json::to_writer(&mut *out, &object)?;
                out.write_all(b"\n")?;
            }
        }
    }
    Ok(())
}

/// A field's value: a number or a text.
enum Field {
    Number(i128),
    Text(String),
}

impl Field {
    fn text(&self) -> String {
        match self {
            Field::Number(n) => n.to_string(),
            Field::Text(t) => t.clone(),
        }
    }

    fn json(&self) -> Value {
        match self {
            // Sums of squares may pass 2⁶³: they are written as JSON numbers all the same, which
            // the reader takes to their full width.
            Field::Number(n) => match i64::try_from(*n) {
                Ok(n) => json!(n),
                Err(_) => Value::Number(n.to_string().parse().expect("an integer is a number")),
            },
            Field::Text(t) => json!(t),
        }
    }
}

fn field(
    column: Column,
    start: u32,
    end: u32,
    row: &WindowRow,
    names: &Names,
    builds: &[rollcage_policy::BuildId],
) -> Field {
    let n = |x: u32| Field::Number(i128::from(x));
    let s = &row.sessions;
    match column {
        Column::WindowStart => n(start),
        Column::WindowEnd => n(end),
        Column::Player => Field::Text(player_key(row.player)),
        Column::Cohort => Field::Text(row.cohort.name().to_string()),
        Column::Cell => Field::Text(names.cells[usize::from(row.cell)].clone()),
        Column::Build => Field::Text(if row.build == 0 {
            String::new()
        } else {
            builds[usize::from(row.build)].to_string()
        }),
        Column::Assigned => n(u32::from(row.assigned)),
        Column::Sessions => n(s.sessions),
        Column::Crashes => n(s.crashes),
        Column::SaveErrors => n(s.save_errors),
        Column::LatencyUs => Field::Number(i128::from(s.latency_us)),
        Column::LatencyUsSq => Field::Number(row.squares[0]),
        Column::Coins => Field::Number(i128::from(s.coins)),
        Column::CoinsSq => Field::Number(row.squares[1]),
        Column::ReturnOutcomes => n(row.returns.outcomes),
        Column::Returned => n(row.returns.returned),
        Column::LatencyBins => Field::Text(
            row.latency_bins.iter().map(|(b, c)| format!("{b}:{c}")).collect::<Vec<_>>().join(" "),
        ),
    }
}

/// Writes the rollout log, one JSON object per line.
pub fn log(log: &[LogEvent], names: &Names, out: &mut dyn Write) -> io::Result<()> {
    for event in log {
        serde_json::to_writer(&mut *out, &log_event(event, names))?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

fn log_event(event: &LogEvent, names: &Names) -> Value {
    let mut object = Map::new();
    object.insert("at".into(), json!(event.at().0));
    let mut put = |key: &str, value: Value| {
        object.insert(key.to_string(), value);
    };
    match event {
        LogEvent::Exposure { exposure, .. } => {
            put("event", json!("exposure"));
            exposure_fields(exposure, names, &mut put);
        }
        LogEvent::Kill { .. } => put("event", json!("kill")),
        LogEvent::Look { data_until, .. } => {
            put("event", json!("look"));
            put("data_until", json!(data_until.0));
        }
        LogEvent::Command { command, .. } => {
            put("event", json!("command"));
            put("action", json!(command.name()));
            match command {
                Command::Kill { note, scope } => {
                    put("note", json!(note));
                    match scope {
                        KillScope::Release => {}
                        KillScope::Feature(f) => put("feature", json!(names.features[*f])),
                        KillScope::Segment(c) => put("segment", json!(names.cells[*c])),
                    }
                }
                Command::Pause { note } | Command::Resume { note } => put("note", json!(note)),
                Command::Approve { stage } => put("stage", json!(stage + 1)),
                Command::NewBuild { build } => put("build", json!(build.to_string())),
            }
        }
        LogEvent::StepResult { result, .. } => {
            put("event", json!("step_result"));
            put("step", json!(result.step + 1));
            put("attempt", json!(result.attempt));
            put("succeeded", json!(result.succeeded));
        }
    }
    Value::Object(object)
}

fn exposure_fields(e: &Exposure, names: &Names, put: &mut dyn FnMut(&str, Value)) {
    put("build", e.build.as_ref().map_or(Value::Null, |b| json!(b.to_string())));
    put("share_percent", json!(e.share.percent()));
    put("everyone", json!(e.everyone));
    let named = |bits: u32, names: &[String]| -> Vec<String> {
        names
            .iter()
            .enumerate()
            .filter(|(i, _)| bits & (1 << i) != 0)
            .map(|(_, n)| n.clone())
            .collect()
    };
    put("killed_features", json!(named(e.killed_features, &names.features)));
    put("killed_cells", json!(named(e.killed_cells, &names.cells)));
}
