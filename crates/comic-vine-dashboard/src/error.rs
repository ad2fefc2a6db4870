//! The dashboard's errors.

use std::net::SocketAddr;

/// Why the dashboard could not start.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// The address is not a loopback address and no explicit `bind` allowed it.
    #[error(
        "refusing to listen on {addr}: not a loopback address (set an explicit bind address to allow it)"
    )]
    NotLoopback {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// The socket could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An option is out of range.
    #[error("invalid dashboard option {option}: {reason}")]
    InvalidOption {
        /// The option.
        option: &'static str,
        /// Why.
        reason: String,
    },
}
