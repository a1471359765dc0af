//! LangGraph's format: JsonPlusSerializer's ext values (langgraph-checkpoint 4.3), written and
//! read natively, and the `#[pyclass]` codec `FastSerializer` drives.
//!
//! * [`ext`]: the ext codes 0-7, the one registry both directions use.
//! * `plan`: per-class plans of the encoder (kind enum, shape table, cache, `decide`).
//! * `encode`, `model`: the walker's LangGraph mode, written by the plans (model: pydantic v2).
//! * `decode`, `classes`: the reader's ext handler and its allowlisted class cache.
//! * `trusted`, `memo`, `copy`: restore without validation, and the memo of validated models.
//! * `codec`: [`LangGraphCodec`], the `#[pyclass]`.

mod classes;
mod codec;
mod copy;
mod decode;
mod encode;
pub(crate) mod ext;
mod memo;
mod model;
mod plan;
mod trusted;

pub(crate) use codec::LangGraphCodec;
pub(crate) use encode::instance_dict;
