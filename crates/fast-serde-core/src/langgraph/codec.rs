//! JsonPlusSerializer's MessagePack format (langgraph-checkpoint 4.3), natively: the
//! `#[pyclass]` that `fast_serde.langgraph.FastSerializer` drives.
//!
//! Encoding is the walker's LangGraph mode (encode.rs, plan.rs, model.rs). Decoding reads every
//! ext code in Rust (decode.rs): the payload `(module, name, arg[, method])` is read natively,
//! the class comes from a per-codec cache keyed by the raw `code, module, name` bytes
//! (classes.rs, filled through the Python `resolve` callback, which applies the allowlist and
//! emits the parent's events and warnings), and the object is built as the parent's ext hook
//! builds it, failures included (`failed`, `method_allowed`), or restored without validation
//! (trusted.rs) or from the memo of validated models (memo.rs).

use super::classes::{class_counts, ClassCache};
use super::json::JsonHook;
use super::plan::{clear_plans, plan_counts};
use super::policy::LangGraph;
use super::typed::{TypedBinding, ZstdWrite};
use crate::decode::{with_key_cache, ExtHandler, Reader};
use crate::encode::Encoder;
use crate::langgraph::memo::{Memo, DEFAULT_MEMO_BYTES};
use crate::msgpack::buffer::{self, write_bytes};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use rustc_hash::FxHashMap;
use std::sync::{Arc, Mutex};

/// `resolve` answers: allowed and cacheable (no per-object events), allowed but ask again next
/// time (the permissive mode's per-object event), blocked / unimportable (payload returned), or
/// allowed and cacheable for a constructor that is no module attribute (`Send`'s).
pub(crate) const RESOLVED_CACHE: i64 = 0;
pub(crate) const RESOLVED_ONCE: i64 = 1;
pub(crate) const RESOLVED_BLOCKED: i64 = 2;
pub(crate) const RESOLVED_FIXED: i64 = 3;

/// Encoder and decoder state of one `FastSerializer`.
///
/// * `fallback(obj) -> bytes`: langgraph's `_msgpack_enc`, for types written in Python.
/// * `ext_hook(code, data) -> Any`: the parent's ext hook, for ext values read in Python.
/// * `resolve(code, module, name) -> (status, cls)`: the allowlist decision (0 = allowed, cache
///   it while `sys.modules[module].__dict__[name] is cls`; 1 = allowed, ask again next time;
///   2 = blocked or not importable: return the payload; 3 = allowed, cache it as it is).
#[pyclass(module = "fast_serde._native", frozen)]
pub(crate) struct LangGraphCodec {
    pub(crate) fallback: Py<PyAny>,
    pub(crate) inspect: Py<PyAny>,
    /// `_ext_from_payload(code, decoded, tup)`: the parent's ext hook past its unpackb, in Python,
    /// for the payloads of an unusual shape that `constructed` (decode.rs) does not build.
    pub(crate) unusual: Py<PyAny>,
    pub(crate) resolve: Py<PyAny>,
    pub(crate) failed: Py<PyAny>,
    pub(crate) method_allowed: Py<PyAny>,
    /// `_plans.trusted_model(cls) -> (fields, extra_allow, rules) | None` when
    /// `validate_models=False`, else None.
    pub(crate) trust: Option<Py<PyAny>>,
    /// `_DeltaSnapshot`, for ext 7.
    pub(crate) delta: Py<PyAny>,
    /// `payload -> ndarray | None`, for ext 6 (the parent's rebuild, errors read as None).
    pub(crate) numpy: Py<PyAny>,
    pub(crate) classes: Arc<ClassCache>,
    /// Validated ext 5 payloads seen before (memo.rs), served for the classes its rule admits.
    pub(crate) memo: Memo,
}

#[pymethods]
impl LangGraphCodec {
    /// Keyword arguments only, as `fast_serde.langgraph._serializer.FastSerializer._make_codec`
    /// passes them: `fallback` (langgraph's `_msgpack_enc`), `inspect` (`_plans.encode_plan`),
    /// `unusual`, `resolve`, `failed`, `method_allowed` (the callables above), `trust`
    /// (`_plans.trusted_model`, or None when validating), `delta` (the `_DeltaSnapshot` class),
    /// `numpy` (`payload -> ndarray | None`), `memo_rule` (`_purity.memo_model(cls) -> bool`:
    /// whether the memo may serve a class) and `memo_bytes` (the memo's budget in bytes; None
    /// or absent: `DEFAULT_MEMO_BYTES`). Raises TypeError for a missing or unknown argument,
    /// OverflowError for a negative `memo_bytes`.
    #[new]
    #[pyo3(signature = (
        *, fallback, inspect, unusual, resolve, failed, method_allowed, trust, delta, numpy,
        memo_rule, memo_bytes = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        fallback: Py<PyAny>,
        inspect: Py<PyAny>,
        unusual: Py<PyAny>,
        resolve: Py<PyAny>,
        failed: Py<PyAny>,
        method_allowed: Py<PyAny>,
        trust: Option<Py<PyAny>>,
        delta: Py<PyAny>,
        numpy: Py<PyAny>,
        memo_rule: Py<PyAny>,
        memo_bytes: Option<usize>,
    ) -> Self {
        LangGraphCodec {
            fallback,
            inspect,
            unusual,
            resolve,
            failed,
            method_allowed,
            trust,
            delta,
            numpy,
            classes: Arc::new(Mutex::new(FxHashMap::default())),
            memo: Memo::new(memo_bytes.unwrap_or(DEFAULT_MEMO_BYTES), memo_rule),
        }
    }

    /// `_msgpack_enc(obj)`'s bytes. Raises `fast_serde.EncodeError` (a `TypeError`) naming the
    /// type and path of a value neither this walker nor langgraph can write.
    fn dumps<'py>(
        &self,
        py: Python<'py>,
        obj: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        self.encode(py, obj)
    }

    /// The object `ormsgpack.unpackb(data, ext_hook=parent_hook, option=OPT_NON_STR_KEYS)` gives.
    /// `data`: what `unpackb` reads, an exact `bytes` or `bytearray` or a C-contiguous
    /// `memoryview`; anything else raises its `ValueError` (see [`check_input`]). Raises
    /// `fast_serde.DecodeError` (a `ValueError`) with the byte offset for malformed input,
    /// trailing bytes included.
    fn loads(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        read_document(py, data, self)
    }

    /// The object `ormsgpack.unpackb(data, ext_hook=hook, option=OPT_NON_STR_KEYS)` gives when
    /// `hook` is langgraph-checkpoint's `_msgpack_ext_hook_to_json` (`delta` None) or the
    /// in-memory runtime's `_delta_aware_hook` around it (`delta`: its `_DeltaSnapshot` class):
    /// ext values become the plain data that hook returns (json.rs), payloads of an unusual shape
    /// are handed to `hook` itself. The caller checks that `hook` is one of the two
    /// (`_compat.json_reader`). `data`: as for `loads`. Raises
    /// `fast_serde.DecodeError` (a `ValueError`) with the byte offset for malformed input,
    /// trailing bytes included, and what `hook` raises (ext 7's unreadable payload).
    #[pyo3(signature = (data, hook, delta = None))]
    fn loads_json(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        hook: &Bound<'_, PyAny>,
        delta: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let handler = JsonHook {
            hook: hook.as_ptr(),
            delta: delta.map_or(std::ptr::null_mut(), |d| d.as_ptr()),
        };
        read_document(py, data, &handler)
    }

    /// The native `dumps_typed`/`loads_typed` of the serializer `owner` over this codec
    /// (typed.rs), which `FastSerializer` binds as instance attributes.
    ///
    /// * `slow_loads(owner, data)`: `FastSerializer.loads_typed` as written in Python, called for
    ///   every input the binding does not read itself (other tags, a `data` that is no exact
    ///   2-tuple with an exact `str` tag), so results and exceptions are that method's.
    /// * `msgpack`: whether `"msgpack"`/`"msgpack-zstd"` data is read here (False with a custom
    ///   `__unpack_ext_hook__`: then `slow_loads` reads it).
    /// * `zstd`: `(level, min_bytes, max_bytes)` of `compression="zstd"`, or None.
    /// * `max_decompressed_bytes`: the largest content size a `"msgpack-zstd"` frame may declare.
    ///
    /// The binding keeps `owner` (for `pickle_fallback` and `slow_loads`) and tells the cyclic
    /// GC so, as `owner` holds the binding's methods.
    #[pyo3(signature = (owner, slow_loads, *, msgpack, zstd, max_decompressed_bytes))]
    fn bind(
        slf: &Bound<'_, Self>,
        owner: Py<PyAny>,
        slow_loads: Py<PyAny>,
        msgpack: bool,
        zstd: Option<(i32, usize, usize)>,
        max_decompressed_bytes: u64,
    ) -> TypedBinding {
        TypedBinding::new(
            slf.py(),
            slf.clone().unbind(),
            owner,
            slow_loads,
            msgpack,
            zstd.map(|(level, min_bytes, max_bytes)| ZstdWrite {
                level,
                min_bytes,
                max_bytes,
            }),
            max_decompressed_bytes,
        )
    }

    /// Forget every class-keyed cache (after the allowlist changed, or between tests): this
    /// codec's cached classes with their trusted-restore decisions, its memo's entries and class
    /// answers, and the encoder's plans, which every codec of the process shares (all are
    /// decided again on next use; docs/architecture.md, "Caches", lists them).
    fn clear_cache(&self) {
        let old = std::mem::take(&mut *self.classes.lock().unwrap_or_else(|e| e.into_inner()));
        drop(old);
        self.memo.clear();
        clear_plans();
    }

    /// How many entries each class-keyed cache holds: `{"plans", "thread_plans", "classes",
    /// "trusted", "memo_classes", "memo_entries"}` (counts): the process's plans and this
    /// thread's copy of them, this codec's cached classes and of them those with a kept
    /// trusted-restore decision, the classes its memo's rule was asked about and its entries.
    fn cache_sizes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        let (plans, thread_plans) = plan_counts();
        let (classes, trusted) = class_counts(&self.classes);
        let memo_entries = self.memo.stats()[4] as usize;
        let d = pyo3::types::PyDict::new(py);
        for (k, v) in [
            ("plans", plans),
            ("thread_plans", thread_plans),
            ("classes", classes),
            ("trusted", trusted),
            ("memo_classes", self.memo.class_count()),
            ("memo_entries", memo_entries),
        ] {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    /// The memo of validated models: `{"hits", "misses", "fills", "rejected", "entries", "bytes",
    /// "budget"}` (counts since the codec was made; `bytes` and `budget` in bytes). `hits` are
    /// objects built from the memo; `misses` ext 5 payloads not found in it; `fills` templates
    /// kept; `rejected` class decisions that the memo may not serve the class (its rule,
    /// memo.rs); `bytes` what the entries hold (payloads, templates' objects, overhead).
    fn memo_stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        let d = pyo3::types::PyDict::new(py);
        let names = [
            "hits", "misses", "fills", "rejected", "entries", "bytes", "budget",
        ];
        for (k, v) in names.iter().zip(self.memo.stats()) {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    /// Set the memo's budget in bytes (0 turns it off and empties it).
    fn set_memo_bytes(&self, budget: usize) {
        self.memo.set_budget(budget);
    }
}

impl LangGraphCodec {
    /// `_msgpack_enc(obj)`'s bytes (see `dumps`).
    pub(crate) fn encode<'py>(
        &self,
        py: Python<'py>,
        obj: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let fallback = self.fallback.as_ptr();
        let inspect = self.inspect.as_ptr();
        write_bytes(py, |buf| {
            Encoder::new(buf, LangGraph { fallback, inspect }).walk(obj.as_ptr(), 0)
        })
    }
}

/// ormsgpack's `unpackb` input check (the same in ormsgpack 1.12 and 1.13),
/// which the parent's `loads_typed` applies to `"msgpack"` data: an exact `bytes` or
/// `bytearray`, or a C-contiguous `memoryview` (of any format); a subclass, an `array.array`, a
/// `str` or `None` raises `ValueError("Input must be bytes, bytearray, memoryview")`, another
/// memoryview (strided, released) `ValueError("Input type memoryview must be a C contiguous
/// buffer")`, the same exceptions and messages.
fn check_input(data: &Bound<'_, PyAny>) -> PyResult<()> {
    let p = data.as_ptr();
    // SAFETY: type checks on a live object.
    let (exact, view) = unsafe {
        (
            pyo3::ffi::PyBytes_CheckExact(p) != 0 || pyo3::ffi::PyByteArray_CheckExact(p) != 0,
            pyo3::ffi::PyMemoryView_Check(p) != 0,
        )
    };
    if exact {
        return Ok(());
    }
    if !view {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "Input must be bytes, bytearray, memoryview",
        ));
    }
    // `c_contiguous` raises ValueError on a released view, which ormsgpack refuses too.
    let contiguous = data
        .getattr(pyo3::intern!(data.py(), "c_contiguous"))
        .and_then(|c| c.is_truthy());
    match contiguous {
        Ok(true) => Ok(()),
        _ => Err(pyo3::exceptions::PyValueError::new_err(
            "Input type memoryview must be a C contiguous buffer",
        )),
    }
}

/// One document from `data` (checked as ormsgpack checks it, [`check_input`]), ext values read
/// by `ext`.
pub(crate) fn read_document(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    ext: &dyn ExtHandler,
) -> PyResult<Py<PyAny>> {
    let p = data.as_ptr();
    // SAFETY: a type check on a live object.
    if unsafe { pyo3::ffi::PyBytes_CheckExact(p) } != 0 {
        // SAFETY: `data` is an exact `bytes`, immutable, and outlives the borrow (the caller
        // holds it for the whole call).
        return read_slice(py, unsafe { crate::ffi::bytes_slice(p) }, ext);
    }
    check_input(data)?;
    buffer::with_bytes(data, |bytes| read_slice(py, bytes, ext))
}

/// One document from `bytes`, ext values read by `ext`; offsets in errors are into `bytes`.
pub(crate) fn read_slice(
    py: Python<'_>,
    bytes: &[u8],
    ext: &dyn ExtHandler,
) -> PyResult<Py<PyAny>> {
    with_key_cache(|keys| {
        let mut r = Reader::new(bytes, 0, keys, ext);
        match r.read_document() {
            // SAFETY: `read_document` returns a new reference.
            Ok(p) => Ok(unsafe { Bound::from_owned_ptr(py, p).unbind() }),
            Err(e) => Err((*e).into_pyerr(py)),
        }
    })
}
