//! The reader's LangGraph ext codes (0-7), as the parent's ext hook reads them: the payload
//! `(module, name, arg[, method])` read natively, the class resolved through the allowlist
//! (classes.rs), the object built as the parent builds it (`cls(arg)`, `cls(*args)`,
//! `cls(**kwargs)`, `model_construct`, `datetime.fromisoformat`), or restored without validation
//! (trusted.rs) or from the memo (memo.rs). Only a payload of an unexpected shape (not an array
//! of the right length, non-str names) goes to the Python twin of the parent's hook, so its
//! outcome is the parent's.

use super::codec::LangGraphCodec;
use super::forward::{construct, forwarded_init};
use super::trusted::restore_trusted;
use super::watch;
use crate::decode::{ExtHandler, Reader};
use crate::error::{fallback_ok, pending_fatal, DecodeFailure, DecodeKind, DecodeResult};
use crate::ffi::typeref::typerefs;
use crate::ffi::{new_none, py, Owned};
use crate::langgraph::ext::*;
use pyo3::ffi;
use pyo3::prelude::*;
use smallvec::SmallVec;

thread_local! {
    /// Ext values this thread has begun to read: a payload read without a change holds none.
    static EXTS_READ: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

impl LangGraphCodec {
    /// The class `module.name` names through the allowlist (classes.rs), `None` when blocked.
    fn class(&self, code: i8, module: &[u8], name: &[u8]) -> PyResult<Option<Py<PyAny>>> {
        self.classes.class(&self.hooks.resolve, code, module, name)
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
        // An ext 5 payload seen before (memo.rs): an entry with a template builds the object
        // without decoding or validating, once the allowlist (with its per-object events) has
        // resolved the name to that very class, which the memo's rule admits.
        let py = py();
        // A cached verdict may be used below: the document's first such payload checks what
        // verdicts rest on outside the classes (watch.rs).
        if code == EXT_PYDANTIC_V2
            && (self.memo.enabled() || self.hooks.trust.is_some() || self.hooks.forwarded.is_some())
        {
            if let Err(e) = self.watch_fresh(py) {
                return Err(DecodeFailure::new(offset, DecodeKind::Python(e)));
            }
        }
        let seen = if code == EXT_PYDANTIC_V2 && self.memo.enabled() {
            Some(self.memo.lookup(data))
        } else {
            None
        };
        let mut resolved = None;
        if let Some(seen) = seen
            .as_ref()
            .and_then(|s| s.entry.as_ref())
            .filter(|e| e.has_template())
        {
            let r = self.class(code, module, name);
            if let Ok(Some(cls)) = &r {
                if self.memo.serves(seen, cls.as_ptr()) {
                    if let Some(obj) = seen.build(cls.as_ptr()) {
                        self.memo.hit();
                        return Ok(obj);
                    }
                    // A KeyboardInterrupt raised while the hit was built ends the load.
                    if let Some(e) = pending_fatal(py) {
                        return Err(DecodeFailure::new(offset, DecodeKind::Python(e)));
                    }
                }
            }
            resolved = Some(r);
        }
        if seen.is_some() {
            self.memo.miss(); // not served from the memo: validated below
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
                if self.method_allowed(module, name, method, offset)? == Some(false) {
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
        let cls = match resolved.unwrap_or_else(|| self.class(code, module, name)) {
            Ok(Some(c)) => c,
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
                let trust = self.hooks.trust.as_ref();
                match restore_trusted(&self.trusted, trust, &cls, arg.0) {
                    Ok(Some(obj)) => {
                        // Kept by the memo as a validated object is: later loads of these bytes
                        // are hits in this mode too, never slower than validating.
                        let obj = Owned(obj);
                        if flat && self.memo.enabled() {
                            let cls = cls.bind(py);
                            if let Err(e) = self.memo.remember(py, seen.as_ref(), cls, data, obj.0)
                            {
                                return Err(DecodeFailure::new(offset, DecodeKind::Python(e)));
                            }
                        }
                        return Ok(obj.into_ptr());
                    }
                    Ok(None) => {}
                    Err(e) => return Err(DecodeFailure::new(offset, DecodeKind::Python(e))),
                }
            }
        }
        let c = cls.as_ptr();
        // A LangChain message: `cls(**arg)` without its `__init__` chain's frames (forward.rs).
        let init = if code == EXT_PYDANTIC_V2 {
            forwarded_init(&self.forwards, self.hooks.forwarded.as_ref(), &cls)
                .map_err(|e| DecodeFailure::new(offset, DecodeKind::Python(e)))?
        } else {
            None
        };
        let forwarded = match &init {
            // SAFETY: a type check on a live object, then `construct` on live objects with the
            // GIL held.
            Some(init) if unsafe { ffi::PyDict_CheckExact(arg.0) } != 0 => unsafe {
                construct(init.0, c, arg.0)
            },
            _ => None,
        };
        // SAFETY: calls a live class with live arguments (`cls(arg)`, `cls(*arg)`, `cls(**arg)`);
        // results are owned; a NULL result leaves the exception set for `failed`.
        let r = match forwarded {
            Some(r) => r,
            None => unsafe {
                // The class's own code runs (or its fallback's, below): what later payloads'
                // verdicts rest on is checked again before they are used (watch.rs).
                watch::recheck();
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
            },
        };
        if !r.is_null() {
            let r = Owned(r);
            if code == EXT_PYDANTIC_V2 && flat && self.memo.enabled() {
                let cls = cls.bind(py);
                if let Err(e) = self.memo.remember(py, seen.as_ref(), cls, data, r.0) {
                    return Err(DecodeFailure::new(offset, DecodeKind::Python(e)));
                }
            }
            return Ok(r.into_ptr());
        }
        if code == EXT_PYDANTIC_V2 || code == EXT_PYDANTIC_V1 {
            // The parent's second try, `cls.model_construct(**kwargs)` (v1: `cls.construct`),
            // then the kwargs themselves.
            let second = if code == EXT_PYDANTIC_V2 {
                refs.s_model_construct
            } else {
                refs.s_construct
            };
            // Both tries catch only `Exception`, as the parent's do: anything else is raised.
            // SAFETY: tests and clears the pending error; attribute fetch and call on live
            // objects; owned results.
            unsafe {
                if ffi::PyErr_ExceptionMatches(ffi::PyExc_Exception) == 0 {
                    return Err(DecodeFailure::fetch(py, offset));
                }
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
                    if ffi::PyErr_ExceptionMatches(ffi::PyExc_Exception) == 0 {
                        return Err(DecodeFailure::fetch(py, offset));
                    }
                    ffi::PyErr_Clear();
                }
            }
            return Ok(arg.into_ptr());
        }
        self.failed(code, module, name, arg, offset)
    }

    /// A construction raised (the exception is set): the parent's fallback, through
    /// `failed(code, module, name, arg, exc)` (a one-time warning, then the payload's argument),
    /// for an `Exception`; any other `BaseException` is raised as it is (the parent's hook
    /// catches only `Exception`).
    fn failed(
        &self,
        code: i8,
        module: &[u8],
        name: &[u8],
        arg: Owned,
        offset: usize,
    ) -> DecodeResult<*mut ffi::PyObject> {
        watch::recheck(); // Python code runs (watch.rs)
        let py = py();
        let exc = match PyErr::take(py) {
            Some(e) if !fallback_ok(py, &e) => {
                return Err(DecodeFailure::new(offset, DecodeKind::Python(e)))
            }
            Some(e) => e.into_value(py).into_any(),
            None => py.None(),
        };
        let m = std::str::from_utf8(module).unwrap_or_default();
        let n = std::str::from_utf8(name).unwrap_or_default();
        // SAFETY: `arg` is a live new reference, handed to a Bound that owns it.
        let arg = unsafe { Bound::from_owned_ptr(py, arg.into_ptr()) };
        self.hooks
            .failed
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
        watch::recheck(); // Python code runs (watch.rs)
        let py = py();
        let decoded = tup.is_some();
        let tup = match tup {
            // SAFETY: a live new reference, handed to a Bound that owns it.
            Some(t) => unsafe { Bound::from_owned_ptr(py, t.into_ptr()) },
            None => py.None().into_bound(py),
        };
        self.hooks
            .unusual
            .bind(py)
            .call1((code, decoded, tup))
            .map(Bound::into_ptr)
            .map_err(|e| DecodeFailure::new(offset, DecodeKind::ExtHook(e)))
    }

    /// `_check_allowed_method(module, name, method)` of the parent, events and warning included:
    /// `None` when it raised an `Exception`; anything else it raises (a serde event listener's
    /// KeyboardInterrupt) ends the read, as in the parent.
    fn method_allowed(
        &self,
        module: &[u8],
        name: &[u8],
        method: &[u8],
        offset: usize,
    ) -> DecodeResult<Option<bool>> {
        let py = py();
        let s = |b: &[u8]| std::str::from_utf8(b).unwrap_or_default().to_owned();
        match self
            .hooks
            .method_allowed
            .bind(py)
            .call1((s(module), s(name), s(method)))
            .and_then(|r| r.is_truthy())
        {
            Ok(b) => Ok(Some(b)),
            Err(e) if !fallback_ok(py, &e) => {
                Err(DecodeFailure::new(offset, DecodeKind::Python(e)))
            }
            Err(_) => Ok(None),
        }
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
        room_for_ext(reader, offset, depth)?;
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
                    &self.hooks.numpy
                } else {
                    &self.hooks.delta
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

/// Fail (fatally) if an ext payload at `depth` would nest past [`crate::limits::MAX_TOTAL_DEPTH`] or the
/// stack is low: the check both LangGraph ext handlers make first.
pub(super) fn room_for_ext(reader: &Reader<'_>, offset: usize, depth: u32) -> DecodeResult<()> {
    if reader.outer() + depth >= crate::limits::MAX_TOTAL_DEPTH {
        return Err(DecodeFailure::new(offset, DecodeKind::TotalDepth));
    }
    if crate::limits::stack_low() {
        return Err(DecodeFailure::new(offset, DecodeKind::Stack));
    }
    Ok(())
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
