//! How fast bad input is refused: checking is linear in the file, whatever its problems.
//!
//! `cargo bench -p rollcage-scenario --bench refusal` times the refusal of a 20 MB file on disk,
//! which is what `rollcage simulate` does with it (a few hundred microseconds: it is refused by its
//! size before it is read); the whole check of the largest file rollcage reads (1 MiB, about
//! 43,000 unknown keys), with the rendering of the 50 problems a command prints (tens of
//! milliseconds); and the same for a 20 MB text (about 850,000 problems), to show the check stays
//! linear: about 1.1 s on one core, half of it the TOML parser's own.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rollcage_scenario::spec::{MAX_FILE_BYTES, MAX_PRINTED_PROBLEMS};

const TWENTY_MB: usize = 20 << 20;

/// A shipped-size scenario whose [population] also holds unknown keys up to `size` bytes.
fn malformed(size: usize) -> String {
    let base = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/small-null.toml"
    ))
    .expect("the fixture is there");
    let mut keys = String::with_capacity(size);
    let mut i = 0;
    while base.len() + keys.len() < size {
        keys.push_str(&format!("playr_count_{i:08} = 1\n"));
        i += 1;
    }
    base.replacen("[population]\n", &format!("[population]\n{keys}"), 1)
}

fn refusal(c: &mut Criterion) {
    let mut group = c.benchmark_group("refusal");
    group.sample_size(10);
    for (label, size) in [("1 MiB", MAX_FILE_BYTES as usize), ("20 MB", TWENTY_MB)] {
        let text = malformed(size);
        group.throughput(Throughput::Bytes(text.len() as u64));
        let problems = rollcage_scenario::load(&text).expect_err("the text is malformed").len();
        assert!(problems > size / 30, "{problems} problems");
        group.bench_function(format!("check {label} with {problems} problems, render 50"), |b| {
            b.iter(|| {
                let found = rollcage_scenario::load(&text).expect_err("the text is malformed");
                found
                    .iter()
                    .take(MAX_PRINTED_PROBLEMS)
                    .map(|d| d.render("big.toml", &text).len())
                    .sum::<usize>()
            })
        });
    }
    let text = malformed(TWENTY_MB);
    let path = std::env::temp_dir().join(format!("rollcage-refusal-{}.toml", std::process::id()));
    std::fs::write(&path, &text).expect("the temporary file is written");
    group.bench_function("refuse a 20 MB file", |b| {
        b.iter(|| rollcage_scenario::source::read(&path).expect_err("the file is too large"))
    });
    let _ = std::fs::remove_file(&path);
    group.finish();
}

criterion_group!(benches, refusal);
criterion_main!(benches);
