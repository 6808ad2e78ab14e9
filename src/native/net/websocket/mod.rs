//! `silly.net.websocket.c`: the byte work of `stdlib/silly/net/websocket.lua` (docs/websocket.md):
//! reading one whole frame from a connection's buffer and unmasking it (frame.rs), encoding
//! frames, the handshake's accept value (SHA-1 from aws-lc-rs, the provider rustls already
//! uses), UTF-8 checks, and per-message deflate (flate2, RFC 7692).

// Also driven by the fuzz targets (src/fuzzing.rs), with `decode` and `inflate`.
pub(crate) mod frame;

use mlua::{IntoLuaMulti, Lua, MultiValue, Table, UserDataRef, Value};

use crate::native::net::conn::{StreamHandle, read_value};
use crate::native::net::read_buf::Request;
use crate::native::net::tls::base64;

/// The GUID of RFC 6455 §1.3, appended to the client's key.
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// A frame as the Lua side gets it: `{fin, rsv1, opcode, masked, data}`, or the reason the
/// frame is refused, as a string.
pub(crate) fn decode(lua: &Lua, b: &[u8]) -> mlua::Result<Value> {
    match frame::parse(b, b.len()) {
        Ok(f) => {
            let t = lua.create_table_with_capacity(0, 5)?;
            t.raw_set("fin", f.fin)?;
            t.raw_set("rsv1", f.rsv1)?;
            t.raw_set("opcode", f.opcode)?;
            t.raw_set("masked", f.masked)?;
            t.raw_set("data", lua.create_string(&f.payload)?)?;
            Ok(Value::Table(t))
        }
        Err(why) => lua.create_string(why).map(Value::String),
    }
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // The system's generator; it does not fail on Linux once the process runs.
    let _ = aws_lc_rs::rand::fill(&mut b);
    b
}

/// One message compressed for permessage-deflate, on its own (no context kept between
/// messages): all of it, then a sync flush, whose last 4 bytes (00 00 ff ff) RFC 7692 §7.2.1
/// drops.
fn deflate(data: &[u8]) -> Result<Vec<u8>, String> {
    let mut c = flate2::Compress::new(flate2::Compression::fast(), false);
    let mut out = Vec::with_capacity(data.len() / 2 + 64);
    loop {
        let used = c.total_in() as usize;
        out.reserve(64 * 1024);
        c.compress_vec(&data[used..], &mut out, flate2::FlushCompress::Sync)
            .map_err(|e| format!("cannot compress: {e}"))?;
        // Done once all input is in and the output was not cut short by its space.
        if c.total_in() as usize >= data.len() && out.len() < out.capacity() {
            break;
        }
    }
    if out.ends_with(&[0x00, 0x00, 0xff, 0xff]) {
        out.truncate(out.len() - 4);
    }
    Ok(out)
}

/// A permessage-deflate message inflated, at most `max` bytes. The sender ended it with a
/// sync flush and dropped the flush's last 4 bytes, so there is no final block: the
/// inflater is fed everything, those bytes restored, and stops when the input is used up.
pub(crate) fn inflate(data: &[u8], max: usize) -> Result<Vec<u8>, String> {
    let mut input = Vec::with_capacity(data.len() + 4);
    input.extend_from_slice(data);
    input.extend_from_slice(&[0x00, 0x00, 0xff, 0xff]);
    let mut d = flate2::Decompress::new(false);
    let mut out = Vec::new();
    loop {
        let used = d.total_in() as usize;
        out.reserve(64 * 1024);
        let before = (d.total_in(), d.total_out());
        let status = d
            .decompress_vec(&input[used..], &mut out, flate2::FlushDecompress::Sync)
            .map_err(|e| format!("bad compressed message: {e}"))?;
        if out.len() > max {
            return Err("message over maxmessage".into());
        }
        if status == flate2::Status::StreamEnd {
            return Ok(out);
        }
        // Done once all input is in and the output was not cut short by its space.
        if d.total_in() as usize >= input.len() && out.len() < out.capacity() {
            return Ok(out);
        }
        if (d.total_in(), d.total_out()) == before {
            return Err("bad compressed message: it does not end".into());
        }
    }
}

pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    // readframe(ud, maxframe, timeout?) -> frame | reason | nil, err | MARKER
    m.set(
        "readframe",
        lua.create_function(
            |lua, (h, limit, timeout): (UserDataRef<StreamHandle>, usize, Option<i64>)| {
                let req = Request::Sized(frame::size, limit.max(14));
                read_value(lua, &h, req, timeout, decode)
            },
        )?,
    )?;
    // frame(fin, opcode, data, mask, rsv1) -> bytes: masked with a fresh random key when asked.
    m.set(
        "frame",
        lua.create_function(
            |lua, (fin, opcode, data, mask, rsv1): (bool, u8, mlua::LuaString, bool, bool)| {
                let key = mask.then(random::<4>);
                lua.create_string(frame::encode(fin, rsv1, opcode, &data.as_bytes(), key))
            },
        )?,
    )?;
    // accept(key) -> the sec-websocket-accept value for a client's sec-websocket-key
    m.set(
        "accept",
        lua.create_function(|_, key: mlua::LuaString| {
            let mut ctx =
                aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY);
            ctx.update(&key.as_bytes());
            ctx.update(GUID.as_bytes());
            Ok(base64(ctx.finish().as_ref()))
        })?,
    )?;
    // key() -> a fresh sec-websocket-key (16 random bytes, base64)
    m.set(
        "key",
        lua.create_function(|_, ()| Ok(base64(&random::<16>())))?,
    )?;
    // isutf8(s) -> whether `s` is valid UTF-8
    m.set(
        "isutf8",
        lua.create_function(
            |_, s: mlua::LuaString| Ok(std::str::from_utf8(&s.as_bytes()).is_ok()),
        )?,
    )?;
    // deflate(s) -> one message compressed for permessage-deflate (no context kept)
    m.set(
        "deflate",
        lua.create_function(|lua, s: mlua::LuaString| {
            let out = deflate(&s.as_bytes()).map_err(mlua::Error::runtime)?;
            lua.create_string(&out)
        })?,
    )?;
    // inflate(s, max) -> message | nil, err: a permessage-deflate message, at most `max` bytes
    m.set(
        "inflate",
        lua.create_function(|lua, (s, max): (mlua::LuaString, usize)| {
            let v: MultiValue = match inflate(&s.as_bytes(), max) {
                Ok(out) => lua.create_string(&out)?.into_lua_multi(lua)?,
                Err(e) => (Value::Nil, e).into_lua_multi(lua)?,
            };
            Ok(v)
        })?,
    )?;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::{deflate, inflate};

    #[test]
    fn deflate_round_trips_large_and_small_messages() {
        let mut noise = Vec::with_capacity(1 << 20);
        let mut x: u32 = 12345;
        for _ in 0..(1 << 20) {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            noise.push((x >> 16) as u8);
        }
        for msg in [
            b"".to_vec(),
            b"abc".to_vec(),
            b"compressible ".repeat(10_000),
            noise,
        ] {
            let z = deflate(&msg).unwrap();
            assert!(!z.ends_with(&[0x00, 0x00, 0xff, 0xff]));
            assert_eq!(inflate(&z, msg.len().max(1)).unwrap(), msg);
        }
    }

    #[test]
    fn inflate_is_bounded() {
        let z = deflate(&vec![b'a'; 100_000]).unwrap();
        assert_eq!(inflate(&z, 1000), Err("message over maxmessage".into()));
        assert!(inflate(b"\xff\xff\xff garbage", 1000).is_err());
    }
}
