//! `silly.encoding.base64.c`: RFC 4648 base64 for `stdlib/silly/encoding/base64.lua`.
//!
//! The standard alphabet is written and read with its `=` padding; the URL-safe alphabet is
//! written without padding and read with or without it. Arguments arrive checked (strings).

use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{
    GeneralPurpose, GeneralPurposeConfig, STANDARD, URL_SAFE_NO_PAD,
};
use base64::{DecodeError, alphabet};
use mlua::{BString, Lua, Table, Value};

const URL_SAFE_ANY_PAD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    m.set(
        "encode",
        lua.create_function(|lua, s: BString| lua.create_string(STANDARD.encode(&s)))?,
    )?;
    m.set(
        "urlsafe_encode",
        lua.create_function(|lua, s: BString| lua.create_string(URL_SAFE_NO_PAD.encode(&s)))?,
    )?;
    m.set(
        "decode",
        lua.create_function(|lua, s: BString| decode(lua, &STANDARD, &s))?,
    )?;
    m.set(
        "urlsafe_decode",
        lua.create_function(|lua, s: BString| decode(lua, &URL_SAFE_ANY_PAD, &s))?,
    )?;
    Ok(m)
}

/// `bytes` or `nil, err`.
fn decode(lua: &Lua, engine: &GeneralPurpose, s: &[u8]) -> mlua::Result<(Value, Option<String>)> {
    match engine.decode(s) {
        Ok(bytes) => Ok((Value::String(lua.create_string(bytes)?), None)),
        Err(e) => Ok((Value::Nil, Some(message(&e, s)))),
    }
}

/// Byte positions are 1-based, as in Lua strings.
fn message(e: &DecodeError, s: &[u8]) -> String {
    match *e {
        DecodeError::InvalidByte(i, b'=') => {
            format!("base64: misplaced padding at byte {}", i + 1)
        }
        DecodeError::InvalidByte(i, b) => format!("base64: invalid {} at byte {}", show(b), i + 1),
        DecodeError::InvalidLength(n) => {
            format!(
                "base64: invalid length ({n} symbols; the input is truncated or has extra bytes)"
            )
        }
        DecodeError::InvalidLastSymbol { offset, symbol, .. } => format!(
            "base64: invalid last symbol {} at byte {} (its unused bits are not zero)",
            show(symbol),
            offset + 1
        ),
        DecodeError::InvalidPadding if s.ends_with(b"=") => "base64: invalid padding".to_string(),
        DecodeError::InvalidPadding => "base64: missing padding".to_string(),
    }
}

fn show(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("character '{}'", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}
