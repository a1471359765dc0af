//! MessagePack markers into the output (a `bytes` written in place, see [`OutBuf`]), through `rmp::encode` (which picks the smallest marker for
//! every length and integer, the same choice ormsgpack makes).
//!
//! Writing into memory cannot fail, so the `io::Result`s rmp returns are dropped here, once.
//! The one-byte forms (fixint, fixstr, fixarray, fixmap headers) are pushed directly as
//! `rmp::Marker` bytes: rmp's writers go through `io::Write` and copy even a single byte with a
//! `memcpy` call, which was a sixth of a plain `dumps` (callgrind).

use rmp::encode;
use rmp::Marker;

use crate::buffer::OutBuf;

/// Where the writer puts bytes: the walker's [`OutBuf`] (a `bytes` written in place), or a
/// `Vec<u8>` (pre-encoded plan keys, tests).
pub trait Out: std::io::Write {
    fn push(&mut self, b: u8);
    fn extend_from_slice(&mut self, s: &[u8]);
    fn reserve(&mut self, additional: usize);
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn truncate(&mut self, len: usize);
    fn as_mut_slice(&mut self) -> &mut [u8];
}

impl Out for Vec<u8> {
    #[inline(always)]
    fn push(&mut self, b: u8) {
        Vec::push(self, b)
    }
    #[inline(always)]
    fn extend_from_slice(&mut self, s: &[u8]) {
        Vec::extend_from_slice(self, s)
    }
    #[inline(always)]
    fn reserve(&mut self, additional: usize) {
        Vec::reserve(self, additional)
    }
    #[inline(always)]
    fn len(&self) -> usize {
        Vec::len(self)
    }
    fn truncate(&mut self, len: usize) {
        Vec::truncate(self, len)
    }
    fn as_mut_slice(&mut self) -> &mut [u8] {
        Vec::as_mut_slice(self)
    }
}

impl Out for OutBuf {
    #[inline(always)]
    fn push(&mut self, b: u8) {
        OutBuf::push(self, b)
    }
    #[inline(always)]
    fn extend_from_slice(&mut self, s: &[u8]) {
        OutBuf::extend_from_slice(self, s)
    }
    #[inline(always)]
    fn reserve(&mut self, additional: usize) {
        OutBuf::reserve(self, additional)
    }
    #[inline(always)]
    fn len(&self) -> usize {
        OutBuf::len(self)
    }
    fn truncate(&mut self, len: usize) {
        OutBuf::truncate(self, len)
    }
    fn as_mut_slice(&mut self) -> &mut [u8] {
        OutBuf::as_mut_slice(self)
    }
}

#[inline(always)]
pub fn nil<B: Out>(buf: &mut B) {
    buf.push(0xc0);
}

#[inline(always)]
pub fn bool<B: Out>(buf: &mut B, v: bool) {
    buf.push(if v { 0xc3 } else { 0xc2 });
}

#[inline(always)]
pub fn sint<B: Out>(buf: &mut B, v: i64) {
    if (0..128).contains(&v) {
        buf.push(Marker::FixPos(v as u8).to_u8());
    } else if (-32..0).contains(&v) {
        buf.push(Marker::FixNeg(v as i8).to_u8());
    } else {
        let _ = encode::write_sint(buf, v);
    }
}

#[inline(always)]
pub fn uint<B: Out>(buf: &mut B, v: u64) {
    let _ = encode::write_uint(buf, v);
}

#[inline(always)]
pub fn f64<B: Out>(buf: &mut B, v: f64) {
    let _ = encode::write_f64(buf, v);
}

/// fixstr / str8 / str16 / str32 header then the UTF-8 bytes.
#[inline(always)]
pub fn str<B: Out>(buf: &mut B, bytes: &[u8]) {
    let n = bytes.len();
    if n < 32 {
        buf.reserve(n + 1);
        buf.push(Marker::FixStr(n as u8).to_u8());
    } else {
        let _ = encode::write_str_len(buf, n as u32);
    }
    buf.extend_from_slice(bytes);
}

/// bin8 / bin16 / bin32 header then the bytes.
#[inline(always)]
pub fn bin<B: Out>(buf: &mut B, bytes: &[u8]) {
    let _ = encode::write_bin_len(buf, bytes.len() as u32);
    buf.extend_from_slice(bytes);
}

/// fixarray / array16 / array32 header.
#[inline(always)]
pub fn array_len<B: Out>(buf: &mut B, len: u32) {
    if len < 16 {
        buf.push(Marker::FixArray(len as u8).to_u8());
    } else {
        let _ = encode::write_array_len(buf, len);
    }
}

/// fixmap / map16 / map32 header.
#[inline(always)]
pub fn map_len<B: Out>(buf: &mut B, len: u32) {
    if len < 16 {
        buf.push(Marker::FixMap(len as u8).to_u8());
    } else {
        let _ = encode::write_map_len(buf, len);
    }
}

/// fixext1/2/4/8/16 / ext8 / ext16 / ext32 header.
#[inline(always)]
pub fn ext_meta<B: Out>(buf: &mut B, len: u32, code: i8) {
    let _ = encode::write_ext_meta(buf, len, code);
}

/// The largest ext header (ext32: marker, 4-byte length, type).
pub const EXT_RESERVE: usize = 6;

/// Reserve room for an ext header whose payload is written next; returns the header position.
#[inline(always)]
pub fn ext_begin<B: Out>(buf: &mut B) -> usize {
    let at = buf.len();
    buf.extend_from_slice(&[0u8; EXT_RESERVE]);
    at
}

/// Patch the header reserved by [`ext_begin`] now that the payload is written: the smallest header
/// is written in place and the payload moved up to meet it.
#[inline]
pub fn ext_end<B: Out>(buf: &mut B, at: usize, code: i8) {
    let payload = at + EXT_RESERVE;
    let len = buf.len() - payload;
    let mut hdr = [0u8; EXT_RESERVE];
    let mut w = &mut hdr[..];
    let _ = encode::write_ext_meta(&mut w, len as u32, code);
    let h = EXT_RESERVE - w.len();
    buf.as_mut_slice()[at..at + h].copy_from_slice(&hdr[..h]);
    if h < EXT_RESERVE {
        buf.as_mut_slice().copy_within(payload.., at + h);
        buf.truncate(at + h + len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext_bytes(code: i8, payload: &[u8]) -> Vec<u8> {
        let mut buf = vec![0x90];
        let at = ext_begin(&mut buf);
        buf.extend_from_slice(payload);
        ext_end(&mut buf, at, code);
        buf
    }

    #[test]
    fn ext_header_is_the_smallest_for_each_length() {
        for (len, marker) in [
            (0usize, 0xc7u8),
            (1, 0xd4),
            (2, 0xd5),
            (3, 0xc7),
            (4, 0xd6),
            (8, 0xd7),
            (16, 0xd8),
            (17, 0xc7),
            (255, 0xc7),
            (256, 0xc8),
            (65535, 0xc8),
            (65536, 0xc9),
        ] {
            let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let out = ext_bytes(5, &payload);
            assert_eq!(out[0], 0x90);
            assert_eq!(out[1], marker, "len {len}");
            let mut want = vec![0x90];
            ext_meta(&mut want, len as u32, 5);
            want.extend_from_slice(&payload);
            assert_eq!(out, want, "len {len}");
        }
    }

    #[test]
    fn direct_markers_equal_rmp_for_every_length() {
        for n in 0u32..70_000 {
            if n > 300 && n % 97 != 0 && n != 65535 && n != 65536 {
                continue;
            }
            let (mut a, mut b) = (Vec::new(), Vec::new());
            array_len(&mut a, n);
            let _ = encode::write_array_len(&mut b, n);
            assert_eq!(a, b, "array {n}");
            let (mut a, mut b) = (Vec::new(), Vec::new());
            map_len(&mut a, n);
            let _ = encode::write_map_len(&mut b, n);
            assert_eq!(a, b, "map {n}");
            let s = vec![b'x'; n as usize];
            let (mut a, mut b) = (Vec::new(), Vec::new());
            str(&mut a, &s);
            let _ = encode::write_str(&mut b, std::str::from_utf8(&s).unwrap());
            assert_eq!(a, b, "str {n}");
        }
        for v in -70_000i64..70_000 {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            sint(&mut a, v);
            let _ = encode::write_sint(&mut b, v);
            assert_eq!(a, b, "int {v}");
        }
    }

    #[test]
    fn ints_take_the_smallest_marker() {
        let cases: [(i64, &[u8]); 6] = [
            (0, &[0x00]),
            (127, &[0x7f]),
            (128, &[0xcc, 0x80]),
            (-32, &[0xe0]),
            (-33, &[0xd0, 0xdf]),
            (65536, &[0xce, 0, 1, 0, 0]),
        ];
        for (v, want) in cases {
            let mut buf = Vec::new();
            sint(&mut buf, v);
            assert_eq!(buf, want, "{v}");
            // rmp-serde reads the same value back
            let back: i64 = rmp_serde::from_slice(&buf).unwrap();
            assert_eq!(back, v);
        }
    }
}
