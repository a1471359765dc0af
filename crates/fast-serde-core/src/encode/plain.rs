//! The plain policy (`fast_serde.dumps`): the bytes of `ormsgpack.packb(obj,
//! option=OPT_NON_STR_KEYS | OPT_REPLACE_SURROGATES)`; `default(obj)` for any other type.

use super::{callback_failure, unsupported, Encoder, Policy};
use crate::error::{EncodeFailure, EncodeResult};
use crate::ffi::Owned;
use pyo3::ffi;

/// `fast_serde.dumps`: `default` (may be null) is called for unknown types.
pub(crate) struct Plain {
    pub(crate) default: *mut ffi::PyObject,
}

impl Policy for Plain {
    const WRITE_EXT: bool = true;
    const ENUM_AS_VALUE: bool = true;
    const TUPLE_FLOAT_SUBCLASSES: bool = true;
    const ENUM_KEY_AS_VALUE: bool = false;
    const KEY_FALLBACK: bool = false;
    type Stop = Box<EncodeFailure>;

    #[inline(always)]
    fn write_exact(
        _enc: &mut Encoder<'_, Self>,
        _obj: *mut ffi::PyObject,
        _tp: *mut ffi::PyTypeObject,
    ) -> Option<EncodeResult> {
        None
    }

    fn unknown(
        enc: &mut Encoder<'_, Self>,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
        depth: u32,
    ) -> EncodeResult {
        let default = enc.policy.default;
        if default.is_null() {
            return Err(unsupported(tp));
        }
        enc.enter(depth)?;
        // SAFETY: calling a live callable with one borrowed argument; owned result.
        let res = unsafe { ffi::PyObject_CallOneArg(default, obj) };
        if res.is_null() {
            return Err(callback_failure(tp));
        }
        let res = Owned(res);
        // SAFETY: reading the type of the live result.
        if unsafe { ffi::Py_TYPE(res.0) } == tp {
            // `default` gave back the same type: it cannot make progress.
            return Err(unsupported(tp));
        }
        enc.walk(res.0, depth + 1)
    }

    /// Never asked: plain keys never fall back (the walker writes or refuses every key).
    fn dict_fallback(
        _enc: &mut Encoder<'_, Self>,
        obj: *mut ffi::PyObject,
        _start: usize,
    ) -> EncodeResult {
        // SAFETY: `obj` is alive.
        Err(unsupported(unsafe { ffi::Py_TYPE(obj) }))
    }
}
