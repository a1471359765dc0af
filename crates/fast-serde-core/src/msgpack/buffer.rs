//! The output (a `bytes` written in place) and borrowed views of input bytes.

use crate::error::EncodeResult;
use crate::msgpack::writer::Out;
use pyo3::exceptions::PyMemoryError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::cell::Cell;
use std::ffi::c_int;

/// The smallest `bytes` a walk starts with.
const MIN_CAPACITY: usize = 256;

thread_local! {
    /// The length of this thread's last output: the next output starts at about this size, so
    /// a checkpoint like the previous one is written without resizing.
    static LAST_LEN: Cell<usize> = const { Cell::new(0) };
}

// `_PyBytes_Resize` is CPython's own way to grow or shrink a `bytes` nobody else holds yet
// (orjson and ormsgpack write their output the same way); pyo3-ffi keeps its declaration private.
extern "C" {
    fn _PyBytes_Resize(bytes: *mut *mut ffi::PyObject, newsize: ffi::Py_ssize_t) -> c_int;
}

/// The walker's output: a `bytes` object written in place, grown by `_PyBytes_Resize` and given
/// its length at the end, so the output is never copied and no buffer outlives the call. When it
/// cannot grow, the walk unwinds to [`write_bytes`], which raises `MemoryError`.
pub(crate) struct OutBuf {
    /// A new `bytes` of `cap` bytes (refcount 1, not shared until [`OutBuf::finish`]).
    obj: *mut ffi::PyObject,
    len: usize,
    cap: usize,
}

impl OutBuf {
    fn new(cap: usize) -> PyResult<Self> {
        let cap = cap.max(MIN_CAPACITY);
        // SAFETY: a NULL source asks CPython for an uninitialised `bytes` of `cap` bytes; on
        // failure its MemoryError is pending and taken by PyErr::fetch.
        let obj =
            unsafe { ffi::PyBytes_FromStringAndSize(std::ptr::null(), cap as ffi::Py_ssize_t) };
        if obj.is_null() {
            // SAFETY: attached (every caller holds the GIL).
            return Err(PyErr::fetch(unsafe { Python::assume_attached() }));
        }
        Ok(OutBuf { obj, len: 0, cap })
    }

    #[inline(always)]
    fn data(&mut self) -> *mut u8 {
        // SAFETY: `obj` is a live `bytes`; its buffer holds `cap` bytes.
        unsafe { ffi::PyBytes_AS_STRING(self.obj) as *mut u8 }
    }

    /// Resize the `bytes` to `cap` bytes (the first `len` are kept).
    #[cold]
    fn resize(&mut self, cap: usize) {
        // SAFETY: `obj` is ours alone (refcount 1), as `_PyBytes_Resize` requires; on failure it
        // frees the object and sets the pointer to NULL.
        let ok = unsafe { _PyBytes_Resize(&mut self.obj, cap as ffi::Py_ssize_t) } == 0;
        if !ok {
            // SAFETY: clears the MemoryError `_PyBytes_Resize` left; write_bytes raises its own.
            unsafe { ffi::PyErr_Clear() };
            // Unwind to write_bytes (no panic hook, no message): every reference the walk holds
            // is released by its guard on the way, and `obj` is already NULL.
            std::panic::resume_unwind(Box::new(OutOfMemory(cap)));
        }
        self.cap = cap;
    }

    /// The finished `bytes`, of the written length (its storage cut only if over 1/8 is unused).
    fn finish<'py>(mut self, py: Python<'py>) -> Bound<'py, PyBytes> {
        if self.cap - self.len > self.cap / 8 {
            self.resize(self.len);
        } else {
            // Up to 1/8 of head-room stays allocated: cutting it with a realloc would free a block
            // smaller than the next output asks for, and glibc's dynamic mmap threshold (raised to
            // the size of the last freed block) would then map and fault in fresh pages for every
            // megabyte-sized output. CPython reads a bytes' length from ob_size alone.
            // SAFETY: `obj` is our unshared bytes with `cap >= len` bytes of storage: the length
            // is set and the terminating NUL written inside that storage.
            unsafe {
                *self.data().add(self.len) = 0;
                (*self.obj.cast::<ffi::PyVarObject>()).ob_size = self.len as ffi::Py_ssize_t;
            }
        }
        LAST_LEN.set(self.len);
        let obj = std::mem::replace(&mut self.obj, std::ptr::null_mut());
        // SAFETY: `obj` is a new reference to a `bytes`, handed over to the Bound.
        unsafe { Bound::from_owned_ptr(py, obj).cast_into_unchecked() }
    }
}

impl Out for OutBuf {
    /// Room for `additional` more bytes.
    #[inline(always)]
    fn reserve(&mut self, additional: usize) {
        if self.cap - self.len < additional {
            self.resize((self.len + additional).max(self.cap * 2));
        }
    }

    #[inline(always)]
    fn push(&mut self, b: u8) {
        self.reserve(1);
        // SAFETY: in bounds after `reserve`.
        unsafe { *self.data().add(self.len) = b };
        self.len += 1;
    }

    #[inline(always)]
    fn extend_from_slice(&mut self, s: &[u8]) {
        let n = s.len();
        self.reserve(n);
        // SAFETY: `n` bytes are free at `dst` after `reserve`; `s` never points into this buffer
        // (the walker copies from Python objects and from its own pre-encoded tables).
        unsafe {
            let (src, dst) = (s.as_ptr(), self.data().add(self.len));
            // Most strs of a checkpoint (keys, ids, short values) are a few bytes: two
            // overlapping word copies instead of a call to memcpy (a fifth of a LangGraph
            // dumps_typed's instructions, callgrind). Every read stays within `s`.
            if (8..=16).contains(&n) {
                let (a, b) = (
                    src.cast::<u64>().read_unaligned(),
                    src.add(n - 8).cast::<u64>().read_unaligned(),
                );
                dst.cast::<u64>().write_unaligned(a);
                dst.add(n - 8).cast::<u64>().write_unaligned(b);
            } else if (4..8).contains(&n) {
                let (a, b) = (
                    src.cast::<u32>().read_unaligned(),
                    src.add(n - 4).cast::<u32>().read_unaligned(),
                );
                dst.cast::<u32>().write_unaligned(a);
                dst.add(n - 4).cast::<u32>().write_unaligned(b);
            } else if n < 4 {
                // 0 to 3 bytes: the first, the middle and the last (some the same byte).
                if n > 0 {
                    *dst = *src;
                    *dst.add(n / 2) = *src.add(n / 2);
                    *dst.add(n - 1) = *src.add(n - 1);
                }
            } else {
                std::ptr::copy_nonoverlapping(src, dst, n);
            }
        }
        self.len += n;
    }

    #[inline(always)]
    fn push_marked<const N: usize>(&mut self, marker: u8, be: [u8; N]) {
        self.reserve(N + 1);
        // SAFETY: `N + 1` bytes are free at the end after `reserve`.
        unsafe {
            let dst = self.data().add(self.len);
            *dst = marker;
            dst.add(1).cast::<[u8; N]>().write_unaligned(be);
        }
        self.len += N + 1;
    }

    #[inline(always)]
    fn len(&self) -> usize {
        self.len
    }

    /// Drop everything from `len` on.
    fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    /// The bytes written so far.
    fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: the first `len` bytes are initialised and belong to `obj`, borrowed with `self`.
        unsafe { std::slice::from_raw_parts_mut(self.data(), self.len) }
    }
}

impl Drop for OutBuf {
    fn drop(&mut self) {
        if !self.obj.is_null() {
            // SAFETY: an unfinished output (an error path): our own reference, released once.
            unsafe { ffi::Py_DECREF(self.obj) }
        }
    }
}

impl std::io::Write for OutBuf {
    #[inline(always)]
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.extend_from_slice(buf);
        Ok(buf.len())
    }

    #[inline(always)]
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.extend_from_slice(buf);
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The unwind payload of an output that could not grow to this many bytes.
struct OutOfMemory(usize);

/// Run the walk `f` into a new `bytes` (sized from this thread's last output) and return it.
/// Raises the walk's `EncodeError`, or `MemoryError` when the output cannot grow; the partial
/// output is released either way. Nested calls (a `default` callback that itself calls `dumps`)
/// each get their own output.
pub(crate) fn write_bytes<'py>(
    py: Python<'py>,
    f: impl FnOnce(&mut OutBuf) -> EncodeResult,
) -> PyResult<Bound<'py, PyBytes>> {
    let last = LAST_LEN.get();
    let mut out = OutBuf::new(last + last / 16)?;
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut out))) {
        Ok(Ok(())) => Ok(out.finish(py)),
        Ok(Err(e)) => Err((*e).into_pyerr(py)),
        Err(payload) => match payload.downcast::<OutOfMemory>() {
            Ok(oom) => Err(PyMemoryError::new_err(format!(
                "fast_serde: cannot grow the output to {} bytes",
                oom.0
            ))),
            Err(other) => std::panic::resume_unwind(other),
        },
    }
}

/// Run `f` over the bytes of a `bytes`, `bytearray` or `memoryview` (any C-contiguous buffer).
/// Raises `TypeError` for other objects. The buffer is released on every path.
pub(crate) fn with_bytes<R>(
    obj: &Bound<'_, PyAny>,
    f: impl FnOnce(&[u8]) -> PyResult<R>,
) -> PyResult<R> {
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
