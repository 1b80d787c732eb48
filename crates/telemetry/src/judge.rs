//! Judging a rollout from its files: the rollout log's events in turn, each window of the
//! telemetry added before the first event at or after its end, and, up to `now`, the looks the
//! log does not have yet.

use std::io::Read;

use rollcage_harness::telemetry::{Judge, Judged, LogEvent, Window};
use rollcage_model::{Minutes, Scenario};
use rollcage_policy::Cohort;

use crate::Problems;
use crate::read::Telemetry;

/// A judged rollout, and what was read.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub judged: Judged,
    /// Rows, windows and players read.
    pub rows: u64,
    pub windows: u64,
    pub players: usize,
    /// The end of the last window read: the data is complete up to it.
    pub data_until: Minutes,
    /// Every window read: its start, its end, and the treatment's sessions in it.
    pub windows_read: Vec<(Minutes, Minutes, u64)>,
}

/// Judges `scenario`'s policy on `log` and the telemetry `reader` reads. After the log, the policy
/// looks on its own schedule (every evaluation interval) up to `now`, with the data the telemetry
/// has by then, until it decides to change the flags. The whole telemetry is read and checked
/// even when the judging stops early; any problem refuses it all.
pub fn judge<R: Read>(
    scenario: &Scenario,
    log: &[LogEvent],
    reader: &mut Telemetry<R>,
    now: Option<Minutes>,
) -> Result<Verdict, Problems> {
    let mut judge = Judge::new(scenario, 0);
    let mut feed = Feed::new(reader.next_window());
    let mut going = true;
    for event in log {
        feed.until(&mut judge, reader, event.at());
        going = judge.event(event);
        if !going {
            break;
        }
    }
    if going && let Some(now) = now {
        let interval = scenario.evaluation_interval;
        let last = log.last().map_or(Minutes::ZERO, |e| e.at());
        let mut at = Minutes((last.0 / interval.0 + 1) * interval.0);
        while at <= now && !judge.has_pending() {
            feed.until(&mut judge, reader, at);
            let data_until = feed.data_until.min(at);
            if !judge.event(&LogEvent::Look { at, data_until }) {
                break;
            }
            at = at + interval;
        }
    }
    // Read the rest, for its checks.
    while let Some(w) = feed.next.take() {
        feed.read(&w);
        feed.next = reader.next_window();
    }
    if !reader.problems.is_empty() {
        return Err(std::mem::take(&mut reader.problems));
    }
    Ok(Verdict {
        judged: judge.finish(),
        rows: reader.rows,
        windows: feed.windows_read.len() as u64,
        players: reader.players(),
        data_until: feed.data_until,
        windows_read: feed.windows_read,
    })
}

/// The windows read but not yet judged: the next one, and how far the judged ones reach.
struct Feed {
    next: Option<Window>,
    windows_read: Vec<(Minutes, Minutes, u64)>,
    data_until: Minutes,
}

impl Feed {
    fn new(next: Option<Window>) -> Feed {
        Feed { next, windows_read: Vec::new(), data_until: Minutes::ZERO }
    }

    /// Notes a window read.
    fn read(&mut self, w: &Window) {
        let treatment = w.rows.iter().filter(|r| r.cohort == Cohort::Treatment);
        let sessions = treatment.map(|r| u64::from(r.sessions.sessions)).sum();
        self.windows_read.push((w.start, w.end, sessions));
        self.data_until = w.end;
    }

    /// Hands the judge every window that ends by `until`.
    fn until<R: Read>(&mut self, judge: &mut Judge<'_>, reader: &mut Telemetry<R>, until: Minutes) {
        while let Some(w) = self.next.take_if(|w| w.end <= until) {
            judge.window(&w);
            self.read(&w);
            self.next = reader.next_window();
        }
    }
}
