//! The walker: Python objects straight into the MessagePack output (see `buffer::OutBuf`).
//!
//! Dispatch is by exact type pointer, hot types first (str, int, bool, None, float, list, dict,
//! tuple); everything rarer goes through [`Encoder::walk_unlikely`], kept out of line. Two modes:
//!
//! * plain (`fast_serde.dumps`): the bytes of `ormsgpack.packb(obj, option=OPT_NON_STR_KEYS |
//!   OPT_REPLACE_SURROGATES)` for the types it shares with ormsgpack; other types go to `default`.
//! * LangGraph (`FastSerializer`): the bytes of langgraph-checkpoint's `_msgpack_enc` (ormsgpack
//!   with `_msgpack_default` and its passthrough options). Pydantic v2 models (ext 5), UUID
//!   (ext 0) and datetime (ext 3) are written natively; any other type is handed to
//!   `_msgpack_enc` itself and its bytes spliced in, so the output is the parent's by
//!   construction.

use crate::buffer::OutBuf;
use crate::dictiter::{dict_len, dict_next};
use crate::error::{EncodeFailure, EncodeKind, EncodeResult, PathSeg};
use crate::typeref::{typerefs, TypeRefs};
use crate::writer::{self, Out};
use crate::MAX_DEPTH;
use pyo3::ffi;
use pyo3::prelude::*;

/// How the walker treats types beyond plain data.
pub enum Mode {
    /// `fast_serde.dumps`: `default` (may be null) is called for unknown types.
    Plain { default: *mut ffi::PyObject },
    /// `FastSerializer`: `fallback` is langgraph's `_msgpack_enc` (returns packed bytes) and
    /// `inspect` is `fast_serde._plans.encode_plan` (one call per class).
    LangGraph {
        fallback: *mut ffi::PyObject,
        inspect: *mut ffi::PyObject,
    },
}

pub struct Encoder<'a> {
    pub buf: &'a mut OutBuf,
    pub mode: Mode,
    refs: &'static TypeRefs,
    /// Above zero while writing a model's `__dict__` in place of `model_dump()`: any value
    /// model_dump() would convert fails with `NotPlain` (see encode_lg.rs).
    pub(crate) plain_only: u32,
    /// Levels above the ext payload being written (zero outside ext payloads).
    pub(crate) outer: u32,
}

/// A new reference that is released when dropped (error paths included).
pub(crate) struct Owned(pub(crate) *mut ffi::PyObject);

impl Drop for Owned {
    fn drop(&mut self) {
        // SAFETY: `Owned` is only built from a non-null new reference, released exactly once.
        unsafe { ffi::Py_DECREF(self.0) }
    }
}

/// Take the pending Python exception as a callback failure for an object of type `tp`.
#[cold]
pub(crate) fn callback_failure(tp: *mut ffi::PyTypeObject) -> Box<EncodeFailure> {
    // SAFETY: attached (every walker entry point holds the GIL); `tp` is a live type object.
    let py = unsafe { Python::assume_attached() };
    let err = PyErr::take(py).unwrap_or_else(|| {
        pyo3::exceptions::PySystemError::new_err("fast_serde: callback failed without an error")
    });
    EncodeFailure::new(EncodeKind::Callback(type_of(tp), err))
}

/// A strong reference to a type, for error messages.
pub(crate) fn type_of(tp: *mut ffi::PyTypeObject) -> Py<PyAny> {
    // SAFETY: attached; `tp` is a live type object, borrowed and turned into a new reference.
    unsafe {
        let py = Python::assume_attached();
        Bound::from_borrowed_ptr(py, tp.cast()).unbind()
    }
}

#[cold]
fn unsupported(tp: *mut ffi::PyTypeObject) -> Box<EncodeFailure> {
    EncodeFailure::new(EncodeKind::Unsupported(type_of(tp)))
}

/// Push a path step (and the container it left) onto an unwinding failure.
#[cold]
pub(crate) fn at(
    mut f: Box<EncodeFailure>,
    seg: PathSeg,
    container: *mut ffi::PyObject,
) -> Box<EncodeFailure> {
    f.path.push(seg);
    f.ancestors.push(container as usize);
    f
}

fn borrowed(obj: *mut ffi::PyObject) -> Py<PyAny> {
    // SAFETY: attached; `obj` is a live object, turned into a new reference.
    unsafe { Bound::from_borrowed_ptr(Python::assume_attached(), obj).unbind() }
}

impl<'a> Encoder<'a> {
    pub fn new(buf: &'a mut OutBuf, mode: Mode) -> Self {
        Encoder {
            buf,
            mode,
            refs: typerefs(),
            plain_only: 0,
            outer: 0,
        }
    }

    /// Exactly str, int, float, bool or None: writing one runs no Python code, so an item
    /// borrowed from a container the caller holds stays alive throughout, without a reference
    /// of its own (a callback that could mutate the container only runs for other types).
    #[inline(always)]
    pub(crate) fn is_scalar(&self, tp: *mut ffi::PyTypeObject) -> bool {
        let r = self.refs;
        tp == r.str_type
            || tp == r.int_type
            || tp == r.float_type
            || tp == r.none_type
            || tp == r.bool_type
    }

    /// Write `item`, borrowed from a container the caller holds: as is when it is a scalar (see
    /// [`Encoder::is_scalar`]), else under a new reference, since walking it may run Python code
    /// that mutates the container.
    #[inline(always)]
    pub(crate) fn walk_item(&mut self, item: *mut ffi::PyObject, depth: u32) -> EncodeResult {
        // SAFETY: reading the type of the live item.
        if self.is_scalar(unsafe { ffi::Py_TYPE(item) }) {
            return self.walk(item, depth);
        }
        // SAFETY: `item` is live; the new reference is released by Owned.
        let item = unsafe {
            ffi::Py_INCREF(item);
            Owned(item)
        };
        self.walk(item.0, depth)
    }

    /// Write `obj` (borrowed) at nesting `depth`.
    #[inline]
    pub(crate) fn walk(&mut self, obj: *mut ffi::PyObject, depth: u32) -> EncodeResult {
        let r = self.refs;
        // SAFETY: `obj` is a live object borrowed from the caller for the duration of the call.
        let tp = unsafe { ffi::Py_TYPE(obj) };
        if tp == r.str_type {
            self.write_str(obj, false)
        } else if tp == r.int_type {
            self.write_int(obj)
        } else if tp == r.bool_type {
            // SAFETY: comparing against the `True` singleton's address.
            writer::bool(self.buf, obj == unsafe { ffi::Py_True() });
            Ok(())
        } else if tp == r.none_type {
            writer::nil(self.buf);
            Ok(())
        } else if tp == r.float_type {
            // SAFETY: `obj` is exactly a float.
            writer::f64(self.buf, unsafe { ffi::PyFloat_AS_DOUBLE(obj) });
            Ok(())
        } else if tp == r.list_type {
            self.write_list(obj, depth)
        } else if tp == r.dict_type {
            self.write_dict(obj, depth, false)
        } else if tp == r.tuple_type {
            self.write_tuple(obj, depth)
        } else {
            self.walk_unlikely(obj, tp, depth)
        }
    }

    #[inline(never)]
    fn walk_unlikely(
        &mut self,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
        depth: u32,
    ) -> EncodeResult {
        let r = self.refs;
        let plain = matches!(self.mode, Mode::Plain { .. });
        if tp == r.bytes_type {
            // SAFETY: `obj` is exactly bytes; the pointer and size describe its buffer.
            let s = unsafe {
                std::slice::from_raw_parts(
                    ffi::PyBytes_AS_STRING(obj) as *const u8,
                    ffi::PyBytes_Size(obj) as usize,
                )
            };
            return self.write_bin(s);
        }
        if tp == r.bytearray_type {
            // SAFETY: `obj` is exactly a bytearray; nothing runs while the slice is alive.
            let s = unsafe {
                std::slice::from_raw_parts(
                    ffi::PyByteArray_AsString(obj) as *const u8,
                    ffi::PyByteArray_Size(obj) as usize,
                )
            };
            return self.write_bin(s);
        }
        if tp == r.memoryview_type {
            return self.write_memoryview(obj, tp);
        }
        if plain && tp == r.ext_type {
            return self.write_ext_tuple(obj, tp);
        }
        if !plain && tp == r.datetime_type {
            return self.write_datetime(obj, tp);
        }
        if !plain && tp == r.uuid_type {
            return self.write_uuid(obj, tp);
        }
        if self.plain_only > 0 {
            return Err(EncodeFailure::new(EncodeKind::NotPlain));
        }
        // SAFETY: reading the metaclass and flags of a live type object.
        let (meta, flags) = unsafe { (ffi::Py_TYPE(tp.cast()), (*tp).tp_flags) };
        if meta == r.enum_meta {
            if plain {
                // ormsgpack without OPT_PASSTHROUGH_ENUM writes `.value`.
                // SAFETY: attribute fetch on a live object; the new reference is owned.
                let v = unsafe { ffi::PyObject_GetAttr(obj, r.s_value) };
                if v.is_null() {
                    return Err(callback_failure(tp));
                }
                let v = Owned(v);
                return self.enter(depth).and_then(|_| self.walk(v.0, depth + 1));
            }
            return self.unknown(obj, tp, depth);
        }
        if flags & ffi::Py_TPFLAGS_UNICODE_SUBCLASS != 0 {
            return self.write_str(obj, false);
        }
        if flags & ffi::Py_TPFLAGS_LONG_SUBCLASS != 0 {
            return self.write_int(obj);
        }
        if flags & ffi::Py_TPFLAGS_LIST_SUBCLASS != 0 {
            return self.write_list(obj, depth);
        }
        if flags & ffi::Py_TPFLAGS_DICT_SUBCLASS != 0 {
            return self.write_dict(obj, depth, false);
        }
        if plain {
            if flags & ffi::Py_TPFLAGS_TUPLE_SUBCLASS != 0 {
                return self.write_tuple(obj, depth);
            }
            // SAFETY: type check on a live object.
            if unsafe { ffi::PyFloat_Check(obj) } != 0 {
                // SAFETY: `obj` is a float (subclass); the macro reads its C double.
                writer::f64(self.buf, unsafe { ffi::PyFloat_AS_DOUBLE(obj) });
                return Ok(());
            }
        }
        self.unknown(obj, tp, depth)
    }

    #[inline(always)]
    pub(crate) fn enter(&self, depth: u32) -> EncodeResult {
        let total = self.outer + depth;
        if depth >= MAX_DEPTH || total >= crate::MAX_TOTAL_DEPTH {
            Err(EncodeFailure::new(EncodeKind::Depth))
        } else if total % 8 == 0 && crate::stack_low() {
            Err(EncodeFailure::new(EncodeKind::Stack))
        } else {
            Ok(())
        }
    }

    /// A type neither mode writes by itself.
    #[cold]
    fn unknown(
        &mut self,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
        depth: u32,
    ) -> EncodeResult {
        match self.mode {
            Mode::Plain { default } => {
                if default.is_null() {
                    return Err(unsupported(tp));
                }
                self.enter(depth)?;
                // SAFETY: calling a live callable with one borrowed argument; owned result.
                let res = unsafe { ffi::PyObject_CallOneArg(default, obj) };
                if res.is_null() {
                    return Err(callback_failure(tp));
                }
                let res = Owned(res);
                // SAFETY: reading the type of the live result.
                if unsafe { ffi::Py_TYPE(res.0) } == tp {
                    // `default` gave back the same type: it cannot make progress.
                    return Err(unsupported(tp));
                }
                self.walk(res.0, depth + 1)
            }
            Mode::LangGraph { .. } => self.write_planned(obj, tp, depth),
        }
    }

    /// `_msgpack_enc(obj)`: the parent's own bytes for a type written in Python.
    pub(crate) fn splice_fallback(
        &mut self,
        fallback: *mut ffi::PyObject,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
    ) -> EncodeResult {
        // SAFETY: calling a live callable with one borrowed argument; owned result.
        let res = unsafe { ffi::PyObject_CallOneArg(fallback, obj) };
        if res.is_null() {
            return Err(callback_failure(tp));
        }
        let res = Owned(res);
        // SAFETY: type check on the live result.
        if unsafe { ffi::PyBytes_Check(res.0) } == 0 {
            return Err(unsupported(tp));
        }
        // SAFETY: `res` is bytes; its buffer is valid while `res` is alive.
        let s = unsafe {
            std::slice::from_raw_parts(
                ffi::PyBytes_AS_STRING(res.0) as *const u8,
                ffi::PyBytes_Size(res.0) as usize,
            )
        };
        self.buf.extend_from_slice(s);
        Ok(())
    }

    #[inline(always)]
    fn write_str(&mut self, obj: *mut ffi::PyObject, refuse_surrogates: bool) -> EncodeResult {
        // SAFETY: `obj` is a str (or subclass). Compact ASCII strs store their bytes inline after
        // the header; otherwise CPython's cached UTF-8 is used, valid while `obj` is alive.
        unsafe {
            if ffi::PyUnicode_IS_COMPACT_ASCII(obj) != 0 {
                let len = ffi::PyUnicode_GET_LENGTH(obj) as usize;
                let data = ffi::PyUnicode_DATA(obj) as *const u8;
                return self.write_str_bytes(std::slice::from_raw_parts(data, len));
            }
            let mut len: ffi::Py_ssize_t = 0;
            let data = ffi::PyUnicode_AsUTF8AndSize(obj, &mut len);
            if !data.is_null() {
                return self
                    .write_str_bytes(std::slice::from_raw_parts(data as *const u8, len as usize));
            }
        }
        self.write_str_surrogates(obj, refuse_surrogates)
    }

    #[inline(always)]
    fn write_str_bytes(&mut self, s: &[u8]) -> EncodeResult {
        if s.len() > u32::MAX as usize {
            return Err(EncodeFailure::new(EncodeKind::TooLong));
        }
        writer::str(self.buf, s);
        Ok(())
    }

    /// A str with lone surrogates: values get each one replaced by `?` (ormsgpack's
    /// `OPT_REPLACE_SURROGATES`, i.e. Python's `"replace"` handler); keys are refused, as ormsgpack
    /// refuses them.
    #[cold]
    fn write_str_surrogates(
        &mut self,
        obj: *mut ffi::PyObject,
        refuse_surrogates: bool,
    ) -> EncodeResult {
        // SAFETY: clears the UnicodeEncodeError left by PyUnicode_AsUTF8AndSize.
        unsafe { ffi::PyErr_Clear() };
        if refuse_surrogates {
            return Err(EncodeFailure::new(EncodeKind::SurrogateKey));
        }
        // SAFETY: encodes a live str with C-string arguments; owned result checked for NULL.
        let b =
            unsafe { ffi::PyUnicode_AsEncodedString(obj, c"utf-8".as_ptr(), c"replace".as_ptr()) };
        if b.is_null() {
            // SAFETY: `obj` is alive; reading its type for the message.
            return Err(callback_failure(unsafe { ffi::Py_TYPE(obj) }));
        }
        let b = Owned(b);
        // SAFETY: `b` is bytes and alive for the slice's lifetime.
        let s = unsafe {
            std::slice::from_raw_parts(
                ffi::PyBytes_AS_STRING(b.0) as *const u8,
                ffi::PyBytes_Size(b.0) as usize,
            )
        };
        self.write_str_bytes(s)
    }

    #[inline(always)]
    fn write_int(&mut self, obj: *mut ffi::PyObject) -> EncodeResult {
        let mut overflow: std::ffi::c_int = 0;
        // SAFETY: `obj` is an int (or subclass); errors are reported through `overflow`/-1.
        let v = unsafe { ffi::PyLong_AsLongLongAndOverflow(obj, &mut overflow) };
        if overflow == 0 {
            // SAFETY: checking the error indicator after a possible -1 error return.
            if v == -1 && !unsafe { ffi::PyErr_Occurred() }.is_null() {
                // SAFETY: `obj` is alive.
                return Err(callback_failure(unsafe { ffi::Py_TYPE(obj) }));
            }
            writer::sint(self.buf, v);
            return Ok(());
        }
        if overflow > 0 {
            // SAFETY: `obj` is a positive int above i64::MAX; -1 (u64::MAX) may signal overflow.
            let u = unsafe { ffi::PyLong_AsUnsignedLongLong(obj) };
            // SAFETY: checking the error indicator.
            if u == u64::MAX && !unsafe { ffi::PyErr_Occurred() }.is_null() {
                // SAFETY: clearing the OverflowError we turn into our own error.
                unsafe { ffi::PyErr_Clear() };
                return Err(EncodeFailure::new(EncodeKind::IntOverflow));
            }
            writer::uint(self.buf, u);
            return Ok(());
        }
        Err(EncodeFailure::new(EncodeKind::IntOverflow))
    }

    fn write_bin(&mut self, s: &[u8]) -> EncodeResult {
        if s.len() > u32::MAX as usize {
            return Err(EncodeFailure::new(EncodeKind::TooLong));
        }
        writer::bin(self.buf, s);
        Ok(())
    }

    fn write_memoryview(
        &mut self,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
    ) -> EncodeResult {
        // SAFETY: a zeroed Py_buffer is the documented initial state; PyObject_GetBuffer fills it
        // and PyBuffer_Release gives it back on every path below.
        unsafe {
            let mut view: ffi::Py_buffer = std::mem::zeroed();
            if ffi::PyObject_GetBuffer(obj, &mut view, ffi::PyBUF_C_CONTIGUOUS) != 0 {
                return Err(callback_failure(tp));
            }
            let s = std::slice::from_raw_parts(view.buf as *const u8, view.len as usize);
            let r = self.write_bin(s);
            ffi::PyBuffer_Release(&mut view);
            r
        }
    }

    fn write_list(&mut self, obj: *mut ffi::PyObject, depth: u32) -> EncodeResult {
        self.enter(depth)?;
        // SAFETY: `obj` is a list (or subclass).
        let len = unsafe { ffi::PyList_GET_SIZE(obj) } as usize;
        if len > u32::MAX as usize {
            return Err(EncodeFailure::new(EncodeKind::TooLong));
        }
        writer::array_len(self.buf, len as u32);
        for i in 0..len {
            // SAFETY: the size is re-read because a callback may have shrunk the list; the item is
            // a borrowed pointer of the live list (index in bounds).
            let item = unsafe {
                if ffi::PyList_GET_SIZE(obj) as usize != len {
                    return Err(at(
                        EncodeFailure::new(EncodeKind::Mutated("list")),
                        PathSeg::Index(i),
                        obj,
                    ));
                }
                ffi::PyList_GET_ITEM(obj, i as ffi::Py_ssize_t)
            };
            if let Err(e) = self.walk_item(item, depth + 1) {
                return Err(at(e, PathSeg::Index(i), obj));
            }
        }
        Ok(())
    }

    fn write_tuple(&mut self, obj: *mut ffi::PyObject, depth: u32) -> EncodeResult {
        self.write_tuple_with(obj, depth, |enc, item, d| enc.walk(item, d).map(|_| true))
            .map(|_| ())
    }

    /// A tuple (or subclass) as an array, each item written by `item` (`Ok(false)` stops: the
    /// caller falls back). Tuples are immutable: items are borrowed from it.
    #[inline(always)]
    fn write_tuple_with(
        &mut self,
        obj: *mut ffi::PyObject,
        depth: u32,
        mut item: impl FnMut(&mut Self, *mut ffi::PyObject, u32) -> EncodeResult<bool>,
    ) -> EncodeResult<bool> {
        self.enter(depth)?;
        // SAFETY: `obj` is a tuple (or subclass).
        let len = unsafe { ffi::PyTuple_GET_SIZE(obj) } as usize;
        if len > u32::MAX as usize {
            return Err(EncodeFailure::new(EncodeKind::TooLong));
        }
        writer::array_len(self.buf, len as u32);
        for i in 0..len {
            // SAFETY: index in bounds of an immutable tuple.
            let it = unsafe { ffi::PyTuple_GET_ITEM(obj, i as ffi::Py_ssize_t) };
            match item(self, it, depth + 1) {
                Ok(true) => {}
                Ok(false) => return Ok(false),
                Err(e) => return Err(at(e, PathSeg::Index(i), obj)),
            }
        }
        Ok(true)
    }

    /// A dict (or subclass); `fields` prints error paths as `.name` (a model's `model_dump()`).
    pub(crate) fn write_dict(
        &mut self,
        obj: *mut ffi::PyObject,
        depth: u32,
        fields: bool,
    ) -> EncodeResult {
        self.enter(depth)?;
        // SAFETY: `obj` is a dict (or subclass).
        let len = unsafe { dict_len(obj) };
        if len > u32::MAX as usize {
            return Err(EncodeFailure::new(EncodeKind::TooLong));
        }
        let start = self.buf.len();
        writer::map_len(self.buf, len as u32);
        match self.write_dict_items(obj, depth, fields) {
            Err(e) if matches!(e.kind, EncodeKind::KeyFallback) => {
                // A key type ormsgpack formats its own way: the whole dict goes to the parent.
                let Mode::LangGraph { fallback, .. } = self.mode else {
                    unreachable!("KeyFallback is LangGraph-only")
                };
                self.buf.truncate(start);
                // SAFETY: `obj` is alive.
                self.splice_fallback(fallback, obj, unsafe { ffi::Py_TYPE(obj) })
            }
            other => other,
        }
    }

    /// The entries of a dict whose map header is written (its current size is the count).
    pub(crate) fn write_dict_items(
        &mut self,
        obj: *mut ffi::PyObject,
        depth: u32,
        fields: bool,
    ) -> EncodeResult {
        // SAFETY: `obj` is a dict (or subclass).
        let len = unsafe { dict_len(obj) };
        let mut pos: ffi::Py_ssize_t = 0;
        let mut n = 0usize;
        // SAFETY: `obj` is a live dict, attached; dict_next yields borrowed pointers, held by new
        // references below while a walk that may run Python callbacks (which could mutate the
        // dict) uses them.
        while let Some((key, value)) = unsafe { dict_next(obj, &mut pos) } {
            n += 1;
            // SAFETY: reading the types of the key and value just yielded (live, borrowed).
            let (kt, vt) = unsafe { (ffi::Py_TYPE(key), ffi::Py_TYPE(value)) };
            if kt == self.refs.str_type && self.is_scalar(vt) && n <= len {
                // The common entry: no Python code runs, the dict keeps both alive (see is_scalar).
                if let Err(e) = self
                    .write_str(key, true)
                    .and_then(|_| self.walk(value, depth + 1))
                {
                    let seg = if fields {
                        PathSeg::Field(borrowed(key))
                    } else {
                        PathSeg::Key(borrowed(key))
                    };
                    return Err(at(e, seg, obj));
                }
                continue;
            }
            // SAFETY: key and value are live (just yielded); the references are released by Owned.
            let (k, v) = unsafe {
                ffi::Py_INCREF(key);
                ffi::Py_INCREF(value);
                (Owned(key), Owned(value))
            };
            let seg = || {
                if fields {
                    PathSeg::Field(borrowed(k.0))
                } else {
                    PathSeg::Key(borrowed(k.0))
                }
            };
            if n > len {
                return Err(at(
                    EncodeFailure::new(EncodeKind::Mutated("dict")),
                    seg(),
                    obj,
                ));
            }
            match self.write_key(k.0, depth, false) {
                Ok(true) => {}
                Ok(false) => {
                    if self.plain_only > 0 {
                        return Err(EncodeFailure::new(EncodeKind::NotPlain));
                    }
                    if matches!(self.mode, Mode::LangGraph { .. }) {
                        return Err(EncodeFailure::new(EncodeKind::KeyFallback));
                    }
                    // SAFETY: `k` is alive.
                    let e = unsupported(unsafe { ffi::Py_TYPE(k.0) });
                    return Err(at(e, seg(), obj));
                }
                Err(e) => return Err(at(e, seg(), obj)),
            }
            if let Err(e) = self.walk(v.0, depth + 1) {
                return Err(at(e, seg(), obj));
            }
        }
        if n != len {
            return Err(at(
                EncodeFailure::new(EncodeKind::Mutated("dict")),
                PathSeg::Index(n),
                obj,
            ));
        }
        Ok(())
    }

    /// Keys as ormsgpack writes them under `OPT_NON_STR_KEYS` (its `serialize_with_non_str_keys`
    /// and `DictKey`): an exact str at the dict's own level with lone surrogates refused; inside
    /// `DictKey` (str subclasses, Enum values, the items of a tuple key) surrogates replaced by
    /// `?` (`OPT_REPLACE_SURROGATES`); int, bool, None, exact float, bytes, memoryview, exact
    /// tuples item by item as keys, and an Enum member (metaclass exactly `EnumType`) as its
    /// value. `Ok(false)`: a key the walker leaves to the caller (LangGraph mode: datetime, date,
    /// time and UUID, which ormsgpack writes as text, and every type it refuses; the whole dict
    /// then goes to `_msgpack_enc`, so its bytes or its error are the parent's).
    #[inline(always)]
    fn write_key(
        &mut self,
        key: *mut ffi::PyObject,
        depth: u32,
        in_key: bool,
    ) -> EncodeResult<bool> {
        let r = self.refs;
        // SAFETY: `key` is a live object.
        let tp = unsafe { ffi::Py_TYPE(key) };
        if tp == r.str_type {
            self.write_str(key, !in_key)?;
            return Ok(true);
        }
        if tp == r.int_type
            || tp == r.bool_type
            || tp == r.none_type
            || tp == r.float_type
            || tp == r.bytes_type
        {
            self.walk(key, depth + 1)?;
            return Ok(true);
        }
        if tp == r.tuple_type {
            return self.write_tuple_key(key, depth + 1);
        }
        self.write_key_unlikely(key, tp, depth)
    }

    #[inline(never)]
    fn write_key_unlikely(
        &mut self,
        key: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
        depth: u32,
    ) -> EncodeResult<bool> {
        let r = self.refs;
        // SAFETY: reading the flags and the metaclass of a live type object.
        let (flags, is_enum) = unsafe { ((*tp).tp_flags, ffi::Py_TYPE(tp.cast()) == r.enum_meta) };
        let plain = matches!(self.mode, Mode::Plain { .. });
        if is_enum && !plain {
            self.enter(depth + 1)?;
            // SAFETY: attribute fetch on a live object; the new reference is owned.
            let v = unsafe { ffi::PyObject_GetAttr(key, r.s_value) };
            if v.is_null() {
                return Err(callback_failure(tp));
            }
            let v = Owned(v);
            return self.write_key(v.0, depth + 1, true);
        }
        if !is_enum && flags & ffi::Py_TPFLAGS_UNICODE_SUBCLASS != 0 {
            self.write_str(key, false)?;
            return Ok(true);
        }
        if !is_enum && flags & ffi::Py_TPFLAGS_LONG_SUBCLASS != 0 {
            self.write_int(key)?;
            return Ok(true);
        }
        if tp == r.memoryview_type {
            self.write_memoryview(key, tp)?;
            return Ok(true);
        }
        if plain {
            self.walk(key, depth + 1)?;
            return Ok(true);
        }
        Ok(false)
    }

    /// An exact tuple as a key: an array of its items, each written as a key (ormsgpack's
    /// `DictTupleKey`).
    fn write_tuple_key(&mut self, obj: *mut ffi::PyObject, depth: u32) -> EncodeResult<bool> {
        self.write_tuple_with(obj, depth, |enc, item, d| enc.write_key(item, d - 1, true))
    }

    /// `fast_serde.Ext(code, data)` as a MessagePack ext.
    fn write_ext_tuple(
        &mut self,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
    ) -> EncodeResult {
        // SAFETY: `obj` is an `Ext` NamedTuple, so a tuple of 2 items; borrowed items.
        let (code, data) = unsafe {
            if ffi::PyTuple_GET_SIZE(obj) != 2 {
                return Err(unsupported(tp));
            }
            (ffi::PyTuple_GET_ITEM(obj, 0), ffi::PyTuple_GET_ITEM(obj, 1))
        };
        // SAFETY: int conversion of a live object; -1 with an error set means failure.
        let c = unsafe { ffi::PyLong_AsLong(code) };
        if (c == -1 && !unsafe { ffi::PyErr_Occurred() }.is_null()) || !(-128..=127).contains(&c) {
            // SAFETY: clearing a possible TypeError/OverflowError we report ourselves.
            unsafe { ffi::PyErr_Clear() };
            return Err(unsupported(tp));
        }
        // SAFETY: type check on a live object.
        if unsafe { ffi::PyBytes_Check(data) } == 0 {
            return Err(unsupported(tp));
        }
        // SAFETY: `data` is bytes, alive while `obj` is.
        let s = unsafe {
            std::slice::from_raw_parts(
                ffi::PyBytes_AS_STRING(data) as *const u8,
                ffi::PyBytes_Size(data) as usize,
            )
        };
        if s.len() > u32::MAX as usize {
            return Err(EncodeFailure::new(EncodeKind::TooLong));
        }
        writer::ext_meta(self.buf, s.len() as u32, c as i8);
        self.buf.extend_from_slice(s);
        Ok(())
    }
}
