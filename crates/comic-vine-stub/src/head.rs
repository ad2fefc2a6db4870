//! Reading one HTTP/1.1 request head.

use tokio::io::AsyncBufReadExt;
use tokio::io::BufReader;
use tokio::net::TcpStream;

use crate::MAX_BODY;
use crate::caching::Conditional;

/// One parsed request head.
pub(crate) struct Head {
    pub(crate) method: String,
    pub(crate) path: String,
    /// `Content-Length`, if given.
    pub(crate) body_len: u64,
    /// Whether the body has a framing this server does not read (chunked, too large).
    pub(crate) unreadable_body: bool,
    /// `If-None-Match` / `If-Modified-Since`.
    pub(crate) conditional: Conditional,
    /// `Connection: close`: the connection ends after this answer.
    pub(crate) close: bool,
}

/// Reads a request head; `None` when the connection closed or sent garbage.
pub(crate) async fn read_head(stream: &mut BufReader<TcpStream>) -> Option<Head> {
    let mut request_line = String::new();
    match stream.read_line(&mut request_line).await {
        Ok(0) | Err(_) => return None,
        Ok(_) => {}
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next().unwrap_or("/").to_owned();
    let (mut body_len, mut unreadable_body, mut close) = (0, false, false);
    let mut conditional = Conditional::default();
    loop {
        let mut header = String::new();
        match stream.read_line(&mut header).await {
            Ok(0) | Err(_) => return None,
            Ok(_) if header == "\r\n" || header == "\n" => break,
            Ok(_) => {}
        }
        let Some((name, value)) = header.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("content-length") {
            match value.parse::<u64>() {
                Ok(n) if n <= MAX_BODY => body_len = n,
                _ => unreadable_body = true,
            }
        } else if name.eq_ignore_ascii_case("connection") {
            close |= value
                .split(',')
                .any(|token| token.trim().eq_ignore_ascii_case("close"));
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            unreadable_body = true;
        } else if name.eq_ignore_ascii_case("if-none-match") {
            conditional.if_none_match = Some(value.to_owned());
        } else if name.eq_ignore_ascii_case("if-modified-since") {
            conditional.if_modified_since = Some(value.to_owned());
        }
    }
    Some(Head {
        method,
        path,
        body_len,
        unreadable_body,
        conditional,
        close,
    })
}
