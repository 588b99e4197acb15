//! Test support: the local AWS stack (moto server on loopback), an independent Delta reader
//! (deltalake, in a long-lived Python process), fault injection and a seeded event shuffler.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_debug_implementations
)]

pub mod fake_workspace;
pub mod faults;
pub mod lambda;
pub mod mlflow;
pub mod oracle;
pub mod rig;
pub mod spark;
pub mod stack;
pub mod write_order;

use std::path::PathBuf;

/// The workspace root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The Python interpreter with moto, deltalake and pyarrow (`LAKEDR_PYTHON`, else `.venv`).
pub fn python() -> PathBuf {
    let p = std::env::var_os("LAKEDR_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".venv/bin/python"));
    assert!(
        p.exists(),
        "{} not found: run `bash .ci/run` once (it creates .venv) or set LAKEDR_PYTHON",
        p.display()
    );
    p
}

/// `shared/fixtures`, read in place (`LAKEDR_FIXTURES` overrides).
pub fn fixtures() -> PathBuf {
    let p = std::env::var_os("LAKEDR_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared/fixtures"));
    assert!(p.exists(), "fixtures not found at {}", p.display());
    p
}

/// Tables written by deltalake for this test run, once per process.
pub fn generated_tables() -> &'static PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("lakedr-tables-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let out = std::process::Command::new(python())
            .arg(repo_root().join("tests/py/write_tables.py"))
            .arg(&dir)
            .output()
            .expect("run write_tables.py");
        assert!(
            out.status.success(),
            "write_tables.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
}

/// The Databricks Terraform provider's generated bindings (`@cdktf/provider-databricks`,
/// unpacked by `scripts/setup.sh`; `LAKEDR_CDKTF` overrides).
pub fn terraform_schema_package() -> PathBuf {
    let p = std::env::var_os("LAKEDR_CDKTF")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".tools/cdktf/package"));
    assert!(
        p.join("package.json").exists(),
        "{} not found: run scripts/setup.sh",
        p.display()
    );
    p
}

/// A binary of the workspace (`target/<profile>/<name>`, built by the test command before the
/// tests run); built here if it is missing.
pub fn workspace_binary(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"));
    let path = target.join("debug").join(name);
    if !path.exists() {
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "--quiet", "--bin", name])
            .current_dir(repo_root())
            .status()
            .expect("run cargo build");
        assert!(status.success(), "cargo build --bin {name} failed");
    }
    path
}

/// One HTTP/1.1 request on loopback with a JSON body (or none); the status and the JSON answer.
pub fn http_json(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
) -> (u16, serde_json::Value) {
    use std::io::{Read, Write};
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: loopback\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, rest) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let json =
        serde_json::from_str(rest.trim()).unwrap_or(serde_json::Value::String(rest.to_string()));
    (status, json)
}

/// A server of `tests/py` (moto, the fake workspace) on a free loopback port; killed on drop.
pub struct PyServer {
    child: std::process::Child,
    pub port: u16,
}

impl PyServer {
    /// Starts `tests/py/<script>` with the arguments `args(port)` and waits until the port
    /// answers. Its standard error goes to the test's output unless `quiet` (moto logs every
    /// request there).
    pub fn start(
        script: &str,
        quiet: bool,
        args: impl FnOnce(u16) -> Vec<std::ffi::OsString>,
    ) -> PyServer {
        use std::time::{Duration, Instant};
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new(python())
            .arg(repo_root().join("tests/py").join(script))
            .args(args(port))
            .stdout(std::process::Stdio::null())
            .stderr(if quiet {
                std::process::Stdio::null()
            } else {
                std::process::Stdio::inherit()
            })
            .spawn()
            .unwrap_or_else(|e| panic!("start {script}: {e}"));
        let server = PyServer { child, port };
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(300),
                "{script} did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for PyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
