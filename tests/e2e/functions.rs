//! The four function binaries as Lambda runs them: each polls a Runtime API on loopback and
//! answers every sample event of `events/`, with the environment the SAM template gives it,
//! against S3, SQS, EventBridge and Secrets Manager on loopback (the DR bucket in another
//! region, behind the region-enforcing front) and the fake Databricks workspace. `lakedr invoke`
//! runs the same four with the same environment.

use std::path::PathBuf;

use lakedr_tests::fake_workspace::{FakeWorkspace, PAT};
use lakedr_tests::lambda::{Function, start_failure};
use lakedr_tests::stack::{Moto, RegionFront};
use serde_json::{Value, json};

const SOURCE: &str = "prod-lakehouse";
const DR: &str = "dr-lakehouse";
const AUDIT: &str = "audit-logs";
const DATA_KEY: &str = "warehouse/sales/orders/date=2026-11-24/part-00000-1f0c.snappy.parquet";
const LOG_KEY: &str = "warehouse/sales/orders/_delta_log/00000000000000000000.json";

fn samples() -> Vec<(String, Value)> {
    let dir = lakedr_tests::repo_root().join("events");
    let mut out: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let path: PathBuf = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let v = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, v)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Which function a sample is for: its name starts with the function's.
fn function_of(sample: &str) -> &'static str {
    [
        "replicator",
        "ordered-sync",
        "audit-events",
        "control-plane-export",
    ]
    .into_iter()
    .find(|f| sample.starts_with(f))
    .unwrap_or_else(|| panic!("{sample}: no function has that name"))
}

struct Stack {
    moto: Moto,
    front: RegionFront,
    _fake: FakeWorkspace,
    ordered_url: String,
    dlq_url: String,
    changes_url: String,
    env: Vec<(String, String)>,
}

impl Stack {
    async fn start() -> Stack {
        let moto = Moto::start();
        moto.create_bucket_in(SOURCE, "us-east-1").await;
        moto.create_bucket_in(AUDIT, "us-east-1").await;
        moto.create_bucket_in(DR, "us-west-2").await;
        let front = RegionFront::start(&moto.endpoint);
        let ordered_url = moto.create_queue("ordered.fifo").await;
        let dlq_url = moto.create_queue("events-dlq").await;
        let ordered_dlq_url = moto.create_queue("ordered-dlq.fifo").await;
        let changes_url = moto.create_queue("changes").await;
        let sdk = moto.sdk();
        let eb = aws_sdk_eventbridge::Client::new(&sdk);
        eb.create_event_bus().name("lakedr").send().await.unwrap();
        eb.put_rule()
            .name("changes")
            .event_bus_name("lakedr")
            .event_pattern(json!({"source": [lakedr_control::functions::SOURCE]}).to_string())
            .send()
            .await
            .unwrap();
        eb.put_targets()
            .rule("changes")
            .event_bus_name("lakedr")
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("q")
                    .arn(moto.queue_arn(&changes_url).await)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        let fake = FakeWorkspace::start(&[]);
        aws_sdk_secretsmanager::Client::new(&sdk)
            .create_secret()
            .name("lakedr/databricks")
            .secret_string(json!({"host": fake.url, "token": PAT}).to_string())
            .send()
            .await
            .unwrap();
        let config = format!(
            "[[rule]]\nname = \"warehouse\"\nsource = \"s3://{SOURCE}/warehouse/\"\ndestination = \"s3://{DR}/warehouse/\"\n"
        );
        let env: Vec<(String, String)> = [
            // Every SDK client through the front (it checks S3 requests, passes the others).
            ("AWS_ENDPOINT_URL", front.endpoint.clone()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ("LAKEDR_S3_FORCE_PATH_STYLE", "true".into()),
            ("RUST_LOG", "warn".into()),
            // replicator and ordered-sync
            ("LAKEDR_CONFIG", config),
            ("LAKEDR_ORDERED_QUEUE_URL", ordered_url.clone()),
            ("LAKEDR_DLQ_URL", dlq_url.clone()),
            ("LAKEDR_ORDERED_DLQ_URL", ordered_dlq_url),
            // audit-events
            ("LAKEDR_EVENT_BUS", "lakedr".into()),
            (
                "LAKEDR_CONTROL_STATE",
                format!("s3://{DR}/control-plane/_state/"),
            ),
            // control-plane-export
            ("LAKEDR_DATABRICKS_SECRET", "lakedr/databricks".into()),
            ("LAKEDR_CONTROL_DEST", format!("s3://{DR}/control-plane/")),
            ("LAKEDR_WORKSPACE_NAME", "prod".into()),
            ("LAKEDR_DATABRICKS_RPS", "0".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let stack = Stack {
            moto,
            front,
            _fake: fake,
            ordered_url,
            dlq_url,
            changes_url,
            env,
        };
        stack.seed().await;
        stack
    }

    /// The objects the samples name: a data file and the commit that adds it (its entity tag
    /// is the one the samples carry), and an audit-log file.
    async fn seed(&self) {
        let s3 = self.moto.s3();
        let commit = "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n{\"metaData\":{\"id\":\"x\",\"format\":{\"provider\":\"parquet\"},\"schemaString\":\"{}\",\"partitionColumns\":[\"date\"],\"configuration\":{}}}\n{\"add\":{\"path\":\"date=2026-11-24/part-00000-1f0c.snappy.parquet\",\"size\":15,\"partitionValues\":{\"date\":\"2026-11-24\"},\"modificationTime\":0,\"dataChange\":true}}\n";
        let audit = [
            json!({"serviceName": "jobs", "actionName": "update", "requestId": "r-1", "workspaceId": 1234,
                   "requestParams": {"job_id": "14"}, "response": {"statusCode": 200}}),
            json!({"serviceName": "jobs", "actionName": "get", "requestId": "r-2", "workspaceId": 1234,
                   "requestParams": {"job_id": "14"}, "response": {"statusCode": 200}}),
        ]
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n");
        for (bucket, key, body) in [
            (SOURCE, DATA_KEY, b"PAR1 not really".to_vec()),
            (SOURCE, LOG_KEY, commit.as_bytes().to_vec()),
            (
                AUDIT,
                "workspaceId=1234/date=2026-12-01/auditlogs_0b1c.json",
                audit.into_bytes(),
            ),
        ] {
            s3.put_object()
                .bucket(bucket)
                .key(key)
                .body(body.into())
                .send()
                .await
                .unwrap();
        }
    }

    /// The SQS event Lambda would deliver for the messages waiting in the ordered FIFO queue.
    async fn ordered_event(&self) -> Value {
        let msgs = self.moto.drain(&self.ordered_url).await;
        assert!(!msgs.is_empty(), "the replicator queued no ordered unit");
        json!({"Records": msgs.iter().map(|m| json!({
            "messageId": m.message_id(), "receiptHandle": "r", "body": m.body(),
            "attributes": {"MessageGroupId": m.attributes().and_then(|a| a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId)).cloned()},
            "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:ordered.fifo", "awsRegion": "us-east-1"
        })).collect::<Vec<_>>()})
    }

    async fn in_dr(&self, key: &str) -> bool {
        self.moto
            .s3()
            .head_object()
            .bucket(DR)
            .key(key)
            .send()
            .await
            .is_ok()
    }
}

/// What a sample's answer must say, by the shape of the sample.
fn check_answer(sample: &str, event: &Value, body: &Value) {
    if event["Records"][0]["eventSource"] == "aws:sqs" {
        assert_eq!(body["batchItemFailures"], json!([]), "{sample}: {body}");
    } else if event.get("invocationSchemaVersion").is_some() {
        let results = body["results"]
            .as_array()
            .unwrap_or_else(|| panic!("{sample}: {body}"));
        assert_eq!(
            results.len(),
            event["tasks"].as_array().unwrap().len(),
            "{sample}"
        );
        for r in results {
            assert_eq!(r["resultCode"], "Succeeded", "{sample}: {body}");
            assert!(r["taskId"].is_string(), "{sample}: {body}");
        }
        assert_eq!(body["invocationId"], event["invocationId"], "{sample}");
    } else if sample.starts_with("replicator") {
        assert!(
            !body["outcomes"].as_array().unwrap().is_empty(),
            "{sample}: {body}"
        );
    } else if sample.starts_with("audit-events") {
        assert_eq!(body["files"][0]["published"], 1, "{sample}: {body}");
    } else if sample.starts_with("control-plane-export") {
        assert!(
            body["snapshot"].is_string() || body["deferred"].is_string(),
            "{sample}: {body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_function_binary_answers_every_sample_event_through_the_runtime_api() {
    let stack = Stack::start().await;
    let functions: Vec<Function> = [
        "replicator",
        "ordered-sync",
        "audit-events",
        "control-plane-export",
    ]
    .into_iter()
    .map(|name| Function::start(name, &stack.env))
    .collect();
    let function = |name: &str| functions.iter().find(|f| f.name == name).unwrap();
    let mut ran = std::collections::BTreeSet::new();
    for (sample, event) in samples() {
        let f = function(function_of(&sample));
        let got = f.invoke(&event);
        assert_eq!(got.outcome, "response", "{sample}: {:?}", got);
        check_answer(&sample, &event, &got.body);
        ran.insert(function_of(&sample));
    }
    assert_eq!(ran.len(), 4, "a sample for every function");
    // The ordered stage, on what the replicator queued, publishes the commit in DR (us-west-2).
    let got = function("ordered-sync").invoke(&stack.ordered_event().await);
    assert_eq!(got.outcome, "response", "{got:?}");
    assert_eq!(got.body["batchItemFailures"], json!([]), "{got:?}");
    for key in [DATA_KEY, LOG_KEY] {
        assert!(stack.in_dr(key).await, "{key} is not in DR");
    }
    // The audit function published the job's change; the export function exported it.
    let changes = stack.moto.drain(&stack.changes_url).await;
    assert_eq!(changes.len(), 1, "{changes:?}");
    let change: Value = serde_json::from_str(changes[0].body().unwrap()).unwrap();
    assert_eq!(
        (
            change["detail"]["kind"].as_str(),
            change["detail"]["id"].as_str()
        ),
        (Some("jobs"), Some("14"))
    );
    let got = function("control-plane-export").invoke(&change);
    assert_eq!(got.outcome, "response", "{got:?}");
    assert_eq!(got.body["mode"], "incremental", "{got:?}");
    assert_eq!(got.body["errors"], json!([]), "{got:?}");
    assert_eq!(
        got.body["unchanged"], 2,
        "the job and its permissions, read again: {got:?}"
    );
    assert!(
        stack.front.stats()["redirected"].as_u64().unwrap() >= 1,
        "the DR bucket's region was found through a redirect"
    );

    // Bad input: a payload of no known shape is an error typed by its kind, in one line.
    let got = function("replicator").invoke(&json!({"hello": 1}));
    assert_eq!(got.outcome, "error");
    assert_eq!(got.body["errorType"], "MalformedEvent", "{got:?}");
    let message = got.body["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("neither an S3 notification") && !message.contains('\n'),
        "{message}"
    );
    // A record of a shape the replicator does not know, from SQS: dead-lettered, not dropped.
    let poison = json!({"Records": [{"messageId": "m-poison", "receiptHandle": "r", "attributes": {},
        "messageAttributes": {}, "eventSource": "aws:sqs",
        "body": json!({"Records": [{"eventSource": "aws:dynamodb", "eventName": "INSERT"}]}).to_string()}]});
    let got = function("replicator").invoke(&poison);
    assert_eq!(got.body["batchItemFailures"], json!([]), "{got:?}");
    let dead = stack.moto.drain(&stack.dlq_url).await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    let attrs = dead[0].message_attributes().unwrap();
    assert_eq!(
        attrs["lakedr-error-kind"].string_value(),
        Some("MalformedEvent")
    );
    assert!(
        attrs["lakedr-error"]
            .string_value()
            .unwrap()
            .contains("aws:dynamodb")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_that_cannot_start_says_why_in_one_line() {
    for (name, missing) in [
        ("replicator", "LAKEDR_CONFIG"),
        ("audit-events", "LAKEDR_CONTROL_STATE"),
        ("control-plane-export", "LAKEDR_DATABRICKS_SECRET"),
    ] {
        let env = [("AWS_REGION".to_string(), "us-east-1".to_string())];
        let (code, log) = start_failure(name, &env);
        assert_eq!(code, Some(1), "{name}: {log}");
        let line = log
            .lines()
            .find(|l| l.contains("cannot start"))
            .unwrap_or_else(|| panic!("{name}: {log}"));
        assert!(line.contains(missing), "{name}: {line}");
        assert!(
            !line.contains("Config {") && !line.contains("Some("),
            "{name}: {line}"
        );
    }
    // A configuration that does not validate names the field.
    let env = [
        ("AWS_REGION".to_string(), "us-east-1".to_string()),
        (
            "LAKEDR_CONFIG".to_string(),
            "[[rule]]\nname='a'\nsource='s3://a/x'\ndestination='s3://b/'".to_string(),
        ),
    ];
    let (code, log) = start_failure("ordered-sync", &env);
    assert_eq!(code, Some(1), "{log}");
    assert!(log.contains("rule[0].source"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lakedr_invoke_runs_all_four_functions_with_the_lambda_environment() {
    let stack = Stack::start().await;
    let scratch = tempfile::tempdir().unwrap();
    let config = scratch.path().join("lakedr.toml");
    let rules = stack
        .env
        .iter()
        .find(|(k, _)| k == "LAKEDR_CONFIG")
        .map(|(_, v)| v.clone())
        .unwrap();
    std::fs::write(&config, rules).unwrap();
    for (sample, event) in samples() {
        let path = lakedr_tests::repo_root().join("events").join(&sample);
        let out = std::process::Command::new(lakedr_tests::workspace_binary("lakedr"))
            .envs(stack.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .arg("--config")
            .arg(&config)
            .args(["invoke", function_of(&sample), "--event"])
            .arg(&path)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{sample}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let body: Value =
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{sample}: {e}: {stdout}"));
        check_answer(&sample, &event, &body);
    }
    // An error is one line on standard error, and a non-zero exit.
    let bad = scratch.path().join("bad.json");
    std::fs::write(&bad, "{\"hello\": 1}").unwrap();
    let out = std::process::Command::new(lakedr_tests::workspace_binary("lakedr"))
        .envs(stack.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .arg("--config")
        .arg(&config)
        .args(["invoke", "replicator", "--event"])
        .arg(&bad)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("MalformedEvent"), "{stderr}");
}
