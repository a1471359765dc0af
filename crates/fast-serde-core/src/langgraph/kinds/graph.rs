//! LangGraph's own types: `Send` (ext 1 `(module, name, (node, arg[, timeout]))`) and the
//! snapshots of a `DeltaChannel` (ext 7, the snapshot's `value` itself as the payload).

use super::family::{args3, Arg, Family, Shape};
use crate::encode::{callback_failure, Encoder, Policy, Walk};
use crate::ffi::typeref::typerefs;
use crate::ffi::Owned;
use crate::langgraph::ext::{EXT_CONSTRUCTOR_POS_ARGS, EXT_DELTA_SNAPSHOT};
use crate::msgpack::writer;
use pyo3::ffi;

/// LangGraph's kinds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Graph {
    /// ext 1 `(module, name, (node, arg[, timeout]))`.
    Send,
    /// ext 7 `obj.value`.
    DeltaSnapshot,
}

impl Family for Graph {
    const TABLE: &'static [(Self, Shape)] = &[
        (Graph::Send, args3("SEND", EXT_CONSTRUCTOR_POS_ARGS)),
        (
            Graph::DeltaSnapshot,
            Shape {
                head_len: 0,
                arg_depth: 0,
                ..args3("DELTA_SNAPSHOT", EXT_DELTA_SNAPSHOT)
            },
        ),
    ];

    #[inline(always)]
    fn index(self) -> usize {
        self as usize
    }

    #[inline(always)]
    fn write_arg<P: Policy>(self, enc: &mut Encoder<'_, P>, arg: Arg<'_>) -> Walk<P> {
        let Arg { obj, tp, depth, .. } = arg;
        match self {
            Graph::Send => enc.write_send(obj, tp, depth),
            Graph::DeltaSnapshot => enc.write_attr(obj, tp, typerefs().s_value, depth),
        }
    }
}

impl<P: Policy> Encoder<'_, P> {
    /// `(node, arg)` or `(node, arg, timeout)` when `timeout` is set.
    fn write_send(
        &mut self,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
        depth: u32,
    ) -> Walk<P> {
        let r = typerefs();
        // SAFETY: attribute fetch on a live object; a missing attribute counts as None, as in
        // the parent's `getattr(obj, "timeout", None)`: any other error is raised.
        let timeout = unsafe {
            let t = ffi::PyObject_GetAttr(obj, r.s_timeout);
            if t.is_null() {
                if ffi::PyErr_ExceptionMatches(ffi::PyExc_AttributeError) == 0 {
                    return Err(callback_failure(tp).into());
                }
                ffi::PyErr_Clear();
                None
            } else if t == ffi::Py_None() {
                ffi::Py_DECREF(t);
                None
            } else {
                Some(Owned(t))
            }
        };
        writer::array_len(self.buf, if timeout.is_some() { 3 } else { 2 });
        self.write_attr(obj, tp, r.s_node, depth + 1)?;
        self.write_attr(obj, tp, r.s_arg, depth + 1)?;
        if let Some(t) = timeout {
            self.walk(t.0, depth + 1)?;
        }
        Ok(())
    }
}
