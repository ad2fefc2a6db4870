//! A fault-injecting HTTP/1.1 proxy in front of DynamoDB Local, for tests.
//!
//! [`FaultProxy::start`] listens on 127.0.0.1 (a free port) and forwards each request
//! (method, path, headers, body) to the upstream, unless the plan says otherwise: the
//! plan is asked for a [`Fault`] per request, numbered from 1 in arrival order. The
//! server side is a small hand-written HTTP/1.1 loop (so that a fault can close the
//! connection at any point); the forwarding is a plain hyper client. Everything runs on
//! the test's runtime and ends with it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What the proxy does with one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Forward it and return the answer.
    Forward,
    /// Answer with this status and an empty body, without forwarding.
    Status(u16),
    /// Answer with this status and a DynamoDB-style JSON error of type `code`.
    StatusJson(u16, &'static str),
    /// Answer 400 `ThrottlingException`.
    Throttle,
    /// Answer 400 `ProvisionedThroughputExceededException`.
    ProvisionedThroughputExceeded,
    /// Close the connection without answering (nothing reaches DynamoDB).
    Drop,
    /// Forward it (DynamoDB applies it), then close the connection without answering:
    /// the lost answer.
    DropAfterForward,
    /// Wait, then forward.
    Delay(Duration),
}

impl Fault {
    /// A short name, for the injected-faults tally.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::Forward => "forward",
            Fault::Status(_) | Fault::StatusJson(..) => "status",
            Fault::Throttle => "throttle",
            Fault::ProvisionedThroughputExceeded => "provisioned_throughput_exceeded",
            Fault::Drop => "drop",
            Fault::DropAfterForward => "drop_after_forward",
            Fault::Delay(_) => "delay",
        }
    }
}

/// Decides the fault of request `n` (1-based).
type Plan = Box<dyn FnMut(u64) -> Fault + Send>;

/// A plan injecting one of `faults` (chosen at random) into a random `fraction` of the
/// requests, forwarding the others; reproducible from `seed`.
pub fn random_faults(
    seed: u64,
    fraction: f64,
    faults: Vec<Fault>,
) -> impl FnMut(u64) -> Fault + Send + 'static {
    let mut rng = fastrand::Rng::with_seed(seed);
    move |_| {
        if rng.f64() < fraction {
            faults[rng.usize(..faults.len())].clone()
        } else {
            Fault::Forward
        }
    }
}

struct Shared {
    upstream: String,
    client: Client<HttpConnector, Full<Bytes>>,
    requests: AtomicU64,
    plan: Mutex<Plan>,
    tally: Mutex<BTreeMap<&'static str, u64>>,
    /// Requests by DynamoDB operation (`X-Amz-Target` without its prefix).
    operations: Mutex<BTreeMap<String, u64>>,
}

/// The proxy; stops listening when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl FaultProxy {
    /// A proxy forwarding everything to `upstream` (e.g. `http://127.0.0.1:8000`).
    pub async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: Client::builder(TokioExecutor::new()).build_http(),
            requests: AtomicU64::new(0),
            plan: Mutex::new(Box::new(|_| Fault::Forward)),
            tally: Mutex::default(),
            operations: Mutex::default(),
        });
        let accept = tokio::spawn({
            let shared = Arc::clone(&shared);
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    tokio::spawn(serve(stream, Arc::clone(&shared)));
                }
            }
        });
        Self {
            addr,
            shared,
            accept,
        }
    }

    /// The URL to give the client, e.g. `http://127.0.0.1:40123`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests that reached the proxy so far (whatever happened to them).
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Applies `fault` to every later request.
    pub fn set_fault(&self, fault: Fault) {
        self.set_plan(move |_| fault.clone());
    }

    /// Forwards every later request but loses the answer of request `n` (counted as in
    /// [`set_plan`](Self::set_plan)): it lands, its caller never hears.
    pub fn lose_answer_of(&self, n: u64) {
        self.set_plan(move |i| {
            if i == n {
                Fault::DropAfterForward
            } else {
                Fault::Forward
            }
        });
    }

    /// Asks `plan` for the fault of every later request, given its number (counted
    /// since the proxy started, from 1).
    pub fn set_plan(&self, plan: impl FnMut(u64) -> Fault + Send + 'static) {
        *self.shared.plan.lock().unwrap() = Box::new(plan);
    }

    /// How many requests named each DynamoDB operation (e.g. `Query`), whatever their
    /// fault.
    pub fn operations(&self) -> BTreeMap<String, u64> {
        self.shared.operations.lock().unwrap().clone()
    }

    /// How many requests got each fault (by [`Fault::name`]), `forward` included.
    pub fn tally(&self) -> BTreeMap<&'static str, u64> {
        self.shared.tally.lock().unwrap().clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// One request as read from the client.
struct Request {
    method: String,
    path: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Bytes,
}

/// Serves one client connection until it closes or a fault drops it.
async fn serve(mut stream: TcpStream, shared: Arc<Shared>) {
    let mut buffer = Vec::new();
    while let Some(request) = read_request(&mut stream, &mut buffer).await {
        let n = shared.requests.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some((_, target)) = request
            .headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("x-amz-target"))
        {
            let target = String::from_utf8_lossy(target);
            let operation = target.rsplit('.').next().unwrap_or_default().to_owned();
            *shared
                .operations
                .lock()
                .unwrap()
                .entry(operation)
                .or_default() += 1;
        }
        let fault = (shared.plan.lock().unwrap())(n);
        *shared
            .tally
            .lock()
            .unwrap()
            .entry(fault.name())
            .or_default() += 1;
        let answer = match fault {
            Fault::Forward => forward(&shared, request).await,
            Fault::Delay(d) => {
                tokio::time::sleep(d).await;
                forward(&shared, request).await
            }
            Fault::Status(status) => (status, Vec::new(), Bytes::new()),
            Fault::StatusJson(status, code) => error(status, code, "Injected by the fault proxy."),
            Fault::Throttle => error(
                400,
                "ThrottlingException",
                "Rate of requests exceeds the allowed throughput.",
            ),
            Fault::ProvisionedThroughputExceeded => error(
                400,
                "ProvisionedThroughputExceededException",
                "The level of configured provisioned throughput for the table was exceeded.",
            ),
            Fault::Drop => return,
            Fault::DropAfterForward => {
                forward(&shared, request).await;
                return;
            }
        };
        if write_response(&mut stream, answer).await.is_err() {
            return;
        }
    }
}

type Answer = (u16, Vec<(String, Vec<u8>)>, Bytes);

/// A DynamoDB error answer of type `code`.
fn error(status: u16, code: &str, message: &str) -> Answer {
    let body = serde_json::json!({
        "__type": format!("com.amazonaws.dynamodb.v20120810#{code}"),
        "message": message,
    });
    let headers = vec![
        ("x-amzn-ErrorType".to_owned(), code.as_bytes().to_vec()),
        (
            "content-type".to_owned(),
            b"application/x-amz-json-1.0".to_vec(),
        ),
    ];
    (status, headers, Bytes::from(body.to_string()))
}

/// Sends `request` upstream and reads the whole answer (502 if that failed).
async fn forward(shared: &Shared, request: Request) -> Answer {
    let mut builder = hyper::Request::builder()
        .method(request.method.as_str())
        .uri(format!("{}{}", shared.upstream, request.path));
    for (name, value) in &request.headers {
        // The host header is kept as the client signed it; the body is re-framed.
        if !name.eq_ignore_ascii_case("content-length") && !name.eq_ignore_ascii_case("connection")
        {
            builder = builder.header(name.as_str(), value.as_slice());
        }
    }
    let request = builder
        .body(Full::new(request.body))
        .expect("valid request");
    let response = match shared.client.request(request).await {
        Ok(response) => response,
        Err(_) => return (502, Vec::new(), Bytes::new()),
    };
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter(|(name, _)| {
            !["content-length", "transfer-encoding", "connection"].contains(&name.as_str())
        })
        .map(|(name, value)| (name.to_string(), value.as_bytes().to_vec()))
        .collect();
    match response.into_body().collect().await {
        Ok(body) => (status, headers, body.to_bytes()),
        Err(_) => (502, Vec::new(), Bytes::new()),
    }
}

/// Reads the next request of the connection (`None` when it closed or is garbled);
/// `buffer` keeps bytes read past it.
async fn read_request(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<Request> {
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut parsed = httparse::Request::new(&mut headers);
        if let httparse::Status::Complete(head) = parsed.parse(buffer).ok()? {
            let length: usize = parsed
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .map_or(Some(0), |h| std::str::from_utf8(h.value).ok()?.parse().ok())?;
            let request = Request {
                method: parsed.method?.to_owned(),
                path: parsed.path?.to_owned(),
                headers: parsed
                    .headers
                    .iter()
                    .map(|h| (h.name.to_owned(), h.value.to_vec()))
                    .collect(),
                body: Bytes::new(),
            };
            while buffer.len() < head + length {
                read_more(stream, buffer).await?;
            }
            let body = Bytes::copy_from_slice(&buffer[head..head + length]);
            buffer.drain(..head + length);
            return Some(Request { body, ..request });
        }
        read_more(stream, buffer).await?;
    }
}

async fn read_more(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<()> {
    let mut chunk = [0; 16 * 1024];
    match stream.read(&mut chunk).await {
        Ok(0) | Err(_) => None,
        Ok(n) => {
            buffer.extend_from_slice(&chunk[..n]);
            Some(())
        }
    }
}

async fn write_response(
    stream: &mut TcpStream,
    (status, headers, body): Answer,
) -> std::io::Result<()> {
    let reason = hyper::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let mut out = format!("HTTP/1.1 {status} {reason}\r\n").into_bytes();
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(&value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("content-length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(&body);
    stream.write_all(&out).await
}
