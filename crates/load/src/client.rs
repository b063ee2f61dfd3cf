//! One simulated client: a keep-alive HTTP/1.1 connection (a reqwest client
//! that keeps at most one idle connection) and, once logged in, a session.

use crate::target::Target;
use anyhow::Context;
use serde_json::{json, Value};
use std::time::Duration;

/// The values of the `X-User-Id` / `X-Auth-Token` headers.
#[derive(Clone, Debug)]
pub struct Session {
    pub user_id: String,
    pub token: String,
}

/// A request that did not answer 2xx with a JSON body.
#[derive(Debug)]
pub enum CallError {
    /// Connect, send, read or timeout failure.
    Transport(String),
    /// A non-2xx status, with the start of the body.
    Status(u16, String),
    /// 2xx but not JSON.
    Body(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Transport(e) => write!(f, "transport error: {e}"),
            CallError::Status(status, body) => write!(f, "HTTP {status}: {body}"),
            CallError::Body(e) => write!(f, "2xx without a JSON body: {e}"),
        }
    }
}

impl std::error::Error for CallError {}

impl CallError {
    pub fn status(&self) -> Option<u16> {
        match self {
            CallError::Status(s, _) => Some(*s),
            _ => None,
        }
    }
}

/// At most this much of a failed response's body is kept for the report.
const BODY_SNIPPET: usize = 300;

pub struct Conn {
    http: reqwest::Client,
    base: String,
    pub session: Option<Session>,
}

impl Conn {
    pub fn new(target: &Target, timeout: Duration) -> anyhow::Result<Conn> {
        let mut builder = reqwest::Client::builder()
            // Never through a proxy from the environment, never follow a
            // redirect: traffic goes to the checked loopback address only.
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(1)
            .pool_idle_timeout(None)
            .tcp_nodelay(true)
            .connect_timeout(Duration::from_secs(5))
            .timeout(timeout);
        if let Some(addr) = target.pin {
            builder = builder.resolve(&target.host, addr);
        }
        let http = builder.build().context("cannot build the HTTP client")?;
        Ok(Conn { http, base: target.base.clone(), session: None })
    }

    pub async fn get(&self, path_and_query: &str) -> Result<Value, CallError> {
        self.get_sized(path_and_query).await.map(|(body, _)| body)
    }

    /// A GET and the size of its body in bytes.
    pub async fn get_sized(&self, path_and_query: &str) -> Result<(Value, usize), CallError> {
        self.send_sized(self.http.get(format!("{}{path_and_query}", self.base)), self.session.as_ref()).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, CallError> {
        self.post_as(path, body, self.session.as_ref()).await
    }

    pub async fn post_as(
        &self,
        path: &str,
        body: &Value,
        session: Option<&Session>,
    ) -> Result<Value, CallError> {
        self.send(self.http.post(format!("{}{path}", self.base)).json(body), session).await
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        session: Option<&Session>,
    ) -> Result<Value, CallError> {
        self.send_sized(request, session).await.map(|(body, _)| body)
    }

    async fn send_sized(
        &self,
        mut request: reqwest::RequestBuilder,
        session: Option<&Session>,
    ) -> Result<(Value, usize), CallError> {
        if let Some(s) = session {
            request = request.header("X-User-Id", &s.user_id).header("X-Auth-Token", &s.token);
        }
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(transport)?;
        if !status.is_success() {
            return Err(CallError::Status(status.as_u16(), snippet(&bytes)));
        }
        let body = serde_json::from_slice(&bytes)
            .map_err(|e| CallError::Body(format!("{e}: {}", snippet(&bytes))))?;
        Ok((body, bytes.len()))
    }

    /// `POST /api/v1/login` with a password; the new session.
    pub async fn login(&self, user: &str, password: &str) -> Result<Session, CallError> {
        let body = self.post_as("/api/v1/login", &json!({"user": user, "password": password}), None).await?;
        session_of(&body)
    }
}

pub fn session_of(login: &Value) -> Result<Session, CallError> {
    let field = |name: &str| {
        login["data"][name]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| CallError::Body(format!("login answer without data.{name}")))
    };
    Ok(Session { user_id: field("userId")?, token: field("authToken")? })
}

fn transport(e: reqwest::Error) -> CallError {
    // reqwest's Display is only the outermost layer; the cause is below.
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    CallError::Transport(text)
}

fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    match text.char_indices().nth(BODY_SNIPPET) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.into_owned(),
    }
}
