//! The fake Databricks workspace (`tests/py/fake_databricks.py`) on a free loopback port.

use serde_json::Value;

/// The personal access token, OAuth client and planted secret the fake knows.
pub const PAT: &str = "dapi-test-token";
pub const CLIENT_ID: &str = "sp-client";
pub const CLIENT_SECRET: &str = "sp-secret";
pub const PLANTED_SECRET: &str = "PLANTED-SECRET-VALUE-7f3e";

/// A running fake workspace; killed on drop.
pub struct FakeWorkspace {
    _server: crate::PyServer,
    pub url: String,
    port: u16,
}

impl FakeWorkspace {
    /// Starts the fake with `extra` arguments (`--jobs N`, ...) and waits until it answers.
    pub fn start(extra: &[&str]) -> FakeWorkspace {
        let server = crate::PyServer::start("fake_databricks.py", false, |port| {
            let mut args: Vec<std::ffi::OsString> = vec![
                "--port".into(),
                port.to_string().into(),
                "--fixtures".into(),
            ];
            args.push(
                crate::fixtures()
                    .join("databricks-api/exporter-test-data")
                    .into(),
            );
            args.extend(extra.iter().map(Into::into));
            args
        });
        FakeWorkspace {
            url: server.url(),
            port: server.port,
            _server: server,
        }
    }

    /// A control call (`/_fake/...`): method, path, JSON body; the JSON answer.
    pub fn control(&self, method: &str, path: &str, body: &Value) -> Value {
        use std::io::{Read, Write};
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: fake\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        let (head, json) = out.split_once("\r\n\r\n").unwrap();
        let json = json.trim();
        assert!(head.starts_with("HTTP/1.1 200"), "{method} {path}: {head}");
        serde_json::from_str(json).unwrap()
    }

    pub fn stats(&self) -> Value {
        self.control("GET", "/_fake/stats", &Value::Null)
    }
}
