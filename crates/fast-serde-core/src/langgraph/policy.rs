//! The walker's LangGraph policy (`FastSerializer`): which types it writes itself and where
//! the rest go. The writing is in encode.rs (ext values by plan) and model.rs (pydantic v2).

use super::plan::Plans;
use crate::encode::{Encoder, Policy};
use crate::error::{EncodeFailure, EncodeResult};
use crate::msgpack::writer::Out;
use pyo3::ffi;

/// `FastSerializer`: the bytes of langgraph-checkpoint's `_msgpack_enc`. `fallback` is
/// langgraph's `_msgpack_enc` (returns packed bytes), `inspect` is
/// `fast_serde.langgraph._plans.encode_plan` (one call per class and codec), `plans` the
/// codec's plans.
pub(crate) struct LangGraph<'a> {
    pub(crate) fallback: *mut ffi::PyObject,
    pub(crate) inspect: *mut ffi::PyObject,
    pub(crate) plans: &'a Plans,
}

impl Policy for LangGraph<'_> {
    const LANGGRAPH: bool = true;
    type Stop = Box<EncodeFailure>;

    #[inline(always)]
    fn write_exact(
        enc: &mut Encoder<'_, Self>,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
    ) -> Option<EncodeResult> {
        let r = enc.refs;
        if tp == r.datetime_type {
            Some(enc.write_datetime(obj, tp))
        } else if tp == r.uuid_type {
            Some(enc.write_uuid(obj, tp))
        } else {
            None
        }
    }

    fn unknown(
        enc: &mut Encoder<'_, Self>,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
        depth: u32,
    ) -> EncodeResult {
        enc.write_planned(obj, tp, depth)
    }

    fn dict_fallback(
        enc: &mut Encoder<'_, Self>,
        obj: *mut ffi::PyObject,
        start: usize,
    ) -> EncodeResult {
        enc.buf.truncate(start);
        // SAFETY: `obj` is alive.
        let tp = unsafe { ffi::Py_TYPE(obj) };
        enc.splice_fallback(enc.policy.fallback, obj, tp)
    }
}
