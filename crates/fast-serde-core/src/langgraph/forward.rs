//! `cls(**kwargs)` for LangChain's message classes without the Python frames of their reviewed
//! `__init__` chain (`_verified.forwarded_init`).
//!
//! JsonPlusSerializer builds an ext 5 object as `cls(**kwargs)`. For a message class, that call
//! runs `AIMessage.__init__`, `BaseMessage.__init__` and `Serializable.__init__`, each of which,
//! for a payload with no `content_blocks` (nor `self`) key, only passes `content=` and the other
//! keyword arguments on, before pydantic's `BaseModel.__init__` validates. The verified table
//! records that of each reviewed source; `forwarded_init(cls)` answers `BaseModel.__init__` for
//! the classes whose whole chain is such, and the reader calls it directly on
//! `object.__new__(cls)`, with the same keyword arguments in the same order: the same validation,
//! object and exceptions, about 2.8 µs less per message (a third of a cold 200 KB state's load).
//!
//! The answer is kept per class in a [`Forwards`] map (weak, `tp_version_tag`-checked) and dropped
//! with the codec's other decisions when something it rests on changes (watch.rs).

use super::watch;
use crate::error::fallback_ok;
use crate::ffi::classmap::{ClassMap, CLASS_MAP_MAX};
use crate::ffi::object::version_tag;
use crate::ffi::unicode::utf8;
use crate::ffi::{py, Owned};
use pyo3::ffi;
use pyo3::prelude::*;

/// Per class: the `BaseModel.__init__` that `forwarded_init` answered, or None (call the class).
pub(crate) type Forwards = ClassMap<Option<Py<PyAny>>>;

/// An empty map of answers.
pub(crate) fn new_forwards() -> Forwards {
    Forwards::new(CLASS_MAP_MAX)
}

/// The `__init__` to call for `cls` (a new reference), from `forwards` or asked of `hook`
/// (`_verified.forwarded_init`) once per class and `tp_version_tag`. `Ok(None)`: no hook, not a
/// class, or the class is built by calling it. `Err` only for an exception the hook raised that
/// is not an `Exception`.
pub(crate) fn forwarded_init(
    forwards: &Forwards,
    hook: Option<&Py<PyAny>>,
    cls: &Py<PyAny>,
) -> PyResult<Option<Owned>> {
    let Some(hook) = hook else {
        return Ok(None);
    };
    let c = cls.as_ptr();
    // SAFETY: a type check on a live object (the allowlist may name something else).
    if unsafe { ffi::PyType_Check(c) } == 0 {
        return Ok(None);
    }
    // SAFETY: a new reference to a live function held by the map's entry (no Python code runs).
    let new_ref = |f: &Option<Py<PyAny>>| {
        f.as_ref()
            .map(|f| unsafe { Owned(ffi::Py_NewRef(f.as_ptr())) })
    };
    if let Some(found) = forwards.with_value(c, new_ref) {
        return Ok(found);
    }
    decide(forwards, hook, cls, new_ref)
}

#[cold]
fn decide(
    forwards: &Forwards,
    hook: &Py<PyAny>,
    cls: &Py<PyAny>,
    new_ref: impl Fn(&Option<Py<PyAny>>) -> Option<Owned>,
) -> PyResult<Option<Owned>> {
    let py = py();
    let c = cls.as_ptr();
    let before = version_tag(c);
    let generation = watch::generation();
    let answer = match hook.bind(py).call1((cls.bind(py),)) {
        Ok(f) if f.is_none() => None,
        Ok(f) => Some(f.unbind()),
        Err(e) if !fallback_ok(py, &e) => return Err(e),
        Err(_) => None,
    };
    // Kept only when the class was not modified while the hook ran, nor anything watched
    // changed (watch.rs); else asked again next time.
    if version_tag(c) != before || watch::generation() != generation {
        return Ok(new_ref(&answer));
    }
    Ok(match forwards.insert(py, c as usize, c, before, answer) {
        Ok(kept) => new_ref(&kept.value),
        Err(answer) => new_ref(&answer),
    })
}

/// `cls(**kwargs)` as `init(object.__new__(cls), **kwargs)`, when `kwargs` (a live exact dict)
/// has the shape the chain passes through unchanged: its first key `content`, every key an exact
/// str, none `content_blocks` or `self`. `None`: another shape (the caller calls `cls`);
/// `Some(obj)`, a new reference, or `Some(NULL)` with the exception set, as `cls(**kwargs)`
/// would have raised it.
///
/// # Safety
/// `init`, `cls` and `kwargs` are live; the GIL is held.
pub(crate) unsafe fn construct(
    init: *mut ffi::PyObject,
    cls: *mut ffi::PyObject,
    kwargs: *mut ffi::PyObject,
) -> Option<*mut ffi::PyObject> {
    let mut pos: ffi::Py_ssize_t = 0;
    let mut k: *mut ffi::PyObject = std::ptr::null_mut();
    let mut v: *mut ffi::PyObject = std::ptr::null_mut();
    let mut first = true;
    // SAFETY: iterates a live dict that nothing mutates meanwhile (no Python code runs); keys
    // are borrowed.
    while unsafe { ffi::PyDict_Next(kwargs, &mut pos, &mut k, &mut v) } != 0 {
        // SAFETY: a type check, then the UTF-8 of an exact str (cached by CPython for these).
        if unsafe { ffi::PyUnicode_CheckExact(k) } == 0 {
            return None;
        }
        let Some(name) = (unsafe { utf8(k) }) else {
            // SAFETY: clears the UnicodeEncodeError `utf8` left (a lone surrogate).
            unsafe { ffi::PyErr_Clear() };
            return None;
        };
        if (first && name != b"content") || name == b"content_blocks" || name == b"self" {
            return None;
        }
        first = false;
    }
    if first {
        return None; // no key at all: `content=None` would be added
    }
    // SAFETY: `object.__new__(cls)` (what `type.__call__` allocates through for these classes:
    // `forwarded_init` checked `cls.__new__ is object.__new__`), then `init(obj, **kwargs)`;
    // every new reference is owned, a failure leaves the exception set.
    unsafe {
        let obj = crate::ffi::object::object_new(cls);
        if obj.is_null() {
            return Some(obj);
        }
        let obj = Owned(obj);
        let args = [obj.0];
        let r = ffi::PyObject_VectorcallDict(init, args.as_ptr(), 1, kwargs);
        if r.is_null() {
            return Some(r);
        }
        let r = Owned(r);
        if r.0 != ffi::Py_None() {
            // type.__call__'s check of what `__init__` returned.
            ffi::PyErr_Format(
                ffi::PyExc_TypeError,
                c"__init__() should return None, not '%.200s'".as_ptr(),
                (*ffi::Py_TYPE(r.0)).tp_name,
            );
            return Some(std::ptr::null_mut());
        }
        Some(obj.into_ptr())
    }
}
