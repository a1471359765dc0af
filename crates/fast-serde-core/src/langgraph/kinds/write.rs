//! What every family of kinds writes with: the ext frame every payload is written in (in place,
//! behind a reserved header patched to the smallest ext marker), and the helpers that walk an
//! attribute, a method's result or any new reference. Generic over the walker's policy: the
//! families name no policy (the LangGraph policy, policy.rs, is what calls them).

use super::family::Shape;
use crate::encode::{callback_failure, unsupported, Encoder, Policy, Walk};
use crate::ffi::Owned;
use crate::msgpack::writer::{self, Out};
use pyo3::ffi;

/// The ext frame and helpers any policy built on LangGraph's format uses: the plans, and the
/// exact datetimes and UUIDs written also inside a model's `__dict__` (pydantic.rs).
impl<P: Policy> Encoder<'_, P> {
    /// One ext value of a kind, as its `shape` says: a header of `reserve` bytes (the
    /// size expected) patched at the end to the smallest marker with the kind's code, the
    /// pre-encoded `head`, the argument written by `arg` (given the offset where it starts), then
    /// the kind's trailer. Every ext value of a plan, and exact datetimes and UUIDs, go through
    /// here.
    #[inline(always)]
    pub(crate) fn write_ext(
        &mut self,
        shape: &'static Shape,
        tp: *mut ffi::PyTypeObject,
        head: &[u8],
        reserve: usize,
        arg: impl FnOnce(&mut Self, usize) -> Walk<P>,
    ) -> Walk<P> {
        let Some(code) = shape.code else {
            // Fallback and Repr have no ext of their own: `write_planned` writes them.
            return Err(unsupported(tp).into());
        };
        let mark = writer::ext_begin(self.buf, reserve);
        self.buf.extend_from_slice(head);
        arg(self, mark.payload() + head.len())?;
        if let Some(trailer) = shape.trailer {
            writer::str(self.buf, trailer);
        }
        writer::ext_end(self.buf, mark, code);
        Ok(())
    }

    /// Any value produced by a C-API call (new reference or NULL), walked.
    pub(crate) fn write_owned(
        &mut self,
        v: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
        depth: u32,
    ) -> Walk<P> {
        if v.is_null() {
            return Err(callback_failure(tp).into());
        }
        let v = Owned(v);
        self.walk(v.0, depth)
    }

    /// `getattr(obj, name)`, walked at `depth`.
    pub(crate) fn write_attr(
        &mut self,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
        name: *mut ffi::PyObject,
        depth: u32,
    ) -> Walk<P> {
        // SAFETY: attribute fetch on a live object by a live str; owned result.
        let v = unsafe { ffi::PyObject_GetAttr(obj, name) };
        self.write_owned(v, tp, depth)
    }

    /// `obj.method()`, walked at `depth`.
    pub(crate) fn write_call(
        &mut self,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
        method: *mut ffi::PyObject,
        depth: u32,
    ) -> Walk<P> {
        // SAFETY: method call on a live object by a live str; owned result.
        let v = unsafe { ffi::PyObject_CallMethodNoArgs(obj, method) };
        self.write_owned(v, tp, depth)
    }
}
