//! How deep a walk or a read may nest, and how much of the thread's stack it must leave free.
//! Shared by the walker (`encode/`), the reader (`decode/`), the LangGraph halves and the errors
//! that name these limits.

/// The deepest nesting of containers (arrays, maps, ext payloads) written or read. Deeper input
/// raises `EncodeError` / `DecodeError`. 255 is ormsgpack's own limit, so whatever
/// JsonPlusSerializer can write, fast-serde can write and read.
pub(crate) const MAX_DEPTH: u32 = 255;

/// The deepest nesting in all, counting the containers of every enclosing ext payload. In
/// LangGraph's format each ext payload is packed on its own (so [`MAX_DEPTH`] applies per payload,
/// as in JsonPlusSerializer); this bound keeps the native recursion, and so the stack, finite.
pub(crate) const MAX_TOTAL_DEPTH: u32 = 2048;

/// Stack (bytes) that must stay free below the walker and the reader. A thread started with a
/// small stack (macOS gives threads 512 KiB) runs out long before [`MAX_TOTAL_DEPTH`]; past this
/// line the walk raises `EncodeError` and the read `DecodeError` instead of overflowing.
pub(crate) const STACK_RED_ZONE: usize = 64 * 1024;

/// True when less than [`STACK_RED_ZONE`] of this thread's stack is left. Checked on entering
/// each ext payload and every 8th container level (far less stack than the red zone apart).
/// `stacker` reads the thread's stack bounds once per thread (pthread attributes); where it
/// cannot tell, this is false and [`MAX_TOTAL_DEPTH`] alone bounds the recursion.
#[inline]
pub(crate) fn stack_low() -> bool {
    stacker::remaining_stack().is_some_and(|left| left < STACK_RED_ZONE)
}
