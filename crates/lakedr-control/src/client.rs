//! A Databricks REST client for reading a workspace: personal access token or OAuth
//! machine-to-machine (client credentials at `/oidc/v1/token`, token cached until it expires),
//! retries on 429 and 5xx honouring `Retry-After` (which pauses every request of the client,
//! not only the one refused), exponential backoff with jitter otherwise, a timeout per attempt,
//! and a request pace so that a full export never gets the caller throttled or blocked.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use rand::Rng;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::error::Error;

/// Characters left as they are in a query value (RFC 3986 unreserved).
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// How the client authenticates.
#[derive(Clone)]
pub enum Auth {
    /// A personal access token (or any bearer token).
    Token(String),
    /// OAuth machine-to-machine: a service principal's client id and secret.
    OAuth {
        client_id: String,
        client_secret: String,
    },
}

impl std::fmt::Debug for Auth {
    // Never prints a credential.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Token(_) => f.write_str("Token(***)"),
            Auth::OAuth { client_id, .. } => write!(f, "OAuth {{ client_id: {client_id:?} }}"),
        }
    }
}

/// Where and how to call a workspace.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// `https://<workspace>.cloud.databricks.com` (no trailing slash needed).
    pub host: String,
    pub auth: Auth,
    /// Requests started per second at most, across the whole client (0: no pacing).
    pub requests_per_second: f64,
    /// Time allowed for one attempt (connect, send, read the whole body).
    pub timeout: Duration,
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// Longest wait between attempts without a `Retry-After`.
    pub max_backoff: Duration,
    /// Where OAuth tokens come from: `/oidc/v1/token` for a workspace,
    /// `/oidc/accounts/<account id>/v1/token` for the account API.
    pub token_path: String,
}

impl ClientConfig {
    /// Sensible defaults for `host` and `auth`: 20 requests per second (below the per-workspace
    /// limits of the list and get endpoints), 30 s per attempt, 8 attempts, backoff up to 30 s.
    pub fn new(host: impl Into<String>, auth: Auth) -> Self {
        Self {
            host: host.into().trim_end_matches('/').to_string(),
            auth,
            requests_per_second: 20.0,
            timeout: Duration::from_secs(30),
            max_attempts: 8,
            max_backoff: Duration::from_secs(30),
            token_path: "/oidc/v1/token".into(),
        }
    }

    /// The same credentials for the account API of `account_id` at `accounts_host`
    /// (`https://accounts.cloud.databricks.com`).
    pub fn for_account(&self, accounts_host: &str, account_id: &str) -> Self {
        Self {
            host: accounts_host.trim_end_matches('/').to_string(),
            token_path: format!("/oidc/accounts/{account_id}/v1/token"),
            ..self.clone()
        }
    }

    /// From the standard variables: `DATABRICKS_HOST`, then `DATABRICKS_TOKEN`, or
    /// `DATABRICKS_CLIENT_ID` and `DATABRICKS_CLIENT_SECRET`; `LAKEDR_DATABRICKS_RPS` sets the
    /// pace.
    pub fn from_env() -> Result<Self, Error> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let host = var("DATABRICKS_HOST")
            .ok_or_else(|| Error::Config("DATABRICKS_HOST is not set".into()))?;
        let mut cfg = Self::new(host, Self::auth_from(&var)?);
        if let Some(rps) = var("LAKEDR_DATABRICKS_RPS") {
            cfg.requests_per_second = rps.parse().map_err(|_| {
                Error::Config(format!("LAKEDR_DATABRICKS_RPS: `{rps}` is not a number"))
            })?;
        }
        Ok(cfg)
    }

    /// From a JSON secret (as kept in AWS Secrets Manager): `{"host": ..., "token": ...}` or
    /// `{"host": ..., "client_id": ..., "client_secret": ...}`.
    pub fn from_secret_json(text: &str) -> Result<Self, Error> {
        let v: Value = serde_json::from_str(text)
            .map_err(|e| Error::Config(format!("the credentials secret is not JSON: {e}")))?;
        let get = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        let host = get("host").ok_or_else(|| Error::Config("the secret has no `host`".into()))?;
        Ok(Self::new(
            host,
            Self::auth_from(&|k: &str| {
                get(match k {
                    "DATABRICKS_TOKEN" => "token",
                    "DATABRICKS_CLIENT_ID" => "client_id",
                    _ => "client_secret",
                })
            })?,
        ))
    }

    fn auth_from(var: &dyn Fn(&str) -> Option<String>) -> Result<Auth, Error> {
        if let Some(t) = var("DATABRICKS_TOKEN") {
            return Ok(Auth::Token(t));
        }
        match (var("DATABRICKS_CLIENT_ID"), var("DATABRICKS_CLIENT_SECRET")) {
            (Some(client_id), Some(client_secret)) => Ok(Auth::OAuth {
                client_id,
                client_secret,
            }),
            _ => Err(Error::Config(
                "no credentials: set a token, or a client id and client secret".into(),
            )),
        }
    }
}

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// The client. Build it once and share it: it holds the connection pool, the token cache and
/// the pace of every request.
pub struct DatabricksClient {
    cfg: ClientConfig,
    http: Client<Https, Full<Bytes>>,
    /// Cached OAuth token and when to stop using it.
    token: Mutex<Option<(String, Instant)>>,
    /// Earliest start of the next request (pacing and `Retry-After`).
    next_slot: Mutex<Instant>,
    calls: AtomicU64,
}

impl std::fmt::Debug for DatabricksClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabricksClient")
            .field("host", &self.cfg.host)
            .field("auth", &self.cfg.auth)
            .finish()
    }
}

impl DatabricksClient {
    pub fn new(cfg: ClientConfig) -> Result<Self, Error> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::ring::default_provider())
            .map_err(|e| Error::Config(format!("TLS roots: {e}")))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self {
            http: Client::builder(TokioExecutor::new()).build(https),
            cfg,
            token: Mutex::new(None),
            next_slot: Mutex::new(Instant::now()),
            calls: AtomicU64::new(0),
        })
    }

    pub fn host(&self) -> &str {
        &self.cfg.host
    }

    /// HTTP requests sent so far (retries and token requests included).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// `GET path?query` as JSON.
    pub async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, Error> {
        let mut endpoint = path.to_string();
        for (i, (k, v)) in query.iter().enumerate() {
            endpoint.push(if i == 0 { '?' } else { '&' });
            endpoint.push_str(k);
            endpoint.push('=');
            endpoint.extend(utf8_percent_encode(v, QUERY));
        }
        let url = format!("{}{endpoint}", self.cfg.host);
        let uri: Uri = url
            .parse()
            .map_err(|e| Error::Config(format!("{url}: {e}")))?;
        let mut refreshed = false;
        loop {
            let bearer = self.bearer().await?;
            let mut headers = HeaderMap::new();
            headers.insert(
                header::AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {bearer}"))
                    .map_err(|_| Error::Config("the token is not a valid header value".into()))?,
            );
            headers.insert(
                header::USER_AGENT,
                HeaderValue::from_static(concat!("lakedr/", env!("CARGO_PKG_VERSION"))),
            );
            let (status, body) = self
                .send_retrying(Method::GET, &uri, &headers, Bytes::new())
                .await
                .map_err(|last| Error::Exhausted {
                    endpoint: endpoint.clone(),
                    attempts: self.cfg.max_attempts.max(1),
                    last,
                })?;
            if status.is_success() {
                return serde_json::from_slice(&body).map_err(|e| Error::NotJson {
                    endpoint,
                    detail: e.to_string(),
                });
            }
            if (status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN)
                && matches!(self.cfg.auth, Auth::OAuth { .. })
                && !refreshed
            {
                // An expired or revoked token: fetch a new one once, and try again at once.
                // Only the token this request used is dropped: a concurrent request may have
                // replaced it already.
                let mut cached = self.token.lock().await;
                if cached.as_ref().is_some_and(|(t, _)| *t == bearer) {
                    *cached = None;
                }
                refreshed = true;
                continue;
            }
            let (code, message) = error_fields(&body);
            return Err(Error::Status {
                endpoint,
                status: status.as_u16(),
                code,
                message,
            });
        }
    }

    /// Sends a request, paced, until the answer is neither a 429, a 5xx nor a transport
    /// failure, backing off between attempts; `Err` holds the last failure once the attempts
    /// are spent. The one retry loop of the client: API calls and token requests both go here.
    async fn send_retrying(
        &self,
        method: Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Result<(StatusCode, Bytes), String> {
        let mut last = String::new();
        for attempt in 1..=self.cfg.max_attempts.max(1) {
            self.pace().await;
            let mut req = Request::new(Full::new(body.clone()));
            *req.method_mut() = method.clone();
            *req.uri_mut() = uri.clone();
            *req.headers_mut() = headers.clone();
            match self.send(req).await {
                Err(e) => {
                    last = e;
                    self.backoff(attempt, None).await;
                }
                Ok((status, retry_after, body))
                    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() =>
                {
                    let (code, message) = error_fields(&body);
                    let code = if code.is_empty() {
                        code
                    } else {
                        format!(" {code}")
                    };
                    last = format!("HTTP {}{code}: {message}", status.as_u16());
                    tracing::debug!(%uri, %last, ?retry_after, "retrying");
                    self.backoff(attempt, retry_after).await;
                }
                Ok((status, _, body)) => return Ok((status, body)),
            }
        }
        Err(last)
    }

    /// One attempt: status, `Retry-After` and the whole body, within the attempt timeout.
    async fn send(
        &self,
        req: Request<Full<Bytes>>,
    ) -> Result<(StatusCode, Option<Duration>, Bytes), String> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let attempt = async {
            let resp = self
                .http
                .request(req)
                .await
                .map_err(|e| lakedr::error::chain(&e))?;
            let status = resp.status();
            let retry_after = resp
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let body = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| lakedr::error::chain(&e))?
                .to_bytes();
            Ok((status, retry_after, body))
        };
        tokio::time::timeout(self.cfg.timeout, attempt)
            .await
            .map_err(|_| format!("no answer within {:?}", self.cfg.timeout))?
    }

    /// Waits for this request's slot in the pace.
    async fn pace(&self) {
        let interval = if self.cfg.requests_per_second > 0.0 {
            Duration::from_secs_f64(1.0 / self.cfg.requests_per_second)
        } else {
            Duration::ZERO
        };
        let at = {
            let mut next = self.next_slot.lock().await;
            let at = (*next).max(Instant::now());
            *next = at + interval;
            at
        };
        tokio::time::sleep_until(at.into()).await;
    }

    /// Sleeps before another attempt: the server's `Retry-After` (for every request of this
    /// client: the limit is the workspace's), else exponential backoff with full jitter.
    async fn backoff(&self, attempt: u32, retry_after: Option<Duration>) {
        let wait = match retry_after {
            Some(d) => {
                let d = d.min(Duration::from_secs(300));
                let mut next = self.next_slot.lock().await;
                *next = (*next).max(Instant::now() + d);
                d
            }
            None => {
                let cap = Duration::from_millis(250)
                    .saturating_mul(1 << attempt.min(16))
                    .min(self.cfg.max_backoff);
                cap.mul_f64(rand::rng().random_range(0.5..=1.0))
            }
        };
        tokio::time::sleep(wait).await;
    }

    /// The bearer token: the configured one, or a cached OAuth token (fetched when missing or
    /// about to expire).
    async fn bearer(&self) -> Result<String, Error> {
        let (client_id, client_secret) = match &self.cfg.auth {
            Auth::Token(t) => return Ok(t.clone()),
            Auth::OAuth {
                client_id,
                client_secret,
            } => (client_id, client_secret),
        };
        let mut cached = self.token.lock().await;
        if let Some((t, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(t.clone());
        }
        let endpoint = format!("{}{}", self.cfg.host, self.cfg.token_path);
        let token_error = |detail: String| Error::Token {
            endpoint: endpoint.clone(),
            detail,
        };
        let uri: Uri = endpoint.parse().map_err(|e| token_error(format!("{e}")))?;
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{client_id}:{client_secret}"));
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {basic}"))
                .map_err(|_| token_error("the client id is not a valid header value".into()))?,
        );
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        let (status, body) = self
            .send_retrying(
                Method::POST,
                &uri,
                &headers,
                Bytes::from_static(b"grant_type=client_credentials&scope=all-apis"),
            )
            .await
            .map_err(|last| token_error(format!("gave up: {last}")))?;
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let (Some(token), true) = (v["access_token"].as_str(), status.is_success()) else {
            return Err(token_error(format!(
                "HTTP {}: {}",
                status.as_u16(),
                error_fields(&body).1
            )));
        };
        let ttl = Duration::from_secs(v["expires_in"].as_u64().unwrap_or(3600));
        // Renew a minute early (or at half the lifetime, for short-lived tokens).
        let until = Instant::now() + ttl.saturating_sub(Duration::from_secs(60)).max(ttl / 2);
        *cached = Some((token.to_string(), until));
        Ok(token.to_string())
    }
}

/// `error_code` and `message` of a Databricks error body (or the start of the body).
fn error_fields(body: &[u8]) -> (String, String) {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => (
            v["error_code"]
                .as_str()
                .or(v["error"].as_str())
                .unwrap_or_default()
                .to_string(),
            v["message"]
                .as_str()
                .or(v["error_description"].as_str())
                .or(v["detail"].as_str())
                .unwrap_or_default()
                .to_string(),
        ),
        Err(_) => (
            String::new(),
            // A proxy's HTML page, say: its start, on one line.
            String::from_utf8_lossy(&body[..body.len().min(200)])
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_print() {
        let a = Auth::OAuth {
            client_id: "id".into(),
            client_secret: "s3cr3t".into(),
        };
        assert!(!format!("{a:?}").contains("s3cr3t"));
        assert!(!format!("{:?}", Auth::Token("dapi123".into())).contains("dapi123"));
    }

    #[test]
    fn secret_json_names_what_is_missing() {
        let e = ClientConfig::from_secret_json(r#"{"token": "x"}"#).unwrap_err();
        assert!(e.to_string().contains("host"), "{e}");
        let e = ClientConfig::from_secret_json(r#"{"host": "h", "client_id": "x"}"#).unwrap_err();
        assert!(e.to_string().contains("client secret"), "{e}");
        let c = ClientConfig::from_secret_json(
            r#"{"host": "https://h/", "client_id": "a", "client_secret": "b"}"#,
        )
        .unwrap();
        assert_eq!(c.host, "https://h");
        assert!(matches!(c.auth, Auth::OAuth { .. }));
    }

    #[test]
    fn error_bodies_are_read() {
        assert_eq!(
            error_fields(br#"{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "gone"}"#),
            ("RESOURCE_DOES_NOT_EXIST".into(), "gone".into())
        );
        assert_eq!(error_fields(b"<html>").1, "<html>");
    }
}
