//! What the reader does with ext values: the [`ExtHandler`] trait (chosen at compile time by the
//! reader's caller: [`PlainExt`] here, `LangGraphCodec` in langgraph/decode.rs), and the
//! MessagePack timestamp extension of plain `loads`.

use super::Reader;
use crate::error::{DecodeFailure, DecodeResult};
use crate::ffi::typeref::TypeRefs;
use crate::ffi::{py, Owned};
use pyo3::ffi;

/// What the reader does with ext values.
pub(crate) trait ExtHandler {
    /// Build the object for ext `code` with payload `data` (at byte `offset` of the input).
    /// Returns a new reference.
    fn ext(
        &self,
        reader: &mut Reader<'_>,
        code: i8,
        data: &[u8],
        offset: usize,
        depth: u32,
    ) -> DecodeResult<*mut ffi::PyObject>;

    /// Whether an ext value may be a map key (msgpack-python allows it; ormsgpack does not).
    fn ext_keys(&self) -> bool {
        true
    }
}

/// `fast_serde.loads`: timestamps (-1) become aware UTC datetimes, other codes go to `ext_hook`
/// (nullable) or become `fast_serde.Ext(code, data)`.
pub(crate) struct PlainExt {
    pub(crate) hook: *mut ffi::PyObject,
}

impl ExtHandler for PlainExt {
    fn ext(
        &self,
        reader: &mut Reader<'_>,
        code: i8,
        data: &[u8],
        offset: usize,
        _depth: u32,
    ) -> DecodeResult<*mut ffi::PyObject> {
        if code == -1 && self.hook.is_null() {
            if let Some(dt) = timestamp(reader.refs, data) {
                return Ok(dt);
            }
            // Not a timestamp datetime can hold: kept as Ext(-1, data), losslessly.
        }
        let callable = if self.hook.is_null() {
            reader.refs.ext_type.cast()
        } else {
            self.hook
        };
        call_ext_hook(callable, code, data, offset).map_err(|e| DecodeFailure::fetch(py(), e))
    }
}

/// `hook(code, data)` for an ext value at byte `offset`: a new reference, or `Err(offset)` with
/// the Python exception set.
pub(crate) fn call_ext_hook(
    hook: *mut ffi::PyObject,
    code: i8,
    data: &[u8],
    offset: usize,
) -> Result<*mut ffi::PyObject, usize> {
    // SAFETY: builds the two arguments (new references released by Owned, NULL checked) and
    // vectorcalls a live callable with them; the owned result is checked for NULL.
    unsafe {
        let b = ffi::PyBytes_FromStringAndSize(data.as_ptr().cast(), data.len() as ffi::Py_ssize_t);
        if b.is_null() {
            return Err(offset);
        }
        let b = Owned(b);
        let c = ffi::PyLong_FromLong(code as std::ffi::c_long);
        if c.is_null() {
            return Err(offset);
        }
        let c = Owned(c);
        let args = [c.0, b.0];
        let r = ffi::PyObject_Vectorcall(hook, args.as_ptr(), 2, std::ptr::null_mut());
        if r.is_null() {
            return Err(offset);
        }
        Ok(r)
    }
}

/// The MessagePack timestamp extension (type -1: 4, 8 or 12 bytes) as an aware UTC datetime,
/// truncated to microseconds; `None` when the payload is not a timestamp a datetime can hold
/// (other lengths, nanoseconds past 999 999 999, years outside 1..9999).
/// Source: the MessagePack spec, "Timestamp extension type".
fn timestamp(refs: &TypeRefs, data: &[u8]) -> Option<*mut ffi::PyObject> {
    let (secs, nanos): (i64, u32) = match data.len() {
        4 => (u32::from_be_bytes(data.try_into().ok()?) as i64, 0),
        8 => {
            let v = u64::from_be_bytes(data.try_into().ok()?);
            ((v & 0x3_ffff_ffff) as i64, (v >> 34) as u32)
        }
        12 => (
            i64::from_be_bytes(data[4..12].try_into().ok()?),
            u32::from_be_bytes(data[0..4].try_into().ok()?),
        ),
        _ => return None,
    };
    if nanos >= 1_000_000_000 {
        return None;
    }
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // datetime covers years 1..9999: about ±3.2 million days around 1970.
    if days.abs() > 4_000_000 {
        return None;
    }
    // SAFETY: builds a timedelta from in-range C ints and adds it to the UTC epoch; NULL results
    // (OverflowError past year 9999) are cleared and reported as None; temporaries released.
    unsafe {
        let delta = ffi::PyDelta_FromDSU(days as i32, rem as i32, (nanos / 1000) as i32);
        if delta.is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        let delta = Owned(delta);
        let dt = ffi::PyNumber_Add(refs.utc_epoch, delta.0);
        if dt.is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        Some(dt)
    }
}
