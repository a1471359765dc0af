//! Errors of the walker and the reader.
//!
//! Every failure is a variant; the Python exception (`fast_serde.EncodeError`, a `TypeError`, or
//! `fast_serde.DecodeError`, a `ValueError`) is built once, at the boundary, by the `#[cold]`
//! `into_pyerr` functions. The walker records the path only while an error unwinds.

use crate::limits::{MAX_DEPTH, MAX_TOTAL_DEPTH, STACK_RED_ZONE};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyString;

pyo3::create_exception!(
    fast_serde,
    EncodeError,
    PyTypeError,
    "A value could not be written as MessagePack. The message names the type and the path to it, e.g. `type 'object' is not MessagePack serializable at $['a'][1]`."
);
pyo3::create_exception!(
    fast_serde,
    DecodeError,
    PyValueError,
    "The input is not one well-formed MessagePack value. `offset` is the byte offset (0-based) where reading failed."
);

/// What went wrong while walking.
pub(crate) enum EncodeKind {
    /// A type the walker does not encode and no `default` handled; holds the type (strong ref).
    Unsupported(Py<PyAny>),
    /// An int outside -2**63 .. 2**64-1.
    IntOverflow,
    /// Containers nested deeper than [`MAX_DEPTH`].
    Depth,
    /// Less than [`STACK_RED_ZONE`] of the thread's stack left (see [`crate::limits::stack_low`]).
    Stack,
    /// A str dict key with lone surrogates (ormsgpack refuses these too).
    SurrogateKey,
    /// A length above 2**32-1, the largest MessagePack can declare.
    TooLong,
    /// A dict or list changed size while it was being written.
    Mutated(&'static str),
    /// A Python callback (`default`, `model_dump`, ...) raised; the type being handled and the error.
    Callback(Py<PyAny>, PyErr),
}

/// One step of the path from the root to the failing value.
pub(crate) enum PathSeg {
    Index(usize),
    /// A dict key (any hashable), printed as `[repr(key)]`.
    Key(Py<PyAny>),
    /// A model field, printed as `.name`.
    Field(Py<PyAny>),
}

/// An encoding failure with the path it unwound through (innermost first).
pub(crate) struct EncodeFailure {
    pub(crate) kind: EncodeKind,
    pub(crate) path: Vec<PathSeg>,
    /// The containers unwound through, innermost first, compared by address only to tell a cycle
    /// from plain deep nesting; never dereferenced.
    pub(crate) ancestors: Vec<usize>,
}

pub(crate) type EncodeResult<T = ()> = Result<T, Box<EncodeFailure>>;

impl EncodeFailure {
    #[cold]
    pub(crate) fn new(kind: EncodeKind) -> Box<Self> {
        Box::new(EncodeFailure {
            kind,
            path: Vec::new(),
            ancestors: Vec::new(),
        })
    }

    /// Render the Python exception. Consumes the failure.
    #[cold]
    pub(crate) fn into_pyerr(self, py: Python<'_>) -> PyErr {
        let EncodeFailure {
            kind,
            mut path,
            mut ancestors,
        } = self;
        path.reverse();
        ancestors.reverse();
        let mut cycle = false;
        if matches!(kind, EncodeKind::Depth) {
            // ancestors[i] is the container reached by path[..i]; the first repeat is the cycle.
            'outer: for j in 1..ancestors.len() {
                for i in 0..j {
                    if ancestors[i] == ancestors[j] {
                        path.truncate(j);
                        cycle = true;
                        break 'outer;
                    }
                }
            }
        }
        let where_ = render_path(py, &path);
        let (msg, cause) = match kind {
            EncodeKind::Unsupported(t) => (
                format!(
                    "type '{}' is not MessagePack serializable at {where_}{}",
                    type_name(py, &t),
                    unsupported_hint(py, &t)
                ),
                None,
            ),
            EncodeKind::IntOverflow => (
                format!("int out of range for MessagePack (-2**63 .. 2**64-1) at {where_}"),
                None,
            ),
            EncodeKind::Depth if cycle => (format!("circular reference at {where_}"), None),
            EncodeKind::Depth => (
                format!(
                    "nesting deeper than {} levels (or {} across ext payloads) at {where_}",
                    MAX_DEPTH, MAX_TOTAL_DEPTH
                ),
                None,
            ),
            EncodeKind::Stack => (
                format!(
                    "nesting too deep for this thread's stack (under {} KiB left) at {where_}",
                    STACK_RED_ZONE / 1024
                ),
                None,
            ),
            EncodeKind::SurrogateKey => (
                format!("str key contains lone surrogates at {where_}"),
                None,
            ),
            EncodeKind::TooLong => (format!("length above 2**32-1 at {where_}"), None),
            EncodeKind::Mutated(what) => (
                format!("{what} changed size during serialization at {where_}"),
                None,
            ),
            // KeyboardInterrupt, SystemExit, GeneratorExit...: raised as they are (fallback_ok).
            EncodeKind::Callback(_, err) if !fallback_ok(py, &err) => return err,
            EncodeKind::Callback(t, err) => (
                format!(
                    "type '{}' is not MessagePack serializable at {where_}: {}",
                    type_name(py, &t),
                    err.value(py)
                ),
                Some(err),
            ),
        };
        let err = EncodeError::new_err(msg);
        if let Some(cause) = cause {
            err.set_cause(py, Some(cause));
        }
        err
    }
}

/// Whether an error raised by user code may be turned into a fallback (a payload returned, a
/// pickle written, an `EncodeError`/`DecodeError` wrapping it): only an `Exception`, as
/// JsonPlusSerializer's hooks catch only `Exception`. A `BaseException` that is not one
/// (KeyboardInterrupt, SystemExit, GeneratorExit) is raised unchanged from `dumps`/`loads`.
pub(crate) fn fallback_ok(py: Python<'_>, err: &PyErr) -> bool {
    err.is_instance_of::<pyo3::exceptions::PyException>(py)
}

/// After a call that may have run user code failed on a path that falls back: clear the error
/// set when it is an `Exception` (the fallback runs, as JsonPlusSerializer's hooks catch only
/// `Exception`), and leave any other `BaseException` (KeyboardInterrupt, SystemExit) set for the
/// caller to raise: a `None` with an error still set means "propagate", not "fall back".
///
/// # Safety
/// The caller is attached.
pub(crate) unsafe fn clear_if_exception() {
    // SAFETY (caller): attached; reading and clearing the thread's error indicator.
    unsafe {
        if !ffi::PyErr_Occurred().is_null()
            && ffi::PyErr_ExceptionMatches(ffi::PyExc_Exception) != 0
        {
            ffi::PyErr_Clear();
        }
    }
}

/// A `BaseException` that [`clear_if_exception`] left set, taken to be raised; `None` when no
/// error is set (the caller falls back).
pub(crate) fn pending_fatal(py: Python<'_>) -> Option<PyErr> {
    PyErr::take(py)
}

/// For the types users most often hand `fast_serde.dumps` (which writes plain data only, as
/// ormsgpack's `packb` with no option for them): what takes them.
fn unsupported_hint(py: Python<'_>, t: &Py<PyAny>) -> &'static str {
    let t = t.bind(py);
    let module = t.getattr("__module__").and_then(|m| m.extract::<String>());
    let name = t
        .getattr("__qualname__")
        .and_then(|n| n.extract::<String>());
    match (module.as_deref(), name.as_deref()) {
        (Ok("datetime"), Ok("datetime" | "date" | "time"))
        | (Ok("uuid"), Ok("UUID"))
        | (Ok("decimal"), Ok("Decimal"))
        | (Ok("builtins"), Ok("set" | "frozenset")) => {
            " (fast_serde.dumps writes plain data: pass default= a function that converts it, \
             e.g. default=str; fast_serde.langgraph.FastSerializer writes it natively)"
        }
        _ => "",
    }
}

fn type_name(py: Python<'_>, t: &Py<PyAny>) -> String {
    t.bind(py)
        .getattr("__qualname__")
        .and_then(|n| n.extract::<String>())
        .unwrap_or_else(|_| "?".to_owned())
}

/// `$['messages'][3].content`
#[cold]
pub(crate) fn render_path(py: Python<'_>, path: &[PathSeg]) -> String {
    let mut out = String::from("$");
    for seg in path {
        match seg {
            PathSeg::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
            PathSeg::Key(k) => {
                out.push('[');
                match k.bind(py).repr() {
                    Ok(r) => out.push_str(&r.to_string_lossy()),
                    Err(_) => out.push('?'),
                }
                out.push(']');
            }
            PathSeg::Field(k) => {
                out.push('.');
                match k.bind(py).cast::<PyString>() {
                    Ok(s) => out.push_str(&s.to_string_lossy()),
                    Err(_) => out.push('?'),
                }
            }
        }
    }
    out
}

/// What went wrong while reading.
pub(crate) enum DecodeKind {
    Empty,
    Reserved(u8),
    Truncated,
    /// A declared length larger than the bytes left.
    Length(u64),
    Utf8,
    Depth,
    /// Past [`MAX_TOTAL_DEPTH`] across nested ext payloads: ends the whole read.
    TotalDepth,
    /// Less than [`STACK_RED_ZONE`] of the thread's stack left: ends the whole read.
    Stack,
    Trailing,
    UnhashableKey,
    /// A Python error raised by a callback (`ext_hook`, a constructor); re-raised unchanged.
    Python(PyErr),
    /// LangGraph's ext hook raised: a `DecodeError` whose `__cause__` is that error (the parent's
    /// ormsgpack raises a ValueError there too).
    ExtHook(PyErr),
    /// An ext value as a map key, which LangGraph's reader (ormsgpack) refuses.
    ExtKey,
}

pub(crate) struct DecodeFailure {
    pub(crate) offset: usize,
    pub(crate) kind: DecodeKind,
}

pub(crate) type DecodeResult<T> = Result<T, Box<DecodeFailure>>;

impl DecodeFailure {
    #[cold]
    pub(crate) fn new(offset: usize, kind: DecodeKind) -> Box<Self> {
        Box::new(DecodeFailure { offset, kind })
    }

    /// Take the pending Python exception (after a C-API call returned NULL / -1).
    #[cold]
    pub(crate) fn fetch(py: Python<'_>, offset: usize) -> Box<Self> {
        let err = PyErr::take(py)
            .unwrap_or_else(|| PyValueError::new_err("fast_serde: C-API failure without error"));
        Self::new(offset, DecodeKind::Python(err))
    }

    /// Errors that end the whole read. Any other error inside an ext payload makes that ext read
    /// as `None`, as JsonPlusSerializer's ext hook does (it catches `Exception`).
    pub(crate) fn is_fatal(&self, py: Python<'_>) -> bool {
        match &self.kind {
            DecodeKind::TotalDepth | DecodeKind::Stack => true,
            // The parent's ext hook catches `Exception`, not KeyboardInterrupt and its kin.
            DecodeKind::Python(err) | DecodeKind::ExtHook(err) => !fallback_ok(py, err),
            _ => false,
        }
    }

    #[cold]
    pub(crate) fn into_pyerr(self, py: Python<'_>) -> PyErr {
        let off = self.offset;
        let mut cause = None;
        let msg = match self.kind {
            DecodeKind::Python(err) => return err,
            // Raised as it is, not wrapped (fallback_ok).
            DecodeKind::ExtHook(err) if !fallback_ok(py, &err) => return err,
            DecodeKind::ExtHook(err) => {
                let m = format!("ext hook failed ({}) at byte {off}", err.value(py));
                cause = Some(err);
                m
            }
            DecodeKind::ExtKey => format!("ext value as a map key at byte {off}"),
            DecodeKind::Empty => format!("empty input at byte {off}"),
            DecodeKind::Reserved(m) => format!("reserved marker 0x{m:02x} at byte {off}"),
            DecodeKind::Truncated => format!("truncated input at byte {off}"),
            DecodeKind::Length(n) => {
                format!("declared length {n} exceeds the bytes left at byte {off}")
            }
            DecodeKind::Utf8 => format!("invalid UTF-8 in str at byte {off}"),
            DecodeKind::Depth => format!("nesting deeper than {} levels at byte {off}", MAX_DEPTH),
            DecodeKind::TotalDepth => format!(
                "nesting deeper than {} levels across ext payloads at byte {off}",
                MAX_TOTAL_DEPTH
            ),
            DecodeKind::Stack => format!(
                "nesting too deep for this thread's stack (under {} KiB left) at byte {off}",
                STACK_RED_ZONE / 1024
            ),
            DecodeKind::Trailing => format!("trailing bytes after the value at byte {off}"),
            DecodeKind::UnhashableKey => format!("unhashable map key at byte {off}"),
        };
        let err = DecodeError::new_err(msg);
        let value = err.value(py);
        // A fresh exception instance always takes the attribute; a failure would only lose it.
        let _ = value.setattr("offset", off);
        if let Some(cause) = cause {
            err.set_cause(py, Some(cause));
        }
        err
    }
}
