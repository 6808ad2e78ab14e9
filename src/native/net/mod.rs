//! Networking natives: address facts, the shared stream machinery, TCP.

pub mod addr;
pub mod conn;
pub mod stream;
pub mod tcp;
