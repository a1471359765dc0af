//! LangGraph Server's JSON reads: ext values decoded to what langgraph-checkpoint's
//! `_msgpack_ext_hook_to_json(code, data)` returns (plain data for the state and history
//! endpoints), instead of the objects the parent's own ext hook builds.
//!
//! Source: `langgraph/checkpoint/serde/jsonplus.py` (`_msgpack_ext_hook_to_json`), and
//! `langgraph_runtime_inmem/checkpoint.py` (`_delta_aware_hook`, its wrapper for ext 7). For ext
//! 0-5 the hook unpacks the payload with itself as ext hook into `tup` and returns `tup[2]`,
//! except a `uuid.UUID` (ext 0: `tup[2]` as the canonical 8-4-4-4-12 text) and a
//! `langgraph.types.Send` (ext 1: a `Send`); ext 6 is a numpy array's `tolist()`; every other
//! code (ext 7 too, unless wrapped) is None; whatever raises inside reads as None.
//!
//! Here the payload is read natively with this same handler, and the common shape (a list of at
//! least three items, str names) answered natively. Everything else (an unreadable payload, an
//! unusual shape, a UUID whose text is not ASCII, `Send`, numpy arrays) is handed to the hook
//! itself, so its outcome is the hook's.

use super::decode::room_for_ext;
use crate::decode::{call_ext_hook, ExtHandler, Reader};
use crate::error::{DecodeFailure, DecodeResult};
use crate::ffi::{new_none, new_ref, py, Owned};
use crate::langgraph::ext::*;
use pyo3::ffi;

/// The ext handler of `LangGraphCodec.loads_json`.
pub(crate) struct JsonHook {
    /// The hook the caller passed: `_msgpack_ext_hook_to_json`, or the in-memory runtime's
    /// `_delta_aware_hook` around it. Unusual payloads are handed to it.
    pub(crate) hook: *mut ffi::PyObject,
    /// `_DeltaSnapshot` when `hook` is the runtime's wrapper (ext 7 is `_DeltaSnapshot(value)`),
    /// else null (ext 7 reads as None).
    pub(crate) delta: *mut ffi::PyObject,
}

impl JsonHook {
    /// `hook(code, data)`: what the hook itself returns, or raises.
    fn delegate(&self, code: i8, data: &[u8], offset: usize) -> DecodeResult<*mut ffi::PyObject> {
        call_ext_hook(self.hook, code, data, offset).map_err(|e| DecodeFailure::fetch(py(), e))
    }
}

impl ExtHandler for JsonHook {
    fn ext_keys(&self) -> bool {
        false
    }

    fn ext(
        &self,
        reader: &mut Reader<'_>,
        code: i8,
        data: &[u8],
        offset: usize,
        depth: u32,
    ) -> DecodeResult<*mut ffi::PyObject> {
        room_for_ext(reader, offset, depth)?;
        let wrapped_delta = code == EXT_DELTA_SNAPSHOT && !self.delta.is_null();
        if !(0..=EXT_PYDANTIC_V2).contains(&code) && !wrapped_delta {
            return if code == EXT_NUMPY_ARRAY {
                self.delegate(code, data, offset)
            } else {
                // Every other code falls through the hook's branches: None.
                Ok(new_none())
            };
        }
        // The hook's `ormsgpack.unpackb(data, ext_hook=hook, option=OPT_NON_STR_KEYS)`: bytes
        // after the value are ignored, as unpackb ignores them.
        let mut sub = reader.nested(data, offset, depth);
        let tup = match sub.read(0, false) {
            Ok(t) => Owned(t),
            Err(e) if e.is_fatal(py()) => return Err(e),
            // The hook reads it as None (ext 0-5) or raises unpackb's error (ext 7).
            Err(_) => return self.delegate(code, data, offset),
        };
        if wrapped_delta {
            // SAFETY: calls a live class with one live argument; the result is checked.
            let r = unsafe { ffi::PyObject_CallOneArg(self.delta, tup.0) };
            if r.is_null() {
                return Err(DecodeFailure::fetch(py(), offset));
            }
            return Ok(r);
        }
        match answer(code, &tup) {
            Some(r) => r,
            None => self.delegate(code, data, offset),
        }
    }
}

/// The hook's answer from the unpacked payload `tup`, when `tup` has the common shape: a list of
/// at least three items (ext 0 and 1: the first two exact str). None: hand it to the hook.
fn answer(code: i8, tup: &Owned) -> Option<DecodeResult<*mut ffi::PyObject>> {
    // SAFETY: `tup` is live; list items are borrowed while `tup` holds them, and only the
    // returned item is given a new reference.
    unsafe {
        if ffi::PyList_CheckExact(tup.0) == 0 || ffi::PyList_GET_SIZE(tup.0) < 3 {
            return None;
        }
        let arg = ffi::PyList_GET_ITEM(tup.0, 2);
        if code == EXT_CONSTRUCTOR_SINGLE_ARG || code == EXT_CONSTRUCTOR_POS_ARGS {
            let module = ffi::PyList_GET_ITEM(tup.0, 0);
            let name = ffi::PyList_GET_ITEM(tup.0, 1);
            if ffi::PyUnicode_CheckExact(module) == 0 || ffi::PyUnicode_CheckExact(name) == 0 {
                return None;
            }
            let (m, n) = (str_bytes(module)?, str_bytes(name)?);
            if code == EXT_CONSTRUCTOR_SINGLE_ARG && (m, n) == (&b"uuid"[..], &b"UUID"[..]) {
                return uuid_text(arg);
            }
            if code == EXT_CONSTRUCTOR_POS_ARGS && (m, n) == (&b"langgraph.types"[..], &b"Send"[..])
            {
                return None; // a Send object, built by the hook
            }
        }
        Some(Ok(new_ref(arg)))
    }
}

/// The UTF-8 bytes of a live exact str (None if it has none: lone surrogates).
///
/// # Safety
/// `s` is a live exact str, kept alive for the returned borrow.
unsafe fn str_bytes<'a>(s: *mut ffi::PyObject) -> Option<&'a [u8]> {
    let mut len: ffi::Py_ssize_t = 0;
    // SAFETY: `s` is a live str (caller); the buffer lives as long as `s`.
    let p = unsafe { ffi::PyUnicode_AsUTF8AndSize(s, &mut len) };
    if p.is_null() {
        // SAFETY: clears the error just raised (lone surrogates); the hook will answer instead.
        unsafe { ffi::PyErr_Clear() };
        return None;
    }
    // SAFETY: `p` points at `len` bytes owned by `s`.
    Some(unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len as usize) })
}

/// `f"{hex_[:8]}-{hex_[8:12]}-{hex_[12:16]}-{hex_[16:20]}-{hex_[20:]}"` for an ASCII str `hex_`
/// (slices clamped as Python's are); None for anything else (the hook answers).
///
/// # Safety
/// `hex` is live.
unsafe fn uuid_text(hex: *mut ffi::PyObject) -> Option<DecodeResult<*mut ffi::PyObject>> {
    // SAFETY: `hex` is live (caller).
    if unsafe { ffi::PyUnicode_CheckExact(hex) } == 0 {
        return None;
    }
    // SAFETY: an exact str, alive while `hex` is.
    let h = unsafe { str_bytes(hex) }?;
    if !h.is_ascii() {
        return None;
    }
    let cut = |a: usize, b: usize| &h[a.min(h.len())..b.min(h.len())];
    let mut out = Vec::with_capacity(h.len() + 4);
    for (i, (a, b)) in [(0, 8), (8, 12), (12, 16), (16, 20), (20, usize::MAX)]
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            out.push(b'-');
        }
        out.extend_from_slice(cut(a, b));
    }
    // SAFETY: builds a str from ASCII bytes; NULL becomes the pending error.
    let s = unsafe {
        ffi::PyUnicode_FromStringAndSize(out.as_ptr().cast(), out.len() as ffi::Py_ssize_t)
    };
    if s.is_null() {
        return Some(Err(DecodeFailure::fetch(py(), 0)));
    }
    Some(Ok(s))
}
