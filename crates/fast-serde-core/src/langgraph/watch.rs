//! The process-wide watched set: what the verdicts on classes rest on outside the classes' own
//! attributes, checked once per document before the first ext 5 payload that would use a
//! cached verdict.
//!
//! A codec caches its trusted-restore decisions (trusted.rs) and its memo's answers (memo.rs) per
//! class and `tp_version_tag` (`ClassMap`). The tag follows the class's own attributes and its
//! bases', not what the verdict also rests on: a module global a reviewed function reads
//! (`langchain_core.messages.ai.create_tool_call`), a reviewed function's `__code__`, defaults or
//! closure cells replaced in place, a `__call__` set on the metaclass. `_verified` records those
//! when it takes a verdict (`_verified_deps.Dep`) and registers them here ([`watch`]). [`check`]
//! compares each with what it was; on any change it bumps the process's generation and empties
//! the set (the verdicts retaken register again). A codec compares its generation with the
//! process's once per document (`LangGraphCodec::watch_fresh`, codec.rs) and, when it moved, drops all
//! its trust decisions and its whole memo.
//!
//! A document without an ext 5 payload never checks ([`stats`] counts the checks). A change made
//! during a document by code the reader runs (a class built by calling it, a hook) is seen by
//! the next payload that uses a verdict ([`recheck`]); one made by another thread, at the
//! reader's next check.
//!
//! What the set holds, per holder (`Group`): a module's dict strongly (it lives with its module)
//! with each watched key and the object expected there; a function weakly, with the `__code__`,
//! `__defaults__` and `__kwdefaults__` expected (strongly: what the function itself holds; a
//! code object holds no class) and the contents of its closure cells; a metaclass weakly, with
//! its `tp_version_tag`. Every expected object that may be a class (a module global, a cell's
//! contents: a `__class__` cell holds one) is held weakly when it allows it. So no entry keeps a
//! class alive (a reloaded module's classes die with it); what is held strongly is a module's
//! dict, a function's code or defaults, or a value that cannot be weakly referenced, each held
//! until the next change empties the set. A dead holder's entries are skipped (nothing reads
//! through it any more) and pruned; a dead expected object is a change.
//!
//! Cost: a check reads, per function, a few fields; per metaclass, its tag; per module dict,
//! its version tag (CPython 3.11-3.13: the items are looked up only when the dict was modified
//! since they were last found as expected; on 3.14, every time).

use crate::error::fallback_ok;
use crate::ffi::object::version_tag;
use crate::ffi::weak::referent;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use rustc_hash::FxHashMap;
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

/// Bumped whenever a check finds a watched object changed.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Checks run since the process started (for tests: a document without models runs none).
static CHECKS: AtomicU64 = AtomicU64::new(0);

static SET: LazyLock<Mutex<Set>> = LazyLock::new(|| Mutex::new(Set::default()));

thread_local! {
    /// Whether this thread's current document has checked already.
    static CHECKED: Cell<bool> = const { Cell::new(false) };
}

#[derive(Default)]
struct Set {
    /// Shared with a running check, which reads a snapshot without the lock.
    groups: Arc<Vec<Arc<Group>>>,
    /// Group by its holder's address and kind, to register each holder once.
    index: FxHashMap<(u8, usize), usize>,
    /// The number of groups after the last pruning of dead holders.
    pruned: usize,
}

fn lock() -> MutexGuard<'static, Set> {
    SET.lock().unwrap_or_else(|e| e.into_inner())
}

/// What is watched on one holder.
enum Group {
    /// A dict (a module's globals, held strongly) mapping each str key to its expected object.
    /// `seen`: the dict's version tag when every item was last found as expected (0: not yet);
    /// while the dict keeps it, it has not been modified and its items are not looked up
    /// (CPython 3.11-3.13; on 3.14, which has no version tag, they are looked up every time).
    Dict {
        dict: Py<PyAny>,
        seen: AtomicU64,
        items: Vec<(Py<PyAny>, Held)>,
    },
    /// A function (weakly held) and what it is expected to hold: its `__code__`,
    /// `__defaults__` and `__kwdefaults__` (held strongly: what the function itself holds; None
    /// where not watched) and the contents of closure cells by index (weakly when they allow
    /// it: a `__class__` cell holds a class). `conflict`: two registrations expected different
    /// objects in one field, so one of them is stale (a change).
    Function {
        func: Held,
        fields: [Option<Py<PyAny>>; 3],
        cells: Vec<(usize, Held)>,
        conflict: bool,
    },
    /// A metaclass (weakly held) and its `tp_version_tag` when its `__call__` was the expected
    /// one: any attribute set on it or a base moves the tag (a change is a new tag, or none).
    Call { meta: Held, tag: u32 },
}

/// An object held by an entry: weakly when it allows it, else strongly.
enum Held {
    Strong(Py<PyAny>),
    /// A `weakref.ref`; `direct` when its referent field was found where [`WeakHead`] says
    /// (checked when it was made), else it is read through the C API.
    Weak(Py<PyAny>, bool),
}

/// The head of CPython's `PyWeakReference` (3.10-3.15): the object header, then the referent
/// (the None singleton once it died). Not in pyo3-ffi (its `_PyWeakReference` is no
/// `#[repr(C)]`); each reference made checks that its referent is found there before it is read
/// so, and is read through the C API otherwise.
#[cfg(not(Py_GIL_DISABLED))]
#[repr(C)]
struct WeakHead {
    ob_base: ffi::PyObject,
    wr_object: *mut ffi::PyObject,
}

impl Held {
    /// `ob` held weakly when it allows it, else strongly.
    fn new(py: Python<'_>, ob: &Bound<'_, PyAny>) -> Held {
        // SAFETY: `ob` is live; a weak reference without callback is a new reference, or NULL
        // with a TypeError (the object does not support weak references), which is cleared.
        unsafe {
            let wr = ffi::PyWeakref_NewRef(ob.as_ptr(), std::ptr::null_mut());
            if wr.is_null() {
                ffi::PyErr_Clear();
                return Held::Strong(ob.clone().unbind());
            }
            #[cfg(not(Py_GIL_DISABLED))]
            // SAFETY: `wr` is a live `weakref.ref` just made; its first two words are the
            // object header and, in every CPython this builds for, the referent: compared only.
            let direct = (*wr.cast::<WeakHead>()).wr_object == ob.as_ptr();
            #[cfg(Py_GIL_DISABLED)]
            let direct = false;
            Held::Weak(Bound::from_owned_ptr(py, wr).unbind(), direct)
        }
    }

    /// The object, or NULL once it died. Borrowed: used only while no Python code runs.
    #[inline]
    fn get(&self) -> *mut ffi::PyObject {
        match self {
            Held::Strong(o) => o.as_ptr(),
            Held::Weak(w, direct) => {
                #[cfg(not(Py_GIL_DISABLED))]
                let ob = if *direct {
                    // SAFETY: `w` is a live `weakref.ref` whose referent field was found where
                    // `WeakHead` puts it when it was made; read with the GIL held.
                    unsafe { (*w.as_ptr().cast::<WeakHead>()).wr_object }
                } else {
                    referent(w.as_ptr())
                };
                #[cfg(Py_GIL_DISABLED)]
                let ob = {
                    let _ = direct;
                    referent(w.as_ptr())
                };
                // SAFETY: the None singleton's address.
                if ob == unsafe { ffi::Py_None() } {
                    std::ptr::null_mut()
                } else {
                    ob
                }
            }
        }
    }

    /// Whether the object is `ob` (a dead one is no object).
    #[inline]
    fn is(&self, ob: *mut ffi::PyObject) -> bool {
        let e = self.get();
        !e.is_null() && e == ob
    }
}

/// A NULL field read as the None Python shows for it.
#[inline]
fn or_none(p: *mut ffi::PyObject) -> *mut ffi::PyObject {
    if p.is_null() {
        // SAFETY: the None singleton's address.
        unsafe { ffi::Py_None() }
    } else {
        p
    }
}

/// A dict's version tag (CPython 3.11-3.13: renewed on every modification), or 0 (none: the
/// items are looked up).
#[inline]
fn dict_version(d: *mut ffi::PyObject) -> u64 {
    #[cfg(not(any(Py_3_14, Py_GIL_DISABLED)))]
    // SAFETY: `d` is a live dict; one of its fields is read with the GIL held.
    #[allow(deprecated)]
    unsafe {
        (*d.cast::<ffi::PyDictObject>()).ma_version_tag
    }
    #[cfg(any(Py_3_14, Py_GIL_DISABLED))]
    {
        let _ = d;
        0
    }
}

/// What the function `f` (a live function) holds: `__code__`, `__defaults__`, `__kwdefaults__`
/// (None for a NULL field), borrowed.
///
/// # Safety
/// `f` must be a live function object; no Python code may run while the result is used.
#[inline]
unsafe fn function_fields(f: *mut ffi::PyObject) -> [*mut ffi::PyObject; 3] {
    let f = f.cast::<ffi::PyFunctionObject>();
    [
        (*f).func_code,
        or_none((*f).func_defaults),
        or_none((*f).func_kwdefaults),
    ]
}

/// The contents of closure cell number `i` of the function `f` (a live function), borrowed;
/// NULL for a missing or empty cell.
///
/// # Safety
/// `f` must be a live function object; no Python code may run while the result is used.
#[inline]
unsafe fn cell_contents(f: *mut ffi::PyObject, i: usize) -> *mut ffi::PyObject {
    let closure = (*f.cast::<ffi::PyFunctionObject>()).func_closure;
    if closure.is_null()
        || ffi::PyTuple_Check(closure) == 0
        || ffi::PyTuple_GET_SIZE(closure) as usize <= i
    {
        return std::ptr::null_mut();
    }
    let cell = ffi::PyTuple_GET_ITEM(closure, i as ffi::Py_ssize_t);
    if ffi::PyCell_Check(cell) == 0 {
        return std::ptr::null_mut();
    }
    (*cell.cast::<ffi::PyCellObject>()).ob_ref
}

impl Group {
    /// Whether a watched object is another one now. False when the holder died (nothing reads
    /// through it any more). Runs no Python code: fields are read directly and a dict is looked
    /// up by exact str keys (an error, from a key of another type whose comparison raised, is
    /// left set for the caller, and counts as a change).
    fn changed(&self) -> bool {
        match self {
            Group::Call { meta, tag } => {
                let m = meta.get();
                // SAFETY: `m` is a live type (checked at registration; a type stays a type).
                !m.is_null() && {
                    let now = version_tag(m);
                    now == 0 || now != *tag
                }
            }
            Group::Dict { dict, seen, items } => {
                let d = dict.as_ptr();
                let version = dict_version(d);
                if version != 0 && version == seen.load(Ordering::Relaxed) {
                    return false;
                }
                for (key, expected) in items {
                    // SAFETY: a live dict looked up by a live exact str key; the result is
                    // borrowed and only compared.
                    let v = unsafe { ffi::PyDict_GetItemWithError(d, key.as_ptr()) };
                    if v.is_null() || !expected.is(v) {
                        return true;
                    }
                }
                seen.store(version, Ordering::Relaxed);
                false
            }
            Group::Function {
                func,
                fields,
                cells,
                conflict,
            } => {
                let f = func.get();
                if f.is_null() {
                    return false;
                }
                if *conflict {
                    return true;
                }
                // SAFETY: `f` is a live function (checked at registration; its type cannot
                // change); the fields are borrowed and only compared.
                let now = unsafe { function_fields(f) };
                if (fields.iter().zip(now))
                    .any(|(e, v)| e.as_ref().is_some_and(|e| e.as_ptr() != v))
                {
                    return true;
                }
                cells.iter().any(|(i, expected)| {
                    // SAFETY: as above.
                    let v = unsafe { cell_contents(f, *i) };
                    v.is_null() || !expected.is(v)
                })
            }
        }
    }

    /// The holder's address (0 once it died) and the group's kind, its key in `Set::index`.
    fn key(&self) -> (u8, usize) {
        match self {
            Group::Dict { dict, .. } => (0, dict.as_ptr() as usize),
            Group::Function { func, .. } => (1, func.get() as usize),
            Group::Call { meta, .. } => (2, meta.get() as usize),
        }
    }

    fn alive(&self) -> bool {
        self.key().1 != 0
    }

    /// This group with `other`'s watched objects added (same holder): those it does not hold
    /// already, by identity. None when nothing is new.
    fn merged(&self, py: Python<'_>, other: &Group) -> Option<Group> {
        let held = |h: &Held| match h {
            Held::Strong(o) => Held::Strong(o.clone_ref(py)),
            Held::Weak(w, direct) => Held::Weak(w.clone_ref(py), *direct),
        };
        match (self, other) {
            (Group::Dict { dict, items, .. }, Group::Dict { items: more, .. }) => {
                let new: Vec<_> = (more.iter())
                    .filter(|(k, e)| {
                        !items
                            .iter()
                            .any(|(k2, e2)| k2.as_ptr() == k.as_ptr() && e2.get() == e.get())
                    })
                    .collect();
                if new.is_empty() {
                    return None;
                }
                let items = (items.iter().chain(new))
                    .map(|(k, e)| (k.clone_ref(py), held(e)))
                    .collect();
                Some(Group::Dict {
                    dict: dict.clone_ref(py),
                    seen: AtomicU64::new(0),
                    items,
                })
            }
            (
                Group::Function {
                    func,
                    fields,
                    cells,
                    conflict,
                },
                Group::Function {
                    fields: more_fields,
                    cells: more_cells,
                    ..
                },
            ) => {
                let new_cells: Vec<_> = (more_cells.iter())
                    .filter(|(i, e)| !cells.iter().any(|(i2, e2)| i2 == i && e2.get() == e.get()))
                    .collect();
                let mut conflict = *conflict;
                let mut changed = !new_cells.is_empty();
                let fields: [Option<Py<PyAny>>; 3] =
                    std::array::from_fn(|i| match (&fields[i], &more_fields[i]) {
                        (Some(a), Some(b)) => {
                            if a.as_ptr() != b.as_ptr() {
                                conflict = true;
                                changed = true;
                            }
                            Some(a.clone_ref(py))
                        }
                        (Some(a), None) => Some(a.clone_ref(py)),
                        (None, Some(b)) => {
                            changed = true;
                            Some(b.clone_ref(py))
                        }
                        (None, None) => None,
                    });
                if !changed {
                    return None;
                }
                let cells = (cells.iter().chain(new_cells))
                    .map(|(i, e)| (*i, held(e)))
                    .collect();
                Some(Group::Function {
                    func: held(func),
                    fields,
                    cells,
                    conflict,
                })
            }
            // A metaclass's tag now: the same, or a change the next check sees either way.
            _ => None,
        }
    }
}

/// The process's generation: moves when a check finds a watched object changed.
#[inline]
pub(crate) fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}

/// A new document begins on this thread: its first ext 5 payload checks the set.
#[inline]
pub(crate) fn begin_document() {
    CHECKED.set(false);
}

/// Code outside the reviewed set ran on this thread (a class built by calling it, a fallback,
/// a hook): it may have changed what a verdict rests on, so the next ext 5 payload that would use
/// one checks the set again, as the document's first one does.
#[inline]
pub(crate) fn recheck() {
    CHECKED.set(false);
}

/// Whether this is the document's first ext 5 payload, the one that checks the set (marked
/// as checked from now).
#[inline]
pub(crate) fn first_of_document() -> bool {
    !CHECKED.replace(true)
}

/// Compare every watched object with what it was; on a change bump the generation and empty
/// the set. Returns the generation. Holds no lock while comparing (it reads a snapshot). `Err`
/// only for an exception that is not an `Exception` raised by a dict key's comparison (the one
/// way a lookup could run Python code); an `Exception` there counts as a change.
#[inline(never)]
pub(crate) fn check(py: Python<'_>) -> PyResult<u64> {
    let snapshot = lock().groups.clone();
    CHECKS.fetch_add(1, Ordering::Relaxed);
    let changed = snapshot.iter().any(|g| g.changed());
    if let Some(err) = PyErr::take(py) {
        if !fallback_ok(py, &err) {
            return Err(err);
        }
    }
    if changed {
        renew();
    }
    drop(snapshot);
    Ok(generation())
}

/// Bump the generation and empty the set: every codec drops, at its next document that would use
/// one, the trust decisions and memo answers taken before (`LangGraphCodec::watch_fresh`), and
/// the verdicts retaken register what they rest on again. A check that finds a change does
/// this; so does `clear_cache()`.
pub(crate) fn renew() {
    let old = {
        let mut set = lock();
        GENERATION.fetch_add(1, Ordering::AcqRel);
        set.index.clear();
        set.pruned = 0;
        std::mem::take(&mut set.groups)
    };
    // Released with no lock held: releasing a strong reference may run Python code.
    drop(old);
}

/// `watch(deps)`: watch each `(kind, holder, key, value)` of `deps` (`_verified_deps.Dep`):
/// `"item"` (the dict `holder` maps the str `key` to `value`), `"code"`, `"defaults"`,
/// `"kwdefaults"` (the function `holder`'s `__code__`, `__defaults__`, `__kwdefaults__` is
/// `value`), `"cell"` (closure cell number `key` of the function `holder` holds `value`),
/// `"call"` (the metaclass `holder`'s `__call__` is `value`: followed by the metaclass's
/// `tp_version_tag` from now), `"class"` (the class `holder`'s own attributes and its bases': its
/// `tp_version_tag` from now; `key` and `value` unused). Each is registered once. Raises TypeError or ValueError for a
/// malformed item (nothing of `deps` is registered then).
#[pyfunction]
pub(crate) fn watch(py: Python<'_>, deps: &Bound<'_, PyAny>) -> PyResult<()> {
    // Built before the lock is taken: weak references are made and objects inspected.
    let mut fresh: Vec<Group> = Vec::new();
    for dep in deps.try_iter()? {
        let dep = dep?;
        let kind: String = dep.get_item(0)?.extract()?;
        let holder = dep.get_item(1)?;
        let key = dep.get_item(2)?;
        let value = dep.get_item(3)?;
        let p = holder.as_ptr();
        let wrong = || pyo3::exceptions::PyTypeError::new_err("a watched holder of another type");
        let group = match kind.as_str() {
            "item" => {
                // SAFETY: type checks on live objects.
                if unsafe {
                    ffi::PyDict_Check(p) == 0 || ffi::PyUnicode_CheckExact(key.as_ptr()) == 0
                } {
                    return Err(wrong());
                }
                Group::Dict {
                    dict: holder.clone().unbind(),
                    seen: AtomicU64::new(0),
                    items: vec![(key.unbind(), Held::new(py, &value))],
                }
            }
            "code" | "defaults" | "kwdefaults" | "cell" => {
                // SAFETY: a type check on a live object.
                if unsafe { ffi::PyFunction_Check(p) } == 0 {
                    return Err(wrong());
                }
                let mut fields: [Option<Py<PyAny>>; 3] = [None, None, None];
                let mut cells = Vec::new();
                match kind.as_str() {
                    "code" => fields[0] = Some(value.unbind()),
                    "defaults" => fields[1] = Some(value.unbind()),
                    "kwdefaults" => fields[2] = Some(value.unbind()),
                    _ => cells.push((key.extract()?, Held::new(py, &value))),
                }
                Group::Function {
                    func: Held::new(py, &holder),
                    fields,
                    cells,
                    conflict: false,
                }
            }
            "call" => {
                // SAFETY: a type check on a live object.
                if unsafe { ffi::PyType_Check(p) } == 0 {
                    return Err(wrong());
                }
                // The metaclass's tag, once a lookup of `__call__` gave it one; 0 (a change at
                // the next check) when that lookup does not find `value`.
                let tag = match holder.getattr(pyo3::intern!(py, "__call__")) {
                    Ok(found) if found.is(&value) => version_tag(p),
                    Ok(_) => 0,
                    Err(e) if fallback_ok(py, &e) => 0,
                    Err(e) => return Err(e),
                };
                Group::Call {
                    meta: Held::new(py, &holder),
                    tag,
                }
            }
            "class" => {
                // SAFETY: a type check on a live object.
                if unsafe { ffi::PyType_Check(p) } == 0 {
                    return Err(wrong());
                }
                // A lookup through the class gives it a tag if it has none (the method cache
                // assigns one); a class that cannot have one (0) is a change at the next check.
                if let Err(e) = holder.hasattr(pyo3::intern!(py, "__init__")) {
                    if !fallback_ok(py, &e) {
                        return Err(e);
                    }
                }
                Group::Call {
                    meta: Held::new(py, &holder),
                    tag: version_tag(p),
                }
            }
            _ => {
                return Err(pyo3::exceptions::PyValueError::new_err(
                    "unknown watch kind",
                ))
            }
        };
        fresh.push(group);
    }
    let (released, pruned) = {
        let mut set = lock();
        let mut released: Vec<Arc<Group>> = Vec::new();
        for g in fresh {
            let k = g.key();
            let at = (set.index.get(&k).copied()).filter(|&i| set.groups[i].key() == k);
            match at {
                Some(i) => {
                    if let Some(merged) = set.groups[i].merged(py, &g) {
                        let old = std::mem::replace(
                            &mut Arc::make_mut(&mut set.groups)[i],
                            Arc::new(merged),
                        );
                        released.push(old);
                    }
                    released.push(Arc::new(g));
                }
                None => {
                    let at = set.groups.len();
                    Arc::make_mut(&mut set.groups).push(Arc::new(g));
                    set.index.insert(k, at);
                }
            }
        }
        // Groups whose holder died go when the set doubled since the last pruning.
        let mut pruned = Vec::new();
        if set.groups.len() >= 64 && set.groups.len() >= 2 * set.pruned {
            let (live, dead): (Vec<_>, Vec<_>) =
                (set.groups.iter().cloned()).partition(|g| g.alive());
            pruned = dead;
            set.index = (live.iter().enumerate())
                .map(|(i, g)| (g.key(), i))
                .collect();
            set.pruned = live.len();
            set.groups = Arc::new(live);
        }
        (released, pruned)
    };
    // Released with no lock held.
    drop(released);
    drop(pruned);
    Ok(())
}

/// `watch_stats()`: `{"entries", "generation", "checks"}`: the watched objects now, the
/// process's generation (how many checks found a change), the checks run since the process
/// started (one per document that used a cached verdict).
#[pyfunction(name = "watch_stats")]
pub(crate) fn stats(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    let entries: usize = (lock().groups.iter())
        .map(|g| match &**g {
            Group::Dict { items, .. } => items.len(),
            Group::Function { fields, cells, .. } => fields.iter().flatten().count() + cells.len(),
            Group::Call { .. } => 1,
        })
        .sum();
    d.set_item("entries", entries)?;
    d.set_item("generation", generation())?;
    d.set_item("checks", CHECKS.load(Ordering::Relaxed))?;
    Ok(d)
}
