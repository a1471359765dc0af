//! The UTF-8 bytes of a str, read in place when it is compact ASCII.
//!
//! A compact-ASCII str (every str made from ASCII text by `PyUnicode_New`, literals, decoders)
//! keeps its characters, which are its UTF-8 bytes, right after its `PyASCIIObject` header.
//! Reading them there avoids a call into libpython per string. pyo3's `PyUnicode_IS_COMPACT_ASCII`
//! reads the `state` bit field only up to 3.13 (pyo3 0.30 leaves the bit field out from 3.14 on,
//! where a free-threaded build changes it); this module reads it itself, on the builds
//! `layout.rs` admits (CPython 3.11-3.15 with the GIL, checked at load time), and through pyo3's
//! accessor on 3.10. Everything else gets `PyUnicode_AsUTF8AndSize`, which returns the same
//! bytes.

use pyo3::ffi;

/// `PyASCIIObject.state` of a GIL build, 3.11 to 3.15 (Include/cpython/unicodeobject.h):
/// `interned:2, kind:3, compact:1, ascii:1, ...`, allocated from the low bit on x86-64 and
/// aarch64 (GCC and Clang): `compact` is bit 5, `ascii` bit 6.
#[cfg(cpython_layout)]
const STATE_COMPACT_ASCII: u32 = 1 << 5 | 1 << 6;

/// Whether `obj` is a compact-ASCII str: its characters follow the `PyASCIIObject` header.
///
/// # Safety
/// `obj` is a live str (or subclass).
#[inline(always)]
pub(crate) unsafe fn is_compact_ascii(obj: *mut ffi::PyObject) -> bool {
    #[cfg(cpython_layout)]
    {
        // SAFETY (caller): a live str starts with a PyASCIIObject; `state` is its bit field,
        // laid out as `STATE_COMPACT_ASCII` says on the minor version `layout::init` admitted.
        unsafe {
            (*(obj as *const ffi::PyASCIIObject)).state & STATE_COMPACT_ASCII == STATE_COMPACT_ASCII
        }
    }
    #[cfg(all(
        not(cpython_layout),
        not(Py_3_11),
        not(any(PyPy, GraalPy, Py_LIMITED_API))
    ))]
    {
        // SAFETY (caller): pyo3's accessor of the 3.10 bit field.
        unsafe { ffi::PyUnicode_IS_COMPACT_ASCII(obj) != 0 }
    }
    #[cfg(all(not(cpython_layout), any(Py_3_11, PyPy, GraalPy, Py_LIMITED_API)))]
    {
        let _ = obj;
        false
    }
}

/// Where the characters of a compact-ASCII str are: right after its `PyASCIIObject` header
/// (CPython's `_PyUnicode_COMPACT_DATA`).
///
/// # Safety
/// `obj` is a compact-ASCII str ([`is_compact_ascii`], or just made by `PyUnicode_New(n, 127)`).
#[inline(always)]
pub(crate) unsafe fn compact_ascii_data(obj: *mut ffi::PyObject) -> *mut u8 {
    // SAFETY (caller): the header is followed by the characters, within the same allocation.
    unsafe { (obj as *mut ffi::PyASCIIObject).add(1) as *mut u8 }
}

/// The characters of a compact-ASCII str, which are its UTF-8 bytes.
///
/// # Safety
/// `obj` is a live compact-ASCII str ([`is_compact_ascii`]) and outlives the slice.
#[inline(always)]
pub(crate) unsafe fn compact_ascii_bytes<'a>(obj: *mut ffi::PyObject) -> &'a [u8] {
    // SAFETY (caller): a compact-ASCII str holds `length` one-byte characters at its data.
    unsafe {
        let len = (*(obj as *const ffi::PyASCIIObject)).length as usize;
        std::slice::from_raw_parts(compact_ascii_data(obj), len)
    }
}

/// The characters of a str of the one-byte kind (`PyUnicode_DATA`): in place when it is compact
/// ASCII on a build that reads the layout; else CPython's own `PyUnicode_DATA` (a call into
/// libpython from 3.14 on).
///
/// # Safety
/// `obj` is a live str of `PyUnicode_1BYTE_KIND`.
#[inline(always)]
pub(crate) unsafe fn one_byte_data(obj: *mut ffi::PyObject) -> *mut u8 {
    // SAFETY (caller): as documented.
    unsafe {
        if cfg!(cpython_layout) && is_compact_ascii(obj) {
            return compact_ascii_data(obj);
        }
        ffi::PyUnicode_DATA(obj) as *mut u8
    }
}

/// The UTF-8 bytes of a str (or subclass): in place when compact ASCII, else CPython's cached
/// UTF-8 (`PyUnicode_AsUTF8AndSize`). `None` with a pending `UnicodeEncodeError` when it holds
/// lone surrogates.
///
/// # Safety
/// `obj` is a live str (or subclass) and outlives the slice; attached to the interpreter.
#[inline(always)]
pub(crate) unsafe fn utf8<'a>(obj: *mut ffi::PyObject) -> Option<&'a [u8]> {
    // SAFETY (caller): as documented; the cached UTF-8 lives as long as the str.
    unsafe {
        if is_compact_ascii(obj) {
            return Some(compact_ascii_bytes(obj));
        }
        let mut len: ffi::Py_ssize_t = 0;
        let data = ffi::PyUnicode_AsUTF8AndSize(obj, &mut len);
        if data.is_null() {
            return None;
        }
        Some(std::slice::from_raw_parts(data as *const u8, len as usize))
    }
}
