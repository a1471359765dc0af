//! The Python methods of [`LangGraphCodec`] (codec.rs): its constructor, `dumps`/`loads`/
//! `loads_json`, `bind` (the native `dumps_typed`/`loads_typed`, typed.rs) and its caches'
//! `clear_cache`/`cache_sizes`/`memo_stats`/`set_memo_bytes`.

use super::classes::Classes;
use super::codec::{read_document, LangGraphCodec};
use super::forward::new_forwards;
use super::hooks::Hooks;
use super::json::JsonHook;
use super::memo::{Memo, DEFAULT_MEMO_BYTES};
use super::plan::{local_count, new_plans};
use super::trusted::new_decisions;
use super::typed::{TypedBinding, ZstdWrite};
use super::watch;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

#[pymethods]
impl LangGraphCodec {
    /// Keyword arguments only, as `fast_serde.langgraph._serializer.FastSerializer._make_codec`
    /// passes them: `fallback` (langgraph's `_msgpack_enc`), `inspect` (`_plans.encode_plan`),
    /// `unusual`, `resolve`, `failed`, `method_allowed` (the callables above), `trust`
    /// (`_trusted.trusted_model`, or None when validating), `delta` (the `_DeltaSnapshot` class),
    /// `numpy` (`payload -> ndarray | None`), `memo_rule` (`_purity.memo_model(cls) -> bool`:
    /// whether the memo may serve a class), `memo_bytes` (the memo's budget in bytes; None
    /// or absent: `DEFAULT_MEMO_BYTES`) and `forwarded` (`_verified.forwarded_init`, or None: call
    /// every class, forward.rs). Raises TypeError for a missing or unknown argument,
    /// OverflowError for a negative `memo_bytes`.
    #[new]
    #[pyo3(signature = (
        *, fallback, inspect, unusual, resolve, failed, method_allowed, trust, delta, numpy,
        memo_rule, memo_bytes = None, forwarded = None
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
        forwarded: Option<Py<PyAny>>,
    ) -> Self {
        LangGraphCodec {
            hooks: Hooks {
                fallback,
                inspect,
                unusual,
                resolve,
                failed,
                method_allowed,
                trust,
                forwarded,
                delta,
                numpy,
            },
            plans: new_plans(),
            classes: Classes::new(),
            trusted: new_decisions(),
            forwards: new_forwards(),
            memo: Memo::new(memo_bytes.unwrap_or(DEFAULT_MEMO_BYTES), memo_rule),
            generation: std::sync::atomic::AtomicU64::new(super::watch::generation()),
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

    /// Forget every cache this codec reads through (after the allowlist changed, or between
    /// tests): its plans (this thread's copy of them now, the other threads' at their next
    /// lookup), its cached classes with their trusted-restore decisions and forwarding answers,
    /// its memo's entries and class answers; and the two the process shares: the watched set
    /// (emptied with a new generation, so every codec drops what rested on it at its next
    /// document: watch.rs) and the reader's key cache (emptied by its next reader). All are
    /// decided again on next use; docs/architecture.md, "Caches", lists them.
    /// `FastSerializer.clear_cache()` calls this and also empties the Python side's caches.
    fn clear_cache(&self) {
        self.plans.clear();
        self.classes.clear();
        self.trusted.clear();
        self.forwards.clear();
        self.memo.clear();
        watch::renew();
        crate::decode::clear_key_cache();
    }

    /// How many entries each class-keyed cache holds: `{"plans", "thread_plans", "classes",
    /// "trusted", "forwarded", "memo_classes", "memo_entries"}` (counts): this codec's plans and
    /// this thread's copy of them, its cached classes, the classes with a kept trusted-restore
    /// decision and with a kept forwarding answer (forward.rs), the classes its memo's rule was
    /// asked about and its entries.
    fn cache_sizes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        let (plans, thread_plans) = (self.plans.len(), local_count(&self.plans));
        let (classes, trusted) = (self.classes.len(), self.trusted.len());
        let memo_entries = self.memo.stats()[4] as usize;
        let d = pyo3::types::PyDict::new(py);
        for (k, v) in [
            ("plans", plans),
            ("thread_plans", thread_plans),
            ("classes", classes),
            ("trusted", trusted),
            ("forwarded", self.forwards.len()),
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
            "hits", "misses", "fills", "rejected", "entries", "bytes", "budget", "marks",
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
