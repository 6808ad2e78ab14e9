//! Networking natives: address facts, the shared stream machinery, TCP, TLS, UDP and DNS.

pub mod addr;
pub mod conn;
pub mod conn_fast;
pub mod conn_ids;
pub mod dns;
pub mod error;
pub mod et_tcp;
pub mod http;
pub mod listener;
pub mod read_buf;
pub mod stats;
pub mod stream;
pub mod tcp;
pub mod tls;
pub mod udp;
pub mod websocket;
