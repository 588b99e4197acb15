//! The README's first command: `lakedr --config examples/lakedr.toml sync` on the bundled
//! lakehouse, run as the built binary against a copy of that configuration whose DR directory
//! is a scratch one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// `examples/lakedr.toml` with absolute paths: the bundled source, a scratch DR directory.
fn config(dr: &Path) -> PathBuf {
    let text = std::fs::read_to_string(example().join("lakedr.toml")).unwrap();
    let source = example().join("lakehouse");
    let text = text
        .replace(
            "source = \"lakehouse\"",
            &format!("source = {:?}", source.display().to_string()),
        )
        .replace(
            "destination = \"dr\"",
            &format!("destination = {:?}", dr.join("dr").display().to_string()),
        );
    assert!(
        text.contains(&source.display().to_string()),
        "examples/lakedr.toml changed shape"
    );
    let path = dr.join("lakedr.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Local directories only.
fn lakedr(config: &Path, args: &[&str]) -> (bool, Value) {
    common::lakedr(config, &[], args)
}

#[test]
fn sync_replicates_the_bundled_lakehouse_then_verifies_and_is_idempotent() {
    let scratch = tempfile::tempdir().unwrap();
    let config = config(scratch.path());

    let (ok, first) = lakedr(&config, &["sync"]);
    assert!(ok, "{first:#}");
    let tables = first["sync"]["tables"].as_array().unwrap();
    assert!(!tables.is_empty(), "no Delta table found: {first:#}");
    for t in tables {
        assert!(t["source_version"].is_u64(), "{t}");
        assert_eq!(t["dr_version"], t["source_version"], "{t}");
    }
    assert!(first["sync"]["objects_copied"].as_u64().unwrap() > 0);
    assert!(first["sync"]["errors"].as_array().unwrap().is_empty());
    let verdicts = first["verify"].as_array().unwrap();
    assert!(verdicts.len() >= tables.len(), "{verdicts:#?}");
    assert!(
        verdicts
            .iter()
            .all(|v| v["problems"].as_array().unwrap().is_empty() && v["lag_versions"] == 0),
        "{verdicts:#?}"
    );

    // A second sync finds everything in place.
    let (ok, again) = lakedr(&config, &["sync"]);
    assert!(ok, "{again:#}");
    assert_eq!(again["sync"]["objects_copied"], 0, "{again:#}");
    assert!(
        again["sync"]["tables"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["commits_published"] == 0),
        "{again:#}"
    );

    // A DR commit that no longer matches the source is a violation and a non-zero exit.
    let commit = walk(&scratch.path().join("dr"))
        .into_iter()
        .find(|p| {
            p.to_string_lossy()
                .ends_with("_delta_log/00000000000000000000.json")
        })
        .expect("a table with a commit 0");
    std::fs::write(&commit, b"{\"commitInfo\":{}}\n").unwrap();
    let (ok, verdicts) = lakedr(&config, &["verify"]);
    assert!(!ok, "verify passed with {} rewritten", commit.display());
    assert!(
        verdicts.as_array().unwrap().iter().any(|v| v["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p.as_str().unwrap().contains("differs"))),
        "{verdicts:#}"
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn text_output_reads_as_text_and_says_when_a_table_is_stuck() {
    // The bundled lakehouse, in text.
    let scratch = tempfile::tempdir().unwrap();
    let config = config(scratch.path());
    let (code, out, err) = common::lakedr_text(&config, &[], &["sync"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.starts_with("sync: ") && out.contains("DR version none -> "),
        "{out}"
    );
    assert!(out.contains("verify: ") && out.contains("  OK "), "{out}");
    common::assert_readable(&out);

    // A table whose data files are all gone at the source (a log-only fixture): nothing can be
    // published whole, and verify says so instead of OK.
    let stuck = scratch.path().join("stuck.toml");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/delta/rs-checkpoints_vacuumed");
    std::fs::write(
        &stuck,
        format!(
            "[[rule]]\nname = \"t\"\nsource = {:?}\ndestination = {:?}\n",
            fixture.display().to_string(),
            scratch.path().join("dr-stuck").display().to_string()
        ),
    )
    .unwrap();
    let (code, out, _) = common::lakedr_text(&stuck, &[], &["sync"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("ERROR ") && out.contains("no version from 12 on"),
        "{out}"
    );
    let (code, out, _) = common::lakedr_text(&stuck, &[], &["verify"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("  STUCK table t:") && out.contains("DR version none"),
        "{out}"
    );
    assert!(out.contains("cannot advance: "), "{out}");
    common::assert_readable(&out);

    // A configuration error is one line naming the field.
    let bad = scratch.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[rule]]\nname = \"t\"\nsource = \"s3://a/x\"\ndestination = \"s3://b/\"\n",
    )
    .unwrap();
    let (code, out, err) = common::lakedr_text(&bad, &[], &["verify"]);
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("rule[0].source"), "{err}");

    // A TOML syntax error: one line, at its line and column.
    std::fs::write(&bad, "[[rule]]\nname = \"t\"\nsource = \n").unwrap();
    let (code, _, err) = common::lakedr_text(&bad, &[], &["verify"]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("line 3, column "), "{err}");

    // A missing file: the cause said once (the error quotes its source).
    let (code, _, err) = common::lakedr_text(&scratch.path().join("absent.toml"), &[], &["verify"]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.matches("No such file").count(), 1, "{err}");
}
