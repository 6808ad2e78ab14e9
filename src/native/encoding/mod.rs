//! `silly.encoding.*.c`: JSON and base64 for `stdlib/silly/encoding/`.

pub mod base64;
pub mod json;
mod json_decode;
mod json_encode;
