//! `fast_serde._native`: registers what fast-serde-core provides; no logic of its own.

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    fast_serde_core::register(m)
}
