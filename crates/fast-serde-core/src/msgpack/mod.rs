//! MessagePack output: the marker writer over `rmp` ([`writer`]) and the output `bytes` written
//! in place ([`buffer`], which also lends the reader the bytes of its input).

pub(crate) mod buffer;
pub(crate) mod writer;
