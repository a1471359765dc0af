//! Link the fuzz binaries with an rpath to the libpython of `PYO3_PYTHON` (the venv's
//! interpreter), so they load that exact build of Python: a pyenv or other non-system CPython's
//! libpython3.x.so is not on the loader's default path.

fn main() {
    pyo3_build_config::add_libpython_rpath_link_args();
}
