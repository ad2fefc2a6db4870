//! Listening: the socket, the accept loop, one hyper HTTP/1 connection per client.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use crate::history::{History, spawn_sampler};
use crate::{DashboardError, DashboardOptions, DashboardSource, State, routes};

/// A running dashboard. Dropping it (or [`shutdown`](Self::shutdown)) stops the server,
/// its open connections and its sampler.
#[derive(Debug)]
pub struct Dashboard {
    addr: SocketAddr,
    accept: JoinHandle<()>,
    sampler: JoinHandle<()>,
}

impl Dashboard {
    /// Binds the socket, starts serving `source` and returns at once.
    pub async fn start(
        source: Arc<dyn DashboardSource>,
        options: DashboardOptions,
    ) -> Result<Self, DashboardError> {
        options.validate()?;
        let listener =
            TcpListener::bind(options.addr)
                .await
                .map_err(|source| DashboardError::Bind {
                    addr: options.addr,
                    source,
                })?;
        let addr = listener
            .local_addr()
            .map_err(|source| DashboardError::Bind {
                addr: options.addr,
                source,
            })?;
        let history = Arc::new(History::new(options.history_capacity()));
        let sampler = spawn_sampler(source.clone(), history.clone(), options.sample_interval);
        let state = Arc::new(State {
            source,
            history,
            token: new_token(),
            allow_writes: options.allow_writes,
            allowed_hosts: allowed_hosts(addr),
            body_limit: options.body_limit,
            options,
        });
        tracing::info!(%addr, writes = state.allow_writes, "dashboard listening");
        let accept = tokio::spawn(accept_loop(listener, state));
        Ok(Self {
            addr,
            accept,
            sampler,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its URL, e.g. `http://127.0.0.1:8123/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Stops the server and waits until it has stopped.
    pub async fn shutdown(mut self) {
        self.accept.abort();
        self.sampler.abort();
        let _ = (&mut self.accept).await;
        let _ = (&mut self.sampler).await;
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        self.accept.abort();
        self.sampler.abort();
    }
}

/// 32 random bytes (two v4 UUIDs, from the OS's random source) in hex.
fn new_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// The `Host` values that name this server: its address, and `localhost` for loopback.
fn allowed_hosts(addr: SocketAddr) -> Vec<String> {
    let mut hosts = vec![addr.to_string()];
    if addr.ip().is_loopback() {
        hosts.push(format!("localhost:{}", addr.port()));
    }
    hosts
}

/// The most connections served at once; further clients wait in the listen backlog.
const MAX_CONNECTIONS: usize = 64;

async fn accept_loop(listener: TcpListener, state: Arc<State>) {
    // Dropping the set (when this task is aborted) aborts every connection.
    let mut connections = JoinSet::new();
    loop {
        while connections.len() >= MAX_CONNECTIONS {
            let _ = connections.join_next().await;
        }
        let (stream, peer) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!(error = %e, "dashboard accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        while connections.try_join_next().is_some() {}
        let state = state.clone();
        connections.spawn(async move {
            let service = service_fn(move |req| {
                let state = state.clone();
                async move { Ok::<_, std::convert::Infallible>(routes::handle(req, &state).await) }
            });
            let served = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(e) = served {
                tracing::debug!(%peer, error = %e, "dashboard connection ended");
            }
        });
    }
}
