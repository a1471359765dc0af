//! MessagePack markers into the output (a `bytes` written in place, see [`Out`]), through
//! `rmp::encode` (which picks the smallest marker for every length and integer, the same choice
//! ormsgpack makes).
//!
//! Writing into memory cannot fail, so the `io::Result`s rmp returns are dropped here, once.
//! Ints, floats, the array/map headers and the str8/str16 headers are written directly as an
//! `rmp::Marker` byte and the big-endian value, as two stores (tested equal to rmp's at every
//! length and boundary): rmp's writers go through `io::Write` twice per value and copy even a
//! single byte with a `memcpy` call, which was a sixth of a plain `dumps` (callgrind).

use rmp::encode;
use rmp::Marker;

/// Where the writer puts bytes: the walker's [`crate::msgpack::buffer::OutBuf`] (a `bytes` written in
/// place), or a `Vec<u8>` (pre-encoded plan keys, tests).
pub(crate) trait Out: std::io::Write {
    fn push(&mut self, b: u8);
    fn extend_from_slice(&mut self, s: &[u8]);
    fn reserve(&mut self, additional: usize);
    fn len(&self) -> usize;
    fn truncate(&mut self, len: usize);
    fn as_mut_slice(&mut self) -> &mut [u8];
    /// `marker` then the `N` bytes of `be`: two stores straight into the output. (Assembling
    /// the nine bytes of a float64 in a stack array first and copying them as two words made
    /// each copy's load span two narrower stores, which the CPU cannot forward: two thirds of
    /// the time of a float list's `dumps`, perf.)
    #[inline(always)]
    fn push_marked<const N: usize>(&mut self, marker: u8, be: [u8; N]) {
        self.push(marker);
        self.extend_from_slice(&be);
    }
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

#[inline(always)]
pub(crate) fn nil<B: Out>(buf: &mut B) {
    buf.push(Marker::Null.to_u8());
}

#[inline(always)]
pub(crate) fn bool<B: Out>(buf: &mut B, v: bool) {
    buf.push(if v { Marker::True } else { Marker::False }.to_u8());
}

/// A marker then a big-endian value (see [`Out::push_marked`]).
#[inline(always)]
fn marked<B: Out, const N: usize>(buf: &mut B, marker: Marker, be: [u8; N]) {
    buf.push_marked(marker.to_u8(), be);
}

/// The smallest int marker for `v`, as rmp's `write_sint` picks it (tested equal below).
#[inline(always)]
pub(crate) fn sint<B: Out>(buf: &mut B, v: i64) {
    if v >= 0 {
        uint(buf, v as u64);
    } else if v >= -32 {
        buf.push(Marker::FixNeg(v as i8).to_u8());
    } else if v >= -128 {
        marked(buf, Marker::I8, (v as i8).to_be_bytes());
    } else if v >= -32768 {
        marked(buf, Marker::I16, (v as i16).to_be_bytes());
    } else if v >= -2147483648 {
        marked(buf, Marker::I32, (v as i32).to_be_bytes());
    } else {
        marked(buf, Marker::I64, v.to_be_bytes());
    }
}

/// The smallest uint marker for `v`, as rmp's `write_uint` picks it (tested equal below).
#[inline(always)]
pub(crate) fn uint<B: Out>(buf: &mut B, v: u64) {
    if v < 128 {
        buf.push(Marker::FixPos(v as u8).to_u8());
    } else if v < 256 {
        marked(buf, Marker::U8, (v as u8).to_be_bytes());
    } else if v < 65536 {
        marked(buf, Marker::U16, (v as u16).to_be_bytes());
    } else if v < 4294967296 {
        marked(buf, Marker::U32, (v as u32).to_be_bytes());
    } else {
        marked(buf, Marker::U64, v.to_be_bytes());
    }
}

/// float64 (ormsgpack and JsonPlusSerializer never write float32).
#[inline(always)]
pub(crate) fn f64<B: Out>(buf: &mut B, v: f64) {
    marked(buf, Marker::F64, v.to_bits().to_be_bytes());
}

/// fixstr / str8 / str16 / str32 header then the UTF-8 bytes.
#[inline(always)]
pub(crate) fn str<B: Out>(buf: &mut B, bytes: &[u8]) {
    let n = bytes.len();
    if n < 32 {
        buf.reserve(n + 1);
        buf.push(Marker::FixStr(n as u8).to_u8());
    } else if n < 256 {
        // str8 and str16 too: the header of most message contents and ids.
        buf.reserve(n + 2);
        buf.push(Marker::Str8.to_u8());
        buf.push(n as u8);
    } else if n < 65536 {
        buf.reserve(n + 3);
        buf.push(Marker::Str16.to_u8());
        buf.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        let _ = encode::write_str_len(buf, n as u32);
    }
    buf.extend_from_slice(bytes);
}

/// bin8 / bin16 / bin32 header then the bytes.
#[inline(always)]
pub(crate) fn bin<B: Out>(buf: &mut B, bytes: &[u8]) {
    let _ = encode::write_bin_len(buf, bytes.len() as u32);
    buf.extend_from_slice(bytes);
}

/// fixarray / array16 / array32 header.
#[inline(always)]
pub(crate) fn array_len<B: Out>(buf: &mut B, len: u32) {
    if len < 16 {
        buf.push(Marker::FixArray(len as u8).to_u8());
    } else if len < 65536 {
        marked(buf, Marker::Array16, (len as u16).to_be_bytes());
    } else {
        marked(buf, Marker::Array32, len.to_be_bytes());
    }
}

/// fixmap / map16 / map32 header.
#[inline(always)]
pub(crate) fn map_len<B: Out>(buf: &mut B, len: u32) {
    if len < 16 {
        buf.push(Marker::FixMap(len as u8).to_u8());
    } else if len < 65536 {
        marked(buf, Marker::Map16, (len as u16).to_be_bytes());
    } else {
        marked(buf, Marker::Map32, len.to_be_bytes());
    }
}

/// fixext1/2/4/8/16 / ext8 / ext16 / ext32 header.
#[inline(always)]
pub(crate) fn ext_meta<B: Out>(buf: &mut B, len: u32, code: i8) {
    let _ = encode::write_ext_meta(buf, len, code);
}

/// The largest ext header (ext32: marker, 4-byte length, type).
pub(crate) const EXT_MAX_HEADER: usize = 6;

/// Header bytes to reserve for a payload of 256 to 65535 bytes (ext16), the usual size of a
/// LangChain message: its header is then written in place without moving the payload.
pub(crate) const EXT_RESERVE_EXT16: usize = 4;

/// Header bytes to reserve for a payload of 17 to 255 bytes (ext8): UUID, datetime.
pub(crate) const EXT_RESERVE_EXT8: usize = 3;

/// An ext header reserved by [`ext_begin`], patched by [`ext_end`].
#[derive(Clone, Copy)]
pub(crate) struct ExtMark {
    at: usize,
    reserved: usize,
}

impl ExtMark {
    /// Where the payload starts (the end of the reserved header).
    pub(crate) fn payload(&self) -> usize {
        self.at + self.reserved
    }
}

/// Reserve `reserved` bytes for an ext header whose payload is written next (the header size
/// expected for that payload; a wrong guess costs one move of the payload in [`ext_end`]).
#[inline(always)]
pub(crate) fn ext_begin<B: Out>(buf: &mut B, reserved: usize) -> ExtMark {
    let at = buf.len();
    buf.extend_from_slice(&[0u8; EXT_MAX_HEADER][..reserved]);
    ExtMark { at, reserved }
}

/// Write the smallest header for the payload written since [`ext_begin`] into its reserved room,
/// moving the payload when the header is shorter or longer than the room.
#[inline]
pub(crate) fn ext_end<B: Out>(buf: &mut B, mark: ExtMark, code: i8) {
    let payload = mark.payload();
    let len = buf.len() - payload;
    let mut hdr = [0u8; EXT_MAX_HEADER];
    let mut w = &mut hdr[..];
    let _ = encode::write_ext_meta(&mut w, len as u32, code);
    let h = EXT_MAX_HEADER - w.len();
    if h < mark.reserved {
        buf.as_mut_slice().copy_within(payload.., mark.at + h);
        buf.truncate(mark.at + h + len);
    } else if h > mark.reserved {
        buf.extend_from_slice(&[0u8; EXT_MAX_HEADER][..h - mark.reserved]);
        buf.as_mut_slice()
            .copy_within(payload..payload + len, mark.at + h);
    }
    buf.as_mut_slice()[mark.at..mark.at + h].copy_from_slice(&hdr[..h]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext_bytes(code: i8, payload: &[u8], reserved: usize) -> Vec<u8> {
        let mut buf = vec![0x90];
        let mark = ext_begin(&mut buf, reserved);
        buf.extend_from_slice(payload);
        ext_end(&mut buf, mark, code);
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
            let mut want = vec![0x90];
            ext_meta(&mut want, len as u32, 5);
            want.extend_from_slice(&payload);
            // Every reservation, shorter, equal or longer than the header, gives the same bytes.
            for reserved in 0..=EXT_MAX_HEADER {
                let out = ext_bytes(5, &payload, reserved);
                assert_eq!(out[0], 0x90);
                assert_eq!(out[1], marker, "len {len}");
                assert_eq!(out, want, "len {len}, reserved {reserved}");
            }
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
    fn ints_and_floats_equal_rmp_at_every_boundary() {
        let mut edges = vec![i64::MIN, i64::MIN + 1, i64::MAX, i64::MAX - 1];
        for p in [5u32, 7, 8, 15, 16, 31, 32, 62] {
            for base in [1i64 << p, -(1i64 << p)] {
                edges.extend([base - 1, base, base + 1]);
            }
        }
        for v in edges {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            sint(&mut a, v);
            let _ = encode::write_sint(&mut b, v);
            assert_eq!(a, b, "int {v}");
        }
        for p in [7u32, 8, 15, 16, 31, 32, 63] {
            for v in [(1u64 << p) - 1, 1u64 << p, (1u64 << p) + 1, u64::MAX] {
                let (mut a, mut b) = (Vec::new(), Vec::new());
                uint(&mut a, v);
                let _ = encode::write_uint(&mut b, v);
                assert_eq!(a, b, "uint {v}");
            }
        }
        for v in [
            0.0,
            -0.0,
            1.5,
            -2.25e300,
            f64::MIN_POSITIVE,
            f64::INFINITY,
            f64::NAN,
        ] {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            f64(&mut a, v);
            let _ = encode::write_f64(&mut b, v);
            assert_eq!(a, b, "float {v}");
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
