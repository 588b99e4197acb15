//! Real Structured Streaming queries: `tests/py/streams.py` (pyspark, local mode) in a
//! long-lived process, one SparkSession for the test that starts it.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::Value;

/// The interpreter of the pyspark virtualenv (`LAKEDR_SPARK_PYTHON`, else `.tools/spark`).
pub fn python() -> PathBuf {
    let p = std::env::var_os("LAKEDR_SPARK_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::repo_root().join(".tools/spark/bin/python"));
    assert!(
        p.exists(),
        "{} not found: run scripts/setup.sh (it installs pyspark into .tools/spark)",
        p.display()
    );
    p
}

pub struct Spark {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Spark {
    /// Starts the driver and its SparkSession.
    pub fn start() -> Spark {
        let mut child = Command::new(python())
            .arg(crate::repo_root().join("tests/py/streams.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start streams.py");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut s = Spark {
            child,
            stdin,
            stdout,
        };
        s.ok(&serde_json::json!({"op": "start"}));
        s
    }

    /// One request; the answer (whatever its `ok`).
    pub fn ask(&mut self, req: &Value) -> Value {
        writeln!(self.stdin, "{req}").unwrap();
        self.stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("streams.py answered {line:?}: {e}"))
    }

    /// One request that must succeed.
    pub fn ok(&mut self, req: &Value) -> Value {
        let v = self.ask(req);
        assert_eq!(v["ok"], true, "{req}: {v}");
        v
    }
}

impl Drop for Spark {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every file under `dir` (hidden ones included), relative, in the order they were written
/// (modification time, then name): the order the query's writers made them.
pub fn write_order(dir: &std::path::Path) -> Vec<String> {
    fn walk(
        root: &std::path::Path,
        dir: &std::path::Path,
        out: &mut Vec<(std::time::SystemTime, String)>,
    ) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                walk(root, &p, out);
            } else {
                let t = e.metadata().unwrap().modified().unwrap();
                out.push((
                    t,
                    p.strip_prefix(root).unwrap().to_string_lossy().into_owned(),
                ));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out.into_iter().map(|(_, p)| p).collect()
}
