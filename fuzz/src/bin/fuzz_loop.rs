//! A libFuzzer-free mutation fuzzer over the same harness, for stable Rust and machines without
//! cargo-fuzz (CI's bounded pass). No coverage feedback: every input is a seed from the corpus
//! with 1–8 stacked, MessagePack-aware mutations (bit flips, truncation, interesting bytes and
//! markers, declared lengths pushed to 0xffffffff, chunk duplication, splices of two seeds).
//! Deterministic for a given `--seed`, so a finding is replayed with the same arguments.
//!
//! Usage: fuzz_loop TARGET SECONDS [--runs N] [--seed S] [--artifacts DIR] CORPUS_DIR...
//!   TARGET: `loads` or `loads_langgraph`. Exits 1 (after writing the input into the artifacts
//!   directory) on the first finding; prints `fuzz_loop: TARGET: N execs ...` at the end.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Bytes worth planting: every length-carrying marker, the reserved 0xc1, boundaries.
const INTERESTING: &[u8] = &[
    0x00, 0x01, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6,
    0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcf, 0xd0, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda,
    0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff, 0xfe,
];

/// Markers followed by a 16- or 32-bit length.
const LONG_MARKERS: &[u8] = &[0xc5, 0xc6, 0xc8, 0xc9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf];

fn mutate(rng: &mut Rng, data: &mut Vec<u8>, seeds: &[Vec<u8>]) {
    let rounds = 1 + rng.below(8);
    for _ in 0..rounds {
        let len = data.len();
        match rng.below(11) {
            0 if len > 0 => {
                let i = rng.below(len);
                data[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                data[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 if len > 0 => {
                let i = rng.below(len);
                data[i] = rng.next() as u8;
            }
            3 if len > 1 => data.truncate(rng.below(len)),
            4 => {
                let i = rng.below(len + 1);
                data.insert(i, INTERESTING[rng.below(INTERESTING.len())]);
            }
            5 if len > 0 => {
                let i = rng.below(len);
                data.remove(i);
            }
            6 if len > 1 => {
                // Duplicate a chunk (more items than a header declares, or deeper nesting).
                let a = rng.below(len);
                let b = (a + 1 + rng.below(32)).min(len);
                let chunk = data[a..b].to_vec();
                let at = rng.below(len + 1);
                data.splice(at..at, chunk);
            }
            7 => {
                // A long marker with a huge or boundary length.
                let i = rng.below(len + 1);
                let m = LONG_MARKERS[rng.below(LONG_MARKERS.len())];
                let n: u32 = match rng.below(4) {
                    0 => u32::MAX,
                    1 => 0x7fff_ffff,
                    2 => (len as u32).wrapping_sub(i as u32),
                    _ => rng.next() as u32,
                };
                let mut hdr = vec![m];
                if matches!(m, 0xc5 | 0xc8 | 0xda | 0xdc | 0xde) {
                    hdr.extend_from_slice(&(n as u16).to_be_bytes());
                } else {
                    hdr.extend_from_slice(&n.to_be_bytes());
                }
                if matches!(m, 0xc8 | 0xc9) {
                    hdr.push(rng.below(9) as u8); // ext code 0..8
                }
                data.splice(i..i, hdr);
            }
            8 if !seeds.is_empty() => {
                // Splice: a prefix of this input, a suffix of another seed.
                let other = &seeds[rng.below(seeds.len())];
                let cut = rng.below(len + 1);
                let from = rng.below(other.len() + 1);
                data.truncate(cut);
                data.extend_from_slice(&other[from..]);
            }
            9 => {
                // Deep nesting prefix: fixarray(1) / fixmap-with-key / ext-wrapped.
                let depth = 1 + rng.below(300);
                let prefix: Vec<u8> = match rng.below(3) {
                    0 => vec![0x91; depth],
                    1 => [0x81u8, 0xa0].repeat(depth),
                    _ => [0xdd, 0, 0, 0, 1].repeat(depth),
                };
                data.splice(0..0, prefix);
            }
            10 if len > 2 => {
                // Overwrite a random 1-4 byte window with 0xff (lengths, ints, nanoseconds).
                let i = rng.below(len);
                let w = (1 + rng.below(4)).min(len - i);
                for b in &mut data[i..i + w] {
                    *b = 0xff;
                }
            }
            _ => data.push(rng.next() as u8),
        }
        if data.len() > 1 << 16 {
            data.truncate(1 << 16);
        }
    }
}

fn load_corpus(dirs: &[PathBuf]) -> Vec<Vec<u8>> {
    let mut files: Vec<PathBuf> = Vec::new();
    for d in dirs {
        if let Ok(rd) = std::fs::read_dir(d) {
            for e in rd.flatten() {
                let p = e.path();
                if p.is_file() && p.extension().is_none_or(|x| x != "py" && x != "md") {
                    files.push(p);
                }
            }
        }
    }
    files.sort();
    files
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .filter(|b| b.len() <= 1 << 16)
        .collect()
}

fn save(artifacts: &Path, target: &str, data: &[u8], name: &str) -> PathBuf {
    let dir = artifacts.join(target);
    let _ = std::fs::create_dir_all(&dir);
    let p = dir.join(name);
    let _ = std::fs::write(&p, data);
    p
}

fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: fuzz_loop TARGET SECONDS [--runs N] [--seed S] [--artifacts DIR] [--dump-each] CORPUS_DIR...";
    let target = args.next().expect(usage);
    let seconds: f64 = args.next().expect(usage).parse().expect(usage);
    let mut runs: Option<u64> = None;
    let mut seed: u64 = 0x5eed_f00d_cafe_d00d;
    let mut artifacts = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/artifacts"));
    let mut dump_each = false;
    let mut dirs: Vec<PathBuf> = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => runs = Some(args.next().expect(usage).parse().expect(usage)),
            "--seed" => seed = args.next().expect(usage).parse().expect(usage),
            "--artifacts" => artifacts = PathBuf::from(args.next().expect(usage)),
            "--dump-each" => dump_each = true,
            _ => dirs.push(PathBuf::from(a)),
        }
    }
    let check: fn(&[u8]) -> bool = match target.as_str() {
        "loads" => fast_serde_fuzz::check_loads,
        "loads_langgraph" => fast_serde_fuzz::check_langgraph,
        other => panic!("unknown target {other:?} (loads, loads_langgraph)"),
    };
    let seeds = load_corpus(&dirs);
    fast_serde_fuzz::init();
    let mut rng = Rng(seed | 1);
    let budget = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut execs: u64 = 0;
    let mut max_len = 0usize;
    let mut decoded: u64 = 0;
    // Quiet panic output: the loop prints the finding itself.
    std::panic::set_hook(Box::new(|_| {}));
    let mut input: Vec<u8>;
    loop {
        if runs.is_some_and(|r| execs >= r) || (runs.is_none() && start.elapsed() >= budget) {
            break;
        }
        // The seeds as they are first, then mutants.
        if (execs as usize) < seeds.len() {
            input = seeds[execs as usize].clone();
        } else if seeds.is_empty() {
            input = Vec::new();
            mutate(&mut rng, &mut input, &seeds);
        } else {
            input = seeds[rng.below(seeds.len())].clone();
            mutate(&mut rng, &mut input, &seeds);
        }
        max_len = max_len.max(input.len());
        if dump_each {
            save(&artifacts, &target, &input, "current");
        }
        let r = std::panic::catch_unwind(|| check(&input));
        execs += 1;
        if let Ok(true) = r {
            decoded += 1;
        }
        if let Err(payload) = r {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let p = save(&artifacts, &target, &input, &format!("finding-{execs}"));
            eprintln!("fuzz_loop: {target}: FINDING after {execs} execs (seed {seed}):\n{msg}");
            eprintln!(
                "fuzz_loop: input ({} bytes) written to {}",
                input.len(),
                p.display()
            );
            let _ = std::io::stderr().flush();
            std::process::exit(1);
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "fuzz_loop: {target}: {execs} execs in {secs:.1}s ({:.0}/s), {decoded} read a value, {} seeds, max input {max_len} bytes, seed {seed}, no findings",
        execs as f64 / secs.max(1e-9),
        seeds.len()
    );
}
