//! What a family of kinds is ([`Family`]: its kinds, the [`Shape`] each is written in, what
//! each writes) and what a plan hands its writer ([`Field`], [`Arg`]): the leaf every family module and
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

/// What a kind's writer is given: the object and its type, the plan's `fields` (the names it
/// reads) and `guards` (a PYDANTIC_V2_DICT plan's TypedDict guards, per field), the `depth` the
/// argument is walked at and the offset `at` of the output where it starts (where a writer that
/// starts over truncates to).
#[derive(Clone, Copy)]
pub(crate) struct Arg<'p> {
    pub(crate) obj: *mut ffi::PyObject,
    pub(crate) tp: *mut ffi::PyTypeObject,
    pub(crate) fields: &'p [Field],
    pub(crate) guards: &'p [Option<Guard>],
    pub(crate) depth: u32,
    pub(crate) at: usize,
}

/// A family of kinds: its own fieldless enum, the shape of each kind, and what each writes.
pub(crate) trait Family: Copy + PartialEq + std::fmt::Debug + Sized + 'static {
    /// Every kind of the family with its shape, in the order of the enum's values (Python numbers
    /// the kinds in this order).
    const TABLE: &'static [(Self, Shape)];

    /// The kind's place in [`Family::TABLE`]: `self as usize`.
    fn index(self) -> usize;

    /// How this kind is written.
    #[inline(always)]
    fn shape(self) -> &'static Shape {
        &Self::TABLE[self.index()].1
    }

    /// The argument of this kind's payload.
    fn write_arg<P: Policy>(self, enc: &mut Encoder<'_, P>, arg: Arg<'_>) -> Walk<P>;
}

/// Whether every kind of `F` stands at its own index of its table (tests).
#[cfg(test)]
pub(crate) fn table_in_order<F: Family>() -> bool {
    F::TABLE
        .iter()
        .enumerate()
        .all(|(i, (k, _))| k.index() == i)
}

/// A payload head as the writer encodes it: an array header of `len` items, then `module` and
/// `name` as strs (tests of the pre-encoded heads).
#[cfg(test)]
pub(crate) fn encoded_head(len: u32, module: &str, name: &str) -> Vec<u8> {
    use crate::msgpack::writer;
    let mut v = Vec::new();
    writer::array_len(&mut v, len);
    writer::str(&mut v, module.as_bytes());
    writer::str(&mut v, name.as_bytes());
    v
}
