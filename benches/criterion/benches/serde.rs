//! `cargo bench`: one Criterion group per fixture size ("5k", "30k", "200k", "2m"), timing
//!
//! * `plain/walker`: `fast_serde_core::dumps(py, plain_state, None)`, called from Rust,
//! * `plain/ormsgpack`: `ormsgpack.packb(plain_state, option=NON_STR_KEYS | REPLACE_SURROGATES)`,
//! * `typed/FastSerializer`: `FastSerializer().dumps_typed(checkpoint)`,
//! * `typed/JsonPlusSerializer`: `JsonPlusSerializer().dumps_typed(checkpoint)`,
//! * `typed/pickle5`: `pickle.dumps(checkpoint, protocol=5)`,
//! * `typed/deepcopy`: `copy.deepcopy(checkpoint)`,
//!
//! with throughput in bytes of msgpack written (the same length for every entry of a kind, so
//! MB/s compare directly). `FAST_SERDE_BENCH_SIZES=5k,30k` picks sizes; Criterion's own filter
//! (`cargo bench -- 200k/typed`) picks entries.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use fast_serde_criterion::{setup, Workload};
use pyo3::prelude::*;

const SIZES: [&str; 4] = ["5k", "30k", "200k", "2m"];

fn sizes() -> Vec<String> {
    match std::env::var("FAST_SERDE_BENCH_SIZES") {
        Ok(list) => list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        Err(_) => SIZES.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn bench_size(c: &mut Criterion, py: Python<'_>, w: &Workload<'_>) {
    let mut group = c.benchmark_group(&w.size);
    if w.size == "2m" {
        // deepcopy of the 2 MB checkpoint takes ~0.3 s: flat sampling, the minimum 10 samples.
        group.sampling_mode(SamplingMode::Flat);
        group.sample_size(10);
        group.measurement_time(Duration::from_secs(10));
    }

    group.throughput(Throughput::Bytes(w.plain_len));
    group.bench_function("plain/walker", |b| {
        b.iter(|| fast_serde_core::dumps(py, black_box(&w.plain), None).unwrap())
    });
    group.bench_function("plain/ormsgpack", |b| {
        b.iter(|| w.ormsgpack_packb.call1((black_box(&w.plain),)).unwrap())
    });

    group.throughput(Throughput::Bytes(w.checkpoint_len));
    let typed = [
        ("typed/FastSerializer", &w.fast_dumps_typed),
        ("typed/JsonPlusSerializer", &w.jsonplus_dumps_typed),
        ("typed/pickle5", &w.pickle_dumps),
        ("typed/deepcopy", &w.deepcopy),
    ];
    for (name, func) in typed {
        group.bench_function(name, |b| {
            b.iter(|| func.call1((black_box(&w.checkpoint),)).unwrap())
        });
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    Python::attach(|py| {
        setup(py).expect("embedding Python (is FAST_SERDE_VENV right?)");
        for size in sizes() {
            let workload = Workload::new(py, &size).expect("building the fixtures");
            bench_size(c, py, &workload);
        }
    });
}

criterion_group!(serde, benches);
criterion_main!(serde);
