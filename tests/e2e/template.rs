//! The deployment's least privilege: the SAM template, resolved with the parameters
//! `lakedr deploy-parameters` derives from a configuration (`tests/py/cfn_policies.py`
//! evaluates its intrinsic functions), grants every function exactly the rules' buckets and
//! prefixes: reads under the sources, writes under the destinations, deletes only under the
//! destinations of rules that mirror deletes, no `*` resource.

use std::path::Path;

use lakedr::config::{Config, DeletePolicy};
use serde_json::{Value, json};

/// `lakedr deploy-parameters` on a configuration file, plus `extra` parameters.
fn parameters(config: &Path, extra: &Value) -> Value {
    let out = std::process::Command::new(lakedr_tests::workspace_binary("lakedr"))
        .arg("--config")
        .arg(config)
        .arg("deploy-parameters")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut p: Value = serde_json::from_slice(&out.stdout).unwrap();
    for (k, v) in extra.as_object().unwrap() {
        p[k] = v.clone();
    }
    p
}

/// The template's statements and event patterns for `params`.
fn resolve(params: &Value) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("params.json");
    std::fs::write(&file, params.to_string()).unwrap();
    let out = std::process::Command::new(lakedr_tests::python())
        .arg(lakedr_tests::repo_root().join("tests/py/cfn_policies.py"))
        .arg(lakedr_tests::repo_root().join("infra/template.yaml"))
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `(bucket, key prefix)` of an object ARN pattern `arn:aws:s3:::bucket/prefix*`.
fn object_pattern(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:aws:s3:::")?;
    let (bucket, key) = rest.split_once('/')?;
    Some((bucket, key.strip_suffix('*')?))
}

fn within(arn: &str, allowed: &[(String, String)]) -> bool {
    object_pattern(arn).is_some_and(|(b, k)| {
        !b.contains('*')
            && !k.contains('*')
            && allowed
                .iter()
                .any(|(ab, ak)| ab == b && k.starts_with(ak.as_str()))
    })
}

fn check(config_path: &Path, extra: Value) {
    let config = Config::from_file(config_path).unwrap();
    let params = parameters(config_path, &extra);
    let resolved = resolve(&params);
    let dr = config.rules[0].destination.bucket.clone();
    let control = (dr.clone(), "control-plane/".to_string());
    let sources: Vec<(String, String)> = config
        .rules
        .iter()
        .map(|r| (r.source.bucket.clone(), r.source.key.clone()))
        .collect();
    let destinations: Vec<(String, String)> = config
        .rules
        .iter()
        .map(|r| (r.destination.bucket.clone(), r.destination.key.clone()))
        .collect();
    let mirrored: Vec<(String, String)> = config
        .rules
        .iter()
        .filter(|r| r.delete_policy == DeletePolicy::MirrorNonTable)
        .map(|r| (r.destination.bucket.clone(), r.destination.key.clone()))
        .collect();
    let audit: Vec<(String, String)> = extra["AuditLogBucketName"]
        .as_str()
        .map(|b| vec![(b.to_string(), String::new())])
        .unwrap_or_default();
    let reports = vec![(dr.clone(), "lakedr-batch-reports/".to_string())];
    let mut buckets: Vec<String> = sources.iter().map(|(b, _)| b.clone()).collect();
    buckets.push(dr.clone());

    let mut deletes = Vec::new();
    for s in resolved["statements"].as_array().unwrap() {
        let what = format!("{} {}", s["resource"], s["sid"]);
        let arns: Vec<&str> = s["resource_arns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert!(!arns.is_empty(), "{what}: no resource");
        for arn in &arns {
            assert!(*arn != "*" && !arn.ends_with(":*"), "{what}: `{arn}`");
        }
        for action in s["action"].as_array().unwrap() {
            let action = action.as_str().unwrap();
            assert!(!action.ends_with(":*"), "{what}: {action}");
            let Some(op) = action.strip_prefix("s3:") else {
                continue;
            };
            for arn in &arns {
                let ok = match op {
                    "ListBucket" => arn
                        .strip_prefix("arn:aws:s3:::")
                        .is_some_and(|b| buckets.iter().any(|x| x == b)),
                    "GetObject"
                    | "GetObjectVersion"
                    | "GetObjectTagging"
                    | "GetObjectVersionTagging" => {
                        within(arn, &sources)
                            || within(arn, &destinations)
                            || within(arn, std::slice::from_ref(&control))
                            || within(arn, &audit)
                    }
                    "PutObject" | "PutObjectTagging" | "AbortMultipartUpload" => {
                        within(arn, &destinations)
                            || within(arn, std::slice::from_ref(&control))
                            || within(arn, &reports)
                    }
                    "DeleteObject" => {
                        deletes.push(arn.to_string());
                        within(arn, &mirrored)
                    }
                    other => panic!("{what}: unexpected action s3:{other}"),
                };
                assert!(ok, "{what}: s3:{op} on `{arn}` is outside the rules");
            }
        }
    }
    // Deletes exactly where a rule mirrors them.
    let mut want: Vec<String> = mirrored
        .iter()
        .map(|(b, k)| format!("arn:aws:s3:::{b}/{k}*"))
        .collect();
    want.sort();
    deletes.sort();
    assert_eq!(deletes, want, "s3:DeleteObject");
    // The object events of exactly the rules' source buckets reach the replicator.
    let mut names: Vec<String> = resolved["event_patterns"]["ObjectEventsRule"]["detail"]["bucket"]
        ["name"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    names.sort();
    let mut expected: Vec<String> = sources.iter().map(|(b, _)| b.clone()).collect();
    expected.sort();
    expected.dedup();
    assert_eq!(names, expected);
    // Source keys are granted decrypt only when given, and only those.
    let kms: Vec<&Value> = resolved["statements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["sid"] == "SourceKeys")
        .collect();
    match extra["SourceKmsKeyArns"].as_str() {
        Some(keys) => {
            for s in &kms {
                assert_eq!(s["action"], json!(["kms:Decrypt"]));
                assert_eq!(
                    s["resource_arns"],
                    json!(keys.split(',').collect::<Vec<_>>())
                );
            }
            assert_eq!(kms.len(), 2, "replicator and ordered stage");
        }
        None => assert!(kms.is_empty()),
    }
}

#[test]
fn the_multi_bucket_deployment_grants_the_rules_and_nothing_more() {
    let example = lakedr_tests::repo_root().join("examples/multi-bucket.toml");
    // With the control plane and source keys...
    check(
        &example,
        json!({
            "DatabricksSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:dbx",
            "AuditLogBucketName": "acme-audit-logs",
            "DbfsRoot": "s3://acme-dbx-root-us-east-1/oregon-prod/2025341203/",
            "SourceKmsKeyArns": "arn:aws:kms:us-east-1:123456789012:key/1,arn:aws:kms:us-east-1:123456789012:key/2",
        }),
    );
    // ... and without, with no rule mirroring deletes: nothing may delete in DR.
    let dir = tempfile::tempdir().unwrap();
    let retain = dir.path().join("retain.toml");
    let text = std::fs::read_to_string(&example)
        .unwrap()
        .replace("delete_policy = \"mirror-non-table\"", "");
    std::fs::write(&retain, text).unwrap();
    check(&retain, json!({}));
}

#[test]
fn every_derived_parameter_is_declared_by_the_template() {
    // (`sam validate --lint` checks the template itself, beside the tests: scripts/test.sh.)
    let params = parameters(
        &lakedr_tests::repo_root().join("examples/multi-bucket.toml"),
        &json!({}),
    );
    let template =
        std::fs::read_to_string(lakedr_tests::repo_root().join("infra/template.yaml")).unwrap();
    for key in params.as_object().unwrap().keys() {
        assert!(
            template.contains(&format!("\n  {key}:\n    Type:")),
            "deploy-parameters prints {key}, which the template does not declare"
        );
    }
}
