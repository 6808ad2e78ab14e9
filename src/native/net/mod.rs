//! Networking natives: address facts, the shared stream machinery, TCP, UDP and DNS.

pub mod addr;
pub mod conn;
pub mod dns;
pub mod stream;
pub mod tcp;
pub mod udp;
