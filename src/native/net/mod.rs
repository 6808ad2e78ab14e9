//! Networking natives: address facts, the shared stream machinery, TCP, TLS, UDP and DNS.

pub mod addr;
pub mod conn;
pub mod conn_fast;
pub mod dns;
pub mod stream;
pub mod tcp;
pub mod tls;
pub mod tls_config;
pub mod tls_server;
pub mod tls_verify;
pub mod udp;
