//! A real MLflow tracking server and model registry (`.tools/mlflow`, installed by
//! `scripts/setup.sh`) on a free loopback port, with its artifacts in moto's S3.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The MLflow virtualenv's bin directory (`LAKEDR_MLFLOW_VENV` overrides).
fn venv_bin() -> PathBuf {
    let venv = std::env::var_os("LAKEDR_MLFLOW_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::repo_root().join(".tools/mlflow"));
    let bin = venv.join("bin");
    assert!(
        bin.join("mlflow").exists(),
        "{} not found: run scripts/setup.sh",
        bin.join("mlflow").display()
    );
    bin
}

/// A running MLflow server whose default artifact root is `s3://<bucket>/mlflow` on `moto`;
/// killed on drop.
pub struct Mlflow {
    child: std::process::Child,
    _db: tempfile::TempDir,
    pub url: String,
    s3_endpoint: String,
}

impl Mlflow {
    pub fn start(moto: &crate::stack::Moto, bucket: &str) -> Mlflow {
        let db = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        use std::os::unix::process::CommandExt as _;
        let child = std::process::Command::new(venv_bin().join("mlflow"))
            .args(["server", "--host", "127.0.0.1", "--port", &port.to_string()])
            .arg("--backend-store-uri")
            .arg(format!("sqlite:///{}/mlflow.db", db.path().display()))
            .args(["--default-artifact-root", &format!("s3://{bucket}/mlflow")])
            .args(["--no-serve-artifacts", "--workers", "1"])
            .envs(s3_env(&moto.endpoint))
            // No background job runner: the registry is all the tests use.
            .env("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
            .current_dir(db.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            // `mlflow server` starts uvicorn as a child of its own: a process group of their
            // own lets drop stop both.
            .process_group(0)
            .spawn()
            .expect("start mlflow server");
        let server = Mlflow {
            child,
            _db: db,
            url: format!("http://127.0.0.1:{port}"),
            s3_endpoint: moto.endpoint.clone(),
        };
        // The port opens before the registry's database is migrated: wait for `/health`.
        let start = Instant::now();
        while !server.healthy() {
            assert!(
                start.elapsed() < Duration::from_secs(300),
                "mlflow server did not become healthy on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    fn healthy(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut s) = std::net::TcpStream::connect(self.url.trim_start_matches("http://")) else {
            return false;
        };
        // A server still starting may accept and not answer: ask again rather than hang.
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = s.set_write_timeout(Some(Duration::from_secs(5)));
        let _ = write!(
            s,
            "GET /health HTTP/1.1\r\nHost: mlflow\r\nConnection: close\r\n\r\n"
        );
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out.starts_with("HTTP/1.1 200")
    }

    /// Runs `tests/py/mlflow_client.py` with the MLflow client against this server (its run
    /// artifacts go to S3 on moto): `actions` as that script takes them; its answers.
    pub fn client(&self, actions: &Value) -> Vec<Value> {
        let out = std::process::Command::new(venv_bin().join("python"))
            .arg(crate::repo_root().join("tests/py/mlflow_client.py"))
            .arg(&self.url)
            .arg(actions.to_string())
            .envs(s3_env(&self.s3_endpoint))
            .output()
            .expect("run mlflow_client.py");
        assert!(
            out.status.success(),
            "mlflow_client.py {actions}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

fn s3_env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("MLFLOW_S3_ENDPOINT_URL", endpoint.to_string()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_DEFAULT_REGION", "us-east-1".into()),
        ("MLFLOW_TRACKING_INSECURE_TLS", "true".into()),
    ]
}

impl Drop for Mlflow {
    fn drop(&mut self) {
        // The whole group (the launcher and its uvicorn), then the launcher reaped.
        let _ = std::process::Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
