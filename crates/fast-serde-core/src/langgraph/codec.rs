//! JsonPlusSerializer's MessagePack format (langgraph-checkpoint 4.3), natively: the codec
//! `fast_serde.langgraph.FastSerializer` drives, what it owns, and its two entry points
//! (`encode`, `read_document`), which its Python methods (methods.rs) and the bound
//! `dumps_typed`/`loads_typed` (typed.rs) share.
//!
//! Encoding is the walker's LangGraph mode (policy.rs, plan.rs, kinds/). Decoding
//! reads every ext code in Rust (decode.rs): the payload `(module, name, arg[, method])` is read
//! natively, the class comes from the codec's cache keyed by the raw `code, module, name` bytes
//! (classes.rs, filled through the Python `resolve` callback, which applies the allowlist and
//! emits the parent's events and warnings), and the object is built as the parent's ext hook
//! builds it, failures included (`failed`, `method_allowed`), or restored without validation
//! (trusted.rs) or from the memo of validated models (memo.rs).

use super::classes::Classes;
use super::forward::Forwards;
use super::hooks::Hooks;
use super::memo::Memo;
use super::plan::Plans;
use super::policy::LangGraph;
use super::trusted::Decisions;
use super::watch;
use crate::decode::{with_key_cache, ExtHandler, Reader};
use crate::encode::Encoder;
use crate::msgpack::buffer::{self, write_bytes};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::sync::atomic::Ordering;

/// Encoder and decoder state of one `FastSerializer`: the Python callables it was given, and the
/// caches it owns, one per per-class decision (each a `ClassMap`: docs/architecture.md, "Caches").
/// Its Python methods are in methods.rs; typed.rs binds `dumps_typed`/`loads_typed` over it.
#[pyclass(module = "fast_serde._native", frozen)]
pub(crate) struct LangGraphCodec {
    pub(crate) hooks: Hooks,
    /// The encoder's plans, decided by `hooks.inspect` (plan.rs).
    pub(crate) plans: Plans,
    /// The classes `hooks.resolve` allowed (classes.rs).
    pub(crate) classes: Classes,
    /// The trusted-restore decisions of `hooks.trust` (trusted.rs).
    pub(crate) trusted: Decisions,
    /// The `__init__` `hooks.forwarded` answered per class (forward.rs).
    pub(crate) forwards: Forwards,
    /// Validated ext 5 payloads seen before (memo.rs), served for the classes its rule admits.
    pub(crate) memo: Memo,
    /// The watched set's generation (watch.rs) `trusted`, `forwards` and `memo` were decided in: when the
    /// process's moved, both are dropped before the next document uses them.
    pub(crate) generation: std::sync::atomic::AtomicU64,
}

impl LangGraphCodec {
    /// `_msgpack_enc(obj)`'s bytes (see `dumps`).
    pub(crate) fn encode<'py>(
        &self,
        py: Python<'py>,
        obj: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let policy = LangGraph {
            fallback: self.hooks.fallback.as_ptr(),
            inspect: self.hooks.inspect.as_ptr(),
            plans: &self.plans,
        };
        write_bytes(py, |buf| Encoder::new(buf, policy).walk(obj.as_ptr(), 0))
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
    watch::begin_document();
    with_key_cache(|keys| {
        let mut r = Reader::new(bytes, 0, keys, ext);
        match r.read_document() {
            // SAFETY: `read_document` returns a new reference.
            Ok(p) => Ok(unsafe { Bound::from_owned_ptr(py, p).unbind() }),
            Err(e) => Err((*e).into_pyerr(py)),
        }
    })
}

impl LangGraphCodec {
    /// Before an ext 5 payload that may use a cached verdict: on the document's first one,
    /// check the watched set; when the process's generation moved since this codec last looked,
    /// drop its trust and forwarding decisions and its memo (decided again on next use).
    #[inline]
    pub(crate) fn watch_fresh(&self, py: Python<'_>) -> PyResult<()> {
        if !watch::first_of_document() {
            return Ok(());
        }
        let g = watch::check(py)?;
        if self.generation.swap(g, Ordering::AcqRel) != g {
            self.trusted.clear();
            self.forwards.clear();
            self.memo.clear();
        }
        Ok(())
    }
}
