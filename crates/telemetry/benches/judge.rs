//! Judging at the scale of a real game: `cargo bench -p rollcage-telemetry --bench judge` judges
//! 10 million player-window rows (200 000 players over 50 hourly windows) of CSV, read as a
//! stream, with subtle-crash's guardrails looking every hour, and reports rows per second.
//!
//! The rows are generated as they are read, so the benchmark's memory is the judge's own, which
//! grows with the players, not the rows.

use std::io::Read;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rollcage_harness::telemetry::{Exposure, LogEvent};
use rollcage_model::{BuildId, Minutes, Scenario, Share};
use rollcage_telemetry::{Format, Names, judge, read};

const PLAYERS: u64 = 200_000;
const WINDOWS: u64 = 50;
const WINDOW_MIN: u64 = 60;

/// CSV rows, made as they are read: every player has one row per window, a twentieth of them in
/// the holdback, the others on the build.
struct Rows {
    next: u64,
    line: Vec<u8>,
    at: usize,
    state: u64,
}

impl Rows {
    fn new() -> Rows {
        let header = b"window_start,window_end,player,cohort,cell,build,assigned,sessions,crashes,save_errors,latency_us,latency_us_sq,coins,coins_sq\n";
        Rows { next: 0, line: header.to_vec(), at: 0, state: 0x9e37_79b9_7f4a_7c15 }
    }

    fn random(&mut self) -> u64 {
        // xorshift64*: deterministic values, cheap next to the judging.
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn fill(&mut self) -> bool {
        if self.next == PLAYERS * WINDOWS {
            return false;
        }
        let (window, player) = (self.next / PLAYERS, self.next % PLAYERS);
        self.next += 1;
        let r = self.random();
        let holdback = player.is_multiple_of(20);
        let (cohort, build) = if holdback { ("holdback", "") } else { ("treatment", "1.4.0") };
        let crash = u64::from(r.is_multiple_of(40));
        let latency = 60_000 + (r >> 8) % 50_000;
        let coins = 20 + (r >> 24) % 60;
        self.line.clear();
        let fields: [&Field<'_>; 14] = [
            &|l| push(l, window * WINDOW_MIN),
            &|l| push(l, (window + 1) * WINDOW_MIN),
            &|l| {
                l.push(b'p');
                push(l, player)
            },
            &|l| l.extend_from_slice(cohort.as_bytes()),
            &|l| l.extend_from_slice(b"all"),
            &|l| l.extend_from_slice(build.as_bytes()),
            &|l| push(l, u64::from(window == 0)),
            &|l| push(l, 1),
            &|l| push(l, crash),
            &|l| push(l, 0),
            &|l| push(l, latency),
            &|l| push(l, latency * latency),
            &|l| push(l, coins),
            &|l| push(l, coins * coins),
        ];
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                self.line.push(b',');
            }
            field(&mut self.line);
        }
        self.line.push(b'\n');
        self.at = 0;
        true
    }
}

/// Writes one field of a row.
type Field<'a> = dyn Fn(&mut Vec<u8>) + 'a;

/// Appends `n` in decimal: the rows are made faster than `format!` would make them, so the
/// benchmark measures the judge.
fn push(line: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    line.extend_from_slice(&digits[i..]);
}

impl Read for Rows {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut n = 0;
        while n < buf.len() {
            if self.at == self.line.len() && !self.fill() {
                break;
            }
            let take = (self.line.len() - self.at).min(buf.len() - n);
            buf[n..n + take].copy_from_slice(&self.line[self.at..self.at + take]);
            (self.at, n) = (self.at + take, n + take);
        }
        Ok(n)
    }
}

fn scenario() -> Scenario {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios/subtle-crash.toml");
    let scenario = rollcage_scenario::load(&std::fs::read_to_string(path).unwrap()).unwrap();
    // One stage that lasts past the data: every look judges, none changes the flags.
    scenario.with(|d| {
        d.policy.stages.truncate(1);
        d.policy.stages[0].share = Share::from_basis_points(5_000).unwrap();
        d.policy.stages[0].min_duration = Minutes(100_000);
    })
}

fn log() -> Vec<LogEvent> {
    let exposure = Exposure {
        build: Some(BuildId::new("1.4.0")),
        share: Share::from_basis_points(5_000).unwrap(),
        everyone: false,
        killed_features: 0,
        killed_cells: 0,
    };
    let mut log = vec![LogEvent::Exposure { at: Minutes::ZERO, exposure }];
    for w in 1..=WINDOWS as u32 {
        let at = Minutes(w * WINDOW_MIN as u32);
        log.push(LogEvent::Look { at, data_until: at });
    }
    log
}

fn bench(c: &mut Criterion) {
    let (scenario, log) = (scenario(), log());
    let mut group = c.benchmark_group("judge");
    group.sample_size(10);
    group.throughput(Throughput::Elements(PLAYERS * WINDOWS));
    group.bench_function("10M rows of CSV", |b| {
        b.iter(|| {
            let mut reader =
                read::Telemetry::new(Rows::new(), Format::Csv, Names::of(&scenario), &log);
            let verdict =
                judge::judge(&scenario, &log, &mut reader, None).expect("the rows are good");
            assert_eq!(verdict.rows, PLAYERS * WINDOWS);
            assert_eq!(verdict.judged.seen.len(), WINDOWS as usize);
            assert!(verdict.judged.divergence.is_none());
            verdict.players
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
