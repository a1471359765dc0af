//! Type-exact deep copies of plain values (exact str, int, float, bool, None, bytes, list, dict,
//! tuple, and sets of strs) for the memo's templates (memo.rs): the identity graph is kept, as
//! `copy.deepcopy`'s memo keeps it (a container reached twice is copied once and shared, as in the
//! original), and a copier that counts gives the memory the copy holds. A copier that counts also
//! finds whether anything was reached twice: a template that is a tree (no container shared) is
//! copied without the identity map, each dict by `PyDict_Copy` and each list by a slice with its
//! containers then replaced by their copies. Nothing here runs Python code beyond built-in types'
//! own `__sizeof__`.

use crate::ffi::typeref::typerefs;
use crate::ffi::{py, Owned};
use pyo3::ffi;
use pyo3::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

/// What an object costs its allocator beyond `__sizeof__` (pymalloc's rounding to 16 bytes, or
/// malloc's header for larger blocks), charged once per object a template holds.
const ALLOC_SLACK: usize = 16;

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

/// One deep copy (of one or several roots that share objects: a model's `__dict__`, extras and
/// private state are copied by one `Copier`, so aliasing across them is kept too).
pub(crate) struct Copier {
    /// Original container address -> its copy (a borrowed pointer: the copy is owned by the tree
    /// being built, alive while the copier is used).
    copies: FxHashMap<usize, *mut ffi::PyObject>,
    /// With `Some`: the scalars counted so far (each once), for `bytes`.
    counted: Option<FxHashSet<usize>>,
    /// The memory the copies and the scalars they hold take, when counting.
    pub(crate) bytes: usize,
    /// A container was reached twice (its copy shared): the copied roots are not a tree.
    pub(crate) shared: bool,
    /// The roots are known to be a tree: no identity map is kept (`tree_copy`).
    tree: bool,
}

impl Copier {
    /// A copier; `count` makes it add up in `bytes` what the copies hold (every new container
    /// and every distinct scalar they reference, `__sizeof__` plus the allocator's slack).
    pub(crate) fn new(count: bool) -> Copier {
        Copier {
            copies: FxHashMap::default(),
            counted: count.then(FxHashSet::default),
            bytes: 0,
            shared: false,
            tree: false,
        }
    }

    /// A copier for roots a counting copier found to be a tree (`shared` false): every container
    /// is reached once, so none is looked up or registered, and the copy is the same graph.
    pub(crate) fn for_tree() -> Copier {
        Copier {
            tree: true,
            ..Copier::new(false)
        }
    }

    fn charge(&mut self, v: *mut ffi::PyObject) -> Option<()> {
        if self.counted.is_none() {
            return Some(());
        }
        // `v` is of an exact built-in type (checked by the caller), whose `__sizeof__` is native.
        let size = size_of(v)?;
        // SAFETY: `v` is live.
        let gc = if unsafe { ffi::PyObject_IS_GC(v) } != 0 {
            16
        } else {
            0
        };
        self.bytes += size as usize + gc + ALLOC_SLACK;
        Some(())
    }

    /// A deep copy of `v`, made of exact scalars, lists, dicts and tuples (new containers,
    /// shared scalars, the identity graph kept); `None` (no error set) for anything else or on
    /// failure. Dict keys must be exact scalars (or tuples of them), whose hashing and comparison
    /// are native.
    pub(crate) fn copy(&mut self, v: *mut ffi::PyObject) -> Option<Owned> {
        if crate::limits::stack_low() {
            return None;
        }
        let r = typerefs();
        // SAFETY: `v` is live; containers are exact types read within bounds; every new reference
        // is owned by `Owned` (PyList_SET_ITEM / PyTuple_SET_ITEM steal the item's reference);
        // `copies` holds borrowed pointers to copies owned by the tree being built; errors are
        // cleared.
        unsafe {
            let tp = ffi::Py_TYPE(v);
            if is_scalar(tp) {
                // An immortal scalar (a small int, an interned name) is shared by the whole
                // process: holding it costs nothing.
                if !crate::ffi::is_immortal(v)
                    && self.counted.as_mut().is_some_and(|c| c.insert(v as usize))
                {
                    self.charge(v)?;
                }
                return Some(Owned(ffi::Py_NewRef(v)));
            }
            if self.tree {
                return self.tree_copy(v, tp);
            }
            if let Some(&done) = self.copies.get(&(v as usize)) {
                self.shared = true;
                return Some(Owned(ffi::Py_NewRef(done)));
            }
            if tp == r.list_type {
                let n = ffi::PyList_GET_SIZE(v);
                let out = Owned(non_null(ffi::PyList_New(n))?);
                self.copies.insert(v as usize, out.0);
                for i in 0..n {
                    if ffi::PyList_GET_SIZE(v) != n {
                        return None;
                    }
                    let item = self.copy(ffi::PyList_GET_ITEM(v, i))?;
                    ffi::PyList_SET_ITEM(out.0, i, item.into_ptr());
                }
                self.charge(out.0)?;
                return Some(out);
            }
            if tp == r.tuple_type {
                let n = ffi::PyTuple_GET_SIZE(v);
                let out = Owned(non_null(ffi::PyTuple_New(n))?);
                for i in 0..n {
                    let item = self.copy(ffi::PyTuple_GET_ITEM(v, i))?;
                    ffi::PyTuple_SET_ITEM(out.0, i, item.into_ptr());
                }
                // Registered once filled (a tuple reached again inside itself needs a list in
                // between, which is registered first).
                self.copies.insert(v as usize, out.0);
                self.charge(out.0)?;
                return Some(out);
            }
            if tp == r.dict_type {
                return self.copy_items(v);
            }
            None
        }
    }

    /// `copy` of the container `v` (of type `tp`) in a tree: no identity map. A dict of exact
    /// scalar keys is copied whole (`PyDict_Copy`: same keys, values and order) and a list sliced,
    /// then each container in it replaced by its copy; anything else as `copy` does.
    ///
    /// # Safety
    /// `v` is a live object of type `tp`, reached once in the roots being copied; attached.
    unsafe fn tree_copy(
        &mut self,
        v: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
    ) -> Option<Owned> {
        let r = typerefs();
        // SAFETY: `v` is a live exact list or dict read within bounds, its size read again before
        // every item (code run by the GC while a copy allocates can reach a template through
        // gc.get_objects() and change it); the copy is new and owned (PyList_SetItem steals the
        // item and releases the slot's old reference, the template's item the slice added);
        // items, keys and values are held across the copies; errors are cleared.
        unsafe {
            if tp == r.list_type {
                let n = ffi::PyList_GET_SIZE(v);
                let out = Owned(non_null(ffi::PyList_GetSlice(v, 0, n))?);
                for i in 0..n {
                    if ffi::PyList_GET_SIZE(v) != n {
                        return None;
                    }
                    let item = ffi::PyList_GET_ITEM(v, i);
                    if !is_scalar(ffi::Py_TYPE(item)) {
                        let item = Owned(ffi::Py_NewRef(item));
                        let copied = self.copy(item.0)?;
                        if ffi::PyList_SetItem(out.0, i, copied.into_ptr()) != 0 {
                            ffi::PyErr_Clear();
                            return None;
                        }
                    }
                }
                return Some(out);
            }
            if tp == r.dict_type {
                let mut pos: ffi::Py_ssize_t = 0;
                let mut k: *mut ffi::PyObject = std::ptr::null_mut();
                let mut val: *mut ffi::PyObject = std::ptr::null_mut();
                while ffi::PyDict_Next(v, &mut pos, &mut k, &mut val) != 0 {
                    if !is_scalar(ffi::Py_TYPE(k)) {
                        return self.copy_items(v);
                    }
                }
                let out = Owned(non_null(ffi::PyDict_Copy(v))?);
                pos = 0;
                while ffi::PyDict_Next(v, &mut pos, &mut k, &mut val) != 0 {
                    if !is_scalar(ffi::Py_TYPE(val)) {
                        let (k, val) = (Owned(ffi::Py_NewRef(k)), Owned(ffi::Py_NewRef(val)));
                        let value = self.copy(val.0)?;
                        if ffi::PyDict_SetItem(out.0, k.0, value.0) != 0 {
                            ffi::PyErr_Clear();
                            return None;
                        }
                    }
                }
                return Some(out);
            }
            if tp == r.tuple_type {
                let n = ffi::PyTuple_GET_SIZE(v);
                let out = Owned(non_null(ffi::PyTuple_New(n))?);
                for i in 0..n {
                    let item = Owned(ffi::Py_NewRef(ffi::PyTuple_GET_ITEM(v, i)));
                    let copied = self.copy(item.0)?;
                    ffi::PyTuple_SET_ITEM(out.0, i, copied.into_ptr());
                }
                return Some(out);
            }
            None
        }
    }

    /// A dict copied item by item (keys copied too: a tuple key is a new tuple, as validation
    /// builds it).
    ///
    /// # Safety
    /// `v` is a live exact dict; attached.
    unsafe fn copy_items(&mut self, v: *mut ffi::PyObject) -> Option<Owned> {
        // SAFETY: as in `copy`'s dict branch.
        unsafe {
            let out = Owned(non_null(ffi::PyDict_New())?);
            if !self.tree {
                self.copies.insert(v as usize, out.0);
            }
            let mut pos: ffi::Py_ssize_t = 0;
            let mut k: *mut ffi::PyObject = std::ptr::null_mut();
            let mut val: *mut ffi::PyObject = std::ptr::null_mut();
            while ffi::PyDict_Next(v, &mut pos, &mut k, &mut val) != 0 {
                if !native_key(k) {
                    return None;
                }
                // Held across the copies below (which allocate, and may let the GC run).
                let (k, val) = (Owned(ffi::Py_NewRef(k)), Owned(ffi::Py_NewRef(val)));
                let key = self.copy(k.0)?;
                let value = self.copy(val.0)?;
                if ffi::PyDict_SetItem(out.0, key.0, value.0) != 0 {
                    ffi::PyErr_Clear();
                    return None;
                }
            }
            self.charge(out.0)?;
            Some(out)
        }
    }

    /// The recipe of the exact set of exact strs `v` (`model_fields_set`), from `order`, a list
    /// of its members: adding them one at a time to a new set (as pydantic-core builds the set)
    /// must give `v`'s very table ([`same_table`]); `None` otherwise, or for anything else. A
    /// set's iteration order, size and growth follow its history, not only its members.
    pub(crate) fn set_recipe(&mut self, v: *mut ffi::PyObject, order: &Owned) -> Option<SetRecipe> {
        // SAFETY: `v` and `order` are live; `v` checked an exact set of exact strs, `order` an
        // exact list of its size, read within bounds; errors cleared.
        unsafe {
            if ffi::PySet_CheckExact(v) == 0
                || !all_strs(v)
                || ffi::PyList_CheckExact(order.0) == 0
                || ffi::PyList_GET_SIZE(order.0) != ffi::PySet_Size(v)
            {
                return None;
            }
            for i in 0..ffi::PyList_GET_SIZE(order.0) {
                if ffi::PyUnicode_CheckExact(ffi::PyList_GET_ITEM(order.0, i)) == 0 {
                    return None;
                }
            }
            let names = Owned(non_null(ffi::PyList_AsTuple(order.0))?);
            let (recipe, built) = SetRecipe::with_first(names)?;
            // The very table: a set replaced by a presized copy, or with a name discarded (a
            // deleted slot) or popped (the finger moved), iterates alike yet grows and pops
            // otherwise.
            if !same_table(v, built.0) {
                return None;
            }
            self.charge(recipe.names.as_ptr())?;
            if let Some(first) = &recipe.first {
                self.charge(first.as_ptr())?;
            }
            Some(recipe)
        }
    }
}

/// How to make a new `model_fields_set` of the same names in the same order: the names (a tuple
/// of exact strs) added one at a time to a new set, as pydantic-core adds them; or, when CPython
/// copies such a set slot for slot, a copy of the first one made (`set(first)`).
///
/// `set(s)` (setobject.c `set_merge`) copies `s`'s table entry by entry when the new table has
/// the same size (its mask) and `s` holds no deleted entries; otherwise it inserts the members
/// anew, in `s`'s table order, into a table of its own size, which may iterate in another order
/// or size itself otherwise than adding them one at a time did. So the copy is used only when it
/// was seen to be `first`'s very table ([`same_table`]), and every later copy of `first` (whose
/// members and their cached hashes never change) is the same table again.
pub(crate) struct SetRecipe {
    names: Py<PyAny>,
    first: Option<Py<PyAny>>,
}

impl SetRecipe {
    /// The recipe of `names`, a tuple of exact strs; `None` (no error set) on failure.
    pub(crate) fn new(names: Owned) -> Option<SetRecipe> {
        SetRecipe::with_first(names).map(|(recipe, _)| recipe)
    }

    /// The recipe of `names` and the set they give added one at a time (a new reference).
    fn with_first(names: Owned) -> Option<(SetRecipe, Owned)> {
        let first = set_of(names.0)?;
        // SAFETY: `first` is a live exact set of exact strs; PySet_New copies it natively; the
        // copy is owned and its table compared with `first`'s (no Python code runs).
        let copies = unsafe {
            let copy = Owned(non_null(ffi::PySet_New(first.0))?);
            same_table(copy.0, first.0)
        };
        let py = py();
        // SAFETY: `names` is an owned reference handed to Py; `first` stays owned by the caller's
        // `Owned`, the recipe taking a reference of its own.
        unsafe {
            let recipe = SetRecipe {
                names: Bound::from_owned_ptr(py, names.into_ptr()).unbind(),
                first: copies.then(|| Bound::from_borrowed_ptr(py, first.0).unbind()),
            };
            Some((recipe, first))
        }
    }

    /// A new set, iterating as the recipe's names added one at a time; `None` (no error set) on
    /// failure.
    pub(crate) fn make(&self) -> Option<Owned> {
        match &self.first {
            // SAFETY: `first` is a live exact set; PySet_New returns a new reference or NULL.
            Some(first) => Some(Owned(non_null(unsafe { ffi::PySet_New(first.as_ptr()) })?)),
            None => set_of(self.names.as_ptr()),
        }
    }
}

/// `v.__sizeof__()` of a live object with a native `__sizeof__`; `None` (no error set) on failure.
fn size_of(v: *mut ffi::PyObject) -> Option<isize> {
    // SAFETY: `v` is live; the result is an owned int, released by Owned; errors cleared.
    unsafe {
        let n = Owned(non_null(ffi::PyObject_CallMethodNoArgs(
            v,
            typerefs().s_sizeof,
        ))?);
        let size = ffi::PyLong_AsSsize_t(n.0);
        if size < 0 {
            ffi::PyErr_Clear();
            return None;
        }
        Some(size)
    }
}

/// A new set of the exact strs of the tuple `names`, added one at a time in their order.
fn set_of(names: *mut ffi::PyObject) -> Option<Owned> {
    // SAFETY: `names` is a live tuple read within bounds; PySet_Add hashes exact strs (native);
    // the new set is owned.
    unsafe {
        let out = Owned(non_null(ffi::PySet_New(std::ptr::null_mut()))?);
        for i in 0..ffi::PyTuple_GET_SIZE(names) {
            if ffi::PySet_Add(out.0, ffi::PyTuple_GET_ITEM(names, i)) != 0 {
                ffi::PyErr_Clear();
                return None;
            }
        }
        Some(out)
    }
}

/// Whether two exact sets have the same table: the same size (`mask`), counts of live and used
/// slots (`used`, `fill`: deleted entries count in `fill`), `finger` (where `pop` starts) and, in
/// every slot, the same key (by address) and hash. Two such sets iterate, grow, shrink and pop
/// alike. CPython's `PySetObject` (Include/cpython/setobject.h, the same fields in 3.10-3.15);
/// false where this build cannot read it (the limited API, PyPy).
fn same_table(a: *mut ffi::PyObject, b: *mut ffi::PyObject) -> bool {
    #[cfg(not(any(Py_LIMITED_API, PyPy, GraalPy)))]
    // SAFETY: both are live exact sets (checked); their tables hold `mask + 1` entries, read
    // within bounds with no Python code run (nothing changes them meanwhile).
    unsafe {
        if ffi::PySet_CheckExact(a) == 0 || ffi::PySet_CheckExact(b) == 0 {
            return false;
        }
        let (x, y) = (
            &*a.cast::<ffi::PySetObject>(),
            &*b.cast::<ffi::PySetObject>(),
        );
        if (x.mask, x.used, x.fill, x.finger) != (y.mask, y.used, y.fill, y.finger) {
            return false;
        }
        let n = x.mask as usize + 1;
        let (tx, ty) = (
            std::slice::from_raw_parts(x.table, n),
            std::slice::from_raw_parts(y.table, n),
        );
        tx.iter()
            .zip(ty)
            .all(|(p, q)| p.key == q.key && p.hash == q.hash)
    }
    #[cfg(any(Py_LIMITED_API, PyPy, GraalPy))]
    {
        let _ = (a, b);
        false
    }
}

/// `p`, or `None` with the error cleared when it is NULL.
fn non_null(p: *mut ffi::PyObject) -> Option<*mut ffi::PyObject> {
    if p.is_null() {
        // SAFETY: attached; clears the error the failed call set.
        unsafe { ffi::PyErr_Clear() };
        return None;
    }
    Some(p)
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

fn all_strs(set: *mut ffi::PyObject) -> bool {
    // SAFETY: iterating a live exact set with the C iteration protocol; owned items.
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
