//! One cache keyed by a class, for every per-class decision the codec keeps (its plans, its
//! allowlisted classes, its trusted-restore decisions, its memo's answers).
//!
//! An entry holds its class weakly (`WeakClass`: no cache keeps a class alive) with the class's
//! `tp_version_tag` when the value was decided. It serves only that very class object at that
//! tag: CPython gives a type a new tag on every `PyType_Modified` (an attribute set on it or on a
//! base), so a modified class is decided again; a class without a tag (0: modified since its
//! last lookup) is not cached. A dying class's weak reference callback drops its entry and counts
//! the death. The map is bounded (first come: past `cap` classes, the rest are not cached) and
//! says how many entries it holds.
//!
//! The key is the type's address (`ClassMap<T>`) or any other key that names a class (the
//! decoder's `code, module, name` bytes). For the walker's hot path, [`Locals`] is one thread's
//! copy of a map's values, hit with no lock and no atomic reference count: it is used only while
//! the map's death count is the one the copy last caught up with. A death, a clear and the map's
//! drop empty the calling thread's copy at once (a hook the map is given), the other threads'
//! at their next miss.

use super::object::version_tag;
use super::weak::WeakClass;
use pyo3::ffi;
use pyo3::prelude::*;
use rustc_hash::FxHashMap;
use std::borrow::Borrow;
use std::hash::Hash;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

/// The default bound of a [`ClassMap`]: this many classes.
pub(crate) const CLASS_MAP_MAX: usize = 4096;

/// Distinct ids for the maps of the process (a dead map's address may be reused by a new one;
/// its id is not).
static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

/// A value decided for one class: the class (weakly) and its `tp_version_tag` then.
pub(crate) struct Cached<T> {
    class: WeakClass,
    version: u32,
    pub(crate) value: T,
}

impl<T> Cached<T> {
    /// Whether this entry holds for `cls`, a live class: the very class object it was decided
    /// for, unmodified since.
    #[inline]
    pub(crate) fn holds_for(&self, cls: *mut ffi::PyObject) -> bool {
        class_tag(cls) == self.version && self.class.is(cls)
    }

    /// The class, if it is alive.
    pub(crate) fn class(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.class.upgrade(py)
    }
}

/// The version tag an entry for `cls` (a live object) is kept with: a type's `tp_version_tag`
/// (0: none assigned, then it is not cached); for a constructor that is no type (a function the
/// allowlist names), which no `PyType_Modified` can change, `u32::MAX`: only its identity counts.
#[inline]
pub(crate) fn class_tag(cls: *mut ffi::PyObject) -> u32 {
    // SAFETY: a type check on a live object, whose tag is read only when it is a type.
    if unsafe { ffi::PyType_Check(cls) } != 0 {
        version_tag(cls)
    } else {
        u32::MAX
    }
}

/// What a map tells this thread's [`Locals`] copies at once (they run no Python code): the class
/// at this type address died (`Some`), or the map is dropped (`None`). The other threads' copies
/// find out at their next miss.
pub(crate) type LocalHook = fn(map: usize, tp: Option<usize>);

struct Shared<K, T> {
    id: usize,
    local: Option<LocalHook>,
    entries: Mutex<FxHashMap<K, Arc<Cached<T>>>>,
    /// Classes whose entry died, plus [`ClassMap::clear`]s: a [`Locals`] copy that saw another
    /// count checks its classes before it serves again.
    deaths: AtomicUsize,
    /// [`ClassMap::clear`]s: a [`Locals`] copy that saw another count is dropped whole.
    clears: AtomicUsize,
}

/// Values by class, weakly held, checked against the class's version tag (see the module
/// documentation). `K` is the type's address unless given.
pub(crate) struct ClassMap<T, K = usize> {
    shared: Arc<Shared<K, T>>,
    cap: usize,
    /// Alive while the map is: a [`Locals`] copy of a dropped map is dropped at the thread's
    /// next miss.
    token: Arc<()>,
}

fn lock<K, T>(m: &Mutex<FxHashMap<K, T>>) -> MutexGuard<'_, FxHashMap<K, T>> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<T: Send + Sync + 'static, K: Hash + Eq + Clone + Send + Sync + 'static> ClassMap<T, K> {
    /// An empty map of at most `cap` classes.
    pub(crate) fn new(cap: usize) -> Self {
        Self::with_locals(cap, None)
    }

    /// An empty map of at most `cap` classes, copied into [`Locals`] that `local` tells of a
    /// class's death and of the map's drop.
    pub(crate) fn with_locals(cap: usize, local: Option<LocalHook>) -> Self {
        ClassMap {
            shared: Arc::new(Shared {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                local,
                entries: Mutex::new(FxHashMap::default()),
                deaths: AtomicUsize::new(0),
                clears: AtomicUsize::new(0),
            }),
            cap,
            token: Arc::new(()),
        }
    }

    /// The map's id, distinct among the maps of the process.
    #[inline(always)]
    fn id(&self) -> usize {
        self.shared.id
    }

    /// The entry under `key`, unchecked: the caller tests [`Cached::holds_for`] on the class it
    /// finds for the key.
    pub(crate) fn entry<Q>(&self, key: &Q) -> Option<Arc<Cached<T>>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        lock(&self.shared.entries).get(key).cloned()
    }

    /// Keep `value`, decided for `cls` (a live class) at tag `version` ([`class_tag`]), under `key`, replacing a
    /// stale entry (another class, a dead one, an older tag). `Err(value)`, not cached: no tag,
    /// a class that cannot be referenced weakly, or the map full. An entry that already holds
    /// for `cls` (decided meanwhile by another thread) is kept, and returned.
    ///
    /// Call it with no lock held: it allocates a weak reference (which may run the garbage
    /// collector, whose callbacks take this map's lock).
    pub(crate) fn insert(
        &self,
        py: Python<'_>,
        key: K,
        cls: *mut ffi::PyObject,
        version: u32,
        value: T,
    ) -> Result<Arc<Cached<T>>, T> {
        if version == 0 {
            return Err(value);
        }
        let map = Arc::downgrade(&self.shared);
        let k = key.clone();
        let Some(class) = WeakClass::new(py, cls, move |wr| forget(&map, &k, wr)) else {
            return Err(value);
        };
        let fresh = Arc::new(Cached {
            class,
            version,
            value,
        });
        let mut entries = lock(&self.shared.entries);
        let (kept, stale) = match entries.get(&key) {
            Some(e) if e.holds_for(cls) => (e.clone(), Some(fresh)),
            Some(_) => (fresh.clone(), entries.insert(key, fresh)),
            None if entries.len() < self.cap => {
                entries.insert(key, fresh.clone());
                (fresh, None)
            }
            None => {
                drop(entries);
                // Not shared with anyone: its value goes back to the caller.
                return match Arc::try_unwrap(fresh) {
                    Ok(c) => Err(c.value),
                    Err(_) => unreachable!("a new Arc has one owner"),
                };
            }
        };
        drop(entries);
        // Released with no lock held: dropping a weak reference may run Python's deallocators.
        drop(stale);
        Ok(kept)
    }

    /// Forget every entry (they are decided again on next use); the [`Locals`] copies follow at
    /// their next miss (the caller empties its own thread's).
    pub(crate) fn clear(&self) {
        let old = std::mem::take(&mut *lock(&self.shared.entries));
        self.shared.clears.fetch_add(1, Ordering::Relaxed);
        self.shared.deaths.fetch_add(1, Ordering::Relaxed);
        if let Some(local) = self.shared.local {
            local(self.shared.id, None);
        }
        drop(old);
    }

    /// How many classes have an entry.
    pub(crate) fn len(&self) -> usize {
        lock(&self.shared.entries).len()
    }

    /// The map's death count (see [`Locals`]).
    #[inline(always)]
    pub(crate) fn deaths(&self) -> usize {
        self.shared.deaths.load(Ordering::Relaxed)
    }
}

impl<T: Send + Sync + 'static> ClassMap<T> {
    /// The entry for `cls`, a live class, if it holds for it.
    pub(crate) fn get(&self, cls: *mut ffi::PyObject) -> Option<Arc<Cached<T>>> {
        self.entry(&(cls as usize)).filter(|c| c.holds_for(cls))
    }

    /// A copy of the value for `cls`, a live class, if its entry holds for it (read under the
    /// lock: no reference to the entry is counted).
    pub(crate) fn value(&self, cls: *mut ffi::PyObject) -> Option<T>
    where
        T: Clone,
    {
        self.with_value(cls, T::clone)
    }

    /// `f` of the value for `cls`, a live class, if its entry holds for it, called under the
    /// map's lock (`f` must not run Python code nor reach this map).
    pub(crate) fn with_value<R>(
        &self,
        cls: *mut ffi::PyObject,
        f: impl FnOnce(&T) -> R,
    ) -> Option<R> {
        let entries = lock(&self.shared.entries);
        let c = entries.get(&(cls as usize))?;
        c.holds_for(cls).then(|| f(&c.value))
    }
}

impl<T, K> Drop for ClassMap<T, K> {
    fn drop(&mut self) {
        if let Some(local) = self.shared.local {
            local(self.shared.id, None);
        }
    }
}

/// The callback of an entry's weak reference `wr` to its class, which is dying: drop the entry
/// (if it is still that one and the map is alive) and count the death. No Python code runs (it
/// runs inside a deallocation or the garbage collector); the entry is freed after the lock is
/// released.
fn forget<K: Hash + Eq + 'static, T>(map: &Weak<Shared<K, T>>, key: &K, wr: *mut ffi::PyObject) {
    let Some(map) = map.upgrade() else { return };
    let removed = {
        let mut entries = lock(&map.entries);
        if entries.get(key).is_some_and(|e| e.class.as_ptr() == wr) {
            entries.remove(key)
        } else {
            None
        }
    };
    map.deaths.fetch_add(1, Ordering::Relaxed);
    if let Some(local) = map.local {
        // Only a type-keyed map has copies; the key is the dying type's address.
        if let Some(tp) = (key as &dyn std::any::Any).downcast_ref::<usize>() {
            local(map.id, Some(*tp));
        }
    }
    drop(removed);
}

/// How many maps one thread keeps copies of (the most recently used; a dead codec's copy is
/// pushed out by the others).
const LOCAL_OWNERS: usize = 4;

/// One thread's copies of the values of a few [`ClassMap`]s, most recently used first: `L` is
/// the thread's own copy of a value (an `Rc`: a hit counts no atomic reference).
pub(crate) struct Locals<L> {
    copies: Vec<Local<L>>,
}

impl<L> Default for Locals<L> {
    fn default() -> Self {
        Locals { copies: Vec::new() }
    }
}

struct Local<L> {
    owner: usize,
    /// The map's token: dead once the map is dropped.
    alive: std::sync::Weak<()>,
    /// The map's deaths when the dead classes were last dropped from `map`: while unchanged,
    /// every class in `map` is alive, hence the type at its address.
    deaths: usize,
    clears: usize,
    map: FxHashMap<usize, LocalEntry<L>>,
}

struct LocalEntry<L> {
    version: u32,
    class: WeakClass,
    value: Rc<L>,
}

impl<L> Locals<L> {
    /// The copy of `map`'s value for `tp`, a live type, when this thread's copy of `map` is the
    /// most recent one and up to date. No lock, no atomic write.
    #[inline]
    pub(crate) fn get<T: Send + Sync + 'static>(
        &self,
        map: &ClassMap<T>,
        tp: *mut ffi::PyTypeObject,
    ) -> Option<Rc<L>> {
        let c = self.copies.first()?;
        if c.owner != map.id() || c.deaths != map.deaths() {
            return None;
        }
        let e = c.map.get(&(tp as usize))?;
        (version_tag(tp.cast()) == e.version).then(|| e.value.clone())
    }

    /// After a miss of [`Locals::get`]: bring `map`'s copy to the front and up to date (a clear
    /// empties it, deaths drop the dead classes' values), then look `tp` up again. Returns what
    /// was dropped, to be released by the caller once this thread's borrow ends.
    pub(crate) fn catch_up<T: Send + Sync + 'static>(
        &mut self,
        map: &ClassMap<T>,
        tp: *mut ffi::PyTypeObject,
    ) -> (Option<Rc<L>>, Vec<LocalDrop<L>>) {
        let mut dropped = Vec::new();
        // The copies of dropped maps go first.
        while let Some(i) = self.copies.iter().position(|c| c.alive.strong_count() == 0) {
            dropped.push(LocalDrop(self.copies.remove(i).map));
        }
        let at = self.copies.iter().position(|c| c.owner == map.id());
        let c = match at {
            Some(i) => self.copies.remove(i),
            None => Local {
                owner: map.id(),
                alive: Arc::downgrade(&map.token),
                deaths: map.deaths(),
                clears: map.shared.clears.load(Ordering::Relaxed),
                map: FxHashMap::default(),
            },
        };
        self.copies.insert(0, c);
        if self.copies.len() > LOCAL_OWNERS {
            dropped.extend(self.copies.pop().map(|c| LocalDrop(c.map)));
        }
        let c = &mut self.copies[0];
        let clears = map.shared.clears.load(Ordering::Relaxed);
        if c.clears != clears {
            dropped.push(LocalDrop(std::mem::take(&mut c.map)));
            c.clears = clears;
        }
        let deaths = map.deaths();
        if c.deaths != deaths {
            let dead: Vec<usize> = (c.map.iter())
                .filter(|(_, e)| !e.class.alive())
                .map(|(k, _)| *k)
                .collect();
            let mut gone = FxHashMap::default();
            for k in dead {
                if let Some(e) = c.map.remove(&k) {
                    gone.insert(k, e);
                }
            }
            dropped.push(LocalDrop(gone));
            c.deaths = deaths;
        }
        let hit = (c.map.get(&(tp as usize)))
            .filter(|e| version_tag(tp.cast()) == e.version)
            .map(|e| e.value.clone());
        (hit, dropped)
    }

    /// Copy `cached` (`map`'s entry for `tp`) into this thread's copy of `map` (brought to the
    /// front by [`Locals::catch_up`] just before), within `map`'s bound. Returns the value it
    /// replaced, to be released by the caller.
    pub(crate) fn put<T: Send + Sync + 'static>(
        &mut self,
        py: Python<'_>,
        map: &ClassMap<T>,
        tp: *mut ffi::PyTypeObject,
        cached: &Cached<T>,
        value: Rc<L>,
    ) -> Option<LocalDrop<L>> {
        let c = self.copies.first_mut().filter(|c| c.owner == map.id())?;
        let key = tp as usize;
        if c.map.len() >= map.cap && !c.map.contains_key(&key) {
            return None;
        }
        let entry = LocalEntry {
            version: cached.version,
            class: cached.class.clone_ref(py),
            value,
        };
        let old = c.map.insert(key, entry)?;
        let mut gone = FxHashMap::default();
        gone.insert(key, old);
        Some(LocalDrop(gone))
    }

    /// Drop this thread's copy of the map `id` (`clear_cache()`, the map dropped: `tp` None)
    /// or its value for the dying type `tp`; returns what it took out, to be released.
    pub(crate) fn forget(&mut self, id: usize, tp: Option<usize>) -> Option<LocalDrop<L>> {
        let i = self.copies.iter().position(|c| c.owner == id)?;
        match tp {
            None => Some(LocalDrop(self.copies.remove(i).map)),
            Some(tp) => {
                let e = self.copies[i].map.remove(&tp)?;
                let mut gone = FxHashMap::default();
                gone.insert(tp, e);
                Some(LocalDrop(gone))
            }
        }
    }

    /// How many values this thread's copy of `map` holds.
    pub(crate) fn len(&self, map: &ClassMap<impl Send + Sync + 'static>) -> usize {
        (self.copies.iter())
            .find(|c| c.owner == map.id())
            .map_or(0, |c| c.map.len())
    }
}

/// Values taken out of a [`Locals`] copy: dropped by the caller once its borrow of the thread's
/// copy has ended (a release drops weak references and strs, which may run Python code that
/// reaches the copy again).
pub(crate) struct LocalDrop<L>(#[allow(dead_code)] FxHashMap<usize, LocalEntry<L>>);
