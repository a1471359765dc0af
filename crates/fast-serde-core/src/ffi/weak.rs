//! Weak references to classes, for the one cache keyed by a class (classmap.rs: the codec's
//! plans, classes, trusted-restore decisions and memo answers). No cache may keep a class alive,
//! and none may mistake a new class at a dead one's address for it.

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyCFunction, PyDict, PyTuple};

/// A `weakref.ref` to a class (or any constructor), with a callback run when it dies.
pub(crate) struct WeakClass(Py<PyAny>);

impl WeakClass {
    /// A weak reference to `ob` that calls `on_death(weakref)` when `ob` dies (from the thread
    /// that drops it, with the GIL held, before its memory is freed). `None`, with no error
    /// pending, when `ob` does not support weak references: then it must not be cached.
    ///
    /// `on_death` must not run Python code: it runs inside the referent's deallocation (or the
    /// garbage collector).
    pub(crate) fn new(
        py: Python<'_>,
        ob: *mut ffi::PyObject,
        on_death: impl Fn(*mut ffi::PyObject) + Send + Sync + 'static,
    ) -> Option<Self> {
        let callback = PyCFunction::new_closure(
            py,
            None,
            None,
            move |args: &Bound<'_, PyTuple>, _: Option<&Bound<'_, PyDict>>| {
                if let Ok(wr) = args.get_item(0) {
                    on_death(wr.as_ptr());
                }
            },
        );
        let Ok(callback) = callback else {
            // SAFETY: attached; drops the error of the failed allocation.
            unsafe { ffi::PyErr_Clear() };
            return None;
        };
        // SAFETY: `ob` and `callback` are live; the new reference (or NULL with an error, which
        // is cleared) is owned by the Py.
        unsafe {
            let wr = ffi::PyWeakref_NewRef(ob, callback.as_ptr());
            if wr.is_null() {
                ffi::PyErr_Clear();
                return None;
            }
            Some(WeakClass(Bound::from_owned_ptr(py, wr).unbind()))
        }
    }

    /// Another reference to the same weakref object.
    pub(crate) fn clone_ref(&self, py: Python<'_>) -> Self {
        WeakClass(self.0.clone_ref(py))
    }

    /// The weakref object itself (what `on_death` is given).
    #[inline]
    pub(crate) fn as_ptr(&self) -> *mut ffi::PyObject {
        self.0.as_ptr()
    }

    /// Whether the referent is `ob`, a live object. False once the referent died, even when `ob`
    /// is a new object allocated at its address (a dead weakref points at None).
    #[inline]
    pub(crate) fn is(&self, ob: *mut ffi::PyObject) -> bool {
        self.referent() == ob
    }

    /// Whether the referent is still alive.
    #[inline]
    pub(crate) fn alive(&self) -> bool {
        // SAFETY: comparing with the None singleton's address.
        self.referent() != unsafe { ffi::Py_None() }
    }

    /// A strong reference to the referent, if it is alive.
    pub(crate) fn upgrade(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        #[cfg(not(Py_3_13))]
        // SAFETY: `self.0` is a live weakref.ref; its referent is borrowed into a new reference
        // at once (no Python code runs in between).
        unsafe {
            let ob = ffi::PyWeakref_GetObject(self.0.as_ptr());
            if ob.is_null() || ob == ffi::Py_None() {
                ffi::PyErr_Clear();
                return None;
            }
            Some(Bound::from_borrowed_ptr(py, ob).unbind())
        }
        #[cfg(Py_3_13)]
        // SAFETY: `self.0` is a live weakref.ref; the strong reference it gives is owned by the Py.
        unsafe {
            let mut ob = std::ptr::null_mut();
            if ffi::PyWeakref_GetRef(self.0.as_ptr(), &mut ob) <= 0 || ob.is_null() {
                ffi::PyErr_Clear();
                return None;
            }
            Some(Bound::from_owned_ptr(py, ob).unbind())
        }
    }

    /// The referent's address, or None's once it died. Only compared, never dereferenced.
    #[inline]
    fn referent(&self) -> *mut ffi::PyObject {
        referent(self.0.as_ptr())
    }
}

/// The referent of `wr`, a live `weakref.ref`, or the None singleton once it died. Borrowed:
/// valid only while nothing can drop the referent (no Python code runs).
#[cfg(not(Py_3_13))]
#[inline]
pub(crate) fn referent(wr: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: `wr` is a live weakref.ref; the result is borrowed (None once dead).
    unsafe { ffi::PyWeakref_GetObject(wr) }
}

/// The referent of `wr`, a live `weakref.ref`, or the None singleton once it died. Borrowed:
/// valid only while nothing can drop the referent (no Python code runs).
#[cfg(Py_3_13)]
#[inline]
pub(crate) fn referent(wr: *mut ffi::PyObject) -> *mut ffi::PyObject {
    let mut ob = std::ptr::null_mut();
    // SAFETY: `wr` is a live weakref.ref; the strong reference it gives (NULL once dead) is
    // released at once: the referent was alive before it, so it still is, borrowed.
    unsafe {
        if ffi::PyWeakref_GetRef(wr, &mut ob) <= 0 || ob.is_null() {
            ffi::PyErr_Clear();
            return ffi::Py_None();
        }
        ffi::Py_DECREF(ob);
    }
    ob
}
