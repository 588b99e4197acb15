//! Running the built `lakedr` binary in the CLI tests.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// `lakedr --config CONFIG --json ARGS...` with `env` set; (exit success, stdout as JSON).
pub fn lakedr(config: &Path, env: &[(&str, &str)], args: &[&str]) -> (bool, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_lakedr"))
        .envs(env.iter().copied())
        .arg("--config")
        .arg(config)
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: not JSON ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), json)
}

/// `lakedr --config CONFIG ARGS...` (text output) with `env` set; (exit code, stdout, stderr).
pub fn lakedr_text(config: &Path, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lakedr"))
        .envs(env.iter().copied())
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Text meant for people carries no Rust debug forms.
pub fn assert_readable(text: &str) {
    for form in ["Some(", "None", "Error {", "Config {", "\\\"", "[\""] {
        assert!(!text.contains(form), "`{form}` in:\n{text}");
    }
}
