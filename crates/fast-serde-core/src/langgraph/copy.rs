//! Type-exact deep copies and comparisons of plain values (exact str, int, float, bool, None,
//! bytes, list, dict, tuple and sets of strs), for the memo's templates (memo.rs). Nothing here
//! runs Python code.

use crate::ffi::typeref::typerefs;
use crate::ffi::Owned;
use pyo3::ffi;

/// Exact immutable scalars: shared between the template and every copy.
pub(crate) fn is_scalar(tp: *mut ffi::PyTypeObject) -> bool {
    let r = typerefs();
    tp == r.str_type
        || tp == r.int_type
        || tp == r.float_type
        || tp == r.bool_type
        || tp == r.none_type
        || tp == r.bytes_type
}

/// A deep copy of a value made of exact scalars, lists, dicts and tuples (new containers, shared
/// scalars); `None` (no error set) for anything else or on failure. Runs no Python code: dict
/// keys must be exact scalars (or tuples of them), whose hashing and comparison are native.
pub(crate) fn copy(v: *mut ffi::PyObject) -> Option<Owned> {
    if crate::stack_low() {
        return None;
    }
    let r = typerefs();
    // SAFETY: `v` is live; containers are exact types read within bounds; every new reference
    // is owned by `Owned` (PyList_SET_ITEM / PyTuple_SET_ITEM steal the item's reference); errors
    // are cleared.
    unsafe {
        let tp = ffi::Py_TYPE(v);
        if is_scalar(tp) {
            return Some(Owned(ffi::Py_NewRef(v)));
        }
        if tp == r.list_type {
            let n = ffi::PyList_GET_SIZE(v);
            let out = ffi::PyList_New(n);
            if out.is_null() {
                ffi::PyErr_Clear();
                return None;
            }
            let out = Owned(out);
            for i in 0..n {
                if ffi::PyList_GET_SIZE(v) != n {
                    return None;
                }
                let item = copy(ffi::PyList_GET_ITEM(v, i))?;
                ffi::PyList_SET_ITEM(out.0, i, item.into_ptr());
            }
            return Some(out);
        }
        if tp == r.tuple_type {
            let n = ffi::PyTuple_GET_SIZE(v);
            let out = ffi::PyTuple_New(n);
            if out.is_null() {
                ffi::PyErr_Clear();
                return None;
            }
            let out = Owned(out);
            for i in 0..n {
                let item = copy(ffi::PyTuple_GET_ITEM(v, i))?;
                ffi::PyTuple_SET_ITEM(out.0, i, item.into_ptr());
            }
            return Some(out);
        }
        if tp == r.dict_type {
            let out = ffi::PyDict_New();
            if out.is_null() {
                ffi::PyErr_Clear();
                return None;
            }
            let out = Owned(out);
            let mut pos: ffi::Py_ssize_t = 0;
            let mut k: *mut ffi::PyObject = std::ptr::null_mut();
            let mut val: *mut ffi::PyObject = std::ptr::null_mut();
            while ffi::PyDict_Next(v, &mut pos, &mut k, &mut val) != 0 {
                if !native_key(k) {
                    return None;
                }
                let key = copy(k)?;
                let value = copy(val)?;
                if ffi::PyDict_SetItem(out.0, key.0, value.0) != 0 {
                    ffi::PyErr_Clear();
                    return None;
                }
            }
            return Some(out);
        }
        None
    }
}

/// A dict key whose hash and equality run no Python code.
pub(crate) fn native_key(k: *mut ffi::PyObject) -> bool {
    // SAFETY: reading the type and items of a live object.
    unsafe {
        let tp = ffi::Py_TYPE(k);
        if is_scalar(tp) {
            return true;
        }
        tp == typerefs().tuple_type
            && (0..ffi::PyTuple_GET_SIZE(k)).all(|i| native_key(ffi::PyTuple_GET_ITEM(k, i)))
    }
}

/// A new set of the same exact strs (model_fields_set); `None` for anything else.
pub(crate) fn copy_set(v: *mut ffi::PyObject) -> Option<Owned> {
    // SAFETY: `v` is live; PySet_New copies an exact set of strs (native hashing); owned result.
    unsafe {
        if ffi::PySet_CheckExact(v) == 0 || !all_strs(v) {
            return None;
        }
        let s = ffi::PySet_New(v);
        if s.is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        Some(Owned(s))
    }
}

pub(crate) fn all_strs(set: *mut ffi::PyObject) -> bool {
    // SAFETY: iterating a live exact set with the C iteration protocol; borrowed items.
    unsafe {
        let it = ffi::PyObject_GetIter(set);
        if it.is_null() {
            ffi::PyErr_Clear();
            return false;
        }
        let it = Owned(it);
        loop {
            let item = ffi::PyIter_Next(it.0);
            if item.is_null() {
                if !ffi::PyErr_Occurred().is_null() {
                    ffi::PyErr_Clear();
                    return false;
                }
                return true;
            }
            let item = Owned(item);
            if ffi::PyUnicode_CheckExact(item.0) == 0 {
                return false;
            }
        }
    }
}

/// Type-exact deep equality of two values of the kinds `copy` takes (dict key order included;
/// floats by bits, so NaN equals NaN and 0.0 differs from -0.0). Runs no Python code.
pub(crate) fn same(a: *mut ffi::PyObject, b: *mut ffi::PyObject) -> bool {
    if a == b {
        return true;
    }
    if crate::stack_low() {
        return false;
    }
    let r = typerefs();
    // SAFETY: `a` and `b` are live; exact types are read with their own accessors within bounds;
    // comparisons of exact str/int/bytes run no Python code.
    unsafe {
        let tp = ffi::Py_TYPE(a);
        if tp != ffi::Py_TYPE(b) {
            return false;
        }
        if tp == r.str_type {
            return ffi::PyUnicode_Compare(a, b) == 0;
        }
        if tp == r.int_type || tp == r.bytes_type {
            return ffi::PyObject_RichCompareBool(a, b, ffi::Py_EQ) == 1;
        }
        if tp == r.float_type {
            return ffi::PyFloat_AS_DOUBLE(a).to_bits() == ffi::PyFloat_AS_DOUBLE(b).to_bits();
        }
        if tp == r.bool_type || tp == r.none_type {
            return false; // singletons: equal only when identical (checked above)
        }
        if tp == r.list_type {
            let n = ffi::PyList_GET_SIZE(a);
            return n == ffi::PyList_GET_SIZE(b)
                && (0..n).all(|i| same(ffi::PyList_GET_ITEM(a, i), ffi::PyList_GET_ITEM(b, i)));
        }
        if tp == r.tuple_type {
            let n = ffi::PyTuple_GET_SIZE(a);
            return n == ffi::PyTuple_GET_SIZE(b)
                && (0..n).all(|i| same(ffi::PyTuple_GET_ITEM(a, i), ffi::PyTuple_GET_ITEM(b, i)));
        }
        if tp == r.dict_type {
            if ffi::PyDict_Size(a) != ffi::PyDict_Size(b) {
                return false;
            }
            let (mut pa, mut pb): (ffi::Py_ssize_t, ffi::Py_ssize_t) = (0, 0);
            let (mut ka, mut va, mut kb, mut vb) = (
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            );
            while ffi::PyDict_Next(a, &mut pa, &mut ka, &mut va) != 0 {
                if ffi::PyDict_Next(b, &mut pb, &mut kb, &mut vb) == 0 {
                    return false;
                }
                if !same(ka, kb) || !same(va, vb) {
                    return false;
                }
            }
            return true;
        }
        false
    }
}

pub(crate) fn same_set(a: *mut ffi::PyObject, b: *mut ffi::PyObject) -> bool {
    // SAFETY: both are live exact sets of exact strs (built by copy_set); containment checks
    // of strs run no Python code.
    unsafe {
        if ffi::PySet_Size(a) != ffi::PySet_Size(b) {
            return false;
        }
        let it = ffi::PyObject_GetIter(a);
        if it.is_null() {
            ffi::PyErr_Clear();
            return false;
        }
        let it = Owned(it);
        loop {
            let item = ffi::PyIter_Next(it.0);
            if item.is_null() {
                ffi::PyErr_Clear();
                return true;
            }
            let item = Owned(item);
            if ffi::PySet_Contains(b, item.0) != 1 {
                ffi::PyErr_Clear();
                return false;
            }
        }
    }
}
