//! Containers: list, tuple and dict (with ormsgpack's `OPT_NON_STR_KEYS` keys), each item
//! walked under a new reference unless it is a scalar.

use super::{at, borrowed, callback_failure, unsupported, Encoder, Entries, Policy, Walk};
use crate::error::{EncodeFailure, EncodeKind, PathSeg};
use crate::ffi::dictiter::{dict_len, dict_next};
use crate::ffi::Owned;
use crate::msgpack::writer::{self, Out};
use pyo3::ffi;

impl<P: Policy> Encoder<'_, P> {
    pub(crate) fn write_list(&mut self, obj: *mut ffi::PyObject, depth: u32) -> Walk<P> {
        self.enter(depth)?;
        // SAFETY: `obj` is a list (or subclass).
        let len = unsafe { ffi::PyList_GET_SIZE(obj) } as usize;
        if len > u32::MAX as usize {
            return Err(EncodeFailure::new(EncodeKind::TooLong).into());
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
                    )
                    .into());
                }
                ffi::PyList_GET_ITEM(obj, i as ffi::Py_ssize_t)
            };
            if let Err(e) = self.walk_item(item, depth + 1) {
                return Err(at(e, PathSeg::Index(i), obj));
            }
        }
        Ok(())
    }

    pub(crate) fn write_tuple(&mut self, obj: *mut ffi::PyObject, depth: u32) -> Walk<P> {
        self.write_tuple_with(obj, depth, |enc, item, d| enc.walk(item, d).map(|_| true))
            .map(|_| ())
    }

    /// A tuple (or subclass) as an array, each item written by `item` (`Ok(false)` stops: the
    /// caller falls back). Tuples are immutable: items are borrowed from it.
    #[inline(always)]
    pub(crate) fn write_tuple_with(
        &mut self,
        obj: *mut ffi::PyObject,
        depth: u32,
        mut item: impl FnMut(&mut Self, *mut ffi::PyObject, u32) -> Walk<P, bool>,
    ) -> Walk<P, bool> {
        self.enter(depth)?;
        // SAFETY: `obj` is a tuple (or subclass).
        let len = unsafe { ffi::PyTuple_GET_SIZE(obj) } as usize;
        if len > u32::MAX as usize {
            return Err(EncodeFailure::new(EncodeKind::TooLong).into());
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

    /// A dict (or subclass); `fields` prints error paths as `.name` (an object's fields written
    /// as a dict).
    pub(crate) fn write_dict(
        &mut self,
        obj: *mut ffi::PyObject,
        depth: u32,
        fields: bool,
    ) -> Walk<P> {
        self.enter(depth)?;
        // SAFETY: `obj` is a dict (or subclass).
        let len = unsafe { dict_len(obj) };
        if len > u32::MAX as usize {
            return Err(EncodeFailure::new(EncodeKind::TooLong).into());
        }
        let start = self.buf.len();
        writer::map_len(self.buf, len as u32);
        match self.write_dict_items(obj, depth, fields)? {
            Entries::Written => Ok(()),
            // A key the walker leaves to the policy: the whole dict is the policy's.
            Entries::KeyFallback => P::dict_fallback(self, obj, start),
        }
    }

    /// The entries of a dict whose map header is written (its current size is the count), or
    /// [`Entries::KeyFallback`] at a key left to the policy ([`Policy::KEY_FALLBACK`]).
    pub(crate) fn write_dict_items(
        &mut self,
        obj: *mut ffi::PyObject,
        depth: u32,
        fields: bool,
    ) -> Walk<P, Entries> {
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
                    .map_err(P::Stop::from)
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
                return Err(at(EncodeFailure::new(EncodeKind::Mutated("dict")), seg(), obj).into());
            }
            match self.write_key(k.0, depth, false) {
                Ok(true) => {}
                Ok(false) => {
                    if P::KEY_FALLBACK {
                        return Ok(Entries::KeyFallback);
                    }
                    // SAFETY: `k` is alive.
                    let e = unsupported(unsafe { ffi::Py_TYPE(k.0) });
                    return Err(at(e, seg(), obj).into());
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
            )
            .into());
        }
        Ok(Entries::Written)
    }

    /// Keys as ormsgpack writes them under `OPT_NON_STR_KEYS` (its `serialize_with_non_str_keys`
    /// and `DictKey`): an exact str at the dict's own level with lone surrogates refused; inside
    /// `DictKey` (str subclasses, Enum values, the items of a tuple key) surrogates replaced by
    /// `?` (`OPT_REPLACE_SURROGATES`); int, bool, None, exact float, bytes, memoryview, exact
    /// tuples item by item as keys, and, under [`Policy::ENUM_KEY_AS_VALUE`], an Enum member
    /// (metaclass exactly `EnumType`) as its value. Any other key is walked as a value, or, under
    /// [`Policy::KEY_FALLBACK`], is `Ok(false)`: a key the walker leaves to the caller (for
    /// ormsgpack, datetime, date, time and UUID, which it writes as text, and every type it
    /// refuses; the policy's [`Policy::dict_fallback`] then writes the whole dict).
    #[inline(always)]
    pub(crate) fn write_key(
        &mut self,
        key: *mut ffi::PyObject,
        depth: u32,
        in_key: bool,
    ) -> Walk<P, bool> {
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
    pub(crate) fn write_key_unlikely(
        &mut self,
        key: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
        depth: u32,
    ) -> Walk<P, bool> {
        let r = self.refs;
        // SAFETY: reading the flags and the metaclass of a live type object.
        let (flags, is_enum) = unsafe {
            (
                crate::ffi::type_flags(tp),
                ffi::Py_TYPE(tp.cast()) == r.enum_meta,
            )
        };
        if is_enum && P::ENUM_KEY_AS_VALUE {
            self.enter(depth + 1)?;
            // SAFETY: attribute fetch on a live object; the new reference is owned.
            let v = unsafe { ffi::PyObject_GetAttr(key, r.s_value) };
            if v.is_null() {
                return Err(callback_failure(tp).into());
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
        if !P::KEY_FALLBACK {
            self.walk(key, depth + 1)?;
            return Ok(true);
        }
        Ok(false)
    }

    /// An exact tuple as a key: an array of its items, each written as a key (ormsgpack's
    /// `DictTupleKey`).
    pub(crate) fn write_tuple_key(&mut self, obj: *mut ffi::PyObject, depth: u32) -> Walk<P, bool> {
        self.write_tuple_with(obj, depth, |enc, item, d| enc.write_key(item, d - 1, true))
    }
}
