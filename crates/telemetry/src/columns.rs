//! The telemetry's columns: one row per player, cohort and window.

/// A column of the telemetry, in the order rollcage writes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum Column {
    /// The window's start and end, in minutes since the rollout began: the row holds what the
    /// player reported from the start (included) to the end (excluded).
    WindowStart,
    WindowEnd,
    /// An opaque key of the player: the same player, the same key, in every row.
    Player,
    /// `treatment` (sessions on the new build), `holdback` (players kept off it) or `unexposed`
    /// (eligible players still on the old build).
    Cohort,
    /// The player's segment cell, as the policy breaks telemetry down (`all` without a breakdown).
    Cell,
    /// The build the sessions ran, for the treatment; empty for the old build.
    Build,
    /// 1 when the server first assigned the player to this cohort in the exposure during this
    /// window (a session of theirs started), else 0.
    Assigned,
    /// Sessions that ended in the window, and of them how many crashed and how many failed to load
    /// their save.
    Sessions,
    Crashes,
    SaveErrors,
    /// Σ latency and Σ latency² of the sessions, in whole microseconds.
    LatencyUs,
    LatencyUsSq,
    /// Σ coins and Σ coins² of the sessions (coins a run gained, exploit coins included).
    Coins,
    CoinsSq,
    /// Next-day return outcomes known in the window (a day after their session), and how many of
    /// them came back.
    ReturnOutcomes,
    Returned,
    /// The sessions' latency histogram, `bin:count` pairs separated by spaces (see
    /// `rollcage_stats::rank` for the bins); needed by rank-test guardrails only.
    LatencyBins,
}

impl Column {
    pub const ALL: &'static [Column] = <Column as strum::VariantArray>::VARIANTS;

    pub fn name(self) -> &'static str {
        self.into()
    }

    /// Whether every row must give it; the others are 0 (or empty) when left out.
    pub fn required(self) -> bool {
        matches!(
            self,
            Column::WindowStart
                | Column::WindowEnd
                | Column::Player
                | Column::Cohort
                | Column::Cell
        )
    }

    pub fn by_name(name: &str) -> Option<Column> {
        Column::ALL.iter().copied().find(|c| c.name() == name)
    }
}

impl Column {
    /// What the column holds, for the JSON Schema.
    pub fn doc(self) -> &'static str {
        match self {
            Column::WindowStart => {
                "The window's start, in whole minutes since the rollout began (included)."
            }
            Column::WindowEnd => {
                "The window's end, in whole minutes since the rollout began (excluded); after the start."
            }
            Column::Player => "An opaque key of the player, the same in every row of theirs.",
            Column::Cohort => {
                "treatment (sessions on the new build), holdback (players kept off it) or unexposed (eligible players still on the old build)."
            }
            Column::Cell => {
                "The player's segment cell, as the policy breaks telemetry down: a platform or region name, or `all`."
            }
            Column::Build => "The build the treatment's sessions ran; empty for the old build.",
            Column::Assigned => {
                "1 when the server first assigned the player to this cohort in the current exposure during this window, else 0."
            }
            Column::Sessions => "Sessions that ended in the window.",
            Column::Crashes => "Of the sessions, how many crashed.",
            Column::SaveErrors => "Of the sessions, how many failed to load their save.",
            Column::LatencyUs => "The sessions' latencies added up, in whole microseconds.",
            Column::LatencyUsSq => {
                "The sessions' squared latencies added up, in microseconds squared."
            }
            Column::Coins => "The coins the sessions' runs gained, added up.",
            Column::CoinsSq => "The squares of each session's coins, added up.",
            Column::ReturnOutcomes => {
                "Next-day return outcomes that became known in the window (a day after their session)."
            }
            Column::Returned => "Of those outcomes, how many players came back.",
            Column::LatencyBins => {
                "The sessions' latency histogram as `bin:count` pairs separated by spaces, bins increasing; needed only by rank-test guardrails."
            }
        }
    }
}
