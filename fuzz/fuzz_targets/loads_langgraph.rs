//! `FastSerializer(allowed_msgpack_modules=None).loads_typed(("msgpack", data))` (the LangGraph
//! codec's reader, strict allowlist) on arbitrary bytes. See `fast_serde_fuzz::check_langgraph`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = fast_serde_fuzz::check_langgraph(data);
});
