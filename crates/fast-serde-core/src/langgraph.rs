//! JsonPlusSerializer's MessagePack format (langgraph-checkpoint 4.3), natively.
//!
//! [`LangGraphCodec`] is what `fast_serde.langgraph.FastSerializer` drives. Encoding is the
//! walker's LangGraph mode (encode_lg.rs). Decoding reads every ext code in Rust: the payload
//! `(module, name, arg[, method])` is read natively, the class comes from a per-codec cache keyed
//! by the raw `code, module, name` bytes (filled through the Python `resolve` callback, which
//! applies the allowlist and emits the parent's events and warnings; a hit holds only while
//! `sys.modules[module].__dict__[name]` is still the cached class, which the cache holds weakly),
//! and the object is built as the parent's ext hook builds it, failures included (`failed`,
//! `method_allowed`). Only a payload of an unexpected shape (not an array of the right length,
//! non-str names, trailing bytes) goes to the parent's own ext hook with the raw bytes, so its
//! outcome is the parent's.

use crate::buffer::{self, write_bytes};
use crate::decode::{call_ext_hook, new_ref, with_key_cache, ExtHandler, Owned, Reader};
use crate::encode::{Encoder, Mode};
use crate::error::{DecodeFailure, DecodeKind, DecodeResult};
use crate::ext::*;
use crate::typeref::typerefs;
use crate::weak::WeakClass;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use rustc_hash::FxHashMap;
use smallvec::SmallVec;
use std::sync::{Arc, Mutex};

/// `resolve` answers: allowed and cacheable (no per-object events), allowed but ask again next
/// time (the permissive mode's per-object event), blocked / unimportable (payload returned), or
/// allowed and cacheable for a constructor that is no module attribute (`Send`'s).
const RESOLVED_CACHE: i64 = 0;
const RESOLVED_ONCE: i64 = 1;
const RESOLVED_FIXED: i64 = 3;

/// Encoder and decoder state of one `FastSerializer`.
///
/// * `fallback(obj) -> bytes`: langgraph's `_msgpack_enc`, for types written in Python.
/// * `ext_hook(code, data) -> Any`: the parent's ext hook, for ext values read in Python.
/// * `resolve(code, module, name) -> (status, cls)`: the allowlist decision (0 = allowed, cache
///   it while `sys.modules[module].__dict__[name] is cls`; 1 = allowed, ask again next time;
///   2 = blocked or not importable: return the payload; 3 = allowed, cache it as it is).
#[pyclass(module = "fast_serde._native", frozen)]
pub struct LangGraphCodec {
    fallback: Py<PyAny>,
    inspect: Py<PyAny>,
    ext_hook: Py<PyAny>,
    resolve: Py<PyAny>,
    failed: Py<PyAny>,
    method_allowed: Py<PyAny>,
    /// `_plans.trusted_model(cls, kwargs) -> bool` when `validate_models=False`, else None.
    trust: Option<Py<PyAny>>,
    /// `_DeltaSnapshot`, for ext 7.
    delta: Py<PyAny>,
    /// `payload -> ndarray | None`, for ext 6 (the parent's rebuild, errors read as None).
    numpy: Py<PyAny>,
    classes: Arc<ClassCache>,
}

/// The classes `resolve` allowed, by the raw `code, module, name` bytes.
type ClassCache = Mutex<FxHashMap<Box<[u8]>, Arc<CachedClass>>>;

/// A class's trusted-restore decision, made on the first object of the class when
/// `validate_models=False`: `None` until then. No lock is held while deciding (it runs Python,
/// which may re-enter the codec).
type TrustSlot = Arc<Mutex<Option<Option<Arc<Trusted>>>>>;

/// A class allowed by the allowlist, for one object: the class, and its decision.
struct ClassEntry {
    cls: Py<PyAny>,
    /// Shared by every object of this very class while it stays cached.
    trusted: TrustSlot,
}

/// A cached class (cached only when `resolve` said so), held weakly: the cache never keeps a
/// class alive, and a dead class's entry is dropped by its weak reference's callback.
struct CachedClass {
    cls: WeakClass,
    /// `(module, name)` as str where `resolve` found the class: a hit must find it still at
    /// `sys.modules[module].__dict__[name]`, as the parent's `getattr(import_module(module),
    /// name)` would (after a reload, a redefinition or a monkeypatch it is another class).
    /// `None` for a constructor that is no module attribute (`RESOLVED_FIXED`).
    origin: Option<(Py<PyAny>, Py<PyAny>)>,
    trusted: TrustSlot,
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

/// `sys.modules[module].__dict__[name]` for an exact module (whose attribute lookup finds what is
/// in its `__dict__`), with no Python-level call; `None` when any of it is missing.
fn module_attr(py: Python<'_>, module: &Py<PyAny>, name: &Py<PyAny>) -> Option<Py<PyAny>> {
    // SAFETY: attached; `sys.modules` is borrowed from the interpreter; the module found is held
    // while its dict is read (a lookup may run a key's `__eq__`); the attribute is borrowed into a
    // new reference right after its lookup; a lookup error is cleared (then it is a miss).
    unsafe {
        let modules = ffi::PyImport_GetModuleDict();
        let m = ffi::PyDict_GetItemWithError(modules, module.as_ptr());
        if m.is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        if ffi::PyModule_CheckExact(m) == 0 {
            return None;
        }
        let m = Bound::from_borrowed_ptr(py, m);
        let v = ffi::PyDict_GetItemWithError(ffi::PyModule_GetDict(m.as_ptr()), name.as_ptr());
        if v.is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        Some(Bound::from_borrowed_ptr(py, v).unbind())
    }
}

/// How a trusted pydantic class is restored without validation: the field names in order, and
/// whether extras are kept (`extra="allow"`).
struct Trusted {
    fields: Vec<Py<PyAny>>,
    extra_allow: bool,
}

/// At most this many classes are cached per codec.
const CLASS_CACHE_MAX: usize = 4096;

#[pymethods]
impl LangGraphCodec {
    /// `hooks`: an object with the attributes `fallback`, `inspect`, `ext_hook`, `resolve`,
    /// `failed`, `method_allowed`, `trust` (None when validating), `delta` (the
    /// `_DeltaSnapshot` class) and `numpy` (`payload -> ndarray | None`); see
    /// `fast_serde.langgraph.FastSerializer._make_codec`.
    #[new]
    fn new(hooks: &Bound<'_, PyAny>) -> PyResult<Self> {
        let get = |name: &str| hooks.getattr(name).map(Bound::unbind);
        let trust = hooks.getattr("trust")?;
        Ok(LangGraphCodec {
            fallback: get("fallback")?,
            inspect: get("inspect")?,
            ext_hook: get("ext_hook")?,
            resolve: get("resolve")?,
            failed: get("failed")?,
            method_allowed: get("method_allowed")?,
            trust: (!trust.is_none()).then(|| trust.unbind()),
            delta: get("delta")?,
            numpy: get("numpy")?,
            classes: Arc::new(Mutex::new(FxHashMap::default())),
        })
    }

    /// `_msgpack_enc(obj)`'s bytes. Raises `fast_serde.EncodeError` (a `TypeError`) naming the
    /// type and path of a value neither this walker nor langgraph can write.
    fn dumps<'py>(
        &self,
        py: Python<'py>,
        obj: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let fallback = self.fallback.as_ptr();
        let inspect = self.inspect.as_ptr();
        write_bytes(py, |buf| {
            Encoder::new(buf, Mode::LangGraph { fallback, inspect }).walk(obj.as_ptr(), 0)
        })
    }

    /// The object `ormsgpack.unpackb(data, ext_hook=parent_hook, option=OPT_NON_STR_KEYS)` gives.
    /// `data`: bytes, bytearray or memoryview. Raises `fast_serde.DecodeError` (a `ValueError`)
    /// with the byte offset for malformed input, trailing bytes included.
    fn loads(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        buffer::with_bytes(data, |bytes| {
            with_key_cache(|keys| {
                let mut r = Reader::new(bytes, 0, keys, self);
                match r.read_document() {
                    // SAFETY: `read_document` returns a new reference.
                    Ok(p) => Ok(unsafe { Bound::from_owned_ptr(py, p).unbind() }),
                    Err(e) => Err((*e).into_pyerr(py)),
                }
            })
        })
    }

    /// Forget cached classes (after the allowlist changed).
    fn clear_cache(&self) {
        let old = std::mem::take(&mut *self.classes.lock().unwrap_or_else(|e| e.into_inner()));
        drop(old);
    }
}

impl LangGraphCodec {
    /// The parent's ext hook on the raw payload: its exact behaviour for anything unusual.
    fn delegate(&self, code: i8, data: &[u8], offset: usize) -> DecodeResult<*mut ffi::PyObject> {
        call_ext_hook(self.ext_hook.as_ptr(), code, data, offset).map_err(|offset| {
            let err = PyErr::take(py()).unwrap_or_else(|| {
                pyo3::exceptions::PySystemError::new_err("ext hook failed without an error")
            });
            DecodeFailure::new(offset, DecodeKind::ExtHook(err))
        })
    }

    /// The class for `module.name`, or `None` when the allowlist blocks it (then the payload is
    /// returned as the parent returns it). `Err` only for a Python error inside `resolve`.
    fn class(&self, code: i8, module: &[u8], name: &[u8]) -> PyResult<Option<ClassEntry>> {
        // SAFETY: attached: called from the reader, which runs with the GIL held.
        let py = unsafe { Python::assume_attached() };
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
    fn cache_class(
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

    /// `validate_models=False`: restore a trusted pydantic model as pickle does (`__dict__`,
    /// fields set, extras set directly). `None` when the class is not trusted or the kwargs are
    /// not exactly its fields in order (then the validated path runs).
    fn restore_trusted(
        &self,
        entry: &ClassEntry,
        kwargs: *mut ffi::PyObject,
    ) -> Option<*mut ffi::PyObject> {
        let trust = self.trust.as_ref()?;
        // SAFETY: attached (reader runs with the GIL).
        let py = unsafe { Python::assume_attached() };
        let known = entry
            .trusted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let t = match known {
            Some(decided) => decided?,
            None => {
                let decided = decide_trust(py, trust, &entry.cls, kwargs).map(Arc::new);
                let mut slot = entry.trusted.lock().unwrap_or_else(|e| e.into_inner());
                slot.get_or_insert(decided).clone()?
            }
        };
        let refs = typerefs();
        // SAFETY: `kwargs` is a live exact dict; keys are compared (by address, then by value)
        // with the field names in order; the new object gets its four pydantic slots set through
        // object.__setattr__ semantics (PyObject_GenericSetAttr), as BaseModel.__setstate__ does;
        // every temporary is released by Owned, and a failure releases the half-built object.
        unsafe {
            if ffi::PyDict_Size(kwargs) as usize != t.fields.len() {
                return None;
            }
            let mut pos: ffi::Py_ssize_t = 0;
            let mut k: *mut ffi::PyObject = std::ptr::null_mut();
            let mut v: *mut ffi::PyObject = std::ptr::null_mut();
            for f in &t.fields {
                if ffi::PyDict_Next(kwargs, &mut pos, &mut k, &mut v) == 0 {
                    return None;
                }
                if k != f.as_ptr()
                    && (ffi::PyUnicode_CheckExact(k) == 0
                        || ffi::PyUnicode_Compare(k, f.as_ptr()) != 0)
                {
                    return None;
                }
            }
            let obj = ffi::PyObject_CallOneArg(refs.object_new, entry.cls.as_ptr());
            if obj.is_null() {
                ffi::PyErr_Clear();
                return None;
            }
            let obj = Owned(obj);
            let fields_set = ffi::PySet_New(kwargs);
            if fields_set.is_null() {
                ffi::PyErr_Clear();
                return None;
            }
            let fields_set = Owned(fields_set);
            let extra = if t.extra_allow {
                ffi::PyDict_New()
            } else {
                ffi::Py_NewRef(ffi::Py_None())
            };
            if extra.is_null() {
                ffi::PyErr_Clear();
                return None;
            }
            let extra = Owned(extra);
            for (name, value) in [
                (refs.s_fields_set, fields_set.0),
                (refs.s_pydantic_extra, extra.0),
                (refs.s_pydantic_private, ffi::Py_None()),
                (refs.s_dunder_dict, kwargs),
            ] {
                if ffi::PyObject_GenericSetAttr(obj.0, name, value) != 0 {
                    ffi::PyErr_Clear();
                    return None;
                }
            }
            Some(obj.into_ptr())
        }
    }

    /// The native path; `Ok(None)` means "let the parent's hook do it".
    fn try_native(
        &self,
        reader: &mut Reader<'_>,
        code: i8,
        data: &[u8],
        offset: usize,
        depth: u32,
    ) -> DecodeResult<Option<*mut ffi::PyObject>> {
        let mut sub = reader.nested(data, offset, depth);
        let n = match sub.array_len() {
            Ok(Some(n)) => n,
            _ => return Ok(None),
        };
        let want = if code == EXT_METHOD_SINGLE_ARG || code == EXT_PYDANTIC_V2 {
            4
        } else {
            3
        };
        if n != want {
            return Ok(None);
        }
        let (module, name) = match (sub.str_bytes(), sub.str_bytes()) {
            (Ok(Some(m)), Ok(Some(n))) => (m, n),
            _ => return Ok(None),
        };
        let arg = match sub.read(1, false) {
            Ok(a) => Owned(a),
            // The parent's hook catches what fails inside a payload and reads the ext as None
            // (its fallback without a payload); only what it would not catch ends the read.
            Err(e) if e.is_fatal(py()) => return Err(e),
            Err(_) => return Ok(Some(new_none())),
        };
        let method = if n == 4 {
            match sub.str_bytes() {
                Ok(Some(m)) => m,
                _ => return Ok(None),
            }
        } else {
            &[][..]
        };
        if !sub.at_end() {
            return Ok(None);
        }
        let refs = typerefs();
        if code == EXT_METHOD_SINGLE_ARG {
            if (module, name, method) != (&b"datetime"[..], &b"datetime"[..], &b"fromisoformat"[..])
            {
                // Blocked unless in SAFE_MSGPACK_METHODS (`method_allowed` emits the parent's
                // event and warning); an allowed method other than fromisoformat is rare enough
                // to leave to the parent's hook.
                return match self.method_allowed(module, name, method) {
                    Some(false) => Ok(Some(arg.into_ptr())),
                    _ => Ok(None),
                };
            }
            // SAFETY: calls the cached `datetime.fromisoformat` with one live argument.
            let r = unsafe { ffi::PyObject_CallOneArg(refs.datetime_fromisoformat, arg.0) };
            if !r.is_null() {
                return Ok(Some(r));
            }
            return Ok(self.failed(code, module, name, arg));
        }
        let entry = match self.class(code, module, name) {
            Ok(Some(e)) => e,
            // Blocked: the parent returns the payload's argument as decoded.
            Ok(None) => return Ok(Some(arg.into_ptr())),
            Err(e) => {
                e.restore(py());
                return Ok(self.failed(code, module, name, arg));
            }
        };
        if code == EXT_PYDANTIC_V2 {
            // SAFETY: type check on a live object.
            if unsafe { ffi::PyDict_CheckExact(arg.0) } != 0 {
                if let Some(obj) = self.restore_trusted(&entry, arg.0) {
                    return Ok(Some(obj));
                }
            }
        }
        let c = entry.cls.as_ptr();
        // SAFETY: calls a live class with live arguments (`cls(arg)`, `cls(*arg)`, `cls(**arg)`);
        // results are owned; a NULL result leaves the exception set for `failed`.
        let r = unsafe {
            match code {
                EXT_CONSTRUCTOR_SINGLE_ARG => ffi::PyObject_CallOneArg(c, arg.0),
                EXT_CONSTRUCTOR_POS_ARGS => {
                    let t = ffi::PySequence_Tuple(arg.0);
                    if t.is_null() {
                        t
                    } else {
                        let t = Owned(t);
                        ffi::PyObject_Call(c, t.0, std::ptr::null_mut())
                    }
                }
                _ => {
                    if ffi::PyDict_CheckExact(arg.0) == 0 {
                        ffi::PyErr_SetString(
                            ffi::PyExc_TypeError,
                            c"argument after ** must be a mapping".as_ptr(),
                        );
                        std::ptr::null_mut()
                    } else {
                        ffi::PyObject_Call(c, refs.empty_tuple, arg.0)
                    }
                }
            }
        };
        if !r.is_null() {
            return Ok(Some(r));
        }
        if code == EXT_PYDANTIC_V2 || code == EXT_PYDANTIC_V1 {
            // The parent's second try, `cls.model_construct(**kwargs)` (v1: `cls.construct`),
            // then the kwargs themselves.
            let second = if code == EXT_PYDANTIC_V2 {
                refs.s_model_construct
            } else {
                refs.s_construct
            };
            // SAFETY: clears the first error; attribute fetch and call on live objects; owned
            // results; errors cleared.
            unsafe {
                ffi::PyErr_Clear();
                if ffi::PyDict_CheckExact(arg.0) != 0 {
                    let mc = ffi::PyObject_GetAttr(c, second);
                    if !mc.is_null() {
                        let mc = Owned(mc);
                        let r2 = ffi::PyObject_Call(mc.0, refs.empty_tuple, arg.0);
                        if !r2.is_null() {
                            return Ok(Some(r2));
                        }
                    }
                    ffi::PyErr_Clear();
                }
            }
            return Ok(Some(arg.into_ptr()));
        }
        Ok(self.failed(code, module, name, arg))
    }

    /// A construction raised (the exception is set): the parent's fallback, through
    /// `failed(code, module, name, arg, exc)` (a one-time warning, then the payload's argument).
    fn failed(
        &self,
        code: i8,
        module: &[u8],
        name: &[u8],
        arg: Owned,
    ) -> Option<*mut ffi::PyObject> {
        let py = py();
        let exc = PyErr::take(py)
            .map(|e| e.into_value(py).into_any())
            .unwrap_or_else(|| py.None());
        let m = std::str::from_utf8(module).unwrap_or_default();
        let n = std::str::from_utf8(name).unwrap_or_default();
        // SAFETY: `arg` is a live new reference, handed to a Bound that owns it.
        let arg = unsafe { Bound::from_owned_ptr(py, arg.into_ptr()) };
        match self.failed.bind(py).call1((code, m, n, arg, exc)) {
            Ok(v) => Some(v.into_ptr()),
            Err(e) => {
                e.restore(py);
                None
            }
        }
    }

    /// `_check_allowed_method(module, name, method)` of the parent, events and warning included.
    fn method_allowed(&self, module: &[u8], name: &[u8], method: &[u8]) -> Option<bool> {
        let py = py();
        let s = |b: &[u8]| std::str::from_utf8(b).unwrap_or_default().to_owned();
        self.method_allowed
            .bind(py)
            .call1((s(module), s(name), s(method)))
            .and_then(|r| r.is_truthy())
            .ok()
    }
}

impl ExtHandler for LangGraphCodec {
    fn ext_keys(&self) -> bool {
        false
    }

    fn ext(
        &self,
        reader: &mut Reader<'_>,
        code: i8,
        data: &[u8],
        offset: usize,
        depth: u32,
    ) -> DecodeResult<*mut ffi::PyObject> {
        if reader.outer() + depth >= crate::MAX_TOTAL_DEPTH {
            return Err(DecodeFailure::new(offset, DecodeKind::TotalDepth));
        }
        if crate::stack_low() {
            return Err(DecodeFailure::new(offset, DecodeKind::Stack));
        }
        match code {
            EXT_CONSTRUCTOR_SINGLE_ARG
            | EXT_CONSTRUCTOR_POS_ARGS
            | EXT_CONSTRUCTOR_KW_ARGS
            | EXT_METHOD_SINGLE_ARG
            | EXT_PYDANTIC_V1
            | EXT_PYDANTIC_V2 => {
                if let Some(obj) = self.try_native(reader, code, data, offset, depth)? {
                    return Ok(obj);
                }
                self.delegate(code, data, offset)
            }
            EXT_NUMPY_ARRAY | EXT_DELTA_SNAPSHOT => {
                let mut sub = reader.nested(data, offset, depth);
                let value = match sub.read(0, false) {
                    Ok(v) => Owned(v),
                    // The parent reads an unreadable array as None, and lets an unreadable
                    // snapshot raise (its enclosing payload, if any, reads as None).
                    Err(e) if code == EXT_NUMPY_ARRAY && !e.is_fatal(py()) => return Ok(new_none()),
                    Err(e) => return Err(e),
                };
                if !sub.at_end() {
                    // ormsgpack ignores trailing bytes inside a payload: the parent's hook.
                    return self.delegate(code, data, offset);
                }
                let f = if code == EXT_NUMPY_ARRAY {
                    &self.numpy
                } else {
                    &self.delta
                };
                // SAFETY: calls a live callable with one live argument; owned result.
                let r = unsafe { ffi::PyObject_CallOneArg(f.as_ptr(), value.0) };
                if r.is_null() {
                    return Err(DecodeFailure::fetch(py(), offset));
                }
                Ok(r)
            }
            // The parent's hook returns None for every other code.
            _ => Ok(new_none()),
        }
    }
}

/// Ask `_plans.trusted_model(cls, kwargs)` once per class; read the field names and extra mode.
#[cold]
fn decide_trust(
    py: Python<'_>,
    trust: &Py<PyAny>,
    cls: &Py<PyAny>,
    kwargs: *mut ffi::PyObject,
) -> Option<Trusted> {
    // SAFETY: `kwargs` is a live dict, borrowed into a new reference for the call.
    let kw = unsafe { Bound::from_borrowed_ptr(py, kwargs) };
    let ok = trust
        .bind(py)
        .call1((cls.bind(py), kw))
        .and_then(|r| r.is_truthy())
        .unwrap_or(false);
    if !ok {
        return None;
    }
    let cls = cls.bind(py);
    let fields: Vec<Py<PyAny>> = cls
        .getattr("model_fields")
        .ok()?
        .try_iter()
        .ok()?
        .filter_map(|k| k.ok())
        .map(|k| k.unbind())
        .collect();
    let extra_allow = cls
        .getattr("model_config")
        .and_then(|c| c.get_item("extra"))
        .map(|e| e.eq("allow").unwrap_or(false))
        .unwrap_or(false);
    Some(Trusted {
        fields,
        extra_allow,
    })
}

fn py() -> Python<'static> {
    // SAFETY: the reader runs attached to the interpreter.
    unsafe { Python::assume_attached() }
}

/// A new reference to None.
fn new_none() -> *mut ffi::PyObject {
    // SAFETY: the None singleton is immortal.
    new_ref(unsafe { ffi::Py_None() })
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
