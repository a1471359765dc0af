//! Helpers over single Python objects that know nothing of LangGraph: an instance's own
//! `__dict__`, an attribute of an imported module, a class's version tag. Each reads CPython's
//! structures directly (no Python-level call) and says what it assumes.

use super::typeref::typerefs;
use pyo3::ffi;
use pyo3::prelude::*;

/// `obj`'s own `__dict__` as a new reference, `None` when it has none yet, `Err` (a Python
/// error set) when `obj.__dict__` raises. An instance dict that has not been created yet (an
/// exception's, which BaseException makes on first access) is not created: its existence shows
/// in `pickle.dumps` of the object. Objects whose dict lives elsewhere (managed dicts, a
/// `__dict__` property) are asked through `obj.__dict__`.
pub(crate) fn instance_dict(obj: *mut ffi::PyObject) -> Result<Option<*mut ffi::PyObject>, ()> {
    // SAFETY: `obj` is live; a positive `tp_dictoffset` is the byte offset of the instance's dict
    // pointer within the object (CPython's `_PyObject_GetDictPtr` reads it the same way), read
    // and turned into a new reference when set; otherwise a generic attribute fetch (owned).
    unsafe {
        let offset = (*ffi::Py_TYPE(obj)).tp_dictoffset;
        if offset > 0 {
            let slot = obj.cast::<u8>().offset(offset).cast::<*mut ffi::PyObject>();
            let d = *slot;
            return Ok((!d.is_null()).then(|| ffi::Py_NewRef(d)));
        }
        let d = ffi::PyObject_GetAttr(obj, typerefs().s_dunder_dict);
        if d.is_null() {
            return Err(());
        }
        Ok(Some(d))
    }
}

/// `sys.modules[module].__dict__[name]` for an exact module (whose attribute lookup finds what is
/// in its `__dict__`), with no Python-level call; `None` when any of it is missing.
pub(crate) fn module_attr(
    py: Python<'_>,
    module: &Py<PyAny>,
    name: &Py<PyAny>,
) -> Option<Py<PyAny>> {
    // SAFETY: attached; `sys.modules` is borrowed from the interpreter; the module found is held
    // while its dict is read (a lookup may run a key's `__eq__`); the attribute is borrowed into a
    // new reference right after its lookup; a lookup error is cleared (then it is a miss).
    unsafe {
        let modules = ffi::PyImport_GetModuleDict();
        let m = ffi::PyDict_GetItemWithError(modules, module.as_ptr());
        if m.is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        if ffi::PyModule_CheckExact(m) == 0 {
            return None;
        }
        let m = Bound::from_borrowed_ptr(py, m);
        let v = ffi::PyDict_GetItemWithError(ffi::PyModule_GetDict(m.as_ptr()), name.as_ptr());
        if v.is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        Some(Bound::from_borrowed_ptr(py, v).unbind())
    }
}

/// A class's `tp_version_tag` (0: none assigned).
#[inline]
pub(crate) fn version_tag(cls: *mut ffi::PyObject) -> u32 {
    // SAFETY: `cls` is a live type object; reading one of its fields.
    unsafe { (*cls.cast::<ffi::PyTypeObject>()).tp_version_tag }
}

/// `object.__new__(cls)` for a live class `cls`: a new reference, or NULL with the exception set.
///
/// When `cls`'s `tp_new` is `object`'s own (no `__new__` anywhere in its MRO but object's), it is
/// called directly as `tp_new(cls, (), NULL)`, which is what pydantic-core does to allocate a
/// model (`create_class`) and what `object.__new__(cls)` ends in once its wrapper has checked its
/// arguments (typeobject.c `tp_new_wrapper`: one argument, a subtype of object whose first static
/// base's `tp_new` is object's, which holds when `cls`'s own is): the same object, without the
/// argument tuple and the wrapper's call. Any other class goes through `object.__new__` itself.
///
/// # Safety
/// `cls` must be a live object and the caller attached.
pub(crate) unsafe fn object_new(cls: *mut ffi::PyObject) -> *mut ffi::PyObject {
    let refs = typerefs();
    if ffi::PyType_Check(cls) != 0 {
        let tp = cls.cast::<ffi::PyTypeObject>();
        let base_new = (*std::ptr::addr_of!(ffi::PyBaseObject_Type)).tp_new;
        if let (Some(new), Some(base)) = ((*tp).tp_new, base_new) {
            if new as usize == base as usize {
                return new(tp, refs.empty_tuple, std::ptr::null_mut());
            }
        }
    }
    ffi::PyObject_CallOneArg(refs.object_new, cls)
}
