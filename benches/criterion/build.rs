//! Link the benches with an rpath to the libpython of `PYO3_PYTHON` (the venv's interpreter), so
//! they embed that exact build of Python rather than whichever libpython3.x.so the dynamic loader
//! finds first (e.g. a distribution's /usr/lib one).

fn main() {
    pyo3_build_config::add_libpython_rpath_link_args();
}
