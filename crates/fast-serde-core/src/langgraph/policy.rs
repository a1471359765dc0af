//! The walker's LangGraph policy (`FastSerializer`): which types it writes itself and where
//! the rest go. The writing is in encode.rs (ext values by plan) and model.rs (pydantic v2).

use super::plan::Plans;
use crate::encode::{callback_failure, unsupported, Encoder, Policy};
use crate::error::{EncodeFailure, EncodeResult};
use crate::ffi::{bytes_slice, Owned};
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
    /// ormsgpack with `OPT_PASSTHROUGH_ENUM`, `OPT_PASSTHROUGH_TUPLE` and
    /// `OPT_PASSTHROUGH_SUBCLASS` (langgraph's `_msgpack_enc`): Enum members, tuple subclasses
    /// and float subclasses go to `_msgpack_default` (here, their plans); no `fast_serde.Ext`.
    const WRITE_EXT: bool = false;
    const ENUM_AS_VALUE: bool = false;
    const TUPLE_FLOAT_SUBCLASSES: bool = false;
    /// `OPT_NON_STR_KEYS`: an Enum key is its value; datetime, date, time and UUID keys (which
    /// ormsgpack writes as text) and the keys it refuses send the whole dict to `_msgpack_enc`,
    /// so its bytes or its error are langgraph's.
    const ENUM_KEY_AS_VALUE: bool = true;
    const KEY_FALLBACK: bool = true;
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
        enc.splice_fallback(obj, tp)
    }
}

impl Encoder<'_, LangGraph<'_>> {
    /// `_msgpack_enc(obj)`: langgraph's own bytes for a type written in Python, spliced in.
    pub(crate) fn splice_fallback(
        &mut self,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
    ) -> EncodeResult {
        // SAFETY: calling a live callable with one borrowed argument; owned result.
        let res = unsafe { ffi::PyObject_CallOneArg(self.policy.fallback, obj) };
        if res.is_null() {
            return Err(callback_failure(tp));
        }
        let res = Owned(res);
        // SAFETY: type check on the live result.
        if unsafe { ffi::PyBytes_Check(res.0) } == 0 {
            return Err(unsupported(tp));
        }
        // SAFETY: `res` is bytes; its buffer is valid while `res` is alive.
        self.buf.extend_from_slice(unsafe { bytes_slice(res.0) });
        Ok(())
    }
}
