//! The independent reader: `tests/py/oracle.py` (deltalake) in a long-lived process.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{Value, json};

pub struct Oracle {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

/// The oracle's answer.
#[derive(Debug)]
pub struct Verdict {
    pub ok: bool,
    pub problems: Vec<String>,
    pub checked: Vec<u64>,
    pub unsupported: Option<String>,
}

impl Oracle {
    pub fn start() -> Oracle {
        let mut child = Command::new(crate::python())
            .arg(crate::repo_root().join("tests/py/oracle.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start oracle");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Oracle {
            child,
            stdin,
            stdout,
        }
    }

    /// The versions of `versions` at which the local table `source` can be read whole.
    pub fn readable(&mut self, source: &str, versions: &[u64]) -> Vec<u64> {
        let v = self.ask(&json!({"readable": source, "versions": versions}));
        v["readable"]
            .as_array()
            .unwrap_or_else(|| panic!("oracle answered {v}"))
            .iter()
            .filter_map(Value::as_u64)
            .collect()
    }

    fn ask(&mut self, req: &Value) -> Value {
        writeln!(self.stdin, "{req}").unwrap();
        self.stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("oracle answered {line:?}: {e}"))
    }

    /// Opens `dr` at each of `versions` and compares rows with `source` (a local path).
    pub fn check(
        &mut self,
        source: &str,
        dr: &str,
        versions: &[u64],
        expect_latest: Option<u64>,
        storage: &Value,
    ) -> Verdict {
        let req = json!({"source": source, "dr": dr, "versions": versions, "expect_latest": expect_latest, "storage": storage});
        let v = self.ask(&req);
        Verdict {
            ok: v["ok"].as_bool().unwrap_or(false),
            problems: v["problems"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|p| p.as_str().unwrap_or_default().to_string())
                        .collect()
                })
                .unwrap_or_default(),
            checked: v["checked"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_u64).collect())
                .unwrap_or_default(),
            unsupported: v["unsupported"].as_str().map(str::to_owned),
        }
    }
}

impl Drop for Oracle {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
