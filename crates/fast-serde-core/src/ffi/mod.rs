//! The small pieces over `pyo3::ffi` every other module uses: owned references, the attached
//! interpreter, byte views of `bytes` objects, dict iteration (`dictiter`), the bytes of a str
//! (`unicode`), the check of the CPython layouts those two read in place ([`layout`]), the type
//! pointers and interned names looked up once ([`typeref`]), weak references to classes
//! (`weak`), the one cache keyed by a class (`classmap`) and helpers over single objects (`object`: an instance's `__dict__`, a module
//! attribute, a class's version tag).
//!
//! Each `unsafe fn` here names what it assumes; callers keep their own `// SAFETY:` line.

pub(crate) mod classmap;
pub(crate) mod dictiter;
pub mod layout;
pub(crate) mod object;
pub mod typeref;
pub(crate) mod unicode;
pub(crate) mod weak;

use pyo3::ffi;
use pyo3::prelude::*;

/// Whether `o` is immortal (CPython 3.12+, PEP 683: never freed, its reference count not
/// kept): holding it costs no memory. CPython's own `_Py_IsImmortal` test for 64-bit GIL builds
/// of 3.12-3.15 (Include/refcount.h): the low 32 bits of `ob_refcnt`, as a signed int, are
/// negative. False elsewhere (older, free-threaded or 32-bit builds), which only overcounts.
///
/// # Safety
/// `o` is a live object and the caller is attached.
#[inline]
pub(crate) unsafe fn is_immortal(o: *mut ffi::PyObject) -> bool {
    #[cfg(all(Py_3_12, not(Py_GIL_DISABLED), target_pointer_width = "64"))]
    {
        (ffi::Py_REFCNT(o) as i32) < 0
    }
    #[cfg(not(all(Py_3_12, not(Py_GIL_DISABLED), target_pointer_width = "64")))]
    {
        let _ = o;
        false
    }
}

/// A new reference that is released when dropped (error paths included), or handed on with
/// [`Owned::into_ptr`].
pub(crate) struct Owned(pub(crate) *mut ffi::PyObject);

impl Owned {
    /// Give the reference away (to a container that steals it, or to the caller).
    #[inline(always)]
    pub(crate) fn into_ptr(self) -> *mut ffi::PyObject {
        let p = self.0;
        std::mem::forget(self);
        p
    }
}

impl Drop for Owned {
    #[inline(always)]
    fn drop(&mut self) {
        // SAFETY: `Owned` is only built from a non-null new reference, released exactly once.
        unsafe { ffi::Py_DECREF(self.0) }
    }
}

/// The interpreter this thread is attached to.
#[inline(always)]
pub(crate) fn py() -> Python<'static> {
    // SAFETY: every entry point of the walker, the reader and the codec is called from Python,
    // holding the GIL, and nothing here detaches while it runs.
    unsafe { Python::assume_attached() }
}

/// The bytes of a `bytes` object (or subclass), borrowed from it.
///
/// # Safety
/// `obj` is a live `bytes` (or subclass) and outlives the slice (bytes are immutable, so nothing
/// changes the buffer meanwhile).
#[inline(always)]
pub(crate) unsafe fn bytes_slice<'a>(obj: *mut ffi::PyObject) -> &'a [u8] {
    // SAFETY (caller): a bytes object's buffer holds `PyBytes_Size` bytes.
    unsafe {
        std::slice::from_raw_parts(
            ffi::PyBytes_AS_STRING(obj) as *const u8,
            ffi::PyBytes_Size(obj) as usize,
        )
    }
}

/// A new reference to `o` (a live object, typically an immortal singleton).
#[inline(always)]
pub(crate) fn new_ref(o: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: `o` is live; the caller receives a new reference.
    unsafe { ffi::Py_INCREF(o) };
    o
}

/// A new reference to None.
#[inline(always)]
pub(crate) fn new_none() -> *mut ffi::PyObject {
    // SAFETY: the None singleton is immortal.
    new_ref(unsafe { ffi::Py_None() })
}

/// The `tp_flags` of a type: a plain field, or an atomic one on free-threaded builds (read
/// relaxed there, as CPython's own `PyType_HasFeature` reads it).
///
/// # Safety
/// `tp` is a live type object.
#[inline(always)]
pub(crate) unsafe fn type_flags(tp: *mut ffi::PyTypeObject) -> std::ffi::c_ulong {
    #[cfg(Py_GIL_DISABLED)]
    {
        // SAFETY (caller): a live type object's flags word.
        unsafe { (*tp).tp_flags.load(std::sync::atomic::Ordering::Relaxed) as std::ffi::c_ulong }
    }
    #[cfg(not(Py_GIL_DISABLED))]
    {
        // SAFETY (caller): a live type object's flags word.
        unsafe { (*tp).tp_flags }
    }
}
