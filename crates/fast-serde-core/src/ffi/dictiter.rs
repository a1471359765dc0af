//! `PyDict_Next` without the call: the walker's hottest loop visits every entry of every dict.
//!
//! On the builds `layout.rs` admits (CPython 3.11 to 3.15 with the GIL, checked again when the
//! module loads) a dict whose entries live in its keys object (a "combined" table: every dict
//! the walker meets except some instance `__dict__`s) is read in place, as `_PyDict_Next` in
//! Objects/dictobject.c reads it; any other dict (a split table: `ma_values` set, which from
//! 3.13 on includes a materialized dict over an object's inline values), and every other
//! interpreter (3.10, 3.16+, free-threaded, PyPy, GraalPy, the limited API), goes through
//! `PyDict_Next` itself. The layout below is `struct _dictkeysobject` of
//! Include/internal/pycore_dict.h, the same in 3.11 to 3.15 (3.13 adds a `dk_mutex` only under
//! `Py_GIL_DISABLED`, which is left out); the entries, `PyDictKeyEntry` and
//! `PyDictUnicodeEntry`, and the `DictKeysKind` values are the same too.
//!
//! Mutation during a walk is as safe as with `PyDict_Next`: every call reads `ma_values`,
//! `ma_keys` and `dk_nentries` afresh and bounds `*pos` by them, so a dict that grew, shrank,
//! was cleared or turned from split to combined under the walker yields live entries (or ends);
//! the walker itself counts entries against `ma_used` and reports the change.

use pyo3::ffi;

/// CPython 3.11-3.15 with the GIL (`cpython_layout`): combined tables read in place.
#[cfg(cpython_layout)]
mod in_place {
    use pyo3::ffi;

    #[repr(C)]
    struct DictKeys {
        dk_refcnt: ffi::Py_ssize_t,
        dk_log2_size: u8,
        dk_log2_index_bytes: u8,
        /// DICT_KEYS_GENERAL (0): entries are (hash, key, value); UNICODE (1) / SPLIT (2):
        /// (key, value).
        dk_kind: u8,
        dk_version: u32,
        dk_usable: ffi::Py_ssize_t,
        dk_nentries: ffi::Py_ssize_t,
        // char dk_indices[1 << dk_log2_index_bytes], then the entries.
    }

    /// The next entry of a combined table at or after `*pos` (`Some(None)` at its end), or
    /// `None` when this dict (a split table) is left to `PyDict_Next`.
    ///
    /// # Safety
    /// `dict` is a live dict (or subclass) and the GIL is held.
    #[inline(always)]
    #[allow(clippy::type_complexity)]
    pub(super) unsafe fn next(
        dict: *mut ffi::PyObject,
        pos: &mut ffi::Py_ssize_t,
    ) -> Option<Option<(*mut ffi::PyObject, *mut ffi::PyObject)>> {
        let mp = dict as *mut ffi::PyDictObject;
        // SAFETY: `dict` is a live dict, so a PyDictObject whose keys object is live, laid out
        // as `DictKeys` on this CPython minor version (`layout::init` refused any other); a combined
        // table (no ma_values) holds `dk_nentries` entries after the index table, each either
        // empty (NULL value) or a live key and value; `i` stays within 0..dk_nentries.
        unsafe {
            if !(*mp).ma_values.is_null() {
                return None;
            }
            let keys = (*mp).ma_keys as *const DictKeys;
            let n = (*keys).dk_nentries;
            let mut i = *pos;
            if i < 0 || i >= n {
                return Some(None);
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
                    return Some(Some((*e, value)));
                }
            }
            *pos = i;
            Some(None)
        }
    }
}

/// Every other interpreter and build: `PyDict_Next` for every dict.
#[cfg(not(cpython_layout))]
mod in_place {
    use pyo3::ffi;

    #[inline(always)]
    #[allow(clippy::type_complexity)]
    pub(super) unsafe fn next(
        _dict: *mut ffi::PyObject,
        _pos: &mut ffi::Py_ssize_t,
    ) -> Option<Option<(*mut ffi::PyObject, *mut ffi::PyObject)>> {
        None
    }
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
    // SAFETY: as documented for this function.
    if let Some(entry) = unsafe { in_place::next(dict, pos) } {
        return entry;
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
