//! `PyDict_Next` without the call: the walker's hottest loop visits every entry of every dict.
//!
//! On CPython 3.11 (the interpreter this project pins and tests) a dict whose entries live in its
//! keys object (a "combined" table: every dict the walker meets except some instance
//! `__dict__`s) is read in place, as `_PyDict_Next` in Objects/dictobject.c reads it; any other
//! dict, and every other interpreter, goes through `PyDict_Next` itself. The layout below is
//! `struct _dictkeysobject` of CPython 3.11's Include/internal/pycore_dict.h.

use pyo3::ffi;

#[cfg(all(Py_3_11, not(Py_3_12), not(PyPy), not(GraalPy)))]
#[repr(C)]
struct DictKeys {
    dk_refcnt: ffi::Py_ssize_t,
    dk_log2_size: u8,
    dk_log2_index_bytes: u8,
    /// DICT_KEYS_GENERAL (0): entries are (hash, key, value); UNICODE (1) / SPLIT (2): (key, value).
    dk_kind: u8,
    dk_version: u32,
    dk_usable: ffi::Py_ssize_t,
    dk_nentries: ffi::Py_ssize_t,
    // char dk_indices[1 << dk_log2_index_bytes], then the entries.
}

/// The next entry of `dict` at or after `*pos`, as `PyDict_Next`: borrowed key and value, or
/// `None` at the end.
///
/// # Safety
/// `dict` is a live dict (or subclass) and the GIL is held.
#[inline(always)]
pub(crate) unsafe fn dict_next(
    dict: *mut ffi::PyObject,
    pos: &mut ffi::Py_ssize_t,
) -> Option<(*mut ffi::PyObject, *mut ffi::PyObject)> {
    #[cfg(all(Py_3_11, not(Py_3_12), not(PyPy), not(GraalPy)))]
    {
        let mp = dict as *mut ffi::PyDictObject;
        // SAFETY: `dict` is a live dict, so a PyDictObject whose keys object is live; a combined
        // table (no ma_values) holds `dk_nentries` entries after the index table, each either
        // empty (NULL value) or a live key and value; `i` stays within 0..dk_nentries.
        unsafe {
            if (*mp).ma_values.is_null() {
                let keys = (*mp).ma_keys as *const DictKeys;
                let n = (*keys).dk_nentries;
                let mut i = *pos;
                if i < 0 || i >= n {
                    return None;
                }
                let entries = (keys as *const u8)
                    .add(std::mem::size_of::<DictKeys>())
                    .add(1usize << (*keys).dk_log2_index_bytes)
                    as *const *mut ffi::PyObject;
                // (key, value) pairs, or (hash, key, value) triples.
                let (width, key_at) = if (*keys).dk_kind != 0 { (2, 0) } else { (3, 1) };
                while i < n {
                    let e = entries.add(i as usize * width + key_at);
                    let value = *e.add(1);
                    i += 1;
                    if !value.is_null() {
                        *pos = i;
                        return Some((*e, value));
                    }
                }
                *pos = i;
                return None;
            }
        }
    }
    let mut key: *mut ffi::PyObject = std::ptr::null_mut();
    let mut value: *mut ffi::PyObject = std::ptr::null_mut();
    // SAFETY: as documented for this function.
    if unsafe { ffi::PyDict_Next(dict, pos, &mut key, &mut value) } != 0 {
        Some((key, value))
    } else {
        None
    }
}

/// The number of entries of a dict (or subclass): `PyDict_GET_SIZE`, which pyo3-ffi leaves out.
///
/// # Safety
/// `dict` is a live dict (or subclass) and the GIL is held.
#[inline(always)]
pub(crate) unsafe fn dict_len(dict: *mut ffi::PyObject) -> usize {
    #[cfg(not(any(PyPy, GraalPy)))]
    {
        // SAFETY: a live dict is a PyDictObject; `ma_used` is its public entry count.
        unsafe { (*(dict as *mut ffi::PyDictObject)).ma_used as usize }
    }
    #[cfg(any(PyPy, GraalPy))]
    {
        // SAFETY: as documented for this function.
        unsafe { ffi::PyDict_Size(dict) as usize }
    }
}
