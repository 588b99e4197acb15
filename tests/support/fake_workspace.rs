//! The fake Databricks workspace (`tests/py/fake_databricks.py`) on a free loopback port.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The personal access token, OAuth client and planted secret the fake knows.
pub const PAT: &str = "dapi-test-token";
pub const CLIENT_ID: &str = "sp-client";
pub const CLIENT_SECRET: &str = "sp-secret";
pub const PLANTED_SECRET: &str = "PLANTED-SECRET-VALUE-7f3e";

/// A running fake workspace; killed on drop.
pub struct FakeWorkspace {
    child: Child,
    pub url: String,
    port: u16,
}

impl FakeWorkspace {
    /// Starts the fake with `extra` arguments (`--jobs N`, ...) and waits until it answers.
    pub fn start(extra: &[&str]) -> FakeWorkspace {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(crate::python())
            .arg(crate::repo_root().join("tests/py/fake_databricks.py"))
            .args(["--port", &port.to_string(), "--fixtures"])
            .arg(crate::fixtures().join("databricks-api/exporter-test-data"))
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the fake workspace");
        let fake = FakeWorkspace {
            child,
            url: format!("http://127.0.0.1:{port}"),
            port,
        };
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "the fake workspace did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        fake
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

impl Drop for FakeWorkspace {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
