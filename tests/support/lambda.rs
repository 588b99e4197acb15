//! A function binary run as Lambda runs it: the Runtime API on loopback
//! (`tests/py/lambda_runtime_api.py`) and the binary polling it, with the environment Lambda and
//! the SAM template give it.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A running function; both processes are stopped on drop.
pub struct Function {
    api: crate::PyServer,
    child: Child,
    pub name: String,
}

/// What an invocation came to.
#[derive(Debug)]
pub struct Invocation {
    /// `response`, `error` or `init_error`.
    pub outcome: String,
    pub body: Value,
}

/// The variables Lambda itself sets for a function.
fn lambda_env(name: &str, api_port: u16) -> Vec<(String, String)> {
    [
        ("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{api_port}")),
        ("AWS_LAMBDA_FUNCTION_NAME", name.to_string()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512".to_string()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_string()),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "test".to_string()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

impl Function {
    /// Starts the Runtime API and the binary `name` with `env`; waits until it polls for work.
    pub fn start(name: &str, env: &[(String, String)]) -> Function {
        let api = crate::PyServer::start("lambda_runtime_api.py", true, |port| {
            ["--port", &port.to_string()].map(Into::into).to_vec()
        });
        let child = Command::new(crate::workspace_binary(name))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(lambda_env(name, api.port))
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        let f = Function {
            api,
            child,
            name: name.to_string(),
        };
        let start = Instant::now();
        loop {
            let (_, state) = crate::http_json(f.api.port, "GET", "/_test/state", None);
            if state["polled"] == true {
                return f;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{name} never polled the Runtime API: {state}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// One invocation with `event`, as Lambda would deliver it; waits for its outcome.
    pub fn invoke(&self, event: &Value) -> Invocation {
        let (status, v) = crate::http_json(self.api.port, "POST", "/_test/invoke", Some(event));
        assert_eq!(status, 200, "{}: {v}", self.name);
        Invocation {
            outcome: v["outcome"].as_str().unwrap_or_default().to_string(),
            body: v["body"].clone(),
        }
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs binary `name` as Lambda would start it, with `env`, when it must fail to start: its
/// exit status and what it logged (standard output, where Lambda functions log).
pub fn start_failure(name: &str, env: &[(String, String)]) -> (Option<i32>, String) {
    let api = crate::PyServer::start("lambda_runtime_api.py", true, |port| {
        ["--port", &port.to_string()].map(Into::into).to_vec()
    });
    let out = Command::new(crate::workspace_binary(name))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(lambda_env(name, api.port))
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    drop(api);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}
