//! LangGraph's format: JsonPlusSerializer's ext values (langgraph-checkpoint 4.3), written and
//! read natively, and the `#[pyclass]` codec `FastSerializer` drives.
//!
//! * [`ext`]: the ext codes 0-7, the one registry both directions use.
//! * `kinds`: the plan kinds, one module per family (pydantic, single_arg, pos_args, kw_args,
//!   temporal, graph): each kind's shape (how its ext value is written) and what it reads from
//!   the object; `kinds/write.rs`, the entry point and ext frame they share.
//! * `spec`, `guard`, `plan`: the `PlanSpec` Python answers per class, its TypedDict guards, and
//!   the encoder's plans (`decide`, the codec's `Plans`).
//! * `policy`: the walker's LangGraph mode, written by the plans (`kinds`).
//! * `decode`, `classes`: the reader's ext handler and the codec's allowlisted classes.
//! * `trusted`, `memo`, `template`, `copy`: restore without validation, the memo of validated
//!   models, the state a model is made from without validating, and its copies.
//! * `forward`: a LangChain message validated without the Python frames of its `__init__` chain.
//! * `watch`: what their verdicts rest on outside the classes, checked once per document.
//! * `hooks`: the Python callables a codec is given.
//! * `codec`, `methods`: [`LangGraphCodec`], the `#[pyclass]` (its hooks, its caches, one
//!   `ClassMap` per per-class decision), and its Python methods.
//! * `typed`: `FastSerializer.dumps_typed`/`loads_typed` as native calls (`TypedBinding`), and
//!   the counters of `stats()`.

mod classes;
mod codec;
mod copy;
mod decode;
pub(crate) mod ext;
mod forward;
mod guard;
mod hooks;
mod json;
mod kinds;
mod memo;
mod methods;
mod plan;
mod policy;
mod spec;
mod template;
mod trusted;
mod typed;
mod watch;

pub(crate) use codec::LangGraphCodec;

use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Add the constants Python reads instead of repeating numbers: `PLAN_KINDS` (name -> value of
/// every `PlanKind`), `PLAN_FLAGS`, `EXT_CODES` (name -> ext code), the `RESOLVED_*` answers of
/// `resolve` and `DEFAULT_MEMO_BYTES`; the classes `TypedBinding` and `PlanSpec` and the counters' functions
/// (`typed_count`, `typed_counts`, `typed_time`, `typed_timing`).
pub(crate) fn export(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let kinds = PyDict::new(py);
    for (value, k) in kinds::PlanKind::all().enumerate() {
        kinds.set_item(k.shape().name, value)?;
    }
    m.add("PLAN_KINDS", kinds)?;
    let flags = PyDict::new(py);
    for (name, v) in kinds::PLAN_FLAGS {
        flags.set_item(name, v)?;
    }
    m.add("PLAN_FLAGS", flags)?;
    let codes = PyDict::new(py);
    for (name, v) in ext::EXT_CODES {
        codes.set_item(name, v)?;
    }
    m.add("EXT_CODES", codes)?;
    m.add("RESOLVED_CACHE", hooks::RESOLVED_CACHE)?;
    m.add("RESOLVED_ONCE", hooks::RESOLVED_ONCE)?;
    m.add("RESOLVED_BLOCKED", hooks::RESOLVED_BLOCKED)?;
    m.add("RESOLVED_FIXED", hooks::RESOLVED_FIXED)?;
    m.add("DEFAULT_MEMO_BYTES", memo::DEFAULT_MEMO_BYTES)?;
    m.add_class::<typed::TypedBinding>()?;
    m.add_class::<spec::PlanSpec>()?;
    m.add_function(wrap_pyfunction!(typed::typed_count, m)?)?;
    m.add_function(wrap_pyfunction!(typed::typed_counts, m)?)?;
    m.add_function(wrap_pyfunction!(typed::typed_time, m)?)?;
    m.add_function(wrap_pyfunction!(typed::typed_timing, m)?)?;
    m.add_function(wrap_pyfunction!(watch::watch, m)?)?;
    m.add_function(wrap_pyfunction!(watch::stats, m)?)?;
    Ok(())
}
