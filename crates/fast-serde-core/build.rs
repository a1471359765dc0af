//! The `Py_3_*` cfgs of the interpreter being built for (pyo3's own), so `dictiter.rs` can read
//! the dict layout of exactly the CPython versions it knows.

fn main() {
    pyo3_build_config::use_pyo3_cfgs();
}
