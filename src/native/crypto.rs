//! `silly.crypto.{hash,hmac,random}.c`: digests, HMAC and random bytes for
//! `stdlib/silly/crypto/`, from aws-lc-rs (the crypto provider rustls already links).
//!
//! Arguments arrive checked by the Lua wrappers: algorithm names are known ones, data are
//! strings, sizes are in range. A streaming state that was finished answers `nil`/`false`, and
//! the wrapper raises the error.

use std::cell::RefCell;

use aws_lc_rs::{constant_time, digest, hmac, rand};
use mlua::{AnyUserData, BString, Lua, LuaString, Table, UserData, Value};

/// The algorithms both modules offer, by their public names.
fn algorithm(name: &[u8]) -> Option<(&'static digest::Algorithm, hmac::Algorithm)> {
    Some(match name {
        b"sha1" => (
            &digest::SHA1_FOR_LEGACY_USE_ONLY,
            hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        ),
        b"sha256" => (&digest::SHA256, hmac::HMAC_SHA256),
        b"sha384" => (&digest::SHA384, hmac::HMAC_SHA384),
        b"sha512" => (&digest::SHA512, hmac::HMAC_SHA512),
        _ => return None,
    })
}

fn unknown(name: &[u8]) -> mlua::Error {
    mlua::Error::runtime(format!(
        "unknown algorithm '{}'",
        String::from_utf8_lossy(name)
    ))
}

/// A streaming digest or HMAC; `None` once finished.
enum State {
    Digest(Option<digest::Context>),
    /// Boxed: an HMAC context is large (over 1 KiB), a digest one small.
    Hmac(Option<Box<hmac::Context>>),
}

struct Stream(RefCell<State>);

impl UserData for Stream {}

pub fn open_hash(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    m.set(
        "digest",
        lua.create_function(|lua, (name, data): (BString, BString)| {
            let (alg, _) = algorithm(&name).ok_or_else(|| unknown(&name))?;
            lua.create_string(digest::digest(alg, &data))
        })?,
    )?;
    m.set(
        "new",
        lua.create_function(|lua, name: BString| {
            let (alg, _) = algorithm(&name).ok_or_else(|| unknown(&name))?;
            let ctx = digest::Context::new(alg);
            lua.create_userdata(Stream(RefCell::new(State::Digest(Some(ctx)))))
        })?,
    )?;
    m.set("update", lua.create_function(update)?)?;
    m.set("final", lua.create_function(finish)?)?;
    m.set(
        "hex",
        lua.create_function(|lua, data: BString| {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let mut out = Vec::with_capacity(data.len() * 2);
            for b in data.iter() {
                out.push(HEX[(b >> 4) as usize]);
                out.push(HEX[(b & 15) as usize]);
            }
            lua.create_string(out)
        })?,
    )?;
    Ok(m)
}

pub fn open_hmac(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    m.set(
        "sign",
        lua.create_function(|lua, (name, key, data): (BString, BString, BString)| {
            let (_, alg) = algorithm(&name).ok_or_else(|| unknown(&name))?;
            lua.create_string(hmac::sign(&hmac::Key::new(alg, &key), &data))
        })?,
    )?;
    m.set(
        "new",
        lua.create_function(|lua, (name, key): (BString, BString)| {
            let (_, alg) = algorithm(&name).ok_or_else(|| unknown(&name))?;
            let ctx = Box::new(hmac::Context::with_key(&hmac::Key::new(alg, &key)));
            lua.create_userdata(Stream(RefCell::new(State::Hmac(Some(ctx)))))
        })?,
    )?;
    m.set("update", lua.create_function(update)?)?;
    m.set("final", lua.create_function(finish)?)?;
    m.set(
        "equal",
        lua.create_function(|_, (a, b): (BString, BString)| {
            Ok(constant_time::verify_slices_are_equal(&a, &b).is_ok())
        })?,
    )?;
    Ok(m)
}

pub fn open_random(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    m.set(
        "bytes",
        lua.create_function(|lua, n: usize| {
            let mut buf = vec![0u8; n];
            match rand::fill(&mut buf) {
                Ok(()) => Ok((Value::String(lua.create_string(&buf)?), None)),
                Err(_) => Ok((Value::Nil, Some("random: the system generator failed"))),
            }
        })?,
    )?;
    Ok(m)
}

/// `update(state, data) -> true | false` (false: already finished).
fn update(_: &Lua, (ud, data): (AnyUserData, BString)) -> mlua::Result<bool> {
    let s = ud.borrow::<Stream>()?;
    let mut state = s.0.borrow_mut();
    Ok(match &mut *state {
        State::Digest(Some(c)) => {
            c.update(&data);
            true
        }
        State::Hmac(Some(c)) => {
            c.update(&data);
            true
        }
        _ => false,
    })
}

/// `final(state) -> bytes | nil` (nil: already finished).
fn finish(lua: &Lua, ud: AnyUserData) -> mlua::Result<Option<LuaString>> {
    let s = ud.borrow::<Stream>()?;
    let mut state = s.0.borrow_mut();
    let out = match &mut *state {
        State::Digest(c) => c.take().map(|c| c.finish().as_ref().to_vec()),
        State::Hmac(c) => c.take().map(|c| c.sign().as_ref().to_vec()),
    };
    out.map(|b| lua.create_string(b)).transpose()
}
