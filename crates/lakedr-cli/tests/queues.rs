//! The CLI as a worker outside Lambda, against real S3 and SQS (moto server): `run --until-idle`
//! drains the notifications of a table's upload through both stages, `verify` reports the DR
//! copy at the source's version, and `invoke` runs the replicator on one event file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use lakedr_tests::rig::{DR, PREFIX, Rig, TableCase, config_text, two_region_rules};
use lakedr_tests::write_order::write_order;
use serde_json::{Value, json};

/// The rig's configuration as a file the CLI reads.
fn config_file(rig: &Rig, dir: &Path) -> std::path::PathBuf {
    let text = format!(
        "{}\n[queues]\nevents_url = \"{}\"\nordered_url = \"{}\"\ndead_letter_url = \"{}\"\nordered_dead_letter_url = \"{}\"\n[s3]\nforce_path_style = true\n",
        config_text(""),
        rig.events_url,
        rig.ordered_url,
        rig.dlq_url,
        rig.ordered_dlq_url
    );
    let path = dir.join("lakedr.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs the CLI against the rig's moto server.
fn lakedr(rig: &Rig, config: &Path, args: &[&str]) -> (bool, Value) {
    let env = [
        ("AWS_ENDPOINT_URL", rig.moto.endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    common::lakedr(config, &env, args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_until_idle_verify_and_invoke_work_on_real_queues() {
    let mut rig = Rig::new(31, None).await;
    let scratch = tempfile::tempdir().unwrap();
    let config = config_file(&rig, scratch.path());

    // A checkpointed table lands in the source; its notifications wait in the events queue.
    let case = TableCase::fixture("rs-simple_table_with_checkpoint", true);
    for rel in write_order(&case.local) {
        let body = std::fs::read(case.local.join(&rel)).unwrap();
        rig.put_source(&format!("{PREFIX}{}{rel}", case.prefix), body)
            .await;
    }

    let (ok, out) = lakedr(&rig, &config, &["run", "--until-idle"]);
    assert!(ok, "{out}");
    // Every notification went through the replicator; each log file once more through the
    // ordered stage.
    let processed = out["processed"].as_u64().unwrap();
    assert!(processed > rig.uploads, "{out}: {} uploads", rig.uploads);
    assert_eq!(out["retried"], 0, "{out}");

    let (ok, verdicts) = lakedr(&rig, &config, &["verify"]);
    assert!(ok, "{verdicts:#}");
    let table = verdicts
        .as_array()
        .unwrap()
        .iter()
        .find(|v| {
            v["table"]
                .as_str()
                .unwrap()
                .contains("rs-simple_table_with_checkpoint")
        })
        .unwrap_or_else(|| panic!("table not verified: {verdicts:#}"));
    assert!(table["source_version"].is_u64(), "{table}");
    assert_eq!(table["dr_version"], table["source_version"], "{table}");
    assert_eq!(table["lag_versions"], 0, "{table}");
    // The independent reader agrees at every version, and every object is there.
    rig.check_all_versions(&case).await;
    rig.assert_nothing_lost(&case).await;
    for url in [rig.dlq_url.clone(), rig.ordered_dlq_url.clone()] {
        assert!(rig.dead_letters(&url).await.is_empty());
    }

    // `invoke`: the replicator on one SQS event file wrapping a real notification.
    let key = format!("{PREFIX}exports/report 2026+q4.csv");
    rig.put_source(&key, b"region,amount\neu,1\n".to_vec())
        .await;
    let bodies: Vec<String> = rig
        .moto
        .drain(&rig.events_url)
        .await
        .into_iter()
        .map(|m| m.body().unwrap().to_string())
        .collect();
    assert_eq!(bodies.len(), 1);
    let event = json!({"Records": [{
        "messageId": "m-1", "receiptHandle": "r-1", "body": bodies[0], "attributes": {},
        "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:events", "awsRegion": "us-east-1"
    }]});
    let event_file = scratch.path().join("event.json");
    std::fs::write(&event_file, event.to_string()).unwrap();
    let (ok, out) = lakedr(
        &rig,
        &config,
        &[
            "invoke",
            "replicator",
            "--event",
            event_file.to_str().unwrap(),
        ],
    );
    assert!(ok, "{out}");
    assert_eq!(out["batchItemFailures"], json!([]), "{out}");
    let got = rig
        .moto
        .s3()
        .get_object()
        .bucket(DR)
        .key(&key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{key} not in DR: {e:?}"));
    assert_eq!(
        &got.body.collect().await.unwrap().into_bytes()[..],
        b"region,amount\neu,1\n"
    );
}

/// The CLI's environment for the rig's product endpoint (the region front when there is one).
fn env_for(rig: &Rig) -> Vec<(&'static str, String)> {
    let endpoint = rig
        .front
        .as_ref()
        .map_or(rig.moto.endpoint.clone(), |f| f.endpoint.clone());
    vec![
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_and_export_reach_a_dr_bucket_in_another_region() {
    // Tables already in two source buckets (us-east-1), DR in us-west-2, no region in the
    // configuration, every S3 request through the front that redirects like S3.
    let mut rig = Rig::two_regions(37, None).await;
    let cases = [
        TableCase::fixture("rs-simple_table_with_checkpoint", true),
        TableCase::generated("cleaned").in_rule(1),
    ];
    for case in &cases {
        for rel in write_order(&case.local) {
            let body = std::fs::read(case.local.join(&rel)).unwrap();
            let url = rig.src_url(case, &rel);
            rig.put_object(&url, body).await;
        }
    }
    let scratch = tempfile::tempdir().unwrap();
    let config = scratch.path().join("lakedr.toml");
    std::fs::write(
        &config,
        format!("{}\n[s3]\nforce_path_style = true\n", two_region_rules()),
    )
    .unwrap();
    let env = env_for(&rig);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (ok, out) = common::lakedr(&config, &env, &["sync"]);
    assert!(ok, "{out:#}");
    let tables = out["sync"]["tables"].as_array().unwrap();
    assert_eq!(tables.len(), 2, "{out:#}");
    for t in tables {
        assert_eq!(t["dr_version"], t["source_version"], "{t}");
    }
    for case in &cases {
        rig.check_again(case).await;
        rig.check_all_versions(case).await;
        rig.assert_nothing_lost(case).await;
    }
    // Again, in text: nothing to do, and readable.
    let (code, text, err) = common::lakedr_text(&config, &env, &["sync"]);
    assert_eq!(code, 0, "{text}{err}");
    assert!(
        text.starts_with("sync: ") && text.contains(" 0 copied"),
        "{text}"
    );
    common::assert_readable(&text);
    let stats = rig.front.as_ref().unwrap().stats();
    assert!(stats["redirected"].as_u64().unwrap() >= 1, "{stats}");

    // The control-plane export to the DR bucket in the other region.
    let fake = lakedr_tests::fake_workspace::FakeWorkspace::start(&[]);
    let mut env = env.clone();
    env.extend([
        ("DATABRICKS_HOST", fake.url.as_str()),
        ("DATABRICKS_TOKEN", lakedr_tests::fake_workspace::PAT),
        ("LAKEDR_DATABRICKS_RPS", "0"),
    ]);
    let to = format!("s3://{DR}/control-plane/");
    let (_, out) = common::lakedr(&config, &env, &["export", "--to", &to, "--path-style"]);
    assert!(out["written"].as_u64().unwrap() > 10, "{out:#}");
    // The one error: the workspace's invalid job body (a fixture that is invalid upstream).
    let errors = out["errors"].as_array().unwrap();
    assert!(errors.len() == 1 && errors[0]["id"] == "16", "{errors:#?}");
    let latest = rig
        .moto
        .s3()
        .list_objects_v2()
        .bucket(DR)
        .prefix("control-plane/")
        .send()
        .await
        .unwrap();
    assert!(
        latest
            .contents()
            .iter()
            .any(|o| o.key().unwrap().ends_with("/latest")),
        "no latest pointer in DR"
    );

    // An SDK error reaches the user as one line.
    let missing = scratch.path().join("missing.toml");
    std::fs::write(
        &missing,
        "[[rule]]\nname = \"x\"\nsource = \"s3://no-such-bucket/x/\"\ndestination = \"s3://dr-lake/x/\"\n[s3]\nforce_path_style = true\n",
    )
    .unwrap();
    let (code, out, err) = common::lakedr_text(&missing, &env, &["sync"]);
    assert_ne!(code, 0, "{out}{err}");
    let all = format!("{out}{err}");
    assert!(
        all.contains("no-such-bucket") && all.contains("does not exist"),
        "{all}"
    );
    assert!(all.trim().lines().count() <= 2, "{all}");
    common::assert_readable(&all);
}
