//! `FastSerializer.dumps_typed` / `loads_typed` as native calls, and the counters of
//! `fast_serde.langgraph.stats()`.
//!
//! LangGraph calls `serde.dumps_typed(value)` for every pending write of every task and
//! `serde.loads_typed((tag, data))` for each on every resume; for a small value the Python frames
//! around the codec cost more than the codec. `FastSerializer._bind_native` therefore sets its
//! instance attributes `dumps_typed`/`loads_typed` to the methods of a [`TypedBinding`] made by
//! `LangGraphCodec.bind`, so a saver's call reaches this file with no Python frame in between.
//! The class methods stay, written in Python, for subclasses that override them, for a release
//! whose probe sent a side to the parent, and for the inputs this file hands back (`slow_loads`).
//!
//! What is answered here, as `FastSerializer`'s Python methods answer it (langgraph-checkpoint's
//! `JsonPlusSerializer.dumps_typed`/`loads_typed`, jsonplus.py):
//!
//! * dumps: `None` -> `("null", b"")` (one cached tuple); a `bytes` -> `("bytes", obj)`; a
//!   `bytearray` -> `("bytearray", obj)` (subclasses included: the parent tests `isinstance`);
//!   else `("msgpack", data)` from the codec's walker, or `("msgpack-zstd", frame)` with
//!   `compression="zstd"` when the frame is smaller (`_compression.Zstd.dumps`'s rule); an
//!   `EncodeError` with the owner's `pickle_fallback` true -> `("pickle", pickle.dumps(obj))`.
//! * loads: an exact 2-tuple whose tag is an exact `str`: `"msgpack"` (the codec's reader, with
//!   ormsgpack's input check), `"msgpack-zstd"` of an exact `bytes`, `"null"` -> None, `"bytes"`
//!   -> the data itself, `"bytearray"` -> `bytearray(data)`. Everything else — `"json"`,
//!   `"pickle"`, unknown tags, a custom `__unpack_ext_hook__` (`msgpack` false), a `str`
//!   subclass tag, a list, a 3-tuple, a non-sequence — is `slow_loads(owner, data)`, so its
//!   results and exceptions are exactly the Python method's.
//!
//! The counters are process-wide atomics: [`typed_counts`] reads them for `stats()`, the Python
//! paths add to them with [`typed_count`]/[`typed_time`]. Each call is counted once, by whoever
//! answers it: a call this file hands to `slow_loads` is counted by that method's decorator.

use super::codec::{read_document, LangGraphCodec};
use crate::compress::{zstd_compress, zstd_decompress};
use crate::error::EncodeError;
use pyo3::ffi;
use pyo3::gc::PyVisit;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};
use pyo3::PyTraverseError;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Indices of [`COUNTERS`], in the order `typed_counts` returns them.
const DUMPS: usize = 0;
const DUMPS_FALLBACK: usize = 1;
const LOADS: usize = 2;
const LOADS_FALLBACK: usize = 3;
const DUMPS_NS: usize = 4;
const LOADS_NS: usize = 5;

/// `stats()`'s counters since the process started: calls (dumps, dumps_fallback, loads,
/// loads_fallback) and nanoseconds inside them while timing (dumps, loads). `reset_stats`
/// subtracts a snapshot rather than zeroing them, so a concurrent call is never lost.
static COUNTERS: [AtomicU64; 6] = [const { AtomicU64::new(0) }; 6];

/// Whether calls are being timed (`reset_stats(timing=True)`).
static TIMING: AtomicBool = AtomicBool::new(false);

#[inline(always)]
fn count(index: usize) {
    COUNTERS[index].fetch_add(1, Ordering::Relaxed);
}

/// A clock reading when timing is on.
#[inline(always)]
fn timing_start() -> Option<Instant> {
    if TIMING.load(Ordering::Relaxed) {
        Some(Instant::now())
    } else {
        None
    }
}

#[inline(always)]
fn timing_end(start: Option<Instant>, slot: usize) {
    if let Some(t) = start {
        let ns = u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX);
        COUNTERS[slot].fetch_add(ns, Ordering::Relaxed);
    }
}

/// typed_count(index, /) -> None
///
/// Add one to counter `index` of `stats()`: 0 dumps, 1 dumps_fallback, 2 loads, 3 loads_fallback
/// (the Python paths of `FastSerializer` count through this). Raises IndexError for another index.
#[pyfunction]
pub(crate) fn typed_count(index: usize) -> PyResult<()> {
    if index > LOADS_FALLBACK {
        return Err(pyo3::exceptions::PyIndexError::new_err(
            "counter index out of range",
        ));
    }
    count(index);
    Ok(())
}

/// typed_time(slot, ns, /) -> None
///
/// Add `ns` nanoseconds to the time of slot 0 (dumps_typed) or 1 (loads_typed). Raises
/// IndexError for another slot.
#[pyfunction]
pub(crate) fn typed_time(slot: usize, ns: u64) -> PyResult<()> {
    if slot > 1 {
        return Err(pyo3::exceptions::PyIndexError::new_err(
            "time slot out of range",
        ));
    }
    COUNTERS[DUMPS_NS + slot].fetch_add(ns, Ordering::Relaxed);
    Ok(())
}

/// typed_counts() -> tuple[int, int, int, int, int, int]
///
/// The counters since the process started: `(dumps, dumps_fallback, loads, loads_fallback,
/// dumps_ns, loads_ns)`, calls and nanoseconds.
#[pyfunction]
pub(crate) fn typed_counts() -> (u64, u64, u64, u64, u64, u64) {
    let c = |i: usize| COUNTERS[i].load(Ordering::Relaxed);
    (c(0), c(1), c(2), c(3), c(4), c(5))
}

/// typed_timing(on, /) -> None
///
/// Switch the timing of `dumps_typed`/`loads_typed` calls on or off (for the native methods; the
/// Python paths read `fast_serde.langgraph._stats`'s own flag).
#[pyfunction]
pub(crate) fn typed_timing(on: bool) {
    TIMING.store(on, Ordering::Relaxed);
}

/// The write side of `compression="zstd"` (`_compression.Zstd`): level, and the document sizes
/// in bytes that are compressed (`min_bytes ..= max_bytes`).
pub(crate) struct ZstdWrite {
    pub(crate) level: i32,
    pub(crate) min_bytes: usize,
    pub(crate) max_bytes: usize,
}

/// What the binding needs only off the hot paths, and gives up in `__clear__`.
struct Slow {
    /// The `FastSerializer` whose attributes this binding's methods are.
    owner: Py<PyAny>,
    /// `FastSerializer.loads_typed`, the Python method: `slow_loads(owner, data)`.
    slow_loads: Py<PyAny>,
}

/// The native `dumps_typed`/`loads_typed` of one `FastSerializer` (see the module docs), made by
/// `LangGraphCodec.bind`. Its settings are frozen: `FastSerializer` binds anew when they change.
#[pyclass(module = "fast_serde._native", frozen, weakref)]
pub(crate) struct TypedBinding {
    codec: Py<LangGraphCodec>,
    /// `("null", b"")`, returned for every None.
    null: Py<PyTuple>,
    /// `"msgpack"` and `"msgpack-zstd"` data read here (no custom ext hook).
    msgpack: bool,
    zstd: Option<ZstdWrite>,
    max_decompressed_bytes: u64,
    /// None once the GC cleared the binding.
    slow: Mutex<Option<Slow>>,
}

impl TypedBinding {
    pub(crate) fn new(
        py: Python<'_>,
        codec: Py<LangGraphCodec>,
        owner: Py<PyAny>,
        slow_loads: Py<PyAny>,
        msgpack: bool,
        zstd: Option<ZstdWrite>,
        max_decompressed_bytes: u64,
    ) -> Self {
        let null = PyTuple::new(
            py,
            [
                intern!(py, "null").clone().into_any(),
                PyBytes::new(py, b"").into_any(),
            ],
        )
        .expect("a 2-tuple of a str and a bytes")
        .unbind();
        TypedBinding {
            codec,
            null,
            msgpack,
            zstd,
            max_decompressed_bytes,
            slow: Mutex::new(Some(Slow { owner, slow_loads })),
        }
    }

    /// New references to the owner and `slow_loads`; ReferenceError once the GC cleared them.
    fn slow(&self, py: Python<'_>) -> PyResult<(Py<PyAny>, Py<PyAny>)> {
        let guard = self.slow.lock().unwrap_or_else(|e| e.into_inner());
        match &*guard {
            Some(s) => Ok((s.owner.clone_ref(py), s.slow_loads.clone_ref(py))),
            None => Err(pyo3::exceptions::PyReferenceError::new_err(
                "the FastSerializer of this dumps_typed/loads_typed is gone",
            )),
        }
    }

    /// `(tag, data)` of a non-None value; `native` false when it ended in `pickle`.
    fn dumps_value<'py>(
        &self,
        py: Python<'py>,
        obj: &Bound<'py, PyAny>,
        native: &mut bool,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let p = obj.as_ptr();
        // SAFETY: type checks on a live object.
        let (is_bytes, is_bytearray) =
            unsafe { (ffi::PyBytes_Check(p) != 0, ffi::PyByteArray_Check(p) != 0) };
        if is_bytes {
            return pair(py, intern!(py, "bytes"), obj);
        }
        if is_bytearray {
            return pair(py, intern!(py, "bytearray"), obj);
        }
        let data = match self.codec.get().encode(py, obj) {
            Ok(data) => data,
            Err(err) if err.is_instance_of::<EncodeError>(py) => {
                let (owner, _) = self.slow(py)?;
                if !owner
                    .bind(py)
                    .getattr(intern!(py, "pickle_fallback"))?
                    .is_truthy()?
                {
                    return Err(err);
                }
                *native = false;
                let pickled = py
                    .import(intern!(py, "pickle"))?
                    .getattr(intern!(py, "dumps"))?
                    .call1((obj,))?;
                return pair(py, intern!(py, "pickle"), &pickled);
            }
            Err(err) => return Err(err),
        };
        if let Some(z) = &self.zstd {
            let n = data.as_bytes().len();
            if (z.min_bytes..=z.max_bytes).contains(&n) {
                let frame = zstd_compress(py, &data, z.level)?;
                if frame.as_bytes().len() < n {
                    return pair(py, intern!(py, "msgpack-zstd"), &frame);
                }
            }
        }
        pair(py, intern!(py, "msgpack"), &data)
    }

    /// What the binding reads itself, or None for `slow_loads`.
    fn loads_native(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> Option<PyResult<Py<PyAny>>> {
        let p = data.as_ptr();
        // SAFETY: type and size checks on a live object; the two items are borrowed from the
        // tuple, which the caller holds for the whole call (tuples are immutable).
        let (tag, payload) = unsafe {
            if ffi::PyTuple_CheckExact(p) == 0 || ffi::PyTuple_GET_SIZE(p) != 2 {
                return None;
            }
            let tag = ffi::PyTuple_GET_ITEM(p, 0);
            if ffi::PyUnicode_CheckExact(tag) == 0 {
                return None;
            }
            (
                tag,
                Bound::from_borrowed_ptr(py, ffi::PyTuple_GET_ITEM(p, 1)),
            )
        };
        let codec = self.codec.get();
        if self.msgpack && tag == intern!(py, "msgpack").as_ptr() {
            // The interned "msgpack" itself (the tag of every blob written by a `dumps_typed`
            // and of the parent's literal): no need to read its text.
            return Some(read_document(py, &payload, codec));
        }
        let mut len: ffi::Py_ssize_t = 0;
        // SAFETY: `tag` is an exact str; the UTF-8 it returns lives as long as the str.
        let utf8 = unsafe { ffi::PyUnicode_AsUTF8AndSize(tag, &mut len) };
        if utf8.is_null() {
            // Lone surrogates: not one of the tags below; the Python method decides.
            // SAFETY: the error set by the failed call is dropped.
            unsafe { ffi::PyErr_Clear() };
            return None;
        }
        // SAFETY: `utf8` points to `len` bytes owned by `tag`.
        let tag = unsafe { std::slice::from_raw_parts(utf8 as *const u8, len as usize) };
        Some(match tag {
            b"msgpack" if self.msgpack => read_document(py, &payload, codec),
            b"msgpack-zstd" if self.msgpack && payload.is_exact_instance_of::<PyBytes>() => {
                // SAFETY: an exact bytes, checked above.
                let frame = unsafe { payload.cast_unchecked::<PyBytes>() };
                zstd_decompress(py, frame, self.max_decompressed_bytes)
                    .and_then(|doc| read_document(py, doc.as_any(), codec))
            }
            b"null" => Ok(py.None()),
            b"bytes" => Ok(payload.unbind()),
            b"bytearray" => bytearray(py, &payload),
            _ => return None,
        })
    }
}

#[pymethods]
impl TypedBinding {
    /// dumps_typed(obj, /) -> tuple[str, bytes]
    ///
    /// `FastSerializer.dumps_typed(obj)`, natively: `("null", b"")`, `("bytes", obj)`,
    /// `("bytearray", obj)`, `("msgpack", data)` (JsonPlusSerializer's bytes), `("msgpack-zstd",
    /// frame)` with `compression="zstd"`, or `("pickle", data)` with `pickle_fallback`. Raises
    /// `fast_serde.EncodeError` (a `TypeError`) naming the type and path of a value that cannot
    /// be written.
    fn dumps_typed<'py>(
        &self,
        py: Python<'py>,
        obj: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let start = timing_start();
        let mut native = true;
        let out = if obj.is_none() {
            Ok(self.null.bind(py).clone())
        } else {
            self.dumps_value(py, obj, &mut native)
        };
        timing_end(start, DUMPS_NS);
        count(if native && out.is_ok() {
            DUMPS
        } else {
            DUMPS_FALLBACK
        });
        out
    }

    /// loads_typed(data, /) -> Any
    ///
    /// `FastSerializer.loads_typed(data)` for `data = (type_tag, bytes)`: the object the parent
    /// reads (see the module docs for what is read here and what goes to the Python method).
    /// Raises what the parent raises; malformed MessagePack raises `fast_serde.DecodeError` (a
    /// `ValueError`) with the byte offset.
    fn loads_typed(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let start = timing_start();
        if let Some(out) = self.loads_native(py, data) {
            timing_end(start, LOADS_NS);
            count(LOADS);
            return out;
        }
        // Counted (and timed) by the Python method's decorator.
        let (owner, slow_loads) = self.slow(py)?;
        slow_loads.call1(py, (owner, data))
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.codec)?;
        visit.call(&self.null)?;
        // A lock held elsewhere is a call in progress on another thread, which keeps the
        // binding reachable: nothing to report then.
        if let Ok(guard) = self.slow.try_lock() {
            if let Some(s) = &*guard {
                visit.call(&s.owner)?;
                visit.call(&s.slow_loads)?;
            }
        }
        Ok(())
    }

    fn __clear__(&self) {
        let taken = self.slow.lock().unwrap_or_else(|e| e.into_inner()).take();
        drop(taken);
    }
}

/// `(tag, value)`, a new tuple.
#[inline(always)]
fn pair<'py>(
    py: Python<'py>,
    tag: &Bound<'py, pyo3::types::PyString>,
    value: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyTuple>> {
    // SAFETY: PyTuple_Pack takes new references to both live objects; a NULL result has the
    // error set, which `from_owned_ptr_or_err` takes.
    unsafe {
        Bound::from_owned_ptr_or_err(py, ffi::PyTuple_Pack(2, tag.as_ptr(), value.as_ptr()))
            .map(|t| t.cast_into_unchecked())
    }
}

/// `bytearray(value)`: copied directly from an exact `bytes`, else by calling the type
/// (`PyByteArray_FromObject`), so every other argument behaves and raises as the parent's call.
fn bytearray(py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    let p = value.as_ptr();
    // SAFETY: an exact bytes is read within its size; any other object is handed to the
    // bytearray constructor. A NULL result has the error set.
    unsafe {
        let out = if ffi::PyBytes_CheckExact(p) != 0 {
            ffi::PyByteArray_FromStringAndSize(ffi::PyBytes_AS_STRING(p), ffi::PyBytes_Size(p))
        } else {
            ffi::PyByteArray_FromObject(p)
        };
        Bound::from_owned_ptr_or_err(py, out).map(Bound::unbind)
    }
}
