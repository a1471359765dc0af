//! Plan kinds: the branches of `jsonplus._msgpack_default` the walker writes natively, one module
//! per family, each holding its kinds, how each is written (its [`Shape`]: ext code, payload
//! head, trailer, depth of the argument) and what each reads from the object.
//!
//! | family | kinds | ext payloads |
//! |---|---|---|
//! | [`pydantic`] | `PYDANTIC_V2`, `PYDANTIC_V2_DICT`, `PYDANTIC_V1` | 5, 4 |
//! | [`single_arg`] | `SECRET`, `STR_ARG`, `HEX`, `ITER_ARG`, `ATTR_ARG` | 0 `cls(arg)` |
//! | [`pos_args`] | `PATH`, `PATTERN`, `INITARGS` | 1 `cls(*args)` |
//! | [`kw_args`] | `NAMEDTUPLE`, `ATTRS_KW` | 2 `cls(**kwargs)` |
//! | [`temporal`] | `DATETIME`, `TIMEDELTA`, `DATE`, `TIME` | 3, 1, 1, 2 |
//! | [`graph`] | `SEND`, `DELTA_SNAPSHOT` | 1, 7 |
//!
//! and two kinds written without an ext of their own: `FALLBACK` (the parent's bytes, spliced)
//! and `REPR` (a str). A new kind of an existing family is a variant, a shape and a write arm in
//! that family's module; a new family is a module implementing [`Family`] (family.rs) and its line
//! in `families!` below. `write.rs` is what every family writes with: the ext frame, the helpers
//! that walk an attribute or a method's result. The families are generic over the walker's
//! policy and know nothing of plans: the LangGraph policy (policy.rs) finds a class's plan and
//! calls [`PlanKind::write_arg`] with its fields.
//!
//! The kind values are exported to Python as `_native.PLAN_KINDS` (name -> value, numbered in
//! the order of [`PlanKind::all`]) and the flags as `_native.PLAN_FLAGS`;
//! `fast_serde.langgraph._plans` reads its constants from there.

mod family;
mod graph;
mod kw_args;
mod pos_args;
mod pydantic;
mod single_arg;
mod temporal;
mod write;

use crate::encode::{Encoder, Policy, Walk};
use family::{no_ext, Family, Shape};
pub(crate) use family::{Arg, Field};
pub(crate) use kw_args::KwArgs;

const FALLBACK: Shape = no_ext("FALLBACK");
const REPR: Shape = no_ext("REPR");

/// The families: `PlanKind`'s variants, its shapes, the write dispatch and the numbering, from
/// one list.
macro_rules! families {
    ($($variant:ident($family:ty),)*) => {
        /// The branch `_plans.encode_plan(obj)` chose for a class (`_plans.<NAME>`).
        #[derive(Clone, Copy, PartialEq, Eq, Debug)]
        pub(crate) enum PlanKind {
            /// `_msgpack_enc(obj)` in Python, spliced (numpy arrays, unknown types).
            Fallback,
            /// `repr(obj)` as a str: exceptions.
            Repr,
            $($variant($family),)*
        }

        impl PlanKind {
            /// How this kind is written: the one answer to "how is kind K written".
            #[inline(always)]
            pub(crate) fn shape(self) -> &'static Shape {
                match self {
                    PlanKind::Fallback => &FALLBACK,
                    PlanKind::Repr => &REPR,
                    $(PlanKind::$variant(k) => k.shape(),)*
                }
            }

            /// Every kind, in value order: the two without an ext, then each family's.
            pub(crate) fn all() -> impl Iterator<Item = PlanKind> {
                let own = [PlanKind::Fallback, PlanKind::Repr].into_iter();
                own$(.chain(<$family as Family>::TABLE.iter().map(|(k, _)| PlanKind::$variant(*k))))*
            }

            /// The argument of this kind's payload: its family's [`Family::write_arg`].
            #[inline(always)]
            pub(crate) fn write_arg<P: Policy>(
                self,
                enc: &mut Encoder<'_, P>,
                arg: Arg<'_>,
            ) -> Walk<P> {
                match self {
                    $(PlanKind::$variant(k) => k.write_arg(enc, arg),)*
                    // Written without an ext by `write_planned` (policy.rs), never here.
                    PlanKind::Fallback | PlanKind::Repr => {
                        Err(crate::encode::unsupported(arg.tp).into())
                    }
                }
            }

            /// Whether every family's table is in the order of its enum (tests).
            #[cfg(test)]
            fn tables_in_order() -> bool {
                true $(&& family::table_in_order::<$family>())*
            }
        }
    };
}

families! {
    Pydantic(pydantic::Pydantic),
    SingleArg(single_arg::SingleArg),
    PosArgs(pos_args::PosArgs),
    KwArgs(kw_args::KwArgs),
    Temporal(temporal::Temporal),
    Graph(graph::Graph),
}

impl PlanKind {
    /// The value Python knows this kind by: its place in [`PlanKind::all`].
    pub(crate) fn value(self) -> u8 {
        Self::all()
            .position(|k| k == self)
            .unwrap_or(u8::MAX as usize) as u8
    }
}

impl TryFrom<u8> for PlanKind {
    /// The value that names no kind.
    type Error = u8;

    /// The kind at place `v` of [`PlanKind::all`] (once per class, when its `PlanSpec` is made).
    fn try_from(v: u8) -> Result<Self, u8> {
        Self::all().nth(v as usize).ok_or(v)
    }
}

/// Plan flag: instances have their own `__dict__`, looked into per object (`_plans.CHECK_INSTANCE`).
pub(crate) const CHECK_INSTANCE: u8 = 1;
/// Plan flag: decided by the instance's own attributes, not cached for the class (`_plans.ONCE`).
pub(crate) const ONCE: u8 = 2;

/// The plan flags by name, as exported to Python (`_native.PLAN_FLAGS`).
pub(crate) const PLAN_FLAGS: [(&str, u8); 2] = [("CHECK_INSTANCE", CHECK_INSTANCE), ("ONCE", ONCE)];

#[cfg(test)]
mod tests {
    use super::super::ext::*;
    use super::*;

    #[test]
    fn kinds_are_numbered_in_order_and_round_trip() {
        assert!(PlanKind::tables_in_order());
        let n = PlanKind::all().count();
        for (i, k) in PlanKind::all().enumerate() {
            assert_eq!(k.value() as usize, i);
            assert_eq!(PlanKind::try_from(i as u8), Ok(k));
        }
        assert_eq!(PlanKind::try_from(n as u8), Err(n as u8));
        assert_eq!(PlanKind::try_from(255), Err(255));
    }

    #[test]
    fn shapes_are_consistent() {
        let mut names: Vec<&str> = PlanKind::all().map(|k| k.shape().name).collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "kind names are unique");
        for k in PlanKind::all() {
            let s = k.shape();
            // A trailer is the fourth item of the payload tuple.
            assert_eq!(s.trailer.is_some(), s.head_len == 4, "{}", s.name);
            // Only kinds with an ext of their own have a payload head.
            assert!(s.code.is_some() || s.head_len == 0, "{}", s.name);
            // Exactly the two kinds outside the families have no ext.
            let own = matches!(k, PlanKind::Fallback | PlanKind::Repr);
            assert_eq!(s.code.is_none(), own, "{}", s.name);
        }
        let delta = PlanKind::Graph(graph::Graph::DeltaSnapshot).shape();
        assert_eq!((delta.arg_depth, delta.code), (0, Some(EXT_DELTA_SNAPSHOT)));
        let dt = PlanKind::Temporal(temporal::Temporal::Datetime).shape();
        assert_eq!(dt.code, Some(EXT_METHOD_SINGLE_ARG));
    }
}
