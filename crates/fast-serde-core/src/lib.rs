//! fast-serde core: the walker (Python objects → MessagePack written straight into the output
//! `bytes`) and the reader (MessagePack → Python objects), over `pyo3::ffi`, with MessagePack
//! markers from `rmp`.
//!
//! `fast-serde-py` only registers what [`register`] lists; all behaviour lives here.
//!
//! * `limits`: how deep a walk or a read may nest, and the stack it must leave free.
//! * `ffi/`: owned references, `py()`, byte views, dict iteration, type refs, weak classes, and
//!   object helpers (an instance's `__dict__`, a module attribute, a class's version tag).
//! * `msgpack/`: the marker writer over `rmp` and the output `bytes` written in place.
//! * `encode/`: the walker (`Encoder`): dispatch, scalars, containers.
//! * `decode/`: the reader (`Reader`), its key cache and the `ExtHandler` trait.
//! * `compress`: zstd frames around a document, read so that no frame can be a bomb.
//! * `langgraph/`: JsonPlusSerializer's ext codes, plans, encode and decode halves, trusted
//!   restore, the memo, and the `#[pyclass]` codec.
//!
//! docs/architecture.md follows a value through these files.

mod compress;
mod decode;
mod encode;
mod error;
pub mod ffi;
mod langgraph;
mod limits;
mod msgpack;

use decode::{with_key_cache, PlainExt, Reader};
use encode::{Encoder, Plain};
use ffi::typeref;
use limits::{MAX_DEPTH, MAX_TOTAL_DEPTH};
use msgpack::buffer::{self, write_bytes};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyType};

/// dumps(obj, /, *, default=None) -> bytes
///
/// `obj` as MessagePack: the bytes of `ormsgpack.packb(obj, option=OPT_NON_STR_KEYS |
/// OPT_REPLACE_SURROGATES)` for None, bool, int (-2**63 .. 2**64-1), float (float64), str,
/// bytes, bytearray, memoryview, list, tuple, dict and their subclasses, Enum (its value), and
/// `fast_serde.Ext` (a MessagePack ext). `default(obj)` is called for any other type and its
/// result written. Raises `EncodeError` (a `TypeError`) naming the type and the path, e.g.
/// `type 'object' is not MessagePack serializable at $['a'][1]`; also for ints out of range,
/// nesting past `MAX_DEPTH`, and cycles.
#[pyfunction]
#[pyo3(signature = (obj, /, *, default=None))]
pub fn dumps<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    default: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let default = default
        .filter(|d| !d.is_none())
        .map_or(std::ptr::null_mut(), |d| d.as_ptr());
    write_bytes(py, |buf| {
        Encoder::new(buf, Plain { default }).walk(obj.as_ptr(), 0)
    })
}

/// loads(data, /, *, ext_hook=None) -> Any
///
/// One MessagePack value from `data` (bytes, bytearray or memoryview): arrays → list, maps →
/// dict (array keys → tuple), bin → bytes, str → str, the timestamp extension (-1) → aware UTC
/// datetime (microseconds), other ext → `ext_hook(code, data)` or `fast_serde.Ext(code, data)`.
/// With `ext_hook`, timestamps go to the hook too. Raises `DecodeError` (a `ValueError`, with
/// `.offset`, the byte offset) for empty, truncated or malformed input, lengths beyond the input,
/// invalid UTF-8, nesting past `MAX_DEPTH`, unhashable keys and trailing bytes.
#[pyfunction]
#[pyo3(signature = (data, /, *, ext_hook=None))]
pub fn loads(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    ext_hook: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let ext = PlainExt {
        hook: ext_hook
            .filter(|h| !h.is_none())
            .map_or(std::ptr::null_mut(), |h| h.as_ptr()),
    };
    buffer::with_bytes(data, |bytes| {
        with_key_cache(|keys| {
            let mut r = Reader::new(bytes, 0, keys, &ext);
            match r.read_document() {
                // SAFETY: `read_document` returns a new reference.
                Ok(p) => Ok(unsafe { Bound::from_owned_ptr(py, p).unbind() }),
                Err(e) => Err((*e).into_pyerr(py)),
            }
        })
    })
}

/// instance_dict(obj, /) -> dict | None
///
/// `obj`'s own `__dict__`, or None when it has none or has not created it yet (an exception's
/// lazily created dict is not created). Raises what `obj.__dict__` raises. Used by
/// `fast_serde.langgraph._plans.encode_plan`, which must not change the object it inspects.
#[pyfunction]
fn instance_dict(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<Option<Py<PyAny>>> {
    match ffi::object::instance_dict(obj.as_ptr()) {
        // SAFETY: a new reference, handed to a Py that owns it.
        Ok(Some(d)) => Ok(Some(unsafe { Bound::from_owned_ptr(py, d) }.unbind())),
        Ok(None) => Ok(None),
        Err(()) => Err(PyErr::fetch(py)),
    }
}

/// generic_getattr(cls, /) -> bool
///
/// True when `cls`'s instances look attributes up with CPython's own `PyObject_GenericGetAttr`
/// (its `tp_getattro` slot, inherited or not): no `__getattr__`/`__getattribute__` of Python
/// code or of a C type decides per object. Built-in types made as heap types (deque, ZoneInfo
/// on 3.12, Decimal on 3.13) list a `__getattribute__` wrapper in their `__dict__` and still
/// answer True. Used by `fast_serde.langgraph._plans`.
#[pyfunction]
fn generic_getattr(cls: &Bound<'_, PyType>) -> bool {
    // SAFETY: reads one slot of a live type object (the Bound holds it, the GIL is held). The
    // slot and PyObject_GenericGetAttr are compared as addresses, as CPython's own
    // `tp_getattro == PyObject_GenericGetAttr` tests do.
    let slot = unsafe { (*cls.as_type_ptr()).tp_getattro };
    let generic: pyo3::ffi::getattrofunc = pyo3::ffi::PyObject_GenericGetAttr;
    slot.is_some_and(|f| std::ptr::fn_addr_eq(f, generic))
}

/// Add the functions, classes, exceptions and constants to the `fast_serde._native` module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    typeref::init(py)?;
    m.add_function(wrap_pyfunction!(dumps, m)?)?;
    m.add_function(wrap_pyfunction!(loads, m)?)?;
    m.add_function(wrap_pyfunction!(instance_dict, m)?)?;
    m.add_function(wrap_pyfunction!(generic_getattr, m)?)?;
    m.add_class::<langgraph::LangGraphCodec>()?;
    m.add("EncodeError", py.get_type::<error::EncodeError>())?;
    m.add("DecodeError", py.get_type::<error::DecodeError>())?;
    m.add("MAX_DEPTH", MAX_DEPTH)?;
    m.add("MAX_TOTAL_DEPTH", MAX_TOTAL_DEPTH)?;
    m.add("CPYTHON_LAYOUT", ffi::layout::IN_PLACE)?;
    langgraph::export(m)?;
    compress::export(m)?;
    Ok(())
}
