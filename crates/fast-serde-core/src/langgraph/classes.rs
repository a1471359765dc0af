//! The decoder's cache of the classes `resolve` allowed, per codec, by the raw
//! `code, module, name` bytes. A hit holds only while `sys.modules[module].__dict__[name]` is
//! still the cached class, which the cache holds weakly.

use super::codec::{LangGraphCodec, RESOLVED_CACHE, RESOLVED_FIXED, RESOLVED_ONCE};
use super::trusted::Trusted;
use crate::ffi::object::module_attr;
use crate::ffi::py;
use crate::ffi::weak::WeakClass;
use pyo3::ffi;
use pyo3::prelude::*;
use rustc_hash::FxHashMap;
use smallvec::SmallVec;
use std::sync::{Arc, Mutex};

/// The classes `resolve` allowed, by the raw `code, module, name` bytes.
pub(crate) type ClassCache = Mutex<FxHashMap<Box<[u8]>, Arc<CachedClass>>>;

/// A class's trusted-restore decision, read from its schema when `validate_models=False`:
/// `None` until then. No lock is held while deciding (it runs Python, which may re-enter the
/// codec).
///
/// The decision is kept with the class's `tp_version_tag`: a class modified since
/// (`model_rebuild`, a replaced `__init__` or validator) is decided again.
pub(crate) type TrustSlot = Arc<Mutex<Option<(u32, Option<Arc<Trusted>>)>>>;

/// A class allowed by the allowlist, for one object: the class, and its decision.
pub(crate) struct ClassEntry {
    pub(crate) cls: Py<PyAny>,
    /// Shared by every object of this very class while it stays cached.
    pub(crate) trusted: TrustSlot,
}

/// A cached class (cached only when `resolve` said so), held weakly: the cache never keeps a
/// class alive, and a dead class's entry is dropped by its weak reference's callback.
pub(crate) struct CachedClass {
    pub(crate) cls: WeakClass,
    /// `(module, name)` as str where `resolve` found the class: a hit must find it still at
    /// `sys.modules[module].__dict__[name]`, as the parent's `getattr(import_module(module),
    /// name)` would (after a reload, a redefinition or a monkeypatch it is another class).
    /// `None` for a constructor that is no module attribute (`RESOLVED_FIXED`).
    pub(crate) origin: Option<(Py<PyAny>, Py<PyAny>)>,
    pub(crate) trusted: TrustSlot,
}

impl CachedClass {
    /// The class, if the entry still holds: what the parent would look up now.
    #[inline]
    fn current(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        let Some((module, name)) = &self.origin else {
            return self.cls.upgrade(py);
        };
        let found = module_attr(py, module, name)?;
        self.cls.is(found.as_ptr()).then_some(found)
    }
}

/// At most this many classes are cached per codec.
pub(crate) const CLASS_CACHE_MAX: usize = 4096;

impl LangGraphCodec {
    /// The class for `module.name`, or `None` when the allowlist blocks it (then the payload is
    /// returned as the parent returns it). `Err` only for a Python error inside `resolve`.
    pub(crate) fn class(
        &self,
        code: i8,
        module: &[u8],
        name: &[u8],
    ) -> PyResult<Option<ClassEntry>> {
        let py = py();
        // On the stack for usual names; one allocation only when the class is first cached.
        let mut key: SmallVec<[u8; 96]> = SmallVec::new();
        key.push(code as u8);
        key.extend_from_slice(module);
        key.push(0);
        key.extend_from_slice(name);
        let cached = self
            .classes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key[..])
            .cloned();
        // Checked with the lock released: a dict lookup may run Python code.
        if let Some(c) = cached {
            if let Some(cls) = c.current(py) {
                let trusted = c.trusted.clone();
                return Ok(Some(ClassEntry { cls, trusted }));
            }
        }
        // A miss, or a class the module no longer names: asked as the first time.
        // Both were checked as UTF-8 by the reader.
        let m = std::str::from_utf8(module).unwrap_or_default();
        let n = std::str::from_utf8(name).unwrap_or_default();
        let (status, cls): (i64, Py<PyAny>) =
            self.resolve.bind(py).call1((code, m, n))?.extract()?;
        let trusted = match status {
            RESOLVED_CACHE | RESOLVED_FIXED => self.cache_class(py, &key, status, m, n, &cls),
            RESOLVED_ONCE => TrustSlot::default(),
            _ => return Ok(None),
        };
        Ok(Some(ClassEntry { cls, trusted }))
    }

    /// Cache `cls` under `key` (replacing a stale entry) when a hit would find it: its module
    /// names it (unless `RESOLVED_FIXED`) and it can be referenced weakly. Returns the decision
    /// slot of its objects (an uncached class's serves this object alone).
    #[cold]
    pub(crate) fn cache_class(
        &self,
        py: Python<'_>,
        key: &[u8],
        status: i64,
        module: &str,
        name: &str,
        cls: &Py<PyAny>,
    ) -> TrustSlot {
        let trusted = TrustSlot::default();
        let origin = if status == RESOLVED_FIXED {
            None
        } else {
            // Interned, as attribute names in a module's dict are: found there by address.
            let module = pyo3::types::PyString::intern(py, module)
                .into_any()
                .unbind();
            let name = pyo3::types::PyString::intern(py, name).into_any().unbind();
            // Found elsewhere (a module `__getattr__`, a module subclass): never cached.
            if !module_attr(py, &module, &name).is_some_and(|v| v.is(cls)) {
                return trusted;
            }
            Some((module, name))
        };
        let map = Arc::downgrade(&self.classes);
        let k: Box<[u8]> = Box::from(key);
        let Some(weak) = WeakClass::new(py, cls.as_ptr(), move |wr| forget_class(&map, &k, wr))
        else {
            return trusted;
        };
        let entry = Arc::new(CachedClass {
            cls: weak,
            origin,
            trusted: trusted.clone(),
        });
        let mut map = self.classes.lock().unwrap_or_else(|e| e.into_inner());
        // A stale entry (another class now, or a dead one) is replaced; past the bound, new
        // classes are not cached.
        let stale = if map.len() < CLASS_CACHE_MAX || map.contains_key(key) {
            map.insert(Box::from(key), entry)
        } else {
            None
        };
        drop(map);
        drop(stale);
        trusted
    }
}

/// `(cached classes, of them those whose trusted-restore decision is kept)`.
pub(crate) fn class_counts(cache: &ClassCache) -> (usize, usize) {
    let entries: Vec<TrustSlot> = (cache.lock().unwrap_or_else(|e| e.into_inner()))
        .values()
        .map(|c| c.trusted.clone())
        .collect();
    let decided = (entries.iter())
        .filter(|t| t.lock().unwrap_or_else(|e| e.into_inner()).is_some())
        .count();
    (entries.len(), decided)
}

/// The callback of a cached class's weak reference `wr` (the class is dying): drop its entry from
/// the codec's cache, if the codec is still alive. No Python code runs (it runs inside a
/// deallocation or the garbage collector); the entry is freed after the lock is released.
fn forget_class(map: &std::sync::Weak<ClassCache>, key: &[u8], wr: *mut ffi::PyObject) {
    let Some(map) = map.upgrade() else { return };
    let removed = {
        let mut m = map.lock().unwrap_or_else(|e| e.into_inner());
        if m.get(key).is_some_and(|c| c.cls.as_ptr() == wr) {
            m.remove(key)
        } else {
            None
        }
    };
    drop(removed);
}
