//! The fuzz harness shared by the libFuzzer targets (`fuzz_targets/`) and the libFuzzer-free
//! mutation loop (`src/bin/fuzz_loop.rs`).
//!
//! The reader builds Python objects, so the harness embeds CPython (pyo3 `auto-initialize`). It
//! registers *this binary's* copy of fast-serde-core as `fast_serde._native` before the Python
//! package is imported, so `fast_serde.loads` and `FastSerializer` run the instrumented code
//! under test, never a previously built extension module. The Python package comes from
//! `python/` in this repository; langgraph and friends from `PYTHONPATH` (set by
//! `scripts/fuzz.sh` to the project venv's site-packages).
//!
//! Oracles (a violation panics, which both engines report as a finding):
//! * `check_loads`: `fast_serde.loads(data)` returns a value or raises `DecodeError` (a
//!   `ValueError`) whose `.offset` lies within the input; a returned value that `dumps` can write
//!   reads back and writes again to the same bytes.
//! * `check_langgraph`: `FastSerializer(allowed_msgpack_modules=None).loads_typed(("msgpack",
//!   data))` returns a value or raises `DecodeError` with such an offset; a returned value that
//!   `dumps_typed` can write reads back without error. Strict allowlist only: the permissive mode
//!   imports and calls whatever module and name the input spells.
//!   The same bytes as a zstd blob, twice: `data` itself under the `"msgpack-zstd"` tag (a frame
//!   of the corpus mutated: a value or a `DecodeError` with an offset within the input, and no
//!   input may allocate past the frame's checks), and `data` compressed by `zstd_compress`
//!   under that tag, which must end as `("msgpack", data)` ends (both read, or both raise the
//!   same message).
//!
//! Crashes, aborts, sanitizer reports and hangs are findings without any oracle. Except one known
//! crash: with ormsgpack older than 1.13 (Python 3.10's 1.12.2), which segfaults on an array32
//! header it cannot allocate and which FastSerializer reaches through the parent's ext hook,
//! `check_langgraph` leaves out the inputs `oracles.reference_would_crash` names (see
//! `fuzz/python/oracles.py`; recorded as a strict xfail in
//! `python/tests/robustness/test_decoder.py`).

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyModule};
use std::sync::{Once, OnceLock};

struct Harness {
    decode_error: Py<PyAny>,
    encode_error: Py<PyAny>,
    /// `FastSerializer(allowed_msgpack_modules=None)`.
    serializer: Py<PyAny>,
    /// `oracles.reference_would_crash`: true only with ormsgpack < 1.13.
    known_crash: Py<PyAny>,
    /// `fast_serde._native.zstd_compress`.
    zstd_compress: Py<PyAny>,
    /// `oracles.frame_size`: how far an offset may reach for `("msgpack-zstd", data)`.
    frame_size: Py<PyAny>,
}

static HARNESS: OnceLock<Harness> = OnceLock::new();
static ENV: Once = Once::new();

/// `python/` of this repository (the `fast_serde` package sources).
fn python_dir() -> String {
    format!("{}/../python", env!("CARGO_MANIFEST_DIR"))
}

/// Environment for the embedded interpreter, set before it starts.
fn prepare_env() {
    ENV.call_once(|| {
        // Python objects on the system allocator, so AddressSanitizer sees every use after free
        // of a PyObject (pymalloc would recycle the block silently).
        if std::env::var_os("PYTHONMALLOC").is_none() {
            std::env::set_var("PYTHONMALLOC", "malloc");
        }
        std::env::set_var("PYTHONDONTWRITEBYTECODE", "1");
    });
}

const SETUP_BEFORE: &std::ffi::CStr = c"
import os, sys, types
sys.path.insert(0, PYDIR)
# A bare package object, so importing fast_serde._types does not run fast_serde/__init__.py
# (which would import a built extension module instead of this binary's core).
pkg = types.ModuleType('fast_serde')
pkg.__path__ = [os.path.join(PYDIR, 'fast_serde')]
sys.modules['fast_serde'] = pkg
import fast_serde._types
";

const SETUP_AFTER: &std::ffi::CStr = c"
import logging, sys, warnings
sys.modules['fast_serde._native'] = NATIVE
del sys.modules['fast_serde']
import fast_serde
import fast_serde.langgraph
assert fast_serde.loads is NATIVE.loads, 'fast_serde did not pick up the fuzzed core'
logging.disable(logging.CRITICAL)
warnings.simplefilter('ignore')
SERIALIZER = fast_serde.langgraph.FastSerializer(allowed_msgpack_modules=None)
sys.path.insert(0, os.path.join(PYDIR, '..', 'fuzz', 'python'))
from oracles import reference_would_crash as KNOWN_CRASH, frame_size as FRAME_SIZE
";

fn setup(py: Python<'_>) -> PyResult<Harness> {
    let g = PyDict::new(py);
    g.set_item("PYDIR", python_dir())?;
    py.run(SETUP_BEFORE, Some(&g), None)?;
    let native = PyModule::new(py, "fast_serde._native")?;
    fast_serde_core::register(&native)?;
    g.set_item("NATIVE", &native)?;
    py.run(SETUP_AFTER, Some(&g), None)?;
    Ok(Harness {
        decode_error: native.getattr("DecodeError")?.unbind(),
        encode_error: native.getattr("EncodeError")?.unbind(),
        serializer: g.get_item("SERIALIZER")?.unwrap().unbind(),
        known_crash: g.get_item("KNOWN_CRASH")?.unwrap().unbind(),
        zstd_compress: native.getattr("zstd_compress")?.unbind(),
        frame_size: g.get_item("FRAME_SIZE")?.unwrap().unbind(),
    })
}

fn harness(py: Python<'_>) -> &'static Harness {
    HARNESS.get_or_init(|| match setup(py) {
        Ok(h) => h,
        Err(e) => {
            e.print(py);
            panic!("fuzz harness setup failed (is PYTHONPATH the venv's site-packages?)");
        }
    })
}

/// Initialise the interpreter and the harness (the first check does it anyway).
pub fn init() {
    prepare_env();
    Python::attach(|py| {
        harness(py);
    });
}

fn describe(py: Python<'_>, e: &PyErr) -> String {
    let tb = e
        .traceback(py)
        .and_then(|t| t.format().ok())
        .unwrap_or_default();
    format!("{tb}{}: {}", e.get_type(py), e.value(py))
}

/// `e` must be a DecodeError whose offset lies within `0..=len`.
fn expect_decode_error(py: Python<'_>, h: &Harness, e: &PyErr, len: usize, what: &str) {
    if !e.is_instance(py, h.decode_error.bind(py)) {
        panic!(
            "{what} raised something other than DecodeError:\n{}",
            describe(py, e)
        );
    }
    let offset: usize = e
        .value(py)
        .getattr("offset")
        .and_then(|o| o.extract())
        .unwrap_or_else(|_| {
            panic!(
                "{what}: DecodeError without an int .offset: {}",
                e.value(py)
            )
        });
    assert!(
        offset <= len,
        "{what}: DecodeError offset {offset} beyond the input ({len} bytes): {}",
        e.value(py)
    );
}

/// `fast_serde.loads` on arbitrary bytes; `true` when a value was read.
pub fn check_loads(data: &[u8]) -> bool {
    prepare_env();
    Python::attach(|py| {
        let h = harness(py);
        let input = PyBytes::new(py, data);
        let value = match fast_serde_core::loads(py, input.as_any(), None) {
            Ok(v) => v,
            Err(e) => {
                expect_decode_error(py, h, &e, data.len(), "loads");
                return false;
            }
        };
        // What the walker can write of it, it must read back and write identically.
        let once = match fast_serde_core::dumps(py, value.bind(py), None) {
            Ok(b) => b,
            Err(e) => {
                // Only the timestamp ext reads as something plain `dumps` cannot write.
                assert!(
                    e.is_instance(py, h.encode_error.bind(py)),
                    "dumps(loads(data)) raised something other than EncodeError:\n{}",
                    describe(py, &e)
                );
                return true;
            }
        };
        let again = fast_serde_core::loads(py, once.as_any(), None)
            .unwrap_or_else(|e| panic!("loads(dumps(loads(data))) failed:\n{}", describe(py, &e)));
        let twice = fast_serde_core::dumps(py, again.bind(py), None)
            .unwrap_or_else(|e| panic!("dumps of a re-read value failed:\n{}", describe(py, &e)));
        assert_eq!(
            once.as_bytes(),
            twice.as_bytes(),
            "dumps(loads(b)) != b for b = dumps(loads(data))"
        );
        true
    })
}

/// `FastSerializer(allowed_msgpack_modules=None).loads_typed(("msgpack", data))`; `true` when
/// a value was read.
pub fn check_langgraph(data: &[u8]) -> bool {
    prepare_env();
    Python::attach(|py| {
        let h = harness(py);
        let ser = h.serializer.bind(py);
        let input = PyBytes::new(py, data);
        let known_crash = h.known_crash.bind(py).call1((&input,));
        if known_crash.and_then(|r| r.is_truthy()).unwrap_or(false) {
            return false;
        }
        // `data` as a zstd frame (a mutated frame of the corpus, or anything else).
        if let Err(e) = ser.call_method1("loads_typed", (("msgpack-zstd", &input),)) {
            // An error in the document inside a frame counts the document's bytes.
            let size = h
                .frame_size
                .bind(py)
                .call1((&input,))
                .and_then(|n| n.extract::<usize>())
                .unwrap_or_else(|e| panic!("frame_size failed:\n{}", describe(py, &e)));
            expect_decode_error(py, h, &e, size, "loads_typed(msgpack-zstd)");
        }
        let arg = (("msgpack", &input),);
        let plain = ser.call_method1("loads_typed", arg);
        // `data` compressed: the frame must end as the document does.
        let frame = h
            .zstd_compress
            .bind(py)
            .call1((&input, 1))
            .unwrap_or_else(|e| panic!("zstd_compress failed:\n{}", describe(py, &e)));
        let packed = ser.call_method1("loads_typed", (("msgpack-zstd", frame),));
        match (&plain, &packed) {
            (Ok(_), Ok(_)) => {}
            (Err(a), Err(b)) if a.value(py).to_string() == b.value(py).to_string() => {}
            _ => panic!(
                "loads_typed of a compressed document ended otherwise than of the document:\n\
                 msgpack: {:?}\nmsgpack-zstd: {:?}",
                plain
                    .as_ref()
                    .map(|v| v.to_string())
                    .map_err(|e| describe(py, e)),
                packed
                    .as_ref()
                    .map(|v| v.to_string())
                    .map_err(|e| describe(py, e)),
            ),
        }
        let value = match plain {
            Ok(v) => v,
            Err(e) => {
                expect_decode_error(py, h, &e, data.len(), "loads_typed");
                return false;
            }
        };
        // What it can write of the result, it must read back.
        let Ok(out) = ser.call_method1("dumps_typed", (value,)) else {
            // A result the writer refuses (e.g. a payload the parent's fallback cannot
            // re-encode) is not a finding: the reader is the target.
            return true;
        };
        if let Err(e) = ser.call_method1("loads_typed", (out,)) {
            panic!(
                "loads_typed(dumps_typed(loads_typed(data))) failed:\n{}",
                describe(py, &e)
            );
        }
        true
    })
}
