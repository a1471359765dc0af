//! A memo of validated pydantic models (ext 5), one per codec.
//!
//! LangGraph loads the same messages again and again (each invoke of a thread loads its whole
//! message list; history and time travel load checkpoints that share all but the newest ones).
//! Validating a model (`cls(**kwargs)`) is most of JsonPlusSerializer's load, so the reader keeps,
//! for an ext 5 payload it validated, a *template*: a copy of the validated object's state
//! (`__dict__`, `__pydantic_fields_set__`, `__pydantic_extra__`, `__pydantic_private__`). When the
//! exact same payload bytes come again, for the same class, the object is rebuilt from the
//! template: a new model whose containers are all new (mutating a loaded message never changes
//! what a later load returns) and whose scalars are the template's own immutable ones.
//!
//! Exactness:
//! * an entry serves hits only once *verified*. The first sight of a payload only marks it (its
//!   bytes and class: the fill costs a hash and a copy of the bytes); the second sight validates
//!   it again and keeps a copy of that result as the template; the third validates it once more
//!   and compares the result, type for type, with the template. A class whose validation is not
//!   a function of the payload alone (a validator reading a clock, a counter, randomness) gives
//!   another result and is validated every time from then on (`rejected`);
//! * only payloads without nested ext values are kept (their events and constructors run per
//!   object), and only states made of `str`, `int`, `float`, `bool`, `None`, `bytes`, `list`,
//!   `dict` and `tuple` (exact types), which the copy reproduces exactly;
//! * the class is held weakly, and a hit must resolve (through the allowlist, with its events) to
//!   that very class object: a reloaded or redefined class misses;
//! * a class opts out with `__fast_serde_memo__ = False`, a serializer with `memo_bytes=0`.
//!
//! Memory is bounded by a byte budget (an estimate: the payload and three times its size for the
//! template), evicting the least recently used entries.

use super::copy::{copy, copy_set, same, same_set};
use crate::ffi::typeref::typerefs;
use crate::ffi::Owned;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyWeakrefReference;
use rustc_hash::{FxHashMap, FxHasher};
use smallvec::SmallVec;
use std::hash::Hasher;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// The default budget of a codec's memo: 64 MiB.
pub(crate) const DEFAULT_MEMO_BYTES: usize = 64 << 20;

/// Payloads larger than this are not kept (one entry may not take a large part of the budget).
const MAX_PAYLOAD_SHARE: usize = 16;

pub(crate) struct Memo {
    budget: AtomicUsize,
    state: Mutex<State>,
    hits: AtomicU64,
    misses: AtomicU64,
    fills: AtomicU64,
    verified: AtomicU64,
    rejected: AtomicU64,
}

#[derive(Default)]
struct State {
    map: FxHashMap<u64, SmallVec<[Arc<Entry>; 1]>>,
    bytes: usize,
    entries: usize,
    clock: u64,
    /// Classes validated every time: their validation did not repeat, or they opted out.
    rejected: FxHashMap<usize, Py<PyWeakrefReference>>,
}

pub(crate) struct Entry {
    /// The class's address and the payload's length, from the first sight: an entry without
    /// `kept` matches by these and the payload's hash.
    cls_addr: usize,
    len: usize,
    /// Set on the second sight: the class (weakly), the payload's bytes and a copy of that
    /// validation's result.
    kept: OnceLock<Kept>,
    verified: AtomicBool,
    used: AtomicU64,
    size: usize,
}

struct Kept {
    cls: Py<PyWeakrefReference>,
    /// The class's `tp_version_tag` when the template was taken: CPython gives a type a new tag
    /// whenever it or a base is modified (`model_rebuild`, a replaced `__init__` or validator),
    /// and a hit requires the same tag.
    version: u32,
    payload: Box<[u8]>,
    template: Template,
}

/// The state of a validated model, held without its class.
struct Template {
    dict: Py<PyAny>,
    fields_set: Py<PyAny>,
    extra: Py<PyAny>,
    private: Py<PyAny>,
}

fn hash(payload: &[u8]) -> u64 {
    let mut h = FxHasher::default();
    h.write(payload);
    h.finish()
}

impl Memo {
    pub(crate) fn new(budget: usize) -> Memo {
        Memo {
            budget: AtomicUsize::new(budget),
            state: Mutex::new(State::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            fills: AtomicU64::new(0),
            verified: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.budget.load(Ordering::Relaxed) > 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The entry for these exact payload bytes, if any (its class is checked by the caller).
    pub(crate) fn lookup(&self, payload: &[u8]) -> Option<Arc<Entry>> {
        let mut st = self.lock();
        st.clock += 1;
        let now = st.clock;
        let found = st
            .map
            .get(&hash(payload))
            .and_then(|b| b.iter().find(|e| e.matches(payload)).cloned());
        match &found {
            Some(e) => e.used.store(now, Ordering::Relaxed),
            None => {
                self.misses.fetch_add(1, Ordering::Relaxed);
            }
        }
        found
    }

    /// Whether `cls` is validated every time (rejected, opted out, or dead-and-reused address).
    pub(crate) fn is_rejected(&self, py: Python<'_>, cls: *mut ffi::PyObject) -> bool {
        let st = self.lock();
        st.rejected
            .get(&(cls as usize))
            .is_some_and(|w| w.bind(py).upgrade().is_some_and(|c| c.as_ptr() == cls))
    }

    /// Validate `cls` every time from now on, and drop its entries.
    pub(crate) fn reject(&self, py: Python<'_>, cls: &Bound<'_, PyAny>) {
        let Ok(weak) = PyWeakrefReference::new(cls) else {
            return;
        };
        let addr = cls.as_ptr() as usize;
        let mut st = self.lock();
        st.rejected.retain(|_, w| w.bind(py).upgrade().is_some());
        st.rejected.insert(addr, weak.unbind());
        let mut freed = (0usize, 0usize);
        st.map.retain(|_, bucket| {
            bucket.retain(|e| {
                let keep = e.cls_addr != addr;
                if !keep {
                    freed.0 += e.size;
                    freed.1 += 1;
                }
                keep
            });
            !bucket.is_empty()
        });
        st.bytes -= freed.0;
        st.entries -= freed.1;
        self.rejected.fetch_add(1, Ordering::Relaxed);
    }

    /// First sight of `payload`, just validated as `cls(**kwargs)` into `obj`: remember that it
    /// was seen (its hash, length and class address only: the fill costs a hash). A class that
    /// opts out (`__fast_serde_memo__ = False`) is rejected instead.
    pub(crate) fn mark(
        &self,
        py: Python<'_>,
        cls: &Bound<'_, PyAny>,
        payload: &[u8],
        obj: *mut ffi::PyObject,
    ) {
        let budget = self.budget.load(Ordering::Relaxed);
        let size = payload.len() * 4 + 256;
        if budget == 0 || size > budget / MAX_PAYLOAD_SHARE {
            return;
        }
        // SAFETY: reading the type of a live object.
        if unsafe { ffi::Py_TYPE(obj) }.cast() != cls.as_ptr() {
            return;
        }
        if opted_out(py, cls.as_ptr()) {
            self.reject(py, cls);
            return;
        }
        let entry = Arc::new(Entry {
            cls_addr: cls.as_ptr() as usize,
            len: payload.len(),
            kept: OnceLock::new(),
            verified: AtomicBool::new(false),
            used: AtomicU64::new(0),
            size,
        });
        let evicted = {
            let mut st = self.lock();
            st.clock += 1;
            entry.used.store(st.clock, Ordering::Relaxed);
            let bucket = st.map.entry(hash(payload)).or_default();
            if bucket.iter().any(|e| e.matches(payload)) {
                return; // another thread marked it meanwhile
            }
            bucket.push(entry);
            st.bytes += size;
            st.entries += 1;
            evict(&mut st, budget)
        };
        // The evicted templates are released here, outside the lock (their release may run
        // Python code through the GC).
        drop(evicted);
    }

    /// Second sight: `obj` validated from `payload` (of the entry's hash and length); keep the
    /// class weakly, the bytes, and a copy of `obj`'s state as the template. A state the copy
    /// cannot reproduce rejects the class.
    pub(crate) fn keep(
        &self,
        py: Python<'_>,
        entry: &Entry,
        cls: &Bound<'_, PyAny>,
        payload: &[u8],
        obj: *mut ffi::PyObject,
    ) {
        // SAFETY: reading the type of a live object.
        if unsafe { ffi::Py_TYPE(obj) }.cast() != cls.as_ptr() {
            return self.reject(py, cls);
        }
        let (Some(template), Ok(weak)) = (Template::of(py, obj), PyWeakrefReference::new(cls))
        else {
            return self.reject(py, cls);
        };
        let version = version_tag(cls.as_ptr());
        if version == 0 {
            return; // no tag to follow the class by: not kept
        }
        let kept = Kept {
            cls: weak.unbind(),
            version,
            payload: Box::from(payload),
            template,
        };
        if entry.kept.set(kept).is_ok() {
            self.fills.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// `verified`: a second validation of the entry's payload gave `obj`; compare it with the
    /// template. Equal: the entry serves hits from now on. Different: the class is rejected.
    pub(crate) fn verify(
        &self,
        py: Python<'_>,
        entry: &Entry,
        cls: &Bound<'_, PyAny>,
        obj: *mut ffi::PyObject,
    ) {
        // SAFETY: reading the type of a live object.
        let same_type = unsafe { ffi::Py_TYPE(obj) }.cast() == cls.as_ptr();
        if same_type
            && entry
                .kept
                .get()
                .is_some_and(|k| k.template.matches(py, obj))
        {
            entry.verified.store(true, Ordering::Relaxed);
            self.verified.fetch_add(1, Ordering::Relaxed);
        } else {
            self.reject(py, cls);
        }
    }

    /// Drop `entry` (kept for a class object that is no longer the one its name resolves to).
    pub(crate) fn forget(&self, entry: &Entry) {
        let removed = {
            let mut st = self.lock();
            let mut removed = None;
            for bucket in st.map.values_mut() {
                if let Some(i) = bucket.iter().position(|e| std::ptr::eq(&**e, entry)) {
                    removed = Some(bucket.swap_remove(i));
                    break;
                }
            }
            if let Some(e) = &removed {
                st.bytes -= e.size;
                st.entries -= 1;
            }
            st.map.retain(|_, b| !b.is_empty());
            removed
        };
        drop(removed);
    }

    /// Count a hit (an object built from a verified entry).
    pub(crate) fn hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn set_budget(&self, budget: usize) {
        self.budget.store(budget, Ordering::Relaxed);
        let evicted = evict(&mut self.lock(), budget);
        drop(evicted);
    }

    pub(crate) fn clear(&self) {
        let old = std::mem::take(&mut *self.lock());
        drop(old);
    }

    /// `(hits, misses, fills, verified, rejected, entries, bytes, budget)`.
    pub(crate) fn stats(&self) -> [u64; 8] {
        let (entries, bytes) = {
            let st = self.lock();
            (st.entries as u64, st.bytes as u64)
        };
        [
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
            self.fills.load(Ordering::Relaxed),
            self.verified.load(Ordering::Relaxed),
            self.rejected.load(Ordering::Relaxed),
            entries,
            bytes,
            self.budget.load(Ordering::Relaxed) as u64,
        ]
    }
}

/// Drop the least recently used entries until the memo fits 7/8 of `budget` (0: drop all).
/// Returns them, to be released once the lock is let go.
fn evict(st: &mut State, budget: usize) -> Vec<Arc<Entry>> {
    if st.bytes <= budget {
        return Vec::new();
    }
    let target = budget - budget / 8;
    let mut all: Vec<(u64, u64, usize)> = st
        .map
        .iter()
        .flat_map(|(h, b)| {
            b.iter()
                .map(|e| (e.used.load(Ordering::Relaxed), *h, e.size))
        })
        .collect();
    all.sort_unstable();
    let mut out = Vec::new();
    for (used, h, _) in all {
        if st.bytes <= target {
            break;
        }
        if let Some(bucket) = st.map.get_mut(&h) {
            if let Some(i) = bucket
                .iter()
                .position(|e| e.used.load(Ordering::Relaxed) == used)
            {
                let e = bucket.swap_remove(i);
                st.bytes -= e.size;
                st.entries -= 1;
                out.push(e);
            }
            if bucket.is_empty() {
                st.map.remove(&h);
            }
        }
    }
    out
}

impl Entry {
    pub(crate) fn is_verified(&self) -> bool {
        self.verified.load(Ordering::Relaxed)
    }

    pub(crate) fn has_template(&self) -> bool {
        self.kept.get().is_some()
    }

    /// Whether these are the entry's bytes: the same once kept; before, the same length (the
    /// hash matched too). A collision before the second sight only decides when the template is
    /// taken: it is taken from, and compared on, the bytes kept with it.
    fn matches(&self, payload: &[u8]) -> bool {
        match self.kept.get() {
            Some(k) => &k.payload[..] == payload,
            None => self.len == payload.len(),
        }
    }

    /// Whether `cls` is the very class this entry was kept for (alive, same object, not
    /// modified since).
    pub(crate) fn is_for(&self, py: Python<'_>, cls: *mut ffi::PyObject) -> bool {
        self.cls_addr == cls as usize
            && self.kept.get().is_none_or(|k| {
                k.version == version_tag(cls)
                    && k.cls.bind(py).upgrade().is_some_and(|c| c.as_ptr() == cls)
            })
    }

    /// A new `cls` object from the template: `object.__new__(cls)` and its four pydantic slots
    /// set as `BaseModel.__setstate__` sets them, every container new. `None` (no error set) if
    /// anything fails: the caller validates instead.
    pub(crate) fn build(&self, cls: *mut ffi::PyObject) -> Option<*mut ffi::PyObject> {
        let t = &self.kept.get()?.template;
        let refs = typerefs();
        let parts = [
            (refs.s_dunder_dict, copy(t.dict.as_ptr())?),
            (refs.s_fields_set, copy_set(t.fields_set.as_ptr())?),
            (refs.s_pydantic_extra, copy(t.extra.as_ptr())?),
            (refs.s_pydantic_private, copy(t.private.as_ptr())?),
        ];
        // SAFETY: `cls` is a live class; object.__new__(cls) gives a new reference (NULL on
        // error, cleared); the slots are set through object.__setattr__ semantics; every new
        // reference is released by `Owned` on every path.
        unsafe {
            let obj = ffi::PyObject_CallOneArg(refs.object_new, cls);
            if obj.is_null() {
                ffi::PyErr_Clear();
                return None;
            }
            let obj = Owned(obj);
            for (name, value) in &parts {
                if ffi::PyObject_GenericSetAttr(obj.0, *name, value.0) != 0 {
                    ffi::PyErr_Clear();
                    return None;
                }
            }
            Some(obj.into_ptr())
        }
    }
}

impl Template {
    /// The template of a validated model, or `None` when its state holds anything but the
    /// exact types the copy reproduces.
    fn of(py: Python<'_>, obj: *mut ffi::PyObject) -> Option<Template> {
        let refs = typerefs();
        // SAFETY: generic attribute reads on a live model (the four slots pydantic defines),
        // owned results; errors cleared. `copy` runs no Python code.
        unsafe {
            let get = |name: *mut ffi::PyObject| -> Option<Owned> {
                let v = if name == refs.s_dunder_dict {
                    ffi::PyObject_GenericGetDict(obj, std::ptr::null_mut())
                } else {
                    ffi::PyObject_GenericGetAttr(obj, name)
                };
                if v.is_null() {
                    ffi::PyErr_Clear();
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
            for v in [&extra, &private] {
                if v.0 != ffi::Py_None() && ffi::PyDict_CheckExact(v.0) == 0 {
                    return None;
                }
            }
            let own = |o: Owned| Bound::from_owned_ptr(py, o.into_ptr()).unbind();
            Some(Template {
                dict: own(copy(dict.0)?),
                fields_set: own(copy_set(fields_set.0)?),
                extra: own(copy(extra.0)?),
                private: own(copy(private.0)?),
            })
        }
    }

    /// Whether `obj`'s state equals the template, type for type, key order included.
    fn matches(&self, py: Python<'_>, obj: *mut ffi::PyObject) -> bool {
        let Some(other) = Template::of(py, obj) else {
            return false;
        };
        same(self.dict.as_ptr(), other.dict.as_ptr())
            && same_set(self.fields_set.as_ptr(), other.fields_set.as_ptr())
            && same(self.extra.as_ptr(), other.extra.as_ptr())
            && same(self.private.as_ptr(), other.private.as_ptr())
    }
}

/// Whether the memo leaves `cls` alone: it (or a class it inherits from) sets
/// `__fast_serde_memo__ = False`, or it is a pydantic RootModel (which keeps its extra and
/// private state outside the four slots a template restores).
fn opted_out(py: Python<'_>, cls: *mut ffi::PyObject) -> bool {
    class_attr(cls, pyo3::intern!(py, "__fast_serde_memo__").as_ptr()) == Some(false)
        || class_attr(cls, pyo3::intern!(py, "__pydantic_root_model__").as_ptr()) == Some(true)
}

/// A bool class attribute of `cls`, looked up in the class dicts along the MRO (so no metaclass
/// `__getattr__` runs): `Some(value)` when the first class defining it sets `True` or `False`.
fn class_attr(cls: *mut ffi::PyObject, name: *mut ffi::PyObject) -> Option<bool> {
    // SAFETY: `cls` is a live class (a type object); its MRO tuple and the dicts of its bases are
    // read borrowed; the lookup of an exact str key runs no Python code; errors are cleared.
    unsafe {
        let tp = cls.cast::<ffi::PyTypeObject>();
        let mro = (*tp).tp_mro;
        if mro.is_null() || ffi::PyTuple_Check(mro) == 0 {
            return None;
        }
        for i in 0..ffi::PyTuple_GET_SIZE(mro) {
            let base = ffi::PyTuple_GET_ITEM(mro, i).cast::<ffi::PyTypeObject>();
            let dict = (*base).tp_dict;
            if dict.is_null() {
                continue; // static built-in types on 3.12+ (object): no such attribute
            }
            let v = ffi::PyDict_GetItemWithError(dict, name);
            if !v.is_null() {
                return (v == ffi::Py_True() || v == ffi::Py_False()).then(|| v == ffi::Py_True());
            }
            if !ffi::PyErr_Occurred().is_null() {
                ffi::PyErr_Clear();
                return None;
            }
        }
        None
    }
}
/// A class's `tp_version_tag` (0: none assigned).
pub(crate) fn version_tag(cls: *mut ffi::PyObject) -> u32 {
    // SAFETY: `cls` is a live type object; reading one of its fields.
    unsafe { (*cls.cast::<ffi::PyTypeObject>()).tp_version_tag }
}
