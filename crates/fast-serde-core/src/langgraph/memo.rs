//! A memo of validated pydantic models (ext 5), one per codec.
//!
//! LangGraph loads the same messages again and again (each invoke of a thread loads its whole
//! message list; history and time travel load checkpoints that share all but the newest ones).
//! Validating a model (`cls(**kwargs)`) is most of JsonPlusSerializer's load, so the reader keeps,
//! for an ext 5 payload it validated, a *template*: a copy of the validated object's state
//! (`__dict__`, `__pydantic_fields_set__`, `__pydantic_extra__`, `__pydantic_private__`). When the
//! exact same payload bytes come again, for the same class, the object is rebuilt from the
//! template: a new model whose containers are all new (mutating a loaded message never changes
//! what a later load returns), with the identity graph validation built (a list reached twice is
//! one list), and whose scalars are the template's own immutable ones.
//!
//! Exact by construction:
//! * a class is served only when its validated result is a function of the payload alone,
//!   decided from the class (`rule`: `fast_serde.langgraph._purity.memo_model`, once per class and
//!   `tp_version_tag`), never from observed runs: no custom `__init__`/`__new__`/metaclass
//!   `__call__`/`model_post_init`, no validator or factory that runs user code, no state outside
//!   the four slots a template holds; or a LangChain message class the verified table reviewed;
//!   or a class that declares `__fast_serde_memo__ = True`;
//! * only payloads without nested ext values are kept (their events and constructors run per
//!   object), only payloads that set every field (`every_field_set`: a default is deep-copied per
//!   validation, running any `__deepcopy__`, and can change in place), and only states made of exact `str`, `int`, `float`, `bool`, `None`, `bytes`,
//!   `list`, `dict` and `tuple`, which the copy reproduces exactly;
//! * the class is held weakly, its record dropped (with its entries) when it dies, and a hit must
//!   resolve (through the allowlist, with its events) to that very class object at the same
//!   `tp_version_tag`: a reloaded, redefined or modified class misses, and its stale entries are
//!   dropped in time proportional to their number;
//! * the first sight of a payload only marks it: its hash and length written into a fixed table
//!   of marks (one `u64` per mark, in buckets of four; a full bucket's oldest marks are
//!   overwritten); the second sight keeps the template; hits follow. A mark decides only when a
//!   template is taken (a lost mark delays it, a colliding one advances it), never what a hit
//!   returns: a template is taken from, and served for, the bytes kept with it.
//! * `model_fields_set` is rebuilt by adding its names one at a time in the order pydantic-core
//!   added them (the declared fields, then the extras), checked when the template is kept to give
//!   the validated set's iteration order.
//!
//! Memory: every entry is charged what it holds — the payload's bytes, the template's objects
//! (`__sizeof__` of each container and each distinct scalar, plus allocator slack) and a fixed
//! overhead — against a byte budget, evicting the least recently used entries; the table of
//! marks (`MARK_SHARE` of the budget) is charged from its first mark on.

use super::template::Template;
use super::watch;
use crate::error::pending_fatal;
use crate::ffi::classmap::{ClassMap, CLASS_MAP_MAX};
use crate::ffi::object::version_tag;
use pyo3::ffi;
use pyo3::prelude::*;
use rustc_hash::{FxHashMap, FxHasher};
use smallvec::SmallVec;
use std::hash::Hasher;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

/// The default budget of a codec's memo: 64 MiB.
pub(crate) const DEFAULT_MEMO_BYTES: usize = 64 << 20;

/// One entry may take at most this share of the budget.
const MAX_ENTRY_SHARE: usize = 16;

/// What an entry costs beside its payload and template: the entry, its `Arc`, its slot in the
/// map and in its class's list, the payload's allocation header.
const ENTRY_OVERHEAD: usize = 256;

/// The table of marks takes 1/`MARK_SHARE` of the budget, rounded down to a power of two of
/// 8-byte slots, at most `MAX_MARKS` (65,536 marks in 512 KiB, reached at a 16 MiB budget): every
/// first sight reads and writes one random bucket of it, and a table past a core's L2 cache made
/// each cold load of a 200 KB state ~3% slower (a 2 MiB table at 64 MiB against 512 KiB at
/// 16 MiB, validate_models=False, side by side). 65,536 marks are more than the templates of
/// typical messages (a few KB each, payload and objects) a 64 MiB budget holds. Slots come in
/// buckets of `MARK_WAYS`: a payload's mark goes to a free slot of its bucket, else over one of
/// them (chosen by its hash), so marks are lost only when more than four payloads of one bucket
/// are seen between two sights of one of them.
const MARK_SHARE: usize = 32;
const MAX_MARKS: usize = 1 << 16;
const MARK_WAYS: usize = 4;

pub(crate) struct Memo {
    budget: AtomicUsize,
    state: Arc<Mutex<State>>,
    /// `memo_model(cls) -> bool`: whether the class may be served (decided once per class).
    rule: Py<PyAny>,
    /// The rule's answer per class (at one `tp_version_tag`), with that class's entries: a
    /// class's death or a new tag drops its answer, and the answer's drop its entries.
    answers: ClassMap<Answer>,
    hits: AtomicU64,
    misses: AtomicU64,
    fills: AtomicU64,
    rejected: AtomicU64,
}

#[derive(Default)]
struct State {
    /// Entries by their payload's hash.
    map: FxHashMap<u64, SmallVec<[Arc<Entry>; 1]>>,
    /// First sights: `mark_key` of a payload at slot `hash & (len - 1)`; 0 is empty. Allocated
    /// at the first mark, its bytes counted in `bytes`.
    marks: Vec<u64>,
    bytes: usize,
    entries: usize,
    clock: u64,
}

/// The rule's answer for a class, and its entries, which go with it.
struct Answer {
    admitted: bool,
    /// This class's entries (some may be gone already: evicted or forgotten).
    entries: Mutex<Vec<Weak<Entry>>>,
    state: Weak<Mutex<State>>,
}

impl Drop for Answer {
    /// Take this class's entries out of the memo (time proportional to their number). An answer
    /// is dropped with no memo lock held: by its class's death, a new tag, `clear`.
    fn drop(&mut self) {
        let Some(state) = self.state.upgrade() else {
            return;
        };
        let entries = std::mem::take(self.entries.get_mut().unwrap_or_else(|e| e.into_inner()));
        let removed = drop_entries(&mut lock(&state), &entries);
        // Released with no lock held (a template's release may let the GC run).
        drop(removed);
    }
}

pub(crate) struct Entry {
    hash: u64,
    /// The class's address and the payload's length, from the first sight: an entry without
    /// `kept` matches by these and the payload's hash.
    cls_addr: usize,
    len: usize,
    /// Set on the second sight: the payload's bytes and a copy of that validation's result.
    kept: OnceLock<Kept>,
    /// The second sight found a state the copy cannot reproduce: the entry stays a mark.
    unkeepable: AtomicBool,
    used: AtomicU64,
    size: AtomicUsize,
}

struct Kept {
    payload: Box<[u8]>,
    template: Template,
}

/// What `lookup` found for a payload: its hash (computed once), its entry if any, and whether
/// it was marked (seen once before).
pub(crate) struct Sight {
    hash: u64,
    pub(crate) entry: Option<Arc<Entry>>,
    marked: bool,
}

/// A payload's key in the table of marks: its hash and length mixed, never 0 (an empty slot).
fn mark_key(hash: u64, len: usize) -> u64 {
    (hash ^ (len as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1
}

/// The first slot of `hash`'s bucket in a table of `n` (a power of two, at least `MARK_WAYS`)
/// marks.
fn mark_bucket(hash: u64, n: usize) -> usize {
    (hash.rotate_left(29) as usize) & (n - 1) & !(MARK_WAYS - 1)
}

/// The number of marks a budget's table holds: 0 (no table) below one bucket.
fn mark_count(budget: usize) -> usize {
    let n = (budget / MARK_SHARE / 8).min(MAX_MARKS);
    if n < MARK_WAYS {
        return 0;
    }
    1usize << (usize::BITS - 1 - n.leading_zeros()) // the power of two <= n
}

fn hash(payload: &[u8]) -> u64 {
    let mut h = FxHasher::default();
    h.write(payload);
    h.finish()
}

impl Memo {
    pub(crate) fn new(budget: usize, rule: Py<PyAny>) -> Memo {
        Memo {
            budget: AtomicUsize::new(budget),
            state: Arc::new(Mutex::new(State::default())),
            rule,
            answers: ClassMap::new(CLASS_MAP_MAX),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            fills: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.budget.load(Ordering::Relaxed) > 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// The entry for these exact payload bytes, if any (its class is checked by `serves`).
    pub(crate) fn lookup(&self, payload: &[u8]) -> Sight {
        let h = hash(payload);
        let mut st = self.lock();
        st.clock += 1;
        let now = st.clock;
        let found = st
            .map
            .get(&h)
            .and_then(|b| b.iter().find(|e| e.matches(payload)).cloned());
        let mut marked = false;
        match &found {
            Some(e) => e.used.store(now, Ordering::Relaxed),
            None => {
                if !st.marks.is_empty() {
                    let b = mark_bucket(h, st.marks.len());
                    let key = mark_key(h, payload.len());
                    marked = st.marks[b..b + MARK_WAYS].contains(&key);
                }
            }
        }
        Sight {
            hash: h,
            entry: found,
            marked,
        }
    }

    /// Whether `entry`'s template may build an object for `cls`, the class the allowlist just
    /// resolved: the entry was kept for this very class object, unmodified since, and the rule
    /// admits it.
    pub(crate) fn serves(&self, entry: &Entry, cls: *mut ffi::PyObject) -> bool {
        if entry.cls_addr != cls as usize || entry.kept.get().is_none() {
            return false;
        }
        self.answers.with_value(cls, |a| a.admitted) == Some(true)
    }

    /// `obj`, just validated as `cls(**kwargs)` from `payload` (which held no nested ext value),
    /// with `seen` what `lookup` found for these bytes: mark the payload on its first sight,
    /// keep a template on the second. Nothing is kept for a class the rule does not admit.
    /// `Err` only for an exception the rule raised that is not an `Exception` (KeyboardInterrupt
    /// and its kin end the load).
    pub(crate) fn remember(
        &self,
        py: Python<'_>,
        seen: Option<&Sight>,
        cls: &Bound<'_, PyAny>,
        payload: &[u8],
        obj: *mut ffi::PyObject,
    ) -> PyResult<()> {
        let Some(seen) = seen else {
            return Ok(()); // not looked up (the memo was off then)
        };
        // SAFETY: reading the type of a live object.
        if unsafe { ffi::Py_TYPE(obj) }.cast() != cls.as_ptr() || !self.admitted(py, cls)? {
            return Ok(());
        }
        match &seen.entry {
            Some(e) if e.cls_addr == cls.as_ptr() as usize => {
                if e.kept.get().is_none() && !e.unkeepable.load(Ordering::Relaxed) {
                    self.keep(py, e, payload, obj)?;
                }
            }
            // These bytes were seen for another class object (one that died since at that
            // address, or another one now at the name): the stale entry goes.
            Some(e) => self.forget(e),
            None if seen.marked => {
                if let Some(e) = self.insert(cls.as_ptr(), seen.hash, payload) {
                    self.keep(py, &e, payload, obj)?;
                }
            }
            None => self.mark(seen.hash, payload.len()),
        }
        Ok(())
    }

    /// The rule's answer for `cls` at its current `tp_version_tag`, asked once per class and tag.
    /// A class modified since its last answer has its entries dropped and is asked again.
    fn admitted(&self, py: Python<'_>, cls: &Bound<'_, PyAny>) -> PyResult<bool> {
        let c = cls.as_ptr();
        let version = version_tag(c);
        if version == 0 {
            return Ok(false); // no tag to follow the class by: nothing kept this time
        }
        if let Some(admitted) = self.answers.with_value(c, |a| a.admitted) {
            return Ok(admitted);
        }
        let generation = watch::generation();
        // Asked with no lock held: the rule runs Python code (which may re-enter the codec).
        let admitted = match self.rule.bind(py).call1((cls,)) {
            Ok(v) => v.is_truthy()?,
            Err(e) if e.is_instance_of::<pyo3::exceptions::PyException>(py) => false,
            Err(e) => return Err(e),
        };
        if version_tag(c) != version || watch::generation() != generation {
            // Modified while the rule ran, or something watched changed (watch.rs: what the
            // answer rests on may be unwatched): asked again next time.
            return Ok(false);
        }
        let answer = Answer {
            admitted,
            entries: Mutex::new(Vec::new()),
            state: Arc::downgrade(&self.state),
        };
        // A stale answer (a dead class's at this address, this class's at an older tag) is
        // replaced, and its entries go with it.
        match self.answers.insert(py, c as usize, c, version, answer) {
            Ok(kept) => {
                if !admitted {
                    self.rejected.fetch_add(1, Ordering::Relaxed);
                }
                Ok(kept.value.admitted)
            }
            Err(_) => Ok(false), // not cached (no weak reference, too many classes)
        }
    }

    /// First sight of a payload (of hash `h` and `len` bytes) for an admitted class: its mark
    /// written (over whatever its slot held).
    fn mark(&self, h: u64, len: usize) {
        let budget = self.budget.load(Ordering::Relaxed);
        // No mark for a payload whose entry could never be kept.
        if budget == 0 || ENTRY_OVERHEAD + len > budget / MAX_ENTRY_SHARE {
            return;
        }
        let evicted = {
            let mut st = self.lock();
            if st.marks.is_empty() {
                let n = mark_count(budget);
                let mut marks = Vec::new();
                if n == 0 || marks.try_reserve_exact(n).is_err() {
                    return; // no table: nothing is marked (an allocation failure is not fatal)
                }
                marks.resize(n, 0);
                st.marks = marks;
                st.bytes += n * 8;
            }
            let b = mark_bucket(h, st.marks.len());
            let key = mark_key(h, len);
            let bucket = &mut st.marks[b..b + MARK_WAYS];
            if !bucket.contains(&key) {
                let way = bucket
                    .iter()
                    .position(|&m| m == 0)
                    .unwrap_or((h >> 62) as usize % MARK_WAYS);
                bucket[way] = key;
            }
            evict(&mut st, budget)
        };
        drop(evicted);
    }

    /// Second sight of `payload` for the admitted class `cls`: its entry, listed (under the
    /// class's answer and in the map) for `keep` to fill. `None` when it is too large, the class
    /// has no answer, or another thread listed these bytes meanwhile.
    fn insert(&self, cls: *mut ffi::PyObject, h: u64, payload: &[u8]) -> Option<Arc<Entry>> {
        let budget = self.budget.load(Ordering::Relaxed);
        let size = ENTRY_OVERHEAD;
        if budget == 0 || size + payload.len() > budget / MAX_ENTRY_SHARE {
            return None;
        }
        let entry = Arc::new(Entry {
            hash: h,
            cls_addr: cls as usize,
            len: payload.len(),
            kept: OnceLock::new(),
            unkeepable: AtomicBool::new(false),
            used: AtomicU64::new(0),
            size: AtomicUsize::new(size),
        });
        let listed = self.answers.with_value(cls, |a| {
            let mut entries = a.entries.lock().unwrap_or_else(|e| e.into_inner());
            entries.push(Arc::downgrade(&entry));
            if entries.len() > 64 && entries.len().is_power_of_two() {
                entries.retain(|w| w.strong_count() > 0);
            }
        });
        listed?;
        let evicted = {
            let mut st = self.lock();
            st.clock += 1;
            entry.used.store(st.clock, Ordering::Relaxed);
            let bucket = st.map.entry(h).or_default();
            if bucket.iter().any(|e| e.matches(payload)) {
                return None; // another thread listed it meanwhile
            }
            bucket.push(entry.clone());
            st.bytes += size;
            st.entries += 1;
            evict(&mut st, budget)
        };
        drop(evicted);
        Some(entry)
    }

    /// Second sight: `obj` validated from `payload` (of the entry's hash and length); keep the
    /// bytes and a copy of `obj`'s state as the template, charged what it holds. A state the copy
    /// cannot reproduce, or one over the entry's share of the budget, leaves the entry a mark.
    fn keep(
        &self,
        py: Python<'_>,
        entry: &Arc<Entry>,
        payload: &[u8],
        obj: *mut ffi::PyObject,
    ) -> PyResult<()> {
        let budget = self.budget.load(Ordering::Relaxed);
        let Some((template, held)) = Template::of(py, obj) else {
            if let Some(e) = pending_fatal(py) {
                return Err(e); // a KeyboardInterrupt ends the load
            }
            entry.unkeepable.store(true, Ordering::Relaxed);
            return Ok(());
        };
        let size = ENTRY_OVERHEAD + payload.len() + held;
        if size > budget / MAX_ENTRY_SHARE {
            entry.unkeepable.store(true, Ordering::Relaxed);
            return Ok(());
        }
        let kept = Kept {
            payload: Box::from(payload),
            template,
        };
        if entry.kept.set(kept).is_err() {
            return Ok(()); // another thread kept it meanwhile
        }
        self.fills.fetch_add(1, Ordering::Relaxed);
        let evicted = {
            let mut st = self.lock();
            let listed = st
                .map
                .get(&entry.hash)
                .is_some_and(|b| b.iter().any(|e| Arc::ptr_eq(e, entry)));
            if !listed {
                return Ok(()); // evicted or forgotten meanwhile: the template goes with the entry
            }
            let old = entry.size.swap(size, Ordering::Relaxed);
            st.bytes = st.bytes - old + size;
            evict(&mut st, budget)
        };
        drop(evicted);
        Ok(())
    }

    /// Drop `entry` (kept for a class object that is no longer the one its name resolves to).
    pub(crate) fn forget(&self, entry: &Arc<Entry>) {
        let removed = {
            let mut st = self.lock();
            remove(&mut st, entry)
        };
        drop(removed);
    }

    /// Count a hit (an object built from an entry's template).
    pub(crate) fn hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    /// A looked-up payload not built from the memo (no entry, no template, another class, not
    /// admitted, or a hit that failed): it is validated. Hits and misses add up to the payloads
    /// looked up.
    pub(crate) fn miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
    }

    /// A new budget: the entries over it evicted, the table of marks dropped (made again at the
    /// new budget's size by the next mark).
    pub(crate) fn set_budget(&self, budget: usize) {
        self.budget.store(budget, Ordering::Relaxed);
        let evicted = {
            let mut st = self.lock();
            let marks = std::mem::take(&mut st.marks);
            st.bytes -= marks.len() * 8;
            evict(&mut st, budget)
        };
        drop(evicted);
    }

    /// Forget every entry and every class's answer.
    pub(crate) fn clear(&self) {
        let old = std::mem::take(&mut *self.lock());
        drop(old);
        self.answers.clear();
    }

    /// How many classes the rule was asked about (their answers are kept).
    pub(crate) fn class_count(&self) -> usize {
        self.answers.len()
    }

    /// `(hits, misses, fills, rejected, entries, bytes, budget, marks)`: `marks` is the table of
    /// marks' own bytes, part of `bytes`.
    pub(crate) fn stats(&self) -> [u64; 8] {
        let (entries, bytes, marks) = {
            let st = self.lock();
            (
                st.entries as u64,
                st.bytes as u64,
                (st.marks.len() * 8) as u64,
            )
        };
        [
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
            self.fills.load(Ordering::Relaxed),
            self.rejected.load(Ordering::Relaxed),
            entries,
            bytes,
            self.budget.load(Ordering::Relaxed) as u64,
            marks,
        ]
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// Take `entry` out of the map (if it is still there) and uncharge it; returned, to be released
/// once the lock is let go.
fn remove(st: &mut State, entry: &Arc<Entry>) -> Option<Arc<Entry>> {
    let bucket = st.map.get_mut(&entry.hash)?;
    let i = bucket.iter().position(|e| Arc::ptr_eq(e, entry))?;
    let e = bucket.swap_remove(i);
    if bucket.is_empty() {
        st.map.remove(&entry.hash);
    }
    st.bytes -= e.size.load(Ordering::Relaxed);
    st.entries -= 1;
    Some(e)
}

/// Take a class's entries out of the map: time proportional to their number.
fn drop_entries(st: &mut State, entries: &[Weak<Entry>]) -> Vec<Arc<Entry>> {
    entries
        .iter()
        .filter_map(Weak::upgrade)
        .filter_map(|e| remove(st, &e))
        .collect()
}

/// Drop the least recently used entries until the memo fits 7/8 of `budget` (0: drop all).
/// Returns them, to be released once the lock is let go.
fn evict(st: &mut State, budget: usize) -> Vec<Arc<Entry>> {
    if st.bytes <= budget {
        return Vec::new();
    }
    let target = budget - budget / 8;
    let mut all: Vec<Arc<Entry>> = st.map.values().flatten().cloned().collect();
    all.sort_unstable_by_key(|e| e.used.load(Ordering::Relaxed));
    let mut out = Vec::new();
    for e in all {
        if st.bytes <= target {
            break;
        }
        if let Some(e) = remove(st, &e) {
            out.push(e);
        }
    }
    out
}

impl Entry {
    pub(crate) fn has_template(&self) -> bool {
        self.kept.get().is_some()
    }

    /// Whether these are the entry's bytes: the same once kept; before, the same length (the
    /// hash matched too). A collision before the second sight only decides when the template is
    /// taken: it is taken from, and served for, the bytes kept with it.
    fn matches(&self, payload: &[u8]) -> bool {
        match self.kept.get() {
            Some(k) => &k.payload[..] == payload,
            None => self.len == payload.len(),
        }
    }

    /// A new `cls` object from the kept template (`Template::build`); `None` when there is none
    /// or anything fails: the caller validates instead, unless a `BaseException` is left set.
    pub(crate) fn build(&self, cls: *mut ffi::PyObject) -> Option<*mut ffi::PyObject> {
        self.kept.get()?.template.build(cls)
    }
}
