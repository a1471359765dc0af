//! The state of a validated pydantic model, held without its class (the memo's template), and
//! how a model is made from such a state without validating: `object.__new__(cls)` and its four
//! pydantic slots set as `BaseModel.__setstate__` sets them. The memo (memo.rs) takes a template
//! of a validated model and builds each hit from it; trusted restore (trusted.rs) makes its
//! models with [`new_model`] from the decoded kwargs.

use super::copy::{Copier, SetRecipe};
use crate::error::clear_if_exception;
use crate::ffi::dictiter::dict_next;
use crate::ffi::object::object_new;
use crate::ffi::typeref::typerefs;
use crate::ffi::Owned;
use pyo3::ffi;
use pyo3::prelude::*;

/// The state of a validated model, held without its class.
pub(crate) struct Template {
    dict: Py<PyAny>,
    /// How to make `model_fields_set` anew, iterating in the validated set's order.
    fields_set: SetRecipe,
    extra: Py<PyAny>,
    private: Py<PyAny>,
    /// No container is reached twice in the four: copied without an identity map.
    tree: bool,
}

/// A new `cls` object with these four pydantic slots: `__dict__`, `__pydantic_fields_set__`,
/// `__pydantic_extra__` and `__pydantic_private__` (each a live object, its reference borrowed),
/// set through `object.__setattr__` semantics (`PyObject_GenericSetAttr`), as
/// `BaseModel.__setstate__` and pydantic-core's own `force_setattr` set them. `None` when
/// anything fails: no error set when it was an `Exception` (the caller falls back), else the
/// `BaseException` (KeyboardInterrupt) left set for the caller to raise (`pending_fatal`).
pub(crate) fn new_model(
    cls: *mut ffi::PyObject,
    dict: *mut ffi::PyObject,
    fields_set: *mut ffi::PyObject,
    extra: *mut ffi::PyObject,
    private: *mut ffi::PyObject,
) -> Option<*mut ffi::PyObject> {
    let refs = typerefs();
    // SAFETY: `cls` is a live object; object.__new__(cls) gives a new reference (NULL on error,
    // cleared), released by `Owned` on every path; the four values are live objects the setattr
    // takes its own references to.
    unsafe {
        let obj = object_new(cls);
        if obj.is_null() {
            clear_if_exception();
            return None;
        }
        let obj = Owned(obj);
        for (name, value) in [
            (refs.s_dunder_dict, dict),
            (refs.s_fields_set, fields_set),
            (refs.s_pydantic_extra, extra),
            (refs.s_pydantic_private, private),
        ] {
            // A descriptor on the class may run Python code here.
            if ffi::PyObject_GenericSetAttr(obj.0, name, value) != 0 {
                clear_if_exception();
                return None;
            }
        }
        Some(obj.into_ptr())
    }
}

impl Template {
    /// A new `cls` object from the template ([`new_model`]), every container new and the
    /// template's identity graph kept. `None` if anything fails: the caller validates instead,
    /// unless a `BaseException` is left set ([`new_model`]).
    pub(crate) fn build(&self, cls: *mut ffi::PyObject) -> Option<*mut ffi::PyObject> {
        let mut c = if self.tree {
            Copier::for_tree()
        } else {
            Copier::new(false)
        };
        let dict = c.copy(self.dict.as_ptr())?;
        let fields_set = self.fields_set.make()?;
        let extra = c.copy(self.extra.as_ptr())?;
        let private = c.copy(self.private.as_ptr())?;
        new_model(cls, dict.0, fields_set.0, extra.0, private.0)
    }

    /// The template of a validated model and the bytes it holds, or `None` when its state holds
    /// anything but the exact types the copy reproduces (a `BaseException` that reading it
    /// raised, such as KeyboardInterrupt from a descriptor or a metaclass, left set).
    pub(crate) fn of(py: Python<'_>, obj: *mut ffi::PyObject) -> Option<(Template, usize)> {
        let refs = typerefs();
        // SAFETY: generic attribute reads on a live model (the four slots pydantic defines),
        // owned results; errors cleared. The copier runs no Python code but built-in
        // `__sizeof__`.
        unsafe {
            let get = |name: *mut ffi::PyObject| -> Option<Owned> {
                let v = if name == refs.s_dunder_dict {
                    ffi::PyObject_GenericGetDict(obj, std::ptr::null_mut())
                } else {
                    ffi::PyObject_GenericGetAttr(obj, name)
                };
                if v.is_null() {
                    clear_if_exception(); // a descriptor may run Python code
                    None
                } else {
                    Some(Owned(v))
                }
            };
            let dict = get(refs.s_dunder_dict)?;
            let fields_set = get(refs.s_fields_set)?;
            let extra = get(refs.s_pydantic_extra)?;
            let private = get(refs.s_pydantic_private)?;
            if ffi::PyDict_CheckExact(dict.0) == 0 {
                return None;
            }
            let order = every_field_set(obj, fields_set.0)?;
            for v in [&extra, &private] {
                if v.0 != ffi::Py_None() && ffi::PyDict_CheckExact(v.0) == 0 {
                    return None;
                }
            }
            // After the declared fields, the extras in `fields_set`, in the order the payload
            // gave them (pydantic-core adds them after the fields).
            if extra.0 != ffi::Py_None() {
                let mut pos: ffi::Py_ssize_t = 0;
                while let Some((k, _)) = dict_next(extra.0, &mut pos) {
                    if ffi::PyUnicode_CheckExact(k) == 0 {
                        return None;
                    }
                    match ffi::PySet_Contains(fields_set.0, k) {
                        1 => {
                            if ffi::PyList_Append(order.0, k) != 0 {
                                ffi::PyErr_Clear();
                                return None;
                            }
                        }
                        0 => {}
                        _ => {
                            ffi::PyErr_Clear();
                            return None;
                        }
                    }
                }
            }
            let mut c = Copier::new(true);
            let own = |o: Owned| Bound::from_owned_ptr(py, o.into_ptr()).unbind();
            let dict = own(c.copy(dict.0)?);
            let fields_set = c.set_recipe(fields_set.0, &order)?;
            let extra = own(c.copy(extra.0)?);
            let private = own(c.copy(private.0)?);
            let template = Template {
                dict,
                fields_set,
                extra,
                private,
                tree: !c.shared,
            };
            Some((template, c.bytes))
        }
    }
}

/// The declared field names of `obj`'s class in order (a new list), when the payload set every
/// field (each name of `__pydantic_fields__` is in `fields_set`): no field took its default. A
/// default is deep-copied on every validation unless hashable (user code in `__deepcopy__`) and
/// can be changed in place without the class's `tp_version_tag` moving, so a template is kept
/// only of an object validation built from the payload alone. JsonPlusSerializer's own blobs
/// (`model_dump()`) set every field.
fn every_field_set(obj: *mut ffi::PyObject, fields_set: *mut ffi::PyObject) -> Option<Owned> {
    // SAFETY: attribute read on the live class of a live object (owned result, error cleared);
    // an exact dict iterated with dict_next (borrowed keys, no Python code: exact str keys
    // checked before PySet_Contains hashes them); `fields_set` is a live object checked exact;
    // the new list is owned.
    unsafe {
        if ffi::PySet_CheckExact(fields_set) == 0 {
            return None;
        }
        // A metaclass's `__getattribute__` may run Python code here.
        let fields = ffi::PyObject_GetAttr(ffi::Py_TYPE(obj).cast(), typerefs().s_pydantic_fields);
        if fields.is_null() {
            clear_if_exception();
            return None;
        }
        let fields = Owned(fields);
        if ffi::PyDict_CheckExact(fields.0) == 0 {
            return None;
        }
        let order = ffi::PyList_New(0);
        if order.is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        let order = Owned(order);
        let mut pos: ffi::Py_ssize_t = 0;
        while let Some((k, _)) = dict_next(fields.0, &mut pos) {
            if ffi::PyUnicode_CheckExact(k) == 0 {
                return None;
            }
            match ffi::PySet_Contains(fields_set, k) {
                1 => {
                    if ffi::PyList_Append(order.0, k) != 0 {
                        ffi::PyErr_Clear();
                        return None;
                    }
                }
                0 => return None,
                _ => {
                    ffi::PyErr_Clear();
                    return None;
                }
            }
        }
        Some(order)
    }
}
