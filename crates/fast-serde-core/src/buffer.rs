//! The per-thread output buffer and borrowed views of input bytes.

use pyo3::ffi;
use pyo3::prelude::*;
use std::cell::RefCell;

/// A buffer that grew past this is shrunk back after use, so one huge state does not pin memory.
const KEEP_CAPACITY: usize = 64 << 20;

thread_local! {
    static BUF: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(4096));
}

/// Run `f` with this thread's reused output buffer, emptied first. A nested call (a `default`
/// callback that itself calls `dumps`) gets a fresh buffer instead.
pub fn with_buffer<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    BUF.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            buf.clear();
            let r = f(&mut buf);
            buf.clear();
            if buf.capacity() > KEEP_CAPACITY {
                buf.shrink_to(KEEP_CAPACITY / 4);
            }
            r
        }
        Err(_) => f(&mut Vec::new()),
    })
}

/// Run `f` over the bytes of a `bytes`, `bytearray` or `memoryview` (any C-contiguous buffer).
/// Raises `TypeError` for other objects. The buffer is released on every path.
pub fn with_bytes<R>(obj: &Bound<'_, PyAny>, f: impl FnOnce(&[u8]) -> PyResult<R>) -> PyResult<R> {
    // SAFETY: a zeroed Py_buffer is the documented initial state; on success the view stays valid
    // (the exporter is pinned) until PyBuffer_Release below, which runs on every path.
    unsafe {
        let mut view: ffi::Py_buffer = std::mem::zeroed();
        if ffi::PyObject_GetBuffer(obj.as_ptr(), &mut view, ffi::PyBUF_C_CONTIGUOUS) != 0 {
            ffi::PyErr_Clear();
            return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "expected a C-contiguous bytes-like object (bytes, bytearray, memoryview), got '{}'",
                obj.get_type().name()?
            )));
        }
        let s: &[u8] = if view.len == 0 {
            &[]
        } else {
            std::slice::from_raw_parts(view.buf as *const u8, view.len as usize)
        };
        let r = f(s);
        ffi::PyBuffer_Release(&mut view);
        r
    }
}
