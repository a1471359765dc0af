//! The decoder's cache of the classes `resolve` allowed, per codec, by the raw
//! `code, module, name` bytes: a [`ClassMap`] keyed by those bytes. A hit holds only while
//! `sys.modules[module].__dict__[name]` is still the cached class, unmodified since (its version
//! tag), which the cache holds weakly.

use super::hooks::{RESOLVED_CACHE, RESOLVED_FIXED, RESOLVED_ONCE};
use crate::ffi::classmap::{class_tag, ClassMap, CLASS_MAP_MAX};
use crate::ffi::object::module_attr;
use crate::ffi::py;
use pyo3::prelude::*;
use smallvec::SmallVec;

/// `(module, name)` as str where `resolve` found the class: a hit must find it still at
/// `sys.modules[module].__dict__[name]`, as the parent's `getattr(import_module(module), name)`
/// would (after a reload, a redefinition or a monkeypatch it is another class). `None` for a
/// constructor that is no module attribute (`RESOLVED_FIXED`).
type Origin = Option<(Py<PyAny>, Py<PyAny>)>;

/// The classes `resolve` allowed, by the raw `code, module, name` bytes (cached only when
/// `resolve` said so).
pub(crate) struct Classes(ClassMap<Origin, Box<[u8]>>);

impl Classes {
    pub(crate) fn new() -> Self {
        Classes(ClassMap::new(CLASS_MAP_MAX))
    }

    /// The class for `module.name`, or `None` when the allowlist blocks it (then the payload is
    /// returned as the parent returns it), asking `resolve` on a miss. `Err` only for a Python
    /// error inside `resolve`.
    pub(crate) fn class(
        &self,
        resolve: &Py<PyAny>,
        code: i8,
        module: &[u8],
        name: &[u8],
    ) -> PyResult<Option<Py<PyAny>>> {
        let py = py();
        // On the stack for usual names; one allocation only when the class is first cached.
        let mut key: SmallVec<[u8; 96]> = SmallVec::new();
        key.push(code as u8);
        key.extend_from_slice(module);
        key.push(0);
        key.extend_from_slice(name);
        // Checked with the map's lock released: a dict lookup may run Python code.
        if let Some(c) = self.0.entry(&key[..]) {
            let found = match &c.value {
                Some((module, name)) => module_attr(py, module, name),
                None => c.class(py),
            };
            if let Some(cls) = found.filter(|f| c.holds_for(f.as_ptr())) {
                return Ok(Some(cls));
            }
        }
        // A miss, or a class the module no longer names (or modified): asked as the first time.
        // Both were checked as UTF-8 by the reader.
        let m = std::str::from_utf8(module).unwrap_or_default();
        let n = std::str::from_utf8(name).unwrap_or_default();
        let (status, cls): (i64, Py<PyAny>) = resolve.bind(py).call1((code, m, n))?.extract()?;
        match status {
            RESOLVED_CACHE | RESOLVED_FIXED => self.cache(py, &key, status, m, n, &cls),
            RESOLVED_ONCE => {}
            _ => return Ok(None),
        }
        Ok(Some(cls))
    }

    /// Cache `cls` under `key` (replacing a stale entry) when a hit would find it: its module
    /// names it (unless `RESOLVED_FIXED`), it has a version tag and it can be referenced weakly.
    #[cold]
    fn cache(
        &self,
        py: Python<'_>,
        key: &[u8],
        status: i64,
        module: &str,
        name: &str,
        cls: &Py<PyAny>,
    ) {
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
                return;
            }
            Some((module, name))
        };
        let version = class_tag(cls.as_ptr());
        // Not cached (no tag, no weak reference, the map full): resolved again next time.
        let kept = self
            .0
            .insert(py, Box::from(key), cls.as_ptr(), version, origin);
        drop(kept);
    }

    /// Forget every cached class.
    pub(crate) fn clear(&self) {
        self.0.clear();
    }

    /// How many classes are cached.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}
