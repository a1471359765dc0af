//! The walker: Python objects straight into the MessagePack output (see `buffer::OutBuf`).
//!
//! Dispatch is by exact type pointer, hot types first (str, int, bool, None, float, list, dict,
//! tuple); everything rarer goes through [`Encoder::walk_unlikely`], kept out of line. The
//! policy is chosen at compile time ([`Policy`], as the reader's `ExtHandler` is): the types
//! beyond plain data, and how the walker treats Enum members, subclasses of the built-ins,
//! `fast_serde.Ext` values and dict keys it cannot write, are the policy's answers, each a
//! constant or a hook of the trait, so each policy is its own monomorphized walk.
//!
//! [`Plain`] (`fast_serde.dumps`, plain.rs) is defined here: the bytes of `ormsgpack.packb(obj,
//! option=OPT_NON_STR_KEYS | OPT_REPLACE_SURROGATES)` for the types it shares with ormsgpack;
//! other types go to `default`. Other formats define their policies beside their own code.
//!
//! A walk returns [`Walk<P>`]: a failure ([`EncodeFailure`]), raised once at the edge as
//! `EncodeError` (or `MemoryError` when the output cannot grow, see msgpack/buffer.rs), or a
//! policy's own signal ([`Policy::Stop`]), answered by the caller that set that policy.

mod container;
mod plain;
mod scalar;

pub(crate) use plain::Plain;

use crate::error::{EncodeFailure, EncodeKind, EncodeResult, PathSeg};
use crate::ffi::typeref::{typerefs, TypeRefs};
use crate::ffi::{bytes_slice, py, Owned};
use crate::limits::{stack_low, MAX_DEPTH, MAX_TOTAL_DEPTH};
use crate::msgpack::buffer::OutBuf;
use crate::msgpack::writer;
use pyo3::ffi;
use pyo3::prelude::*;

/// How the walker treats types beyond plain data. A type parameter of [`Encoder`]: its
/// constants are read at compile time, so each policy is its own monomorphized walk and nothing
/// is tested at run time.
pub(crate) trait Policy: Sized {
    /// `fast_serde.Ext` values are written as MessagePack ext values (`true`); otherwise an
    /// `Ext` is a class like any other, for [`Policy::write_exact`] and [`Policy::unknown`].
    const WRITE_EXT: bool;

    /// An `Enum` member (metaclass exactly `EnumType`) is written as its `.value`, walked
    /// (`true`: ormsgpack without `OPT_PASSTHROUGH_ENUM`); otherwise it goes to
    /// [`Policy::unknown`].
    const ENUM_AS_VALUE: bool;

    /// Subclasses of tuple and float are written as a tuple and a float (`true`); otherwise
    /// they go to [`Policy::unknown`] (ormsgpack's `OPT_PASSTHROUGH_TUPLE` and
    /// `OPT_PASSTHROUGH_SUBCLASS` hand them to `default`). Subclasses of str, int, list and
    /// dict are always written as their base type.
    const TUPLE_FLOAT_SUBCLASSES: bool;

    /// An `Enum` member as a dict key is written as its `.value`, itself written as a key
    /// (`true`: ormsgpack's `DictKey`); otherwise it is a key of a type the walker does not
    /// write as a key (see [`Policy::KEY_FALLBACK`]).
    const ENUM_KEY_AS_VALUE: bool;

    /// A dict key of a type the walker does not write as a key (see `Encoder::write_key`) makes
    /// the whole dict fall back (`true`): its entries stop at [`Entries::KeyFallback`] and the
    /// dict goes to [`Policy::dict_fallback`]. Otherwise such a key is walked as a value.
    const KEY_FALLBACK: bool;

    /// What stops a walk short: a failure ([`EncodeFailure`]), or, for a policy with a fallback
    /// of its own, that fallback's signal (see [`Unwind`]).
    type Stop: Unwind;

    /// A type the policy writes itself, before the walker's Enum and subclass checks (e.g. exact
    /// classes it writes as ext values); `None` for the walker's own checks.
    fn write_exact(
        enc: &mut Encoder<'_, Self>,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
    ) -> Option<Walk<Self>>;

    /// A type neither the walker nor the policy's exact types cover.
    fn unknown(
        enc: &mut Encoder<'_, Self>,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
        depth: u32,
    ) -> Walk<Self>;

    /// A dict with a key the walker leaves to the policy ([`Entries::KeyFallback`], only under
    /// [`Policy::KEY_FALLBACK`]): the map written from `start` is the policy's to replace.
    fn dict_fallback(
        enc: &mut Encoder<'_, Self>,
        obj: *mut ffi::PyObject,
        start: usize,
    ) -> Walk<Self>;
}

/// What a walk under policy `P` returns: `Err` unwinds to the caller that handles it.
pub(crate) type Walk<P, T = ()> = Result<T, <P as Policy>::Stop>;

/// What unwinds a walk: a failure, which collects the path on its way out and is raised at the
/// edge (`Box<EncodeFailure>`, the only kind for [`Plain`]), or a policy's own
/// signal, which carries no path and is answered by the caller that set that policy.
pub(crate) trait Unwind: From<Box<EncodeFailure>> {
    /// The failure, if this is one.
    fn failure(&mut self) -> Option<&mut EncodeFailure>;
}

impl Unwind for Box<EncodeFailure> {
    #[inline(always)]
    fn failure(&mut self) -> Option<&mut EncodeFailure> {
        Some(self)
    }
}

/// How writing a dict's entries ended: all written, or stopped at a key the walker leaves to the
/// policy ([`Policy::KEY_FALLBACK`]; the whole dict then goes to [`Policy::dict_fallback`]). A
/// plain result, not an error.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entries {
    Written,
    KeyFallback,
}

pub(crate) struct Encoder<'a, P: Policy> {
    pub(crate) buf: &'a mut OutBuf,
    pub(crate) policy: P,
    pub(crate) refs: &'static TypeRefs,
    /// Levels above the ext payload being written (zero outside ext payloads).
    pub(crate) outer: u32,
}

/// Take the pending Python exception as a callback failure for an object of type `tp`.
#[cold]
pub(crate) fn callback_failure(tp: *mut ffi::PyTypeObject) -> Box<EncodeFailure> {
    let err = PyErr::take(py()).unwrap_or_else(|| {
        pyo3::exceptions::PySystemError::new_err("fast_serde: callback failed without an error")
    });
    EncodeFailure::new(EncodeKind::Callback(type_of(tp), err))
}

/// A strong reference to a type, for error messages.
pub(crate) fn type_of(tp: *mut ffi::PyTypeObject) -> Py<PyAny> {
    // SAFETY: `tp` is a live type object, borrowed and turned into a new reference.
    unsafe { Bound::from_borrowed_ptr(py(), tp.cast()).unbind() }
}

#[cold]
pub(crate) fn unsupported(tp: *mut ffi::PyTypeObject) -> Box<EncodeFailure> {
    EncodeFailure::new(EncodeKind::Unsupported(type_of(tp)))
}

/// Push a path step (and the container it left) onto an unwinding failure; a policy's own
/// signal passes unchanged.
#[cold]
pub(crate) fn at<S: Unwind>(mut s: S, seg: PathSeg, container: *mut ffi::PyObject) -> S {
    if let Some(f) = s.failure() {
        f.path.push(seg);
        f.ancestors.push(container as usize);
    }
    s
}

pub(crate) fn borrowed(obj: *mut ffi::PyObject) -> Py<PyAny> {
    // SAFETY: `obj` is a live object, turned into a new reference.
    unsafe { Bound::from_borrowed_ptr(py(), obj).unbind() }
}

impl<'a, P: Policy> Encoder<'a, P> {
    pub(crate) fn new(buf: &'a mut OutBuf, policy: P) -> Self {
        Encoder {
            buf,
            policy,
            refs: typerefs(),
            outer: 0,
        }
    }

    /// The same walk, at the same place and depth, under `policy` (e.g. an object's fields
    /// walked under a stricter policy than the object's own).
    pub(crate) fn with_policy<Q: Policy>(&mut self, policy: Q) -> Encoder<'_, Q> {
        Encoder {
            buf: &mut *self.buf,
            policy,
            refs: self.refs,
            outer: self.outer,
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
    pub(crate) fn walk_item(&mut self, item: *mut ffi::PyObject, depth: u32) -> Walk<P> {
        // SAFETY: reading the type of the live item.
        let tp = unsafe { ffi::Py_TYPE(item) };
        if tp == self.refs.float_type {
            // Written here, without the call to `walk`: the items of the long float lists of
            // numeric data (coordinates, embeddings).
            // SAFETY: `item` is exactly a float.
            writer::f64(self.buf, unsafe { ffi::PyFloat_AS_DOUBLE(item) });
            return Ok(());
        }
        if self.is_scalar(tp) {
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
    pub(crate) fn walk(&mut self, obj: *mut ffi::PyObject, depth: u32) -> Walk<P> {
        let r = self.refs;
        // SAFETY: `obj` is a live object borrowed from the caller for the duration of the call.
        let tp = unsafe { ffi::Py_TYPE(obj) };
        if tp == r.str_type {
            Ok(self.write_str(obj, false)?)
        } else if tp == r.int_type {
            Ok(self.write_int(obj)?)
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
    ) -> Walk<P> {
        let r = self.refs;
        if tp == r.bytes_type {
            // SAFETY: `obj` is exactly bytes, alive for the call.
            return Ok(self.write_bin(unsafe { bytes_slice(obj) })?);
        }
        if tp == r.bytearray_type {
            // SAFETY: `obj` is exactly a bytearray; nothing runs while the slice is alive.
            let s = unsafe {
                std::slice::from_raw_parts(
                    ffi::PyByteArray_AsString(obj) as *const u8,
                    ffi::PyByteArray_Size(obj) as usize,
                )
            };
            return Ok(self.write_bin(s)?);
        }
        if tp == r.memoryview_type {
            return Ok(self.write_memoryview(obj, tp)?);
        }
        if P::WRITE_EXT && tp == r.ext_type {
            return Ok(self.write_ext_tuple(obj, tp)?);
        }
        if let Some(r) = P::write_exact(self, obj, tp) {
            return r;
        }
        // SAFETY: reading the metaclass and flags of a live type object.
        let (meta, flags) = unsafe { (ffi::Py_TYPE(tp.cast()), crate::ffi::type_flags(tp)) };
        if meta == r.enum_meta {
            if P::ENUM_AS_VALUE {
                // ormsgpack without OPT_PASSTHROUGH_ENUM writes `.value`.
                // SAFETY: attribute fetch on a live object; the new reference is owned.
                let v = unsafe { ffi::PyObject_GetAttr(obj, r.s_value) };
                if v.is_null() {
                    return Err(callback_failure(tp).into());
                }
                let v = Owned(v);
                self.enter(depth)?;
                return self.walk(v.0, depth + 1);
            }
            return self.unknown(obj, tp, depth);
        }
        if flags & ffi::Py_TPFLAGS_UNICODE_SUBCLASS != 0 {
            return Ok(self.write_str(obj, false)?);
        }
        if flags & ffi::Py_TPFLAGS_LONG_SUBCLASS != 0 {
            return Ok(self.write_int(obj)?);
        }
        if flags & ffi::Py_TPFLAGS_LIST_SUBCLASS != 0 {
            return self.write_list(obj, depth);
        }
        if flags & ffi::Py_TPFLAGS_DICT_SUBCLASS != 0 {
            return self.write_dict(obj, depth, false);
        }
        if P::TUPLE_FLOAT_SUBCLASSES {
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
        if depth >= MAX_DEPTH || total >= MAX_TOTAL_DEPTH {
            Err(EncodeFailure::new(EncodeKind::Depth))
        } else if total % 8 == 0 && stack_low() {
            Err(EncodeFailure::new(EncodeKind::Stack))
        } else {
            Ok(())
        }
    }

    /// A type neither the walker nor the policy's exact types cover.
    #[cold]
    fn unknown(
        &mut self,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
        depth: u32,
    ) -> Walk<P> {
        P::unknown(self, obj, tp, depth)
    }
}
