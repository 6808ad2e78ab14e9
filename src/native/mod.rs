//! Native modules: the private mechanism under the public Lua API in `stdlib/`.
//!
//! Each area has one file and one private Lua module named `<public module>.c`. They are not the
//! documented API: `stdlib/` wraps them, checks arguments and gives them their public shape.
//! This is the one list of everything native code exposes to scripts.

pub mod core;
pub mod crypto;
pub mod encoding;
pub mod errno;
pub mod logger;
pub mod metrics;
pub mod net;
pub mod signal;
pub mod task;
pub mod time;

use mlua::{Lua, Table};

type Opener = fn(&Lua) -> mlua::Result<Table>;

const MODULES: &[(&str, Opener)] = &[
    ("silly.c", core::open),
    ("silly.crypto.hash.c", crypto::open_hash),
    ("silly.crypto.hmac.c", crypto::open_hmac),
    ("silly.crypto.random.c", crypto::open_random),
    ("silly.encoding.base64.c", encoding::base64::open),
    ("silly.encoding.json.c", encoding::json::open),
    ("silly.errno.c", errno::open),
    ("silly.logger.c", logger::open),
    ("silly.metrics.c", metrics::open),
    ("silly.net.addr.c", net::addr::open),
    ("silly.net.conn.c", net::conn::functions),
    ("silly.net.dns.c", net::dns::open),
    ("silly.net.http.c", net::http::open),
    ("silly.net.http.h2.c", net::http::h2::open),
    ("silly.net.http.h2client.c", net::http::h2client_open),
    ("silly.net.tcp.c", net::tcp::open),
    ("silly.net.tls.c", net::tls::open),
    ("silly.net.udp.c", net::udp::open),
    ("silly.net.websocket.c", net::websocket::open),
    ("silly.signal.c", signal::open),
    ("silly.task.c", task::open),
    ("silly.time.c", time::open),
];

/// Makes every native module requirable (through `package.preload`), and registers the
/// runtime hooks natives need.
pub fn register(lua: &Lua) -> mlua::Result<()> {
    // What a task writes is staged and sent when its run ends, or before the process exits.
    crate::runtime::hooks::on_task_run_end(net::stream::flush_staged);
    crate::runtime::hooks::on_exit(net::stream::flush_staged);
    for (name, open) in MODULES {
        let open = *open;
        let loader = lua.create_function(move |lua, ()| open(lua))?;
        lua.preload_module(name, loader)?;
    }
    Ok(())
}
