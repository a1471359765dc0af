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
use crate::decode::{new_ref, with_key_cache, ExtHandler, Owned, Reader};
use crate::encode::{Encoder, Mode};
use crate::error::{DecodeFailure, DecodeKind, DecodeResult};
use crate::ext::*;
use crate::memo::{Memo, DEFAULT_MEMO_BYTES};
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
    /// `_ext_from_payload(code, decoded, tup)`: the parent's ext hook past its unpackb, in Python.
    unusual: Py<PyAny>,
    resolve: Py<PyAny>,
    failed: Py<PyAny>,
    method_allowed: Py<PyAny>,
    /// `_plans.trusted_model(cls) -> (fields, extra_allow, rules) | None` when
    /// `validate_models=False`, else None.
    trust: Option<Py<PyAny>>,
    /// `_DeltaSnapshot`, for ext 7.
    delta: Py<PyAny>,
    /// `payload -> ndarray | None`, for ext 6 (the parent's rebuild, errors read as None).
    numpy: Py<PyAny>,
    classes: Arc<ClassCache>,
    /// Validated ext 5 payloads seen before (memo.rs).
    memo: Memo,
}

thread_local! {
    /// Ext values this thread has begun to read: a payload read without a change holds none.
    static EXTS_READ: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// The classes `resolve` allowed, by the raw `code, module, name` bytes.
type ClassCache = Mutex<FxHashMap<Box<[u8]>, Arc<CachedClass>>>;

/// A class's trusted-restore decision, read from its schema when `validate_models=False`:
/// `None` until then. No lock is held while deciding (it runs Python, which may re-enter the
/// codec).
///
/// The decision is kept with the class's `tp_version_tag`: a class modified since
/// (`model_rebuild`, a replaced `__init__` or validator) is decided again.
type TrustSlot = Arc<Mutex<Option<(u32, Option<Arc<Trusted>>)>>>;

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

/// How a trusted pydantic class is restored without validation (`_plans.trusted_model`): the
/// field names in order, whether extras are kept (`extra="allow"`), and per field the rule its
/// value must meet for validation to provably return it unchanged.
struct Trusted {
    fields: Vec<Py<PyAny>>,
    extra_allow: bool,
    rules: Vec<Option<Rule>>,
}

/// A value validation returns unchanged (`_plans.trusted_model`'s rules).
enum Rule {
    /// Exactly one of these types.
    Types(Vec<Py<PyAny>>),
    /// Equal to one of these str/int/bool/None values, of the same exact type.
    Literal(Vec<Py<PyAny>>),
    Optional(Box<Option<Rule>>),
    List(Box<Option<Rule>>),
    Dict(Box<(Option<Rule>, Option<Rule>)>),
    Union(Vec<Option<Rule>>),
}

impl Rule {
    fn from_spec(spec: &Bound<'_, PyAny>) -> PyResult<Option<Rule>> {
        if spec.is_none() {
            return Ok(None);
        }
        let tag: String = spec.get_item(0)?.extract()?;
        let arg = spec.get_item(1)?;
        let list = |b: &Bound<'_, PyAny>| -> PyResult<Vec<Py<PyAny>>> {
            b.try_iter()?.map(|v| v.map(Bound::unbind)).collect()
        };
        Ok(Some(match tag.as_str() {
            "types" => Rule::Types(list(&arg)?),
            "literal" => Rule::Literal(list(&arg)?),
            "opt" => Rule::Optional(Box::new(Rule::from_spec(&arg)?)),
            "list" => Rule::List(Box::new(Rule::from_spec(&arg)?)),
            "dict" => Rule::Dict(Box::new((
                Rule::from_spec(&arg)?,
                Rule::from_spec(&spec.get_item(2)?)?,
            ))),
            "union" => Rule::Union(
                arg.try_iter()?
                    .map(|r| Rule::from_spec(&r?))
                    .collect::<PyResult<_>>()?,
            ),
            _ => {
                return Err(pyo3::exceptions::PyValueError::new_err(
                    "unknown trust rule",
                ))
            }
        }))
    }

    /// Whether `rule` admits `value` (None admits everything). Runs no Python code: types are
    /// compared by address, literals only for exact str/int/bool/None, containers only when exact.
    fn admits(rule: &Option<Rule>, value: *mut ffi::PyObject) -> bool {
        let Some(rule) = rule else { return true };
        let refs = typerefs();
        // SAFETY: `value` is a live object held by the caller (the decoded kwargs); items are
        // borrowed from exact lists and dicts that nothing changes meanwhile.
        unsafe {
            let tp = ffi::Py_TYPE(value);
            match rule {
                Rule::Types(types) => types.iter().any(|t| t.as_ptr() == tp.cast()),
                Rule::Literal(values) => values.iter().any(|v| {
                    let v = v.as_ptr();
                    ffi::Py_TYPE(v) == tp
                        && (v == value
                            || (tp == refs.str_type && ffi::PyUnicode_Compare(v, value) == 0)
                            || (tp == refs.int_type
                                && ffi::PyObject_RichCompareBool(v, value, ffi::Py_EQ) == 1))
                }),
                Rule::Optional(inner) => value == ffi::Py_None() || Rule::admits(inner, value),
                Rule::List(items) => {
                    tp == refs.list_type
                        && (0..ffi::PyList_GET_SIZE(value))
                            .all(|i| Rule::admits(items, ffi::PyList_GET_ITEM(value, i)))
                }
                Rule::Dict(kv) => {
                    if tp != refs.dict_type {
                        return false;
                    }
                    let mut pos: ffi::Py_ssize_t = 0;
                    while let Some((k, v)) = crate::dictiter::dict_next(value, &mut pos) {
                        if !Rule::admits(&kv.0, k) || !Rule::admits(&kv.1, v) {
                            return false;
                        }
                    }
                    true
                }
                Rule::Union(members) => members.iter().any(|m| Rule::admits(m, value)),
            }
        }
    }
}

/// At most this many classes are cached per codec.
const CLASS_CACHE_MAX: usize = 4096;

#[pymethods]
impl LangGraphCodec {
    /// `hooks`: an object with the attributes `fallback`, `inspect`, `unusual`, `resolve`,
    /// `failed`, `method_allowed`, `trust` (None when validating), `delta` (the
    /// `_DeltaSnapshot` class) and `numpy` (`payload -> ndarray | None`); see
    /// `fast_serde.langgraph.FastSerializer._make_codec`.
    #[new]
    fn new(hooks: &Bound<'_, PyAny>) -> PyResult<Self> {
        let get = |name: &str| hooks.getattr(name).map(Bound::unbind);
        let trust = hooks.getattr("trust")?;
        let memo_bytes: usize = match hooks.getattr("memo_bytes") {
            Ok(v) if !v.is_none() => v.extract()?,
            _ => DEFAULT_MEMO_BYTES,
        };
        Ok(LangGraphCodec {
            fallback: get("fallback")?,
            inspect: get("inspect")?,
            unusual: get("unusual")?,
            resolve: get("resolve")?,
            failed: get("failed")?,
            method_allowed: get("method_allowed")?,
            trust: (!trust.is_none()).then(|| trust.unbind()),
            delta: get("delta")?,
            numpy: get("numpy")?,
            classes: Arc::new(Mutex::new(FxHashMap::default())),
            memo: Memo::new(memo_bytes),
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

    /// Forget cached classes (after the allowlist changed) and the memo's entries.
    fn clear_cache(&self) {
        let old = std::mem::take(&mut *self.classes.lock().unwrap_or_else(|e| e.into_inner()));
        drop(old);
        self.memo.clear();
    }

    /// The memo of validated models: `{"hits", "misses", "fills", "verified", "rejected",
    /// "entries", "bytes", "budget"}` (counts since the codec was made; `bytes` and `budget` in
    /// bytes, `bytes` an estimate). `hits` are objects built from the memo; `misses` ext 5
    /// payloads not found in it; `fills` entries made; `verified` entries confirmed by a second
    /// validation; `rejected` classes found validating differently (validated every time since).
    fn memo_stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        let d = pyo3::types::PyDict::new(py);
        let names = [
            "hits", "misses", "fills", "verified", "rejected", "entries", "bytes", "budget",
        ];
        for (k, v) in names.iter().zip(self.memo.stats()) {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    /// Set the memo's budget in bytes (0 turns it off and empties it).
    fn set_memo_bytes(&self, budget: usize) {
        self.memo.set_budget(budget);
    }
}

impl LangGraphCodec {
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
        let version = crate::memo::version_tag(entry.cls.as_ptr());
        let t = match known {
            Some((v, decided)) if v == version && v != 0 => decided?,
            _ => {
                let decided = decide_trust(py, trust, &entry.cls).map(Arc::new);
                let version = crate::memo::version_tag(entry.cls.as_ptr());
                let mut slot = entry.trusted.lock().unwrap_or_else(|e| e.into_inner());
                *slot = Some((version, decided.clone()));
                decided?
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
            for (f, rule) in t.fields.iter().zip(&t.rules) {
                if ffi::PyDict_Next(kwargs, &mut pos, &mut k, &mut v) == 0 {
                    return None;
                }
                if k != f.as_ptr()
                    && (ffi::PyUnicode_CheckExact(k) == 0
                        || ffi::PyUnicode_Compare(k, f.as_ptr()) != 0)
                {
                    return None;
                }
                if !Rule::admits(rule, v) {
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

    /// Ext codes 0-5: the payload `[module, name, arg(, method)]` read and the object built as
    /// the parent's ext hook builds it. Bytes after the payload's value are ignored, as
    /// ormsgpack's `unpackb` ignores them; a payload of another shape goes to [`Self::unusual`].
    fn constructed(
        &self,
        reader: &mut Reader<'_>,
        code: i8,
        data: &[u8],
        offset: usize,
        depth: u32,
    ) -> DecodeResult<*mut ffi::PyObject> {
        let want = if code == EXT_METHOD_SINGLE_ARG || code == EXT_PYDANTIC_V2 {
            4
        } else {
            3
        };
        let mut sub = reader.nested(data, offset, depth);
        let head = match sub.array_len() {
            Ok(Some(n)) if n == want => match (sub.str_bytes(), sub.str_bytes()) {
                (Ok(Some(m)), Ok(Some(n))) => Some((m, n)),
                _ => None,
            },
            _ => None,
        };
        let Some((module, name)) = head else {
            // Nothing is built yet: read the whole payload afresh as the parent's unpackb would
            // (`sub`'s borrow of the reader ends here).
            let mut whole = reader.nested(data, offset, depth);
            let tup = match whole.read(0, false) {
                Ok(t) => Some(Owned(t)),
                Err(e) if e.is_fatal(py()) => return Err(e),
                Err(_) => None,
            };
            return self.unusual(code, tup, offset);
        };
        // An ext 5 payload seen before (memo.rs): a verified entry builds the object without
        // decoding or validating, once the allowlist (with its per-object events) has resolved
        // the name to that very class.
        let py = py();
        let seen = if code == EXT_PYDANTIC_V2 && self.memo.enabled() {
            self.memo.lookup(data)
        } else {
            None
        };
        let mut resolved = None;
        if let Some(seen) = seen.as_ref().filter(|e| e.is_verified()) {
            let r = self.class(code, module, name);
            if let Ok(Some(ce)) = &r {
                if seen.is_for(py, ce.cls.as_ptr()) {
                    if let Some(obj) = seen.build(ce.cls.as_ptr()) {
                        self.memo.hit();
                        return Ok(obj);
                    }
                }
            }
            resolved = Some(r);
        }
        let exts_before = EXTS_READ.get();
        let arg = match sub.read(1, false) {
            Ok(a) => Owned(a),
            // The parent's hook catches what fails inside a payload and reads the ext as None
            // (its fallback without a payload); only what it would not catch ends the read.
            Err(e) if e.is_fatal(py) => return Err(e),
            Err(_) => return Ok(new_none()),
        };
        let flat = EXTS_READ.get() == exts_before;
        let method = if want == 4 {
            match sub.str_bytes() {
                Ok(Some(m)) => m,
                Ok(None) => {
                    // A method that is not a str: the payload as a list, its last item read here.
                    let last = match sub.read(1, false) {
                        Ok(v) => Owned(v),
                        Err(e) if e.is_fatal(py) => return Err(e),
                        Err(_) => return Ok(new_none()),
                    };
                    let tup = payload_list(module, name, arg, Some(last))?;
                    return self.unusual(code, Some(tup), offset);
                }
                Err(e) if e.is_fatal(py) => return Err(e),
                Err(_) => return Ok(new_none()),
            }
        } else {
            &[][..]
        };
        let refs = typerefs();
        if code == EXT_METHOD_SINGLE_ARG {
            if (module, name, method) != (&b"datetime"[..], &b"datetime"[..], &b"fromisoformat"[..])
            {
                // Blocked unless in SAFE_MSGPACK_METHODS (`method_allowed` emits the parent's
                // event and warning); an allowed method other than fromisoformat is rare enough
                // to leave to the Python twin of the parent's hook.
                if self.method_allowed(module, name, method) == Some(false) {
                    return Ok(arg.into_ptr());
                }
                let meth = Owned(new_str(method)?);
                let tup = payload_list(module, name, arg, Some(meth))?;
                return self.unusual(code, Some(tup), offset);
            }
            // SAFETY: calls the cached `datetime.fromisoformat` with one live argument.
            let r = unsafe { ffi::PyObject_CallOneArg(refs.datetime_fromisoformat, arg.0) };
            if !r.is_null() {
                return Ok(r);
            }
            return self.failed(code, module, name, arg, offset);
        }
        let entry = match resolved.unwrap_or_else(|| self.class(code, module, name)) {
            Ok(Some(e)) => e,
            // Blocked: the parent returns the payload's argument as decoded.
            Ok(None) => return Ok(arg.into_ptr()),
            Err(e) => {
                e.restore(py);
                return self.failed(code, module, name, arg, offset);
            }
        };
        if code == EXT_PYDANTIC_V2 {
            // SAFETY: type check on a live object.
            if unsafe { ffi::PyDict_CheckExact(arg.0) } != 0 {
                if let Some(obj) = self.restore_trusted(&entry, arg.0) {
                    return Ok(obj);
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
            if code == EXT_PYDANTIC_V2 && flat && self.memo.enabled() {
                self.remember(py, seen.as_deref(), &entry.cls, data, r);
            }
            return Ok(r);
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
                            return Ok(r2);
                        }
                    }
                    ffi::PyErr_Clear();
                }
            }
            return Ok(arg.into_ptr());
        }
        self.failed(code, module, name, arg, offset)
    }

    /// `r`, just validated from `payload` without nested ext values: the first sight of the
    /// payload marks it, the second keeps a copy of `r` as its template, the third verifies that
    /// template against `r` (memo.rs); hits follow.
    fn remember(
        &self,
        py: Python<'_>,
        seen: Option<&crate::memo::Entry>,
        cls: &Py<PyAny>,
        payload: &[u8],
        r: *mut ffi::PyObject,
    ) {
        let cls = cls.bind(py);
        match seen {
            Some(e) if e.is_for(py, cls.as_ptr()) => {
                if !e.has_template() {
                    self.memo.keep(py, e, cls, payload, r);
                } else if !e.is_verified() {
                    self.memo.verify(py, e, cls, r);
                }
            }
            // Kept for another class object at this name, or before the class was modified:
            // dropped, so that this payload is marked afresh next time.
            Some(e) => self.memo.forget(e),
            None => {
                if !self.memo.is_rejected(py, cls.as_ptr()) {
                    self.memo.mark(py, cls, payload, r);
                }
            }
        }
    }

    /// A construction raised (the exception is set): the parent's fallback, through
    /// `failed(code, module, name, arg, exc)` (a one-time warning, then the payload's argument).
    fn failed(
        &self,
        code: i8,
        module: &[u8],
        name: &[u8],
        arg: Owned,
        offset: usize,
    ) -> DecodeResult<*mut ffi::PyObject> {
        let py = py();
        let exc = PyErr::take(py)
            .map(|e| e.into_value(py).into_any())
            .unwrap_or_else(|| py.None());
        let m = std::str::from_utf8(module).unwrap_or_default();
        let n = std::str::from_utf8(name).unwrap_or_default();
        // SAFETY: `arg` is a live new reference, handed to a Bound that owns it.
        let arg = unsafe { Bound::from_owned_ptr(py, arg.into_ptr()) };
        self.failed
            .bind(py)
            .call1((code, m, n, arg, exc))
            .map(Bound::into_ptr)
            .map_err(|e| DecodeFailure::new(offset, DecodeKind::ExtHook(e)))
    }

    /// A payload of another shape than `[module, name, arg(, method)]` with str names (`tup`, as
    /// decoded; None when it could not be): `_ext_from_payload(code, decoded, tup)`, the twin of
    /// the parent's ext hook past its `unpackb`. An exception it raises ends the read, as the
    /// parent's would.
    #[cold]
    fn unusual(
        &self,
        code: i8,
        tup: Option<Owned>,
        offset: usize,
    ) -> DecodeResult<*mut ffi::PyObject> {
        let py = py();
        let decoded = tup.is_some();
        let tup = match tup {
            // SAFETY: a live new reference, handed to a Bound that owns it.
            Some(t) => unsafe { Bound::from_owned_ptr(py, t.into_ptr()) },
            None => py.None().into_bound(py),
        };
        self.unusual
            .bind(py)
            .call1((code, decoded, tup))
            .map(Bound::into_ptr)
            .map_err(|e| DecodeFailure::new(offset, DecodeKind::ExtHook(e)))
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
        EXTS_READ.set(EXTS_READ.get().wrapping_add(1));
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
            | EXT_PYDANTIC_V2 => self.constructed(reader, code, data, offset, depth),
            EXT_NUMPY_ARRAY | EXT_DELTA_SNAPSHOT => {
                let mut sub = reader.nested(data, offset, depth);
                let value = match sub.read(0, false) {
                    Ok(v) => Owned(v),
                    // The parent reads an unreadable array as None, and lets an unreadable
                    // snapshot raise (its enclosing payload, if any, reads as None).
                    Err(e) if code == EXT_NUMPY_ARRAY && !e.is_fatal(py()) => return Ok(new_none()),
                    Err(e) => return Err(e),
                };
                // Bytes after the value are ignored, as ormsgpack's unpackb ignores them.
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

/// Ask `_plans.trusted_model(cls)` once per class; read its fields, extra mode and rules.
#[cold]
fn decide_trust(py: Python<'_>, trust: &Py<PyAny>, cls: &Py<PyAny>) -> Option<Trusted> {
    let decided = trust.bind(py).call1((cls.bind(py),)).ok()?;
    if decided.is_none() {
        return None;
    }
    let parse = || -> PyResult<Trusted> {
        let fields: Vec<Py<PyAny>> = decided
            .get_item(0)?
            .try_iter()?
            .map(|k| k.map(Bound::unbind))
            .collect::<PyResult<_>>()?;
        let extra_allow = decided.get_item(1)?.is_truthy()?;
        let rules = decided
            .get_item(2)?
            .try_iter()?
            .map(|r| Rule::from_spec(&r?))
            .collect::<PyResult<Vec<_>>>()?;
        if rules.len() != fields.len() {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "one rule per field",
            ));
        }
        Ok(Trusted {
            fields,
            extra_allow,
            rules,
        })
    };
    parse().ok()
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

/// A new str from bytes the reader checked as UTF-8.
fn new_str(b: &[u8]) -> DecodeResult<*mut ffi::PyObject> {
    // SAFETY: builds a str from a valid UTF-8 slice; NULL is turned into the pending error.
    let s =
        unsafe { ffi::PyUnicode_FromStringAndSize(b.as_ptr().cast(), b.len() as ffi::Py_ssize_t) };
    if s.is_null() {
        return Err(DecodeFailure::fetch(py(), 0));
    }
    Ok(s)
}

/// `[module, name, arg(, last)]` as a list, the parent's `tup`.
fn payload_list(
    module: &[u8],
    name: &[u8],
    arg: Owned,
    last: Option<Owned>,
) -> DecodeResult<Owned> {
    let m = Owned(new_str(module)?);
    let n = Owned(new_str(name)?);
    let items: SmallVec<[Owned; 4]> = [Some(m), Some(n), Some(arg), last]
        .into_iter()
        .flatten()
        .collect();
    // SAFETY: a new list of the right length; each slot is given a new reference (PyList_SET_ITEM
    // steals it); on failure the owned items are released by their Drop.
    unsafe {
        let list = ffi::PyList_New(items.len() as ffi::Py_ssize_t);
        if list.is_null() {
            return Err(DecodeFailure::fetch(py(), 0));
        }
        for (i, it) in items.into_iter().enumerate() {
            ffi::PyList_SET_ITEM(list, i as ffi::Py_ssize_t, it.into_ptr());
        }
        Ok(Owned(list))
    }
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
