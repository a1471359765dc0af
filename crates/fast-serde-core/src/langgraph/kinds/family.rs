//! What a family of kinds is ([`Family`]: its kinds, the [`Shape`] each is written in, what
//! each writes) and what a plan hands its writer ([`Field`]): the leaf every family module and
//! `kinds/mod.rs` build on.

use super::super::guard::Guard;
use crate::encode::{Encoder, Policy, Walk};
use pyo3::ffi;
use pyo3::prelude::*;

/// One attribute the plan reads: its name (a str) and that name pre-encoded as a map key.
pub(crate) struct Field {
    pub(crate) name: Py<PyAny>,
    pub(crate) key: Box<[u8]>,
}

/// How one kind is written.
pub(crate) struct Shape {
    /// The name Python knows the kind by (`_plans.<name>`, `_native.PLAN_KINDS[name]`).
    pub(crate) name: &'static str,
    /// The ext code of the payload; `None` for the kinds written without an ext of their own
    /// (`Fallback`: the parent's bytes; `Repr`: a str).
    pub(crate) code: Option<i8>,
    /// The length of the payload's array `(module, name, arg[, trailer])`; 0 when the payload is
    /// the argument itself (ext 7).
    pub(crate) head_len: u32,
    /// Module and name of the payload head when they are not the class's own.
    pub(crate) head_names: Option<(&'static str, &'static str)>,
    /// The str written after the argument (the method of ext 3, ext 5's validator).
    pub(crate) trailer: Option<&'static [u8]>,
    /// The depth the argument is walked at inside its payload (each payload is packed on its
    /// own: the payload tuple at 0, its argument at 1; ext 7's value at 0).
    pub(crate) arg_depth: u32,
}

/// `(module, name, arg)`, the class's own module and name: most kinds.
pub(crate) const fn args3(name: &'static str, code: i8) -> Shape {
    Shape {
        name,
        code: Some(code),
        head_len: 3,
        head_names: None,
        trailer: None,
        arg_depth: 1,
    }
}

/// `(module, name, arg, trailer)`.
pub(crate) const fn args4(name: &'static str, code: i8, trailer: &'static [u8]) -> Shape {
    Shape {
        head_len: 4,
        trailer: Some(trailer),
        ..args3(name, code)
    }
}

/// Written without an ext of its own.
pub(crate) const fn no_ext(name: &'static str) -> Shape {
    Shape {
        code: None,
        head_len: 0,
        arg_depth: 0,
        ..args3(name, 0)
    }
}

/// A family of kinds: its own enum, the shape of each, and what each writes.
pub(crate) trait Family: Copy + Sized + 'static {
    /// Every kind of the family, in the order Python numbers them.
    const ALL: &'static [Self];

    /// How this kind is written.
    fn shape(self) -> &'static Shape;

    /// The argument of this kind's payload for `obj`, written at `depth` from offset `arg_at` of
    /// the output (where a family that starts over truncates to): `fields` and `guards` are the
    /// plan's (the names it reads; a PYDANTIC_V2_DICT plan's TypedDict guards, per field).
    #[allow(clippy::too_many_arguments)]
    fn write_arg<P: Policy>(
        self,
        enc: &mut Encoder<'_, P>,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
        fields: &[Field],
        guards: &[Option<Guard>],
        depth: u32,
        arg_at: usize,
    ) -> Walk<P>;
}
