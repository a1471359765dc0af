//! `fast_serde.loads` (the plain reader) on arbitrary bytes. See `fast_serde_fuzz::check_loads`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = fast_serde_fuzz::check_loads(data);
});
