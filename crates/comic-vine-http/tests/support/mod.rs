//! A scripted HTTP server on 127.0.0.1 and a minimal GET client, for the tests.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

type Script = dyn Fn(usize, &str) -> String + Send + Sync;

/// A server answering the n-th request (0-based) with `script(n, request_head)`: the
/// status line's tail and header lines, e.g. `"200 OK\r\ncache-control: no-store"`;
/// the body is `ok`, or what follows a blank line in the script's answer.
pub struct Scripted {
    pub addr: std::net::SocketAddr,
    arrivals: Arc<Mutex<Vec<Instant>>>,
}

impl Scripted {
    pub async fn start(script: impl Fn(usize, &str) -> String + Send + Sync + 'static) -> Self {
        let script: Arc<Script> = Arc::new(script);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&arrivals);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if stream.read(&mut byte).await.unwrap_or(0) == 0 {
                        break;
                    }
                    head.push(byte[0]);
                }
                let n = {
                    let mut seen = seen.lock().unwrap();
                    seen.push(Instant::now());
                    seen.len() - 1
                };
                let answer = script(n, &String::from_utf8_lossy(&head));
                let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, "ok"));
                let response = format!(
                    "HTTP/1.1 {head}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.write_all(body.as_bytes()).await;
            }
        });
        Self { addr, arrivals }
    }

    /// A server answering from a fixed list (the last answer once it runs out).
    pub async fn list(answers: Vec<&'static str>) -> Self {
        Self::start(move |n, _| answers[n.min(answers.len() - 1)].to_owned()).await
    }

    pub fn arrivals(&self) -> Vec<Instant> {
        self.arrivals.lock().unwrap().clone()
    }

    pub fn requests(&self) -> usize {
        self.arrivals.lock().unwrap().len()
    }

    pub fn uri(&self, path: &str) -> http::Uri {
        format!("http://{}{path}", self.addr).parse().unwrap()
    }
}

/// A GET over a fresh connection with `headers`; the answer as an `http::Response`.
pub async fn get_with(
    addr: std::net::SocketAddr,
    headers: &http::HeaderMap,
) -> Result<http::Response<String>, std::io::Error> {
    get_path(&addr.to_string(), "/", headers).await
}

/// A GET of `uri` (`http://host:port/path?query`) with `headers`.
pub async fn get_uri(
    uri: &http::Uri,
    headers: &http::HeaderMap,
) -> Result<http::Response<String>, std::io::Error> {
    let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    get_path(authority, path, headers).await
}

async fn get_path(
    addr: &str,
    path: &str,
    headers: &http::HeaderMap,
) -> Result<http::Response<String>, std::io::Error> {
    let mut stream = TcpStream::connect(addr).await?;
    let mut request = format!("GET {path} HTTP/1.1\r\nhost: t\r\nconnection: close\r\n");
    for (n, v) in headers {
        request.push_str(&format!("{n}: {}\r\n", v.to_str().unwrap_or_default()));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status line"))?;
    let mut response = http::Response::new(body.to_owned());
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
    for line in lines {
        if let Some((n, v)) = line.split_once(':') {
            response.headers_mut().append(
                http::HeaderName::from_bytes(n.trim().as_bytes()).unwrap(),
                v.trim().parse().unwrap(),
            );
        }
    }
    Ok(response)
}

pub async fn get(addr: std::net::SocketAddr) -> Result<http::Response<String>, std::io::Error> {
    get_with(addr, &http::HeaderMap::new()).await
}
