//! Scalars and byte strings: str (with ormsgpack's surrogate handling), int, bin, memoryview and
//! `fast_serde.Ext`.

use super::{callback_failure, unsupported, Encoder, Policy};
use crate::error::{EncodeFailure, EncodeKind, EncodeResult};
use crate::ffi::{bytes_slice, unicode, Owned};
use crate::msgpack::writer::{self, Out};
use pyo3::ffi;

impl<P: Policy> Encoder<'_, P> {
    #[inline(always)]
    pub(crate) fn write_str(
        &mut self,
        obj: *mut ffi::PyObject,
        refuse_surrogates: bool,
    ) -> EncodeResult {
        // SAFETY: `obj` is a str (or subclass), alive while its bytes are written.
        if let Some(s) = unsafe { unicode::utf8(obj) } {
            return self.write_str_bytes(s);
        }
        self.write_str_surrogates(obj, refuse_surrogates)
    }

    #[inline(always)]
    pub(crate) fn write_str_bytes(&mut self, s: &[u8]) -> EncodeResult {
        if s.len() > u32::MAX as usize {
            return Err(EncodeFailure::new(EncodeKind::TooLong));
        }
        writer::str(self.buf, s);
        Ok(())
    }

    /// A str with lone surrogates: values get each one replaced by `?` (ormsgpack's
    /// `OPT_REPLACE_SURROGATES`, i.e. Python's `"replace"` handler); keys are refused, as ormsgpack
    /// refuses them.
    #[cold]
    pub(crate) fn write_str_surrogates(
        &mut self,
        obj: *mut ffi::PyObject,
        refuse_surrogates: bool,
    ) -> EncodeResult {
        // SAFETY: clears the UnicodeEncodeError left by PyUnicode_AsUTF8AndSize.
        unsafe { ffi::PyErr_Clear() };
        if refuse_surrogates {
            return Err(EncodeFailure::new(EncodeKind::SurrogateKey));
        }
        // SAFETY: encodes a live str with C-string arguments; owned result checked for NULL.
        let b =
            unsafe { ffi::PyUnicode_AsEncodedString(obj, c"utf-8".as_ptr(), c"replace".as_ptr()) };
        if b.is_null() {
            // SAFETY: `obj` is alive; reading its type for the message.
            return Err(callback_failure(unsafe { ffi::Py_TYPE(obj) }));
        }
        let b = Owned(b);
        // SAFETY: `b` is bytes and alive for the slice's lifetime.
        self.write_str_bytes(unsafe { bytes_slice(b.0) })
    }

    #[inline(always)]
    pub(crate) fn write_int(&mut self, obj: *mut ffi::PyObject) -> EncodeResult {
        let mut overflow: std::ffi::c_int = 0;
        // SAFETY: `obj` is an int (or subclass); errors are reported through `overflow`/-1.
        let v = unsafe { ffi::PyLong_AsLongLongAndOverflow(obj, &mut overflow) };
        if overflow == 0 {
            // SAFETY: checking the error indicator after a possible -1 error return.
            if v == -1 && !unsafe { ffi::PyErr_Occurred() }.is_null() {
                // SAFETY: `obj` is alive.
                return Err(callback_failure(unsafe { ffi::Py_TYPE(obj) }));
            }
            writer::sint(self.buf, v);
            return Ok(());
        }
        if overflow > 0 {
            // SAFETY: `obj` is a positive int above i64::MAX; -1 (u64::MAX) may signal overflow.
            let u = unsafe { ffi::PyLong_AsUnsignedLongLong(obj) };
            // SAFETY: checking the error indicator.
            if u == u64::MAX && !unsafe { ffi::PyErr_Occurred() }.is_null() {
                // SAFETY: clearing the OverflowError we turn into our own error.
                unsafe { ffi::PyErr_Clear() };
                return Err(EncodeFailure::new(EncodeKind::IntOverflow));
            }
            writer::uint(self.buf, u);
            return Ok(());
        }
        Err(EncodeFailure::new(EncodeKind::IntOverflow))
    }

    pub(crate) fn write_bin(&mut self, s: &[u8]) -> EncodeResult {
        if s.len() > u32::MAX as usize {
            return Err(EncodeFailure::new(EncodeKind::TooLong));
        }
        writer::bin(self.buf, s);
        Ok(())
    }

    pub(crate) fn write_memoryview(
        &mut self,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
    ) -> EncodeResult {
        // SAFETY: a zeroed Py_buffer is the documented initial state; PyObject_GetBuffer fills it
        // and PyBuffer_Release gives it back on every path below.
        unsafe {
            let mut view: ffi::Py_buffer = std::mem::zeroed();
            if ffi::PyObject_GetBuffer(obj, &mut view, ffi::PyBUF_C_CONTIGUOUS) != 0 {
                return Err(callback_failure(tp));
            }
            let s = std::slice::from_raw_parts(view.buf as *const u8, view.len as usize);
            let r = self.write_bin(s);
            ffi::PyBuffer_Release(&mut view);
            r
        }
    }

    /// `fast_serde.Ext(code, data)` as a MessagePack ext.
    pub(crate) fn write_ext_tuple(
        &mut self,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
    ) -> EncodeResult {
        // SAFETY: `obj` is an `Ext` NamedTuple, so a tuple of 2 items; borrowed items.
        let (code, data) = unsafe {
            if ffi::PyTuple_GET_SIZE(obj) != 2 {
                return Err(unsupported(tp));
            }
            (ffi::PyTuple_GET_ITEM(obj, 0), ffi::PyTuple_GET_ITEM(obj, 1))
        };
        // SAFETY: int conversion of a live object; -1 with an error set means failure.
        let c = unsafe { ffi::PyLong_AsLong(code) };
        if (c == -1 && !unsafe { ffi::PyErr_Occurred() }.is_null()) || !(-128..=127).contains(&c) {
            // SAFETY: clearing a possible TypeError/OverflowError we report ourselves.
            unsafe { ffi::PyErr_Clear() };
            return Err(unsupported(tp));
        }
        // SAFETY: type check on a live object.
        if unsafe { ffi::PyBytes_Check(data) } == 0 {
            return Err(unsupported(tp));
        }
        // SAFETY: `data` is bytes, alive while `obj` is.
        let s = unsafe { bytes_slice(data) };
        if s.len() > u32::MAX as usize {
            return Err(EncodeFailure::new(EncodeKind::TooLong));
        }
        writer::ext_meta(self.buf, s.len() as u32, c as i8);
        self.buf.extend_from_slice(s);
        Ok(())
    }
}
