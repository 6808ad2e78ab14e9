//! WebSocket frames (RFC 6455 §5): their length from the first bytes, parsing with the
//! protocol's rules, and encoding with the shortest length and an optional mask. A plain
//! module, tested below; the Lua side checks what depends on the session (masking direction,
//! negotiated extensions).

/// A parsed frame; `payload` is unmasked.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame {
    pub fin: bool,
    pub rsv1: bool,
    pub opcode: u8,
    pub masked: bool,
    pub payload: Vec<u8>,
}

/// The whole frame's length once the buffered bytes tell it (None: more bytes first);
/// `usize::MAX` for a length no frame may have.
pub fn size(b: &[u8]) -> Option<usize> {
    if b.len() < 2 {
        return None;
    }
    let masked = b[1] & 0x80 != 0;
    let (len, head) = match b[1] & 0x7f {
        126 => {
            if b.len() < 4 {
                return None;
            }
            (u64::from(u16::from_be_bytes([b[2], b[3]])), 4)
        }
        127 => {
            if b.len() < 10 {
                return None;
            }
            let mut n = [0u8; 8];
            n.copy_from_slice(&b[2..10]);
            (u64::from_be_bytes(n), 10)
        }
        n => (u64::from(n), 2),
    };
    let head = head + if masked { 4 } else { 0 };
    Some(
        usize::try_from(len)
            .ok()
            .and_then(|l| l.checked_add(head))
            .unwrap_or(usize::MAX),
    )
}

/// XORs `data` with the 4-byte `key`, a word at a time.
pub fn xor(key: [u8; 4], data: &mut [u8]) {
    let wide = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut chunks = data.chunks_exact_mut(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        c.copy_from_slice(&(u64::from_ne_bytes(w) ^ wide).to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= key[i % 4];
    }
}

/// Parses one whole frame (`b` is exactly what `size` asked for, or less when the frame was
/// refused: over the limit, or malformed).
pub fn parse(b: &[u8], limit: usize) -> Result<Frame, &'static str> {
    let Some(total) = size(b) else {
        return Err("truncated frame");
    };
    if total == usize::MAX || total > limit {
        return Err("frame over maxframe");
    }
    if b.len() < total {
        return Err("truncated frame");
    }
    let fin = b[0] & 0x80 != 0;
    let rsv1 = b[0] & 0x40 != 0;
    if b[0] & 0x30 != 0 {
        return Err("reserved bits set");
    }
    let opcode = b[0] & 0x0f;
    match opcode {
        0..=2 => {}
        8..=10 => {
            if !fin {
                return Err("fragmented control frame");
            }
            if b[1] & 0x7f > 125 {
                return Err("control frame over 125 bytes");
            }
        }
        _ => return Err("reserved opcode"),
    }
    let masked = b[1] & 0x80 != 0;
    let head = match b[1] & 0x7f {
        126 => 4,
        127 => {
            if b[2] & 0x80 != 0 {
                return Err("length over 2^63");
            }
            10
        }
        _ => 2,
    };
    let (key, start) = if masked {
        let mut k = [0u8; 4];
        k.copy_from_slice(&b[head..head + 4]);
        (Some(k), head + 4)
    } else {
        (None, head)
    };
    let mut payload = b[start..total].to_vec();
    if let Some(k) = key {
        xor(k, &mut payload);
    }
    Ok(Frame {
        fin,
        rsv1,
        opcode,
        masked,
        payload,
    })
}

/// A frame with the shortest length encoding, masked with `mask` when given.
pub fn encode(fin: bool, rsv1: bool, opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    out.push(u8::from(fin) << 7 | u8::from(rsv1) << 6 | (opcode & 0x0f));
    let m = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(m | n as u8),
        n if n <= 0xffff => {
            out.push(m | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(m | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        Some(k) => {
            out.extend_from_slice(&k);
            let at = out.len();
            out.extend_from_slice(payload);
            xor(k, &mut out[at..]);
        }
        None => out.extend_from_slice(payload),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_the_shortest_length() {
        for n in [0usize, 1, 125, 126, 65535, 65536, 100_000] {
            let payload: Vec<u8> = (0..n).map(|i| i as u8).collect();
            for mask in [None, Some([1, 2, 3, 4])] {
                let bytes = encode(true, false, 2, &payload, mask);
                let head = match n {
                    0..=125 => 2,
                    126..=65535 => 4,
                    _ => 10,
                } + if mask.is_some() { 4 } else { 0 };
                assert_eq!(bytes.len(), head + n, "n={n}");
                assert_eq!(size(&bytes), Some(bytes.len()));
                let f = parse(&bytes, usize::MAX).unwrap();
                assert_eq!(f.payload, payload);
                assert_eq!(f.masked, mask.is_some());
                assert!(f.fin);
                assert_eq!(f.opcode, 2);
            }
        }
    }

    #[test]
    fn the_rfc_example_frames() {
        // RFC 6455 §5.7: a single-frame unmasked and masked "Hello".
        let plain = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
        assert_eq!(parse(&plain, 100).unwrap().payload, b"Hello");
        let masked = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        let f = parse(&masked, 100).unwrap();
        assert_eq!(f.payload, b"Hello");
        assert!(f.masked);
        assert_eq!(
            encode(true, false, 1, b"Hello", Some([0x37, 0xfa, 0x21, 0x3d])),
            masked
        );
    }

    #[test]
    fn protocol_violations_are_refused() {
        assert_eq!(parse(&[0x82 | 0x20, 0x00], 100), Err("reserved bits set"));
        assert_eq!(parse(&[0x83, 0x00], 100), Err("reserved opcode"));
        assert_eq!(parse(&[0x09, 0x00], 100), Err("fragmented control frame"));
        let mut long_ping = vec![0x89, 126, 0, 126];
        long_ping.extend(vec![0; 126]);
        assert_eq!(parse(&long_ping, 1000), Err("control frame over 125 bytes"));
        assert_eq!(
            parse(&[0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1], 100),
            Err("frame over maxframe")
        );
        assert_eq!(
            parse(&[0x82, 126, 0x10, 0x00], 100),
            Err("frame over maxframe")
        );
        assert_eq!(size(&[0x82]), None);
        assert_eq!(size(&[0x82, 126, 0]), None);
    }

    #[test]
    fn xor_matches_bytewise() {
        let key = [9, 8, 7, 6];
        let mut data: Vec<u8> = (0..37).collect();
        let want: Vec<u8> = data
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ key[i % 4])
            .collect();
        xor(key, &mut data);
        assert_eq!(data, want);
    }
}
